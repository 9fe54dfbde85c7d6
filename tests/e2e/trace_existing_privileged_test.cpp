// nucleus-trace --pid / --cgroup against the real kernel: processes started by the test, not by
// nucleus, recorded from the moment the trace attaches. What they fork and exec afterwards is in
// the trace; a process outside the target, running at the same time, is not.
#include "e2e_support.hpp"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>

using nlohmann::json;
using nucleus::test::read_trace_file;
using nucleus::test::run;
using nucleus::test::sample;
using nucleus::test::tool;
using nucleus::test::TraceFile;

namespace {

// The executables (last path component) the trace shows `name` under.
std::set<std::string> exes_of(const TraceFile& t, const std::string& name) {
  std::set<std::string> out;
  for (const auto& s : t.syscalls)
    if (s["name"] == name) out.insert(std::filesystem::path(s["exe"].get<std::string>()).filename().string());
  return out;
}

// A process the test starts itself, stdout and stderr into files; killed and reaped at the end.
class Process {
public:
  // `cgroup`: a cgroup v2 directory the child enters before it execs.
  Process(std::vector<std::string> argv, const std::filesystem::path& out, const std::string& cgroup = {}) : out_(out) {
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    const std::string procs = cgroup.empty() ? std::string() : cgroup + "/cgroup.procs";
    const std::string err = out.string() + ".err";
    pid_ = ::fork();
    if (pid_ == 0) {
      int fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
      int efd = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
      if (fd < 0 || efd < 0 || ::dup2(fd, 1) < 0 || ::dup2(efd, 2) < 0) ::_exit(120);
      if (!procs.empty()) {
        int c = ::open(procs.c_str(), O_WRONLY | O_CLOEXEC);
        if (c < 0 || ::write(c, "0", 1) != 1) ::_exit(121); // "0": the writing process itself
        ::close(c);
      }
      ::execv(args[0], args.data());
      ::_exit(127);
    }
  }
  ~Process() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return pid_; }
  std::string output() const { return contents(out_); }
  std::string errors() const { return contents(out_.string() + ".err"); }

  // Whether `text` appeared in stdout (or, `from_stderr`, stderr) within 10 s.
  bool wait_for(const std::string& text, bool from_stderr = false) const {
    for (int i = 0; i < 400; ++i) {
      if ((from_stderr ? errors() : output()).find(text) != std::string::npos) return true;
      ::usleep(25000);
    }
    return false;
  }

  // The exit code (128+N for signal N), or -1 when it did not end within `timeout`.
  int wait(std::chrono::seconds timeout = std::chrono::seconds(30)) {
    const auto end = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < end) {
      int status = 0;
      pid_t r = ::waitpid(pid_, &status, WNOHANG);
      if (r == pid_) {
        pid_ = 0;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      ::usleep(10000);
    }
    return -1;
  }

private:
  static std::string contents(const std::filesystem::path& path) {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
  std::filesystem::path out_;
  pid_t pid_ = 0;
};

// The first mount point of file system type `type` ("cgroup2", "cgroup"), or empty.
std::string mount_of(const std::string& type) {
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    auto dash = line.find(" - ");
    if (dash == std::string::npos) continue;
    std::istringstream after(line.substr(dash + 3));
    std::string fstype;
    after >> fstype;
    if (fstype != type) continue;
    std::istringstream fields(line);
    std::string id, parent, dev, root, point;
    fields >> id >> parent >> dev >> root >> point;
    return point;
  }
  return {};
}

// A fresh cgroup v2 directory, removed at destruction (once its processes are gone).
class Cgroup {
public:
  Cgroup(const std::string& mount, const std::string& name)
      : path_(mount + "/nucleus-test-" + std::to_string(::getpid()) + "-" + name) {
    std::filesystem::create_directory(path_);
  }
  ~Cgroup() {
    for (int i = 0; i < 100 && ::rmdir(path_.c_str()) != 0 && errno == EBUSY; ++i) ::usleep(20000);
  }
  const std::string& path() const { return path_; }

private:
  std::string path_;
};

class TraceExistingPrivileged : public ::testing::Test {
protected:
  void SetUp() override { NUCLEUS_REQUIRE_ROOT(); }
  // nucleus-trace in the background on an existing target, until it says it records.
  std::unique_ptr<Process> start_tracer(std::vector<std::string> target, const std::string& trace) {
    std::vector<std::string> argv = {tool("nucleus-trace").string(), "-o", trace, "--duration", "20"};
    argv.insert(argv.end(), target.begin(), target.end());
    auto tracer = std::make_unique<Process>(argv, dir / "tracer.out");
    EXPECT_TRUE(tracer->wait_for("recording", true)) << tracer->errors();
    return tracer;
  }
  nucleus::test::TempDir dir;
};

} // namespace

// The waiter forks and execs the probe only after the trace has attached: its calls are there only
// if the recorder follows forks (the child is a new process) and execs (it is named as the probe).
TEST_F(TraceExistingPrivileged, PidFollowsWhatTheProcessForksAndExecsAfterAttaching) {
  Process target({sample("waiter").string(), sample("probe").string(), "getsid:0"}, dir / "target.out");
  Process other({sample("waiter").string(), sample("probe").string(), "getpgid:0"}, dir / "other.out");
  ASSERT_TRUE(target.wait_for("ready"));
  ASSERT_TRUE(other.wait_for("ready"));
  const auto trace = (dir / "pid.trace").string();
  const pid_t root = target.pid();
  auto tracer = start_tracer({"--pid", std::to_string(root)}, trace);
  ASSERT_EQ(::kill(target.pid(), SIGUSR1), 0);
  ASSERT_EQ(::kill(other.pid(), SIGUSR1), 0);
  EXPECT_EQ(target.wait(), 0);
  EXPECT_EQ(other.wait(), 0);
  const auto started = std::chrono::steady_clock::now();
  ASSERT_EQ(tracer->wait(), 0) << tracer->errors();
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(10))
      << "the trace ends when the process exits";

  auto t = read_trace_file(trace);
  EXPECT_EQ(t.summary["exit_code"], 0);
  EXPECT_EQ(t.header["target"], "pid " + std::to_string(root));
  EXPECT_EQ(t.header["source"], "ebpf");
  EXPECT_TRUE(t.header["command"].empty());
  EXPECT_EQ(exes_of(t, "getsid"), std::set<std::string>{"probe"}) << "the exec'd child's own call";
  EXPECT_EQ(exes_of(t, "clone"), std::set<std::string>{"waiter"}) << "the target's fork, under its own name";
  EXPECT_TRUE(exes_of(t, "getpgid").empty()) << "a process outside the tree was recorded";
}

class TraceCgroupPrivileged : public TraceExistingPrivileged, public ::testing::WithParamInterface<std::string> {};

// In a v2 cgroup the kernel tells membership; a v1 one is followed as the tree of its processes.
TEST_P(TraceCgroupPrivileged, RecordsEveryProcessInItAndNoneOutside) {
  const std::string mount = mount_of(GetParam());
  if (mount.empty()) NUCLEUS_SKIP("no " + GetParam() + " hierarchy is mounted");
  Cgroup inside(mount, "in");
  Cgroup outside(mount, "out");
  Process first({sample("waiter").string(), sample("probe").string(), "getsid:0"}, dir / "first.out", inside.path());
  Process second({sample("waiter").string(), sample("probe").string(), "getpgid:0"}, dir / "second.out", inside.path());
  Process third({sample("waiter").string(), sample("probe").string(), "getpriority:0,0"}, dir / "third.out",
                outside.path());
  ASSERT_TRUE(first.wait_for("ready")) << first.errors();
  ASSERT_TRUE(second.wait_for("ready")) << second.errors();
  ASSERT_TRUE(third.wait_for("ready")) << third.errors();
  const auto trace = (dir / "cgroup.trace").string();
  auto tracer = start_tracer({"--cgroup", inside.path()}, trace);
  for (pid_t pid : {first.pid(), second.pid(), third.pid()}) ASSERT_EQ(::kill(pid, SIGUSR1), 0);
  EXPECT_EQ(first.wait(), 0);
  EXPECT_EQ(second.wait(), 0);
  EXPECT_EQ(third.wait(), 0);
  const auto started = std::chrono::steady_clock::now();
  ASSERT_EQ(tracer->wait(), 0) << tracer->errors();
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(10))
      << "the trace ends when the cgroup is empty";

  auto t = read_trace_file(trace);
  EXPECT_EQ(t.header["target"], "cgroup " + inside.path());
  EXPECT_EQ(exes_of(t, "getsid"), std::set<std::string>{"probe"});
  EXPECT_EQ(exes_of(t, "getpgid"), std::set<std::string>{"probe"});
  EXPECT_TRUE(exes_of(t, "getpriority").empty()) << "a process of another cgroup was recorded";
  EXPECT_EQ(t.header.contains("warnings"), GetParam() == "cgroup") << t.header.dump();
}

// The exit status of a process nucleus did not start is the root's own, seen as it exits.
TEST_F(TraceExistingPrivileged, PidTraceRecordsTheRootsExitCode) {
  Process target({sample("waiter").string(), sample("probe").string(), "no_such_call"}, dir / "target.out");
  ASSERT_TRUE(target.wait_for("ready"));
  const auto trace = (dir / "exit.trace").string();
  auto tracer = start_tracer({"--pid", std::to_string(target.pid())}, trace);
  ASSERT_EQ(::kill(target.pid(), SIGUSR1), 0);
  EXPECT_EQ(target.wait(), 2); // the probe's exit code for an unknown call, passed on by the waiter
  ASSERT_EQ(tracer->wait(), 0) << tracer->errors();
  EXPECT_NE(tracer->errors().find("exit code 2"), std::string::npos) << tracer->errors();
  EXPECT_EQ(read_trace_file(trace).summary["exit_code"], 2);
}

// A process moved into the cgroup after the trace attached is counted at once (v2) and named on
// the next check: its calls there are under its executable, not "?".
TEST_F(TraceExistingPrivileged, ProcessMovedIntoTheCgroupIsRecordedUnderItsName) {
  const std::string mount = mount_of("cgroup2");
  if (mount.empty()) NUCLEUS_SKIP("no cgroup v2 hierarchy is mounted");
  Cgroup inside(mount, "moved");
  Process anchor({sample("waiter").string(), sample("probe").string(), "getsid:0"}, dir / "anchor.out", inside.path());
  // Another file than the anchor's, so that only naming it after the move gives it its name.
  const auto mover_exe = dir / "mover";
  std::filesystem::copy_file(sample("waiter"), mover_exe);
  Process mover({mover_exe.string(), sample("probe").string(), "getpgid:0"}, dir / "mover.out");
  ASSERT_TRUE(anchor.wait_for("ready")) << anchor.errors();
  ASSERT_TRUE(mover.wait_for("ready")) << mover.errors();
  const auto trace = (dir / "moved.trace").string();
  auto tracer = start_tracer({"--cgroup", inside.path()}, trace);
  {
    std::ofstream procs(inside.path() + "/cgroup.procs");
    procs << mover.pid() << std::flush;
    ASSERT_TRUE(procs.good());
  }
  ::usleep(400000); // the recorder checks the cgroup every 100 ms
  ASSERT_EQ(::kill(mover.pid(), SIGUSR1), 0);
  EXPECT_EQ(mover.wait(), 0);
  ASSERT_EQ(::kill(anchor.pid(), SIGUSR1), 0);
  EXPECT_EQ(anchor.wait(), 0);
  ASSERT_EQ(tracer->wait(), 0) << tracer->errors();
  auto t = read_trace_file(trace);
  EXPECT_EQ(exes_of(t, "getpgid"), std::set<std::string>{"probe"}) << "the moved process's child";
  EXPECT_EQ(exes_of(t, "clone"), (std::set<std::string>{"waiter", "mover"}))
      << "the moved process's fork, under its own name";
}

INSTANTIATE_TEST_SUITE_P(Hierarchies, TraceCgroupPrivileged, ::testing::Values("cgroup2", "cgroup"),
                         [](const ::testing::TestParamInfo<std::string>& p) {
                           return p.param == "cgroup" ? "v1" : "v2";
                         });

TEST_F(TraceExistingPrivileged, MissingTargetsAndWrongFlagsAreRefused) {
  const auto trace = (dir / "never.trace").string();
  // A pid that has just been reaped: nobody has it.
  pid_t gone = ::fork();
  if (gone == 0) ::_exit(0);
  ASSERT_EQ(::waitpid(gone, nullptr, 0), gone);
  auto r = run({tool("nucleus-trace").string(), "-o", trace, "--pid", std::to_string(gone)});
  EXPECT_EQ(r.exit_code, 125);
  EXPECT_NE(r.err.find("no such process"), std::string::npos) << r.err;

  // A zombie: the pid exists, its process is gone.
  pid_t zombie = ::fork();
  if (zombie == 0) ::_exit(0);
  for (int i = 0; i < 200; ++i) {
    siginfo_t info{};
    if (::waitid(P_PID, static_cast<id_t>(zombie), &info, WEXITED | WNOWAIT | WNOHANG) == 0 && info.si_pid == zombie)
      break;
    ::usleep(10000);
  }
  r = run({tool("nucleus-trace").string(), "-o", trace, "--pid", std::to_string(zombie)});
  ::waitpid(zombie, nullptr, 0);
  EXPECT_EQ(r.exit_code, 125);
  EXPECT_NE(r.err.find("has already exited"), std::string::npos) << r.err;

  r = run({tool("nucleus-trace").string(), "-o", trace, "--cgroup", dir.path().string()});
  EXPECT_EQ(r.exit_code, 125);
  EXPECT_NE(r.err.find("not a cgroup"), std::string::npos) << r.err;

  r = run({tool("nucleus-trace").string(), "-o", trace, "--cgroup", (dir / "missing").string()});
  EXPECT_EQ(r.exit_code, 125);
  EXPECT_NE(r.err.find("no such directory"), std::string::npos) << r.err;

  const std::string self = std::to_string(::getpid());
  r = run({tool("nucleus-trace").string(), "-o", trace, "--pid", self, "--", "/bin/true"});
  EXPECT_EQ(r.exit_code, 125);
  EXPECT_NE(r.err.find("takes no command"), std::string::npos) << r.err;
  r = run({tool("nucleus-trace").string(), "-o", trace, "--pid", self, "--trust-level", "trusted"});
  EXPECT_EQ(r.exit_code, 125);
  EXPECT_NE(r.err.find("--trust-level"), std::string::npos) << r.err;
  r = run({tool("nucleus-trace").string(), "-o", trace, "--pid", self, "--source", "netlink"});
  EXPECT_EQ(r.exit_code, 125);
  EXPECT_NE(r.err.find("needs the eBPF recorder"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(trace)) << "a refused trace writes nothing";

  // Without root the recorder cannot load: said before anything else is tried.
  if (std::filesystem::exists("/usr/bin/setpriv")) {
    r = run({"/usr/bin/setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups",
             tool("nucleus-trace").string(), "-o", "-", "--pid", self});
    EXPECT_EQ(r.exit_code, 125);
    EXPECT_NE(r.err.find("needs the eBPF recorder, which cannot run here: loading the eBPF recorder needs root"),
              std::string::npos)
        << r.err;
  }
}

// A target that outlives the trace: --duration and SIGINT end it, and the trace is still written.
TEST_F(TraceExistingPrivileged, DurationAndSigintEndTheTraceAndItIsWritten) {
  Process target({"/bin/sleep", "60"}, dir / "sleep.out");
  const auto timed = (dir / "timed.trace").string();
  const auto started = std::chrono::steady_clock::now();
  auto r =
      run({tool("nucleus-trace").string(), "-o", timed, "--duration", "0.5", "--pid", std::to_string(target.pid())}, {},
          20);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(10));
  EXPECT_EQ(read_trace_file(timed).header["target"], "pid " + std::to_string(target.pid()));

  const auto stopped = (dir / "stopped.trace").string();
  auto tracer = start_tracer({"--pid", std::to_string(target.pid())}, stopped);
  ASSERT_EQ(::kill(tracer->pid(), SIGINT), 0);
  EXPECT_EQ(tracer->wait(std::chrono::seconds(10)), 0) << tracer->errors();
  EXPECT_EQ(read_trace_file(stopped).header["target"], "pid " + std::to_string(target.pid()));
}
