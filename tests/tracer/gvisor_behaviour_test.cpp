// Behaviour records from gVisor's syscall points: the points' fields decoded from packets built
// field by field and from a stream recorded from runsc 0.0~20240729 (tests/tracer/data/
// gvisor_behaviour.stream: a python3 that opens files through a directory descriptor, relative to
// its working directory, fails one, listens, connects, sends a datagram, binds a Unix
// socket and execs /bin/sh), and the tracker's attribution of them.
#include "nucleus/tracer/gvisor.hpp"

#include "gvisor_packets.hpp"
#include "test_support.hpp"

#include "nucleus/core/trace_log.hpp"

#include <gtest/gtest.h>

#include <fcntl.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace core = nucleus::core;
namespace test = nucleus::test;
using namespace nucleus_test_gvisor;

namespace {

constexpr std::uint64_t at_fdcwd = static_cast<std::uint64_t>(-100);

std::string context_cwd(int tid, int tgid, const std::string& cwd) {
  return field(1,
               field(2, static_cast<std::uint64_t>(tid)) + field(4, static_cast<std::uint64_t>(tgid)) + field(8, cwd));
}
std::string exit_ok(std::uint64_t result = 0) { return field(2, result == 0 ? std::string() : field(1, result)); }
std::string exit_failed(int err) { return field(2, field(2, static_cast<std::uint64_t>(err))); }

std::string open_point(const std::string& exit, std::uint64_t sysno, std::uint64_t fd, const std::string& fd_path,
                       const std::string& path, std::uint64_t flags, const std::string& cwd = "/proj", int tgid = 1) {
  std::string body = context_cwd(tgid, tgid, cwd) + exit + field(3, sysno) + field(4, fd);
  if (!fd_path.empty()) body += field(5, fd_path);
  return packet(gv::MessageType::syscall_open, body + field(6, path) + field(7, flags));
}

std::string sockaddr_in(const char (&ip)[5], int port) {
  std::string a(16, '\0');
  a[0] = 2; // AF_INET, little-endian
  a[2] = static_cast<char>(port >> 8);
  a[3] = static_cast<char>(port & 0xff);
  for (int i = 0; i < 4; ++i) a[4 + i] = ip[i];
  return a;
}

// The packets of a recorded stream: <u32 little-endian length><packet> each.
std::vector<std::string> recorded_stream() {
  const std::string bytes = test::read_text(test::source_dir() / "tests/tracer/data/gvisor_behaviour.stream");
  std::vector<std::string> out;
  for (std::size_t at = 0; at + 4 <= bytes.size();) {
    std::uint32_t len = 0;
    for (int i = 3; i >= 0; --i) len = (len << 8) | static_cast<unsigned char>(bytes[at + i]);
    out.push_back(bytes.substr(at + 4, len));
    at += 4 + len;
  }
  return out;
}

template <class R>
R as(const std::optional<gv::BehaviourRecord>& r) {
  if (!r || !std::holds_alternative<R>(*r)) {
    ADD_FAILURE() << "not the record expected";
    return R{};
  }
  return std::get<R>(*r);
}

// Feeds a tracker the packets, in order.
void feed(gv::Tracker& t, const std::vector<std::string>& packets) {
  for (const auto& p : packets) {
    std::string error;
    auto m = gv::decode_packet(p, &error);
    ASSERT_TRUE(m) << error;
    t.on_message(*m);
  }
}

std::string raw(int tid, int tgid, std::uint64_t nr, std::uint64_t arg0 = 0, std::uint64_t arg4 = 0) {
  return packet(gv::MessageType::syscall_raw, context(tid, tgid) + field(4, nr) + field(5, arg0) + field(9, arg4));
}
std::string start(int tgid) { return packet(gv::MessageType::container_start, context(tgid, tgid)); }

constexpr std::uint64_t nr_openat = 257, nr_socket = 41, nr_connect = 42, nr_sendto = 44, nr_bind = 49, nr_listen = 50,
                        nr_execve = 59, nr_close = 3;

} // namespace

TEST(GvisorBehaviour, AnOpenatExitIsAFileRecordResolvedAgainstTheWorkingDirectory) {
  auto m = decode(open_point(exit_failed(ENOENT), nr_openat, at_fdcwd, "", "../etc/./passwd", O_RDONLY, "/proj/sub"));
  EXPECT_EQ(m.cwd, "/proj/sub");
  EXPECT_TRUE(m.point.has_exit);
  EXPECT_EQ(m.point.errorno, ENOENT);
  EXPECT_EQ(static_cast<std::int64_t>(m.point.fd), -100);
  const auto f = as<core::TraceFile>(gv::behaviour_record(m));
  EXPECT_EQ(f.syscall, "openat");
  EXPECT_EQ(f.path, "/proj/etc/passwd");
  EXPECT_EQ(f.access, core::open_flags_access(O_RDONLY));
  EXPECT_EQ(f.result, core::Outcome::failed);
}

TEST(GvisorBehaviour, AnOpenatUnderADirectoryDescriptorStartsFromItsPath) {
  auto ok = decode(open_point(exit_ok(4), nr_openat, 3, "/home/u/.ssh", "id_ed25519", O_RDONLY | O_CLOEXEC));
  EXPECT_EQ(as<core::TraceFile>(gv::behaviour_record(ok)).path, "/home/u/.ssh/id_ed25519");
  EXPECT_EQ(as<core::TraceFile>(gv::behaviour_record(ok)).result, core::Outcome::ok);
  // gVisor names a descriptor it cannot resolve "[err: ...]": the path stays relative, marked unresolved.
  auto unknown = decode(open_point(exit_ok(4), nr_openat, 9, "[err: FD not found]", "x", O_WRONLY | O_CREAT | O_TRUNC));
  const auto f = as<core::TraceFile>(gv::behaviour_record(unknown));
  EXPECT_EQ(f.path, "x");
  EXPECT_FALSE(f.resolved());
  EXPECT_EQ(f.access, core::open_flags_access(O_WRONLY | O_CREAT | O_TRUNC));
}

TEST(GvisorBehaviour, TheEnterSideAndAnEmptyPathMakeNoRecord) {
  EXPECT_FALSE(gv::behaviour_record(decode(open_point("", nr_openat, at_fdcwd, "", "/etc/passwd", O_RDONLY))));
  EXPECT_FALSE(gv::behaviour_record(decode(open_point(exit_failed(EFAULT), nr_openat, at_fdcwd, "", "", O_RDONLY))));
  EXPECT_FALSE(gv::behaviour_record(decode(packet(gv::MessageType::syscall_raw, context(1, 1) + field(4, nr_openat)))));
}

TEST(GvisorBehaviour, AnExecveExitIsAProgramWithItsArgumentsBounded) {
  std::string body = context_cwd(2, 2, "/srv") + exit_ok() + field(3, nr_execve) + field(6, std::string("bin/tool"));
  for (std::size_t i = 0; i < core::exec_argv_max + 3; ++i) body += field(7, std::string(i == 1 ? 300 : 2, 'a'));
  auto m = decode(packet(gv::MessageType::syscall_execve, body));
  const auto e = as<core::TraceExec>(gv::behaviour_record(m));
  EXPECT_EQ(e.path, "/srv/bin/tool");
  ASSERT_EQ(e.argv.size(), core::exec_argv_max);
  EXPECT_EQ(e.argv[1].size(), core::exec_arg_bytes_max);
  EXPECT_TRUE(e.argv_truncated);
  EXPECT_EQ(e.result, core::Outcome::ok);
}

TEST(GvisorBehaviour, AnExecveatWithAnEmptyPathRunsTheDescriptor) {
  const std::uint64_t nr_execveat = 322;
  auto m = decode(packet(gv::MessageType::syscall_execve,
                         context_cwd(2, 2, "/") + exit_failed(EACCES) + field(3, nr_execveat) + field(4, 5) +
                             field(5, std::string("/tmp/payload")) + field(9, AT_EMPTY_PATH)));
  const auto e = as<core::TraceExec>(gv::behaviour_record(m));
  EXPECT_EQ(e.path, "/tmp/payload");
  EXPECT_EQ(e.result, core::Outcome::failed);
}

TEST(GvisorBehaviour, SocketConnectAndBindAreNetworkRecords) {
  auto sock = decode(packet(gv::MessageType::syscall_socket,
                            context(1, 1) + exit_ok(3) + field(3, nr_socket) + field(4, 2) + field(5, 2 | 02000000)));
  const auto s = as<core::TraceNet>(gv::behaviour_record(sock));
  EXPECT_EQ(s.family, "inet");
  EXPECT_EQ(s.socktype, "dgram");
  auto conn =
      decode(packet(gv::MessageType::syscall_connect, context(1, 1) + exit_failed(ECONNREFUSED) + field(3, nr_connect) +
                                                          field(4, 3) + field(6, sockaddr_in("\x7f\0\0\x01", 5432))));
  const auto c = as<core::TraceNet>(gv::behaviour_record(conn));
  EXPECT_EQ(c.syscall, "connect");
  EXPECT_EQ(c.family, "inet");
  EXPECT_EQ(c.address, "127.0.0.1");
  EXPECT_EQ(c.port, 5432);
  EXPECT_EQ(c.result, core::Outcome::failed);
  EXPECT_TRUE(c.socktype.empty());
  const std::string unix_addr = std::string("\x01\0", 2) + "/run/app.sock" + std::string(1, '\0');
  auto bind = decode(packet(gv::MessageType::syscall_bind,
                            context(1, 1) + exit_ok() + field(3, nr_bind) + field(4, 4) + field(6, unix_addr)));
  EXPECT_EQ(as<core::TraceNet>(gv::behaviour_record(bind)).address, "/run/app.sock");
  // An address gVisor could not copy (the call failed with EFAULT) or too short for its family.
  EXPECT_FALSE(gv::behaviour_record(decode(packet(
      gv::MessageType::syscall_connect, context(1, 1) + exit_failed(EFAULT) + field(3, nr_connect) + field(4, 3)))));
  EXPECT_FALSE(gv::behaviour_record(
      decode(packet(gv::MessageType::syscall_connect,
                    context(1, 1) + exit_ok() + field(3, nr_connect) + field(6, std::string("\x02\0", 2))))));
}

// curl connects without blocking: EINPROGRESS is the kernel accepting the attempt, and a policy
// generated from it must grant the endpoint.
TEST(GvisorBehaviour, ANonBlockingConnectInProgressIsAnAttemptThatWorked) {
  auto conn =
      decode(packet(gv::MessageType::syscall_connect, context(1, 1) + exit_failed(EINPROGRESS) + field(3, nr_connect) +
                                                          field(4, 3) + field(6, sockaddr_in("\x7f\0\0\x01", 8080))));
  const auto c = as<core::TraceNet>(gv::behaviour_record(conn));
  EXPECT_EQ(c.port, 8080);
  EXPECT_EQ(c.result, core::Outcome::ok);
}

TEST(GvisorBehaviour, OversizedFieldsAreBoundedNotCut) {
  auto m = decode(open_point(exit_ok(3), nr_openat, at_fdcwd, "", std::string(gv::max_path_size + 1, 'a'), O_RDONLY,
                             std::string(gv::max_path_size + 1, 'b')));
  EXPECT_TRUE(m.point.pathname.empty()); // a cut path would name another file
  EXPECT_TRUE(m.cwd.empty());
  auto big = decode(packet(gv::MessageType::syscall_bind,
                           context(1, 1) + exit_ok() + field(3, nr_bind) + field(6, std::string(4096, '\x01'))));
  EXPECT_EQ(big.point.address.size(), gv::max_address_size);
  // A malformed exit submessage makes the packet malformed.
  EXPECT_FALSE(
      gv::decode_packet(packet(gv::MessageType::syscall_open, context(1, 1) + field(2, std::string("\x08", 1)))));
}

TEST(GvisorBehaviour, ASuccessfulExecIsChargedToTheProgramThatAskedForIt) {
  gv::Tracker t("/bin/sh", {}, true);
  feed(t, {start(1), raw(1, 1, nr_execve),
           packet(gv::MessageType::sentry_exec, context(1, 1) + field(2, std::string("/usr/bin/python3.11"))),
           packet(gv::MessageType::syscall_execve, context_cwd(1, 1, "/") + exit_ok() + field(3, nr_execve) +
                                                       field(6, std::string("/usr/bin/python3")) +
                                                       field(7, std::string("python3"))),
           open_point(exit_ok(3), nr_openat, at_fdcwd, "", "/etc/hosts", O_RDONLY)});
  t.finish();
  auto execs = t.behaviour().execs();
  ASSERT_EQ(execs.size(), 1u);
  EXPECT_EQ(execs[0].exe, "/bin/sh");
  EXPECT_EQ(execs[0].path, "/usr/bin/python3");
  auto files = t.behaviour().files();
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(files[0].exe, "/usr/bin/python3.11");
  EXPECT_EQ(t.loss_detail().find("behaviour record"), std::string::npos) << t.loss_detail();
}

TEST(GvisorBehaviour, RecordsOfAProcessWaitForItsCloneEventAndAreNeverLeftUnattributed) {
  gv::Tracker t("/bin/app", {}, true);
  feed(t, {start(1), open_point(exit_ok(3), nr_openat, at_fdcwd, "", "/a", O_RDONLY, "/", 7)});
  EXPECT_EQ(t.behaviour().size(), 0u); // group 7 is not known yet
  feed(t, {packet(gv::MessageType::sentry_clone, context(1, 1) + field(3, 7) + field(4, 7)),
           open_point(exit_ok(3), nr_openat, at_fdcwd, "", "/b", O_RDONLY, "/", 8)});
  t.finish();
  auto files = t.behaviour().files();
  ASSERT_EQ(files.size(), 2u);
  EXPECT_EQ(files[0].exe, "/bin/app");
  EXPECT_EQ(files[0].path, "/a");
  EXPECT_EQ(files[1].exe, "?"); // group 8's clone never came
}

// The child's messages may come before its parent's clone event, its exec event among them: the
// clone event then names only what the child did before the exec (the parent's program), never
// what it runs after.
TEST(GvisorBehaviour, ACloneEventAfterTheChildsExecChargesOnlyWhatCameBeforeTheExecToTheParent) {
  gv::Tracker t("/bin/app", {0, 3, 59, 257}, true);
  const std::string exec_exit =
      packet(gv::MessageType::syscall_execve,
             context_cwd(7, 7, "/") + exit_ok() + field(3, nr_execve) + field(6, std::string("/bin/gzip")));
  feed(t, {start(1), raw(7, 7, nr_close), raw(7, 7, nr_execve),
           packet(gv::MessageType::sentry_exec, context(7, 7) + field(2, std::string("/usr/bin/gzip"))), exec_exit,
           raw(7, 7, nr_openat), open_point(exit_ok(3), nr_openat, at_fdcwd, "", "/a", O_RDONLY, "/", 7),
           packet(gv::MessageType::sentry_clone, context(1, 1) + field(3, 7) + field(4, 7)), raw(7, 7, 0),
           raw(7, 7, nr_openat), open_point(exit_ok(3), nr_openat, at_fdcwd, "", "/b", O_RDONLY, "/", 7)});
  t.finish();
  std::map<std::pair<int, std::string>, int> calls;
  for (const auto& c : t.take_calls()) ++calls[{c.nr, c.exe}];
  EXPECT_EQ(calls,
            (std::map<std::pair<int, std::string>, int>{
                {{3, "/bin/app"}, 1}, {{59, "/bin/app"}, 1}, {{0, "/usr/bin/gzip"}, 1}, {{257, "/usr/bin/gzip"}, 2}}));
  auto execs = t.behaviour().execs();
  ASSERT_EQ(execs.size(), 1u);
  EXPECT_EQ(execs[0].exe, "/bin/app");
  for (const auto& f : t.behaviour().files()) EXPECT_EQ(f.exe, "/usr/bin/gzip") << f.path;
  EXPECT_EQ(t.behaviour().files().size(), 2u);
  EXPECT_EQ(t.unattributed(), 0u);
}

TEST(GvisorBehaviour, ARawCallWhosePointNeverCameIsALoss) {
  gv::Tracker t("/bin/app", {nr_openat}, true);
  // gVisor dropped the point of the first openat (its path was not valid UTF-8); the second came.
  feed(t, {start(1), raw(1, 1, nr_openat), raw(1, 1, nr_openat),
           open_point(exit_ok(3), nr_openat, at_fdcwd, "", "/ok", O_RDONLY), raw(1, 1, nr_close, 3)});
  EXPECT_NE(t.loss_detail().find("1 call(s) of open, openat"), std::string::npos) << t.loss_detail();
  // A call still waiting when the stream ends counts too.
  gv::Tracker u("/bin/app", {nr_openat}, true);
  feed(u, {start(1), raw(1, 1, nr_openat)});
  u.finish();
  EXPECT_NE(u.loss_detail().find("1 call(s) of open, openat"), std::string::npos) << u.loss_detail();
  // Without behaviour points in the session nothing waits.
  gv::Tracker v("/bin/app", {nr_openat}, false);
  feed(v, {start(1), raw(1, 1, nr_openat)});
  v.finish();
  EXPECT_EQ(v.loss_detail().find("behaviour"), std::string::npos) << v.loss_detail();
}

TEST(GvisorBehaviour, AnExecWhoseEventNeverCameIsALoss) {
  gv::Tracker t("/bin/sh", {}, true);
  feed(t, {start(1), packet(gv::MessageType::syscall_execve, context_cwd(1, 1, "/") + exit_ok() + field(3, nr_execve) +
                                                                 field(6, std::string("/tmp/x")))});
  EXPECT_NE(t.loss_detail().find("1 program(s) started without gVisor's exec event"), std::string::npos)
      << t.loss_detail();
  EXPECT_EQ(t.behaviour().execs().at(0).exe, "/bin/sh");
}

TEST(GvisorBehaviour, ListenAndSendtoAreRecordedWithTheSocketTheyUse) {
  gv::Tracker t("/bin/app", {}, true);
  const std::string sock = [] {
    return packet(gv::MessageType::syscall_socket,
                  context(1, 1) + exit_ok(3) + field(3, nr_socket) + field(4, 2) + field(5, 1 | 02000000));
  }();
  feed(t, {start(1), sock,
           packet(gv::MessageType::syscall_bind, context(1, 1) + exit_ok() + field(3, nr_bind) + field(4, 3) +
                                                     field(6, sockaddr_in("\0\0\0\0", 8080))),
           raw(1, 1, nr_listen, 3),
           packet(gv::MessageType::syscall_socket,
                  context(1, 1) + exit_ok(4) + field(3, nr_socket) + field(4, 1) + field(5, 2)),
           raw(1, 1, nr_sendto, 4, 0x7ffd0000),                         // with an address of its own
           raw(1, 1, nr_sendto, 4, 0),                                  // without one: the socket's peer
           raw(1, 1, nr_close, 4), raw(1, 1, nr_sendto, 4, 0x7ffd0000), // closed: no longer known
           raw(1, 1, nr_sendto, 9, 0x7ffd0000)});                       // never seen made
  t.finish();
  auto nets = t.behaviour().nets();
  std::vector<std::string> seen;
  for (const auto& n : nets)
    seen.push_back(n.syscall + " " + n.family + " " + n.address + " " + std::to_string(n.port));
  // A Unix datagram's sendto: its address is beyond gVisor's points and its strace lines.
  EXPECT_EQ(seen, (std::vector<std::string>{"bind inet 0.0.0.0 8080", "listen inet 0.0.0.0 8080", "sendto unix  -1",
                                            "socket inet  -1", "socket unix  -1"}));
}

TEST(GvisorBehaviour, TheCapDropsRecordsAndCountsThem) {
  gv::Tracker t("/bin/app", {}, true, 2);
  feed(t, {start(1)});
  for (int i = 0; i < 5; ++i)
    feed(t, {open_point(exit_ok(3), nr_openat, at_fdcwd, "", "/f" + std::to_string(i), O_RDONLY)});
  feed(t, {open_point(exit_ok(3), nr_openat, at_fdcwd, "", "/f0", O_RDONLY)}); // a record kept counts on
  t.finish();
  EXPECT_EQ(t.behaviour().size(), 2u);
  EXPECT_EQ(t.behaviour().dropped(), 3u);
  EXPECT_EQ(t.behaviour().files().at(0).count, 2u);
}

// runsc 0.0~20240729, recorded: every record the workload's calls make, attributed. (The stream
// alone: the inet sendto's address is in the debug log, which is not part of the recording.)
TEST(GvisorBehaviour, ARecordedStreamGivesTheWorkloadsRecords) {
  gv::Tracker t("/bin/sh", {3, 44, 46, 50}, true);
  feed(t, recorded_stream());
  t.finish();
  EXPECT_EQ(t.loss_detail(), "");
  auto has_file = [&](const std::string& path, core::FileAccessSet access, core::Outcome result) {
    auto files = t.behaviour().files();
    return std::any_of(files.begin(), files.end(), [&](const core::TraceFile& f) {
      return f.exe == "/usr/bin/python3.11" && f.syscall == "openat" && f.path == path && f.access == access &&
             f.result == result;
    });
  };
  EXPECT_TRUE(has_file("/etc", core::open_flags_access(O_RDONLY | O_DIRECTORY), core::Outcome::ok));
  EXPECT_TRUE(
      has_file("/etc/hostname", core::open_flags_access(O_RDONLY), core::Outcome::ok)); // under the /etc descriptor
  EXPECT_TRUE(has_file("/tmp/notes.txt", core::open_flags_access(O_WRONLY | O_CREAT | O_APPEND),
                       core::Outcome::ok)); // relative
  EXPECT_TRUE(has_file("/nonexistent/x", core::open_flags_access(O_RDONLY), core::Outcome::failed));
  auto nets = t.behaviour().nets();
  std::vector<std::string> seen;
  for (const auto& n : nets)
    if (n.syscall != "connect")
      seen.push_back(n.syscall + " " + n.family + " " + n.socktype + " " + n.address + " " + std::to_string(n.port));
  EXPECT_EQ(seen, (std::vector<std::string>{"bind inet  127.0.0.1 0", "bind unix  /tmp/app.sock -1",
                                            "listen inet  127.0.0.1 0", "socket inet dgram  -1",
                                            "socket inet stream  -1", "socket unix stream  -1"}));
  auto connect = std::find_if(nets.begin(), nets.end(), [](const core::TraceNet& n) { return n.syscall == "connect"; });
  ASSERT_NE(connect, nets.end());
  EXPECT_EQ(connect->address, "127.0.0.1");
  EXPECT_GT(connect->port, 0);
  EXPECT_EQ(connect->result, core::Outcome::ok);
  auto execs = t.behaviour().execs();
  ASSERT_EQ(execs.size(), 2u);
  EXPECT_EQ(execs[0].exe, "/bin/sh"); // sh -c 'cd /tmp && python3 ...' execs python3 in its place
  EXPECT_EQ(execs[0].path, "/usr/bin/python3");
  EXPECT_EQ(execs[1].exe, "/usr/bin/python3.11");
  EXPECT_EQ(execs[1].path, "/bin/sh");
  EXPECT_EQ(execs[1].argv, (std::vector<std::string>{"sh", "-c", "exit 0"}));
}

TEST(GvisorBehaviour, TheSessionAsksForTheExitSideOfEachPoint) {
  auto points = gv::behaviour_points();
  ASSERT_FALSE(points.empty());
  for (const auto& [name, optional] : points) EXPECT_TRUE(name.ends_with("/exit")) << name;
}

namespace {
// A debug log line of runsc 0.0~20240729 whose message is `msg` (JSON-escaped already).
std::string strace_line(const std::string& msg) {
  return "{\"msg\":\"strace.go:614] " + msg + "\",\"level\":\"info\",\"time\":\"2026-12-07T06:09:44.299142631Z\"}";
}
} // namespace

// sendto has no point: its address comes from the debug log's strace exit line, read from its end.
TEST(GvisorBehaviour, SendtoExitLinesGiveTheDestinationAndResult) {
  auto ok = gv::parse_debug_line(strace_line("[   1:   3] python3 X sendto(0x3 socket:[1], 0xa5f020, 0x1, 0x0, "
                                             "0x7ed3baa31050 {Family: AF_INET, Addr: 127.0.0.1, Port: 53}, 0x10) = 1 "
                                             "(0x1) (163.148\u00b5s)"));
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->kind, gv::LogEvent::Kind::sendto);
  EXPECT_EQ(ok->tid, 3);
  EXPECT_EQ(ok->address.family, "inet");
  EXPECT_EQ(ok->address.address, "127.0.0.1");
  EXPECT_EQ(ok->address.port, 53);
  EXPECT_EQ(ok->result, core::Outcome::ok);
  auto v6 = gv::parse_debug_line(strace_line("[   1:   1] python3 X sendto(0x4 socket:[2], 0xa5f020, 0x1, 0x0, "
                                             "0x7ed3baa31050 {Family: AF_INET6, Addr: 0:0:0:0:0:0:0:1, Port: 5353}, "
                                             "0x1c) = 1 (0x1) (42.223\u00b5s)"));
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->address.address, "::1"); // as core::decode_sockaddr writes it, whatever gVisor's spelling
  auto failed = gv::parse_debug_line(strace_line("[   1:   1] python3 X sendto(0x5 socket:[3], 0xa5f020, 0x11170, 0x0, "
                                                 "0x7ed3baa31050 {Family: AF_INET, Addr: 10.0.0.9, Port: 9}, 0x10) = 0 "
                                                 "(0x0) errno=90 (message too long) (31.2\u00b5s)"));
  ASSERT_TRUE(failed);
  EXPECT_EQ(failed->result, core::Outcome::failed);
  EXPECT_EQ(failed->address.address, "10.0.0.9");
}

TEST(GvisorBehaviour, SendtoLinesTheWorkloadShapesAreNotRead) {
  const std::string forged =
      "x, 0x0, 0x0, 0x0, 0x1 {Family: AF_INET, Addr: 6.6.6.6, Port: 1}, 0x10) = 1 (0x1) (1\u00b5s)";
  for (const std::string& msg : std::vector<std::string>{
           // No address of its own, on a descriptor whose name (a file's path) carries a forged tail.
           "[   1:   1] python3 X sendto(0x5 /tmp/" + forged +
               ", 0xa5f020, 0x1, 0x0, null, 0x0) = 0 (0x0) errno=88 "
               "(socket operation on non-socket) (2\u00b5s)",
           // The forged tail in the comm: the first " X " is then the comm's.
           "[   1:   1] a X sendto(q X sendto(0x3 socket:[1], 0x1, 0x1, 0x0, null, 0x0) = 1 (0x1) (1\u00b5s)",
           // Other families, an unreadable address, a port out of range, an entry line, trailing text.
           "[   1:   1] python3 X sendto(0x3 socket:[1], 0x1, 0x1, 0x0, 0x7e {Family: AF_UNIX, Addr: \\\"/x\\\"}, 0x6) "
           "= 1 (0x1) (1\u00b5s)",
           "[   1:   1] python3 X sendto(0x3 socket:[1], 0x1, 0x1, 0x0, 0x7e {error reading address: bad address}, "
           "0x10) "
           "= 0 (0x0) errno=14 (bad address) (1\u00b5s)",
           "[   1:   1] python3 X sendto(0x3 socket:[1], 0x1, 0x1, 0x0, 0x7e {Family: AF_INET, Addr: 1.2.3.4, Port: "
           "99999}, "
           "0x10) = 1 (0x1) (1\u00b5s)",
           "[   1:   1] python3 E sendto(0x3 socket:[1], 0x1, 0x1, 0x0, 0x7e {Family: AF_INET, Addr: 1.2.3.4, Port: "
           "53}, 0x10)",
           "[   1:   1] python3 X sendto(0x3 socket:[1], 0x1, 0x1, 0x0, 0x7e {Family: AF_INET, Addr: 1.2.3.4, Port: "
           "53}, 0x10) "
           "= 1 (0x1) (1\u00b5s) x",
       }) {
    SCOPED_TRACE(msg);
    auto e = gv::parse_debug_line(strace_line(msg));
    EXPECT_TRUE(!e || e->kind != gv::LogEvent::Kind::sendto);
  }
}

TEST(GvisorBehaviour, ASendtoLineIsAttributedAndTakesThePlaceOfTheFamilyOnlyRecord) {
  gv::Tracker t("/bin/app", {}, true);
  feed(t, {start(1),
           packet(gv::MessageType::syscall_socket,
                  context(1, 1) + exit_ok(3) + field(3, nr_socket) + field(4, 2) + field(5, 2)),
           raw(1, 1, nr_sendto, 3, 0x7ffd0000)});
  auto e =
      gv::parse_debug_line(strace_line("[   1:   1] app X sendto(0x3 socket:[1], 0x1, 0x1, 0x0, 0x7ffd0000 {Family: "
                                       "AF_INET, Addr: 127.0.0.1, Port: 53}, 0x10) = 1 (0x1) (1\u00b5s)"));
  ASSERT_TRUE(e);
  t.on_log(*e);
  t.finish();
  auto nets = t.behaviour().nets();
  auto sent = std::find_if(nets.begin(), nets.end(), [](const core::TraceNet& n) { return n.syscall == "sendto"; });
  ASSERT_NE(sent, nets.end());
  EXPECT_EQ(sent->exe, "/bin/app");
  EXPECT_EQ(sent->address, "127.0.0.1");
  EXPECT_EQ(sent->port, 53);
  EXPECT_EQ(std::count_if(nets.begin(), nets.end(), [](const core::TraceNet& n) { return n.syscall == "sendto"; }), 1);
  EXPECT_TRUE(t.take_calls().size() <= 1u); // the call is counted from the stream, not again from the log
}
