// The argument-sensitive syscalls (see sensitive.hpp).
#include "nucleus/core/sensitive.hpp"

namespace nucleus::core {
namespace {

// mmap2 is i386's mmap with prot in argument 2 (its own mmap takes a pointer to the arguments).
constexpr SensitiveArg table[] = {
    {"socket", 0, ArgKind::domain, "domain"},
    {"socket", 1, ArgKind::socket_type, "type"},
    {"socketpair", 0, ArgKind::domain, "domain"},
    {"socketpair", 1, ArgKind::socket_type, "type"},
    {"clone", 0, ArgKind::clone_flags, "flags"},
    {"unshare", 0, ArgKind::unshare_flags, "flags"},
    {"ioctl", 1, ArgKind::ioctl_request, "request"},
    {"prctl", 0, ArgKind::prctl_option, "option"},
    {"personality", 0, ArgKind::personality, "persona"},
    {"mmap", 2, ArgKind::prot, "prot"},
    {"mmap2", 2, ArgKind::prot, "prot"},
    {"mprotect", 2, ArgKind::prot, "prot"},
    {"pkey_mprotect", 2, ArgKind::prot, "prot"},
};

} // namespace

std::span<const SensitiveArg> sensitive_args() noexcept { return table; }

std::vector<SensitiveArg> sensitive_args_of(std::string_view syscall) {
  std::vector<SensitiveArg> out;
  for (const auto& a : table)
    if (a.syscall == syscall) out.push_back(a);
  return out;
}

std::uint8_t sensitive_arg_mask(Arch arch, std::string_view syscall) {
  if (syscall == "mmap" && arch == *arch_from_name("i386")) return 0; // old_mmap: arguments behind a pointer
  std::uint8_t mask = 0;
  for (const auto& a : table)
    if (a.syscall == syscall) mask |= static_cast<std::uint8_t>(1u << a.index);
  return mask;
}

} // namespace nucleus::core
