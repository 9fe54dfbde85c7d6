// merge: union with provenance, conflicts naming both sources, --prefer stricter|looser, traces.
#include "nucleus/profile/merge.hpp"

#include "nucleus/profile/effective.hpp"
#include "nucleus/core/error.hpp"
#include "nucleus/core/syscalls.hpp"

#include <gtest/gtest.h>

using namespace nucleus;

namespace {

core::Arch native() { return core::native_arch(); }

profile::MergeInput profile_of(const char* source, std::vector<std::string> names,
                               core::Action action = core::Action::allow(), std::vector<core::ArgCondition> args = {}) {
  core::Policy p;
  p.architectures = {native()};
  p.rules.push_back({std::move(names), action, std::move(args), ""});
  return {source, p, false};
}

const core::Rule* rule_naming(const core::Policy& p, const std::string& name) {
  auto rules = profile::rules_for(p, name);
  return rules.size() == 1 ? rules.front() : nullptr;
}

std::string error_of(const std::vector<profile::MergeInput>& in, profile::Prefer prefer = profile::Prefer::none) {
  try {
    profile::merge_profiles(in, prefer);
  } catch (const core::Error& e) {
    EXPECT_EQ(e.kind(), core::ErrorKind::invalid_input);
    return e.what();
  }
  return {};
}

} // namespace

TEST(Merge, UnionWithProvenance) {
  auto m = profile::merge_profiles({profile_of("a.json", {"read", "write"}), profile_of("b.json", {"read", "openat"})});
  EXPECT_EQ(profile::access_of(m, "openat"), profile::Access::allowed);
  EXPECT_EQ(profile::access_of(m, "write"), profile::Access::allowed);
  EXPECT_EQ(profile::access_of(m, "getpid"), profile::Access::denied);
  EXPECT_EQ(rule_naming(m, "read")->comment, "from a.json, b.json");
  EXPECT_EQ(rule_naming(m, "write")->comment, "from a.json");
  EXPECT_EQ(rule_naming(m, "openat")->comment, "from b.json");
}

TEST(Merge, ConflictsNameBothSources) {
  auto msg = error_of({profile_of("a.json", {"ptrace"}), profile_of("b.json", {"ptrace"}, core::Action::errno_ret(1))});
  EXPECT_NE(msg.find("ptrace"), std::string::npos) << msg;
  EXPECT_NE(msg.find("a.json"), std::string::npos) << msg;
  EXPECT_NE(msg.find("b.json"), std::string::npos) << msg;
  // Same action, another condition: a conflict too.
  msg = error_of({profile_of("a.json", {"personality"}, core::Action::allow(), {{0, core::CmpOp::eq, 0, 0}}),
                  profile_of("b.json", {"personality"})});
  EXPECT_NE(msg.find("personality"), std::string::npos) << msg;
  // Default actions.
  auto k = profile_of("k.json", {"read"});
  k.policy.default_action = core::Action::kill_process();
  msg = error_of({profile_of("a.json", {"read"}), k});
  EXPECT_NE(msg.find("default action"), std::string::npos) << msg;
  EXPECT_NE(msg.find("k.json"), std::string::npos) << msg;
}

TEST(Merge, PreferStricterOrLooser) {
  std::vector<profile::MergeInput> in{profile_of("a.json", {"ptrace", "read"}),
                                      profile_of("b.json", {"ptrace"}, core::Action::errno_ret(1))};
  auto strict = profile::merge_profiles(in, profile::Prefer::stricter);
  EXPECT_EQ(profile::access_of(strict, "ptrace"), profile::Access::denied);
  EXPECT_NE(rule_naming(strict, "ptrace")->comment.find("stricter than a.json"), std::string::npos);
  auto loose = profile::merge_profiles(in, profile::Prefer::looser);
  EXPECT_EQ(profile::access_of(loose, "ptrace"), profile::Access::allowed);

  // Conditional vs conditional: looser is their union; stricter cannot be written, so it is an error.
  std::vector<profile::MergeInput> cond{
      profile_of("a.json", {"personality"}, core::Action::allow(), {{0, core::CmpOp::eq, 0, 0}}),
      profile_of("b.json", {"personality"}, core::Action::allow(), {{0, core::CmpOp::eq, 8, 0}})};
  auto u = profile::merge_profiles(cond, profile::Prefer::looser);
  EXPECT_EQ(profile::rules_for(u, "personality").size(), 2u);
  EXPECT_FALSE(error_of(cond, profile::Prefer::stricter).empty());

  auto k = profile_of("k.json", {"read"});
  k.policy.default_action = core::Action::kill_process();
  auto m = profile::merge_profiles({profile_of("a.json", {"read"}), k}, profile::Prefer::stricter);
  EXPECT_EQ(m.default_action, core::Action::kill_process());
}

TEST(Merge, TracesAddTheirCallsButNotADefault) {
  core::Trace t;
  t.syscalls.push_back({native(), *core::syscall_number(native(), "openat"), "openat", 4, "/usr/bin/app"});
  auto k = profile_of("k.json", {"read"});
  k.policy.default_action = core::Action::kill_process();
  auto m = profile::merge_profiles({k, profile::input_from_trace(t, "run.trace")});
  EXPECT_EQ(m.default_action, core::Action::kill_process());
  EXPECT_EQ(profile::access_of(m, "openat"), profile::Access::allowed);
  EXPECT_EQ(rule_naming(m, "openat")->comment, "from run.trace");
}

TEST(Merge, TellsProfilesFromTraces) {
  EXPECT_TRUE(profile::is_profile_text("{\n  \"defaultAction\": \"SCMP_ACT_ERRNO\"\n}\n"));
  EXPECT_TRUE(profile::is_profile_text("{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":[]}"));
  EXPECT_FALSE(profile::is_profile_text(
      "{\"type\":\"header\",\"format\":\"nucleus-trace\",\"version\":1}\n{\"type\":\"summary\"}\n"));
  EXPECT_FALSE(profile::is_profile_text("type=SECCOMP msg=audit(1.2:3): pid=1"));
}
