// explain: counts against the architecture's table and Docker's default, systemd groups, goldens.
#include "nucleus/profile/explain.hpp"

#include "nucleus/profile/generate.hpp"
#include "nucleus/profile/oci.hpp"
#include "nucleus/core/syscalls.hpp"
#include "test_support.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <seccomp.h>
#include <set>

using namespace nucleus;

namespace {

core::Arch native() { return core::native_arch(); }

core::Policy generated() {
  core::Trace t;
  for (const char* n : {"read", "write", "openat", "close", "mmap", "socket", "connect", "ptrace", "futex"})
    t.syscalls.push_back({native(), *core::syscall_number(native(), n), n, 1, "/usr/bin/app"});
  return profile::generate_profile({t});
}

const profile::GroupUse* group(const profile::Explanation& e, std::string_view name) {
  for (const auto& g : e.groups)
    if (g.name == name) return &g;
  return nullptr;
}

} // namespace

TEST(Explain, GroupsAreSystemdsWithNestedGroupsExpanded) {
  const auto& groups = profile::syscall_groups();
  auto find = [&](std::string_view n) {
    return std::find_if(groups.begin(), groups.end(), [&](const auto& g) { return g.name == n; });
  };
  ASSERT_NE(find("@file-system"), groups.end());
  ASSERT_NE(find("@network-io"), groups.end());
  auto privileged = find("@privileged");
  ASSERT_NE(privileged, groups.end());
  // @privileged includes @module: init_module must be among its expanded members.
  EXPECT_TRUE(std::binary_search(privileged->members.begin(), privileged->members.end(), "init_module"));
  for (const auto& g : groups)
    for (const auto& m : g.members) EXPECT_FALSE(m.starts_with("@")) << g.name;
}

TEST(Explain, CountsAgainstTheWholeTableAndDocker) {
  auto policy = generated();
  auto ref = profile::load_reference(test::shared_dir() / "testdata/docker-seccomp/default.json", {native()});
  auto e = profile::explain_profile(policy, &ref);
  ASSERT_EQ(e.arches.size(), 1u);
  // The total is libseccomp's own count of the native ABI's syscalls, asked here directly.
  std::set<std::string> native_names;
  for (int nr = 0; nr < 4096; ++nr) {
    if (char* n = seccomp_syscall_resolve_num_arch(seccomp_arch_native(), nr)) {
      native_names.insert(n);
      std::free(n);
    }
  }
  ASSERT_GT(native_names.size(), 250u);
  EXPECT_EQ(e.arches[0].total, native_names.size());
  EXPECT_EQ(e.arches[0].permitted(), 9u + 5u); // traced + always allowed
  ASSERT_TRUE(e.arches[0].reference);
  EXPECT_GT(*e.arches[0].reference, 250u);
  const auto* net = group(e, "@network-io");
  ASSERT_NE(net, nullptr);
  EXPECT_EQ(net->allowed, (std::vector<std::string>{"connect", "socket"}));
  auto text = profile::format_explain_text(e, "app.json");
  EXPECT_NE(text.find("allows 14 of " + std::to_string(e.arches[0].total)), std::string::npos) << text;
  EXPECT_NE(text.find("Docker's default allows " + std::to_string(*e.arches[0].reference)), std::string::npos) << text;
  auto bare = profile::format_explain_text(profile::explain_profile(policy), "app.json");
  EXPECT_NE(bare.find("no comparison with Docker's default"), std::string::npos);
}

TEST(Explain, ConditionalSyscallsAreMarked) {
  auto policy = generated();
  policy.rules.push_back({{"personality"}, core::Action::allow(), {{0, core::CmpOp::eq, 0, 0}}, ""});
  auto e = profile::explain_profile(policy);
  EXPECT_EQ(e.arches[0].conditional, 1u);
  bool marked = false;
  for (const auto& g : e.groups) marked = marked || std::count(g.allowed.begin(), g.allowed.end(), "personality?") != 0;
  for (const auto& n : e.ungrouped) marked = marked || n == "personality?";
  EXPECT_TRUE(marked);
}

TEST(Explain, GoldenOnDockersDefaultAndAGeneratedProfile) {
  if (core::arch_name(native()) != "x86_64") NUCLEUS_SKIP("golden files are for x86_64");
  auto docker_path = test::shared_dir() / "testdata/docker-seccomp/default.json";
  auto docker = profile::load_profile(docker_path).policy;
  auto ref = profile::load_reference(docker_path, docker.effective_arches());
  test::expect_golden("explain_docker_default.txt",
                      profile::format_explain_text(profile::explain_profile(docker, &ref), "default.json"));
  auto e = profile::explain_profile(generated(), &ref);
  test::expect_golden("explain_generated.txt", profile::format_explain_text(e, "app.json"));
  test::expect_golden("explain_generated.json", profile::explain_to_json(e, "app.json"));
}
