// Isolation against the real kernel, through the libsandbox API (prepare + spawn), the way both
// tools use it: namespaces, pid 1, mounts and Landlock, cgroup limits, network, capabilities,
// and the gVisor back end.
#include "test_support.hpp"

#include "nucleus/core/error.hpp"
#include "nucleus/sandbox/isolation.hpp"
#include "nucleus/sandbox/spawn.hpp"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <regex>
#include <sstream>
#include <stdexcept>

namespace sb = nucleus::sandbox;
namespace core = nucleus::core;
using nucleus::test::TempDir;

namespace {

struct Outcome {
  int exit_code = -1;
  std::string out;
  std::string err;
  std::string note;
  std::vector<std::string> warnings;
  std::chrono::milliseconds took{0};
};

sb::IsolationConfig trusted() {
  sb::IsolationConfig c;
  c.trust = sb::TrustLevel::trusted;
  return c;
}

// Runs argv under `config`, with the workload's stdout and stderr going to files.
Outcome run_isolated(const sb::IsolationConfig& config, const std::vector<std::string>& argv) {
  TempDir io;
  Outcome o;
  auto isolation = sb::prepare(config, argv);
  o.warnings = isolation.warnings();
  sb::SpawnSpec spec;
  spec.argv = isolation.argv();
  spec.pre_exec = isolation.pre_exec();
  spec.pre_exec_context = isolation.context();
  int out = ::open((io / "out").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  int err = ::open((io / "err").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  int saved_out = ::dup(1);
  int saved_err = ::dup(2);
  ::fflush(stdout);
  ::dup2(out, 1);
  ::dup2(err, 2);
  auto start = std::chrono::steady_clock::now();
  std::optional<sb::Child> child;
  try {
    child.emplace(sb::spawn(spec));
  } catch (...) {
    ::dup2(saved_out, 1);
    ::dup2(saved_err, 2);
    throw;
  }
  ::dup2(saved_out, 1);
  ::dup2(saved_err, 2);
  for (int fd : {out, err, saved_out, saved_err}) ::close(fd);
  int status = child->wait();
  o.took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
  o.exit_code = sb::exit_code_from_status(status);
  o.note = isolation.exit_note(status);
  o.out = nucleus::test::read_text(io / "out");
  o.err = nucleus::test::read_text(io / "err");
  return o;
}

Outcome sh(const sb::IsolationConfig& config, const std::string& script) {
  return run_isolated(config, {"/bin/sh", "-c", script});
}

std::map<std::string, std::string> namespaces_of(const std::string& text) {
  std::map<std::string, std::string> m;
  std::istringstream in(text);
  std::string name, id;
  while (in >> name >> id) m[name] = id;
  return m;
}

// A fresh folder under /var/tmp: on the host root, outside the /tmp the sandbox replaces.
struct HostDir {
  std::filesystem::path path;
  HostDir() {
    std::string tmpl = "/var/tmp/nucleus-test-XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp in /var/tmp failed");
    path = tmpl;
    // Writable for everyone on the host, so that only the sandbox's read-only mount can refuse a
    // write there (the workload's unprivileged identity would otherwise be refused by the mode).
    if (::chmod(tmpl.c_str(), 0777) != 0) throw std::runtime_error("chmod of the /var/tmp folder failed");
  }
  ~HostDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  HostDir(const HostDir&) = delete;
  HostDir& operator=(const HostDir&) = delete;
};

class Isolation : public ::testing::Test {
protected:
  void SetUp() override { NUCLEUS_REQUIRE_ROOT(); }
  TempDir dir;
};

const char* const ns_names[] = {"user", "mnt", "pid", "uts", "ipc", "net", "cgroup"};

} // namespace

TEST_F(Isolation, EveryNamespaceIsNew) {
  std::string script;
  for (const char* n : ns_names) script += std::string("echo ") + n + " $(readlink /proc/self/ns/" + n + ");";
  auto inside = sh(trusted(), script);
  ASSERT_EQ(inside.exit_code, 0) << inside.err;
  auto in = namespaces_of(inside.out);
  for (const char* n : ns_names) {
    SCOPED_TRACE(n);
    auto outside = std::filesystem::read_symlink(std::string("/proc/self/ns/") + n).string();
    ASSERT_TRUE(in.count(n)) << inside.out;
    EXPECT_FALSE(in[n].empty());
    EXPECT_NE(in[n], outside);
  }
  auto host = sh(trusted(), "hostname");
  EXPECT_EQ(host.out, "nucleus\n");
}

TEST_F(Isolation, NoHostPidsAndPid1ReapsOrphans) {
  auto r = sh(trusted(), "ls /proc | grep -E '^[0-9]+$' | sort -n | tr '\\n' ' '");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // pid 1 (the reaper), the shell, ls, grep, sort, tr: nothing from the host.
  std::istringstream in(r.out);
  int pid = 0, count = 0;
  while (in >> pid) {
    EXPECT_LT(pid, 20) << r.out;
    ++count;
  }
  EXPECT_GE(count, 2);
  EXPECT_LE(count, 8) << r.out;
  EXPECT_FALSE(std::filesystem::exists("/proc/" + std::to_string(::getpid()) + "/status") &&
               r.out.find(" " + std::to_string(::getpid()) + " ") != std::string::npos);

  // An orphan does not keep the sandbox alive, and the exit code is the workload's.
  auto orphan = sh(trusted(), "sleep 30 & exit 7");
  EXPECT_EQ(orphan.exit_code, 7) << orphan.err;
  EXPECT_LT(orphan.took.count(), 10000);
  // Orphans are reparented to pid 1, and pid 1 reaps them: once the orphan has exited, no process
  // in the sandbox is a zombie.
  const std::string scan = "n=0; for p in /proc/[0-9]*/stat; do read -r l < $p 2>/dev/null || continue; n=$((n+1));"
                           " case \"${l##*) }\" in Z*) echo zombie $p;; esac; done; echo scanned $n;";
  auto reaped =
      sh(trusted(), "(sleep 0.3 & echo $! > /tmp/orphan); echo parent $(cut -d' ' -f4 /proc/$(cat /tmp/orphan)/stat);"
                    "sleep 1;" +
                        scan);
  ASSERT_EQ(reaped.exit_code, 0) << reaped.err;
  EXPECT_NE(reaped.out.find("parent 1\n"), std::string::npos) << "the orphan was not reparented to pid 1\n"
                                                              << reaped.out;
  std::smatch scanned;
  ASSERT_TRUE(std::regex_search(reaped.out, scanned, std::regex("scanned ([0-9]+)"))) << reaped.out;
  EXPECT_GE(std::stoi(scanned[1]), 2) << reaped.out; // the scan saw the processes that are there
  EXPECT_EQ(reaped.out.find("zombie"), std::string::npos) << reaped.out;
  // Death by signal N comes out as 128+N.
  auto killed = sh(trusted(), "kill -TERM $$");
  EXPECT_EQ(killed.exit_code, 128 + SIGTERM);
}

TEST_F(Isolation, WritesOnlyInRwPathsAndTmpfs) {
  TempDir rw;
  ASSERT_EQ(::chown(rw.path().c_str(), 65534, 65534), 0); // writable for the workload's host identity
  auto c = trusted();
  c.rw.push_back({rw.path().string(), {}});
  // A host folder outside /tmp (which the sandbox replaces), so the write reaches the read-only
  // host root: visible inside, and refused with EROFS.
  HostDir host;
  const std::string outside = (host.path / "outside").string();
  auto r = sh(c, "echo ok > " + rw.path().string() +
                     "/inside && echo rw-ok;"
                     "test -d " +
                     host.path.string() +
                     " && echo host-visible;"
                     "(echo bad > " +
                     outside +
                     ") 2>&1 | grep -q 'Read-only file system' && echo host-denied;"
                     "echo ok > /tmp/t && echo tmp-ok;"
                     "touch /etc/nucleus-probe || echo etc-denied;"
                     // /proc is mounted writable; Landlock alone stops this write
                     "(echo x > /proc/self/comm) 2>/dev/null || echo landlock-denied");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  for (const char* want : {"rw-ok", "host-visible", "host-denied", "tmp-ok", "etc-denied", "landlock-denied"})
    EXPECT_NE(r.out.find(want), std::string::npos) << want << "\n" << r.out << r.err;
  EXPECT_EQ(nucleus::test::read_text(rw / "inside"), "ok\n");
  EXPECT_FALSE(std::filesystem::exists(outside));
  EXPECT_FALSE(std::filesystem::exists("/etc/nucleus-probe"));
}

// An --rw bind outside every fresh tmpfs can be written only through a Landlock rule of its own
// (the root's rule is read-only): the rules follow each entry of the file-system plan, not only the
// tmpfs mounts. A single --rw file too, whose rule the kernel accepts only with the rights of files.
TEST_F(Isolation, RwBindOutsideATmpfsIsWritableThroughItsOwnRule) {
  TempDir rw;
  ASSERT_EQ(::chown(rw.path().c_str(), 65534, 65534), 0);
  nucleus::test::write_text(rw / "file", "old\n");
  ASSERT_EQ(::chown((rw / "file").c_str(), 65534, 65534), 0);
  HostDir host; // outside /tmp: the mount points exist in the read-only root
  const std::string inner = (host.path / "dir").string(), file = (host.path / "file").string();
  std::filesystem::create_directory(inner);
  nucleus::test::write_text(file, "");
  auto c = trusted();
  c.rw.push_back({rw.path().string(), inner});
  c.rw.push_back({(rw / "file").string(), file});
  auto r = sh(c, "echo ok > " + inner + "/inside && echo write-ok; mkdir " + inner +
                     "/d && echo mkdir-ok;"
                     "echo new > " +
                     file + " && echo file-ok");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  for (const char* want : {"write-ok", "mkdir-ok", "file-ok"})
    EXPECT_NE(r.out.find(want), std::string::npos) << want << "\n" << r.out << r.err;
  EXPECT_EQ(nucleus::test::read_text(rw / "inside"), "ok\n");
  EXPECT_TRUE(std::filesystem::is_directory(rw / "d"));
  EXPECT_EQ(nucleus::test::read_text(rw / "file"), "new\n");
}

TEST_F(Isolation, ForkBombStopsAtPids) {
  auto c = trusted();
  c.pids = 8;
  auto r = sh(c, "i=0; while [ $i -lt 40 ]; do sleep 5 & i=$((i+1)); done; echo all-started");
  EXPECT_EQ(r.out.find("all-started"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("fork"), std::string::npos) << r.err;
  EXPECT_NE(r.exit_code, 0);
  auto fine = sh(c, "sleep 0.1 & sleep 0.1 & wait; echo done");
  EXPECT_EQ(fine.out, "done\n") << fine.err;
}

TEST_F(Isolation, MemoryHogIsKilledAndReportedAsOutOfMemory) {
  auto c = trusted();
  c.memory_bytes = 32ULL << 20;
  auto r = run_isolated(c, {"/usr/bin/tail", "/dev/zero"});
  EXPECT_EQ(r.exit_code, 128 + SIGKILL) << r.err;
  EXPECT_NE(r.note.find("out of memory"), std::string::npos) << r.note;
  auto small = sh(c, "head -c 1000000 /dev/zero | wc -c");
  EXPECT_EQ(small.out, "1000000\n");
  EXPECT_EQ(small.note, "");
}

TEST_F(Isolation, NetworkNoneCannotReachTheHostLoopback) {
  int server = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(server, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(server, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(server, 8), 0);
  socklen_t len = sizeof addr;
  ::getsockname(server, reinterpret_cast<sockaddr*>(&addr), &len);
  const std::string port = std::to_string(ntohs(addr.sin_port));
  const std::string script = "if echo hi > /dev/tcp/127.0.0.1/" + port +
                             "; then echo connected; else echo unreachable; fi;"
                             "ip -o link show up 2>/dev/null | grep -c LOOPBACK || true";
  auto none = run_isolated(trusted(), {"/bin/bash", "-c", script});
  EXPECT_NE(none.out.find("unreachable"), std::string::npos) << none.out << none.err;
  auto c = trusted();
  c.network = sb::NetworkMode::host;
  c.allow_host_network = true;
  auto host = run_isolated(c, {"/bin/bash", "-c", script});
  EXPECT_NE(host.out.find("connected"), std::string::npos) << host.out << host.err;
  ::close(server);
  // Loopback is up inside the new network namespace.
  auto lo = run_isolated(trusted(), {"/bin/bash", "-c", "cat /sys/class/net/lo/operstate /sys/class/net/lo/flags"});
  EXPECT_NE(lo.out.find("0x9"), std::string::npos) << lo.out << lo.err; // IFF_UP | IFF_LOOPBACK
}

TEST_F(Isolation, CapabilitiesAreEmptyWithoutCapAdd) {
  const std::string script = "grep -E '^Cap(Inh|Prm|Eff|Bnd|Amb)' /proc/self/status";
  auto r = sh(trusted(), script);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* set : {"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"})
    EXPECT_NE(r.out.find(std::string(set) + ":\t0000000000000000"), std::string::npos) << set << "\n" << r.out;
  auto c = trusted();
  c.cap_add = {"CAP_NET_RAW"};
  auto with = sh(c, script);
  for (const char* set : {"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"})
    EXPECT_NE(with.out.find(std::string(set) + ":\t0000000000002000"), std::string::npos) << set << "\n" << with.out;
}

TEST_F(Isolation, UntrustedRunsUnderGvisor) {
  if (!std::filesystem::exists("/usr/bin/runsc") && !std::filesystem::exists("/usr/local/bin/runsc"))
    NUCLEUS_SKIP("runsc (Debian package runsc) is not installed");
  sb::IsolationConfig c; // the default: untrusted
  auto host_release = sh(trusted(), "uname -r");
  auto r = sh(c, "uname -r; dmesg | head -3");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.substr(0, r.out.find('\n')), host_release.out.substr(0, host_release.out.find('\n')));
  EXPECT_NE(r.out.find("gVisor"), std::string::npos) << r.out; // gVisor's own boot messages
  auto exit_code = sh(c, "exit 5");
  EXPECT_EQ(exit_code.exit_code, 5);
}

TEST_F(Isolation, UntrustedWithoutRunscRefusesWithTheExactMessage) {
  sb::IsolationConfig c;
  c.search_path = "/nonexistent";
  try {
    sb::prepare(c, {"/bin/true"});
    FAIL() << "prepare accepted untrusted work without runsc";
  } catch (const core::Error& e) {
    // The words the README promises: refused, naming how to install runsc and both explicit ways out.
    for (const char* said : {"gVisor", "runsc"})
      EXPECT_NE(std::string(e.what()).find(said), std::string::npos) << e.what();
    for (const char* named : {"apt-get install runsc", "--allow-degraded-security", "--trust-level trusted"})
      EXPECT_NE(e.hint().find(named), std::string::npos) << named << ": " << e.hint();
    EXPECT_EQ(e.kind(), core::ErrorKind::usage);
  }
  c.degraded_env_set = true; // the variable alone does not opt in
  EXPECT_THROW(sb::prepare(c, {"/bin/true"}), core::Error);
  c.allow_degraded_security = true;
  auto r = sh(c, "echo degraded");
  EXPECT_EQ(r.out, "degraded\n");
  ASSERT_FALSE(r.warnings.empty());
  EXPECT_NE(r.warnings.back().find("without gVisor"), std::string::npos);
}
