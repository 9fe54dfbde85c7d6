// Fuzzes the files and network policy reader: any bytes either read or fail with core::Error (any
// other exception escapes and is reported as a crash). What reads must write and read back unchanged.
#include "nucleus/core/access_policy.hpp"
#include "nucleus/core/error.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  nucleus::core::AccessPolicy policy;
  try {
    policy = nucleus::core::read_access_policy(text, "fuzz.policy.json");
  } catch (const nucleus::core::Error&) {
    return 0;
  }
  const std::string written = nucleus::core::write_access_policy(policy);
  if (nucleus::core::read_access_policy(written, "rewritten.policy.json") != policy) __builtin_trap();
  return 0;
}
