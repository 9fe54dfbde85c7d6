// libFuzzer target for the profile reader: any bytes either load or throw core::Error. Another
// exception, a crash or a sanitizer report is a finding, and so is a profile that loads but does
// not survive being written and read back.
#include "nucleus/profile/oci.hpp"
#include "nucleus/core/error.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace profile = nucleus::profile;
  // A fixed machine, so that a finding reproduces on any host.
  profile::ResolveContext context;
  context.arch = nucleus::core::arch_from_name("x86_64");
  context.kernel_release = "6.1.0";
  context.capabilities = {"CAP_SYS_ADMIN"};

  const std::string_view text(reinterpret_cast<const char*>(data), size);
  profile::LoadedProfile loaded;
  try {
    loaded = profile::parse_profile(text, "fuzz.json", context);
  } catch (const nucleus::core::Error&) {
    return 0; // rejected with a message: the expected outcome for most inputs
  }
  // Outside the try: an Error here escapes and aborts, which libFuzzer reports.
  auto again = profile::parse_profile(profile::to_oci_json(loaded.policy), "fuzz-written.json", context);
  if (!(again.policy == loaded.policy)) std::abort();
  return 0;
}
