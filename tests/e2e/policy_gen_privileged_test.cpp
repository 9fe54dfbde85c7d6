// gen --policy on real traces (gVisor's behaviour records, at the default level): the line counter
// traced doing only its job gets a policy that reads its input and grants no change and no
// endpoint; its side trips, traced once more, are what diff says the policy denies; a trace that
// recorded no behaviour (the audit recorder) is refused.
#include "e2e_support.hpp"

#include "nucleus/core/access_policy.hpp"
#include "nucleus/core/io.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>

using namespace nucleus;
namespace fs = std::filesystem;

namespace {

using nucleus::test::have_runsc;

// A folder the workload (host uid 65534) may read and write, bound at the same path with --rw.
struct Workspace {
  test::TempDir dir;
  Workspace() {
    fs::permissions(dir.path(), fs::perms::all);
    EXPECT_EQ(::chown(dir.path().c_str(), 65534, 65534), 0);
  }
  std::string path() const { return dir.path().string(); }
};

test::RunResult trace(const std::string& out, const std::vector<std::string>& flags,
                      const std::vector<std::string>& command) {
  std::vector<std::string> argv{test::tool("nucleus-trace").string(), "-o", out};
  argv.insert(argv.end(), flags.begin(), flags.end());
  argv.push_back("--");
  argv.insert(argv.end(), command.begin(), command.end());
  return test::run(argv, {}, 120);
}

std::string profile_tool() { return test::tool("nucleus-profile").string(); }

} // namespace

TEST(PolicyGenPrivileged, TheJobsPolicyDeniesTheSideTrips) {
  NUCLEUS_REQUIRE_ROOT();
  if (!have_runsc()) NUCLEUS_SKIP("runsc (gVisor) is not installed");
  Workspace work;
  test::write_text(work.dir / "in.txt", "a\nb\n");
  test::TempDir out;
  const std::string input = work.path() + "/in.txt";
  const std::string job = (out / "job.trace").string(), trip = (out / "trip.trace").string();
  const std::string policy = (out / "job.policy.json").string();

  auto r = trace(job, {"--rw", work.path()}, {test::sample("sidetrip").string(), input});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = test::run({profile_tool(), "gen", job, "-o", (out / "job.json").string(), "--policy", policy});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto p = core::read_access_policy(core::read_file(policy), policy);
  EXPECT_EQ(core::access_for(p, input), static_cast<core::PathAccessSet>(core::PathAccess::read));
  constexpr auto changes = static_cast<core::PathAccessSet>(core::PathAccess::write) |
                           static_cast<core::PathAccessSet>(core::PathAccess::create) |
                           static_cast<core::PathAccessSet>(core::PathAccess::remove);
  for (const auto& rule : p.files) EXPECT_EQ(rule.access & changes, 0) << rule.path << " " << rule.reason;
  EXPECT_TRUE(p.network.empty()) << core::write_access_policy(p);
  r = test::run({profile_tool(), "check", policy});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;

  // The side trips: a start-up file appended to, a file made in /tmp, a DNS query.
  r = trace(
      trip, {"--rw", work.path()},
      {test::sample("sidetrip").string(), "--persist", "--write-tmp", "--dns", "127.0.0.1", "--keep-going", input});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = test::run({profile_tool(), "diff", policy, trip});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.out.find("/.bashrc"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("/tmp/sidetrip."), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("connect udp 127.0.0.1:53"), std::string::npos) << r.out;
}

TEST(PolicyGenPrivileged, ATraceWithoutBehaviourRecordsIsRefused) {
  NUCLEUS_REQUIRE_ROOT();
  test::TempDir out;
  const std::string names = (out / "names.trace").string();
  auto r = trace(names, {"--trust-level=trusted", "--source", "netlink"},
                 {test::sample("sidetrip").string(), "/etc/hostname"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = test::run(
      {profile_tool(), "gen", names, "-o", (out / "a.json").string(), "--policy", (out / "a.policy.json").string()});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("did not record behaviour"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(out / "a.json"));
  EXPECT_FALSE(fs::exists(out / "a.policy.json"));
}
