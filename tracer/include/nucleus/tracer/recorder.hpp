// Choosing the recorder for a command's trace, and falling back, so that the workload runs once,
// under one recorder. Under gVisor: gVisor's own record. On the host: the eBPF recorder where it
// can run (--source auto or ebpf), else the audit records behind a LOG filter.
// Use: TraceRecorder recorder(source, baseline); recorder.start_ebpf() as early as possible (the
// program loads while the sandbox is prepared and the workload starts); recorder.run(options) once.
#pragma once

#include "nucleus/core/policy.hpp"
#include "nucleus/tracer/ebpf.hpp"
#include "nucleus/tracer/monitor.hpp"
#include "nucleus/core/trace_log.hpp"

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace nucleus::tracer {

struct TracedRun {
  MonitorResult run;
  std::vector<core::TraceSyscall> counted; // the eBPF recorder's counts, per (arch, nr, exe); on_record got the rest
  // eBPF: from the start of the load to attached, wall clock and the loading thread's CPU time.
  std::optional<std::pair<std::chrono::microseconds, std::chrono::microseconds>> ebpf_setup;
  // Behaviour records (the trace's "exec", "file" and "net" lines), when the recorder made them
  // (`behaviour`): distinct, counted, sorted; behaviour_dropped counts those past the cap.
  bool behaviour = false;
  std::vector<core::TraceExec> execs;
  std::vector<core::TraceFile> files;
  std::vector<core::TraceNet> nets;
  std::uint64_t behaviour_dropped = 0;
};

class TraceRecorder {
public:
  // `source` as --source names it: auto, ebpf, netlink, kmsg or gvisor. `baseline` (may be null,
  // must outlive the recorder): what it allows is left out of the trace, by each recorder its own
  // way (the eBPF program's table, the audit filter, each gVisor record checked with its arguments).
  // `allow_io_uring` (--allow-io-uring): the workload's filter lets io_uring through.
  // `content`: what the eBPF recorder records besides the names (behaviour records unless
  // --no-behaviour).
  TraceRecorder(std::string source, const core::Policy* baseline, bool allow_io_uring = false,
                EbpfContent content = {});

  // Starts loading the eBPF recorder when the source allows it and it can run here; otherwise
  // remembers why not. Throws Error for --source ebpf where it cannot run.
  void start_ebpf();

  // Runs options.argv under the recorder: gVisor's record when options.gvisor is set; otherwise
  // the eBPF recorder (started here if start_ebpf() was not called), falling back to the audit
  // records when it cannot attach (before the workload's execve, so it runs once). Throws Error
  // (usage) for a --source that cannot see this workload, and whatever the run throws.
  TracedRun run(MonitorOptions options);

private:
  std::string source_;
  const core::Policy* baseline_;
  bool allow_io_uring_;
  EbpfContent content_;
  bool ebpf_tried_ = false;
  std::optional<EbpfRecorder> ebpf_;
  std::string note_; // why eBPF is not used, when auto chose otherwise
};

// Throws Error(unsupported) when the kernel is set not to log seccomp's LOG action, so that the
// audit recorder would record nothing.
void require_log_action_logged();

} // namespace nucleus::tracer
