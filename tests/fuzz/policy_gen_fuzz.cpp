// Fuzzes gen --policy on a trace log: whatever a trace that reads holds (unfolded or NUL-bearing
// paths, relative workspace folders, odd families), the policy generated from it is one the
// policy reader takes back unchanged, and check and explain read it without failing.
#include "nucleus/core/access_policy.hpp"
#include "nucleus/core/error.hpp"
#include "nucleus/core/trace_log.hpp"
#include "nucleus/profile/policy_gen.hpp"
#include "nucleus/profile/policy_review.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  nucleus::core::Trace trace;
  try {
    trace = nucleus::core::read_trace(text, "fuzz.trace");
  } catch (const nucleus::core::Error&) {
    return 0;
  }
  const auto generated = nucleus::profile::generate_access_policy(
      {trace}, {{"/home/u"}, [](const std::string&) { return std::vector<std::string>{}; }});
  const std::string written = nucleus::core::write_access_policy(generated.policy);
  if (nucleus::core::read_access_policy(written, "generated.policy.json") != generated.policy) __builtin_trap();
  (void)nucleus::profile::check_access_policy(generated.policy);
  (void)nucleus::profile::explain_access_policy(generated.policy, "generated.policy.json");
  return 0;
}
