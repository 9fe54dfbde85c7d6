// Fuzzes the trace log reader: any bytes either read or fail with core::Error (any other
// exception escapes and is reported as a crash). What reads must write and read back unchanged.
#include "nucleus/core/error.hpp"
#include "nucleus/core/trace_log.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)nucleus::core::is_trace_log(text);
  nucleus::core::Trace trace;
  try {
    trace = nucleus::core::read_trace(text, "fuzz.trace");
  } catch (const nucleus::core::Error&) {
    return 0;
  }
  const std::string written = nucleus::core::write_trace(trace);
  if (nucleus::core::read_trace(written, "rewritten.trace") != trace) __builtin_trap();
  return 0;
}
