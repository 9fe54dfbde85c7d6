// Fuzzes the review of a trace: whatever a trace holds that reads, the review and every format of it
// are made without any exception but core::Error, and the text format holds no raw control
// character a terminal would obey (a workload's paths and argv are escaped).
#include "nucleus/core/error.hpp"
#include "nucleus/core/trace_log.hpp"
#include "nucleus/profile/review.hpp"
#include "nucleus/profile/sarif.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace nucleus;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    profile::Review review = profile::review_traces({{"fuzz.trace", core::read_trace(text, "fuzz.trace")}});
    const std::string out = profile::format_review_text(review);
    for (unsigned char c : out)
      if ((c < 0x20 && c != '\n') || c == 0x7f) __builtin_trap();
    (void)profile::review_to_json(review);
    (void)profile::review_to_sarif(review, {"nucleus-profile", "0", "https://example.org"});
    (void)profile::render_review_markdown(review);
    (void)profile::render_review_html(review);
  } catch (const core::Error&) {}
  return 0;
}
