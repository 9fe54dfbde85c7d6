// Running a workload under a seccomp filter while the audit records of its process tree are
// collected, for both nucleus-trace and nucleus-run: a source of the run loop (run_loop.hpp), as
// gVisor's record is. Order of work: open the source, spawn the child in a new audit session, read
// records until the child has exited and our own fence record has come through (a deterministic
// drain, not a sleep), then report losses.
#pragma once

#include "nucleus/sandbox/filter.hpp"
#include "nucleus/core/behaviour.hpp"
#include "nucleus/core/record.hpp"
#include "nucleus/tracer/source.hpp"

#include <sys/types.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace nucleus::tracer {

// How records are matched to the traced tree.
enum class Attribution {
  audit_session, // exact: the child started its own audit session (ses=)
  process_tree,  // fallback: pids whose parent chain leads to the child when the record arrives
  followed_tree, // exact: the eBPF recorder follows every fork of a process that already ran
  cgroup,        // exact: the tasks of a cgroup v2 directory and its descendants
};

struct MonitorOptions {
  std::vector<std::string> argv;
  const sandbox::BpfProgram* filter = nullptr;
  SourceKind source = SourceKind::automatic;
  // Every record of the traced tree, in arrival order.
  std::function<void(const core::SeccompRecord&)> on_record;
  // Every Landlock denial of the traced tree (host audit only), with the SYSCALL record of the
  // same event, which names the process.
  std::function<void(const core::LandlockRecord&, const core::SyscallRecord&)> on_landlock;
  // Called once the child runs (after execve).
  std::function<void(pid_t pid)> on_start;
  // Called about every 200 ms while records flow (live progress).
  std::function<void()> on_tick;
  // Isolation steps for the child (see sandbox::SpawnSpec).
  int (*pre_exec)(const void*) noexcept = nullptr;
  const void* pre_exec_context = nullptr;
  // The environment and extra descriptors the workload gets (sandbox::Isolation decides them).
  std::optional<std::vector<std::string>> env;
  std::vector<int> pass_fds;
  // When nucleus runs on a terminal, the workload gets its own pty, relayed here (sandbox/pty.hpp).
  bool terminal = true;
  // false: when no record source can be opened (no permission, no kernel support), run the
  // workload anyway without records and say why in MonitorResult::source_note. Decided before
  // the workload starts, so it starts exactly once.
  bool require_source = true;
  // How long to wait for the fence record after the child exited. kmsg may drop it: printk lets
  // audit records through again 5 s after its rate limit hit, so this must be longer.
  std::chrono::milliseconds fence_timeout{12000};
  // Reads the kernel's audit lost counter before and after the run (default: audit_lost_counter).
  // Replaceable because raising the real counter would make every trace on the host report loss.
  std::function<std::optional<std::uint32_t>()> lost_counter;

  // Host runs: also what the run did (programs run, files, network endpoints) into
  // MonitorResult::behaviour, from the eBPF recorder's behaviour records beside the audit records
  // (the audit records name no path). Needs what the eBPF recorder needs (ebpf_unavailable());
  // run_monitored throws EbpfUnavailable before the workload starts when it cannot load.
  bool behaviour = false;

  // Set when `argv` runs the workload under gVisor (sandbox::Backend::gvisor): the records then
  // come from gVisor's own monitoring stream and debug log (see gvisor.hpp), not from the host's
  // audit subsystem, and `source` and `filter` are not used.
  struct Gvisor {
    std::string runsc;           // the runsc binary argv runs
    std::string first_exe;       // the command's executable: the container's first process is not an exec
    bool report_denials = false; // run runsc with --debug: the only place its seccomp denials appear
    // Told once, while the workload starts, when this runsc is older than the default level needs
    // (unset: the note goes to MonitorResult::source_note).
    std::function<void(const std::string&)> warn;
    // false: only denials matter (strict mode): gVisor sends the task events that name each
    // executable and no record per call, and nothing but denials is delivered.
    bool record_calls = true;
    // false (nucleus-trace --no-behaviour): no behaviour points, names and arguments only.
    bool behaviour = true;
  };
  std::optional<Gvisor> gvisor;
  // gVisor only: the action each call gets from its number and raw arguments (complain mode,
  // --baseline), carried on the record; allow drops it. Unset: every call is recorded as LOG.
  std::function<core::Action(int nr, const std::array<std::uint64_t, 6>& args)> classify;
};

struct MonitorResult {
  pid_t pid = 0;
  int wait_status = 0;
  int exit_code = 0;      // sandbox::exit_code_from_status
  std::string source;     // "audit-netlink", "kmsg" or "gvisor"; empty when none could be opened (require_source false)
  std::string runtime;    // under gVisor: "runsc <version>"
  bool arguments = false; // records carry their arguments (SeccompRecord::args): the trace's "arguments"
  std::string source_note; // why auto picked it, if it fell back
  Attribution attribution = Attribution::audit_session;
  std::optional<std::uint32_t> audit_session;
  LossReport loss;                      // transport losses plus the kernel's audit lost counter delta
  bool fenced = false;                  // false: the drain ended on the timeout, records may be missing
  std::uint64_t records_seen = 0;       // seccomp records of any process
  std::uint64_t records_attributed = 0; // of the traced tree
  std::uint64_t unparsed = 0;           // lines the parser did not understand
  std::chrono::milliseconds duration{0};
  int forwarded_signal = 0; // the last signal passed on to the child, if any
  // Behaviour records (programs run, files, network), when the recorder records them: the trace's
  // header says "behaviour" and its summary "behaviour_dropped" (a cap reached is also a loss).
  std::optional<core::BehaviourSet> behaviour;
};

// Throws Error when the source cannot be opened or the child cannot be started (the workload
// then never ran).
MonitorResult run_monitored(const MonitorOptions& options);

// The gVisor recorder behind run_monitored when options.gvisor is set.
MonitorResult run_gvisor_monitored(const MonitorOptions& options);

} // namespace nucleus::tracer
