// The cgroup a sandbox gets, against the real hierarchy (root): a name an earlier process left
// behind (its pid reused, its group not yet removable) is skipped, never joined or fatal.
#include "cgroup.hpp" // libsandbox's own, not public

#include "test_support.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

using namespace nucleus::sandbox::detail;

TEST(CgroupPrivileged, NameLeftByAnEarlierProcessIsSkipped) {
  NUCLEUS_REQUIRE_ROOT();
  CgroupLimits limits;
  limits.pids = 64;
  const std::string name = "nucleus-test-" + std::to_string(::getpid()) + "-collide";
  auto first = Cgroups::create(limits, name); // still there, as a leftover would be
  ASSERT_FALSE(first.described().empty());
  auto second = Cgroups::create(limits, name);
  ASSERT_FALSE(second.described().empty());
  EXPECT_NE(first.described().front(), second.described().front());
  EXPECT_NE(second.described().front().find(name + ".1"), std::string::npos) << second.described().front();
}
