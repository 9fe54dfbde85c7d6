// The exported OCI profile in a real runtime: runc runs the probe under it, and the profile denies
// what it should (root: runc needs namespaces and mounts).
#include "e2e_support.hpp"

#include "nucleus/profile/edit.hpp"
#include "nucleus/profile/export.hpp"
#include "nucleus/profile/oci.hpp"

#include <gtest/gtest.h>

using namespace nucleus;

namespace {

// A bundle whose root holds only the probe and its libraries, running `args` with `seccomp`.
void make_bundle(const std::filesystem::path& bundle, const nlohmann::json& seccomp,
                 const std::vector<std::string>& args) {
  auto config = test::make_runc_bundle(bundle, {test::sample("probe")}, args);
  config["linux"]["seccomp"] = seccomp;
  test::write_runc_config(bundle, config);
}

} // namespace

TEST(ReviewPrivileged, RuncRunsTheProbeUnderTheExportedProfile) {
  NUCLEUS_REQUIRE_ROOT();
  if (!std::filesystem::exists(test::runc_path)) NUCLEUS_SKIP("runc is not installed (Debian package runc)");
  // Docker's default without getppid and uname: what runc needs still runs, those two are denied.
  auto docker = profile::load_profile(test::shared_dir() / "testdata/docker-seccomp/default.json").policy;
  auto policy = profile::remove_syscalls(docker, {"getppid", "uname"});
  auto exported = profile::export_profile(policy, profile::ExportFormat::oci).text;

  test::TempDir dir;
  make_bundle(dir / "bundle", nlohmann::json::parse(exported), {"/probe", "getpid", "getppid", "uname"});
  auto r = test::run_runc(dir / "bundle", "nucleus-review-" + std::to_string(::getpid()));
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  auto lines = test::probe_lines(r.out);
  ASSERT_EQ(lines.size(), 3u) << r.out;
  EXPECT_EQ(lines[0]["call"], "getpid");
  EXPECT_EQ(lines[0]["errno"], 0);
  EXPECT_EQ(lines[0]["ret"], 1); // pid 1 in the container's PID namespace
  EXPECT_EQ(lines[1]["call"], "getppid");
  EXPECT_EQ(lines[1]["errname"], "EPERM");
  EXPECT_EQ(lines[2]["call"], "uname");
  EXPECT_EQ(lines[2]["errname"], "EPERM");

  // The unedited profile allows them: the denials above are the edit's doing.
  test::TempDir dir2;
  make_bundle(dir2 / "bundle", nlohmann::json::parse(profile::export_profile(docker, profile::ExportFormat::oci).text),
              {"/probe", "getppid"});
  r = test::run_runc(dir2 / "bundle", "nucleus-review2-" + std::to_string(::getpid()));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  lines = test::probe_lines(r.out);
  ASSERT_EQ(lines.size(), 1u) << r.out;
  EXPECT_EQ(lines[0]["errno"], 0);
}
