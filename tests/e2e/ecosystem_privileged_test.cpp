// Real profiles from the ecosystem, enforced by nucleus-run as runc enforces them: the probe makes
// the same calls under both, and every call gets the same answer. Podman's default also gets the
// checks crun documents for it (AF_NETLINK/NETLINK_AUDIT sockets get EINVAL, other sockets are
// allowed) and runs /bin/echo. Root: runc needs namespaces and mounts.
#include "e2e_support.hpp"

#include "nucleus/core/io.hpp"

#include <gtest/gtest.h>

#include <cerrno>
#include <unistd.h>

using namespace nucleus;

namespace {

std::filesystem::path ecosystem(const std::string& name) {
  return test::source_dir() / "tests/profilegen/data/ecosystem" / name;
}

// The probe's answers under runc, with the profile file as it is in config.json's linux.seccomp.
std::vector<nlohmann::json> under_runc(const std::filesystem::path& profile, const std::vector<std::string>& calls,
                                       const std::string& id) {
  test::TempDir dir;
  std::vector<std::string> args{"/probe"};
  args.insert(args.end(), calls.begin(), calls.end());
  auto config = test::make_runc_bundle(dir / "bundle", {test::sample("probe")}, args);
  config["linux"]["seccomp"] = nlohmann::json::parse(core::read_file(profile));
  test::write_runc_config(dir / "bundle", config);
  auto r = test::run_runc(dir / "bundle", "nucleus-eco-" + id + "-" + std::to_string(::getpid()));
  EXPECT_EQ(r.exit_code, 0) << "runc: " << r.err << r.out;
  return test::probe_lines(r.out);
}

std::vector<nlohmann::json> under_nucleus(const std::filesystem::path& profile, const std::vector<std::string>& calls) {
  std::vector<std::string> argv{
      test::tool("nucleus-run").string(), "--trust-level=trusted", "--quiet", "--profile", profile.string(), "--",
      test::sample("probe").string()};
  argv.insert(argv.end(), calls.begin(), calls.end());
  auto r = test::run(argv);
  EXPECT_EQ(r.exit_code, 0) << "nucleus-run: " << r.err;
  return test::probe_lines(r.out);
}

int errno_of(const nlohmann::json& line) { return line.value("errno", -1); }

struct Case {
  const char* file;
  std::vector<std::string> calls;
};

class EcosystemPrivileged : public ::testing::Test {
protected:
  void SetUp() override {
    NUCLEUS_REQUIRE_ROOT();
    if (!std::filesystem::exists(test::runc_path)) NUCLEUS_SKIP("runc is not installed (Debian package runc)");
  }
};

} // namespace

// Calls chosen so that the answer depends on the filter only, not on the container's privileges:
// a path that does not exist (ENOENT when allowed), personality flags the profiles list or not,
// sockets, and syscalls the allow-lists deny outright. Left out on purpose: socket(AF_NETLINK, *,
// NETLINK_AUDIT), which runc allows because it ignores podman's excludes (crun and nucleus honour
// them, see below), and k8s-fine-grained.json, under which runc cannot even start the probe (the
// dynamic loader needs syscalls it does not list).
TEST_F(EcosystemPrivileged, NucleusRunDeniesWhatRuncDenies) {
  const std::vector<std::string> allow_list_calls = {
      "getpid",        "uname",         "chmod:buf,0",  "fchmodat:-100,buf,0", "personality:0xffffffff",
      "personality:1", "socket:16,3,0", "socket:1,1,0", "kexec_load:0,0,0,0",  "userfaultfd:0",
      "sysfs:2,0,0"};
  const std::vector<Case> cases = {
      {"podman-default.json", allow_list_calls},
      {"containers-common-example.json", allow_list_calls},
      {"spo-deny-chmod.json",
       {"getpid", "uname", "chmod:buf,0", "fchmodat:-100,buf,0", "personality:1", "socket:1,1,0"}},
  };
  int i = 0;
  for (const auto& c : cases) {
    SCOPED_TRACE(c.file);
    auto with_runc = under_runc(ecosystem(c.file), c.calls, std::to_string(i++));
    auto with_nucleus = under_nucleus(ecosystem(c.file), c.calls);
    ASSERT_EQ(with_runc.size(), c.calls.size());
    ASSERT_EQ(with_nucleus.size(), c.calls.size());
    int denied = 0;
    for (std::size_t k = 0; k < c.calls.size(); ++k) {
      EXPECT_EQ(errno_of(with_nucleus[k]), errno_of(with_runc[k]))
          << c.calls[k] << "\n nucleus-run: " << with_nucleus[k].dump() << "\n runc:        " << with_runc[k].dump();
      denied += errno_of(with_runc[k]) == EPERM || errno_of(with_runc[k]) == ENOSYS ? 1 : 0;
    }
    EXPECT_GE(denied, 2) << "each case must include calls the profile denies";
  }
}

TEST_F(EcosystemPrivileged, PodmanDefaultBehavesAsCrunDocuments) {
  auto profile = ecosystem("podman-default.json");
  auto lines =
      under_nucleus(profile, {"socket:16,3,9", "socket:16,3,0", "socket:1,1,0", "personality:1", "kexec_load:0,0,0,0"});
  ASSERT_EQ(lines.size(), 5u);
  EXPECT_EQ(errno_of(lines[0]), EINVAL) << "AF_NETLINK with NETLINK_AUDIT: " << lines[0].dump();
  EXPECT_EQ(errno_of(lines[1]), 0) << "another netlink protocol: " << lines[1].dump();
  EXPECT_EQ(errno_of(lines[2]), 0) << "AF_UNIX: " << lines[2].dump();
  EXPECT_EQ(errno_of(lines[3]), ENOSYS) << "not listed: the profile's defaultErrnoRet: " << lines[3].dump();
  EXPECT_EQ(errno_of(lines[4]), EPERM) << "denied by its first entry, errnoRet 1: " << lines[4].dump();

  auto echo = test::run({test::tool("nucleus-run").string(), "--trust-level=trusted", "--profile", profile.string(),
                         "--", "/bin/echo", "hello-podman"});
  EXPECT_EQ(echo.exit_code, 0) << echo.err;
  EXPECT_EQ(echo.out, "hello-podman\n");
}
