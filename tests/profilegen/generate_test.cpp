// Profile generation: from trace logs and from raw audit text, per architecture, always-allowed
// set, default action and flags, and rejection of corrupt input.
#include "nucleus/profile/generate.hpp"

#include "nucleus/profile/oci.hpp"
#include "nucleus/core/error.hpp"
#include "nucleus/sandbox/filter.hpp"
#include "nucleus/core/syscalls.hpp"

#include <gtest/gtest.h>

#include <algorithm>

using namespace nucleus;

namespace {

core::Arch arch(const char* name) { return *core::arch_from_name(name); }

core::Trace trace_of(std::initializer_list<std::pair<const char*, const char*>> calls) {
  core::Trace t;
  for (auto [a, name] : calls) {
    auto nr = core::syscall_number(arch(a), name);
    EXPECT_TRUE(nr) << a << " " << name;
    t.syscalls.push_back({arch(a), *nr, name, 1, "/usr/bin/app"});
  }
  t.summary = core::TraceSummary{};
  return t;
}

const core::Rule* group_for(const core::Policy& p, const char* a) {
  auto it = std::find(p.architectures.begin(), p.architectures.end(), arch(a));
  if (it == p.architectures.end()) return nullptr;
  return &p.rules[static_cast<std::size_t>(it - p.architectures.begin())];
}

bool has(const core::Rule* rule, const char* name) {
  return rule != nullptr && std::find(rule->names.begin(), rule->names.end(), name) != rule->names.end();
}

// Audit lines as the kernel prints them, for an x86_64 process that also made an i386 call.
constexpr std::string_view audit_text =
    "[  100.000001] audit: type=1326 audit(1795861588.540:2): auid=0 uid=0 gid=0 ses=7 pid=2140 comm=\"app\" "
    "exe=\"/usr/bin/app\" sig=0 arch=c000003e syscall=0 compat=0 ip=0x7ff7bc5b1ad7 code=0x7ffc0000\n"
    "[  100.000002] audit: type=1326 audit(1795861588.540:3): auid=0 uid=0 gid=0 ses=7 pid=2140 comm=\"app\" "
    "exe=\"/usr/bin/app\" sig=0 arch=40000003 syscall=20 compat=1 ip=0xf7f0 code=0x7ffc0000\n"
    "[  100.000003] audit: type=1326 audit(1795861588.540:4): auid=0 uid=0 gid=0 ses=8 pid=3000 comm=\"other\" "
    "exe=\"/usr/bin/other\" sig=0 arch=c000003e syscall=41 compat=0 ip=0x7ff7bc5b1ad7 code=0x7ffc0000\n"
    "[  100.000004] some other kernel message\n";

} // namespace

TEST(Generate, OneSortedAllowGroupPerArchitecture) {
  auto policy = profile::generate_profile({trace_of({{"x86_64", "write"}, {"x86_64", "read"}, {"x86", "getpid"}})});
  ASSERT_EQ(policy.architectures.size(), 2u);
  EXPECT_EQ(policy.architectures[0], core::native_arch());
  auto* native = group_for(policy, "x86_64");
  auto* i386 = group_for(policy, "x86");
  ASSERT_NE(native, nullptr);
  ASSERT_NE(i386, nullptr);
  EXPECT_TRUE(std::is_sorted(native->names.begin(), native->names.end()));
  EXPECT_TRUE(has(native, "read") && has(native, "write"));
  EXPECT_FALSE(has(native, "getpid"));
  EXPECT_TRUE(has(i386, "getpid"));
  for (const auto& rule : policy.rules) EXPECT_EQ(rule.action, core::Action::allow());
}

TEST(Generate, AlwaysAllowedAndDefaultAction) {
  auto policy = profile::generate_profile({trace_of({{"x86_64", "read"}})});
  for (auto name : profile::always_allowed)
    EXPECT_TRUE(has(group_for(policy, "x86_64"), std::string(name).c_str())) << name;
  EXPECT_EQ(policy.default_action, core::Action::errno_ret(1));
  EXPECT_TRUE(policy.has_flag(core::FilterFlag::log));

  profile::GenerateOptions kill;
  kill.default_action = core::Action::kill_process();
  auto killing = profile::generate_profile({trace_of({{"x86_64", "read"}})}, kill);
  EXPECT_EQ(killing.default_action, core::Action::kill_process());
}

TEST(Generate, EveryNameResolvesAndTheProfileCompiles) {
  auto policy = profile::generate_profile(
      {trace_of({{"x86_64", "openat"}, {"x86_64", "clone3"}}), trace_of({{"x86_64", "read"}, {"x86", "socketcall"}})});
  for (std::size_t i = 0; i < policy.rules.size(); ++i)
    for (const auto& name : policy.rules[i].names) {
      EXPECT_TRUE(core::syscall_number(policy.architectures[i], name) ||
                  (name == "socket" && policy.architectures[i] == arch("x86")))
          << name << " on " << core::arch_name(policy.architectures[i]);
    }
  EXPECT_NO_THROW(sandbox::compile(policy));
  // And it survives the trip through JSON.
  auto again = profile::parse_profile(profile::to_oci_json(policy), "generated.json");
  EXPECT_EQ(again.policy, policy);
}

TEST(Generate, DecodesByArchitectureAndNumberNotByName) {
  core::Trace t;
  t.syscalls.push_back({arch("x86"), 20, "not-what-the-number-says", 3, "/usr/bin/app"});
  auto policy = profile::generate_profile({t});
  EXPECT_TRUE(has(group_for(policy, "x86"), "getpid"));
  core::Trace bad;
  bad.syscalls.push_back({arch("x86_64"), 9999, "bogus", 1, "/usr/bin/app"});
  EXPECT_THROW(profile::generate_profile({bad}), core::Error);
}

TEST(Generate, RawAuditTextNeedsASelector) {
  try {
    profile::trace_from_audit_text(audit_text, {}, "kernel.log");
    FAIL() << "raw audit text without a selector was accepted";
  } catch (const core::Error& e) {
    EXPECT_EQ(e.kind(), core::ErrorKind::usage);
    EXPECT_NE(e.hint().find("--ses"), std::string::npos);
  }
}

TEST(Generate, I386RecordsLandUnderScmpArchX86) {
  profile::RecordSelector by_session;
  by_session.ses = 7;
  auto trace = profile::trace_from_audit_text(audit_text, by_session, "kernel.log");
  ASSERT_EQ(trace.syscalls.size(), 2u);
  auto policy = profile::generate_profile({trace});
  EXPECT_TRUE(has(group_for(policy, "x86_64"), "read"));
  EXPECT_TRUE(has(group_for(policy, "x86"), "getpid")); // i386 syscall 20
  EXPECT_FALSE(has(group_for(policy, "x86_64"), "socket")) << "another session's record leaked in";
  auto json = profile::to_oci_json(policy);
  EXPECT_NE(json.find("SCMP_ARCH_X86\""), std::string::npos) << json;
}

TEST(Generate, SelectorsByPidAndExe) {
  profile::RecordSelector by_exe;
  by_exe.exe = "/usr/bin/other";
  auto other = profile::trace_from_audit_text(audit_text, by_exe, "kernel.log");
  ASSERT_EQ(other.syscalls.size(), 1u);
  EXPECT_EQ(other.syscalls[0].name, "socket");
  profile::RecordSelector by_pid;
  by_pid.pid = 2140;
  EXPECT_EQ(profile::trace_from_audit_text(audit_text, by_pid, "kernel.log").syscalls.size(), 2u);
  profile::RecordSelector nobody;
  nobody.pid = 1;
  EXPECT_THROW(profile::trace_from_audit_text(audit_text, nobody, "kernel.log"), core::Error);
}

// io_uring's operations bypass seccomp: a traced io_uring is left out unless asked for.
TEST(Generate, IoUringIsLeftOutUnlessAskedFor) {
  auto t = trace_of({{"x86_64", "read"},
                     {"x86_64", "io_uring_setup"},
                     {"x86_64", "io_uring_enter"},
                     {"x86_64", "io_uring_register"}});
  std::vector<std::string> left_out;
  auto p = profile::generate_profile({t}, {}, &left_out);
  const auto* g = group_for(p, "x86_64");
  ASSERT_NE(g, nullptr);
  EXPECT_TRUE(has(g, "read"));
  for (const char* n : {"io_uring_setup", "io_uring_enter", "io_uring_register"}) EXPECT_FALSE(has(g, n)) << n;
  EXPECT_EQ(left_out, (std::vector<std::string>{"io_uring_setup", "io_uring_enter", "io_uring_register"}));

  profile::GenerateOptions allow;
  allow.allow_io_uring = true;
  std::vector<std::string> none;
  auto q = profile::generate_profile({t}, allow, &none);
  for (const char* n : {"io_uring_setup", "io_uring_enter", "io_uring_register"})
    EXPECT_TRUE(has(group_for(q, "x86_64"), n)) << n;
  EXPECT_TRUE(none.empty());
}

// A container's trace (the OCI hook's) also allows what its runtime's init may call between
// installing the filter and the exec on another run; other traces, or the flag, do not.
TEST(Generate, ContainerTracesAllowTheRuntimesWindow) {
  const std::string native = std::string(core::arch_name(core::native_arch()));
  auto plain = trace_of({{native.c_str(), "read"}, {native.c_str(), "futex"}});
  auto container = plain;
  container.header.container = true;
  auto find = [](const core::Policy& p, const std::string& name) {
    std::vector<const core::Rule*> out;
    for (const auto& r : p.rules)
      if (std::find(r.names.begin(), r.names.end(), name) != r.names.end()) out.push_back(&r);
    return out;
  };
  auto with = profile::generate({container});
  ASSERT_EQ(find(with.policy, "nanosleep").size(), 1u);
  EXPECT_NE(find(with.policy, "nanosleep")[0]->comment.find("container runtime"), std::string::npos);
  EXPECT_EQ(find(with.policy, "futex").size(), 1u) << "traced already: not listed twice";
  EXPECT_TRUE(std::any_of(with.notes.begin(), with.notes.end(),
                          [](const std::string& n) { return n.find("--no-runtime-allowance") != std::string::npos; }));
  EXPECT_TRUE(find(profile::generate({plain}).policy, "nanosleep").empty());
  profile::GenerateOptions off;
  off.runtime_allowance = false;
  EXPECT_TRUE(find(profile::generate({container}, off).policy, "nanosleep").empty());
  // Merged with an ordinary trace, the container's runtime still starts it.
  EXPECT_EQ(find(profile::generate({plain, container}).policy, "sched_yield").size(), 1u);
  EXPECT_NO_THROW(sandbox::compile(with.policy));
}

namespace {

// A trace with argument values: socket made by each of `exes` executables with the domains and
// types given per executable.
core::Trace socket_trace(const std::vector<std::pair<std::vector<std::uint64_t>, std::vector<std::uint64_t>>>& exes) {
  core::Trace t;
  t.header.arguments = true;
  const auto nr = *core::syscall_number(arch("x86_64"), "socket");
  for (std::size_t i = 0; i < exes.size(); ++i) {
    core::TraceSyscall s{arch("x86_64"), nr, "socket", 1, "/copy" + std::to_string(i)};
    s.args.push_back({0, exes[i].first, false});
    s.args.push_back({1, exes[i].second, false});
    t.syscalls.push_back(std::move(s));
  }
  t.summary = core::TraceSummary{};
  return t;
}

std::vector<std::uint64_t> range(std::uint64_t from, std::uint64_t count) {
  std::vector<std::uint64_t> v;
  for (std::uint64_t i = 0; i < count; ++i) v.push_back(from + i);
  return v;
}

std::vector<const core::Rule*> socket_entries(const core::Policy& p) {
  std::vector<const core::Rule*> out;
  for (const auto& r : p.rules)
    if (r.names == std::vector<std::string>{"socket"}) out.push_back(&r);
  return out;
}

bool noted(const profile::GenerateResult& r, const std::string& text) {
  return std::any_of(r.notes.begin(), r.notes.end(), [&](const auto& n) { return n.find(text) != std::string::npos; });
}

} // namespace

// Up to the bounds, every value is a condition: 8 domains by 8 types are 64 entries.
TEST(Generate, ArgumentValuesWithinTheBoundsAreAllConditions) {
  auto r = profile::generate({socket_trace({{range(1, 8), range(1, 8)}})});
  EXPECT_EQ(socket_entries(r.policy).size(), 64u);
  EXPECT_FALSE(noted(r, "not checked"));
  EXPECT_NO_THROW(sandbox::compile(r.policy));
}

// More than 16 types (over all executables): the type is not checked, the domains still are.
TEST(Generate, AnArgumentWithTooManyValuesIsNotChecked) {
  auto r = profile::generate({socket_trace({{{1, 2}, range(1, 10)}, {{10}, range(11, 10)}})});
  auto entries = socket_entries(r.policy);
  ASSERT_EQ(entries.size(), 3u) << "one entry per domain";
  for (const auto* e : entries) {
    ASSERT_EQ(e->args.size(), 1u);
    EXPECT_EQ(e->args[0].index, 0u);
    EXPECT_NE(e->comment.find("arg1 (type) not checked: 20 distinct values traced, more than 16"), std::string::npos)
        << e->comment;
  }
  EXPECT_TRUE(noted(r, "socket: arg1 (type) not checked"));
  EXPECT_NO_THROW(sandbox::compile(r.policy));
}

// 12 domains by 12 types would be 144 entries: the argument with the most values goes unchecked.
TEST(Generate, TooManyCombinationsLeaveTheLargestArgumentUnchecked) {
  auto r = profile::generate({socket_trace({{range(1, 12), range(1, 13)}})});
  auto entries = socket_entries(r.policy);
  ASSERT_EQ(entries.size(), 12u);
  EXPECT_TRUE(noted(r, "arg1 (type) not checked: its 13 values times the other arguments' would be 156 entries"));
  EXPECT_NO_THROW(sandbox::compile(r.policy));
}

// Ten executables of 32 values each: allowed by name, said in the entry's comment, and compiles.
TEST(Generate, HundredsOfValuesGiveANameOnlyRuleThatCompiles) {
  std::vector<std::pair<std::vector<std::uint64_t>, std::vector<std::uint64_t>>> exes;
  for (std::uint64_t c = 0; c < 10; ++c) exes.push_back({range(c * 32, 32), range(c * 32 + 1, 32)});
  auto r = profile::generate({socket_trace(exes)});
  auto entries = socket_entries(r.policy);
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_TRUE(entries[0]->args.empty());
  EXPECT_NE(entries[0]->comment.find("allowed by name: arg0 (domain) not checked: 320 distinct values"),
            std::string::npos)
      << entries[0]->comment;
  EXPECT_FALSE(has(group_for(r.policy, "x86_64"), "socket")) << "listed once";
  EXPECT_NO_THROW(sandbox::compile(r.policy));
}
