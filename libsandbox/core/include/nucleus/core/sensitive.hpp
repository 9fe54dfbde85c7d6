// The argument-sensitive syscalls: which argument of each carries the value a profile conditions
// on (socket's domain, clone's flags, ioctl's request, ...) and what kind of value it is. The one
// list every part reads: the eBPF program's flags (set from it at load), the gVisor recorder,
// the trace aggregator, and gen, explain and check (the values' names live in profilegen).
// Use: sensitive_args_of("socket") for the arguments; sensitive_arg_mask(arch, "mmap") for which
// registers a recorder keeps; arg_values_max for how many distinct values it keeps of each.
#pragma once

#include "nucleus/core/arch.hpp"

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace nucleus::core {

enum class ArgKind { domain, socket_type, clone_flags, unshare_flags, ioctl_request, prctl_option, personality, prot };

struct SensitiveArg {
  std::string_view syscall;
  unsigned index;
  ArgKind kind;
  std::string_view label; // "domain", "type", "flags", "request", "option", "persona", "prot"
};

// Every (syscall, argument) recorders keep values of and gen conditions, in a fixed order.
std::span<const SensitiveArg> sensitive_args() noexcept;
// The sensitive arguments of `syscall`, by index; empty for a syscall that is not conditioned.
std::vector<SensitiveArg> sensitive_args_of(std::string_view syscall);
// Bit i set: a recorder keeps the values of argument i of `syscall` made on `arch`. 0 where the
// registers do not hold the values (i386's own mmap takes a pointer to its arguments: old_mmap).
std::uint8_t sensitive_arg_mask(Arch arch, std::string_view syscall);

// Distinct values a recorder keeps per (executable, syscall, argument); one more is an overflow,
// which the trace says ("overflow": true) and gen then allows the syscall by name. The eBPF
// program's ARG_VALUES_MAX is checked against it at compile time.
inline constexpr std::size_t arg_values_max = 32;

} // namespace nucleus::core
