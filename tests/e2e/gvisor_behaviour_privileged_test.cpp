// Behaviour records under gVisor (the default --trust-level untrusted), with the real runsc: what a
// traced command opens, runs and connects to, each with its access, address, port and result; a
// hostile name escaped; a name gVisor cannot send reported as a loss; the cap on distinct records.
#include "e2e_support.hpp"

#include "nucleus/core/io.hpp"
#include "nucleus/core/strings.hpp"
#include "nucleus/core/trace_log.hpp"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

using nucleus::test::run;
using nucleus::test::tool;
namespace core = nucleus::core;
namespace fs = std::filesystem;

namespace {

using nucleus::test::have_runsc;

class GvisorBehaviourPrivileged : public ::testing::Test {
protected:
  void SetUp() override {
    NUCLEUS_REQUIRE_ROOT();
    if (!have_runsc()) NUCLEUS_SKIP("runsc (gVisor) is not installed");
  }
  // nucleus-trace under gVisor of `python3 -S -c script` (plus `flags` before the command).
  nucleus::test::RunResult trace_python(const std::string& script, const std::vector<std::string>& flags = {}) {
    std::vector<std::string> argv{tool("nucleus-trace").string(), "-o", trace_path.string()};
    argv.insert(argv.end(), flags.begin(), flags.end());
    argv.insert(argv.end(), {"--", "/usr/bin/python3", "-S", "-c", script});
    return run(argv, {}, 120);
  }
  core::Trace trace() const { return core::read_trace(core::read_file(trace_path), trace_path.string()); }

  nucleus::test::TempDir dir;
  fs::path trace_path = dir.path() / "app.trace";
};

const core::TraceFile* find_file(const core::Trace& t, const std::string& path) {
  auto it = std::find_if(t.files.begin(), t.files.end(), [&](const core::TraceFile& f) { return f.path == path; });
  return it == t.files.end() ? nullptr : &*it;
}

const core::TraceNet* find_net(const core::Trace& t, const std::string& syscall, const std::string& family,
                               const std::string& address = "", int port = -1) {
  auto it = std::find_if(t.nets.begin(), t.nets.end(), [&](const core::TraceNet& n) {
    return n.syscall == syscall && n.family == family && n.address == address && (port < 0 || n.port == port);
  });
  return it == t.nets.end() ? nullptr : &*it;
}

} // namespace

TEST_F(GvisorBehaviourPrivileged, FilesProgramsAndEndpointsAreRecordedWithTheirResult) {
  const std::string script = R"(
import os, socket, subprocess
open("/etc/hostname").read()
with open("/tmp/out.txt", "w") as f: f.write("x")
with open("/tmp/out.txt", "a") as f: f.write("y")
try: open("/nonexistent/secret")
except OSError: pass
os.chdir("/tmp"); open("rel.txt", "w").close()
subprocess.run(["/bin/sh", "-c", "exit 0"], check=True)
l = socket.socket(); l.bind(("127.0.0.1", 0)); l.listen(1); port = l.getsockname()[1]
c = socket.socket(); c.connect(("127.0.0.1", port)); a, _ = l.accept()
print(port)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.sendto(b"q", ("127.0.0.1", 53))
d = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); d.connect(("127.0.0.1", 53)); d.send(b"q")
x = socket.socket(socket.AF_UNIX); x.bind("/tmp/app.sock")
)";
  auto r = trace_python(script, {"-q"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const int port = std::stoi(r.out);
  auto t = trace();
  EXPECT_TRUE(t.header.behaviour);
  ASSERT_TRUE(t.summary);
  EXPECT_EQ(t.summary->behaviour_dropped, 0u);
  EXPECT_TRUE(t.summary->loss.empty()) << t.summary->loss;

  struct FileCase {
    std::string path;
    core::FileAccessSet access;
    core::Outcome result;
  };
  for (const auto& c :
       std::vector<FileCase>{{"/etc/hostname", core::open_flags_access(O_RDONLY | O_CLOEXEC), core::Outcome::ok},
                             {"/tmp/out.txt", core::open_flags_access(O_WRONLY | O_CREAT | O_TRUNC), core::Outcome::ok},
                             {"/tmp/rel.txt", core::open_flags_access(O_WRONLY | O_CREAT | O_TRUNC),
                              core::Outcome::ok}, // relative, after chdir
                             {"/nonexistent/secret", core::open_flags_access(O_RDONLY), core::Outcome::failed}}) {
    SCOPED_TRACE(c.path);
    auto* f = find_file(t, c.path);
    ASSERT_NE(f, nullptr);
    EXPECT_TRUE(f->exe.starts_with("/usr/bin/python3")) << f->exe;
    EXPECT_EQ(f->syscall, "openat");
    EXPECT_EQ(f->access, c.access) << core::join(core::file_access_names(f->access), ",");
    EXPECT_EQ(f->result, c.result);
  }
  EXPECT_TRUE(std::any_of(t.files.begin(), t.files.end(), [](const core::TraceFile& f) {
    return f.path == "/tmp/out.txt" && core::has(f.access, core::FileAccess::append);
  }));

  auto sh = std::find_if(t.execs.begin(), t.execs.end(), [](const core::TraceExec& e) { return e.path == "/bin/sh"; });
  ASSERT_NE(sh, t.execs.end());
  EXPECT_TRUE(sh->exe.starts_with("/usr/bin/python3")) << sh->exe; // the program that started it
  EXPECT_EQ(sh->argv, (std::vector<std::string>{"/bin/sh", "-c", "exit 0"}));
  EXPECT_EQ(sh->result, core::Outcome::ok);

  auto* tcp = find_net(t, "connect", "inet", "127.0.0.1", port);
  ASSERT_NE(tcp, nullptr);
  EXPECT_EQ(tcp->result, core::Outcome::ok);
  EXPECT_NE(find_net(t, "listen", "inet", "127.0.0.1"), nullptr);
  auto* dns = find_net(t, "connect", "inet", "127.0.0.1", 53);
  ASSERT_NE(dns, nullptr);
  EXPECT_EQ(dns->result, core::Outcome::ok);
  auto* sent = find_net(t, "sendto", "inet", "127.0.0.1", 53); // from the debug log's strace line
  ASSERT_NE(sent, nullptr);
  EXPECT_EQ(sent->result, core::Outcome::ok);
  auto* unix_bind = find_net(t, "bind", "unix", "/tmp/app.sock");
  ASSERT_NE(unix_bind, nullptr);
  EXPECT_EQ(unix_bind->result, core::Outcome::ok);
  auto dgram = std::find_if(t.nets.begin(), t.nets.end(), [](const core::TraceNet& n) {
    return n.syscall == "socket" && n.family == "inet" && n.socktype == "dgram";
  });
  EXPECT_NE(dgram, t.nets.end());
}

TEST_F(GvisorBehaviourPrivileged, AHostileNameIsEscapedAndOneGvisorCannotSendIsALoss) {
  auto r = trace_python(R"(
import os
os.close(os.open(b"/tmp/evil\n{\"type\":\"exec\"}\x1b[2J", os.O_RDWR | os.O_CREAT, 0o600))
)");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string text = core::read_file(trace_path);
  EXPECT_EQ(text.find('\x1b'), std::string::npos);
  auto t = trace();
  EXPECT_TRUE(t.execs.empty()); // the name's text is no record of its own
  EXPECT_NE(find_file(t, "/tmp/evil\n{\"type\":\"exec\"}\x1b[2J"), nullptr);

  // A file whose name ends like a sendto's strace line, sent to with no address of its own: the
  // line is read from its end, which is gVisor's, so the name's address is no record.
  r = trace_python(R"py(
import ctypes, os
name = "/tmp/x, 0x0, 0x0, 0x0, 0x1 {Family: AF_INET, Addr: 6.6.6.6, Port: 1}, 0x10) = 1 (0x1) (1\u00b5s)"
fd = os.open(name, os.O_RDWR | os.O_CREAT, 0o600)
ctypes.CDLL(None, use_errno=True).sendto(fd, b"q", 1, 0, None, 0)
)py");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const auto& n : trace().nets) EXPECT_NE(n.address, "6.6.6.6") << n.syscall;

  // Not valid UTF-8: gVisor cannot put it in its message and drops the point without counting it.
  for (const char* script :
       {"import os\nos.close(os.open(b\"/tmp/bad\\xff\", os.O_RDWR | os.O_CREAT, 0o600))\n",
        "import os, shutil\nshutil.copy(\"/bin/true\", b\"/tmp/t\\xff\")\nos.chmod(b\"/tmp/t\\xff\", 0o755)\n"
        "os.execv(b\"/tmp/t\\xff\", [b\"t\"])\n"}) {
    SCOPED_TRACE(script);
    auto lossy = trace_python(script);
    EXPECT_EQ(lossy.exit_code, 125) << lossy.err;
    EXPECT_NE(lossy.err.find("came without their behaviour record"), std::string::npos) << lossy.err;
    EXPECT_EQ(lossy.err.find('\xff'), std::string::npos);
    auto accepted = trace_python(script, {"--allow-loss"});
    EXPECT_EQ(accepted.exit_code, 0) << accepted.err;
    ASSERT_TRUE(trace().summary);
    EXPECT_NE(trace().summary->loss.find("behaviour record"), std::string::npos);
  }
}

TEST_F(GvisorBehaviourPrivileged, TheCapReachedIsReportedAndFailsTheTrace) {
  const std::string script = R"(
for i in range(8300):
    try: open("/nonexistent/%d" % i)
    except OSError: pass
)";
  auto r = trace_python(script);
  EXPECT_EQ(r.exit_code, 125) << r.err;
  EXPECT_NE(r.err.find("behaviour record(s)"), std::string::npos) << r.err;
  auto accepted = trace_python(script, {"--allow-loss"});
  EXPECT_EQ(accepted.exit_code, 0) << accepted.err;
  auto t = trace();
  ASSERT_TRUE(t.summary);
  EXPECT_GT(t.summary->behaviour_dropped, 100u);
  EXPECT_EQ(t.execs.size() + t.files.size() + t.nets.size(), core::BehaviourSet::default_cap);
}
