// A workload names its own executable: a path that holds terminal sequences must not erase or
// forge nucleus-run's verdict. The attack: an executable whose path moves the cursor up, erases the
// line and hides the text after it, denied a call in strict mode and tallied in complain mode.
#include "e2e_support.hpp"

#include <gtest/gtest.h>

#include <filesystem>

using namespace nucleus;

namespace {

bool has_terminal_control(const std::string& s) {
  for (unsigned char c : s)
    if (c == 0x1b || c == '\r' || c == 0x07 || c == 0x08) return true;
  return false;
}

class HostileTextPrivileged : public ::testing::Test {
protected:
  void SetUp() override {
    NUCLEUS_REQUIRE_ROOT();
    exe = dir / "tool\r\x1b[2K\x1b[1A\x1b[8mnothing would have been denied";
    std::filesystem::copy_file(test::sample("probe"), exe);
    std::filesystem::permissions(exe, std::filesystem::perms::owner_all | std::filesystem::perms::group_read |
                                          std::filesystem::perms::group_exec | std::filesystem::perms::others_read |
                                          std::filesystem::perms::others_exec);
    std::filesystem::permissions(dir.path(), std::filesystem::perms::others_exec, std::filesystem::perm_options::add);
    profile = test::write_profile(
        dir, "nosock.json",
        {{"defaultAction", "SCMP_ACT_ALLOW"},
         {"syscalls", nlohmann::json::array({{{"names", {"socket"}}, {"action", "SCMP_ACT_ERRNO"}}})}});
  }
  test::TempDir dir;
  std::filesystem::path exe;
  std::string profile;
};

} // namespace

TEST_F(HostileTextPrivileged, DenialLineShowsTheExecutablesSequencesEscaped) {
  auto r = test::run({test::tool("nucleus-run").string(), "--trust-level=trusted", "--profile", profile, "--",
                      exe.string(), "socket:2,1,0"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(has_terminal_control(r.err)) << r.err;
  EXPECT_NE(r.err.find("denied socket (x86_64) in "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("tool\\x0d\\x1b[2K\\x1b[1A\\x1b[8mnothing"), std::string::npos) << r.err;
}

TEST_F(HostileTextPrivileged, ComplainSummaryShowsTheExecutablesSequencesEscaped) {
  auto r = test::run({test::tool("nucleus-run").string(), "--trust-level=trusted", "--profile", profile, "--complain",
                      "--", exe.string(), "socket:2,1,0"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(has_terminal_control(r.err)) << r.err;
  EXPECT_NE(r.err.find("complain mode: the profile would have denied:"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("socket (x86_64) by "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("\\x1b[8m"), std::string::npos) << r.err;
}

TEST_F(HostileTextPrivileged, StrictModeRepeatsTheDenialsOnceTheWorkloadIsGone) {
  // The workload shares the terminal: after its denied call it moves the cursor up and erases the
  // line nucleus printed. The summary that follows its exit cannot be erased by it.
  auto r = test::run({test::tool("nucleus-run").string(), "--trust-level=trusted", "--profile", profile, "--ro",
                      dir.path().string(), "--", "/bin/sh", "-c",
                      "'" + exe.string() + "' socket:2,1,0 >/dev/null; printf '\\033[1A\\033[2K' >&2"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto erase = r.err.rfind("\x1b[2K");
  ASSERT_NE(erase, std::string::npos) << "the workload's own bytes pass through unchanged: " << r.err;
  auto summary = r.err.find("the profile denied, during the run:");
  ASSERT_NE(summary, std::string::npos) << r.err;
  EXPECT_GT(summary, erase) << r.err;
  EXPECT_NE(r.err.find("socket (x86_64) by ", summary), std::string::npos) << r.err;
  EXPECT_FALSE(has_terminal_control(r.err.substr(summary))) << r.err;
}
