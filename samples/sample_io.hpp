// Output for the samples. The report goes out in one write(2): stdio would also stat standard
// output and, when it is a terminal, make an ioctl, so a sample's system calls would depend on
// where its output goes.
#pragma once

#include <unistd.h>

#include <cerrno>
#include <string>

namespace samples {

inline bool print_line(const std::string& text) {
  std::string line = text + "\n";
  const char* data = line.data();
  std::size_t size = line.size();
  while (size > 0) {
    ssize_t n = ::write(STDOUT_FILENO, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

} // namespace samples
