// The workload's own terminal under every recorder. nucleus-trace runs on a terminal (a test pty,
// as an interactive shell starts it); while the workload runs, no process of the run but nucleus
// itself holds that terminal (under gVisor too, whose sandbox gets pipes relayed from a terminal),
// on the host the workload sees a terminal on stdin and stdout, and keystrokes reach it.
#include "e2e_support.hpp"
#include "nucleus/tracer/ebpf.hpp"

#include <gtest/gtest.h>

#include <dirent.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using nucleus::test::TempDir;

namespace {

struct Recorder {
  const char* name;   // the trace header's source
  const char* source; // --source
  bool gvisor;        // the default trust level (untrusted: gVisor) instead of trusted
};

std::string recorder_name(const ::testing::TestParamInfo<Recorder>& info) {
  return info.param.gvisor ? "Gvisor" : std::string(info.param.source) == "ebpf" ? "Ebpf" : "AuditNetlink";
}

// Processes other than `except` that hold the terminal device `rdev` open.
std::vector<std::string> holders_of(dev_t rdev, const std::vector<pid_t>& except) {
  std::vector<std::string> out;
  DIR* proc = ::opendir("/proc");
  if (proc == nullptr) return {"cannot list /proc"};
  while (dirent* p = ::readdir(proc)) {
    pid_t pid = static_cast<pid_t>(std::atoi(p->d_name));
    if (pid <= 0 || std::find(except.begin(), except.end(), pid) != except.end()) continue;
    std::error_code ec;
    for (fs::directory_iterator it("/proc/" + std::to_string(pid) + "/fd", ec), end; !ec && it != end;
         it.increment(ec)) {
      struct stat st {};
      if (::stat(it->path().c_str(), &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == rdev)
        out.push_back(std::to_string(pid) + " (" + nucleus::test::read_text("/proc/" + std::to_string(pid) + "/comm") +
                      ")");
    }
  }
  ::closedir(proc);
  return out;
}

// Reads the terminal's screen until `until` shows up or the reader sees the end; false on timeout.
bool read_screen(int master, std::string& screen, const std::string& until) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    if (!until.empty() && screen.find(until) != std::string::npos) return true;
    pollfd p{master, POLLIN, 0};
    if (::poll(&p, 1, 1000) <= 0) continue;
    char buf[4096];
    ssize_t n = ::read(master, buf, sizeof buf);
    if (n <= 0) return until.empty(); // EIO: every holder of the terminal has gone
    screen.append(buf, static_cast<std::size_t>(n));
  }
  return false;
}

class TerminalPerRecorder : public ::testing::TestWithParam<Recorder> {};

} // namespace

TEST_P(TerminalPerRecorder, TheWorkloadHasATerminalOfItsOwn) {
  NUCLEUS_REQUIRE_ROOT();
  const Recorder& r = GetParam();
  if (r.gvisor && !fs::exists("/usr/bin/runsc")) NUCLEUS_SKIP("runsc (gVisor) is not installed");
  if (std::string(r.source) == "ebpf")
    if (auto why = nucleus::tracer::ebpf_unavailable(nullptr))
      NUCLEUS_SKIP("the eBPF recorder cannot run here: " + *why);
  TempDir dir;
  const auto trace = dir.path() / "t.trace";
  std::vector<std::string> argv = {nucleus::test::tool("nucleus-trace").string(), "-o", trace.string(), "--source",
                                   r.source};
  if (!r.gvisor) argv.insert(argv.end(), {"--trust-level", "trusted"});
  argv.insert(argv.end(),
              {"--", "/bin/sh", "-c",
               "if test -t 0 && test -t 1; then echo tty-in-out; fi; echo ready; read line; echo got-$line"});

  int master = -1, slave = -1;
  ASSERT_EQ(::openpty(&master, &slave, nullptr, nullptr, nullptr), 0);
  struct stat caller {};
  ASSERT_EQ(::fstat(slave, &caller), 0);
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    nucleus::test::take_terminal(master, slave);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  ::close(slave);
  std::string screen;
  const bool ready = read_screen(master, screen, "ready");
  // The workload waits for a line now: whatever holds the caller's terminal holds it while it runs.
  const auto holders = ready ? holders_of(caller.st_rdev, {::getpid(), pid}) : std::vector<std::string>{};
  if (ready) {
    EXPECT_EQ(::write(master, "go\n", 3), 3);
  }
  read_screen(master, screen, "");
  ::close(master);
  int status = 0;
  if (::waitpid(pid, &status, WNOHANG) == 0) ::kill(pid, SIGKILL);
  ::waitpid(pid, &status, 0);

  ASSERT_TRUE(ready) << "the workload's output never reached the terminal: " << screen;
  EXPECT_TRUE(holders.empty()) << "a process of the run holds the caller's terminal: " << holders.front();
  EXPECT_NE(screen.find("got-go"), std::string::npos) << "the keystrokes did not reach the workload: " << screen;
  ASSERT_TRUE(WIFEXITED(status)) << screen;
  EXPECT_EQ(WEXITSTATUS(status), 0) << screen;
  // gVisor's sandbox is handed pipes relayed from the terminal, never a terminal device itself.
  if (!r.gvisor) {
    EXPECT_NE(screen.find("tty-in-out"), std::string::npos) << screen;
  }
  auto t = nucleus::test::read_trace_file(trace);
  EXPECT_EQ(t.header["source"], r.name);
}

INSTANTIATE_TEST_SUITE_P(Recorders, TerminalPerRecorder,
                         ::testing::Values(Recorder{"ebpf", "ebpf", false}, Recorder{"audit-netlink", "netlink", false},
                                           Recorder{"gvisor", "gvisor", true}),
                         recorder_name);
