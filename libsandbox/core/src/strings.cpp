// join and hex, written once.
#include "nucleus/core/strings.hpp"

#include <charconv>

namespace nucleus::core {

std::string hex(std::uint64_t value) {
  char buf[2 + 16];
  buf[0] = '0';
  buf[1] = 'x';
  auto [end, ec] = std::to_chars(buf + 2, buf + sizeof buf, value, 16);
  (void)ec; // 16 hex digits always fit
  return std::string(buf, end);
}

} // namespace nucleus::core
