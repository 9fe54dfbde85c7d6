// Reading gVisor's own record of what its kernel did for the workload (the trace source used
// whenever the workload runs under runsc). Two channels, both written by the sandbox, never by the
// workload:
//   - the runtime-monitoring "remote" sink: SOCK_SEQPACKET, one packet per event, an 8-byte header
//     (u16 header size, u16 message type, u32 dropped count) and a protobuf message. Structured, so
//     nothing the workload writes (comm, paths, argv) can be taken for a record. It carries every
//     number in gVisor's syscall table, with raw arguments, plus container start, clone, exec, exit.
//     With the syscall points of a few calls (open, openat, creat, execve, execveat, socket,
//     connect, bind) it also carries their decoded arguments and result: the
//     behaviour records (files, programs run, network endpoints; gvisor_behaviour.cpp).
//   - the debug log (JSON lines): the only place that names the numbers gVisor does not know
//     (strace "E sys_N(...)" lines) and the calls its seccomp filter denied or killed.
// Use: decode_packet() each packet, parse_debug_line() each log line, and feed both to a
// GvisorTracker, which attributes each call to its executable and keeps the loss accounting.
#pragma once

#include "nucleus/core/action.hpp"
#include "nucleus/core/behaviour.hpp"
#include "nucleus/core/policy.hpp"

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace nucleus::tracer::gvisor {

// gvisor.common.MessageType values this reader understands (pkg/sentry/seccheck/points/common.proto).
enum class MessageType : std::uint16_t {
  container_start = 1,
  sentry_clone = 2,
  sentry_exec = 3,
  sentry_exit_notify_parent = 4,
  sentry_task_exit = 5,
  syscall_raw = 6,
  // The syscall points behaviour records are made from (gvisor.syscall.Open, Connect, ...).
  syscall_open = 7, // open, openat, creat
  syscall_connect = 10,
  syscall_execve = 11, // execve, execveat
  syscall_socket = 12,
  syscall_bind = 24,
};

inline constexpr std::size_t wire_header_size = 8;
// Limits on what is kept from a packet: the sandbox is not trusted to send sane sizes.
inline constexpr std::size_t max_packet_size = 1 << 20;
inline constexpr std::size_t max_path_size = 4096;

// The fields of a syscall point that behaviour records are made from, as the point's message has
// them (gvisor.syscall.Open, Execve, Socket, Connect, Bind, Chdir in points/syscall.proto).
struct PointFields {
  std::uint64_t sysno = 0;
  bool has_exit = false;    // the exit side of the point: the call's result is known
  std::int64_t result = 0;  // Exit.result
  std::int64_t errorno = 0; // Exit.errorno: non-zero when the call failed
  std::int64_t fd = 0;      // openat/execveat: the directory descriptor (AT_FDCWD = -100); connect/bind: the socket
  std::string fd_path;      // the optional field: that descriptor's path in the sandbox, when it has one
  std::string pathname;     // as the call passed it (gVisor copies at most PATH_MAX bytes)
  std::uint32_t flags = 0;  // open: the open flags; execveat: the AT_* flags
  std::vector<std::string> argv; // execve: at most core::exec_argv_max, each cut to core::exec_arg_bytes_max
  bool argv_truncated = false;
  std::string address;     // connect/bind: the struct sockaddr bytes (at most max_address_size)
  std::int32_t domain = 0; // socket
  std::int32_t type = 0;   // socket: with SOCK_NONBLOCK and SOCK_CLOEXEC
};
inline constexpr std::size_t max_address_size = 128; // sizeof(struct sockaddr_storage)

struct Message {
  std::uint16_t type = 0;
  std::uint32_t dropped = 0; // the sink's running count of events it could not send
  // Context (gvisor.common.ContextData): ids in the sandbox's root pid namespace.
  std::int32_t tid = 0;
  std::int32_t tgid = 0;
  // syscall_raw
  std::uint64_t sysno = 0;
  std::array<std::uint64_t, 6> args{};
  // sentry_clone
  std::int32_t created_tid = 0;
  std::int32_t created_tgid = 0;
  // sentry_exec: the new image; container_start: args[0] of the first process
  std::string binary_path;
  // sentry_task_exit / exit_notify_parent
  std::int32_t exit_status = 0;
  // The calling task's working directory in the sandbox (ContextData.cwd), when the point has it.
  std::string cwd;
  // syscall_open, syscall_execve, syscall_socket, syscall_connect, syscall_bind
  PointFields point;
};

// nullopt with `error` set for a packet that is not a well-formed message; unknown message types
// and unknown fields are accepted (type kept, fields skipped). Never throws, for any input.
std::optional<Message> decode_packet(std::string_view packet, std::string* error = nullptr);

// The handshake both sides send first: gvisor.common.Handshake{version}.
std::string encode_handshake(std::uint32_t version);
std::optional<std::uint32_t> decode_handshake(std::string_view packet);

// One line of the debug log that matters here.
struct LogEvent {
  enum class Kind {
    unknown_syscall, // strace entry of a number gVisor does not know: "[ pid: tid] comm E sys_N(...)"
    unsupported,     // "Unsupported syscall sys_N(...)": gVisor names each unknown number once, no caller
    denied,          // "[ pid: tid] Syscall N: denied by seccomp" (needs runsc --debug)
    killed,          // "[ pid: tid] Syscall N: killed by seccomp"
    // strace exit of a sendto with an inet or inet6 address (the session straces sendto, which
    // has no point: "[ pid: tid] comm X sendto(fd, 0x.., 0x.., 0x.., 0x.. {Family: AF_INET, Addr:
    // 127.0.0.1, Port: 53}, 0x10) = 1 (0x1) (12µs)")
    sendto,
  };
  Kind kind = Kind::unknown_syscall;
  std::int32_t pid = 0;
  std::int32_t tid = 0;
  int nr = 0;
  // sendto: the destination, as core::decode_sockaddr words it, and the call's result.
  core::SocketAddress address{};
  core::Outcome result = core::Outcome::unknown;
};

// Parses one JSON line of `runsc --debug-log-format=json`. nullopt for every other line. The
// workload controls the comm and paths printed inside strace lines, so a line counts only when
// the whole message has exactly the shape gVisor gives it, with the task's comm (at most 15 bytes,
// no " E ") as the one free part: a path or comm cannot make a line that passes. A sendto line
// also holds the descriptor's name (a file's path for a file), which is skipped: its address and
// result are read from the end of the line, where every byte is gVisor's. Never throws.
std::optional<LogEvent> parse_debug_line(std::string_view line);

// The names of the points behaviour records come from ("syscall/openat/exit", ...), with the
// optional fields each needs ("fd_path" for a directory descriptor's path). Only the exit side:
// it carries the arguments as well as the result, one packet per call.
std::vector<std::pair<std::string, std::vector<std::string>>> behaviour_points();

// A behaviour record with its `exe` not yet filled (the tracker knows the caller's executable).
using BehaviourRecord = std::variant<core::TraceExec, core::TraceFile, core::TraceNet>;
// The record a syscall point's message makes, decoded with core's behaviour functions: paths made
// absolute against the caller's working directory or the directory descriptor's path, open flags
// as accesses, socket addresses as family, address and port; the result from the exit side.
// nullopt for a message that makes none (a raw call, the enter side, an empty path or address).
std::optional<BehaviourRecord> behaviour_record(const Message& m);

// What one event contributes: a syscall by an executable, with its action.
struct Call {
  int nr = 0;
  std::string exe;
  std::int32_t pid = 0; // in the sandbox's pid namespace
  std::string comm;
  std::array<std::uint64_t, 6> args{};
  bool has_args = false;
  core::Action action = core::Action::log();
};

// Attribution and loss accounting over both channels. Feed everything in arrival order; `calls()`
// hands out what is attributed so far (calls whose thread group is not known yet wait for their
// clone event, which another task may send later).
class Tracker {
public:
  // `first_exe`: the executable of the container's first process (its start is not an exec).
  // `known`: the numbers runsc's trace metadata offers raw stream points for. It lists every
  // number up to the highest in gVisor's table, gaps included, and the stream sends nothing for a
  // gap: a number counts from the debug log unless the stream has sent it.
  // `behaviour`: the session has the points of behaviour_points(), so every raw call of those
  // numbers must be followed by its point; `behaviour_cap`: at most this many distinct records.
  Tracker(std::string first_exe, std::set<int> known, bool behaviour = false,
          std::size_t behaviour_cap = core::BehaviourSet::default_cap);

  void on_message(const Message& m);
  void on_log(const LogEvent& e);
  // The sink's stream ended (EOF).
  void on_sink_end();
  // After both channels ended: what is still unattributed is charged to "?" and reported.
  void finish();

  std::vector<Call> take_calls();
  // The behaviour records attributed so far (after finish(): all of them, "?" for a caller
  // whose executable never became known) and the count of those the cap dropped.
  const core::BehaviourSet& behaviour() const noexcept { return behaviour_; }

  bool started() const noexcept { return started_; }
  // The container's first process has ended: every thread of its group, not only the leader (the
  // main thread may exit alone while others go on calling).
  bool init_exited() const noexcept {
    return started_ && (init_notified_ || (leader_exits_seen_ >= leader_exits_needed_ && init_threads_.empty()));
  }
  std::uint32_t dropped() const noexcept { return dropped_; }
  std::uint64_t messages() const noexcept { return messages_; }
  std::uint64_t unattributed() const noexcept { return unattributed_; }
  // Empty when complete; otherwise why the record is not (for LossReport::detail).
  std::string loss_detail() const;
  bool lossy() const noexcept { return !loss_detail().empty(); }

private:
  // A socket of a thread group, from its socket point: what a later listen, sendto or sendmsg
  // (raw points, whose address arguments cannot be read) is recorded with.
  struct Socket {
    int family = 0;
    bool cloexec = false;
    bool connected = false;
    std::string local; // the address it was bound to
    int local_port = -1;
  };
  void emit(std::int32_t tgid, Call call);
  void on_point(const Message& m);
  void on_raw_behaviour(const Message& m);
  void add_behaviour(std::int32_t tgid, BehaviourRecord record, const std::string* exe = nullptr);
  void release_waiting_behaviour();
  void on_exec_event(const Message& m);
  void on_sendto_log(const LogEvent& e);
  void finish_behaviour();
  bool streamed(int nr) const;
  bool sensitive_native(int nr) const;
  std::string first_exe_;
  std::set<int> known_;
  std::set<int> streamed_;         // numbers the stream has sent
  std::uint64_t args_missing_ = 0; // argument-sensitive calls known from the debug log only
  std::map<std::int32_t, std::string> exe_of_group_;
  std::map<std::int32_t, std::int32_t> group_of_thread_;
  std::map<std::int32_t, std::vector<Call>> waiting_; // by thread group, until its clone event
  std::map<std::int32_t, std::vector<BehaviourRecord>> waiting_behaviour_;
  // A child whose exec event came before its clone event (the parent's and the child's messages
  // interleave): the exec'd program keeps the group's name, and the child's calls before the exec
  // and its execve's record, which are the parent program's, wait here for the clone event.
  std::set<std::int32_t> exec_before_clone_;
  std::map<std::int32_t, std::vector<Call>> held_;
  std::map<std::int32_t, std::vector<BehaviourRecord>> held_behaviour_;
  core::BehaviourSet behaviour_;
  std::map<std::pair<std::int32_t, std::int64_t>, Socket> sockets_; // by (thread group, fd)
  // The executable a thread group ran before its last exec: the caller of that execve, whose
  // exit point arrives after the exec event.
  std::map<std::int32_t, std::string> exe_before_exec_;
  // gVisor drops a message it cannot encode (a string field that is not valid UTF-8: a path, an
  // argument, the working directory) without counting it, so each raw call of a number with a
  // behaviour point waits for that point here, by thread, and each exec event for its execve's exit.
  bool behaviour_points_ = false;
  std::set<int> pointed_;                      // the numbers with a behaviour point
  std::map<std::int32_t, int> awaiting_point_; // by thread: the raw call whose point has not come
  std::set<std::int32_t> exec_events_;         // thread groups whose exec event awaits its execve's exit
  std::uint64_t points_missing_ = 0;
  std::uint64_t exec_events_missing_ = 0;
  std::vector<Call> ready_;
  std::map<int, std::uint64_t> unknown_counted_;
  std::set<int> unsupported_named_;
  std::int32_t init_group_ = 0;
  bool started_ = false;
  // The first process's threads other than its leader that have not exited, and the exits seen
  // of those that did (an exit may arrive before the clone that made the thread: other task).
  std::set<std::int32_t> init_threads_;
  std::set<std::int32_t> init_threads_gone_;
  // Exits under the leader's id the group ends with: one, plus one per exec by another thread (that
  // thread takes the leader's id, and the old leader's exit is reported under it as well).
  std::uint32_t leader_exits_needed_ = 1;
  std::uint32_t leader_exits_seen_ = 0;
  bool init_notified_ = false; // its parent was notified of its exit
  bool sink_ended_ = false;
  bool finished_ = false;
  std::uint64_t unattributed_ = 0;
  std::uint32_t dropped_ = 0;
  std::uint64_t messages_ = 0;
  std::uint64_t after_end_ = 0;
};

// The release date (YYYYMMDD) in `runsc --version` output ("runsc version 0.0~20240729.0" as
// Debian builds it, "runsc version release-20240729.0" upstream); nullopt when there is none.
std::optional<int> runsc_release_date(std::string_view version_output);
// The oldest release the default level is made for: older ones refuse the flags coreutils passes
// to statx (`ls`, `stat` fail with EINVAL) and send a different monitoring stream.
inline constexpr int min_runsc_release = 20240729;
// What to tell the user about this runsc once, or empty when it is recent enough (or unknown).
std::string old_runsc_note(std::string_view version_output);

// The action `policy` takes for syscall `name` with these arguments: the first entry naming it
// whose conditions all hold (conditions ANDed, as nucleus compiles them), else the default.
core::Action policy_action(const core::Policy& policy, std::string_view name, const std::array<std::uint64_t, 6>& args);

} // namespace nucleus::tracer::gvisor
