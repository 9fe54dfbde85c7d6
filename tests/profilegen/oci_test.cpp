// Tests of reading and writing profiles: the OCI object, Docker's extensions resolved for a given
// architecture, capability set and kernel, the error message for each kind of malformed profile,
// and the round trip read -> write -> read.
#include "test_support.hpp"

#include "nucleus/profile/oci.hpp"
#include "nucleus/core/error.hpp"
#include "nucleus/sandbox/filter.hpp"
#include "nucleus/core/syscalls.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <set>
#include <tuple>

namespace nucleus {
namespace {

using core::Action;
using core::ActionKind;
using core::ArgCondition;
using core::CmpOp;
using profile::ResolveContext;

core::Arch arch(std::string_view name) {
  auto a = core::arch_from_name(name);
  if (!a) throw std::invalid_argument("test bug: unknown arch " + std::string(name));
  return *a;
}

std::filesystem::path fixture(const std::string& name) {
  return test::shared_dir() / "testdata" / "docker-seccomp" / name;
}

// A fixed machine, so that results do not depend on the host running the tests.
ResolveContext machine(std::string_view arch_name, std::vector<std::string> caps = {},
                       std::string kernel = "6.1.0-13-amd64") {
  ResolveContext context;
  context.arch = arch(arch_name);
  context.capabilities = std::move(caps);
  context.kernel_release = std::move(kernel);
  return context;
}

profile::LoadedProfile parse(const std::string& text, const ResolveContext& context = machine("x86_64")) {
  return profile::parse_profile(text, "app.json", context);
}

// The message of the Error that parsing throws, or a marker when it loads.
std::string error_of(const std::string& text) {
  try {
    parse(text);
  } catch (const core::Error& e) {
    EXPECT_EQ(e.kind(), core::ErrorKind::invalid_input) << e.what();
    return e.what();
  }
  return "<loaded without error>";
}

std::vector<const core::Rule*> rules_naming(const core::Policy& policy, std::string_view name) {
  std::vector<const core::Rule*> out;
  for (const auto& rule : policy.rules)
    if (std::find(rule.names.begin(), rule.names.end(), name) != rule.names.end()) out.push_back(&rule);
  return out;
}

bool allows_unconditionally(const core::Policy& policy, std::string_view name) {
  auto rules = rules_naming(policy, name);
  return std::any_of(rules.begin(), rules.end(),
                     [](const auto* r) { return r->action == Action::allow() && r->args.empty(); });
}

bool has_warning(const profile::LoadedProfile& loaded, std::string_view path, std::string_view text) {
  return std::any_of(loaded.warnings.begin(), loaded.warnings.end(), [&](const profile::Diagnostic& d) {
    return d.path == path && d.message.find(text) != std::string::npos;
  });
}

std::string warnings_of(const profile::LoadedProfile& loaded) {
  std::string out;
  for (const auto& w : loaded.warnings) out += "  " + w.path + ": " + w.message + "\n";
  return out;
}

// Each (syscall, action, conditions) the policy holds, to compare two resolutions.
using Grant = std::tuple<std::string, std::string, std::string>;
std::set<Grant> grants(const core::Policy& policy) {
  std::set<Grant> out;
  for (const auto& rule : policy.rules) {
    std::string conditions;
    for (const auto& c : rule.args)
      conditions += std::to_string(c.index) + std::string(core::cmp_op_oci_name(c.op)) + std::to_string(c.value) + "/" +
                    std::to_string(c.value_two) + ";";
    for (const auto& name : rule.names) out.emplace(name, core::to_string(rule.action), conditions);
  }
  return out;
}

constexpr std::uint64_t clone_namespace_flags = 2114060288; // CLONE_NEW* as Docker masks them

// ---------------------------------------------------------------------------------------------
// Round trip

struct RoundTripCase {
  std::filesystem::path file;
  ResolveContext context;
};

TEST(OciRoundTrip, ReadWriteReadGivesTheSamePolicyForEveryFixture) {
  std::vector<RoundTripCase> cases = {
      {fixture("default.json"), machine("x86_64")},
      {fixture("default.json"), machine("x86_64", {"CAP_SYS_ADMIN"})},
      {fixture("default.json"), machine("aarch64")},
      {fixture("default.json"), machine("s390x", {}, "4.4")},
      {fixture("default-old-format.json"), machine("x86_64")},
      {fixture("example.json"), machine("x86_64")},
      {fixture("conditional_include.json"), machine("x86_64", {"CAP_SYSLOG"})},
  };
  for (const auto& entry : std::filesystem::directory_iterator(test::source_dir() / "samples" / "profiles"))
    if (entry.path().extension() == ".json") cases.push_back({entry.path(), machine("x86_64")});
  ASSERT_GE(cases.size(), 9u) << "the sample profiles are missing";

  for (const auto& c : cases) {
    SCOPED_TRACE(c.file.filename().string() + " on " + std::string(core::arch_name(*c.context.arch)));
    auto first = profile::load_profile(c.file, c.context);
    ASSERT_FALSE(first.policy.rules.empty());
    std::string written = profile::to_oci_json(first.policy);
    auto second = profile::parse_profile(written, "written.json", c.context);
    EXPECT_EQ(second.policy, first.policy);
    EXPECT_EQ(profile::to_oci_json(second.policy), written) << "writing is not a fixed point";
    EXPECT_TRUE(second.warnings.empty() || c.file.filename() == "example.json") << warnings_of(second);
  }
}

TEST(OciRoundTrip, DefaultContextUsesTheRunningMachine) {
  auto loaded = profile::load_profile(fixture("default.json"));
  auto again = profile::parse_profile(profile::to_oci_json(loaded.policy), "written.json");
  EXPECT_EQ(again.policy, loaded.policy);
  ASSERT_FALSE(loaded.policy.architectures.empty());
  EXPECT_EQ(loaded.policy.architectures.front(), core::native_arch());
}

TEST(OciWrite, KeysInOciOrderTwoSpaceIndent) {
  core::Policy policy;
  policy.default_action = Action::errno_ret(1);
  policy.architectures = {arch("x86_64"), arch("x86")};
  policy.flags = {core::FilterFlag::log};
  policy.rules.push_back({{"read", "write"}, Action::allow(), {}, ""});
  policy.rules.push_back(
      {{"clone"}, Action::allow(), {{0, CmpOp::masked_eq, clone_namespace_flags, 0}}, "no namespaces"});
  policy.rules.push_back({{"socket"}, Action::errno_ret(97), {{0, CmpOp::ne, 1, 0}}, ""});
  const std::string expected = R"({
  "defaultAction": "SCMP_ACT_ERRNO",
  "defaultErrnoRet": 1,
  "architectures": [
    "SCMP_ARCH_X86_64",
    "SCMP_ARCH_X86"
  ],
  "flags": [
    "SECCOMP_FILTER_FLAG_LOG"
  ],
  "syscalls": [
    {
      "names": [
        "read",
        "write"
      ],
      "action": "SCMP_ACT_ALLOW"
    },
    {
      "names": [
        "clone"
      ],
      "action": "SCMP_ACT_ALLOW",
      "args": [
        {
          "index": 0,
          "value": 2114060288,
          "valueTwo": 0,
          "op": "SCMP_CMP_MASKED_EQ"
        }
      ],
      "comment": "no namespaces"
    },
    {
      "names": [
        "socket"
      ],
      "action": "SCMP_ACT_ERRNO",
      "errnoRet": 97,
      "args": [
        {
          "index": 0,
          "value": 1,
          "op": "SCMP_CMP_NE"
        }
      ]
    }
  ]
}
)";
  EXPECT_EQ(profile::to_oci_json(policy), expected);
  EXPECT_EQ(parse(expected).policy, policy);
}

TEST(OciWrite, NonErrnoDefaultHasNoErrnoRetAndEmptyListsAreLeftOut) {
  core::Policy policy;
  policy.default_action = Action::kill_process();
  policy.rules.push_back({{"getpid"}, Action::log(), {}, ""});
  auto json = nlohmann::json::parse(profile::to_oci_json(policy));
  EXPECT_EQ(json["defaultAction"], "SCMP_ACT_KILL_PROCESS");
  EXPECT_FALSE(json.contains("defaultErrnoRet"));
  EXPECT_FALSE(json.contains("architectures"));
  EXPECT_FALSE(json.contains("flags"));
  EXPECT_FALSE(json["syscalls"][0].contains("errnoRet"));
  EXPECT_FALSE(json["syscalls"][0].contains("args"));
  EXPECT_FALSE(json["syscalls"][0].contains("comment"));
  EXPECT_EQ(parse(json.dump()).policy, policy);
}

TEST(OciWrite, TraceKeepsItsMessage) {
  auto loaded = parse(R"({"defaultAction": "SCMP_ACT_TRACE", "defaultErrnoRet": 7,
                          "syscalls": [{"names": ["getpid"], "action": "SCMP_ACT_ALLOW"}]})");
  EXPECT_EQ(loaded.policy.default_action, (Action{ActionKind::trace, 7}));
  EXPECT_EQ(parse(profile::to_oci_json(loaded.policy)).policy, loaded.policy);
}

// ---------------------------------------------------------------------------------------------
// Docker's default profile

TEST(DockerDefault, ResolvedForX86_64WithoutCapabilities) {
  auto loaded = profile::load_profile(fixture("default.json"), machine("x86_64"));
  const auto& policy = loaded.policy;
  EXPECT_EQ(policy.default_action, Action::errno_ret(1));
  EXPECT_EQ(policy.architectures, (std::vector{arch("x86_64"), arch("x86"), arch("x32")}));
  EXPECT_TRUE(allows_unconditionally(policy, "read"));
  EXPECT_TRUE(allows_unconditionally(policy, "chown32")) << "names of a sub-architecture are kept";
  EXPECT_TRUE(allows_unconditionally(policy, "arch_prctl")) << "includes.arches amd64";
  EXPECT_TRUE(allows_unconditionally(policy, "ptrace")) << "includes.minKernel 4.8 on 6.1";
  EXPECT_TRUE(rules_naming(policy, "arm_fadvise64_64").empty()) << "includes.arches arm, arm64";
  EXPECT_TRUE(rules_naming(policy, "riscv_flush_icache").empty());
  EXPECT_TRUE(rules_naming(policy, "syslog").empty()) << "needs CAP_SYSLOG";
  for (auto name : {"mount", "umount2", "unshare", "setns", "bpf", "reboot"})
    EXPECT_TRUE(rules_naming(policy, name).empty()) << name << " needs a capability";

  auto clone = rules_naming(policy, "clone");
  ASSERT_EQ(clone.size(), 1u);
  EXPECT_EQ(clone[0]->action, Action::allow());
  EXPECT_EQ(clone[0]->args, (std::vector<ArgCondition>{{0, CmpOp::masked_eq, clone_namespace_flags, 0}}));
  auto clone3 = rules_naming(policy, "clone3");
  ASSERT_EQ(clone3.size(), 1u);
  EXPECT_EQ(clone3[0]->action, Action::errno_ret(38)) << "ENOSYS, so that libc falls back to clone";

  // Whatever this libseccomp does not know is left out (with a warning), so the filter compiles.
  for (const auto& rule : policy.rules)
    for (const auto& name : rule.names)
      EXPECT_TRUE(std::any_of(core::known_arches().begin(), core::known_arches().end(), [&](auto a) {
        return core::syscall_number(a, name).has_value();
      })) << name;
  EXPECT_NO_THROW(sandbox::compile(policy));
}

TEST(DockerDefault, CapSysAdminAllowsNamespacesAndUnconditionalClone) {
  auto without = profile::load_profile(fixture("default.json"), machine("x86_64")).policy;
  auto with = profile::load_profile(fixture("default.json"), machine("x86_64", {"CAP_SYS_ADMIN"})).policy;
  EXPECT_TRUE(allows_unconditionally(with, "clone"));
  EXPECT_TRUE(allows_unconditionally(with, "clone3"));
  for (auto name : {"mount", "umount2", "unshare", "setns", "sethostname"})
    EXPECT_TRUE(allows_unconditionally(with, name)) << name;
  for (const auto* rule : rules_naming(with, "clone")) EXPECT_TRUE(rule->args.empty());

  auto only_with = grants(with);
  auto only_without = grants(without);
  for (const auto& g : grants(without)) only_with.erase(g);
  for (const auto& g : grants(with)) only_without.erase(g);
  EXPECT_TRUE(only_with.count({"clone", "allow", ""}));
  EXPECT_TRUE(only_with.count({"mount", "allow", ""}));
  EXPECT_TRUE(only_with.count({"clone3", "allow", ""}));
  EXPECT_FALSE(only_with.count({"read", "allow", ""})) << "read is allowed either way";
  // What CAP_SYS_ADMIN takes away: the conditional clone and clone3's ENOSYS, nothing else.
  EXPECT_EQ(only_without,
            (std::set<Grant>{{"clone", "allow", "0SCMP_CMP_MASKED_EQ2114060288/0;"}, {"clone3", "errno(ENOSYS)", ""}}));
  EXPECT_NO_THROW(sandbox::compile(with));
}

TEST(DockerDefault, CapabilitySpellingIsNormalized) {
  auto upper = profile::load_profile(fixture("default.json"), machine("x86_64", {"CAP_SYS_ADMIN"})).policy;
  auto lower = profile::load_profile(fixture("default.json"), machine("x86_64", {"sys_admin"})).policy;
  EXPECT_EQ(upper, lower);
}

TEST(DockerDefault, MinKernelComparesWithTheGivenRelease) {
  auto old_kernel = profile::load_profile(fixture("default.json"), machine("x86_64", {}, "4.4.0-210-generic")).policy;
  EXPECT_TRUE(rules_naming(old_kernel, "ptrace").empty()) << "includes.minKernel 4.8";
  auto new_kernel = profile::load_profile(fixture("default.json"), machine("x86_64", {}, "4.8")).policy;
  EXPECT_TRUE(allows_unconditionally(new_kernel, "ptrace"));
}

TEST(DockerDefault, ArchMapForAarch64) {
  auto policy = profile::load_profile(fixture("default.json"), machine("aarch64")).policy;
  EXPECT_EQ(policy.architectures, (std::vector{arch("aarch64"), arch("arm")}));
  EXPECT_TRUE(allows_unconditionally(policy, "arm_fadvise64_64")) << "includes.arches arm64";
  EXPECT_TRUE(rules_naming(policy, "arch_prctl").empty()) << "includes.arches amd64, x32";
  EXPECT_TRUE(rules_naming(policy, "modify_ldt").empty());
  EXPECT_NO_THROW(sandbox::compile(policy));
}

TEST(DockerDefault, ArchMapForOtherMachines) {
  auto riscv = profile::load_profile(fixture("default.json"), machine("riscv64")).policy;
  EXPECT_EQ(riscv.architectures, (std::vector{arch("riscv64")})) << "subArchitectures: null";
  EXPECT_TRUE(allows_unconditionally(riscv, "riscv_flush_icache"));

  auto s390x = profile::load_profile(fixture("default.json"), machine("s390x")).policy;
  EXPECT_EQ(s390x.architectures, (std::vector{arch("s390x"), arch("s390")}));
  auto clone = rules_naming(s390x, "clone");
  ASSERT_EQ(clone.size(), 1u);
  EXPECT_EQ(clone[0]->args, (std::vector<ArgCondition>{{1, CmpOp::masked_eq, clone_namespace_flags, 0}}))
      << "s390 passes clone's flags second";

  // No archMap entry for i386: that architecture alone.
  auto x86 = profile::load_profile(fixture("default.json"), machine("x86")).policy;
  EXPECT_EQ(x86.architectures, (std::vector{arch("x86")}));
}

TEST(DockerDefault, OldFormatWithSingleNames) {
  auto loaded = profile::load_profile(fixture("default-old-format.json"), machine("x86_64"));
  const auto& policy = loaded.policy;
  EXPECT_EQ(policy.architectures, (std::vector{arch("x86_64"), arch("x86"), arch("x32")}));
  // 311 entries; recv and send exist on none of the three architectures (socketcall's old
  // names): left out, in one warning.
  EXPECT_EQ(policy.rules.size(), 309u);
  for (const auto& rule : policy.rules) EXPECT_EQ(rule.names.size(), 1u);
  auto clone = rules_naming(policy, "clone");
  ASSERT_EQ(clone.size(), 1u);
  EXPECT_EQ(clone[0]->args, (std::vector<ArgCondition>{{0, CmpOp::masked_eq, 2080505856, 0}}));
  EXPECT_EQ(rules_naming(policy, "personality").size(), 3u);
  ASSERT_EQ(loaded.warnings.size(), 1u) << warnings_of(loaded);
  EXPECT_TRUE(has_warning(loaded, "syscalls", "\"recv\" (syscalls[182].name), \"send\" (syscalls[219].name)"))
      << warnings_of(loaded);
  EXPECT_NO_THROW(sandbox::compile(policy));
}

TEST(DockerFixtures, ExampleWithLargeErrnoRet) {
  auto loaded = profile::load_profile(fixture("example.json"), machine("x86_64"));
  auto syslog = rules_naming(loaded.policy, "syslog");
  ASSERT_EQ(syslog.size(), 1u);
  EXPECT_EQ(syslog[0]->action, Action::errno_ret(12345));
  EXPECT_TRUE(has_warning(loaded, "syscalls[3].errnoRet", "returns 4095")) << warnings_of(loaded);
  EXPECT_TRUE(rules_naming(loaded.policy, "open")[0]->args.empty()) << "args: [] is no condition";
}

TEST(DockerFixtures, ConditionalIncludeAndExclude) {
  auto path = fixture("conditional_include.json");
  auto none = profile::load_profile(path, machine("x86_64")).policy;
  EXPECT_TRUE(allows_unconditionally(none, "chmod"));
  EXPECT_TRUE(rules_naming(none, "syslog").empty());
  EXPECT_TRUE(allows_unconditionally(none, "ptrace"));

  auto syslog = profile::load_profile(path, machine("x86_64", {"CAP_SYSLOG"})).policy;
  EXPECT_TRUE(allows_unconditionally(syslog, "syslog"));

  auto admin = profile::load_profile(path, machine("x86_64", {"CAP_SYS_ADMIN"})).policy;
  EXPECT_TRUE(rules_naming(admin, "ptrace").empty()) << "excludes.caps CAP_SYS_ADMIN";
}

TEST(DockerExtensions, IncludesNeedEveryCapabilityExcludesAny) {
  const std::string text = R"({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
    {"names": ["acct"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_PACCT", "CAP_SYS_ADMIN"]}},
    {"names": ["getpid"], "action": "SCMP_ACT_ALLOW", "excludes": {"caps": ["CAP_NET_RAW", "CAP_SYS_ADMIN"]}},
    {"names": ["gettid"], "action": "SCMP_ACT_ALLOW", "excludes": {"minKernel": "5.10"}},
    {"names": ["uname"], "action": "SCMP_ACT_ALLOW", "excludes": {"arches": ["amd64"]}}]})";
  auto one = parse(text, machine("x86_64", {"CAP_SYS_PACCT"}, "5.4")).policy;
  EXPECT_TRUE(rules_naming(one, "acct").empty());
  EXPECT_TRUE(allows_unconditionally(one, "getpid"));
  EXPECT_TRUE(allows_unconditionally(one, "gettid"));
  EXPECT_TRUE(rules_naming(one, "uname").empty());
  auto both = parse(text, machine("aarch64", {"CAP_SYS_PACCT", "CAP_SYS_ADMIN"}, "5.10.0")).policy;
  EXPECT_TRUE(allows_unconditionally(both, "acct"));
  EXPECT_TRUE(rules_naming(both, "getpid").empty());
  EXPECT_TRUE(rules_naming(both, "gettid").empty());
  EXPECT_TRUE(allows_unconditionally(both, "uname"));
}

TEST(DockerExtensions, DockerArchSpellings) {
  const std::string text = R"({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
    {"names": ["getpid"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["x86", "ppc64le", "loong64"]}},
    {"names": ["gettid"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["amd46"]}}]})";
  auto i386 = parse(text, machine("x86"));
  EXPECT_TRUE(allows_unconditionally(i386.policy, "getpid"));
  auto ppc = parse(text, machine("ppc64le"));
  EXPECT_TRUE(allows_unconditionally(ppc.policy, "getpid"));
  auto amd64 = parse(text, machine("x86_64"));
  EXPECT_TRUE(amd64.policy.rules.empty());
  // loong64 is a real architecture this libseccomp lacks: no warning. A typo is reported.
  EXPECT_FALSE(has_warning(amd64, "syscalls[0].includes.arches[2]", ""));
  EXPECT_TRUE(has_warning(amd64, "syscalls[1].includes.arches[0]", "unknown architecture \"amd46\""))
      << warnings_of(amd64);
}

TEST(DockerExtensions, PlainOciWithoutArchitecturesMeansTheNativeOne) {
  const std::string text = R"({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
    {"names": ["getpid"], "action": "SCMP_ACT_ALLOW"}]})";
  ResolveContext native;
  native.arch = core::native_arch();
  EXPECT_TRUE(profile::parse_profile(text, "app.json", native).policy.architectures.empty());
  core::Arch other = core::native_arch() == arch("aarch64") ? arch("x86_64") : arch("aarch64");
  ResolveContext foreign;
  foreign.arch = other;
  EXPECT_EQ(profile::parse_profile(text, "app.json", foreign).policy.architectures, std::vector{other});
}

// ---------------------------------------------------------------------------------------------
// Reading details

TEST(OciRead, ErrnoWithoutErrnoRetMeansEperm) {
  auto policy = parse(R"({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
    {"names": ["getpid"], "action": "SCMP_ACT_ERRNO"},
    {"names": ["gettid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 0}]})",
                      machine("x86_64"))
                    .policy;
  EXPECT_EQ(policy.default_action, Action::errno_ret(1));
  ASSERT_EQ(policy.rules.size(), 2u);
  EXPECT_EQ(policy.rules[0].action, Action::errno_ret(1));
  EXPECT_EQ(policy.rules[1].action, Action::errno_ret(0)) << "errno 0: pretend success";
}

TEST(OciRead, OldKillNameAndEveryOperator) {
  auto policy = parse(R"({"defaultAction": "SCMP_ACT_KILL", "architectures": ["SCMP_ARCH_X86_64"],
    "flags": ["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW", "SECCOMP_FILTER_FLAG_LOG"],
    "syscalls": [{"names": ["write"], "action": "SCMP_ACT_ALLOW", "args": [
      {"index": 0, "value": 1, "op": "SCMP_CMP_NE"}, {"index": 0, "value": 9, "op": "SCMP_CMP_LT"},
      {"index": 1, "value": 2, "op": "SCMP_CMP_LE"}, {"index": 2, "value": 3, "op": "SCMP_CMP_EQ"},
      {"index": 3, "value": 4, "op": "SCMP_CMP_GE"}, {"index": 4, "value": 18446744073709551615, "op": "SCMP_CMP_GT"},
      {"index": 5, "value": 240, "valueTwo": 16, "op": "SCMP_CMP_MASKED_EQ"}]}]})")
                    .policy;
  EXPECT_EQ(policy.default_action.kind, ActionKind::kill_thread) << "SCMP_ACT_KILL is libseccomp's old kill-thread";
  EXPECT_EQ(policy.flags, (std::vector{core::FilterFlag::log, core::FilterFlag::spec_allow}));
  ASSERT_EQ(policy.rules.size(), 1u);
  EXPECT_EQ(policy.rules[0].args, (std::vector<ArgCondition>{{0, CmpOp::ne, 1, 0},
                                                             {0, CmpOp::lt, 9, 0},
                                                             {1, CmpOp::le, 2, 0},
                                                             {2, CmpOp::eq, 3, 0},
                                                             {3, CmpOp::ge, 4, 0},
                                                             {4, CmpOp::gt, 18446744073709551615u, 0},
                                                             {5, CmpOp::masked_eq, 240, 16}}));
  EXPECT_TRUE(core::matches(policy.rules[0].args[6], 0x1f)) << "value is the mask, valueTwo the expected bits";
  EXPECT_FALSE(core::matches(policy.rules[0].args[6], 0x2f));
}

TEST(OciRead, NullsAreEmptyAndCommentsAreKept) {
  auto policy = parse(R"({"defaultAction": "SCMP_ACT_ERRNO", "comment": "top", "architectures": null,
    "flags": null, "syscalls": [
      {"name": "getpid", "names": null, "action": "SCMP_ACT_ALLOW", "args": null, "comment": "why",
       "includes": null, "excludes": {}}]})")
                    .policy;
  ASSERT_EQ(policy.rules.size(), 1u);
  EXPECT_EQ(policy.rules[0].names, std::vector<std::string>{"getpid"});
  EXPECT_EQ(policy.rules[0].comment, "why");
  EXPECT_TRUE(policy.rules[0].args.empty());
}

TEST(OciRead, UnknownKeysAreWarnedWithTheirPath) {
  auto loaded = parse(R"({"defaultAction": "SCMP_ACT_ERRNO", "defualtErrnoRet": 1, "x-vendor": true,
    "archMap": [{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": null, "note": 1}],
    "syscalls": [{"nmaes": ["x"], "names": ["getpid"], "action": "SCMP_ACT_ALLOW",
      "includes": {"cap": ["CAP_SYS_ADMIN"]},
      "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ", "valu2": 3}]}]})");
  EXPECT_TRUE(has_warning(loaded, "defualtErrnoRet", "did you mean \"defaultErrnoRet\"")) << warnings_of(loaded);
  EXPECT_TRUE(has_warning(loaded, "x-vendor", "unknown key"));
  EXPECT_TRUE(has_warning(loaded, "archMap[0].note", "unknown key"));
  EXPECT_TRUE(has_warning(loaded, "syscalls[0].nmaes", "did you mean \"names\""));
  EXPECT_TRUE(has_warning(loaded, "syscalls[0].includes.cap", "did you mean \"caps\""));
  EXPECT_TRUE(has_warning(loaded, "syscalls[0].args[0].valu2", "unknown key"));
  EXPECT_EQ(loaded.warnings.size(), 6u) << warnings_of(loaded);
  // "includes" with a misspelt key has no condition left: the entry applies.
  EXPECT_EQ(rules_naming(loaded.policy, "getpid").size(), 1u);
}

TEST(OciRead, IgnoredFieldsAreWarned) {
  auto loaded = parse(R"({"defaultAction": "SCMP_ACT_ALLOW", "defaultErrnoRet": 5,
    "listenerPath": "agent.sock", "listenerMetadata": "x",
    "syscalls": [{"names": ["getpid"], "action": "SCMP_ACT_LOG", "errnoRet": 1},
                 {"names": ["gettid"], "action": "SCMP_ACT_ERRNO", "args": [
                    {"index": 0, "value": 1, "valueTwo": 2, "op": "SCMP_CMP_EQ"}]},
                 {"names": ["uname", "uname"], "action": "SCMP_ACT_ERRNO"}]})");
  EXPECT_EQ(loaded.policy.default_action, Action::allow());
  EXPECT_EQ(loaded.policy.rules[0].action, Action::log()) << "errnoRet on a non-errno action is dropped";
  EXPECT_TRUE(has_warning(loaded, "defaultErrnoRet", "only SCMP_ACT_ERRNO and SCMP_ACT_TRACE")) << warnings_of(loaded);
  EXPECT_TRUE(has_warning(loaded, "syscalls[0].errnoRet", "ignored"));
  EXPECT_TRUE(has_warning(loaded, "listenerPath", "not supported"));
  EXPECT_TRUE(has_warning(loaded, "listenerMetadata", "not supported"));
  EXPECT_TRUE(has_warning(loaded, "syscalls[1].args[0].valueTwo", "only SCMP_CMP_MASKED_EQ"));
  EXPECT_TRUE(has_warning(loaded, "syscalls[2].names[1]", "listed twice"));
  EXPECT_EQ(loaded.policy.rules[2].names, std::vector<std::string>{"uname"});
}

TEST(OciRead, UnknownSyscallInAnAllowEntryIsLeftOutWithAHint) {
  auto loaded = parse(R"({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
    {"names": ["read", "opne", "getpid"], "action": "SCMP_ACT_ALLOW"},
    {"names": ["not_a_syscall_at_all"], "action": "SCMP_ACT_ALLOW"}]})");
  ASSERT_EQ(loaded.policy.rules.size(), 1u) << "an entry left with no names is dropped";
  EXPECT_EQ(loaded.policy.rules[0].names, (std::vector<std::string>{"read", "getpid"}));
  // One warning for both names, each with its path.
  EXPECT_TRUE(has_warning(loaded, "syscalls", "2 syscall name(s) unknown to this libseccomp")) << warnings_of(loaded);
  EXPECT_TRUE(has_warning(loaded, "syscalls", "\"opne\" (syscalls[0].names[1]; did you mean open"))
      << warnings_of(loaded);
  EXPECT_TRUE(has_warning(loaded, "syscalls", "\"not_a_syscall_at_all\" (syscalls[1].names[0])"))
      << warnings_of(loaded);
  EXPECT_EQ(loaded.warnings.size(), 1u) << warnings_of(loaded);
}

TEST(OciRead, NamesOfOtherArchitecturesAreLeftOutOfAllowEntriesWithOneWarning) {
  auto loaded = parse(R"({"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86_64"],
    "syscalls": [{"names": ["read", "arm_fadvise64_64", "chown32"], "action": "SCMP_ACT_ALLOW"}]})");
  ASSERT_EQ(loaded.policy.rules.size(), 1u);
  EXPECT_EQ(loaded.policy.rules[0].names, (std::vector<std::string>{"read"}));
  ASSERT_EQ(loaded.warnings.size(), 1u) << warnings_of(loaded);
  EXPECT_TRUE(has_warning(
      loaded, "syscalls",
      "2 syscall name(s) not on x86_64 (the profile's architectures, so they cannot be called there) left out: "
      "\"arm_fadvise64_64\" (syscalls[0].names[1]), \"chown32\" (syscalls[0].names[2])"))
      << warnings_of(loaded);
  EXPECT_NO_THROW(sandbox::compile(loaded.policy));
}

TEST(OciRead, SameSyscallSameConditionsDifferentActionsIsAnError) {
  auto message = error_of(R"({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
    {"names": ["read", "write"], "action": "SCMP_ACT_ERRNO"},
    {"names": ["write"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13}]})");
  EXPECT_NE(message.find("app.json: syscalls[1].names[0]: \"write\" is also in syscalls[0]"), std::string::npos)
      << message;
  // Allow and log: the stricter (log) is kept, with a warning.
  auto loaded = parse(R"({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
    {"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"},
    {"names": ["write"], "action": "SCMP_ACT_LOG"}]})");
  EXPECT_EQ(loaded.policy.rules[0].names, std::vector<std::string>{"read"});
  EXPECT_TRUE(
      has_warning(loaded, "syscalls", "\"write\" (syscalls[0].names[1] allow, syscalls[1].names[0] log: log kept)"))
      << warnings_of(loaded);
  // Different conditions, or the same action, are fine.
  EXPECT_NO_THROW(parse(R"({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
    {"names": ["write"], "action": "SCMP_ACT_ALLOW"},
    {"names": ["write"], "action": "SCMP_ACT_ALLOW"},
    {"names": ["write"], "action": "SCMP_ACT_LOG", "args": [{"index": 0, "value": 2, "op": "SCMP_CMP_EQ"}]}]})"));
}

TEST(OciRead, InvalidJsonNamesLineAndColumn) {
  auto message = error_of("{\n  \"defaultAction\": \"SCMP_ACT_ERRNO\",\n  \"syscalls\": [}\n");
  EXPECT_NE(message.find("app.json: line 3, column 16: invalid JSON"), std::string::npos) << message;
  message = error_of("");
  EXPECT_NE(message.find("app.json: line 1, column 1: invalid JSON"), std::string::npos) << message;
  message = error_of(
      R"({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 1e500, "op": "SCMP_CMP_EQ"}]}]})");
  EXPECT_NE(message.find("app.json: "), std::string::npos) << message;
}

TEST(OciRead, MissingFileIsNotFound) {
  try {
    profile::load_profile(test::source_dir() / "no-such-profile.json");
    FAIL() << "loaded a file that does not exist";
  } catch (const core::Error& e) {
    EXPECT_EQ(e.kind(), core::ErrorKind::not_found) << e.what();
  }
}

// ---------------------------------------------------------------------------------------------
// Malformed profiles: each one's message names the file, the JSON path and the problem.

struct Malformed {
  const char* what;
  std::string json;
  std::string expected; // a substring of the message
};

std::string with_entry(const std::string& entry) {
  return R"({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW"}, )" +
         entry + "]}";
}

std::string with_arg(const std::string& arg) {
  return with_entry(
      R"({"names": ["write"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}, )" +
      arg + "]}");
}

class MalformedProfile : public ::testing::TestWithParam<Malformed> {};

TEST_P(MalformedProfile, FailsWithPathAndProblem) {
  const auto& c = GetParam();
  std::string message = error_of(c.json);
  EXPECT_TRUE(message.starts_with("app.json: ")) << message;
  EXPECT_NE(message.find(c.expected), std::string::npos) << "expected: " << c.expected << "\n     got: " << message;
}

const Malformed malformed_cases[] = {
    {"not_json", "{\"defaultAction\": ", "line 1, column 19: invalid JSON"},
    {"not_an_object", "[1, 2]", "app.json: (top level): a profile is a JSON object"},
    {"missing_default_action", R"({"syscalls": []})", "app.json: defaultAction: missing"},
    {"default_action_not_string", R"({"defaultAction": 1})", "defaultAction: must be a string, not 1"},
    {"unknown_default_action", R"({"defaultAction": "SCMP_ACT_DENY"})",
     "defaultAction: unknown action \"SCMP_ACT_DENY\" (expected one of SCMP_ACT_KILL_PROCESS"},
    {"unknown_action", with_entry(R"({"names": ["write"], "action": "ALLOW"})"),
     "app.json: syscalls[1].action: unknown action \"ALLOW\""},
    {"missing_action", with_entry(R"({"names": ["write"]})"), "syscalls[1].action: missing"},
    {"missing_names", with_entry(R"({"action": "SCMP_ACT_ALLOW"})"), "syscalls[1].names: missing"},
    {"empty_names", with_entry(R"({"names": [], "action": "SCMP_ACT_ALLOW"})"), "syscalls[1].names: empty"},
    {"name_and_names", with_entry(R"({"name": "write", "names": ["write"], "action": "SCMP_ACT_ALLOW"})"),
     "syscalls[1]: both name and names are given"},
    {"names_not_array", with_entry(R"({"names": "write", "action": "SCMP_ACT_ALLOW"})"),
     "syscalls[1].names: must be an array of syscall names, not a string (\"write\")"},
    {"name_not_string", with_entry(R"({"names": ["write", 5], "action": "SCMP_ACT_ALLOW"})"),
     "syscalls[1].names[1]: must be a string, not 5"},
    {"empty_name", with_entry(R"({"names": [""], "action": "SCMP_ACT_ALLOW"})"),
     "syscalls[1].names[0]: empty syscall name"},
    {"unknown_op", with_arg(R"({"index": 1, "value": 2, "op": "SCMP_CMP_FOO"})"),
     "app.json: syscalls[1].args[1].op: unknown operator \"SCMP_CMP_FOO\" (expected one of SCMP_CMP_NE, "
     "SCMP_CMP_LT, SCMP_CMP_LE, SCMP_CMP_EQ, SCMP_CMP_GE, SCMP_CMP_GT, SCMP_CMP_MASKED_EQ)"},
    {"missing_op", with_arg(R"({"index": 1, "value": 2})"), "syscalls[1].args[1].op: missing"},
    {"missing_value", with_arg(R"({"index": 1, "op": "SCMP_CMP_EQ"})"), "syscalls[1].args[1].value: missing"},
    {"index_too_large", with_arg(R"({"index": 6, "value": 2, "op": "SCMP_CMP_EQ"})"),
     "syscalls[1].args[1].index: must be an integer from 0 to 5 (a syscall has six arguments), not 6"},
    {"negative_index", with_arg(R"({"index": -1, "value": 2, "op": "SCMP_CMP_EQ"})"),
     "syscalls[1].args[1].index: must be an integer from 0 to 5 (a syscall has six arguments), not -1"},
    {"negative_value", with_arg(R"({"index": 1, "value": -2, "op": "SCMP_CMP_EQ"})"),
     "syscalls[1].args[1].value: must be an integer from 0 to 18446744073709551615, not -2"},
    {"fractional_value", with_arg(R"({"index": 1, "value": 2.5, "op": "SCMP_CMP_EQ"})"),
     "syscalls[1].args[1].value: must be an integer from 0 to 18446744073709551615, not 2.5"},
    {"value_as_string", with_arg(R"({"index": 1, "value": "0x10", "op": "SCMP_CMP_EQ"})"),
     "syscalls[1].args[1].value: must be an integer from 0 to 18446744073709551615, not a string (\"0x10\")"},
    {"value_too_large", with_arg(R"({"index": 1, "value": 18446744073709551616, "op": "SCMP_CMP_EQ"})"),
     "syscalls[1].args[1].value: must be an integer from 0 to 18446744073709551615"},
    {"arg_not_object", with_arg("[0, 1]"), "syscalls[1].args[1]: must be an object"},
    {"args_not_array", with_entry(R"({"names": ["write"], "action": "SCMP_ACT_ALLOW", "args": {}})"),
     "syscalls[1].args: must be an array"},
    {"errno_ret_negative", with_entry(R"({"names": ["write"], "action": "SCMP_ACT_ERRNO", "errnoRet": -1})"),
     "syscalls[1].errnoRet: must be an integer from 0 to 65535"},
    {"errno_ret_too_large", R"({"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 70000})",
     "defaultErrnoRet: must be an integer from 0 to 65535 (the kernel keeps 16 bits of SECCOMP_RET_DATA), not 70000"},
    {"errno_ret_string", with_entry(R"({"names": ["write"], "action": "SCMP_ACT_ERRNO", "errnoRet": "EPERM"})"),
     "syscalls[1].errnoRet: must be an integer from 0 to 65535"},
    {"unknown_architecture", R"({"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86_46"]})",
     "app.json: architectures[0]: unknown architecture \"SCMP_ARCH_X86_46\" (expected one of SCMP_ARCH_X86_64"},
    {"unsupported_architecture", R"({"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_M68K"]})",
     "architectures[0]: architecture \"SCMP_ARCH_M68K\" is not supported"},
    {"architectures_not_array", R"({"defaultAction": "SCMP_ACT_ERRNO", "architectures": "SCMP_ARCH_X86_64"})",
     "architectures: must be an array"},
    {"unknown_arch_in_arch_map",
     R"({"defaultAction": "SCMP_ACT_ERRNO", "archMap": [{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_I386"]}]})",
     "archMap[0].subArchitectures[0]: unknown architecture \"SCMP_ARCH_I386\""},
    {"arch_map_without_architecture", R"({"defaultAction": "SCMP_ACT_ERRNO", "archMap": [{"subArchitectures": []}]})",
     "archMap[0].architecture: missing"},
    {"architectures_and_arch_map",
     R"({"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86_64"], "archMap": [{"architecture": "SCMP_ARCH_X86_64"}]})",
     "archMap: both architectures and archMap are given"},
    {"unknown_flag",
     R"({"defaultAction": "SCMP_ACT_ERRNO", "flags": ["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_NEW_LISTENER"]})",
     "app.json: flags[1]: unknown flag \"SECCOMP_FILTER_FLAG_NEW_LISTENER\" (expected one of "
     "SECCOMP_FILTER_FLAG_TSYNC"},
    {"syscalls_not_array", R"({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": {"names": ["read"]}})",
     "syscalls: must be an array of entries, not an object"},
    {"entry_null", with_entry("null"), "syscalls[1]: must be an object {names, action, ...}, not null"},
    {"comment_not_string", with_entry(R"({"names": ["write"], "action": "SCMP_ACT_ALLOW", "comment": 3})"),
     "syscalls[1].comment: must be a string, not 3"},
    {"caps_not_strings",
     with_entry(R"({"names": ["write"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": [true]}})"),
     "syscalls[1].includes.caps[0]: must be a string, not true"},
    {"bad_min_kernel",
     with_entry(R"({"names": ["write"], "action": "SCMP_ACT_ALLOW", "excludes": {"minKernel": "v5"}})"),
     "syscalls[1].excludes.minKernel: must be a kernel version such as \"4.8\""},
    {"includes_not_object",
     with_entry(R"({"names": ["write"], "action": "SCMP_ACT_ALLOW", "includes": ["CAP_SYS_ADMIN"]})"),
     "syscalls[1].includes: must be an object"},
    {"duplicate_key", R"({"defaultAction": "SCMP_ACT_ALLOW", "defaultAction": "SCMP_ACT_ERRNO"})",
     "app.json: defaultAction: the key is given twice"},
    {"nested_too_deep",
     R"({"defaultAction": "SCMP_ACT_ERRNO", "x": )" + std::string(65, '[') + std::string(65, ']') + "}",
     "app.json: arrays and objects nested deeper than 64 levels"},
    {"duplicate_key_deep_inside",
     R"({"defaultAction": "SCMP_ACT_ERRNO", "x": [{"a": 1}, {"b": [[{"c": 1, "c": 2}]]}]})",
     "app.json: x[1].b[0][0].c: the key is given twice"},
    {"widening_unknown_top_level_key",
     R"({"defaultAction": "SCMP_ACT_ALLOW", "syscallz": [{"names": ["ptrace"], "action": "SCMP_ACT_ERRNO"}]})",
     "app.json: syscallz: unknown key (did you mean \"syscalls\"?); the default action SCMP_ACT_ALLOW lets every "
     "syscall run"},
    {"conflicting_errnos",
     R"({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ERRNO"}, {"names": ["read"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13}]})",
     "syscalls[1].names[0]: \"read\" is also in syscalls[0] with the same conditions but action errno(EPERM)"},
};

INSTANTIATE_TEST_SUITE_P(OciRead, MalformedProfile, ::testing::ValuesIn(malformed_cases),
                         [](const auto& test_case) { return std::string(test_case.param.what); });

TEST(OciRead, MalformedEntriesAreRejectedEvenWhenDockerConditionsDropThem) {
  auto message =
      error_of(with_entry(R"({"names": ["write"], "action": "SCMP_ACT_ALOW", "includes": {"arches": ["s390x"]}})"));
  EXPECT_NE(message.find("syscalls[1].action: unknown action"), std::string::npos) << message;
}

// ---------------------------------------------------------------------------------------------

TEST(KernelAtLeast, ComparesDottedNumbersIgnoringSuffixes) {
  EXPECT_TRUE(profile::kernel_at_least("6.1.0-13-amd64", "5.8"));
  EXPECT_TRUE(profile::kernel_at_least("6.1.0-13-amd64", "6.1"));
  EXPECT_TRUE(profile::kernel_at_least("6.1", "6.1.0"));
  EXPECT_TRUE(profile::kernel_at_least("4.10", "4.8")) << "numeric, not text, comparison";
  EXPECT_TRUE(profile::kernel_at_least("5.15.0-91-generic", "5.15"));
  EXPECT_TRUE(profile::kernel_at_least("6.6.1+rpt-rpi-v8", "6.6"));
  EXPECT_FALSE(profile::kernel_at_least("4.8", "4.10"));
  EXPECT_FALSE(profile::kernel_at_least("4.4.0-210-generic", "4.8"));
  EXPECT_FALSE(profile::kernel_at_least("5.7.19", "5.8"));
  EXPECT_FALSE(profile::kernel_at_least("6.1.0", "6.1.1"));
  EXPECT_FALSE(profile::kernel_at_least("", "3.0"));
  EXPECT_TRUE(profile::kernel_at_least("3.0", ""));
}

// ---------------------------------------------------------------------------------------------
// The sample profiles

TEST(SampleProfiles, LoadWithoutWarningsAndCompile) {
  std::size_t seen = 0;
  for (const auto& entry : std::filesystem::directory_iterator(test::source_dir() / "samples" / "profiles")) {
    if (entry.path().extension() != ".json") continue;
    ++seen;
    SCOPED_TRACE(entry.path().filename().string());
    auto loaded = profile::load_profile(entry.path(), machine("x86_64"));
    EXPECT_TRUE(loaded.warnings.empty()) << warnings_of(loaded);
    EXPECT_NO_THROW(sandbox::compile(loaded.policy));
  }
  EXPECT_GE(seen, 2u);
}

TEST(SampleProfiles, ProbeBasicAllowsGetpidAndDeniesWithEperm) {
  auto policy =
      profile::load_profile(test::source_dir() / "samples/profiles/probe-basic.json", machine("x86_64")).policy;
  EXPECT_EQ(policy.default_action, Action::errno_ret(1));
  EXPECT_TRUE(policy.has_flag(core::FilterFlag::log));
  for (auto name : {"getpid", "execve", "exit_group", "rt_sigreturn", "restart_syscall", "write", "brk", "mmap"})
    EXPECT_TRUE(allows_unconditionally(policy, name)) << name;
  for (auto name : {"socket", "ptrace", "mount", "fork", "clone"})
    EXPECT_TRUE(rules_naming(policy, name).empty()) << name;
}

TEST(SampleProfiles, UnixSocketOnlyRestrictsTheDomain) {
  auto policy =
      profile::load_profile(test::source_dir() / "samples/profiles/unix-socket-only.json", machine("x86_64")).policy;
  auto socket = rules_naming(policy, "socket");
  ASSERT_EQ(socket.size(), 1u);
  EXPECT_EQ(socket[0]->action, Action::allow());
  EXPECT_EQ(socket[0]->args, (std::vector<ArgCondition>{{0, CmpOp::eq, 1, 0}})); // AF_UNIX
  EXPECT_TRUE(allows_unconditionally(policy, "getpid"));
}

TEST(SampleProfiles, DenyDangerousUsesArchMapSoCompatAbisAreCovered) {
  auto path = test::source_dir() / "samples/profiles/deny-dangerous.json";
  auto policy = profile::load_profile(path, machine("x86_64")).policy;
  EXPECT_EQ(policy.default_action, Action::allow());
  EXPECT_EQ(policy.architectures, (std::vector{arch("x86_64"), arch("x86"), arch("x32")}));
  auto ptrace = rules_naming(policy, "ptrace");
  ASSERT_EQ(ptrace.size(), 1u);
  EXPECT_EQ(ptrace[0]->action, Action::errno_ret(1));
  EXPECT_NO_THROW(profile::load_profile(path, machine("aarch64")));
}

} // namespace
} // namespace nucleus
