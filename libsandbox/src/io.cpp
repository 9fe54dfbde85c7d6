// Whole-file reads and atomic writes.
#include "nucleus/sandbox/io.hpp"

#include "nucleus/sandbox/error.hpp"
#include "nucleus/sandbox/fd.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

namespace nucleus::sandbox {
namespace {

void write_all(int fd, std::string_view content, const std::string& what) {
  while (!content.empty()) {
    ssize_t n = ::write(fd, content.data(), content.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_errno("cannot write " + what);
    }
    content.remove_prefix(static_cast<std::size_t>(n));
  }
}

} // namespace

std::string read_file(const std::filesystem::path& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) throw_errno("cannot open " + path.string());
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_errno("cannot read " + path.string());
    }
    if (n == 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

void write_file_atomic(const std::filesystem::path& path, std::string_view content) {
  if (path == "-") {
    write_all(STDOUT_FILENO, content, "standard output");
    return;
  }
  std::filesystem::path dir = path.parent_path().empty() ? "." : path.parent_path();
  std::string tmpl = (dir / ("." + path.filename().string() + ".XXXXXX")).string();
  UniqueFd fd(::mkstemp(tmpl.data()));
  if (!fd) throw_errno("cannot create a file in " + dir.string());
  try {
    write_all(fd.get(), content, tmpl);
    ::fchmod(fd.get(), 0644);
    if (::fsync(fd.get()) != 0) throw_errno("cannot sync " + tmpl);
    fd.reset();
    if (::rename(tmpl.c_str(), path.c_str()) != 0) throw_errno("cannot write " + path.string());
  } catch (...) {
    ::unlink(tmpl.c_str());
    throw;
  }
}

} // namespace nucleus::sandbox
