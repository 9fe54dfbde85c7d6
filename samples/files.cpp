// files: the life of one file in a fresh temporary directory: mkdtemp under $TMPDIR (default
// /tmp), create and write a file, rename it, stat it, read it back, unlink it, remove the
// directory; prints "files: ok". It exists to check profiles with path-based file calls.
//
//   files            (no arguments)
//
// System calls: mkdir (mkdtemp), openat, write, close, rename, newfstatat (stat), read, unlink,
// rmdir, and write for the report. The temporary directory is removed on failure too.
#include "sample_io.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

using samples::print_line;

namespace {

constexpr std::string_view content = "nucleus files sample\n";

bool write_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return false;
  bool ok = ::write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size());
  return ::close(fd) == 0 && ok;
}

bool read_back(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char buffer[64] = {};
  ssize_t n = ::read(fd, buffer, sizeof buffer);
  ::close(fd);
  return n == static_cast<ssize_t>(content.size()) && std::string_view(buffer, content.size()) == content;
}

// The steps, in order; returns the failing step's name, or nullptr.
const char* file_steps(const std::string& dir) {
  std::string first = dir + "/first";
  std::string second = dir + "/second";
  if (!write_file(first)) return "create and write";
  if (::rename(first.c_str(), second.c_str()) != 0) return "rename";
  struct stat info {};
  if (::stat(second.c_str(), &info) != 0) return "stat";
  if (!S_ISREG(info.st_mode) || info.st_size != static_cast<off_t>(content.size())) return "stat (size or type)";
  if (!read_back(second)) return "read back";
  if (::unlink(second.c_str()) != 0) return "unlink";
  return nullptr;
}

} // namespace

int main(int argc, char**) {
  if (argc != 1) {
    std::fputs("usage: files\n", stderr);
    return 2;
  }
  const char* tmpdir = std::getenv("TMPDIR");
  std::string parent = tmpdir != nullptr && *tmpdir != '\0' ? tmpdir : "/tmp";
  std::string dir = parent + "/nucleus-files.XXXXXX";
  if (::mkdtemp(dir.data()) == nullptr) {
    std::fprintf(stderr, "files: cannot create a temporary directory in %s: %s\n", parent.c_str(),
                 std::strerror(errno));
    return 1;
  }
  const char* failed_step = file_steps(dir);
  int saved_errno = errno;
  if (failed_step != nullptr) {
    // Leave nothing behind: both names may exist, depending on where it failed.
    ::unlink((dir + "/first").c_str());
    ::unlink((dir + "/second").c_str());
  }
  bool removed = ::rmdir(dir.c_str()) == 0;
  if (failed_step != nullptr) {
    std::fprintf(stderr, "files: %s in %s failed: %s\n", failed_step, dir.c_str(), std::strerror(saved_errno));
    return 1;
  }
  if (!removed) {
    std::fprintf(stderr, "files: rmdir %s: %s\n", dir.c_str(), std::strerror(errno));
    return 1;
  }
  return print_line("files: ok") ? 0 : 1;
}
