// The eBPF recorder's behaviour records against the real kernel: a workload that reads, creates,
// appends, renames, removes, makes a directory and a symbolic link, runs a shell, connects to a TCP
// listener of the test's own, sends a UDP datagram and binds a Unix socket; each call comes out as
// its record with what was asked, the address, the result and the executable that made it, relative
// paths resolved against the caller's working directory. Nothing of a process outside the traced
// tree is recorded, and every way the records can fall short (the cap, a full ring buffer) is said.
#include "nucleus/tracer/ebpf.hpp"

#include "test_support.hpp"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <string>

using namespace nucleus;
namespace fs = std::filesystem;

namespace {

void require_ebpf() {
  NUCLEUS_REQUIRE_ROOT();
  if (auto why = tracer::ebpf_unavailable(nullptr)) NUCLEUS_SKIP(*why);
}

tracer::MonitorOptions command(std::vector<std::string> argv) {
  tracer::MonitorOptions options;
  options.argv = std::move(argv);
  return options;
}

std::string exe_name(const std::string& exe) { return fs::path(exe).filename().string(); }

const core::TraceFile* find_file(const tracer::EbpfTrace& t, const std::function<bool(const core::TraceFile&)>& match) {
  auto it = std::find_if(t.files.begin(), t.files.end(), match);
  return it == t.files.end() ? nullptr : &*it;
}

const core::TraceNet* find_net(const tracer::EbpfTrace& t, const std::string& syscall, const std::string& family) {
  auto it = std::find_if(t.nets.begin(), t.nets.end(),
                         [&](const core::TraceNet& n) { return n.syscall == syscall && n.family == family; });
  return it == t.nets.end() ? nullptr : &*it;
}

std::string files_of(const tracer::EbpfTrace& t) {
  std::string out;
  for (const auto& f : t.files) out += f.exe + " " + f.syscall + " " + f.path + " -> " + f.target + "\n";
  return out;
}

// A TCP listener on loopback that the test owns: connections complete in its backlog.
struct Listener {
  int fd = -1;
  int port = 0;
  Listener() {
    fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in in{};
    in.sin_family = AF_INET;
    in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof in;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&in), len) != 0 || ::listen(fd, 8) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&in), &len) != 0)
      ADD_FAILURE() << "cannot listen on loopback";
    port = ntohs(in.sin_port);
  }
  ~Listener() { ::close(fd); }
};

} // namespace

TEST(EbpfBehaviourPrivileged, EachCallIsRecordedWithWhatItAskedItsResultAndItsExecutable) {
  require_ebpf();
  test::TempDir dir;
  test::write_text(dir / "in.txt", "x\n");
  Listener listener;
  const std::string python = "import socket\n"
                             "t = socket.create_connection(('127.0.0.1', " +
                             std::to_string(listener.port) +
                             "))\n"
                             "u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
                             "u.sendto(b'q', ('127.0.0.1', 53))\n"
                             "x = socket.socket(socket.AF_UNIX)\n"
                             "x.bind('u.sock')\n";
  // Relative paths throughout, also of tools that have exited long before the trace ends (and
  // often before their record is read): the program names the directory at the call.
  const std::string d = dir.path().string();
  const std::string script = "cd '" + d +
                             "' && exec 2>/dev/null && true < in.txt && true < missing.txt; "
                             "cat in.txt >/dev/null && true > created.txt && echo y >> appended.txt && "
                             "chmod 640 in.txt && mv created.txt moved.txt && rm moved.txt && mkdir sub && cd sub && "
                             "ln -s ../in.txt link && "
                             "cd .. && /bin/sh -c 'exit 0' && python3 -c \"" +
                             python + "\"";
  auto recorder = tracer::EbpfRecorder::open(nullptr);
  auto trace = recorder.run(command({"/bin/sh", "-c", script}));
  ASSERT_EQ(trace.run.exit_code, 0);
  EXPECT_FALSE(trace.run.loss.any()) << trace.run.loss.detail;
  EXPECT_TRUE(trace.behaviour);
  EXPECT_EQ(trace.behaviour_dropped, 0u);
  using core::FileAccess;
  auto file = [&](const std::string& syscall_prefix, const std::string& path) {
    return find_file(trace,
                     [&](const core::TraceFile& f) { return f.syscall.starts_with(syscall_prefix) && f.path == path; });
  };
  // Relative paths, resolved against the working directory the shell changed to.
  const auto* read =
      find_file(trace, [&](const core::TraceFile& f) { return f.path == d + "/in.txt" && f.exe == "/bin/sh"; });
  ASSERT_NE(read, nullptr) << files_of(trace);
  EXPECT_EQ(read->access, static_cast<core::FileAccessSet>(FileAccess::read));
  EXPECT_EQ(read->result, core::Outcome::ok);
  const auto* cat =
      find_file(trace, [&](const core::TraceFile& f) { return f.path == d + "/in.txt" && f.exe != "/bin/sh"; });
  ASSERT_NE(cat, nullptr) << files_of(trace);
  EXPECT_EQ(exe_name(cat->exe), "cat");
  EXPECT_EQ(cat->access, static_cast<core::FileAccessSet>(FileAccess::read));
  const auto* missing = file("open", d + "/missing.txt");
  ASSERT_NE(missing, nullptr) << files_of(trace);
  EXPECT_EQ(missing->result, core::Outcome::failed);
  const auto* created = file("open", d + "/created.txt");
  ASSERT_NE(created, nullptr) << files_of(trace);
  EXPECT_EQ(created->access,
            FileAccess::write | FileAccess::create | static_cast<core::FileAccessSet>(FileAccess::truncate));
  EXPECT_EQ(created->exe, "/bin/sh");
  EXPECT_EQ(created->mode, 0666) << "the mode the shell asks for a file it creates";
  const auto* chmod = file("fchmodat", d + "/in.txt");
  ASSERT_NE(chmod, nullptr) << files_of(trace);
  EXPECT_EQ(chmod->mode, 0640);
  EXPECT_EQ(chmod->access, static_cast<core::FileAccessSet>(FileAccess::chmod));
  const auto* appended = file("open", d + "/appended.txt");
  ASSERT_NE(appended, nullptr) << files_of(trace);
  EXPECT_EQ(appended->access,
            FileAccess::write | FileAccess::create | static_cast<core::FileAccessSet>(FileAccess::append));
  const auto* moved = file("rename", d + "/moved.txt");
  ASSERT_NE(moved, nullptr) << files_of(trace);
  EXPECT_EQ(moved->target, d + "/created.txt");
  EXPECT_EQ(moved->access, static_cast<core::FileAccessSet>(FileAccess::rename));
  EXPECT_EQ(exe_name(moved->exe), "mv");
  const auto* removed = file("unlink", d + "/moved.txt");
  ASSERT_NE(removed, nullptr) << files_of(trace);
  EXPECT_EQ(removed->access, static_cast<core::FileAccessSet>(FileAccess::remove));
  EXPECT_EQ(removed->result, core::Outcome::ok);
  const auto* made = file("mkdir", d + "/sub");
  ASSERT_NE(made, nullptr) << files_of(trace);
  EXPECT_EQ(exe_name(made->exe), "mkdir");
  const auto* link = file("symlink", d + "/sub/link");
  ASSERT_NE(link, nullptr) << files_of(trace);
  EXPECT_EQ(link->target, "../in.txt") << "a symbolic link's content is kept as written";

  auto shell = std::find_if(trace.execs.begin(), trace.execs.end(), [](const core::TraceExec& e) {
    return e.path == "/bin/sh" && e.argv == std::vector<std::string>{"/bin/sh", "-c", "exit 0"};
  });
  ASSERT_NE(shell, trace.execs.end());
  EXPECT_EQ(shell->exe, "/bin/sh");
  EXPECT_EQ(shell->result, core::Outcome::ok);

  const auto* tcp = find_net(trace, "connect", "inet");
  ASSERT_NE(tcp, nullptr);
  EXPECT_EQ(tcp->address, "127.0.0.1");
  EXPECT_EQ(tcp->port, listener.port);
  EXPECT_EQ(tcp->result, core::Outcome::ok);
  EXPECT_TRUE(exe_name(tcp->exe).starts_with("python3")) << tcp->exe;
  const auto* udp = find_net(trace, "sendto", "inet");
  ASSERT_NE(udp, nullptr);
  EXPECT_EQ(udp->address, "127.0.0.1");
  EXPECT_EQ(udp->port, 53);
  const auto* unix_bind = find_net(trace, "bind", "unix");
  ASSERT_NE(unix_bind, nullptr);
  EXPECT_EQ(unix_bind->address, d + "/u.sock");
  EXPECT_EQ(unix_bind->result, core::Outcome::ok);
  const auto* stream = find_net(trace, "socket", "inet");
  ASSERT_NE(stream, nullptr);
}

// A process outside the traced tree opens its own marker all the while the workload opens its own:
// only the workload's is in the trace.
TEST(EbpfBehaviourPrivileged, AnotherProcessDoingTheSameCallsAtTheSameTimeIsNotRecorded) {
  require_ebpf();
  test::TempDir dir;
  const std::string outsider_marker = (dir / "outsider-marker").string();
  test::write_text(dir / "insider-marker", "");
  int ready[2];
  ASSERT_EQ(::pipe2(ready, O_CLOEXEC), 0);
  pid_t outsider = ::fork();
  if (outsider == 0) {
    for (bool told = false;; told = true) {
      int fd = ::open(outsider_marker.c_str(), O_RDONLY);
      if (fd >= 0) ::close(fd);
      if (!told && ::write(ready[1], "x", 1) != 1) ::_exit(1);
    }
  }
  ::close(ready[1]);
  char byte = 0;
  ASSERT_EQ(::read(ready[0], &byte, 1), 1) << "the outsider runs before the trace starts";
  ::close(ready[0]);
  auto recorder = tracer::EbpfRecorder::open(nullptr);
  auto trace = recorder.run(command({"/bin/sh", "-c",
                                     "i=0; while [ $i -lt 200 ]; do true < '" + (dir / "insider-marker").string() +
                                         "' 2>/dev/null; i=$((i+1)); done"}));
  ::kill(outsider, SIGKILL);
  ::waitpid(outsider, nullptr, 0);
  ASSERT_EQ(trace.run.exit_code, 0);
  EXPECT_NE(find_file(trace, [&](const core::TraceFile& f) { return f.path == (dir / "insider-marker").string(); }),
            nullptr)
      << files_of(trace);
  EXPECT_EQ(find_file(trace, [&](const core::TraceFile& f) { return f.path == outsider_marker; }), nullptr)
      << "a call of a process outside the traced tree is in the trace";
}

// A cap of 5 distinct records: the rest are counted as dropped, never silently missing.
TEST(EbpfBehaviourPrivileged, RecordsPastTheCapAreCountedAsDropped) {
  require_ebpf();
  tracer::EbpfMapSizes sizes;
  sizes.behaviour_records = 5;
  auto recorder = tracer::EbpfRecorder::open(nullptr, sizes);
  auto trace = recorder.run(command({"/bin/cat", "/etc/hostname"}));
  ASSERT_EQ(trace.run.exit_code, 0);
  EXPECT_EQ(trace.execs.size() + trace.files.size() + trace.nets.size(), 5u);
  EXPECT_GT(trace.behaviour_dropped, 0u);
  EXPECT_GE(trace.run.loss.lost, trace.behaviour_dropped) << "the cap reached is a loss";
  EXPECT_NE(trace.run.loss.detail.find("the trace keeps at most 5 distinct ones"), std::string::npos)
      << trace.run.loss.detail;
}

// A ring buffer of one page cannot hold a record with a path of 4000 bytes: its drop is loss.
TEST(EbpfBehaviourPrivileged, RecordsDroppedFromAFullRingBufferAreReportedAsLoss) {
  require_ebpf();
  tracer::EbpfMapSizes sizes;
  sizes.behaviour_event_bytes = 4096;
  std::string long_path = "/nonexistent";
  while (long_path.size() < 4000) long_path += "/" + std::string(200, 'x');
  auto recorder = tracer::EbpfRecorder::open(nullptr, sizes);
  auto trace = recorder.run(command({"/bin/sh", "-c", "exec 2>/dev/null; true < " + long_path + "; exit 0"}));
  ASSERT_EQ(trace.run.exit_code, 0);
  EXPECT_GT(trace.run.loss.lost, 0u);
  EXPECT_NE(trace.run.loss.detail.find("behaviour record(s) were dropped (ring buffer full)"), std::string::npos)
      << trace.run.loss.detail;
}

// Names only: no behaviour record, and nothing said of them.
TEST(EbpfBehaviourPrivileged, NamesOnlyRecordsNoBehaviour) {
  require_ebpf();
  auto recorder = tracer::EbpfRecorder::open(nullptr, {}, false, {.behaviour = false});
  auto trace = recorder.run(command({"/bin/cat", "/etc/hostname"}));
  ASSERT_EQ(trace.run.exit_code, 0);
  EXPECT_FALSE(trace.behaviour);
  EXPECT_TRUE(trace.files.empty());
  EXPECT_TRUE(trace.execs.empty());
  EXPECT_FALSE(trace.syscalls.empty());
}

// A recorder opened for commands loads the behaviour program without the exit program's
// thread-group test (it costs every command's trace a load of about 2 ms, see syscalls.bpf.c):
// following a running process with it is refused before anything is attached.
TEST(EbpfBehaviourPrivileged, ARunningProcessNeedsTheProgramThatFollowsTrees) {
  NUCLEUS_REQUIRE_ROOT();
  if (auto why = tracer::ebpf_attach_unavailable()) NUCLEUS_SKIP(*why);
  auto recorder = tracer::EbpfRecorder::open(nullptr, {}, true);
  tracer::EbpfAttachOptions target;
  target.pid = ::getpid();
  try {
    recorder.record_existing(target);
    ADD_FAILURE() << "a recorder without follows_trees followed a process tree";
  } catch (const core::Error& e) {
    EXPECT_EQ(e.kind(), core::ErrorKind::internal) << e.what();
    EXPECT_NE(std::string(e.what()).find("follows_trees"), std::string::npos) << e.what();
  }
}

// --pid: a process that runs already, and what it starts, have their records too.
TEST(EbpfBehaviourPrivileged, ARunningProcessTreeHasItsRecords) {
  NUCLEUS_REQUIRE_ROOT();
  if (auto why = tracer::ebpf_attach_unavailable()) NUCLEUS_SKIP(*why);
  test::TempDir dir;
  test::write_text(dir / "seen.txt", "x\n");
  int go[2];
  ASSERT_EQ(::pipe2(go, O_CLOEXEC), 0);
  pid_t root = ::fork();
  if (root == 0) {
    ::dup2(go[0], STDIN_FILENO);
    const std::string script = "read x; cd '" + dir.path().string() + "' && cat seen.txt >/dev/null";
    ::execl("/bin/sh", "sh", "-c", script.c_str(), nullptr);
    ::_exit(127);
  }
  ::close(go[0]);
  auto recorder = tracer::EbpfRecorder::open(nullptr, {}, true, {true, true});
  tracer::EbpfAttachOptions target;
  target.pid = root;
  target.on_attached = [&] { EXPECT_EQ(::write(go[1], "\n", 1), 1); };
  auto trace = recorder.record_existing(target);
  ::close(go[1]);
  ::waitpid(root, nullptr, 0);
  EXPECT_TRUE(trace.behaviour);
  const auto* seen = find_file(trace, [&](const core::TraceFile& f) { return f.path == (dir / "seen.txt").string(); });
  ASSERT_NE(seen, nullptr) << files_of(trace);
  EXPECT_EQ(exe_name(seen->exe), "cat");
  EXPECT_EQ(seen->result, core::Outcome::ok);
}

// A program run from memory (a memfd, through execveat's AT_EMPTY_PATH): the exec names the memfd,
// not an empty path, although its descriptor is closed by the exec before anything reads the record.
TEST(EbpfBehaviourPrivileged, AProgramRunFromAMemfdIsNamed) {
  require_ebpf();
  auto recorder = tracer::EbpfRecorder::open(nullptr);
  auto trace = recorder.run(command({"/usr/bin/python3", "-c",
                                     "import os\n"
                                     "fd = os.memfd_create('payload')\n"
                                     "os.write(fd, open('/bin/true', 'rb').read())\n"
                                     "os.execve(fd, ['true'], {})\n"}));
  ASSERT_EQ(trace.run.exit_code, 0);
  auto memfd = std::find_if(trace.execs.begin(), trace.execs.end(),
                            [](const core::TraceExec& e) { return e.path.starts_with("/memfd:payload"); });
  std::string execs;
  for (const auto& e : trace.execs) execs += e.exe + " -> " + e.path + "\n";
  ASSERT_NE(memfd, trace.execs.end()) << execs;
  EXPECT_EQ(memfd->result, core::Outcome::ok);
  EXPECT_EQ(memfd->argv, std::vector<std::string>{"true"});
}
