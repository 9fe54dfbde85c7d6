// Small async-signal-safe helpers for the isolation steps that run between fork and execve.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>

namespace nucleus::sandbox::detail {

inline int write_all(int fd, const char* data, std::size_t len) noexcept {
  while (len > 0) {
    ssize_t n = ::write(fd, data, len);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    data += n;
    len -= static_cast<std::size_t>(n);
  }
  return 0;
}

inline std::size_t c_length(const char* s) noexcept {
  std::size_t n = 0;
  while (s[n] != '\0') ++n;
  return n;
}

// Writes a whole small file (procfs, cgroupfs): 0 or an errno.
inline int write_text_file(const char* path, const char* text) noexcept {
  int fd = ::open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return errno;
  int err = write_all(fd, text, c_length(text));
  ::close(fd);
  return err;
}

} // namespace nucleus::sandbox::detail
