// The eBPF recorder: a program on the raw `sys_enter` tracepoint (and on the vsyscall emulation's,
// whose calls never pass sys_enter) counts the traced tree's syscalls in kernel maps, per
// (arch, syscall) and executable, with the distinct values of the arguments that profiles
// condition on; no count crosses to userspace per syscall, so the workload runs at
// nearly full speed. With behaviour records (EbpfContent), the exec, file and socket calls each
// send their arguments and result through a ring buffer, read while the workload runs.
// Use: check ebpf_unavailable() (auto falls back to the audit recorder), then EbpfRecorder::open() (starts loading in
// the background), run() (attached before the workload execs: the load overlaps the workload's own start), and the
// trace. For processes that run already (a pid's tree, a cgroup): ebpf_attach_unavailable(), open(), record_existing().
#pragma once

#include "nucleus/core/error.hpp"
#include "nucleus/core/policy.hpp"
#include "nucleus/tracer/monitor.hpp"
#include "nucleus/core/trace_log.hpp"

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace nucleus::tracer {

class RunSource; // run_loop.hpp

inline constexpr std::string_view ebpf_source_name = "ebpf";

// A target that runs already, recorded from the moment record_existing() has attached to it.
struct EbpfAttachOptions {
  pid_t pid = 0;      // the process tree rooted here: all threads, all descendants, forked later too
  std::string cgroup; // or: every task in this cgroup directory (v2, or v1) and the cgroups below it
  // With pid: count each process of the tree only from its first exec after attaching (and that
  // exec itself, and what it calls once under one more seccomp filter than it had at attach). A container's init runs
  // the runtime's own code until it execs the container's process, with the container's seccomp filter installed just
  // before that exec.
  bool await_exec = false;
  std::optional<std::chrono::milliseconds> duration = {}; // stop after this long
  std::function<void()> on_attached = {};                 // once the target's calls count
};

struct EbpfTrace {
  MonitorResult run;                        // source "ebpf", attribution audit_session, loss
  std::vector<core::TraceSyscall> syscalls; // per (arch, nr, exe), with argument values
  std::vector<std::string> warnings;        // for the trace's reader (the trace header's "warnings")
  std::uint64_t awaited_execs = 0;          // await_exec: the processes whose wait ended with an exec
  // Behaviour records (programs run, files, network), when the recorder was opened with them
  // (`behaviour`); sorted, distinct, counted, at most the cap of them: behaviour_dropped counts
  // the records past it.
  bool behaviour = false;
  std::vector<core::TraceExec> execs;
  std::vector<core::TraceFile> files;
  std::vector<core::TraceNet> nets;
  std::uint64_t behaviour_dropped = 0;
};

// Why the eBPF recorder cannot trace here (not built in, not x86_64, no privileges, no audit
// session for the child, a baseline with argument conditions), or nullopt when it can.
std::optional<std::string> ebpf_unavailable(const core::Policy* baseline);

// Why the eBPF recorder cannot record an existing pid or cgroup here, or nullopt when it can.
std::optional<std::string> ebpf_attach_unavailable();

// The program could not be loaded or attached (kind permission or unsupported, with a hint).
// Thrown before anything of the workload has run, so that another recorder can run it instead.
class EbpfUnavailable : public core::Error {
public:
  using core::Error::Error;
};

// Sizes of the program's maps for tests only, so that a test can fill a map for real and see the
// loss reported; zero keeps the size every trace uses, and the tools never set them. A smaller map
// cannot hide anything: every map that falls short is counted and reported as loss.
struct EbpfMapSizes {
  std::uint32_t exec_event_bytes = 0;      // the exec events' ring buffer: a power of two, a page at least
  std::uint32_t tracked = 0;               // the processes followed in a tree (--pid)
  std::uint32_t facts = 0;                 // executables, rare numbers and argument values together
  std::uint32_t behaviour_event_bytes = 0; // the behaviour records' ring buffer: a power of two, a page at least
  std::size_t behaviour_records = 0;       // the cap on distinct behaviour records (core::BehaviourSet's)
};

// What the recorder records besides the syscalls' names and counts.
struct EbpfContent {
  // Behaviour records: each exec, file and socket call's arguments, read at sys_enter and sent to
  // userspace with the result at sys_exit. false: names, counts and argument values only, as cheap
  // as before behaviour records existed (none of their code runs).
  bool behaviour = true;
  // With behaviour records: the program record_existing() needs, which can follow a process tree.
  // Left out elsewhere because it loads about 2 ms slower (see syscalls.bpf.c, NUCLEUS_TREE_EXIT).
  bool follows_trees = false;
};

class EbpfRecorder {
public:
  // Starts loading the program, with what `baseline` allows whatever the arguments left out of
  // the counts, on a thread of its own, and returns: run() and record_existing() wait for it
  // and throw EbpfUnavailable when it failed. Throws Error(unsupported) for a baseline the program
  // cannot apply. The workload's filter refuses io_uring unless allow_io_uring (--allow-io-uring);
  // the refused calls are counted too (at their exit: the filter stops them before sys_enter).
  // record_existing() targets have no filter of ours: pass true there.
  static EbpfRecorder open(const core::Policy* baseline, const EbpfMapSizes& test_sizes = {},
                           bool allow_io_uring = false, EbpfContent content = {});
  EbpfRecorder(EbpfRecorder&&) noexcept;
  EbpfRecorder& operator=(EbpfRecorder&&) noexcept;
  ~EbpfRecorder(); // detaches and frees the maps

  // From the start of the load to attached: wall-clock time, and the CPU time the loading thread
  // spent on it (the loader runs in the kernel on our behalf; on a busy machine the two differ
  // widely). Zero until run() or record_existing() has waited for it.
  std::chrono::microseconds setup_time() const noexcept;
  std::chrono::microseconds setup_cpu_time() const noexcept;
  // Spawns the workload in the run loop (argv, isolation steps, environment, descriptors, terminal,
  // on_start and on_tick of `options`; the audit recorder's and gVisor's fields are not used),
  // which sets itself up while the program loads and execs once it is attached; waits for it
  // (signals are passed on), detaches the program at once and reads the maps. Throws
  // EbpfUnavailable when the program could not be attached (the workload never ran), Error when
  // the child cannot be started. Call once.
  EbpfTrace run(const MonitorOptions& options);
  // Records `target` until its root process exits (pid), the cgroup is empty or removed, the
  // duration elapses, or SIGINT/SIGTERM/SIGHUP arrives; the trace holds what was recorded until
  // then; with a pid, the root's exit status in run.wait_status (-1 when it did not exit while
  // recorded) and run.exit_code. Throws Error(not_found) for a pid or cgroup that does not exist, Error(invalid_input)
  // for a path that is not a cgroup directory. A cgroup v1 directory is followed as a tree of its processes, read again
  // on every check (see the trace's warnings). Call once, instead of run().
  EbpfTrace record_existing(const EbpfAttachOptions& target);
  // Runs `options` under another recorder's `source` (the audit recorder's: run_monitored with
  // MonitorOptions::behaviour), which gives the child its filter and reads its records, with this
  // program's behaviour records beside it: they land in MonitorResult::behaviour, their losses in
  // its loss. The program follows the child's audit session. Open it with a baseline that allows
  // everything: only the behaviour records are kept. Call once, instead of run().
  MonitorResult run_beside(const MonitorOptions& options, RunSource& source);

  struct State;

private:
  explicit EbpfRecorder(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

} // namespace nucleus::tracer
