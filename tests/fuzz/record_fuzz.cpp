// Fuzzes the audit record parser: any bytes, as a text line and as a netlink SECCOMP payload.
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
      if (nucleus::core::arch_name(record.arch) == "unknown" || record.syscall < 0 || record.pid < 0)
        __builtin_trap();
      (void)record.action();
    }
  }
  return 0;
}
