// The exported OCI profile in a real runtime: runc runs the probe under it, and the profile denies
// what it should (root: runc needs namespaces and mounts).
#include "e2e_support.hpp"

#include "nucleus/profile/edit.hpp"
#include "nucleus/profile/export.hpp"
#include "nucleus/profile/oci.hpp"

#include <gtest/gtest.h>

#include <sstream>

using namespace nucleus;

namespace {

// The shared libraries `binary` loads, as the dynamic loader lists them.
std::vector<std::filesystem::path> libraries_of(const std::filesystem::path& binary) {
  auto r = test::run({"/usr/bin/ldd", binary.string()});
  std::vector<std::filesystem::path> libs;
  std::istringstream in(r.out);
  std::string line;
  while (std::getline(in, line)) {
    for (std::string_view token : {std::string_view("=> "), std::string_view("\t")}) {
      auto at = line.find(token);
      if (at == std::string::npos) continue;
      auto start = at + token.size();
      auto end = line.find(' ', start);
      std::string path = line.substr(start, end == std::string::npos ? std::string::npos : end - start);
      if (!path.empty() && path.front() == '/') {
        libs.emplace_back(path);
        break;
      }
    }
  }
  return libs;
}

// A bundle whose root holds only the probe and its libraries, running `args` with `seccomp`.
void make_bundle(const std::filesystem::path& bundle, const nlohmann::json& seccomp, const std::vector<std::string>& args) {
  auto rootfs = bundle / "rootfs";
  std::filesystem::create_directories(rootfs);
  std::filesystem::copy_file(test::sample("probe"), rootfs / "probe");
  for (const auto& lib : libraries_of(test::sample("probe"))) {
    auto target = rootfs / lib.relative_path();
    std::filesystem::create_directories(target.parent_path());
    std::filesystem::copy_file(std::filesystem::canonical(lib), target, std::filesystem::copy_options::overwrite_existing);
  }
  auto spec = test::run({"/usr/sbin/runc", "spec", "--bundle", bundle.string()});
  ASSERT_EQ(spec.exit_code, 0) << spec.err;
  auto config = nlohmann::json::parse(test::read_text(bundle / "config.json"));
  config["process"]["terminal"] = false;
  config["process"]["args"] = args;
  config["root"]["readonly"] = true;
  config["linux"]["seccomp"] = seccomp;
  test::write_text(bundle / "config.json", config.dump(2));
}

} // namespace

TEST(ReviewPrivileged, RuncRunsTheProbeUnderTheExportedProfile) {
  NUCLEUS_REQUIRE_ROOT();
  if (!std::filesystem::exists("/usr/sbin/runc")) NUCLEUS_SKIP("runc is not installed (Debian package runc)");
  // Docker's default without getppid and uname: what runc needs still runs, those two are denied.
  auto docker = profile::load_profile(test::shared_dir() / "testdata/docker-seccomp/default.json").policy;
  auto policy = profile::remove_syscalls(docker, {"getppid", "uname"});
  auto exported = profile::export_profile(policy, profile::ExportFormat::oci).text;

  test::TempDir dir;
  make_bundle(dir / "bundle", nlohmann::json::parse(exported), {"/probe", "getpid", "getppid", "uname"});
  auto state = dir / "state";
  auto r = test::run({"/usr/sbin/runc", "--root", state.string(), "run", "--bundle", (dir / "bundle").string(),
                      "nucleus-review-" + std::to_string(::getpid())},
                     {}, 120);
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
  r = test::run({"/usr/sbin/runc", "--root", (dir2 / "state").string(), "run", "--bundle", (dir2 / "bundle").string(),
                 "nucleus-review2-" + std::to_string(::getpid())},
                {}, 120);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  lines = test::probe_lines(r.out);
  ASSERT_EQ(lines.size(), 1u) << r.out;
  EXPECT_EQ(lines[0]["errno"], 0);
}
