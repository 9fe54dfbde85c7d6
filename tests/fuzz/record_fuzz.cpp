// Fuzzes the audit record parsers: any bytes, as a text line and as a netlink SECCOMP payload, and
// as Landlock access and SYSCALL records.
// The parser must never crash, read out of bounds or throw; an ok record must hold a known arch.
#include "nucleus/core/record.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view line(reinterpret_cast<const char*>(data), size);
  nucleus::core::SeccompRecord record;
  for (std::optional<int> type : {std::optional<int>{}, std::optional<int>{nucleus::core::audit_type_seccomp}}) {
    if (nucleus::core::parse_seccomp_record(line, record, type) == nucleus::core::ParseStatus::ok) {
      if (nucleus::core::arch_name(record.arch) == "unknown" || record.syscall < 0 || record.pid < 0) __builtin_trap();
      (void)record.action();
    }
  }
  nucleus::core::LandlockRecord landlock;
  for (std::optional<int> type : {std::optional<int>{}, std::optional<int>{nucleus::core::audit_type_landlock_access}})
    if (nucleus::core::parse_landlock_record(line, landlock, type) == nucleus::core::ParseStatus::ok &&
        (landlock.domain.empty() || landlock.blockers.empty() || landlock.port > 65535))
      __builtin_trap();
  nucleus::core::SyscallRecord syscall;
  for (std::optional<int> type : {std::optional<int>{}, std::optional<int>{nucleus::core::audit_type_syscall}})
    if (nucleus::core::parse_syscall_record(line, syscall, type) == nucleus::core::ParseStatus::ok && syscall.pid < 0)
      __builtin_trap();
  return 0;
}
