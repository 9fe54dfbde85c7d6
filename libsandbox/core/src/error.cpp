// The error type and errno helpers.
#include "nucleus/core/error.hpp"

#include <cerrno>
#include <cstring>

namespace nucleus::core {

Error::Error(ErrorKind kind, const std::string& message, std::string hint, int sys_errno)
    : std::runtime_error(message), kind_(kind), hint_(std::move(hint)), errno_(sys_errno) {}

namespace {
ErrorKind kind_for_errno(int err) {
  switch (err) {
  case ENOENT: return ErrorKind::not_found;
  case EACCES:
  case EPERM: return ErrorKind::permission;
  case ENOSYS:
  case EOPNOTSUPP: return ErrorKind::unsupported;
  default: return ErrorKind::kernel;
  }
}
} // namespace

void throw_errno(int err, const std::string& what, std::string hint) {
  throw Error(kind_for_errno(err), what + ": " + std::strerror(err), std::move(hint), err);
}

void throw_errno(const std::string& what, std::string hint) { throw_errno(errno, what, std::move(hint)); }

std::string_view error_kind_name(ErrorKind kind) noexcept {
  switch (kind) {
  case ErrorKind::usage: return "usage";
  case ErrorKind::invalid_input: return "invalid input";
  case ErrorKind::not_found: return "not found";
  case ErrorKind::command_not_found: return "command not found";
  case ErrorKind::not_executable: return "not executable";
  case ErrorKind::permission: return "permission denied";
  case ErrorKind::unsupported: return "unsupported";
  case ErrorKind::kernel: return "kernel error";
  case ErrorKind::internal: return "internal error";
  }
  return "error";
}

} // namespace nucleus::core
