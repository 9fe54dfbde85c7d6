// Choosing a command's recorder and falling back (see recorder.hpp). The workload starts once: the
// eBPF recorder fails, if it fails, before the workload's execve, and the audit recorder then
// starts it afresh.
#include "nucleus/tracer/recorder.hpp"

#include "nucleus/core/arch.hpp"
#include "nucleus/core/error.hpp"
#include "nucleus/sandbox/filter.hpp"
#include "nucleus/core/io.hpp"
#include "nucleus/core/syscalls.hpp"
#include "nucleus/tracer/gvisor.hpp"

#include <utility>

namespace nucleus::tracer {
namespace {

using core::Error;
using core::ErrorKind;

SourceKind audit_source(const std::string& name) {
  if (name == "netlink") return SourceKind::netlink;
  if (name == "kmsg") return SourceKind::kmsg;
  return SourceKind::automatic;
}

// The audit recorder's filter: everything the baseline does not allow is logged, never denied.
sandbox::BpfProgram audit_filter(const core::Policy* baseline, bool allow_io_uring) {
  sandbox::CompileOptions complain;
  complain.complain = true;
  complain.allow_io_uring = allow_io_uring;
  // The guard's refusals (io_uring, set-id modes) are logged too, so that the trace shows them.
  complain.force_log_flag = true;
  if (baseline != nullptr) return sandbox::compile(*baseline, complain);
  core::Policy log_all;
  log_all.default_action = core::Action::log();
  return sandbox::compile(log_all, complain);
}

// Under gVisor: the stream carries every call, and what the baseline allows (with these
// arguments) is dropped from the trace.
void use_gvisor_record(const std::string& source, const core::Policy* baseline, MonitorOptions& options) {
  if (source != "auto" && source != "gvisor")
    throw Error(ErrorKind::usage,
                "--source " + source + " reads the host's audit records, which never see a workload under gVisor",
                "drop --source (gVisor's own record is used), or trace on the host with --trust-level trusted");
  if (baseline == nullptr) return;
  options.classify = [baseline](int nr, const std::array<std::uint64_t, 6>& args) {
    auto name = core::syscall_name(core::native_arch(), nr);
    if (!name) return core::Action::log();
    auto action = gvisor::policy_action(*baseline, *name, args);
    return action.kind == core::ActionKind::allow ? action : core::Action::log();
  };
}

} // namespace

void require_log_action_logged() {
  std::string logged;
  try {
    logged = core::read_file("/proc/sys/kernel/seccomp/actions_logged");
  } catch (const Error&) {
    return; // older kernels have no such file and always log
  }
  if (logged.find("log") == std::string::npos)
    throw Error(
        ErrorKind::unsupported, "the kernel is set not to log seccomp LOG actions, so a trace would record nothing",
        "add it: echo '" + logged.substr(0, logged.find('\n')) + " log' > /proc/sys/kernel/seccomp/actions_logged");
}

TraceRecorder::TraceRecorder(std::string source, const core::Policy* baseline, bool allow_io_uring, EbpfContent content)
    : source_(std::move(source)), baseline_(baseline), allow_io_uring_(allow_io_uring), content_(content) {}

void TraceRecorder::start_ebpf() {
  if (ebpf_tried_) return;
  ebpf_tried_ = true;
  if (source_ != "auto" && source_ != "ebpf") return;
  if (auto why = ebpf_unavailable(baseline_)) {
    if (source_ == "ebpf")
      throw Error(ErrorKind::unsupported, "--source ebpf: " + *why, "use --source netlink (the audit records) instead");
    note_ = "the eBPF recorder is not available (" + *why + "); using the audit records";
    return;
  }
  try {
    ebpf_ = EbpfRecorder::open(baseline_, {}, allow_io_uring_, content_);
  } catch (const Error& e) {
    if (source_ == "ebpf") throw;
    note_ = std::string("the eBPF recorder could not start (") + e.what() + "); using the audit records";
  }
}

TracedRun TraceRecorder::run(MonitorOptions options) {
  TracedRun out;
  if (options.gvisor) {
    use_gvisor_record(source_, baseline_, options);
    out.run = run_monitored(options);
    return out;
  }
  if (source_ == "gvisor")
    throw Error(ErrorKind::usage, "--source gvisor needs the workload under gVisor",
                "use the default --trust-level untrusted, or drop --source gvisor");
  start_ebpf();
  if (ebpf_) {
    try {
      auto counted = ebpf_->run(options);
      out.run = std::move(counted.run);
      out.counted = std::move(counted.syscalls);
      out.behaviour = counted.behaviour;
      out.execs = std::move(counted.execs);
      out.files = std::move(counted.files);
      out.nets = std::move(counted.nets);
      out.behaviour_dropped = counted.behaviour_dropped;
      out.run.arguments = true; // the program keeps the argument-sensitive values
      out.ebpf_setup.emplace(ebpf_->setup_time(), ebpf_->setup_cpu_time());
      return out;
    } catch (const EbpfUnavailable& e) {
      if (source_ == "ebpf") throw;
      note_ = std::string("the eBPF recorder could not start (") + e.what() + "); using the audit records";
      ebpf_.reset();
    }
  }
  require_log_action_logged();
  const sandbox::BpfProgram filter = audit_filter(baseline_, allow_io_uring_);
  options.filter = &filter;
  options.source = audit_source(source_);
  out.run = run_monitored(options);
  if (!note_.empty()) out.run.source_note = note_ + (out.run.source_note.empty() ? "" : "; " + out.run.source_note);
  return out;
}

} // namespace nucleus::tracer
