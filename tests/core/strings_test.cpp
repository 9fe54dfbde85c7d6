// join and hex: the one copy of each.
#include "nucleus/core/strings.hpp"

#include <gtest/gtest.h>

#include <array>
#include <set>
#include <string>
#include <string_view>
#include <vector>

using nucleus::core::hex;
using nucleus::core::join;

TEST(Join, AnyRangeOfStrings) {
  EXPECT_EQ(join(std::vector<std::string>{"a", "b", "c"}, ", "), "a, b, c");
  EXPECT_EQ(join(std::set<std::string>{"uname", "socket"}, " "), "socket uname");
  EXPECT_EQ(join(std::array<std::string_view, 2>{"x", "y"}, "|"), "x|y");
  EXPECT_EQ(join(std::vector<std::string>{}, ", "), "");
  EXPECT_EQ(join(std::vector<std::string>{"only"}, ", "), "only");
  EXPECT_EQ(join(std::vector<std::string>{"", "b"}, ","), ",b") << "an empty item keeps its place";
}

TEST(Hex, LowerCaseWithoutPadding) {
  EXPECT_EQ(hex(0), "0x0");
  EXPECT_EQ(hex(0x5401), "0x5401");
  EXPECT_EQ(hex(0xdeadBEEF), "0xdeadbeef");
  EXPECT_EQ(hex(~std::uint64_t{0}), "0xffffffffffffffff");
}
