// The attacks of a hostile workload on identity, set-id files, foreign ABIs, io_uring and
// nucleus's own outputs, each run with the attack sample under nucleus-run and nucleus-trace, at
// the trusted level and under gVisor, with Docker's default profile and a generated one. Each
// asserts that the attack failed and that nothing on the host changed.
#include "e2e_support.hpp"

#include <gtest/gtest.h>

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <mutex>
#include <thread>

using nlohmann::json;
using nucleus::test::read_text;
using nucleus::test::run;
using nucleus::test::RunResult;
using nucleus::test::sample;
using nucleus::test::TempDir;
using nucleus::test::tool;
using nucleus::test::write_text;
namespace fs = std::filesystem;

namespace {

constexpr unsigned nobody = 65534;

using nucleus::test::have_runsc;

// A directory the unprivileged workload identity can enter (TempDir is 0700 root).
void open_up(const fs::path& dir) { ASSERT_EQ(::chmod(dir.c_str(), 0755), 0); }

std::string text_of(const RunResult& r) {
  return "exit " + std::to_string(r.exit_code) + "\nstdout: " + r.out + "\nstderr: " + r.err;
}

// The attack's own verdict: it tried and printed "blocked" (exit 0), or the filter killed it
// (SIGSYS). Never "succeeded", and no other end: an attack that died of anything else, or that
// nucleus never started, proves nothing.
void expect_blocked(const RunResult& r, const std::string& what) {
  EXPECT_EQ(r.out.find(": succeeded:"), std::string::npos) << what << "\n" << text_of(r);
  const bool said_blocked = r.exit_code == 0 && r.out.find(": blocked: ") != std::string::npos;
  EXPECT_TRUE(said_blocked || r.exit_code == 128 + SIGSYS) << what << ": the attack did not report a block\n"
                                                           << text_of(r);
}

enum class Level { trusted, gvisor };

std::vector<std::string> run_cmd(Level level, const std::string& profile, const std::vector<std::string>& extra,
                                 const std::vector<std::string>& attack) {
  std::vector<std::string> argv{tool("nucleus-run").string(), "--profile", profile};
  if (level == Level::trusted) argv.push_back("--trust-level=trusted");
  argv.insert(argv.end(), extra.begin(), extra.end());
  argv.push_back("--");
  argv.push_back(sample("attack").string());
  argv.insert(argv.end(), attack.begin(), attack.end());
  return argv;
}

std::vector<std::string> trace_cmd(const std::string& out, const std::vector<std::string>& extra,
                                   const std::vector<std::string>& attack) {
  std::vector<std::string> argv{tool("nucleus-trace").string(), "-q", "--trust-level=trusted", "-o", out};
  argv.insert(argv.end(), extra.begin(), extra.end());
  argv.push_back("--");
  argv.push_back(sample("attack").string());
  argv.insert(argv.end(), attack.begin(), attack.end());
  return argv;
}

// Traces the attack (the trace run is itself one of the attack's runs: it must fail there too),
// then generates a profile from that trace.
std::string traced_and_generated(const TempDir& dir, const std::vector<std::string>& extra,
                                 const std::vector<std::string>& attack, const std::string& what,
                                 std::vector<std::string> gen_flags = {}, bool trace_blocks = true) {
  const std::string trace = (dir / "attack.trace").string();
  auto traced = run(trace_cmd(trace, extra, attack));
  if (trace_blocks) expect_blocked(traced, what + " under nucleus-trace");
  const std::string profile = (dir / ("generated" + std::to_string(gen_flags.size()) + ".json")).string();
  std::vector<std::string> gen{tool("nucleus-profile").string(), "gen", trace, "-o", profile};
  gen.insert(gen.end(), gen_flags.begin(), gen_flags.end());
  auto g = run(gen);
  EXPECT_EQ(g.exit_code, 0) << text_of(g);
  return profile;
}

std::string docker_profile(const TempDir& dir) {
  return nucleus::test::write_profile(dir, "docker.json", nucleus::test::docker_default_resolved());
}

// A Unix socket listener that answers each connection with the uid it saw (SO_PEERCRED).
class PeerCredListener {
public:
  explicit PeerCredListener(const fs::path& path) : path_(path) {
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    ok_ = fd_ >= 0 && ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
          ::chmod(path.c_str(), 0777) == 0 && ::listen(fd_, 8) == 0;
    thread_ = std::thread([this] { serve(); });
  }
  ~PeerCredListener() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }
  bool ok() const { return ok_; }
  std::vector<unsigned> seen() {
    std::lock_guard lock(mutex_);
    return seen_;
  }

private:
  void serve() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) continue;
      ucred cred{};
      socklen_t len = sizeof cred;
      if (::getsockopt(c, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0) {
        std::lock_guard lock(mutex_);
        seen_.push_back(cred.uid);
        std::string answer = "uid=" + std::to_string(cred.uid) + "\n";
        (void)!::write(c, answer.data(), answer.size());
      }
      ::close(c);
    }
  }
  fs::path path_;
  int fd_ = -1;
  bool ok_ = false;
  std::atomic<bool> stop_{false};
  std::mutex mutex_;
  std::vector<unsigned> seen_;
  std::thread thread_;
};

std::string shadow_first_line() {
  std::string shadow = read_text("/etc/shadow");
  return shadow.substr(0, shadow.find('\n'));
}

} // namespace

TEST(IdentityPrivileged, WorkloadIsNeverHostRoot) {
  NUCLEUS_REQUIRE_ROOT();
  TempDir dir;
  open_up(dir.path());
  PeerCredListener listener(dir / "root-only.sock");
  ASSERT_TRUE(listener.ok());
  const std::string sock = (dir / "root-only.sock").string();
  const std::vector<std::string> binds{"--ro", dir.path().string()};
  const std::vector<std::string> attack{"identity", sock};
  const std::string secret = shadow_first_line();
  ASSERT_FALSE(secret.empty());

  auto generated = traced_and_generated(dir, binds, attack, "identity");
  auto docker = docker_profile(dir);
  std::vector<std::pair<std::string, RunResult>> runs;
  for (const auto& profile : {docker, generated}) {
    runs.emplace_back("trusted " + profile, run(run_cmd(Level::trusted, profile, binds, attack)));
    if (have_runsc()) runs.emplace_back("gVisor " + profile, run(run_cmd(Level::gvisor, profile, binds, attack)));
  }
  for (const auto& [what, r] : runs) {
    expect_blocked(r, what);
    EXPECT_EQ(r.out.find(secret), std::string::npos) << what << " printed /etc/shadow";
  }
  // The listener was reached natively, and saw the unprivileged identity every time.
  auto seen = listener.seen();
  EXPECT_FALSE(seen.empty()) << "the trusted runs never reached the socket: the uid check proved nothing";
  for (unsigned uid : seen) EXPECT_EQ(uid, nobody);
  if (!have_runsc()) NUCLEUS_SKIP("runsc is not installed: the gVisor half was not run");
}

TEST(IdentityPrivileged, HostRootNeedsAFlagAndIsRefusedForUntrustedWork) {
  NUCLEUS_REQUIRE_ROOT();
  TempDir dir;
  auto profile = docker_profile(dir);
  auto refused = run({tool("nucleus-run").string(), "--profile", profile, "--host-root", "--", "/bin/true"});
  EXPECT_EQ(refused.exit_code, 125) << text_of(refused);
  EXPECT_NE(refused.err.find("--host-root is refused for untrusted work"), std::string::npos) << refused.err;
  // Trusted and asked for: the old identity, uid 0 on the host (seen by /proc/self/uid_map).
  auto r = run({tool("nucleus-run").string(), "--profile", profile, "--trust-level=trusted", "--host-root", "--",
                "/bin/cat", "/proc/self/uid_map"});
  EXPECT_EQ(r.exit_code, 0) << text_of(r);
  EXPECT_NE(r.out.find(" 0 "), std::string::npos) << r.out;
  auto d = run({tool("nucleus-run").string(), "--profile", profile, "--trust-level=trusted", "--", "/bin/cat",
                "/proc/self/uid_map"});
  EXPECT_EQ(d.exit_code, 0) << text_of(d);
  EXPECT_NE(d.out.find(" 65534 "), std::string::npos) << "default map: " << d.out;
}

// What the workload creates in a --rw directory can never be set-id or a device on the host:
// natively through an idmapped mount (the directory is owned by another unprivileged uid), and
// under gVisor in a directory owned by the workload's identity.
TEST(IdentityPrivileged, NoSetIdFilesOrDevicesOnTheHost) {
  NUCLEUS_REQUIRE_ROOT();
  TempDir dir;
  open_up(dir.path());
  constexpr unsigned owner = 4242; // an unprivileged uid that owns the directory, not the workload's
  const fs::path rw = dir / "rw";
  fs::create_directory(rw);
  ASSERT_EQ(::chown(rw.c_str(), owner, owner), 0);
  const std::vector<std::string> attack{"setuid", rw.string()};
  const std::vector<std::string> binds{"--rw", rw.string()};

  auto check_host = [&](const std::string& what, unsigned expected_owner) {
    int files = 0;
    for (const auto& e : fs::directory_iterator(rw)) {
      struct stat st {};
      ASSERT_EQ(::lstat(e.path().c_str(), &st), 0);
      ++files;
      EXPECT_EQ(st.st_mode & (S_ISUID | S_ISGID), 0u) << what << ": " << e.path() << " is set-id on the host";
      EXPECT_FALSE(S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) << what << ": " << e.path() << " is a device node";
      EXPECT_NE(st.st_uid, 0u) << what << ": " << e.path() << " is root-owned on the host";
      EXPECT_EQ(st.st_uid, expected_owner) << what << ": " << e.path();
    }
    EXPECT_GT(files, 0) << what << ": the workload could not write the --rw directory at all";
    for (const auto& e : fs::directory_iterator(rw)) fs::remove(e.path());
  };

  auto generated = traced_and_generated(dir, binds, attack, "setuid");
  check_host("nucleus-trace", owner);
  auto docker = docker_profile(dir);
  for (const auto& profile : {docker, generated}) {
    auto r = run(run_cmd(Level::trusted, profile, binds, attack));
    expect_blocked(r, "trusted " + profile);
    check_host("trusted " + profile, owner);
  }
  if (!have_runsc()) NUCLEUS_SKIP("runsc is not installed: the gVisor half was not run");
  ASSERT_EQ(::chown(rw.c_str(), nobody, nobody), 0);
  for (const auto& profile : {docker, generated}) {
    auto r = run(run_cmd(Level::gvisor, profile, binds, attack));
    expect_blocked(r, "gVisor " + profile);
    check_host("gVisor " + profile, nobody);
  }
}

TEST(IdentityPrivileged, RootOwnedRwDirectoryIsRefusedWithTheFix) {
  NUCLEUS_REQUIRE_ROOT();
  TempDir dir;
  // The test folders are given to uid 65534 for the other tests; this one is the user's own root folder.
  ASSERT_EQ(::chown(dir.path().c_str(), 0, 0), 0);
  auto profile = docker_profile(dir);
  auto r = run(run_cmd(Level::trusted, profile, {"--rw", dir.path().string()}, {"none"}));
  EXPECT_EQ(r.exit_code, 125) << text_of(r);
  EXPECT_NE(r.err.find("is owned by root"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("chown 65534:65534"), std::string::npos) << r.err;
}

TEST(IdentityPrivileged, ForeignAbisNeverRunASyscall) {
  NUCLEUS_REQUIRE_ROOT();
  TempDir dir;
  // A deny-list: everything allowed except unshare, on x86_64 only.
  auto deny_list = nucleus::test::write_profile(
      dir, "deny-list.json",
      json{{"defaultAction", "SCMP_ACT_ALLOW"},
           {"architectures", {"SCMP_ARCH_X86_64"}},
           {"syscalls", {{{"names", {"unshare"}}, {"action", "SCMP_ACT_ERRNO"}, {"errnoRet", 1}}}}});
  auto docker = docker_profile(dir);
  for (const auto& profile : {deny_list, docker}) {
    auto r = run(run_cmd(Level::trusted, profile, {}, {"foreign-abi"}));
    expect_blocked(r, "trusted " + profile);
    if (profile == deny_list) {
      EXPECT_EQ(r.exit_code, 128 + SIGSYS) << "the unlisted ABIs must be killed\n" << text_of(r);
    }
    if (have_runsc()) expect_blocked(run(run_cmd(Level::gvisor, profile, {}, {"foreign-abi"})), "gVisor " + profile);
  }
  // Trace mode denies nothing (the workload may unshare natively too), but records the foreign call
  // under its own ABI, so that a profile has to name it to allow it.
  const std::string trace = (dir / "t.trace").string();
  auto traced = run(trace_cmd(trace, {}, {"foreign-abi"}));
  EXPECT_LT(traced.exit_code, 125) << text_of(traced);
  if (nucleus::test::int80_works()) {
    EXPECT_NE(read_text(trace).find(R"("arch":"x86","nr":310,"name":"unshare")"), std::string::npos)
        << read_text(trace);
  }
  // check says what happens to the unlisted ABIs of a deny-list.
  auto c = run({tool("nucleus-profile").string(), "check", deny_list});
  EXPECT_NE(c.out.find("killed (SIGSYS)"), std::string::npos) << c.out << c.err;
  if (!have_runsc()) NUCLEUS_SKIP("runsc is not installed: the gVisor half was not run");
}

TEST(IdentityPrivileged, IoUringIsNotAWayAroundTheProfile) {
  NUCLEUS_REQUIRE_ROOT();
  TempDir dir;
  open_up(dir.path());
  const std::string secret = "io-uring-secret-7f3a";
  write_text(dir / "secret.txt", secret + "\n");
  ::chmod((dir / "secret.txt").c_str(), 0644);
  const std::vector<std::string> binds{"--ro", dir.path().string()};
  const std::vector<std::string> attack{"io-uring", (dir / "secret.txt").string()};
  // Trace mode refuses io_uring too, and the trace shows the refused io_uring_setup.
  auto generated = traced_and_generated(dir, binds, attack, "io-uring");
  EXPECT_NE(read_text(dir / "attack.trace").find("\"io_uring_setup\""), std::string::npos)
      << read_text(dir / "attack.trace");
  auto docker = docker_profile(dir);
  for (const auto& profile : {generated, docker}) {
    auto r = run(run_cmd(Level::trusted, profile, binds, attack));
    expect_blocked(r, "trusted " + profile);
    EXPECT_EQ(r.out.find(secret), std::string::npos) << r.out;
    if (have_runsc()) {
      auto g = run(run_cmd(Level::gvisor, profile, binds, attack));
      expect_blocked(g, "gVisor " + profile);
      EXPECT_EQ(g.out.find(secret), std::string::npos) << g.out;
    }
  }
  // A profile that allows io_uring is not enough: the guard refuses it without the flag ...
  auto traced_allowed =
      run(trace_cmd((dir / "attack.trace").string(), {"--ro", dir.path().string(), "--allow-io-uring"}, attack));
  EXPECT_EQ(traced_allowed.exit_code, 1) << "io_uring under nucleus-trace --allow-io-uring\n"
                                         << text_of(traced_allowed);
  const std::string allowed = (dir / "allowed.json").string();
  auto g = run(
      {tool("nucleus-profile").string(), "gen", (dir / "attack.trace").string(), "-o", allowed, "--allow-io-uring"});
  ASSERT_EQ(g.exit_code, 0) << text_of(g);
  auto refused = run(run_cmd(Level::trusted, allowed, binds, attack));
  expect_blocked(refused, "trusted, io_uring in the profile, no --allow-io-uring");
  EXPECT_EQ(refused.out.find(secret), std::string::npos) << refused.out;
  // ... and asked for, io_uring does get around the profile, which is why it takes a flag.
  std::vector<std::string> with_flag = binds;
  with_flag.push_back("--allow-io-uring");
  auto r = run(run_cmd(Level::trusted, allowed, with_flag, attack));
  EXPECT_NE(r.out.find(secret), std::string::npos) << "the attack itself does not work:\n" << text_of(r);
  EXPECT_NE(r.err.find("--allow-io-uring: the workload's io_uring operations bypass seccomp"), std::string::npos)
      << r.err;
  if (!have_runsc()) NUCLEUS_SKIP("runsc is not installed: the gVisor half was not run");
}

// IORING_OP_OPENAT 04755 and IORING_OP_OPENAT2 06755 into a --rw directory: the ring's operations
// never pass the filter, so the ring itself is refused, in trace mode and under an allow-all profile.
TEST(IdentityPrivileged, IoUringCannotMakeSetIdFiles) {
  NUCLEUS_REQUIRE_ROOT();
  TempDir dir;
  open_up(dir.path());
  const fs::path rw = dir / "rw";
  fs::create_directory(rw);
  ASSERT_EQ(::chown(rw.c_str(), nobody, nobody), 0);
  const std::vector<std::string> attack{"io-uring-setid", rw.string()};
  const std::vector<std::string> binds{"--rw", rw.string()};
  auto expect_no_setid = [&](const std::string& what) {
    for (const auto& e : fs::directory_iterator(rw)) {
      struct stat st {};
      ASSERT_EQ(::lstat(e.path().c_str(), &st), 0);
      EXPECT_EQ(st.st_mode & (S_ISUID | S_ISGID), 0u) << what << ": " << e.path() << " is set-id on the host";
      fs::remove(e.path());
    }
  };
  const std::string trace = (dir / "setid.trace").string();
  auto traced = run(trace_cmd(trace, binds, attack));
  expect_blocked(traced, "nucleus-trace");
  expect_no_setid("nucleus-trace");
  EXPECT_NE(read_text(trace).find("\"io_uring_setup\""), std::string::npos) << "the refused call is not in the trace\n"
                                                                            << read_text(trace);
  auto allow_all = nucleus::test::write_profile(dir, "allow-all.json", json{{"defaultAction", "SCMP_ACT_ALLOW"}});
  auto r = run(run_cmd(Level::trusted, allow_all, binds, attack));
  expect_blocked(r, "nucleus-run, allow-all profile");
  EXPECT_NE(r.out.find("io_uring_setup: EPERM"), std::string::npos) << text_of(r);
  expect_no_setid("nucleus-run, allow-all profile");
  if (!have_runsc()) NUCLEUS_SKIP("runsc is not installed: the gVisor half was not run");
  auto gv = run(run_cmd(Level::gvisor, allow_all, binds, attack));
  expect_blocked(gv, "gVisor, allow-all profile");
  expect_no_setid("gVisor, allow-all profile");
}

// The workload swaps the directory of nucleus's output for a symlink to another host directory
// while it runs; the output still goes to the directory that was named, never into the target.
TEST(IdentityPrivileged, OutputsCannotBeRedirectedBySymlinks) {
  NUCLEUS_REQUIRE_ROOT();
  TempDir dir;
  open_up(dir.path());
  const fs::path rw = dir / "rw";
  const fs::path target = dir / "elsewhere";
  fs::create_directories(rw / "out");
  fs::create_directory(target);
  ASSERT_EQ(::chown(rw.c_str(), nobody, nobody), 0);
  ASSERT_EQ(::chown((rw / "out").c_str(), nobody, nobody), 0);
  const std::vector<std::string> attack{"symlink-swap", rw.string(), target.string()};
  const std::vector<std::string> binds{"--rw", rw.string()};

  auto traced = run(trace_cmd((rw / "out" / "app.trace").string(), binds, attack));
  EXPECT_EQ(traced.exit_code, 1) << "the swap itself must have happened\n" << text_of(traced);
  EXPECT_TRUE(fs::is_symlink(rw / "out"));
  EXPECT_FALSE(fs::exists(target / "app.trace")) << "nucleus-trace followed the workload's symlink";
  EXPECT_TRUE(fs::exists(rw / "out.swapped" / "app.trace")) << "the trace is not in the directory that was named";

  fs::remove(rw / "out");
  fs::remove_all(rw / "out.swapped");
  fs::create_directory(rw / "out");
  ASSERT_EQ(::chown((rw / "out").c_str(), nobody, nobody), 0);
  auto profile = docker_profile(dir);
  auto r = run(run_cmd(Level::trusted, profile,
                       {"--rw", rw.string(), "--complain", "--complain-trace", (rw / "out" / "extra.trace").string()},
                       attack));
  EXPECT_EQ(r.exit_code, 1) << text_of(r);
  EXPECT_FALSE(fs::exists(target / "extra.trace")) << "nucleus-run followed the workload's symlink";
  EXPECT_TRUE(fs::exists(rw / "out.swapped" / "extra.trace")) << text_of(r);
  EXPECT_TRUE(fs::is_empty(target));
}
