// check: table-driven over the whole risky list, guards, default action, architectures, Docker
// comparison, exit codes, and golden output on Docker's default and a generated profile.
#include "nucleus/profile/check.hpp"

#include "nucleus/profile/generate.hpp"
#include "nucleus/profile/oci.hpp"
#include "nucleus/core/syscalls.hpp"
#include "test_support.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <map>

using namespace nucleus;

namespace {

core::Arch native() { return core::native_arch(); }

core::Policy allowlist(std::vector<std::string> names, std::vector<core::ArgCondition> args = {}) {
  core::Policy p;
  p.architectures = {native()};
  p.rules.push_back({{"read", "write", "exit_group"}, core::Action::allow(), {}, ""});
  if (!names.empty()) p.rules.push_back({std::move(names), core::Action::allow(), std::move(args), ""});
  return p;
}

const profile::Finding* find(const profile::CheckResult& r, std::string_view id, std::string_view subject) {
  for (const auto& f : r.findings)
    if (f.id == id && f.subject == subject) return &f;
  return nullptr;
}

} // namespace

// The severity a reviewer expects for each risky syscall, stated here rather than read from the
// table under test: critical replaces or takes over the kernel or the hardware, or escapes the mount
// namespace; high defeats seccomp or the namespaces; medium leaks or weakens; low needs a condition.
const std::map<std::string, profile::Severity>& expected_severities() {
  using S = profile::Severity;
  static const std::map<std::string, S> m = [] {
    std::map<std::string, S> out;
    for (const char* n : {"kexec_load", "kexec_file_load", "init_module", "finit_module", "iopl", "ioperm",
                          "open_by_handle_at", "reboot",
                          // io_uring's operations bypass seccomp: the rest of the profile stops binding
                          "io_uring_setup", "io_uring_enter", "io_uring_register"})
      out[n] = S::critical;
    for (const char* n :
         {"ptrace",        "process_vm_writev", "bpf",    "perf_event_open", "mount",         "umount2", "umount",
          "pivot_root",    "move_mount",        "fsopen", "fsconfig",        "fsmount",       "fspick",  "open_tree",
          "mount_setattr", "unshare",           "setns",  "clone",           "delete_module", "swapon",  "swapoff"})
      out[n] = S::high;
    for (const char* n : {"process_vm_readv", "userfaultfd", "keyctl", "add_key", "request_key", "chroot", "clone3",
                          "personality", "name_to_handle_at", "acct", "settimeofday", "clock_settime"})
      out[n] = S::medium;
    for (const char* n : {"socket", "ioctl"}) out[n] = S::low;
    return out;
  }();
  return m;
}

// Every risky syscall that exists natively: allowed without conditions it is reported with the
// severity expected above, a reason and a fix; denied it is not.
TEST(Check, EveryRiskySyscallIsReportedWhenAllowedAndOnlyThen) {
  std::size_t checked = 0;
  for (const auto& [name, severity] : expected_severities()) {
    if (!core::syscall_number(native(), name)) continue;
    ++checked;
    auto allowed = profile::check_profile(allowlist({name}));
    const auto* f = find(allowed, "risky-syscall", name);
    ASSERT_NE(f, nullptr) << name;
    EXPECT_EQ(f->severity, severity) << name;
    EXPECT_FALSE(f->reason.empty()) << name;
    EXPECT_FALSE(f->fix.empty()) << name;
    EXPECT_EQ(f->arches, std::vector<std::string>{std::string(core::arch_name(native()))}) << name;
    EXPECT_EQ(find(profile::check_profile(allowlist({})), "risky-syscall", name), nullptr) << name;
  }
  EXPECT_GE(checked, 40u);
}

TEST(Check, TheListCoversTheIssue) {
  for (const char* n : {"ptrace",
                        "process_vm_writev",
                        "bpf",
                        "perf_event_open",
                        "userfaultfd",
                        "io_uring_setup",
                        "io_uring_enter",
                        "io_uring_register",
                        "keyctl",
                        "add_key",
                        "request_key",
                        "mount",
                        "umount2",
                        "pivot_root",
                        "chroot",
                        "move_mount",
                        "fsopen",
                        "fsconfig",
                        "open_tree",
                        "unshare",
                        "setns",
                        "clone",
                        "clone3",
                        "personality",
                        "kexec_load",
                        "kexec_file_load",
                        "init_module",
                        "finit_module",
                        "delete_module",
                        "iopl",
                        "ioperm",
                        "open_by_handle_at",
                        "name_to_handle_at",
                        "swapon",
                        "reboot",
                        "acct",
                        "settimeofday",
                        "clock_settime",
                        "socket",
                        "ioctl"}) {
    auto list = profile::risky_syscalls();
    EXPECT_TRUE(std::any_of(list.begin(), list.end(), [&](const auto& r) { return r.name == n; })) << n;
  }
  // Nothing is in the table without a severity stated above.
  for (const auto& risky : profile::risky_syscalls())
    EXPECT_TRUE(expected_severities().count(std::string(risky.name))) << risky.name;
}

TEST(Check, GuardedSyscallsAreAcceptedUnderAConditionOnTheRightArgument) {
  using core::ArgCondition;
  using core::CmpOp;
  struct Case {
    const char* name;
    ArgCondition cond;
    bool reported;
  } cases[] = {
      {"socket", {0, CmpOp::eq, 1, 0}, false},     // AF_UNIX only
      {"socket", {1, CmpOp::eq, 1, 0}, true},      // a condition on the type is not the domain
      {"ioctl", {1, CmpOp::eq, 0x5401, 0}, false}, // TCGETS only
      {"ioctl", {0, CmpOp::eq, 1, 0}, true},
      {"clone", {0, CmpOp::masked_eq, 0x7e020000, 0}, false},
      {"personality", {0, CmpOp::eq, 0, 0}, false},
      {"ptrace", {0, CmpOp::eq, 0, 0}, true}, // no argument makes ptrace safe
  };
  for (const auto& c : cases) {
    auto r = profile::check_profile(allowlist({c.name}, {c.cond}));
    const auto* f = find(r, "risky-syscall", c.name);
    if (!c.reported) EXPECT_EQ(f, nullptr) << c.name;
    else {
      ASSERT_NE(f, nullptr) << c.name;
      EXPECT_EQ(f->severity, profile::Severity::info) << c.name;
    }
  }
}

// A condition on clone's or unshare's flags that allows CLONE_NEWUSER allows the risk itself: the
// finding keeps the name's severity (high), not info; one that keeps it out is lowered.
TEST(Check, ConditionLettingCloneNewUserThroughKeepsTheSeverity) {
  using core::CmpOp;
  constexpr std::uint64_t new_user = 0x10000000;
  struct Case {
    const char* name;
    core::ArgCondition cond;
    bool keeps_severity;
  } cases[] = {
      {"unshare", {0, CmpOp::eq, new_user, 0}, true},                      // exactly CLONE_NEWUSER, as gen writes it
      {"unshare", {0, CmpOp::masked_eq, new_user, new_user}, true},        // any call that has the bit
      {"clone", {0, CmpOp::eq, new_user | 0x11, 0}, true},                 // one clone call with the bit
      {"clone", {0, CmpOp::ge, 0x100, 0}, true},                           // a range that holds it
      {"unshare", {0, CmpOp::eq, 0x00020000 /* CLONE_NEWNS */, 0}, false}, // a mount namespace alone
      {"clone", {0, CmpOp::masked_eq, 0x7e020000, 0}, false},              // no namespace flag at all
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name + std::string(" value ") + std::to_string(c.cond.value));
    auto r = profile::check_profile(allowlist({c.name}, {c.cond}));
    const auto* risky = find(r, "risky-syscall", c.name);
    if (c.keeps_severity) {
      ASSERT_NE(risky, nullptr);
      EXPECT_EQ(risky->severity, profile::Severity::high);
      EXPECT_NE(risky->message.find("CLONE_NEWUSER"), std::string::npos) << risky->message;
      EXPECT_EQ(profile::check_exit_code(r, profile::Severity::high),
                profile::severity_exit_code(profile::Severity::high));
    } else {
      EXPECT_EQ(risky, nullptr) << risky->message;
      const auto* lowered = find(r, "conditioned-syscall", c.name);
      ASSERT_NE(lowered, nullptr);
      EXPECT_EQ(lowered->severity, profile::Severity::info);
    }
  }
}

TEST(Check, DefaultActionAllowOrLog) {
  auto p = allowlist({});
  p.default_action = core::Action::allow();
  auto r = profile::check_profile(p);
  ASSERT_NE(find(r, "default-action", "defaultAction"), nullptr);
  EXPECT_EQ(*r.highest(), profile::Severity::critical);
  p.default_action = core::Action::log();
  EXPECT_EQ(find(profile::check_profile(p), "default-action", "defaultAction")->severity, profile::Severity::high);
  EXPECT_EQ(find(profile::check_profile(allowlist({})), "default-action", "defaultAction"), nullptr);
}

TEST(Check, ArchitectureList) {
  auto p = allowlist({});
  EXPECT_TRUE(profile::check_profile(p).findings.empty());
  auto compat = core::compat_arches(native());
  if (compat.empty()) NUCLEUS_SKIP("no compat ABI on this architecture");
  p.architectures.push_back(compat.front());
  EXPECT_NE(find(profile::check_profile(p), "architectures", "architectures"), nullptr);
  p.architectures.clear();
  EXPECT_EQ(find(profile::check_profile(p), "architectures", "architectures")->severity, profile::Severity::low);
}

TEST(Check, ExitCodesFollowTheHighestSeverityAndFailOn) {
  auto r = profile::check_profile(allowlist({"ptrace", "socket"})); // high + low
  EXPECT_EQ(profile::check_exit_code(r, profile::Severity::low), 5);
  EXPECT_EQ(profile::check_exit_code(r, profile::Severity::high), 5);
  EXPECT_EQ(profile::check_exit_code(r, profile::Severity::critical), 0);
  EXPECT_EQ(profile::check_exit_code(profile::check_profile(allowlist({"socket"})), profile::Severity::low), 3);
  EXPECT_EQ(profile::check_exit_code(profile::check_profile(allowlist({})), profile::Severity::low), 0);
}

TEST(Check, ComparisonWithDockersDefault) {
  auto docker_path = test::shared_dir() / "testdata/docker-seccomp/default.json";
  auto ref = profile::load_reference(docker_path, {native()});
  profile::CheckOptions o;
  o.docker_default = &ref;
  auto r = profile::check_profile(allowlist({"kexec_load", "getpid"}), o);
  const auto* f = find(r, "beyond-docker-default", core::arch_name(native()));
  ASSERT_NE(f, nullptr);
  EXPECT_NE(f->message.find("kexec_load"), std::string::npos);
  EXPECT_EQ(f->message.find("getpid"), std::string::npos);
  EXPECT_TRUE(r.notes.empty());
  EXPECT_FALSE(profile::check_profile(allowlist({})).notes.empty()); // says the comparison was not made
}

TEST(Check, GoldenOnDockersDefaultAndAGeneratedProfile) {
  if (core::arch_name(native()) != "x86_64") NUCLEUS_SKIP("golden files are for x86_64");
  auto docker_path = test::shared_dir() / "testdata/docker-seccomp/default.json";
  auto docker = profile::load_profile(docker_path).policy;
  auto ref = profile::load_reference(docker_path, docker.effective_arches());
  profile::CheckOptions o;
  o.docker_default = &ref;
  test::expect_golden("check_docker_default.txt",
                      profile::format_check_text(profile::check_profile(docker, o), "default.json"));

  core::Trace t;
  for (const char* n : {"read", "write", "openat", "close", "mmap", "ptrace", "socket", "ioctl", "clone3"})
    t.syscalls.push_back({native(), *core::syscall_number(native(), n), n, 1, "/usr/bin/app"});
  auto generated = profile::generate_profile({t});
  auto r = profile::check_profile(generated, o);
  test::expect_golden("check_generated.txt", profile::format_check_text(r, "app.json"));
  test::expect_golden("check_generated.json", profile::check_to_json(r, "app.json"));
}

TEST(Check, IoUringIsCriticalAndNamesTheBypass) {
  for (const char* n : {"io_uring_setup", "io_uring_enter", "io_uring_register"}) {
    auto r = profile::check_profile(allowlist({n}));
    const auto* f = find(r, "risky-syscall", n);
    ASSERT_NE(f, nullptr) << n;
    EXPECT_EQ(f->severity, profile::Severity::critical) << n;
    EXPECT_NE(f->reason.find("seccomp"), std::string::npos) << f->reason;
    EXPECT_EQ(profile::check_exit_code(r, profile::Severity::low), 6) << n;
  }
}

TEST(Check, DenyListSaysUnlistedAbisAreKilled) {
  core::Policy p;
  p.default_action = core::Action::allow();
  p.architectures = {native()};
  auto r = profile::check_profile(p);
  const auto* f = find(r, "foreign-abi", "architectures");
  ASSERT_NE(f, nullptr);
  EXPECT_NE(f->message.find("killed (SIGSYS)"), std::string::npos) << f->message;
  EXPECT_EQ(f->arches.size(), core::compat_arches(native()).size());
  // An allowlist says nothing of the kind: its default already denies.
  EXPECT_EQ(find(profile::check_profile(allowlist({})), "foreign-abi", "architectures"), nullptr);
}
