// export: golden files for every format, and errors for what a format cannot express.
#include "nucleus/profile/export.hpp"

#include "nucleus/profile/generate.hpp"
#include "nucleus/profile/oci.hpp"
#include "nucleus/core/error.hpp"
#include "nucleus/core/syscalls.hpp"
#include "test_support.hpp"

#include <gtest/gtest.h>

#include <cstdlib>

using namespace nucleus;

namespace {

core::Arch native() { return core::native_arch(); }

core::Policy generated() {
  core::Trace t;
  for (const char* n : {"read", "write", "openat", "close", "mmap", "brk", "futex"})
    t.syscalls.push_back({native(), *core::syscall_number(native(), n), n, 1, "/usr/bin/app"});
  return profile::generate_profile({t});
}

std::string error_of(const core::Policy& p, profile::ExportFormat f, profile::ExportOptions o = {}) {
  try {
    profile::export_profile(p, f, o);
  } catch (const core::Error& e) {
    return e.what();
  }
  return {};
}

profile::ExportOptions opts() {
  profile::ExportOptions o;
  o.name = "app";
  o.source = "app.json";
  return o;
}

} // namespace

TEST(Export, GoldenForEveryFormatOnAGeneratedProfile) {
  if (core::arch_name(native()) != "x86_64") NUCLEUS_SKIP("golden files are for x86_64");
  auto p = generated();
  auto o = opts();
  test::expect_golden("export_generated_oci.json", profile::export_profile(p, profile::ExportFormat::oci, o).text);
  test::expect_golden("export_generated_docker.json",
                      profile::export_profile(p, profile::ExportFormat::docker, o).text);
  test::expect_golden("export_generated_k8s.yaml", profile::export_profile(p, profile::ExportFormat::k8s, o).text);
  test::expect_golden("export_generated_systemd.conf",
                      profile::export_profile(p, profile::ExportFormat::systemd, o).text);
  o.accept_kill_default = true;
  test::expect_golden("export_generated_minijail.policy",
                      profile::export_profile(p, profile::ExportFormat::minijail, o).text);
}

TEST(Export, GoldenOnDockersDefaultWhereExpressible) {
  if (core::arch_name(native()) != "x86_64") NUCLEUS_SKIP("golden files are for x86_64");
  auto p = profile::load_profile(test::shared_dir() / "testdata/docker-seccomp/default.json").policy;
  auto o = opts();
  o.name = "docker-default";
  o.source = "default.json";
  test::expect_golden("export_docker_oci.json", profile::export_profile(p, profile::ExportFormat::oci, o).text);
  test::expect_golden("export_docker_k8s.yaml", profile::export_profile(p, profile::ExportFormat::k8s, o).text);
  // Argument conditions (clone's flags, personality, socket's domain): systemd cannot say them.
  auto msg = error_of(p, profile::ExportFormat::systemd, o);
  EXPECT_NE(msg.find("systemd cannot express argument conditions"), std::string::npos) << msg;
  // Three ABIs in one minijail file cannot be written.
  msg = error_of(p, profile::ExportFormat::minijail, o);
  EXPECT_NE(msg.find("several architectures"), std::string::npos) << msg;
}

TEST(Export, OciRoundTrips) {
  auto p = generated();
  auto back = profile::parse_profile(profile::export_profile(p, profile::ExportFormat::oci).text, "export").policy;
  EXPECT_EQ(back, p);
}

TEST(Export, WhatATargetCannotSayIsAnErrorNamingIt) {
  auto p = generated();
  auto with_cond = p;
  with_cond.rules.push_back({{"socket"}, core::Action::allow(), {{0, core::CmpOp::eq, 1, 0}}, ""});
  EXPECT_NE(error_of(with_cond, profile::ExportFormat::systemd).find("socket"), std::string::npos);

  auto trap = p;
  trap.default_action = {core::ActionKind::trap, 0};
  EXPECT_NE(error_of(trap, profile::ExportFormat::systemd).find("trap"), std::string::npos);

  auto enosys = p;
  enosys.rules.push_back({{"clone3"}, core::Action::errno_ret(38), {}, ""});
  EXPECT_NE(error_of(enosys, profile::ExportFormat::systemd).find("clone3"), std::string::npos);

  auto errno13 = p;
  errno13.default_action = core::Action::errno_ret(13);
  EXPECT_NE(error_of(errno13, profile::ExportFormat::k8s).find("defaultErrnoRet 13"), std::string::npos);

  // minijail: the default action needs consent; a masked condition that never holds is named.
  EXPECT_NE(error_of(p, profile::ExportFormat::minijail).find("default action errno(EPERM)"), std::string::npos);
  auto masked = p;
  masked.default_action = core::Action::kill_process();
  masked.rules.push_back({{"clone"}, core::Action::allow(), {{0, core::CmpOp::masked_eq, 0x7e020000, 0x1}}, ""});
  EXPECT_NE(error_of(masked, profile::ExportFormat::minijail).find("(arg0 & 0x7e020000) == 0x1"), std::string::npos);

  auto spec = p;
  spec.flags.push_back(core::FilterFlag::spec_allow);
  EXPECT_NE(error_of(spec, profile::ExportFormat::systemd).find("SECCOMP_FILTER_FLAG_SPEC_ALLOW"), std::string::npos);
}

TEST(Export, MinijailConditionsAndErrno) {
  core::Policy p;
  p.default_action = core::Action::kill_process();
  p.architectures = {native()};
  p.rules.push_back({{"read"}, core::Action::allow(), {}, ""});
  p.rules.push_back({{"ioctl"}, core::Action::allow(), {{1, core::CmpOp::eq, 0x5401, 0}}, ""});
  p.rules.push_back({{"ioctl"}, core::Action::errno_ret(25), {}, ""});
  p.rules.push_back({{"mmap"}, core::Action::allow(), {{2, core::CmpOp::masked_eq, 0x4, 0x4}}, ""});
  auto text = profile::export_profile(p, profile::ExportFormat::minijail).text;
  EXPECT_NE(text.find("read: 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("ioctl: arg1 == 0x5401; return 25\n"), std::string::npos) << text;
  EXPECT_NE(text.find("mmap: arg2 & 0x4\n"), std::string::npos) << text;
}

// What gen writes from traced argument values reaches each target that can say it.
TEST(Export, GeneratedArgumentConditions) {
  core::Trace t;
  t.header.arguments = true;
  auto add = [&](const char* name, std::vector<core::TraceArgValues> args) {
    t.syscalls.push_back({native(), *core::syscall_number(native(), name), name, 1, "/app", std::move(args)});
  };
  add("read", {});
  add("socket", {{0, {1, 10}}, {1, {1}}}); // AF_UNIX, AF_INET6; SOCK_STREAM
  add("clone", {{0, {0x3d0f00}}});         // thread flags
  add("ioctl", {{1, {0x5401}}});           // TCGETS
  profile::GenerateOptions kill;
  kill.default_action = core::Action::kill_process();
  auto p = profile::generate_profile({t}, kill);

  auto k8s = profile::export_profile(p, profile::ExportFormat::k8s).text;
  EXPECT_NE(k8s.find("op: SCMP_CMP_MASKED_EQ"), std::string::npos) << k8s;
  auto oci = profile::parse_profile(profile::export_profile(p, profile::ExportFormat::docker).text, "docker").policy;
  EXPECT_EQ(oci, p);

  auto mj = profile::export_profile(p, profile::ExportFormat::minijail).text;
  // socket's type without SOCK_NONBLOCK (0x800) and SOCK_CLOEXEC (0x80000): only those bits beside SOCK_STREAM.
  EXPECT_NE(
      mj.find("socket: arg0 == 0x1 && arg1 in 0x80801 && arg1 & 0x1 || arg0 == 0xa && arg1 in 0x80801 && arg1 & 0x1\n"),
      std::string::npos)
      << mj;
  EXPECT_NE(
      mj.find("ioctl: arg1 in 0xffffffff00005401 && arg1 & 0x1 && arg1 & 0x400 && arg1 & 0x1000 && arg1 & 0x4000\n"),
      std::string::npos)
      << mj;
  EXPECT_NE(mj.find("clone: arg0 in 0xffffffff817d7fff\n"), std::string::npos) << mj;
  EXPECT_NE(mj.find("clone3: return 38\n"), std::string::npos) << mj;

  // systemd cannot: refused with the reason, unless the widening is accepted, and then said.
  profile::ExportOptions o;
  auto msg = error_of(p, profile::ExportFormat::systemd, o);
  EXPECT_NE(msg.find("systemd cannot express argument conditions"), std::string::npos) << msg;
  EXPECT_NE(msg.find("(clone) flags without CLONE_PARENT|CLONE_NEWNS"), std::string::npos) << msg;
  o.accept_name_only = true;
  auto sd = profile::export_profile(p, profile::ExportFormat::systemd, o);
  EXPECT_NE(sd.text.find("clone clone3"), std::string::npos) << sd.text;
  EXPECT_NE(sd.text.find("socket"), std::string::npos) << sd.text;
  ASSERT_FALSE(sd.notes.empty());
  EXPECT_NE(sd.notes.back().find("whatever their arguments"), std::string::npos) << sd.notes.back();
  EXPECT_NE(sd.notes.back().find("clone clone3 ioctl socket"), std::string::npos) << sd.notes.back();
}

// runc before 1.2 refuses any "flags": --no-flags leaves them out (and says what that costs); kept,
// the export says which runtimes refuse them. The rules are the same either way.
TEST(Export, FlagsAreKeptWithANoteOrLeftOutOnRequest) {
  auto policy = generated();
  ASSERT_FALSE(policy.flags.empty());
  for (auto format : {profile::ExportFormat::oci, profile::ExportFormat::docker, profile::ExportFormat::k8s}) {
    auto kept = profile::export_profile(policy, format, opts());
    EXPECT_NE(kept.text.find("SECCOMP_FILTER_FLAG_LOG"), std::string::npos);
    ASSERT_FALSE(kept.notes.empty());
    EXPECT_NE(kept.notes.front().find("--no-flags"), std::string::npos) << kept.notes.front();
    auto o = opts();
    o.drop_flags = true;
    auto dropped = profile::export_profile(policy, format, o);
    EXPECT_EQ(dropped.text.find("SECCOMP_FILTER_FLAG_LOG"), std::string::npos) << dropped.text;
    ASSERT_FALSE(dropped.notes.empty());
    EXPECT_NE(dropped.notes.front().find("not written to the audit log"), std::string::npos);
  }
  auto o = opts();
  o.drop_flags = true;
  auto reread =
      profile::parse_profile(profile::export_profile(policy, profile::ExportFormat::oci, o).text, "x.json").policy;
  EXPECT_TRUE(reread.flags.empty());
  EXPECT_EQ(reread.rules, policy.rules);
  EXPECT_EQ(reread.default_action, policy.default_action);
}
