// The gVisor readers: packets built as gVisor's remote sink frames them (8-byte header, protobuf
// body with the field numbers of pkg/sentry/seccheck/points), debug log lines as runsc writes them
// (copied from runsc 0.0~20221219 output), and the tracker's attribution and loss accounting.
#include "nucleus/tracer/gvisor.hpp"

#include "gvisor_packets.hpp"

#include <gtest/gtest.h>

#include <cerrno>
#include <cstdint>
#include <string>

namespace gv = nucleus::tracer::gvisor;
namespace core = nucleus::core;
using namespace nucleus_test_gvisor;

namespace {

std::string log_line(const std::string& msg_json_escaped, const char* level = "info") {
  return "{\"msg\":\"" + msg_json_escaped + "\",\"level\":\"" + level +
         "\",\"time\":\"2026-12-01T18:33:52.04724278Z\"}";
}

} // namespace

TEST(GvisorWire, DecodesARawSyscallWithContextAndArguments) {
  auto m = decode(packet(gv::MessageType::syscall_raw,
                         context(7, 5) + field(4, 257) + field(5, 4294967196ULL) + field(7, 524288) + field(10, 3)));
  EXPECT_EQ(m.type, 6);
  EXPECT_EQ(m.tid, 7);
  EXPECT_EQ(m.tgid, 5);
  EXPECT_EQ(m.sysno, 257u);
  EXPECT_EQ(m.args[0], 4294967196ULL);
  EXPECT_EQ(m.args[1], 0u); // absent: proto3 default
  EXPECT_EQ(m.args[2], 524288u);
  EXPECT_EQ(m.args[5], 3u);
}

TEST(GvisorWire, SysnoZeroIsAbsentOnTheWireAndStillRead) {
  auto m = decode(packet(gv::MessageType::syscall_raw, context(1, 1) + field(5, 3)));
  EXPECT_EQ(m.sysno, 0u); // read(2)
}

TEST(GvisorWire, DecodesCloneExecExitAndDroppedCount) {
  auto clone = decode(packet(gv::MessageType::sentry_clone, context(1, 1) + field(3, 9) + field(4, 9)));
  EXPECT_EQ(clone.created_tid, 9);
  EXPECT_EQ(clone.created_tgid, 9);
  auto exec = decode(packet(gv::MessageType::sentry_exec,
                            context(9, 9) + field(2, std::string("/usr/bin/gzip")) + field(3, std::string("gzip")), 3));
  EXPECT_EQ(exec.binary_path, "/usr/bin/gzip");
  EXPECT_EQ(exec.dropped, 3u);
  auto exit = decode(packet(gv::MessageType::sentry_task_exit, context(1, 1) + field(2, 768)));
  EXPECT_EQ(exit.exit_status, 768);
  auto start =
      decode(packet(gv::MessageType::container_start, context(1, 1) + field(2, std::string("id")) +
                                                          field(4, std::string("./app")) + field(4, std::string("x"))));
  EXPECT_EQ(start.binary_path, "./app"); // args[0]
}

TEST(GvisorWire, RefusesMalformedPacketsWithoutCrashing) {
  std::string good = packet(gv::MessageType::syscall_raw, context(1, 1) + field(4, 12));
  EXPECT_FALSE(gv::decode_packet(good.substr(0, 7)));               // shorter than the header
  EXPECT_FALSE(gv::decode_packet(good.substr(0, good.size() - 1))); // truncated context
  std::string huge_len = packet(gv::MessageType::sentry_exec, varint((2 << 3) | 2) + varint(1ULL << 40));
  EXPECT_FALSE(gv::decode_packet(huge_len));
  std::string bad_header = good;
  bad_header[0] = 100; // header size beyond the packet
  EXPECT_FALSE(gv::decode_packet(bad_header));
  std::string group = packet(gv::MessageType::syscall_raw, varint((3 << 3) | 3));
  EXPECT_FALSE(gv::decode_packet(group));
  // Unknown types and fields are skipped, not refused (gVisor adds them over time).
  auto unknown =
      gv::decode_packet(packet(static_cast<gv::MessageType>(99), context(1, 1) + field(15, std::string("x"))));
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->type, 99);
}

TEST(GvisorWire, HandshakeRoundTrips) {
  EXPECT_EQ(gv::encode_handshake(1), std::string("\x08\x01", 2));
  EXPECT_EQ(gv::decode_handshake(gv::encode_handshake(300)), 300u);
  EXPECT_FALSE(gv::decode_handshake(std::string("\x08", 1)));
}

TEST(GvisorDebugLog, ReadsUnknownNumbersDenialsAndKills) {
  auto unknown = gv::parse_debug_line(
      log_line("[   1:   3] probe E sys_450(0x1, 0x2, 0x7fa2fec96011, 0x0, 0x7fa2fed956d0, 0x7f8241ef2748)"));
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->kind, gv::LogEvent::Kind::unknown_syscall);
  EXPECT_EQ(unknown->nr, 450);
  EXPECT_EQ(unknown->pid, 1);
  EXPECT_EQ(unknown->tid, 3);
  auto denied = gv::parse_debug_line(log_line("[   4:   6] Syscall 41: denied by seccomp", "debug"));
  ASSERT_TRUE(denied);
  EXPECT_EQ(denied->kind, gv::LogEvent::Kind::denied);
  EXPECT_EQ(denied->nr, 41);
  EXPECT_EQ(denied->tid, 6);
  auto killed = gv::parse_debug_line(log_line("[   1:   1] Syscall 110: killed by seccomp", "debug"));
  ASSERT_TRUE(killed);
  EXPECT_EQ(killed->kind, gv::LogEvent::Kind::killed);
  auto unsupported = gv::parse_debug_line(log_line(
      "Unsupported syscall sys_999(0x2,0x7f,0x0,0x0,0x0,0x0). It is likely that you can safely ignore this message."));
  ASSERT_TRUE(unsupported);
  EXPECT_EQ(unsupported->kind, gv::LogEvent::Kind::unsupported);
  EXPECT_EQ(unsupported->nr, 999);
}

// runsc 20240729 puts the Go source position of the log call first.
TEST(GvisorDebugLog, ReadsLinesWithTheSourcePosition) {
  auto unknown =
      gv::parse_debug_line(log_line("strace.go:576] [   1:   1] python3 E sys_437(0x1, 0x2, 0x3, 0x4, 0x5, 0x6)"));
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->kind, gv::LogEvent::Kind::unknown_syscall);
  EXPECT_EQ(unknown->nr, 437);
  auto unsupported =
      gv::parse_debug_line(log_line("compat.go:120] Unsupported syscall sys_440(0x1,0x2,0x3,0x4,0x5,0x6). It is likely "
                                    "that you can safely ignore this message"));
  ASSERT_TRUE(unsupported);
  EXPECT_EQ(unsupported->kind, gv::LogEvent::Kind::unsupported);
  EXPECT_EQ(unsupported->nr, 440);
  EXPECT_FALSE(gv::parse_debug_line(log_line("strace.go:] [   1:   1] t E sys_449(0x0, 0x0, 0x0, 0x0, 0x0, 0x0)")));
}

// runsc 20240729 puts the Go source position of the log call first; each kind of line counts only
// from the file of gVisor's that writes it (lines as that release writes them).
TEST(GvisorDebugLog, ReadsTheLinesOfRunsc20240729) {
  auto unknown =
      gv::parse_debug_line(log_line("strace.go:576] [   1:   1] python3 E sys_449(0x0, 0x0, 0x0, 0x0, 0x0, 0x6)"));
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->kind, gv::LogEvent::Kind::unknown_syscall);
  EXPECT_EQ(unknown->nr, 449);
  auto denied =
      gv::parse_debug_line(log_line("task_syscall.go:241] [   1:   1] Syscall 41: denied by seccomp", "debug"));
  ASSERT_TRUE(denied);
  EXPECT_EQ(denied->kind, gv::LogEvent::Kind::denied);
  EXPECT_EQ(denied->nr, 41);
  auto killed =
      gv::parse_debug_line(log_line("task_syscall.go:246] [   1:   2] Syscall 110: killed by seccomp", "debug"));
  ASSERT_TRUE(killed);
  EXPECT_EQ(killed->kind, gv::LogEvent::Kind::killed);
  EXPECT_EQ(killed->tid, 2);
  auto unsupported =
      gv::parse_debug_line(log_line("compat.go:120] Unsupported syscall sys_451(0x0,0x0,0x0,0x0,0xb4f9a0,0x6). It is "
                                    "likely that you can safely ignore this message"));
  ASSERT_TRUE(unsupported);
  EXPECT_EQ(unsupported->kind, gv::LogEvent::Kind::unsupported);
  EXPECT_EQ(unsupported->nr, 451);
  // The same words from another of gVisor's files, or a position of the wrong shape, are not records.
  EXPECT_FALSE(gv::parse_debug_line(log_line("strace.go:576] [   1:   1] Syscall 41: denied by seccomp")));
  EXPECT_FALSE(
      gv::parse_debug_line(log_line("task_syscall.go:241] [   1:   1] t E sys_449(0x0, 0x0, 0x0, 0x0, 0x0, 0x0)")));
  EXPECT_FALSE(gv::parse_debug_line(log_line("strace.go:576] Unsupported syscall sys_451(0x0)")));
  EXPECT_FALSE(gv::parse_debug_line(log_line("strace.go:x] [   1:   1] t E sys_449(0x0, 0x0, 0x0, 0x0, 0x0, 0x0)")));
  // A comm that reads like a position after the task prefix changes nothing.
  EXPECT_FALSE(gv::parse_debug_line(log_line("strace.go:576] [   1:   1] a.go:1] E getppid()")));
}

TEST(GvisorDebugLog, IgnoresExitLinesAndKnownCalls) {
  EXPECT_FALSE(gv::parse_debug_line(log_line("[   1:   1] t X sys_450(0x1, 0x2, 0x0, 0x0, 0x0, 0x0) = 0 (0x0) errno=38 "
                                             "(invalid system call number) (24.827µs)")));
  EXPECT_FALSE(gv::parse_debug_line(log_line("[   1:   1] t E getppid()")));
  EXPECT_FALSE(gv::parse_debug_line("not json sys_450"));
  EXPECT_FALSE(gv::parse_debug_line("{\"msg\":42,\"x\":\"sys_1\"}"));
}

TEST(GvisorDebugLog, WorkloadTextCannotForgeARecord) {
  // A comm holding a whole fake entry: the real call after it is a known one.
  EXPECT_FALSE(gv::parse_debug_line(log_line("[   1:   1] E sys_9(0x1) E getppid()")));
  EXPECT_FALSE(gv::parse_debug_line(log_line("[   1:   1] E sys_9(0x1, 0x0, 0x0, 0x0, 0x0, 0x0) E getppid()")));
  // A path whose text ends like an unknown call's entry: the part before it is longer than a comm.
  EXPECT_FALSE(gv::parse_debug_line(
      log_line("[   1:   1] t E chdir(0x558df1ba0020 /x E sys_450(0x1, 0x2, 0x3, 0x4, 0x5, 0x6)")));
  EXPECT_FALSE(gv::parse_debug_line(log_line("[   1:   1]  E acct(0x10000 E sys_450(0x1)")));
  // A path with a newline and a whole fake JSON record in it stays inside the one JSON string.
  EXPECT_FALSE(gv::parse_debug_line(log_line(
      "[   1:   1] x E getpid( E openat(AT_FDCWD /tmp, 0x558df1ba0020 /tmp/a\\n{\\\"msg\\\":\\\"[   1:   1] x E "
      "sys_450(0x1)\\\"}\\n, O_RDONLY|0x0, 0o0)")));
  // A comm holding " E " is not taken as a comm (see parse_debug_line), nor an argument count other
  // than the six gVisor prints for an unknown number.
  EXPECT_FALSE(gv::parse_debug_line(log_line("[   1:   1]  E sys_460(0x1) E sys_449(0x0, 0x0, 0x0, 0x0, 0x0, 0x0)")));
  EXPECT_FALSE(gv::parse_debug_line(log_line("[   1:   1] t E sys_449(0x0, 0x0)")));
  // A comm that reads "Syscall 41: denied" does not make a denial.
  EXPECT_FALSE(gv::parse_debug_line(log_line("[   1:   1] Syscall 41: den E getppid()")));
  // Only a message that starts with gVisor's own words is an "Unsupported syscall" line.
  EXPECT_FALSE(gv::parse_debug_line(log_line("[   1:   1] Unsupported syscall sys_4 E read(0x3, 0x1, 0x1)")));
}

TEST(GvisorTracker, AttributesByThreadGroupThroughCloneAndExec) {
  gv::Tracker t("/usr/bin/sh", {0, 1, 56, 59, 231});
  t.on_message(decode(packet(gv::MessageType::container_start, context(1, 1) + field(4, std::string("sh")))));
  t.on_message(decode(packet(gv::MessageType::syscall_raw, context(1, 1) + field(4, 1))));
  // The child's first call arrives before its clone event (different tasks): it waits.
  t.on_message(decode(packet(gv::MessageType::syscall_raw, context(2, 2) + field(4, 59))));
  EXPECT_EQ(t.take_calls().size(), 1u);
  t.on_message(decode(packet(gv::MessageType::sentry_clone, context(1, 1) + field(3, 2) + field(4, 2))));
  t.on_message(decode(packet(gv::MessageType::sentry_exec, context(2, 2) + field(2, std::string("/usr/bin/gzip")))));
  t.on_message(decode(packet(gv::MessageType::syscall_raw, context(2, 2))));
  // A thread of gzip: same group, same executable.
  t.on_message(decode(packet(gv::MessageType::sentry_clone, context(2, 2) + field(3, 3) + field(4, 2))));
  t.on_log(*gv::parse_debug_line(log_line("[   2:   3] gzip E sys_450(0x0, 0x0, 0x0, 0x0, 0x0, 0x0)")));
  auto calls = t.take_calls();
  ASSERT_EQ(calls.size(), 3u);
  EXPECT_EQ(calls[0].exe, "/usr/bin/sh"); // the execve, made by the shell before the exec event
  EXPECT_EQ(calls[0].nr, 59);
  EXPECT_EQ(calls[1].exe, "/usr/bin/gzip");
  EXPECT_EQ(calls[1].nr, 0);
  EXPECT_EQ(calls[2].exe, "/usr/bin/gzip");
  EXPECT_EQ(calls[2].nr, 450);
  EXPECT_FALSE(calls[2].has_args);
  t.on_message(decode(packet(gv::MessageType::sentry_task_exit, context(1, 1))));
  t.on_sink_end();
  t.finish();
  EXPECT_EQ(t.loss_detail(), "");
  EXPECT_EQ(t.unattributed(), 0u);
}

// A number the stream sends is counted from the stream alone; a number the trace metadata lists
// but gVisor's table lacks (runsc 20240729: 437, 438, 440) never reaches the stream, and its
// debug-log entries are its record.
TEST(GvisorTracker, NumbersTheStreamDoesNotSendComeFromTheLog) {
  gv::Tracker t("/app", {0, 1, 39, 437, 438, 439, 440});
  t.on_message(decode(packet(gv::MessageType::container_start, context(1, 1))));
  t.on_message(decode(packet(gv::MessageType::syscall_raw, context(1, 1) + field(4, 39))));
  ASSERT_EQ(t.take_calls().size(), 1u);
  t.on_log(gv::LogEvent{gv::LogEvent::Kind::unknown_syscall, 1, 1, 39});
  EXPECT_TRUE(t.take_calls().empty());
  for (int nr : {437, 438, 440}) {
    t.on_log(gv::LogEvent{gv::LogEvent::Kind::unsupported, 0, 0, nr});
    t.on_log(gv::LogEvent{gv::LogEvent::Kind::unknown_syscall, 1, 1, nr});
  }
  auto calls = t.take_calls();
  ASSERT_EQ(calls.size(), 3u);
  EXPECT_EQ(calls[0].nr, 437);
  EXPECT_EQ(calls[1].nr, 438);
  EXPECT_EQ(calls[2].nr, 440);
  EXPECT_EQ(calls[2].exe, "/app");
  t.on_message(decode(packet(gv::MessageType::sentry_task_exit, context(1, 1))));
  t.on_sink_end();
  t.finish();
  EXPECT_TRUE(t.take_calls().empty()) << "the unsupported lines add nothing once the entries were counted";
  EXPECT_EQ(t.loss_detail(), "");
}

// An argument-sensitive call known only from the debug log has no argument values: the trace says
// so instead of conditioning on the values it happened to see.
TEST(GvisorTracker, SensitiveCallsWithoutArgumentsAreLoss) {
  gv::Tracker t("/app", {0});
  t.on_message(decode(packet(gv::MessageType::container_start, context(1, 1))));
  t.on_log(gv::LogEvent{gv::LogEvent::Kind::unknown_syscall, 1, 1, 41}); // socket
  t.on_message(decode(packet(gv::MessageType::sentry_task_exit, context(1, 1))));
  t.on_sink_end();
  t.finish();
  EXPECT_NE(t.loss_detail().find("1 call(s) of argument-sensitive syscalls"), std::string::npos) << t.loss_detail();
}

TEST(GvisorTracker, DenialsCarryTheErrnoGvisorReturns) {
  gv::Tracker t("/app", {41});
  t.on_message(decode(packet(gv::MessageType::container_start, context(1, 1))));
  t.on_log(*gv::parse_debug_line(log_line("[   1:   1] Syscall 41: denied by seccomp", "debug")));
  t.on_log(*gv::parse_debug_line(log_line("[   1:   1] Syscall 41: killed by seccomp", "debug")));
  auto calls = t.take_calls();
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[0].action, core::Action::errno_ret(EPERM));
  EXPECT_EQ(calls[1].action.kind, core::ActionKind::kill_thread);
  EXPECT_EQ(calls[0].exe, "/app");
}

TEST(GvisorTracker, EveryKindOfLossIsReported) {
  {
    gv::Tracker t("/app", {1});
    t.on_sink_end();
    t.finish();
    EXPECT_NE(t.loss_detail().find("never started"), std::string::npos);
  }
  {
    gv::Tracker t("/app", {1});
    t.on_message(decode(packet(gv::MessageType::container_start, context(1, 1))));
    t.on_message(decode(packet(gv::MessageType::syscall_raw, context(1, 1) + field(4, 1))));
    t.on_sink_end(); // cut before the first process exited
    t.finish();
    EXPECT_NE(t.loss_detail().find("ended before"), std::string::npos);
  }
  {
    gv::Tracker t("/app", {1});
    t.on_message(decode(packet(gv::MessageType::container_start, context(1, 1))));
    t.on_message(decode(packet(gv::MessageType::sentry_task_exit, context(1, 1), 2)));
    t.on_sink_end();
    t.finish();
    EXPECT_EQ(t.dropped(), 2u);
    EXPECT_NE(t.loss_detail().find("dropped 2"), std::string::npos);
  }
}

// The container's first process has ended when its last thread has, as runsc 20221219 reports it
// (a task exit per thread; no exit_notify_parent, it has no parent in the sandbox). A stream that
// ends while a thread of it still runs is cut short, however the main thread left.
TEST(GvisorTracker, TheFirstProcessEndsWithItsLastThread) {
  auto ended = [](const std::vector<std::string>& packets) {
    gv::Tracker t("/app", {1});
    t.on_message(decode(packet(gv::MessageType::container_start, context(1, 1))));
    for (const auto& p : packets) t.on_message(decode(p));
    t.on_sink_end();
    t.finish();
    EXPECT_EQ(t.loss_detail().empty(), t.init_exited()) << t.loss_detail();
    return t.init_exited();
  };
  const std::string clone2 = packet(gv::MessageType::sentry_clone, context(1, 1) + field(3, 2) + field(4, 1));
  const std::string exit1 = packet(gv::MessageType::sentry_task_exit, context(1, 1));
  const std::string exit2 = packet(gv::MessageType::sentry_task_exit, context(2, 1));
  EXPECT_TRUE(ended({exit1}));
  EXPECT_FALSE(ended({clone2, exit1})) << "the main thread left alone (SYS_exit), a thread still runs";
  EXPECT_TRUE(ended({clone2, exit1, exit2}));
  EXPECT_TRUE(ended({exit2, clone2, exit1})) << "a thread's exit may arrive before its clone";
  // A thread that execs takes the leader's id: the old leader's exit and its own both come under it.
  const std::string exec = packet(gv::MessageType::sentry_exec, context(2, 1) + field(2, std::string("/bin/true")));
  EXPECT_FALSE(ended({clone2, exec, exit1}));
  EXPECT_TRUE(ended({clone2, exec, exit1, exit1}));
  EXPECT_TRUE(ended({clone2, exit1, exec, exit1}));
  // A process below the first one is not the first one.
  EXPECT_FALSE(ended({packet(gv::MessageType::sentry_clone, context(1, 1) + field(3, 5) + field(4, 5)),
                      packet(gv::MessageType::sentry_task_exit, context(5, 5))}));
  EXPECT_TRUE(ended({packet(gv::MessageType::sentry_exit_notify_parent, context(1, 1))}));
}

TEST(GvisorTracker, UnsupportedNumberWithoutAnEntryLineIsStillRecorded) {
  gv::Tracker t("/app", {1});
  t.on_message(decode(packet(gv::MessageType::container_start, context(1, 1))));
  t.on_log(gv::LogEvent{gv::LogEvent::Kind::unsupported, 0, 0, 451});
  t.finish();
  auto calls = t.take_calls();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].nr, 451);
  EXPECT_EQ(calls[0].exe, "?");
  EXPECT_EQ(t.unattributed(), 1u);
}

TEST(GvisorPolicyAction, ArgumentConditionsDecide) {
  core::Policy p;
  p.default_action = core::Action::errno_ret(EPERM);
  core::Rule socket_unix;
  socket_unix.names = {"socket"};
  socket_unix.args = {core::ArgCondition{0, core::CmpOp::eq, 1, 0}};
  p.rules.push_back(socket_unix);
  core::Rule read;
  read.names = {"read", "write"};
  p.rules.push_back(read);
  EXPECT_EQ(gv::policy_action(p, "socket", {1, 1, 0, 0, 0, 0}), core::Action::allow());
  EXPECT_EQ(gv::policy_action(p, "socket", {2, 1, 0, 0, 0, 0}), core::Action::errno_ret(EPERM));
  EXPECT_EQ(gv::policy_action(p, "write", {}), core::Action::allow());
  EXPECT_EQ(gv::policy_action(p, "ptrace", {}), core::Action::errno_ret(EPERM));
}

// The release is read from both spellings of `runsc --version`; an older one than the default
// level needs gets one note naming what fails and how to upgrade, a recent one none.
TEST(GvisorVersion, OldReleasesAreNamedWithTheFix) {
  EXPECT_EQ(gv::runsc_release_date("runsc version 0.0~20221219.0\nspec: 1.0.2-dev\n"), 20221219);
  EXPECT_EQ(gv::runsc_release_date("runsc version release-20240729.0\n"), 20240729);
  EXPECT_EQ(gv::runsc_release_date("runsc version 0.0~2024\n"), std::nullopt);
  EXPECT_EQ(gv::runsc_release_date("spec: 1.0.2\nrunsc version 0.0~20221219.0\n"), std::nullopt) << "first line only";
  EXPECT_EQ(gv::runsc_release_date(""), std::nullopt);
  const std::string note = gv::old_runsc_note("runsc version 0.0~20221219.0\n");
  EXPECT_NE(note.find("statx"), std::string::npos) << note;
  EXPECT_NE(note.find("ls, stat"), std::string::npos) << note;
  EXPECT_NE(note.find("bookworm-backports runsc"), std::string::npos) << note;
  EXPECT_EQ(gv::old_runsc_note("runsc version 0.0~20240729.0\n"), "");
  EXPECT_EQ(gv::old_runsc_note("runsc version release-20250101.0\n"), "");
  EXPECT_EQ(gv::old_runsc_note("garbage"), "") << "an unknown version is not called old";
}
