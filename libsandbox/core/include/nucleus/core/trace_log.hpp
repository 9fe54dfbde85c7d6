// The trace log (*.trace): NDJSON with a header line, one line per (arch, syscall, exe) with a count,
// and a summary line. Readers ignore unknown keys and reject another format or a newer version.
#pragma once

#include "nucleus/core/arch.hpp"
#include "nucleus/core/behaviour.hpp"

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nucleus::core {

inline constexpr int trace_format_version = 1;

struct TraceHeader {
  std::vector<std::string> command;
  std::string source;     // "audit-netlink", "kmsg", "gvisor", "file"
  std::string kernel;     // uname release
  std::string started_at; // RFC 3339 UTC
  std::string baseline;   // the --baseline profile, if any
  // The recorder captured argument values of the argument-sensitive syscalls (see TraceArgValues).
  // False for sources that see names only (audit, kmsg, raw audit text): `gen` then writes
  // name-only rules. Written as "arguments": true; absent means false.
  bool arguments = false;
  // The sandbox runtime whose kernel served the syscalls, when it was not the host's:
  // "runsc 0.0~20221219.0" for source "gvisor". Written as "runtime"; absent for the host.
  std::string runtime = {};
  // What was recorded when it was not a command nucleus started: "pid 1234" (that process's tree
  // from the moment the trace attached) or "cgroup /sys/fs/cgroup/app" (every process in it and
  // below it). Written as "target"; absent for a command (then `command` says what ran).
  std::string target = {};
  // Recorded from a container's exec on (the OCI hook): its runtime's init made calls under the
  // container's filter before that exec ("container": true).
  bool container = false;
  // What the recorder knows a reader of the trace must be told ("warnings": optional strings).
  std::vector<std::string> warnings = {};
  // The recorder recorded behaviour (programs run, files, network: the "exec", "file" and "net"
  // lines), so that their absence means the program did none of it. Written as "behaviour": true.
  bool behaviour = false;
  // Where the traced command was meant to write: its working directory and its --rw folders
  // (absolute). `review` takes it as the default workspace. Written as "workspace"; absent when empty.
  std::vector<std::string> workspace = {};
  friend bool operator==(const TraceHeader&, const TraceHeader&) = default;
};

// The distinct values one argument of one syscall was seen with. Only the argument-sensitive
// syscalls carry them (socket domain, clone flags, ioctl request, ...), and only from recorders that
// capture arguments. The set is bounded: `overflow` says more distinct values were seen than kept,
// so a reader must not take `values` as complete. Written as
//   "args":[{"index":0,"values":[1,2,10]},{"index":1,"values":[1,2],"overflow":true}]
// on the syscall line; old readers ignore the key.
struct TraceArgValues {
  int index = 0;                     // 0..5
  std::vector<std::uint64_t> values; // sorted, distinct
  bool overflow = false;
  friend bool operator==(const TraceArgValues&, const TraceArgValues&) = default;
};

struct TraceSyscall {
  Arch arch;
  int nr = 0;
  std::string name;
  std::uint64_t count = 0;
  std::string exe;
  std::vector<TraceArgValues> args{}; // sorted by index; empty when none were recorded
  friend bool operator==(const TraceSyscall&, const TraceSyscall&) = default;
};

struct TraceSummary {
  std::uint64_t events = 0;
  std::uint64_t distinct = 0;
  std::uint64_t lost = 0;
  int exit_code = 0;
  std::uint64_t duration_ms = 0;
  std::uint64_t unparsed = 0; // lines the parser skipped
  // Why the trace is incomplete, when the recorder saw a loss: a drop it counted (then also in
  // `lost`) or one it could not count (a stream that ended early, a buffer that overflowed), which
  // `lost` alone cannot say. Written as "loss"; absent when nothing was lost.
  std::string loss = {};
  // Behaviour records not kept because the trace's cap on distinct records was reached: the
  // behaviour lines are then incomplete, which every reader reports. Written as
  // "behaviour_dropped"; absent when zero.
  std::uint64_t behaviour_dropped = 0;
  friend bool operator==(const TraceSummary&, const TraceSummary&) = default;
};

struct Trace {
  TraceHeader header;
  std::vector<TraceSyscall> syscalls;
  // Behaviour records (behaviour.hpp), in the order read or as the recorder sorted them.
  std::vector<TraceExec> execs = {};
  std::vector<TraceFile> files = {};
  std::vector<TraceNet> nets = {};
  std::optional<TraceSummary> summary; // absent when the tracer was killed before it finished
  friend bool operator==(const Trace&, const Trace&) = default;
};

// Throws Error(invalid_input) "<source>:<line>: <problem>".
Trace read_trace(std::string_view text, std::string_view source_name);
std::string write_trace(const Trace& trace);
// True when the text is a trace log rather than raw audit text: its first non-blank character is "{".
// A damaged trace is then reported by read_trace with its line, not taken for audit records.
bool is_trace_log(std::string_view text);

} // namespace nucleus::core
