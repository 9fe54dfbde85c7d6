// One defence at a time: where several protections stack, each test here runs the attack with the
// other layers out of its way (an allow-all profile, a socket the workload's identity may open, a
// victim with two threads) and checks the line or errno that names the layer that stopped it, with a
// control run showing that the attack works once that layer is not there.
#include "e2e_support.hpp"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <sstream>

using nucleus::test::HostSocket;
using nucleus::test::run;
using nucleus::test::RunResult;
using nucleus::test::sample;
using nucleus::test::TempDir;
using nucleus::test::tool;
namespace fs = std::filesystem;

namespace {

using nucleus::test::have_runsc;

std::string text_of(const RunResult& r) {
  return "exit " + std::to_string(r.exit_code) + "\nstdout: " + r.out + "\nstderr: " + r.err;
}

enum class Level { trusted, gvisor };

class Layers : public ::testing::Test {
protected:
  void SetUp() override { NUCLEUS_REQUIRE_ROOT(); }
  std::string allow_all() {
    return nucleus::test::write_profile(dir, "allow.json", nlohmann::json{{"defaultAction", "SCMP_ACT_ALLOW"}});
  }
  // nucleus-run at `level` under `profile`, with `flags`, running `command`.
  std::vector<std::string> nucleus_run(Level level, const std::string& profile, const std::vector<std::string>& flags,
                                       const std::vector<std::string>& command) {
    std::vector<std::string> argv{tool("nucleus-run").string(), "-q", "--profile", profile};
    if (level == Level::trusted) argv.push_back("--trust-level=trusted");
    argv.insert(argv.end(), flags.begin(), flags.end());
    argv.push_back("--");
    argv.insert(argv.end(), command.begin(), command.end());
    return argv;
  }
  TempDir dir;
};

// The per-mount options (the sixth field) of each mount point in a /proc/PID/mountinfo text.
std::vector<std::pair<std::string, std::string>> mount_options(const std::string& mountinfo) {
  std::vector<std::pair<std::string, std::string>> out;
  std::istringstream lines(mountinfo);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream fields(line);
    std::string id, parent, devno, root, point, options;
    if (fields >> id >> parent >> devno >> root >> point >> options) out.emplace_back(point, "," + options + ",");
  }
  return out;
}

// Runs argv as the session leader of a fresh terminal (the caller's, as far as nucleus can tell):
// what reached its screen, and what sits in its input queue afterwards.
struct OnTerminal {
  int exit_code = -1;
  std::string output;
  std::string injected;
};
OnTerminal run_on_terminal(const std::vector<std::string>& argv, const std::function<void()>& in_child = {}) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  int master = -1, slave = -1;
  if (::openpty(&master, &slave, nullptr, nullptr, nullptr) != 0) throw std::runtime_error("openpty");
  pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork");
  if (pid == 0) {
    nucleus::test::take_terminal(master, slave);
    if (in_child) in_child();
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  OnTerminal o;
  // The screen until the child has exited (the test keeps the terminal's other side open: no EOF).
  for (bool exited = false; !exited;) {
    pollfd p{master, POLLIN, 0};
    if (::poll(&p, 1, 20) > 0) {
      char buf[4096];
      ssize_t n = ::read(master, buf, sizeof buf);
      if (n > 0) o.output.append(buf, static_cast<std::size_t>(n));
      if (n > 0) continue;
    }
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      exited = true;
      o.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
  }
  for (pollfd p{master, POLLIN, 0}; ::poll(&p, 1, 0) > 0 && (p.revents & POLLIN) != 0;) { // what came last
    char buf[4096];
    ssize_t n = ::read(master, buf, sizeof buf);
    if (n <= 0) break;
    o.output.append(buf, static_cast<std::size_t>(n));
  }
  o.injected = nucleus::test::pending_input(slave);
  ::close(slave);
  ::close(master);
  return o;
}

} // namespace

// TIOCSTI, one layer at a time. An unprivileged process on its own controlling terminal passes the
// kernel's "not your terminal" rule; the kernel's legacy_tiocsti=0 rule answers EIO. Under nucleus,
// with a profile that allows every ioctl, the guard answers first, EPERM, on the workload's own
// terminal (fd 0 and /dev/tty), and the caller's terminal gets nothing.
TEST_F(Layers, TiocstiIsStoppedByTheGuardBeforeTheKernel) {
  const std::vector<std::string> attack{sample("attack").string(), "tiocsti", "echo nucleus-injected\n"};
  // The kernel's own rule, for the same unprivileged identity without nucleus.
  const bool legacy_off = nucleus::test::read_text("/proc/sys/dev/tty/legacy_tiocsti").rfind("0", 0) == 0;
  auto kernel = run_on_terminal(attack, [] {
    if (::setgid(65534) != 0 || ::setuid(65534) != 0) ::_exit(126);
  });
  if (legacy_off) {
    EXPECT_NE(kernel.output.find("fd 0: EIO"), std::string::npos) << kernel.output;
  } else {
    EXPECT_NE(kernel.injected.find("nucleus-injected"), std::string::npos)
        << "the kernel lets it through: " << kernel.output;
  }

  auto o = run_on_terminal(nucleus_run(Level::trusted, allow_all(), {}, attack));
  EXPECT_EQ(o.exit_code, 0) << o.output;
  EXPECT_NE(o.output.find("fd 0: EPERM"), std::string::npos) << "not the guard's EPERM\n" << o.output;
  EXPECT_NE(o.output.find("/dev/tty: EPERM"), std::string::npos) << "not the guard's EPERM\n" << o.output;
  EXPECT_EQ(o.injected, "") << o.output;
}

// The empty tmpfs over /run, alone: the socket is one the workload's identity may open (the control
// binds it and connects), and the profile allows everything. Without the tmpfs the connect succeeds.
TEST_F(Layers, EmptyRunHidesASocketTheWorkloadCouldOpen) {
  HostSocket sock(HostSocket::Access::anyone);
  const auto allow = allow_all();
  const std::vector<std::string> attack{sample("attack").string(), "host-socket", sock.path()};
  auto control = run(nucleus_run(Level::trusted, allow, {"--ro", sock.dir()}, attack));
  EXPECT_EQ(control.exit_code, 1) << "bound, the socket must be reachable by the workload's identity\n"
                                  << text_of(control);
  EXPECT_EQ(sock.connections(), 1);

  std::vector<std::pair<std::string, std::vector<std::string>>> runs{
      {"trusted, default identity", nucleus_run(Level::trusted, allow, {}, attack)},
      {"trusted, --host-root without --ro", nucleus_run(Level::trusted, allow, {"--host-root"}, attack)},
      {"nucleus-trace, trusted",
       {tool("nucleus-trace").string(), "-q", "--trust-level=trusted", "-o", (dir / "t.trace").string(), "--",
        attack[0], attack[1], attack[2]}},
  };
  if (have_runsc()) runs.push_back({"gVisor", nucleus_run(Level::gvisor, allow, {}, attack)});
  for (const auto& [what, argv] : runs) {
    auto r = run(argv);
    EXPECT_EQ(r.exit_code, 0) << what << "\n" << text_of(r);
    // ENOENT: the path is not there at all (EACCES would be the permissions, ECONNREFUSED another socket).
    EXPECT_NE(r.out.find("attack host-socket: blocked: connect " + sock.path() + ": ENOENT"), std::string::npos)
        << what << "\n"
        << text_of(r);
    EXPECT_EQ(sock.connections(), 0) << what;
  }
  if (!have_runsc()) NUCLEUS_SKIP("runsc is not installed: the gVisor run was not made");
}

// Every mount the workload can write is nosuid and nodev, read from the mount table the workload
// itself sees: /tmp, /dev/shm, /run, a --tmpfs, a --rw bind (idmapped, and plain under --host-root).
// Trusted level only: gVisor's mount table shows neither flag, whatever its mounts were given.
TEST_F(Layers, EveryWritableMountIsNosuidNodev) {
  const fs::path rw = dir / "rw";
  fs::create_directory(rw);
  ASSERT_EQ(::chmod(dir.path().c_str(), 0755), 0);
  ASSERT_EQ(::chown(rw.c_str(), 4242, 4242), 0); // another unprivileged uid's: an idmapped bind
  const std::vector<std::string> cat{"/bin/cat", "/proc/self/mountinfo"};
  const auto allow = allow_all();
  std::vector<std::pair<std::string, std::vector<std::string>>> runs{
      {"trusted", nucleus_run(Level::trusted, allow, {"--rw", rw.string(), "--tmpfs", "/tmp/scratch"}, cat)},
      {"trusted --host-root",
       nucleus_run(Level::trusted, allow, {"--host-root", "--rw", rw.string(), "--tmpfs", "/tmp/scratch"}, cat)},
  };
  for (const auto& [what, argv] : runs) {
    auto r = run(argv);
    ASSERT_EQ(r.exit_code, 0) << what << "\n" << text_of(r);
    auto mounts = mount_options(r.out);
    int writable = 0;
    bool saw_rw = false, saw_scratch = false, saw_tmp = false;
    for (const auto& [point, options] : mounts) {
      if (options.find(",rw,") == std::string::npos) continue;
      // The device nodes bound into the read-only /dev are devices by design: that is what nodev is not for.
      if (point.rfind("/dev/", 0) == 0 && point != "/dev/shm") continue;
      ++writable;
      saw_rw = saw_rw || point == rw.string();
      saw_scratch = saw_scratch || point == "/tmp/scratch";
      saw_tmp = saw_tmp || point == "/tmp";
      EXPECT_NE(options.find(",nosuid,"), std::string::npos) << what << ": " << point << " " << options;
      EXPECT_NE(options.find(",nodev,"), std::string::npos) << what << ": " << point << " " << options;
    }
    EXPECT_TRUE(saw_rw && saw_scratch && saw_tmp) << what << ": a writable mount is missing from\n" << r.out;
    EXPECT_GE(writable, 3) << what;
  }
}

// openat2 gets ENOSYS from the guard under a profile that allows everything, where the same call
// outside nucleus reaches the kernel (which answers ENOENT for the empty path).
TEST_F(Layers, Openat2GetsEnosysWhateverTheProfileAllows) {
  const std::vector<std::string> probe{sample("probe").string(), "openat2:-100,buf,buf,24"};
  auto plain = run(probe);
  ASSERT_EQ(plain.exit_code, 0) << text_of(plain);
  auto lines = nucleus::test::probe_lines(plain.out);
  ASSERT_EQ(lines.size(), 1u) << plain.out;
  ASSERT_NE(lines[0].value("errname", ""), "ENOSYS") << "this kernel has no openat2: the guard cannot be told apart";
  std::vector<std::pair<std::string, std::vector<std::string>>> runs{
      {"nucleus-run", nucleus_run(Level::trusted, allow_all(), {}, probe)},
      {"nucleus-run --complain", nucleus_run(Level::trusted, allow_all(), {"--complain"}, probe)},
  };
  for (const auto& [what, argv] : runs) {
    auto r = run(argv);
    EXPECT_EQ(r.exit_code, 0) << what << "\n" << text_of(r);
    auto l = nucleus::test::probe_lines(r.out);
    ASSERT_EQ(l.size(), 1u) << what << "\n" << text_of(r);
    EXPECT_EQ(l[0].value("errname", ""), "ENOSYS") << what << ": " << l[0].dump();
  }
}

// An ABI the profile does not list ends the whole workload, not only the calling thread: the victim's
// second thread makes the x32 call while the first waits to print what happened. A deny-list
// profile allows everything else, so nothing but the ABI check can stop the call.
TEST_F(Layers, ForeignAbiEndsTheWholeWorkload) {
  auto deny_list = nucleus::test::write_profile(
      dir, "x86_64-only.json",
      nlohmann::json{{"defaultAction", "SCMP_ACT_ALLOW"}, {"architectures", {"SCMP_ARCH_X86_64"}}});
  const std::vector<std::string> attack{sample("attack").string(), "foreign-abi-thread"};
  auto control = run(attack); // without a filter the first thread lives to print its line
  EXPECT_NE(control.out.find("attack foreign-abi-thread: "), std::string::npos) << text_of(control);
  auto r = run(nucleus_run(Level::trusted, deny_list, {}, attack));
  EXPECT_EQ(r.exit_code, 128 + SIGSYS) << text_of(r);
  EXPECT_EQ(r.out.find("attack foreign-abi-thread: "), std::string::npos) << "a thread outlived the kill\n"
                                                                          << text_of(r);
}

// The workload's identity on the host is uid and gid 65534 and nothing else: the maps of its user
// namespace, as the workload reads them, send its ids to 65534 alone, and it cannot set groups.
TEST_F(Layers, WorkloadIsUidAndGid65534OnTheHost) {
  auto r =
      run(nucleus_run(Level::trusted, allow_all(), {},
                      {"/bin/sh", "-c", "for f in uid_map gid_map setgroups; do echo $f: $(cat /proc/self/$f); done"}));
  ASSERT_EQ(r.exit_code, 0) << text_of(r);
  EXPECT_NE(r.out.find("uid_map: 0 65534 1\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("gid_map: 0 65534 1\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("setgroups: deny\n"), std::string::npos) << r.out;
}

// --profile-sha256 pins the profile under gVisor as it does natively: a different hash and the
// command never runs.
TEST_F(Layers, ProfileSha256PinsTheProfileUnderGvisor) {
  if (!have_runsc()) NUCLEUS_SKIP("runsc is not installed");
  const auto profile = allow_all();
  auto sum = run({"/usr/bin/sha256sum", profile});
  ASSERT_EQ(sum.exit_code, 0) << sum.err;
  const std::string hash = sum.out.substr(0, 64);
  std::string wrong = hash;
  wrong[0] = wrong[0] == '0' ? '1' : '0';
  const std::vector<std::string> echo{"/bin/echo", "nucleus-ran"};
  auto ok = run(nucleus_run(Level::gvisor, profile, {"--profile-sha256", hash}, echo));
  EXPECT_EQ(ok.exit_code, 0) << text_of(ok);
  EXPECT_EQ(ok.out, "nucleus-ran\n") << text_of(ok);
  auto refused = run(nucleus_run(Level::gvisor, profile, {"--profile-sha256", wrong}, echo));
  EXPECT_EQ(refused.exit_code, 125) << text_of(refused);
  EXPECT_EQ(refused.out.find("nucleus-ran"), std::string::npos) << "the command ran under a profile whose hash differs";
  EXPECT_NE(refused.err.find(profile), std::string::npos) << refused.err;
}

// A profile generated from a trace of unshare(CLONE_NEWUSER) allows unshare exactly for that value:
// check must keep unshare's severity (high) and fail, not lower it to info as a settled risk.
TEST_F(Layers, CheckKeepsAGeneratedUnshareOfAUserNamespaceHigh) {
  const std::string trace = (dir / "unshare.trace").string();
  const std::string profile = (dir / "unshare.json").string();
  auto traced = run({tool("nucleus-trace").string(), "-q", "--trust-level=trusted", "-o", trace, "--",
                     sample("probe").string(), "unshare:0x10000000"});
  ASSERT_EQ(traced.exit_code, 0) << text_of(traced);
  auto gen = run({tool("nucleus-profile").string(), "gen", trace, "-o", profile});
  ASSERT_EQ(gen.exit_code, 0) << text_of(gen);
  ASSERT_NE(nucleus::test::read_text(profile).find("268435456"), std::string::npos)
      << "gen did not write unshare's flags as a condition:\n"
      << nucleus::test::read_text(profile);
  auto c = run({tool("nucleus-profile").string(), "check", profile});
  EXPECT_NE(c.out.find(": high: unshare"), std::string::npos) << text_of(c);
  EXPECT_EQ(c.out.find(": info: unshare"), std::string::npos) << text_of(c);
  EXPECT_NE(c.exit_code, 0) << text_of(c);
}
