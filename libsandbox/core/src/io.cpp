// Whole-file reads and atomic writes.
#include "nucleus/core/io.hpp"

#include "nucleus/core/error.hpp"
#include "nucleus/core/fd.hpp"

#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

namespace nucleus::core {
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

const char* file_type_name(mode_t mode) noexcept {
  if (S_ISLNK(mode)) return "a symbolic link";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISDIR(mode)) return "a directory";
  return "not a regular file";
}

// An output replaces a regular file or takes a new name, nothing else: renamed over a device node
// (/dev/null, as root) it would replace the device for every program on the host, and over a
// symlink or FIFO the user asked for something an atomic write cannot give. Returns the mode of
// the regular file there, or 0 when there is none.
mode_t existing_regular_file(int dir, const std::string& name, const std::filesystem::path& path) {
  struct stat st {};
  if (::fstatat(dir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return 0;
    throw_errno("cannot inspect " + path.string());
  }
  if (S_ISREG(st.st_mode)) return st.st_mode;
  throw Error(ErrorKind::usage,
              path.string() + " is " + file_type_name(st.st_mode) +
                  ": outputs are written only as regular files (a new file, then renamed over the name), which would "
                  "replace it",
              "give the path of a regular file, or a new name", EEXIST);
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

OutputPath OutputPath::open(const std::filesystem::path& path) {
  OutputPath out;
  out.path_ = path;
  if (path == "-") return out;
  if (!path.has_filename() || path.filename() == "." || path.filename() == "..")
    throw Error(ErrorKind::usage, path.string() + ": not a file name");
  std::filesystem::path dir = path.parent_path().empty() ? "." : path.parent_path();
  out.name_ = path.filename().string();
  out.dir_ = UniqueFd(::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!out.dir_) throw_errno("cannot open the directory " + dir.string() + " for " + path.string());
  existing_regular_file(out.dir_.get(), out.name_, path); // refused before anything runs
  return out;
}

void OutputPath::write_atomic(std::string_view content) const {
  if (!dir_) {
    write_all(STDOUT_FILENO, content, "standard output");
    return;
  }
  // A replaced regular file keeps its permissions; the temporary file is created 0666 so that the
  // umask decides for a new one. Checked again: something else may have taken the name since open().
  const mode_t old_mode = existing_regular_file(dir_.get(), name_, path_);
  const bool replacing = old_mode != 0;
  std::string tmp;
  UniqueFd fd;
  for (int attempt = 0; attempt < 100 && !fd; ++attempt) {
    unsigned char rnd[6];
    if (::getrandom(rnd, sizeof rnd, 0) != static_cast<ssize_t>(sizeof rnd)) throw_errno("cannot get random bytes");
    tmp = "." + name_ + ".";
    for (unsigned char c : rnd)
      tmp.push_back("abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-_"[c % 64]);
    fd = UniqueFd(::openat(dir_.get(), tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666));
    if (!fd && errno != EEXIST) throw_errno("cannot create a file beside " + path_.string());
  }
  if (!fd) throw_errno("cannot create a file beside " + path_.string());
  try {
    write_all(fd.get(), content, path_.string());
    if (replacing && ::fchmod(fd.get(), old_mode & 0777) != 0) throw_errno("cannot set the mode of " + path_.string());
    if (::fsync(fd.get()) != 0) throw_errno("cannot sync " + path_.string());
    fd.reset();
    if (::renameat(dir_.get(), tmp.c_str(), dir_.get(), name_.c_str()) != 0)
      throw_errno("cannot write " + path_.string());
  } catch (...) {
    ::unlinkat(dir_.get(), tmp.c_str(), 0);
    throw;
  }
  // The rename is durable only once the directory is.
  UniqueFd dir(::openat(dir_.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir || ::fsync(dir.get()) != 0) throw_errno("cannot sync the directory of " + path_.string());
}

void write_file_atomic(const std::filesystem::path& path, std::string_view content) {
  OutputPath::open(path).write_atomic(content);
}

} // namespace nucleus::core
