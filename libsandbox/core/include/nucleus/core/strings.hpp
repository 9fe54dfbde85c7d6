// Small string helpers every layer words its messages and outputs with (escaping text for people is
// nucleus/core/text.hpp).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace nucleus::core {

// The items of any range of strings (vector, set, array of string_view), `separator` between them.
template <class Range>
std::string join(const Range& items, std::string_view separator) {
  std::string out;
  bool first = true;
  for (const auto& item : items) {
    if (!first) out += separator;
    out += std::string_view(item);
    first = false;
  }
  return out;
}

// "0x1f": how argument values and masks are shown (lower case, no padding).
std::string hex(std::uint64_t value);

} // namespace nucleus::core
