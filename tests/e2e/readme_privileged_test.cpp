// What the README promises of nucleus-run and nucleus-trace, run as a user would run the tools:
// profile pinning, lockdown, the trust-level refusals and warnings, the profile under gVisor,
// cgroup limits (v1 where v2 lacks the controllers), rlimits, --rootfs, --tmpfs, --ro, the minimal
// /dev, no_new_privs, a filter that cannot be installed, and --baseline. Test folders are bound
// explicitly (--rw/--ro) and the tools get an explicit environment where it matters.
#include "e2e_support.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

namespace fs = std::filesystem;
using nlohmann::json;
using nucleus::test::run;
using nucleus::test::sample;
using nucleus::test::tool;

namespace {

const json allow_all = json{{"defaultAction", "SCMP_ACT_ALLOW"}};

// The hash as the README computes it: sha256sum, not the code under test.
std::string sha256_of(const std::string& path) {
  auto r = run({"sha256sum", path});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return r.out.substr(0, 64);
}

pid_t parent_of(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto paren = stat.rfind(')');
  if (paren == std::string::npos || paren + 4 >= stat.size()) return 0;
  return static_cast<pid_t>(std::atoi(stat.c_str() + paren + 4));
}

// A process below `root` running `exe`, or 0.
pid_t descendant_running(pid_t root, const fs::path& exe) {
  for (const auto& entry : fs::directory_iterator("/proc")) {
    const std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    pid_t pid = std::atoi(name.c_str());
    std::error_code ec;
    if (fs::read_symlink(entry.path() / "exe", ec) != exe) continue;
    for (pid_t p = parent_of(pid), depth = 0; p > 1 && depth < 32; p = parent_of(p), ++depth)
      if (p == root) return pid;
  }
  return 0;
}

// A tool started in the background, stopped with SIGTERM (which it passes on) at the end.
struct Background {
  pid_t pid = -1;
  explicit Background(std::vector<std::string> argv) {
    pid = ::fork();
    if (pid == 0) {
      int null = ::open("/dev/null", O_RDWR);
      ::dup2(null, 0);
      ::dup2(null, 1);
      std::vector<char*> args;
      for (auto& a : argv) args.push_back(a.data());
      args.push_back(nullptr);
      ::execv(args[0], args.data());
      ::_exit(127);
    }
  }
  int stop() {
    int status = 0;
    if (pid <= 0) return -1;
    ::kill(pid, SIGTERM);
    ::waitpid(pid, &status, 0);
    pid = -1;
    return status;
  }
  ~Background() { stop(); }
};

// The directory of `pid`'s cgroup for `controller`: the v1 hierarchy that has it, or the v2 one.
struct CgroupPlace {
  int version = 0;
  fs::path dir;
};
CgroupPlace cgroup_of(pid_t pid, const std::string& controller) {
  std::map<std::string, fs::path> v1_mounts; // controller -> mount point
  fs::path v2_mount;
  std::ifstream mounts("/proc/mounts");
  for (std::string dev, at, type, opts, rest; mounts >> dev >> at >> type >> opts && std::getline(mounts, rest);) {
    if (type == "cgroup2") v2_mount = at;
    if (type != "cgroup") continue;
    std::istringstream o(opts);
    for (std::string opt; std::getline(o, opt, ',');) v1_mounts[opt] = at;
  }
  std::ifstream in("/proc/" + std::to_string(pid) + "/cgroup");
  CgroupPlace v2;
  for (std::string line; std::getline(in, line);) {
    auto c1 = line.find(':'), c2 = line.find(':', c1 + 1);
    std::string controllers = line.substr(c1 + 1, c2 - c1 - 1), path = line.substr(c2 + 1);
    if (controllers.empty()) {
      v2 = {2, v2_mount / fs::path(path).relative_path()};
      continue;
    }
    std::istringstream cs(controllers);
    for (std::string c; std::getline(cs, c, ',');)
      if (c == controller && v1_mounts.count(c)) return {1, v1_mounts[c] / fs::path(path).relative_path()};
  }
  return v2;
}

std::string first_line(const fs::path& file) {
  auto text = nucleus::test::read_text(file);
  return text.substr(0, text.find('\n'));
}

// Whether cgroup v2 offers `controller` to the groups below the caller's (nucleus's own rule).
bool v2_offers(const std::string& controller) {
  auto place = cgroup_of(::getpid(), "");
  if (place.version != 2) return false;
  std::istringstream in(first_line(place.dir / "cgroup.controllers"));
  for (std::string c; in >> c;)
    if (c == controller) return true;
  return false;
}

// Runs argv with allow-all seccomp filters already installed: `full` fills the process's filter chain
// until the kernel refuses even a one-instruction filter (its limit of 32768 instructions per chain,
// counted after conversion, with a penalty per filter); otherwise one filter is stacked.
nucleus::test::RunResult run_with_filter_chain(const std::vector<std::string>& argv, bool full,
                                               const nucleus::test::TempDir& io) {
  auto allow_filter = [](unsigned short n) {
    std::vector<sock_filter> prog(n, sock_filter BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 0));
    prog.back() = BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
    return prog;
  };
  std::vector<std::vector<sock_filter>> sizes;
  for (unsigned short n = 4096; n >= 1; n = static_cast<unsigned short>(n / 2)) sizes.push_back(allow_filter(n));
  std::vector<std::string> args_copy = argv;
  std::vector<char*> args;
  for (auto& a : args_copy) args.push_back(a.data());
  args.push_back(nullptr);
  const std::string out = (io / "chain.out").string(), err = (io / "chain.err").string();
  pid_t pid = ::fork();
  if (pid == 0) {
    int o = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int e = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ::dup2(o, 1);
    ::dup2(e, 2);
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) ::_exit(90);
    int installed = 0;
    for (auto& f : sizes) {
      sock_fprog fprog{static_cast<unsigned short>(f.size()), f.data()};
      while (::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fprog) == 0) {
        ++installed;
        if (!full) break;
      }
      if (!full) break;
    }
    if (installed == 0) ::_exit(91);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  nucleus::test::RunResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = nucleus::test::read_text(out);
  r.err = nucleus::test::read_text(err);
  return r;
}

class ReadmePrivileged : public ::testing::Test {
protected:
  void SetUp() override { NUCLEUS_REQUIRE_ROOT(); }
  nucleus::test::TempDir dir;
  std::string allow() { return nucleus::test::write_profile(dir, "allow.json", allow_all); }
  // nucleus-run, trusted, with the test folder bound writable, then `extra`, then the command.
  std::vector<std::string> nucleus_run(std::vector<std::string> extra, std::vector<std::string> command) {
    std::vector<std::string> argv{tool("nucleus-run").string(), "--trust-level=trusted", "--rw", dir.path().string()};
    argv.insert(argv.end(), extra.begin(), extra.end());
    argv.push_back("--");
    argv.insert(argv.end(), command.begin(), command.end());
    return argv;
  }
};

} // namespace

TEST_F(ReadmePrivileged, ProfileSha256PinsTheProfile) {
  auto profile = allow();
  auto marker = (dir / "ran").string();
  const auto hash = sha256_of(profile);
  auto r =
      run(nucleus_run({"--profile", profile, "--profile-sha256", hash}, {sample("probe").string(), "--touch", marker}));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  ASSERT_TRUE(fs::exists(marker)) << "the matching hash must let the command run";
  fs::remove(marker);
  std::string wrong = hash;
  wrong[0] = wrong[0] == '0' ? '1' : '0';
  r = run(
      nucleus_run({"--profile", profile, "--profile-sha256", wrong}, {sample("probe").string(), "--touch", marker}));
  EXPECT_EQ(r.exit_code, 125) << r.err;
  EXPECT_NE(r.err.find(profile), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(marker)) << "the command ran under a profile whose hash differs";
}

TEST_F(ReadmePrivileged, RequireKernelLockdownOnTheCommandLine) {
  // What the kernel shows, read here: "none [integrity] confidentiality", or no file at all.
  std::string state;
  if (fs::exists("/sys/kernel/security/lockdown")) {
    auto text = nucleus::test::read_text("/sys/kernel/security/lockdown");
    std::smatch m;
    if (std::regex_search(text, m, std::regex(R"(\[([a-z]+)\])"))) state = m[1];
  }
  auto marker = (dir / "ran").string();
  for (std::string wanted : {"integrity", "confidentiality"}) {
    SCOPED_TRACE(wanted);
    const bool satisfied = state == "confidentiality" || (state == "integrity" && wanted == "integrity");
    auto r = run(nucleus_run({"--profile", allow(), "--require-kernel-lockdown", wanted},
                             {sample("probe").string(), "--touch", marker}));
    if (satisfied) {
      EXPECT_EQ(r.exit_code, 0) << r.err;
      EXPECT_TRUE(fs::exists(marker));
    } else {
      EXPECT_EQ(r.exit_code, 125) << r.err;
      EXPECT_NE(r.err.find("lockdown"), std::string::npos) << r.err;
      EXPECT_FALSE(fs::exists(marker)) << "the command ran although the kernel is not locked down (" << state << ")";
    }
    fs::remove(marker);
  }
  EXPECT_NE(run(nucleus_run({"--profile", allow(), "--require-kernel-lockdown", "bogus"}, {"/bin/true"})).exit_code, 0);
}

// Untrusted (the default) without runsc on PATH: refused, with the README's words; the variable
// alone is ignored with a warning; --allow-degraded-security runs, saying what it gives up.
TEST_F(ReadmePrivileged, UntrustedWithoutRunscIsRefusedAndTheVariableIsIgnored) {
  auto profile = allow();
  auto marker = (dir / "ran").string();
  const std::string path = "PATH=" + (dir / "no-runsc-here").string();
  fs::create_directory(dir / "no-runsc-here");
  auto r = run({"/usr/bin/env", "-i", path, tool("nucleus-run").string(), "--rw", dir.path().string(), "--profile",
                profile, "--", sample("probe").string(), "--touch", marker});
  EXPECT_EQ(r.exit_code, 125) << r.err;
  for (const char* said :
       {"gVisor", "runsc", "apt-get install runsc", "--allow-degraded-security", "--trust-level trusted"})
    EXPECT_NE(r.err.find(said), std::string::npos) << said << "\n" << r.err;
  EXPECT_FALSE(fs::exists(marker));
  EXPECT_EQ(r.err.find("NUCLEUS_ALLOW_DEGRADED_SECURITY"), std::string::npos) << "warned about a variable not set";

  r = run({"/usr/bin/env", "-i", path, "NUCLEUS_ALLOW_DEGRADED_SECURITY=1", tool("nucleus-run").string(), "--rw",
           dir.path().string(), "--profile", profile, "--", sample("probe").string(), "--touch", marker});
  EXPECT_EQ(r.exit_code, 125) << r.err;
  EXPECT_NE(r.err.find("NUCLEUS_ALLOW_DEGRADED_SECURITY is set but ignored"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(marker)) << "the variable alone opted in to weaker isolation";

  r = run({"/usr/bin/env", "-i", path, tool("nucleus-run").string(), "--allow-degraded-security", "--rw",
           dir.path().string(), "--profile", profile, "--", sample("probe").string(), "--touch", marker});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(fs::exists(marker));
  EXPECT_NE(r.err.find("without gVisor"), std::string::npos) << r.err;
}

TEST_F(ReadmePrivileged, NetworkHostNeedsItsFlagAndWarns) {
  auto profile = allow();
  auto r = run(nucleus_run({"--profile", profile, "--network", "host"}, {"/bin/true"}));
  EXPECT_EQ(r.exit_code, 125) << r.err;
  EXPECT_NE(r.err.find("--allow-host-network"), std::string::npos) << r.err;
  // /proc/net/dev lists the interfaces of the reader's network namespace.
  const std::string count = "tail -n +3 /proc/net/dev | wc -l";
  auto own = run(nucleus_run({"--profile", profile}, {"/bin/sh", "-c", count}));
  EXPECT_EQ(own.out, "1\n") << "--network none: loopback only\n" << own.err;
  EXPECT_EQ(own.err.find("warning: --network host"), std::string::npos) << own.err;
  r = run(nucleus_run({"--profile", profile, "--network", "host", "--allow-host-network"}, {"/bin/sh", "-c", count}));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("warning: --network host"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("127.0.0.1"), std::string::npos) << "the warning says what it exposes: " << r.err;
  // The host's interfaces are really there.
  EXPECT_EQ(r.out, run({"/bin/sh", "-c", count}).out);
  // Untrusted work never gets it, flag or not.
  r = run({tool("nucleus-run").string(), "--trust-level=untrusted", "--allow-degraded-security", "--profile", profile,
           "--network", "host", "--allow-host-network", "--", "/bin/true"});
  EXPECT_EQ(r.exit_code, 125) << r.err;
  EXPECT_NE(r.err.find("untrusted workloads never get the host network"), std::string::npos) << r.err;
}

TEST_F(ReadmePrivileged, ProfileIsEnforcedUnderGvisor) {
  if (!fs::exists("/usr/bin/runsc") && !fs::exists("/usr/local/bin/runsc"))
    NUCLEUS_SKIP("runsc (Debian package runsc) is not installed");
  auto deny = nucleus::test::write_profile(
      dir, "deny.json",
      json{{"defaultAction", "SCMP_ACT_ALLOW"},
           {"syscalls", json::array({{{"names", {"getppid"}}, {"action", "SCMP_ACT_ERRNO"}}})}});
  const std::string env_path = "PATH=/usr/local/bin:/usr/bin:/bin";
  auto under_gvisor = [&](const std::string& profile) {
    return run({"/usr/bin/env", "-i", env_path, tool("nucleus-run").string(), "--trust-level=untrusted", "--ro",
                nucleus::test::binary_dir().string(), "--profile", profile, "--", sample("probe").string(), "getppid",
                "getpid"},
               {}, 120);
  };
  auto control = under_gvisor(allow());
  ASSERT_EQ(control.exit_code, 0) << control.err;
  auto lines = nucleus::test::probe_lines(control.out);
  ASSERT_EQ(lines.size(), 2u) << control.out;
  EXPECT_EQ(lines[0]["errno"].get<int>(), 0) << "getppid must work without the rule";
  auto r = under_gvisor(deny);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  lines = nucleus::test::probe_lines(r.out);
  ASSERT_EQ(lines.size(), 2u) << r.out;
  // EPERM: the profile's default errno. (gVisor 20221219 answers EPERM for any errnoRet.)
  EXPECT_EQ(lines[0]["errno"].get<int>(), EPERM) << "the profile was not enforced under gVisor: " << lines[0].dump();
  EXPECT_EQ(lines[1]["errno"].get<int>(), 0);
  // And it really was gVisor's kernel: its dmesg is gVisor's own.
  auto k = run({"/usr/bin/env", "-i", env_path, tool("nucleus-run").string(), "--trust-level=untrusted", "--profile",
                allow(), "--", "/bin/dmesg"},
               {}, 120);
  EXPECT_NE(k.out.find("gVisor"), std::string::npos) << k.out << k.err;
}

// --cpus, --memory and --pids land in the workload's own cgroup: v2 where it offers the
// controllers, v1 otherwise (this is where the v1 fallback is exercised on hybrid hosts).
TEST_F(ReadmePrivileged, CgroupLimitsReachTheWorkload) {
  Background tracer(
      nucleus_run({"--profile", allow(), "--cpus", "0.25", "--memory", "96M", "--pids", "17"}, {"/bin/sleep", "30"}));
  pid_t workload = 0;
  for (int i = 0; i < 500 && workload == 0; ++i) {
    workload = descendant_running(tracer.pid, fs::canonical("/bin/sleep"));
    if (workload == 0) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_NE(workload, 0) << "the workload never started";
  std::set<fs::path> groups;
  // pids.max is --pids plus 2: nucleus's outer process and the sandbox's pid 1 count too.
  for (const char* controller : {"cpu", "memory", "pids"}) {
    SCOPED_TRACE(controller);
    auto place = cgroup_of(workload, controller);
    const int expected_version = v2_offers(controller) ? 2 : 1;
    EXPECT_EQ(place.version, expected_version) << "cgroup v2 where it has the controller, v1 otherwise";
    ASSERT_NE(place.dir, cgroup_of(::getpid(), controller).dir) << "the workload is in the caller's own cgroup";
    groups.insert(place.dir);
    const std::string c = controller;
    if (place.version == 1) {
      std::map<std::string, std::vector<std::pair<std::string, std::string>>> want{
          {"cpu", {{"cpu.cfs_quota_us", "25000"}, {"cpu.cfs_period_us", "100000"}}},
          {"memory", {{"memory.limit_in_bytes", std::to_string(96u << 20)}}},
          {"pids", {{"pids.max", "19"}}}};
      for (const auto& [file, value] : want[c]) EXPECT_EQ(first_line(place.dir / file), value) << file;
    } else {
      std::map<std::string, std::vector<std::pair<std::string, std::string>>> want{
          {"cpu", {{"cpu.max", "25000 100000"}}},
          {"memory", {{"memory.max", std::to_string(96u << 20)}}},
          {"pids", {{"pids.max", "19"}}}};
      for (const auto& [file, value] : want[c]) EXPECT_EQ(first_line(place.dir / file), value) << file;
    }
  }
  int status = tracer.stop();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 128 + SIGTERM) << status;
  for (const auto& g : groups) EXPECT_FALSE(fs::exists(g)) << g << " left behind";
}

TEST_F(ReadmePrivileged, CgroupV1IsUsedWhereV2LacksTheControllers) {
  if (v2_offers("cpu")) NUCLEUS_SKIP("cgroup v2 offers the cpu controller here: the v1 fallback is not taken");
  auto r = run(nucleus_run({"--profile", allow(), "--cpus", "0.5", "--show-sandbox"}, {"/bin/true"}));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("cgroup v1 "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("cpu.cfs_quota_us for 0.5"), std::string::npos) << r.err;
}

TEST_F(ReadmePrivileged, RlimitsAreApplied) {
  auto r = run(nucleus_run({"--profile", allow(), "--rlimit", "nofile=64:128", "--rlimit", "nproc=50"},
                           {"/bin/bash", "-c", "ulimit -Sn; ulimit -Hn; ulimit -Su; ulimit -Sc; ulimit -Hc"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "64\n128\n50\n0\n0\n") << "nofile soft and hard, nproc, and core=0 by default";
  // A limit that is applied is enforced: with nofile=40, descriptors 3..39 open and 40 does not.
  r = run(nucleus_run({"--profile", allow(), "--rlimit", "nofile=40"},
                      {"/bin/bash", "-c",
                       "for i in $(seq 3 39); do eval \"exec $i</dev/null\" || exit 1; done && echo below-open;"
                       " exec 40</dev/null && echo limit-exceeded"}));
  EXPECT_NE(r.out.find("below-open"), std::string::npos) << r.out << r.err;
  EXPECT_EQ(r.out.find("limit-exceeded"), std::string::npos) << r.out << r.err;
}

TEST_F(ReadmePrivileged, RootfsTmpfsAndRo) {
  // A root of our own: dash and its libraries, a marker, and the mount points nucleus needs.
  auto root = dir / "root";
  for (const char* d : {"bin", "lib/x86_64-linux-gnu", "lib64", "proc", "dev", "tmp", "data", "scratch"})
    fs::create_directories(root / d);
  fs::copy_file("/bin/sh", root / "bin/sh");
  for (const char* lib : {"/lib/x86_64-linux-gnu/libc.so.6", "/lib64/ld-linux-x86-64.so.2"}) {
    if (!fs::exists(lib)) NUCLEUS_SKIP(std::string("no ") + lib + " to build a root from");
    fs::copy_file(fs::canonical(lib), root / fs::path(lib).relative_path());
  }
  nucleus::test::write_text(root / "marker", "own-root\n");
  auto data = dir / "data";
  fs::create_directory(data);
  nucleus::test::write_text(data / "in", "host-data\n");
  auto scratch = dir / "scratch";
  fs::create_directory(scratch);
  nucleus::test::write_text(scratch / "hidden", "x\n");
  auto profile = allow();
  std::vector<std::string> argv{
      tool("nucleus-run").string(),
      "--trust-level=trusted",
      "--profile",
      profile,
      "--rootfs",
      root.string(),
      "--ro",
      data.string() + ":/data",
      "--tmpfs",
      "/scratch",
      "--",
      "/bin/sh",
      "-c",
      "read m < /marker; echo $m;"
      "test -e /etc/passwd || echo no-host-etc;"
      "read d < /data/in; echo $d;"
      "e=$( (echo x > /data/new) 2>&1 ); case $e in *'Read-only file system'*) echo ro-refused;; esac;"
      "test -e /scratch/hidden || echo scratch-empty;"
      "echo y > /scratch/written && read s < /scratch/written && echo scratch-$s;"
      "e=$( (echo z > /newfile) 2>&1 ); case $e in *'Read-only file system'*) echo root-ro;; esac"};
  auto r = run(argv);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "own-root\nno-host-etc\nhost-data\nro-refused\nscratch-empty\nscratch-y\nroot-ro\n") << r.err;
  // Nothing of it reached the host.
  EXPECT_FALSE(fs::exists(data / "new"));
  EXPECT_FALSE(fs::exists(scratch / "written"));
  EXPECT_FALSE(fs::exists(root / "newfile"));
  EXPECT_EQ(nucleus::test::read_text(scratch / "hidden"), "x\n");
  // Without --ro the host folder is not there at all, and without --tmpfs /scratch is the rootfs's.
  r = run({tool("nucleus-run").string(), "--trust-level=trusted", "--profile", profile, "--rootfs", root.string(), "--",
           "/bin/sh", "-c", "test -e /data/in || echo no-data; (echo y > /scratch/w) 2>/dev/null || echo scratch-ro"});
  EXPECT_EQ(r.out, "no-data\nscratch-ro\n") << r.err;
}

TEST_F(ReadmePrivileged, MinimalDevAndNoNewPrivs) {
  auto r = run(nucleus_run(
      {"--profile", allow()},
      {"/bin/sh", "-c",
       "for f in /dev/* /dev/*/*; do if [ -c $f ] || [ -b $f ]; then printf '%s ' $f; fi; done; echo;"
       "echo x > /dev/null && echo null-ok; head -c 4 /dev/zero | wc -c; head -c 4 /dev/urandom | wc -c;"
       "(touch /dev/nucleus-new) 2>/dev/null || echo dev-ro;"
       // Read-only by its mount (the last /dev listed is the one on top), not only by Landlock,
       // which also refuses the touch.
       "awk '$5 == \"/dev\" { split($6, o, \",\"); top = o[1] } END { print \"dev-mount-\" top }' /proc/self/mountinfo;"
       "grep -E '^(NoNewPrivs|Seccomp):' /proc/self/status"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::istringstream lines(r.out);
  std::string devices;
  std::getline(lines, devices);
  std::set<std::string> allowed{"/dev/full", "/dev/null", "/dev/random", "/dev/tty", "/dev/urandom", "/dev/zero"};
  std::istringstream each(devices);
  std::set<std::string> seen;
  for (std::string d; each >> d;) {
    if (d.starts_with("/dev/fd/")) continue; // the shell's own descriptors, through /proc/self/fd
    seen.insert(d);
    EXPECT_TRUE(allowed.count(d) || d.starts_with("/dev/pts/")) << d << " is not part of the minimal /dev";
  }
  EXPECT_TRUE(seen.count("/dev/null")) << devices;
  // Host devices the host does have are absent inside.
  for (const char* host_only : {"/dev/kmsg", "/dev/mem", "/dev/port", "/dev/loop0"})
    EXPECT_FALSE(seen.count(host_only)) << host_only;
  std::string rest((std::istreambuf_iterator<char>(lines)), std::istreambuf_iterator<char>());
  EXPECT_EQ(rest, "null-ok\n4\n4\ndev-ro\ndev-mount-ro\nNoNewPrivs:\t1\nSeccomp:\t2\n") << r.err;
}

// The kernel refuses a filter when the process's chain would exceed 32768 instructions. Started from
// a process whose chain is nearly full, nucleus-run's child cannot install the profile: the command
// must not start, and the error must say so. With room left, the same command runs (the control).
TEST_F(ReadmePrivileged, FilterThatFailsToInstallNeverStartsTheCommand) {
  auto profile = nucleus::test::write_profile(dir, "docker.json", nucleus::test::docker_default_resolved());
  auto marker = (dir / "ran").string();
  auto argv = nucleus_run({"--profile", profile}, {sample("probe").string(), "--touch", marker});
  // One filter stacked: room for the profile's filter.
  auto control = run_with_filter_chain(argv, false, dir);
  ASSERT_EQ(control.exit_code, 0) << control.err;
  ASSERT_TRUE(fs::exists(marker)) << control.err;
  fs::remove(marker);
  // The chain full: no room for anything.
  auto r = run_with_filter_chain(argv, true, dir);
  EXPECT_EQ(r.exit_code, 125) << r.err;
  EXPECT_FALSE(fs::exists(marker)) << "the command started without its filter";
  EXPECT_NE(r.err.find("nucleus-run: error:"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("filter"), std::string::npos) << r.err;
}

// --baseline: the workload runs unhindered, and the trace holds only what the baseline profile
// does not allow.
TEST_F(ReadmePrivileged, TraceBaselineRecordsOnlyWhatTheProfileDoesNotAllow) {
  auto first = (dir / "first.trace").string();
  auto with_flags = [&](std::vector<std::string> extra, std::vector<std::string> command) {
    std::vector<std::string> argv{tool("nucleus-trace").string(), "--trust-level=trusted", "-q", "--ro",
                                  nucleus::test::binary_dir().string()};
    argv.insert(argv.end(), extra.begin(), extra.end());
    argv.push_back("--");
    argv.insert(argv.end(), command.begin(), command.end());
    return argv;
  };
  auto r = run(with_flags({"-o", first}, {sample("probe").string(), "getpid"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto baseline = (dir / "baseline.json").string();
  ASSERT_EQ(run({tool("nucleus-profile").string(), "gen", first, "-o", baseline}).exit_code, 0);
  auto second = (dir / "second.trace").string();
  r = run(with_flags({"--baseline", baseline, "-o", second},
                     {sample("probe").string(), "getpid", "getppid", "getpriority:0,0"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto lines = nucleus::test::probe_lines(r.out);
  ASSERT_EQ(lines.size(), 3u) << r.out;
  for (const auto& l : lines)
    EXPECT_EQ(l["errno"].get<int>(), 0) << "the baseline denied instead of logging: " << l.dump();
  std::set<std::string> names;
  std::ifstream in(second);
  for (std::string line; std::getline(in, line);) {
    auto j = json::parse(line);
    if (j["type"] == "syscall") names.insert(j["name"].get<std::string>());
    if (j["type"] == "header") {
      EXPECT_EQ(j.value("baseline", ""), baseline) << line;
    }
  }
  EXPECT_EQ(names, (std::set<std::string>{"getppid", "getpriority"}))
      << "everything the first run made is in the baseline";
}

TEST_F(ReadmePrivileged, TraceOfACommandThatCannotBeExecutedExits126) {
  auto not_exec = dir / "not-exec";
  nucleus::test::write_text(not_exec, "#!/bin/sh\necho ran\n");
  ::chmod(not_exec.c_str(), 0644);
  auto out = (dir / "x.trace").string();
  auto r = run({tool("nucleus-trace").string(), "--trust-level=trusted", "-q", "--ro", dir.path().string(), "-o", out,
                "--", not_exec.string()});
  EXPECT_EQ(r.exit_code, 126) << r.err;
  EXPECT_EQ(r.out.find("ran"), std::string::npos);
  ::chmod(not_exec.c_str(), 0755); // the control: executable, it runs
  r = run({tool("nucleus-trace").string(), "--trust-level=trusted", "-q", "--ro", dir.path().string(), "-o", out, "--",
           not_exec.string()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "ran\n");
}
