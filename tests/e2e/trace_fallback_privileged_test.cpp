// The audit recorder's fallback where the workload cannot get an audit session of its own (the
// caller's loginuid is set and nucleus lacks CAP_AUDIT_CONTROL): records are matched by the
// workload's process tree, and a process that exited before its records were read is still in it.
#include "e2e_support.hpp"
#include "nucleus/core/strings.hpp"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <string>
#include <vector>

using nlohmann::json;
using nucleus::test::read_trace_file;
using nucleus::test::sample;
using nucleus::test::tool;

namespace {

std::set<std::string> names_of(const nucleus::test::TraceFile& t, const std::function<bool(const json&)>& keep) {
  std::set<std::string> out;
  for (const auto& s : t.syscalls)
    if (keep(s)) out.insert(s["name"].get<std::string>());
  return out;
}

// On the host kernel, with the build tree (the samples) bound read-only: it may lie under /tmp.
std::vector<std::string> with_flags(std::vector<std::string> argv) {
  argv.insert(argv.begin() + 1, {"--trust-level=trusted", "--ro", nucleus::test::binary_dir().string()});
  return argv;
}

class TraceFallbackPrivileged : public ::testing::Test {
protected:
  void SetUp() override { NUCLEUS_REQUIRE_ROOT(); }
  nucleus::test::TempDir dir;
};

} // namespace

// Where the kernel refuses a new audit session (loginuid already set, no CAP_AUDIT_CONTROL), the
// trace falls back to the process tree, says so, and still records the workload: also a process
// that exited before any record of it was read. nucleus-trace is stopped while the workload runs
// the probe and the probe exits, so its records are read only once it is gone, whatever the load.
TEST_F(TraceFallbackPrivileged, ProcessTreeFallbackWhenNoAuditSession) {
  if (::access("/usr/bin/setpriv", X_OK) != 0) NUCLEUS_SKIP("setpriv (util-linux) is not installed");
  const auto path = (dir / "fallback.trace").string();
  const auto started = dir / "started", go = dir / "go", done = dir / "done";
  const std::string workload = "touch " + started.string() + "; while [ ! -e " + go.string() +
                               " ]; do sleep 0.01; done; " + sample("probe").string() + " getpriority:0,0; touch " +
                               done.string();
  std::string trace_cmd;
  for (const auto& a : with_flags(
           {tool("nucleus-trace").string(), "-o", path, "--rw", dir.path().string(), "--", "/bin/sh", "-c", workload}))
    trace_cmd += "'" + a + "' ";
  // A shell with loginuid set, then nucleus-trace (the same process) without CAP_AUDIT_CONTROL.
  const std::string shell =
      "echo 0 > /proc/self/loginuid && exec /usr/bin/setpriv --bounding-set=-audit_control " + trace_cmd;
  const auto err_path = dir / "tracer.err";
  pid_t tracer = ::fork();
  ASSERT_GE(tracer, 0);
  if (tracer == 0) {
    int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    ::dup2(null, 0);
    ::dup2(null, 1);
    ::dup2(err, 2);
    ::execl("/bin/sh", "sh", "-c", shell.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  auto wait_for = [&](const std::filesystem::path& file) {
    for (int i = 0; i < 3000 && !std::filesystem::exists(file); ++i) {
      if (::waitpid(tracer, nullptr, WNOHANG) == tracer) return false;
      ::usleep(10000);
    }
    return std::filesystem::exists(file);
  };
  const bool ran = wait_for(started);
  if (ran) ::kill(tracer, SIGSTOP);
  { std::ofstream(go) << "go\n"; }
  const bool probed = ran && wait_for(done);
  ::kill(tracer, SIGCONT);
  int status = 0;
  ::waitpid(tracer, &status, 0);
  const std::string err = nucleus::test::read_text(err_path);
  ASSERT_TRUE(ran) << "the workload never started: " << err;
  ASSERT_TRUE(probed) << "the probe never ran: " << err;
  ASSERT_TRUE(WIFEXITED(status)) << status;
  EXPECT_EQ(WEXITSTATUS(status), 0) << err;
  EXPECT_NE(err.find("could not start a new audit session"), std::string::npos) << err;
  auto t = read_trace_file(path);
  EXPECT_EQ(t.header["source"], "audit-netlink") << "the eBPF recorder attributes by audit session only";
  auto names =
      names_of(t, [](const json& s) { return s["exe"].get<std::string>().find("probe") != std::string::npos; });
  EXPECT_TRUE(names.count("getpriority")) << "the exited probe's call: " << nucleus::core::join(names, " ");
  EXPECT_TRUE(names.count("exit_group")) << nucleus::core::join(names, " ");
  EXPECT_EQ(t.summary["lost"].get<int>(), 0) << t.summary.dump();
}
