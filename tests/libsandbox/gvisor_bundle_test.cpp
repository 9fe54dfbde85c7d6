// The seccomp profile nucleus hands to gVisor (the OCI bundle's linux.seccomp), read from the
// bundle prepare() writes, against what the README promises is refused whatever the profile says:
// the list below is written here, not taken from the product, so that a rule dropped from the
// product's list fails this test.
#include "test_support.hpp"

#include "nucleus/sandbox/isolation.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <sys/ioctl.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <set>
#include <string>
#include <tuple>
#include <vector>

namespace sb = nucleus::sandbox;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// One refusal as an OCI entry holds it: syscall, errno, and the one argument condition if any
// (index, mask, value of SCMP_CMP_MASKED_EQ).
struct Refusal {
  std::string name;
  int errno_ret;
  int index; // -1: refused whatever the arguments
  std::uint64_t mask, value;
  auto key() const { return std::tie(name, errno_ret, index, mask, value); }
  bool operator<(const Refusal& o) const { return key() < o.key(); }
};

// The README's list ("Refused whatever the profile says").
std::set<Refusal> promised(bool allow_io_uring) {
  std::set<Refusal> out;
  const std::pair<const char*, int> modes[] = {{"chmod", 1},     {"fchmod", 1}, {"fchmodat", 2},
                                               {"fchmodat2", 2}, {"open", 2},   {"openat", 3},
                                               {"creat", 1},     {"mknod", 1},  {"mknodat", 2}};
  for (const auto& [name, index] : modes)
    for (std::uint64_t bit : {04000ULL /* S_ISUID */, 02000ULL /* S_ISGID */})
      out.insert({name, EPERM, index, bit, bit});
  out.insert({"openat2", ENOSYS, -1, 0, 0});
  for (std::uint64_t request : {0x5412ULL /* TIOCSTI */, 0x541cULL /* TIOCLINUX */})
    out.insert({"ioctl", EPERM, 1, 0xffffffffULL, request});
  if (!allow_io_uring)
    for (const char* name : {"io_uring_setup", "io_uring_enter", "io_uring_register"})
      out.insert({name, EPERM, -1, 0, 0});
  return out;
}

// The bundle's linux.seccomp for a profile that allows everything and names getpid itself.
json oci_seccomp(bool allow_io_uring) {
  nucleus::test::TempDir dir;
  nucleus::test::write_text(dir / "runsc", "#!/bin/sh\n");
  fs::permissions(dir / "runsc", fs::perms::owner_all);
  sb::IsolationConfig c;
  c.search_path = dir.path().string();
  c.allow_io_uring = allow_io_uring;
  c.oci_seccomp_json =
      R"({"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["getpid"],"action":"SCMP_ACT_ALLOW"}]})";
  auto isolation = sb::prepare(c, {"/bin/true"});
  const auto& argv = isolation.argv();
  auto at = std::find(argv.begin(), argv.end(), "--bundle");
  if (at == argv.end() || at + 1 == argv.end()) throw std::runtime_error("no --bundle in runsc's command line");
  return json::parse(nucleus::test::read_text(fs::path(*(at + 1)) / "config.json"))["linux"]["seccomp"];
}

// The refusals among the entries before the profile's own first entry.
std::set<Refusal> refusals_before_the_profile(const json& seccomp) {
  std::set<Refusal> out;
  for (const auto& e : seccomp.at("syscalls")) {
    if (e.value("action", "") != "SCMP_ACT_ERRNO") break; // the profile's getpid allow entry
    const json args = e.value("args", json::array());
    for (const auto& name : e.at("names")) {
      if (args.empty()) {
        out.insert({name.get<std::string>(), e.value("errnoRet", -1), -1, 0, 0});
        continue;
      }
      for (const auto& a : args) {
        EXPECT_EQ(a.value("op", ""), "SCMP_CMP_MASKED_EQ") << e.dump();
        out.insert({name.get<std::string>(), e.value("errnoRet", -1), a.value("index", -1), a.value("value", 0ULL),
                    a.value("valueTwo", 0ULL)});
      }
      EXPECT_EQ(args.size(), 1u) << "one condition per entry: several would be ANDed " << e.dump();
    }
  }
  return out;
}

std::string describe(const Refusal& r) {
  return r.name + " errno " + std::to_string(r.errno_ret) + " arg " + std::to_string(r.index) + " mask " +
         std::to_string(r.mask) + " value " + std::to_string(r.value);
}

} // namespace

// Every refusal the README lists is an entry of the profile gVisor enforces, ahead of every entry
// of the user's profile (gVisor takes the first entry that matches); io_uring's only without
// --allow-io-uring.
TEST(GvisorBundle, MandatoryDenialsComeFirstInTheOciRules) {
  for (bool allow_io_uring : {false, true}) {
    SCOPED_TRACE(allow_io_uring ? "--allow-io-uring" : "default");
    const json seccomp = oci_seccomp(allow_io_uring);
    const auto found = refusals_before_the_profile(seccomp);
    for (const auto& r : promised(allow_io_uring)) EXPECT_TRUE(found.count(r)) << "missing: " << describe(r);
    for (const auto& r : found)
      EXPECT_TRUE(promised(allow_io_uring).count(r)) << "not promised (README and this list need it): " << describe(r);
    const auto& entries = seccomp.at("syscalls");
    ASSERT_FALSE(entries.empty());
    EXPECT_EQ(entries.back()["names"], json::array({"getpid"})) << "the profile's own entry comes after them";
  }
}
