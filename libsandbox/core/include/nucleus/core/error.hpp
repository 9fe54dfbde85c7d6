// The one error type of nucleus: what failed (kind), the errno where there is one, and a hint for the user.
// Library code throws it in parent context; tools/ turns it into one message and an exit code.
#pragma once

#include <stdexcept>
#include <string>

namespace nucleus::core {

enum class ErrorKind {
  usage,             // bad flags or arguments
  invalid_input,     // a profile, trace or record that does not parse or validate
  not_found,         // a file that does not exist
  command_not_found, // the command to run does not exist (exit 127)
  not_executable,    // the command exists but cannot be executed (exit 126)
  permission,        // the kernel or the file system said no
  unsupported,       // the kernel or this build lacks a feature
  kernel,            // a system call failed for another reason
  internal,
};

class Error : public std::runtime_error {
public:
  Error(ErrorKind kind, const std::string& message, std::string hint = {}, int sys_errno = 0);

  ErrorKind kind() const noexcept { return kind_; }
  int sys_errno() const noexcept { return errno_; }
  const std::string& hint() const noexcept { return hint_; }

private:
  ErrorKind kind_;
  std::string hint_;
  int errno_;
};

// Throws an Error for the current errno: "<what>: <strerror>", with the kind derived from errno
// unless given.
[[noreturn]] void throw_errno(const std::string& what, std::string hint = {});
[[noreturn]] void throw_errno(int err, const std::string& what, std::string hint = {});

std::string_view error_kind_name(ErrorKind kind) noexcept;

} // namespace nucleus::core
