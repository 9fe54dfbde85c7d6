// Profiles the ecosystem ships (podman's and CRI-O's default, Kubernetes' and the Security Profiles
// Operator's examples, Docker's defaults), read as they are: names that cannot be placed are left
// out with one warning per kind, every other problem is reported in one go, and Kubernetes
// SeccompProfile objects are read back (export --format k8s -> import is the identity).
#include "test_support.hpp"

#include "nucleus/profile/export.hpp"
#include "nucleus/profile/import.hpp"
#include "nucleus/profile/oci.hpp"
#include "nucleus/core/error.hpp"
#include "nucleus/sandbox/filter.hpp"
#include "nucleus/core/io.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>

namespace nucleus {
namespace {

using core::Action;
using profile::ResolveContext;

std::filesystem::path ecosystem(const std::string& name) {
  return test::source_dir() / "tests/profilegen/data/ecosystem" / name;
}

ResolveContext x86_64_machine() {
  ResolveContext context;
  context.arch = core::arch_from_name("x86_64");
  context.kernel_release = "6.1.0";
  return context;
}

std::string warnings_of(const profile::LoadedProfile& loaded) {
  std::string out;
  for (const auto& w : loaded.warnings) out += w.path + ": " + w.message + "\n";
  return out;
}

std::string error_of(const std::string& text) {
  try {
    profile::parse_profile(text, "app.json", x86_64_machine());
  } catch (const core::Error& e) {
    EXPECT_EQ(e.kind(), core::ErrorKind::invalid_input) << e.what();
    return e.what();
  }
  return "<loaded without error>";
}

const core::Rule* unconditional_rule(const core::Policy& policy, std::string_view name) {
  for (const auto& rule : policy.rules)
    if (rule.args.empty() && std::find(rule.names.begin(), rule.names.end(), name) != rule.names.end()) return &rule;
  return nullptr;
}

// Real files, one of each shape: allow-list with archMap, arguments and includes/excludes
// (podman's default and containers/common's fixture), deny-list (the operator's deny-chmod),
// allow-list with architectures (Kubernetes' fine-grained), default only (violation), and
// Docker's old single-`name` format (shared test data).
TEST(EcosystemProfiles, EveryOneLoadsAndCompiles) {
  std::vector<std::filesystem::path> files = {ecosystem("podman-default.json"),
                                              ecosystem("containers-common-example.json"),
                                              ecosystem("spo-deny-chmod.json"),
                                              ecosystem("k8s-fine-grained.json"),
                                              ecosystem("k8s-violation.json"),
                                              test::shared_dir() / "testdata/docker-seccomp/default-old-format.json",
                                              test::shared_dir() / "testdata/docker-seccomp/default.json"};
  for (const auto& file : files) {
    SCOPED_TRACE(file.filename().string());
    auto loaded = profile::load_profile(file, x86_64_machine());
    EXPECT_NO_THROW(sandbox::compile(loaded.policy));
    EXPECT_FALSE(loaded.policy.rules.empty() && file.filename() != "k8s-violation.json");
  }
}

TEST(EcosystemProfiles, PodmanDefaultKeepsItsDenialsAndErrnos) {
  auto loaded = profile::load_profile(ecosystem("podman-default.json"), x86_64_machine());
  const auto& policy = loaded.policy;
  EXPECT_EQ(policy.default_action, Action::errno_ret(ENOSYS));
  const auto* kexec = unconditional_rule(policy, "kexec_load");
  ASSERT_NE(kexec, nullptr);
  EXPECT_EQ(kexec->action, Action::errno_ret(EPERM));
  // pciconfig_iobase is denied by the profile but exists on none of x86_64, x86, x32: left out,
  // and said so in one line, with the note that the entry denied it.
  EXPECT_EQ(unconditional_rule(policy, "pciconfig_iobase"), nullptr);
  bool said = false;
  for (const auto& w : loaded.warnings)
    said |= w.path == "syscalls" && w.message.find("not on x86_64, x86, x32") != std::string::npos &&
            w.message.find("\"pciconfig_iobase\" (syscalls[0].names[13], denied)") != std::string::npos;
  EXPECT_TRUE(said) << warnings_of(loaded);
  // setns is in the main allow list and in the entry denying it without CAP_SYS_ADMIN: the
  // stricter action is kept, and said.
  const auto* setns = unconditional_rule(policy, "setns");
  ASSERT_NE(setns, nullptr);
  EXPECT_EQ(setns->action, Action::errno_ret(EPERM));
  EXPECT_NE(warnings_of(loaded).find(
                "\"setns\" (syscalls[1].names[289] allow, syscalls[15].names[7] errno(EPERM): errno(EPERM) kept)"),
            std::string::npos)
      << warnings_of(loaded);
  // socket(AF_NETLINK, *, NETLINK_AUDIT) gets EINVAL without CAP_AUDIT_WRITE.
  bool audit_socket = false;
  for (const auto& rule : policy.rules)
    audit_socket |= rule.names == std::vector<std::string>{"socket"} && rule.action == Action::errno_ret(EINVAL) &&
                    rule.args.size() == 2;
  EXPECT_TRUE(audit_socket);
}

TEST(LeftOutNames, DenyEntriesWarnInsteadOfFailingAndNameTheDefault) {
  auto loaded = profile::parse_profile(R"({"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"],
    "syscalls": [{"names": ["ptrace", "sysctl", "posix_fadvise", "pciconfig_iobase", "stime"], "action": "SCMP_ACT_ERRNO"}]})",
                                       "app.json", x86_64_machine());
  ASSERT_EQ(loaded.policy.rules.size(), 1u);
  EXPECT_EQ(loaded.policy.rules[0].names, std::vector<std::string>{"ptrace"});
  ASSERT_EQ(loaded.warnings.size(), 2u) << warnings_of(loaded);
  const auto& unknown = loaded.warnings[0].message;
  EXPECT_NE(unknown.find("2 syscall name(s) unknown to this libseccomp"), std::string::npos) << unknown;
  EXPECT_NE(unknown.find("\"sysctl\" (syscalls[0].names[1], denied"), std::string::npos) << unknown;
  EXPECT_NE(unknown.find("\"posix_fadvise\" (syscalls[0].names[2], denied"), std::string::npos) << unknown;
  EXPECT_NE(unknown.find("get the default action allow"), std::string::npos) << unknown;
  const auto& elsewhere = loaded.warnings[1].message;
  EXPECT_NE(elsewhere.find("2 syscall name(s) not on x86_64"), std::string::npos) << elsewhere;
  EXPECT_NE(elsewhere.find("\"pciconfig_iobase\""), std::string::npos) << elsewhere;
  EXPECT_NE(elsewhere.find("\"stime\""), std::string::npos) << elsewhere;
}

TEST(AllProblemsAtOnce, ErrorsThenWarningsEachWithItsPath) {
  auto message = error_of(R"({"defaultAction": "SCMP_ACT_ERRNO", "x-note": 1,
    "flags": ["SECCOMP_FILTER_FLAG_NOPE"],
    "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALOW"},
                 {"names": ["write"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 9, "value": 1, "op": "SCMP_CMP_EQ"},
                                                                           {"index": 0, "value": 1, "op": "SCMP_CMP_EQQ"}]},
                 {"action": "SCMP_ACT_ALLOW"},
                 {"names": ["getpid"], "action": "SCMP_ACT_ALLOW"}]})");
  std::vector<std::string> in_order = {"app.json: flags[0]: unknown flag",
                                       "\napp.json: syscalls[0].action: unknown action \"SCMP_ACT_ALOW\"",
                                       "\napp.json: syscalls[1].args[0].index: must be an integer from 0 to 5",
                                       "\napp.json: syscalls[1].args[1].op: unknown operator",
                                       "\napp.json: syscalls[2].names: missing",
                                       "\napp.json: x-note: warning: unknown key, ignored"};
  std::size_t at = 0;
  for (const auto& part : in_order) {
    auto found = message.find(part, at);
    ASSERT_NE(found, std::string::npos) << "missing or out of order: " << part << "\nin:\n" << message;
    at = found + part.size();
  }
}

TEST(DuplicateKeys, AreErrorsWithTheirNestedPath) {
  auto message = error_of(R"({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
    {"names": ["read"], "action": "SCMP_ACT_ALLOW"},
    {"names": ["write"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ", "op": "SCMP_CMP_NE"}]},
    {"names": ["getpid"], "action": "SCMP_ACT_ERRNO", "action": "SCMP_ACT_ALLOW"}]})");
  EXPECT_NE(message.find("app.json: syscalls[1].args[0].op: the key is given twice"), std::string::npos) << message;
  EXPECT_NE(message.find("app.json: syscalls[2].action: the key is given twice"), std::string::npos) << message;
}

TEST(UnknownTopLevelKeys, AreErrorsOnlyWhereIgnoringThemWouldAllowMore) {
  EXPECT_NE(error_of(R"({"defaultAction": "SCMP_ACT_LOG", "syscals": []})").find("syscals: unknown key"),
            std::string::npos);
  // Under a default that denies, losing the key's rules denies more: a warning, as podman's own
  // "defaultErrno" key shows.
  auto loaded =
      profile::parse_profile(R"({"defaultAction": "SCMP_ACT_ERRNO", "syscallz": []})", "app.json", x86_64_machine());
  ASSERT_EQ(loaded.warnings.size(), 1u);
  EXPECT_EQ(loaded.warnings[0].path, "syscallz");
  EXPECT_NE(loaded.warnings[0].message.find("did you mean \"syscalls\""), std::string::npos)
      << loaded.warnings[0].message;
}

// ---- Kubernetes SeccompProfile import ----

core::Policy import_one(const std::string& yaml, const std::string& name = {}) {
  auto profiles = profile::read_k8s_profiles(yaml, "cluster.yaml");
  for (const auto& p : profiles)
    if (name.empty() || p.name == name) return profile::parse_profile(p.oci_json, p.source, x86_64_machine()).policy;
  throw std::runtime_error("test bug: no profile " + name);
}

TEST(K8sImport, ExportThenImportIsTheIdentity) {
  std::vector<core::Policy> policies = {
      profile::load_profile(test::shared_dir() / "testdata/docker-seccomp/default.json", x86_64_machine()).policy,
      profile::load_profile(ecosystem("k8s-fine-grained.json"), x86_64_machine()).policy,
      profile::load_profile(ecosystem("spo-deny-chmod.json"), x86_64_machine()).policy,
      profile::parse_profile(R"({"defaultAction": "SCMP_ACT_KILL_PROCESS", "architectures": ["SCMP_ARCH_X86_64"],
        "flags": ["SECCOMP_FILTER_FLAG_LOG"], "syscalls": [
        {"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"},
        {"names": ["socket"], "action": "SCMP_ACT_ERRNO", "errnoRet": 97,
         "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_NE"}, {"index": 1, "value": 4095, "valueTwo": 1, "op": "SCMP_CMP_MASKED_EQ"}]},
        {"names": ["getpid"], "action": "SCMP_ACT_LOG"}, {"names": ["kill"], "action": "SCMP_ACT_TRAP"}]})",
                             "synthetic.json", x86_64_machine())
          .policy};
  for (const auto& policy : policies) {
    profile::ExportOptions options;
    options.name = "app";
    auto yaml = profile::export_profile(policy, profile::ExportFormat::k8s, options).text;
    auto back = import_one(yaml);
    EXPECT_EQ(back, policy) << yaml;
    EXPECT_EQ(profile::to_oci_json(back), profile::to_oci_json(policy));
  }
}

TEST(K8sImport, SeveralDocumentsAreReadInOrderByName) {
  auto profiles =
      profile::read_k8s_profiles(core::read_file(ecosystem("spo-seccompprofile-allowed-syscalls.yaml")), "spo.yaml");
  std::vector<std::string> names;
  for (const auto& p : profiles) names.push_back(p.name);
  EXPECT_EQ(names, (std::vector<std::string>{"profile-allowed-syscalls", "profile-denied-syscalls",
                                             "profile-allow-all-syscalls", "profile-block-all-syscalls"}));
  auto denied = profile::parse_profile(profiles[1].oci_json, profiles[1].source, x86_64_machine()).policy;
  EXPECT_EQ(denied.default_action, Action::errno_ret(EPERM));
  ASSERT_EQ(denied.rules.size(), 2u);
  EXPECT_EQ(denied.rules[1].names, (std::vector<std::string>{"acct", "add_key"}));
  EXPECT_EQ(denied.rules[1].action, Action::errno_ret(EPERM));
  auto single = profile::read_k8s_profiles(core::read_file(ecosystem("spo-baseprofile-runc.yaml")), "runc.yaml");
  ASSERT_EQ(single.size(), 1u);
  EXPECT_EQ(single[0].name, "runc-v1.0.0-rc92");
  EXPECT_NO_THROW(profile::parse_profile(single[0].oci_json, single[0].source, x86_64_machine()));
}

TEST(K8sImport, JsonAndOtherKindsAndQuotedNumbers) {
  auto profiles = profile::read_k8s_profiles(R"(apiVersion: v1
kind: Pod
metadata: {name: pod}
---
{"apiVersion": "security-profiles-operator.x-k8s.io/v1beta1", "kind": "SeccompProfile",
 "metadata": {"name": "j"}, "spec": {"defaultAction": "SCMP_ACT_ERRNO",
 "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ERRNO", "errnoRet": "38"}]}}
)",
                                             "mixed.yaml");
  ASSERT_EQ(profiles.size(), 1u);
  EXPECT_EQ(profiles[0].source, "mixed.yaml: document 2 (j)");
  // A quoted "38" stays a string, and the profile reader says so rather than guessing.
  try {
    profile::parse_profile(profiles[0].oci_json, profiles[0].source, x86_64_machine());
    ADD_FAILURE() << "a string errnoRet was accepted";
  } catch (const core::Error& e) {
    EXPECT_NE(std::string(e.what()).find("mixed.yaml: document 2 (j): syscalls[0].errnoRet: must be an integer"),
              std::string::npos)
        << e.what();
  }
}

std::string import_error(const std::string& yaml) {
  try {
    profile::read_k8s_profiles(yaml, "bad.yaml");
  } catch (const core::Error& e) {
    EXPECT_EQ(e.kind(), core::ErrorKind::invalid_input);
    return e.what();
  }
  return "<read without error>";
}

TEST(K8sImport, BadInputIsAClearError) {
  EXPECT_NE(import_error("spec: [unclosed\n").find("bad.yaml: line "), std::string::npos);
  EXPECT_NE(import_error("apiVersion: v1\nkind: Pod\n").find("no SeccompProfile object"), std::string::npos);
  EXPECT_NE(import_error("kind: SeccompProfile\napiVersion: example.com/v1\nmetadata: {name: a}\nspec: {}\n")
                .find("is not the Security Profiles Operator's"),
            std::string::npos);
  std::string header = "apiVersion: security-profiles-operator.x-k8s.io/v1beta1\nkind: SeccompProfile\n";
  EXPECT_NE(import_error(header + "spec: {defaultAction: SCMP_ACT_ERRNO}\n").find("metadata.name: missing"),
            std::string::npos);
  EXPECT_NE(
      import_error(header +
                   "metadata: {name: a}\nspec:\n  defaultAction: SCMP_ACT_ERRNO\n  baseProfileName: runc-v1.0.0\n")
          .find("spec.baseProfileName"),
      std::string::npos);
  EXPECT_NE(import_error(header +
                         "metadata: {name: a}\nspec: {defaultAction: SCMP_ACT_ERRNO, defaultAction: SCMP_ACT_ALLOW}\n")
                .find("duplicate key \"defaultAction\""),
            std::string::npos);
  // Aliases that expand to billions of values are refused, not expanded.
  std::string bomb = header + "metadata: {name: a}\nspec:\n  a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i < 9; ++i)
    bomb += "  a" + std::to_string(i) + ": &a" + std::to_string(i) + " [*a" + std::to_string(i - 1) + ", *a" +
            std::to_string(i - 1) + ", *a" + std::to_string(i - 1) + ", *a" + std::to_string(i - 1) + ", *a" +
            std::to_string(i - 1) + ", *a" + std::to_string(i - 1) + ", *a" + std::to_string(i - 1) + ", *a" +
            std::to_string(i - 1) + ", *a" + std::to_string(i - 1) + ", *a" + std::to_string(i - 1) + "]\n";
  EXPECT_NE(import_error(bomb).find("aliases expanded"), std::string::npos);
}

} // namespace
} // namespace nucleus
