// Isolation pieces that need no privileges: lockdown parsing, sizes, rlimits, capability names,
// profile pinning, and the trust guards that refuse before anything starts.
#include "test_support.hpp"

#include "nucleus/core/error.hpp"
#include "nucleus/sandbox/isolation.hpp"

#include <gtest/gtest.h>

#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>

namespace sb = nucleus::sandbox;
namespace core = nucleus::core;

TEST(Lockdown, ParsesTheBracketedMode) {
  struct Case {
    const char* content;
    sb::LockdownMode mode;
  } cases[] = {
      {"[none] integrity confidentiality\n", sb::LockdownMode::none},
      {"none [integrity] confidentiality\n", sb::LockdownMode::integrity},
      {"none integrity [confidentiality]\n", sb::LockdownMode::confidentiality},
      {"none integrity [confidentiality]", sb::LockdownMode::confidentiality},
  };
  for (const auto& c : cases) EXPECT_EQ(sb::parse_lockdown(c.content), c.mode) << c.content;
}

TEST(Lockdown, RejectsWhatItCannotParse) {
  for (const char* bad :
       {"", "\n", "none integrity confidentiality\n", "[none] [integrity]\n", "none [bogus]\n", "[]"}) {
    SCOPED_TRACE(bad);
    try {
      sb::parse_lockdown(bad);
      FAIL() << "accepted";
    } catch (const core::Error& e) {
      EXPECT_EQ(e.kind(), core::ErrorKind::invalid_input);
    }
  }
}

TEST(Lockdown, ConfidentialitySatisfiesIntegrity) {
  using M = sb::LockdownMode;
  EXPECT_TRUE(sb::lockdown_satisfies(M::confidentiality, M::integrity));
  EXPECT_TRUE(sb::lockdown_satisfies(M::integrity, M::integrity));
  EXPECT_FALSE(sb::lockdown_satisfies(M::none, M::integrity));
  EXPECT_FALSE(sb::lockdown_satisfies(M::integrity, M::confidentiality));
}

TEST(Lockdown, TooWeakAndMissingFilesAreClearErrors) {
  nucleus::test::TempDir dir;
  nucleus::test::write_text(dir / "lockdown", "none [integrity] confidentiality\n");
  EXPECT_NO_THROW(sb::require_kernel_lockdown(sb::LockdownMode::integrity, (dir / "lockdown").string()));
  try {
    sb::require_kernel_lockdown(sb::LockdownMode::confidentiality, (dir / "lockdown").string());
    FAIL();
  } catch (const core::Error& e) {
    EXPECT_EQ(e.kind(), core::ErrorKind::permission);
    EXPECT_NE(std::string(e.what()).find("'integrity'"), std::string::npos) << e.what();
  }
  try {
    sb::require_kernel_lockdown(sb::LockdownMode::integrity, (dir / "missing").string());
    FAIL();
  } catch (const core::Error& e) {
    EXPECT_EQ(e.kind(), core::ErrorKind::unsupported);
    EXPECT_NE(std::string(e.what()).find("cannot read the kernel's lockdown state"), std::string::npos) << e.what();
    EXPECT_NE(e.hint().find("securityfs"), std::string::npos);
  }
}

// This machine's kernel has no lockdown file: asking for lockdown must fail clearly, not pass.
TEST(Lockdown, ThisMachine) {
  const char* file = "/sys/kernel/security/lockdown";
  if (::access(file, R_OK) == 0) {
    EXPECT_NO_THROW(sb::parse_lockdown(nucleus::test::read_text(file)));
  } else {
    EXPECT_THROW(sb::require_kernel_lockdown(sb::LockdownMode::integrity, file), core::Error);
  }
}

TEST(IsolationFlags, Sizes) {
  EXPECT_EQ(sb::parse_size("1048576"), 1048576u);
  EXPECT_EQ(sb::parse_size("64M"), 64ull << 20);
  EXPECT_EQ(sb::parse_size("64m"), 64ull << 20);
  EXPECT_EQ(sb::parse_size("2G"), 2ull << 30);
  EXPECT_EQ(sb::parse_size("512KiB"), 512ull << 10);
  for (const char* bad : {"", "M", "0", "12X", "-1", "1.5G", "99999999999T"})
    EXPECT_THROW(sb::parse_size(bad), core::Error) << bad;
}

TEST(IsolationFlags, Rlimits) {
  auto l = sb::parse_rlimit("nofile=1024:4096");
  EXPECT_EQ(l.resource, RLIMIT_NOFILE);
  EXPECT_EQ(l.soft, 1024u);
  EXPECT_EQ(l.hard, 4096u);
  EXPECT_EQ(sb::parse_rlimit("core=0").hard, 0u);
  EXPECT_EQ(sb::parse_rlimit("stack=unlimited").soft, RLIM_INFINITY);
  for (const char* bad : {"nofile", "bogus=1", "nofile=x", "nofile=10:5"})
    EXPECT_THROW(sb::parse_rlimit(bad), core::Error) << bad;
}

TEST(IsolationFlags, CapabilityNamesComeFromLibcap) {
  EXPECT_EQ(sb::capability_from_name("CAP_NET_RAW"), 13);
  EXPECT_EQ(sb::capability_from_name("net_bind_service"), 10);
  EXPECT_EQ(sb::capability_from_name("CAP_SYS_ADMIN"), 21);
  EXPECT_THROW(sb::capability_from_name("CAP_MAKE_COFFEE"), core::Error);
}

TEST(ProfilePinning, Sha256) {
  EXPECT_EQ(sb::sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sb::sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_NO_THROW(
      sb::verify_sha256("abc", "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD", "p.json"));
  try {
    sb::verify_sha256("abd", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", "p.json");
    FAIL();
  } catch (const core::Error& e) {
    EXPECT_EQ(e.kind(), core::ErrorKind::permission);
    EXPECT_NE(std::string(e.what()).find("p.json"), std::string::npos);
  }
  EXPECT_THROW(sb::verify_sha256("abc", "ba78", "p.json"), core::Error);
}

TEST(TrustGuards, RefusalsBeforeAnythingRuns) {
  sb::IsolationConfig c;
  c.search_path = "/nonexistent";
  c.degraded_env_set = false;
  try {
    sb::prepare(c, {"/bin/true"});
    FAIL();
  } catch (const core::Error& e) {
    // The words the README promises: the refusal names gVisor and runsc, how to install it, and the
    // two explicit ways out.
    for (const char* said : {"gVisor", "runsc"})
      EXPECT_NE(std::string(e.what()).find(said), std::string::npos) << e.what();
    EXPECT_EQ(e.kind(), core::ErrorKind::usage);
    for (const char* named : {"apt-get install runsc", "--allow-degraded-security", "--trust-level trusted"})
      EXPECT_NE(e.hint().find(named), std::string::npos) << named;
  }
  c.degraded_env_set = true; // the environment variable alone does not opt in
  EXPECT_THROW(sb::prepare(c, {"/bin/true"}), core::Error);

  sb::IsolationConfig host;
  host.network = sb::NetworkMode::host;
  host.allow_host_network = true;
  host.allow_degraded_security = true;
  host.search_path = "/nonexistent";
  try {
    sb::prepare(host, {"/bin/true"});
    FAIL() << "untrusted got the host network";
  } catch (const core::Error& e) {
    EXPECT_NE(std::string(e.what()).find("untrusted workloads never get the host network"), std::string::npos)
        << e.what();
  }
  host.trust = sb::TrustLevel::trusted;
  host.allow_host_network = false;
  try {
    sb::prepare(host, {"/bin/true"});
    FAIL() << "host network without --allow-host-network";
  } catch (const core::Error& e) {
    EXPECT_NE(std::string(e.what()).find("needs --allow-host-network"), std::string::npos) << e.what();
  }
}

TEST(TrustGuards, TraceModeRunsUntrustedWorkUnderGvisor) {
  // The default level works in trace mode too: gVisor's own record replaces the host's audit records.
  nucleus::test::TempDir dir;
  nucleus::test::write_text(dir / "runsc", "#!/bin/sh\n");
  std::filesystem::permissions(dir / "runsc", std::filesystem::perms::owner_all);
  sb::IsolationConfig c;
  c.mode = sb::RunMode::trace;
  c.search_path = dir.path().string();
  auto isolation = sb::prepare(c, {"/bin/true"});
  EXPECT_EQ(isolation.backend(), sb::Backend::gvisor);
  EXPECT_FALSE(isolation.host_filter());
  ASSERT_FALSE(isolation.argv().empty());
  EXPECT_EQ(isolation.argv().front(), (dir / "runsc").string());
}

TEST(WorkloadEnvironment, AllowlistThenFilesThenFlags) {
  nucleus::test::TempDir dir;
  nucleus::test::write_text(dir / "a.env", "# comment\n\nFROM_FILE=1\nOVERRIDE=file\r\n");
  std::vector<std::string> caller_vars{"PATH=/bin",
                                       "HOME=/root",
                                       "LC_ALL=C",
                                       "TERM=xterm",
                                       "TZ=UTC",
                                       "LANG=C.UTF-8",
                                       "AWS_SECRET_ACCESS_KEY=s3cr3t",
                                       "SSH_AUTH_SOCK=/run/agent",
                                       "COPY_ME=mine"};
  std::vector<char*> caller;
  for (auto& v : caller_vars) caller.push_back(v.data());
  caller.push_back(nullptr);
  sb::IsolationConfig c;
  c.env_files = {(dir / "a.env").string()};
  c.env = {"OVERRIDE=flag", "COPY_ME", "NOT_SET_ANYWHERE"};
  auto env = sb::workload_environment(c, caller.data());
  // HOME is the sandbox's own /tmp, not the caller's (unreadable to the workload's identity).
  EXPECT_EQ(env, (std::vector<std::string>{"COPY_ME=mine", "FROM_FILE=1", "HOME=/tmp", "LANG=C.UTF-8", "LC_ALL=C",
                                           "OVERRIDE=flag", "PATH=/bin", "TERM=xterm", "TZ=UTC"}));
  sb::IsolationConfig bad;
  bad.env = {"1X=2"};
  EXPECT_THROW(sb::workload_environment(bad, caller.data()), core::Error);
  nucleus::test::write_text(dir / "b.env", "no equals sign\n");
  sb::IsolationConfig bad_file;
  bad_file.env_files = {(dir / "b.env").string()};
  try {
    sb::workload_environment(bad_file, caller.data());
    ADD_FAILURE() << "accepted a line without =";
  } catch (const core::Error& e) {
    EXPECT_NE(std::string(e.what()).find("b.env:1"), std::string::npos) << e.what();
  }
  char* empty[] = {nullptr};
  EXPECT_EQ(
      sb::workload_environment({}, empty),
      (std::vector<std::string>{"HOME=/tmp", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}));
  // --env HOME copies the caller's; --env HOME=DIR chooses.
  sb::IsolationConfig copy;
  copy.env = {"HOME"};
  EXPECT_EQ(sb::workload_environment(copy, caller.data())[0], "HOME=/root");
  sb::IsolationConfig chosen;
  chosen.env = {"HOME=/srv/home"};
  EXPECT_EQ(sb::workload_environment(chosen, caller.data())[0], "HOME=/srv/home");
}

TEST(WorkloadEnvironment, TheHostsTmpIsNeverTheDefaultHome) {
  // A bind of the host's /tmp over the sandbox's own would make the default HOME a folder every
  // local user can write, and plant start-up files in.
  char* empty[] = {nullptr};
  for (bool writable : {true, false})
    for (const char* where : {"/tmp", "/tmp/", "/tmp/./"}) {
      sb::IsolationConfig c;
      (writable ? c.rw : c.ro).push_back({"/srv/shared", where});
      try {
        sb::workload_environment(c, empty);
        ADD_FAILURE() << "HOME=/tmp accepted over a host folder bound at " << where;
      } catch (const core::Error& e) {
        EXPECT_NE(std::string(e.what()).find("default HOME"), std::string::npos) << e.what();
        EXPECT_NE(e.hint().find("--env HOME=DIR"), std::string::npos) << e.hint();
      }
    }
  sb::IsolationConfig host_tmp;
  host_tmp.rw.push_back({"/tmp", ""});
  EXPECT_THROW(sb::workload_environment(host_tmp, empty), core::Error);
  // With a HOME chosen, or a bind below /tmp, nothing is refused.
  sb::IsolationConfig chosen;
  chosen.rw.push_back({"/tmp", ""});
  chosen.env = {"HOME=/srv/home"};
  EXPECT_EQ(sb::workload_environment(chosen, empty)[0], "HOME=/srv/home");
  sb::IsolationConfig below;
  below.rw.push_back({"/tmp/project", ""});
  EXPECT_EQ(sb::workload_environment(below, empty)[0], "HOME=/tmp");
}

namespace {

// A policy that lets /usr/bin/true run, with one network rule.
sb::IsolationConfig policy_config(core::Protocol protocol) {
  sb::IsolationConfig c;
  c.policy = core::AccessPolicy{};
  c.policy->files = {{"/usr", 1u | 8u}};
  c.policy->network.connect = {{protocol, "127.0.0.1", 8080}};
  c.policy_source = "app.policy.json";
  return c;
}

std::string refusal_of(const sb::IsolationConfig& c) {
  try {
    sb::prepare(c, {"/usr/bin/true"});
  } catch (const core::Error& e) {
    EXPECT_EQ(e.kind(), core::ErrorKind::usage);
    return std::string(e.what()) + " / " + e.hint();
  }
  return {};
}

} // namespace

// Under gVisor no port rule holds (its loopback is its own): refused, unless accepted by flag, and
// then said in a warning.
TEST(PolicyNetwork, GvisorRefusesPortRulesUnlessAccepted) {
  nucleus::test::TempDir dir;
  nucleus::test::write_text(dir / "runsc", "#!/bin/sh\n");
  std::filesystem::permissions(dir / "runsc", std::filesystem::perms::owner_all);
  sb::IsolationConfig c = policy_config(core::Protocol::tcp);
  c.search_path = dir.path().string();
  std::string why = refusal_of(c);
  EXPECT_NE(why.find("connect tcp 127.0.0.1:8080"), std::string::npos) << why;
  EXPECT_NE(why.find("gVisor's own loopback"), std::string::npos) << why;
  EXPECT_NE(why.find("--accept-unenforced-network"), std::string::npos) << why;
  c.accept_unenforced_network = true;
  auto isolation = sb::prepare(c, {"/usr/bin/true"});
  EXPECT_EQ(isolation.backend(), sb::Backend::gvisor);
  bool warned = false;
  for (const auto& w : isolation.warnings())
    warned = warned || w.find("not enforced: the port rules") != std::string::npos;
  EXPECT_TRUE(warned);
}

// Landlock has no UDP rules: natively a UDP endpoint is refused the same way.
TEST(PolicyNetwork, UdpRuleIsRefusedNatively) {
  sb::IsolationConfig c = policy_config(core::Protocol::udp);
  c.trust = sb::TrustLevel::trusted;
  std::string why = refusal_of(c);
  EXPECT_NE(why.find("the UDP rules (connect udp 127.0.0.1:8080)"), std::string::npos) << why;
}
