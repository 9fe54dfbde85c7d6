// diff on crafted pairs: added/removed per architecture, changed actions, errno values, conditions,
// default action and architectures; and profile-vs-trace.
#include "nucleus/profile/diff.hpp"

#include "nucleus/core/syscalls.hpp"
#include "test_support.hpp"

#include <gtest/gtest.h>

using namespace nucleus;

namespace {

core::Arch native() { return core::native_arch(); }

core::Policy base() {
  core::Policy p;
  p.architectures = {native()};
  p.rules.push_back({{"exit_group", "read", "write"}, core::Action::allow(), {}, "x"});
  return p;
}

std::string arch() { return std::string(core::arch_name(native())); }

} // namespace

TEST(Diff, SameWhenOnlyGroupingAndCommentsDiffer) {
  auto a = base();
  core::Policy b = a;
  b.rules = {{{"write"}, core::Action::allow(), {}, "other"}, {{"read", "exit_group"}, core::Action::allow(), {}, ""}};
  auto d = profile::diff_profiles(a, b);
  EXPECT_TRUE(d.same()) << profile::format_diff_text(d, "a", "b");
}

TEST(Diff, AddedAndRemovedPerArchitecture) {
  auto a = base();
  auto b = base();
  b.rules[0].names = {"exit_group", "openat", "read"};
  auto d = profile::diff_profiles(a, b);
  ASSERT_FALSE(d.same());
  ASSERT_EQ(d.by_arch.count(arch()), 1u);
  EXPECT_EQ(d.by_arch[arch()].added, std::vector<std::string>{"openat"});
  EXPECT_EQ(d.by_arch[arch()].removed, std::vector<std::string>{"write"});
  EXPECT_TRUE(d.changed.empty());
  auto text = profile::format_diff_text(d, "a.json", "b.json");
  EXPECT_NE(text.find("  + openat\n"), std::string::npos) << text;
  EXPECT_NE(text.find("  - write\n"), std::string::npos) << text;
}

TEST(Diff, ChangedActionErrnoAndConditions) {
  auto a = base();
  a.rules.push_back({{"clone3"}, core::Action::errno_ret(38), {}, ""});
  a.rules.push_back({{"personality"}, core::Action::allow(), {{0, core::CmpOp::eq, 0, 0}}, ""});
  auto b = base();
  b.rules.push_back({{"clone3"}, core::Action::errno_ret(1), {}, ""});
  b.rules.push_back({{"personality"}, core::Action::allow(), {{0, core::CmpOp::eq, 8, 0}}, ""});
  auto d = profile::diff_profiles(a, b);
  ASSERT_EQ(d.changed.size(), 2u) << profile::format_diff_text(d, "a", "b");
  EXPECT_EQ(d.changed[0].name, "clone3");
  EXPECT_EQ(d.changed[0].before, std::vector<std::string>{"errno(ENOSYS)"});
  EXPECT_EQ(d.changed[0].after, std::vector<std::string>{"errno(EPERM)"});
  EXPECT_EQ(d.changed[1].name, "personality");
  // Values in symbols: persona 8 is PER_LINUX32 in linux/personality.h.
  EXPECT_EQ(d.changed[1].after, std::vector<std::string>{"allow if persona == PER_LINUX32"});
  EXPECT_TRUE(d.by_arch.empty()); // personality is conditional on both sides
}

TEST(Diff, DefaultActionFlagsAndArchitectures) {
  auto a = base();
  auto b = base();
  b.default_action = core::Action::kill_process();
  b.flags = {core::FilterFlag::log};
  auto compat = core::compat_arches(native());
  if (!compat.empty()) b.architectures.push_back(compat.front());
  auto d = profile::diff_profiles(a, b);
  ASSERT_TRUE(d.default_action);
  EXPECT_EQ(d.default_action->first, "errno(EPERM)");
  EXPECT_EQ(d.default_action->second, "kill-process");
  EXPECT_EQ(d.flags_added, std::vector<std::string>{"SECCOMP_FILTER_FLAG_LOG"});
  if (!compat.empty()) {
    EXPECT_EQ(d.arches_added, std::vector<std::string>{std::string(core::arch_name(compat.front()))});
    EXPECT_EQ(d.by_arch.count(std::string(core::arch_name(compat.front()))), 1u); // its calls are now allowed
  }
}

TEST(Diff, TraceAgainstProfile) {
  auto p = base();
  p.rules.push_back({{"ioctl"}, core::Action::allow(), {{1, core::CmpOp::eq, 0x5401, 0}}, ""});
  core::Trace t;
  auto add = [&](core::Arch a, const char* n, std::uint64_t count) {
    t.syscalls.push_back({a, *core::syscall_number(a, n), n, count, "/usr/bin/app"});
  };
  add(native(), "read", 10);
  add(native(), "openat", 3);
  add(native(), "ioctl", 2);
  auto d = profile::diff_trace(p, {t});
  ASSERT_EQ(d.denials.size(), 2u);
  EXPECT_EQ(d.denials[0].name, "ioctl");
  EXPECT_EQ(d.denials[0].access, profile::Access::conditional);
  EXPECT_EQ(d.denials[1].name, "openat");
  EXPECT_EQ(d.denials[1].count, 3u);
  EXPECT_EQ(d.denials[1].why, "default action errno(EPERM)");
  EXPECT_EQ(d.traced_distinct, 3u);

  auto compat = core::compat_arches(native());
  if (compat.empty()) NUCLEUS_SKIP("no compat ABI on this architecture");
  core::Trace t2;
  t2.syscalls.push_back({compat.front(), *core::syscall_number(compat.front(), "read"), "read", 1, "/usr/bin/app"});
  auto d2 = profile::diff_trace(p, {t2});
  ASSERT_EQ(d2.denials.size(), 1u);
  EXPECT_NE(d2.denials[0].why.find("not listed"), std::string::npos);
  EXPECT_TRUE(profile::diff_trace(base(), {}).same());
}
