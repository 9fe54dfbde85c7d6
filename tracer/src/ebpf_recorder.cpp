// The eBPF recorder: loading the program (tracer/bpf/syscalls.bpf.c) while the workload starts,
// and starting the workload in its own audit session under the run loop. Turning the maps into
// trace entries is ebpf_maps.cpp; recording processes that run already is ebpf_existing.cpp.
#include "nucleus/tracer/ebpf.hpp"
#include "nucleus/tracer/run_loop.hpp"

#include "audit_session.hpp"

#include "nucleus/core/arch.hpp"
#include "nucleus/core/error.hpp"
#include "nucleus/sandbox/filter.hpp"
#include "nucleus/core/io.hpp"
#include "nucleus/core/proc.hpp"
#include "nucleus/core/sensitive.hpp"
#include "nucleus/sandbox/spawn.hpp"
#include "nucleus/core/syscalls.hpp"

#include <time.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <map>

#if NUCLEUS_HAVE_EBPF
#include "ebpf_behaviour.hpp"
#include "ebpf_state.hpp"
#endif

namespace nucleus::tracer {
namespace {

using core::Error;
using core::ErrorKind;

} // namespace

#if NUCLEUS_HAVE_EBPF

namespace {

using ebpf::program_arches;
using ebpf::x32_syscall_bit;

// The baseline's syscalls that it allows whatever their arguments; nullopt-and-reason when some
// entry allows a syscall only under argument conditions (only seccomp itself evaluates those
// exactly, so such a baseline is left to the audit recorder).
struct BaselineAllows {
  std::vector<std::pair<core::Arch, int>> allowed;
  std::string conditional; // the first conditional syscall, if any
};

BaselineAllows baseline_allows(const core::Policy& baseline) {
  BaselineAllows out;
  auto arches = program_arches();
  auto covered = baseline.effective_arches();
  for (core::Arch arch : arches) {
    // An ABI the baseline does not list is not allowed by it at all.
    if (std::find(covered.begin(), covered.end(), arch) == covered.end()) continue;
    for (const auto& name : core::syscall_table(arch)) {
      auto action = core::action_for(baseline, name);
      if (!action) {
        if (out.conditional.empty()) out.conditional = name;
        continue;
      }
      if (*action != core::Action::allow()) continue;
      if (auto nr = core::syscall_number(arch, name)) out.allowed.emplace_back(arch, *nr);
    }
  }
  return out;
}

std::string own_executable() {
  std::array<char, 4096> buf{};
  ssize_t n = ::readlink("/proc/self/exe", buf.data(), buf.size() - 1);
  return n > 0 ? std::string(buf.data(), static_cast<std::size_t>(n)) : std::string("?");
}

std::chrono::microseconds thread_cpu_now() {
  timespec ts{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return std::chrono::seconds(ts.tv_sec) +
         std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::nanoseconds(ts.tv_nsec));
}

} // namespace

EbpfRecorder EbpfRecorder::open(const core::Policy* baseline, const EbpfMapSizes& test_sizes, bool allow_io_uring,
                                EbpfContent content) {
  std::vector<std::uint8_t> flags(nucleus_bpf_arches * nucleus_bpf_nr_max, 0);
  auto arches = program_arches();
  auto index_of = [&](core::Arch arch, int nr) -> std::optional<std::size_t> {
    for (std::size_t a = 0; a < arches.size(); ++a) {
      if (arches[a] != arch) continue;
      int idx = a == 2 ? nr & ~x32_syscall_bit : nr;
      if (idx < 0 || idx >= nucleus_bpf_nr_max) return std::nullopt;
      return a * nucleus_bpf_nr_max + static_cast<std::size_t>(idx);
    }
    return std::nullopt;
  };
  // The argument-sensitive syscalls are the core's table, read here at every load.
  for (const auto& s : core::sensitive_args()) {
    for (core::Arch arch : arches) {
      auto nr = core::syscall_number(arch, s.syscall);
      if (!nr) continue;
      if (auto i = index_of(arch, *nr)) flags[*i] |= core::sensitive_arg_mask(arch, s.syscall);
    }
  }
  if (baseline != nullptr) {
    auto allows = baseline_allows(*baseline);
    if (!allows.conditional.empty())
      throw Error(ErrorKind::unsupported,
                  "the baseline allows " + allows.conditional +
                      " only under argument conditions, which the eBPF recorder does not evaluate",
                  "use --source netlink with this baseline (the audit recorder evaluates it exactly)");
    for (auto [arch, nr] : allows.allowed)
      if (auto i = index_of(arch, nr)) flags[*i] |= nucleus_bpf_flag_baseline;
  }

  // What the guard refuses with EPERM whatever the arguments (io_uring) never reaches sys_enter:
  // counted at sys_exit instead, so that the trace shows the attempt.
  bool refused = false;
  for (const auto& rule : sandbox::mandatory_denials(allow_io_uring)) {
    if (!rule.args.empty() || !(rule.action == core::Action::errno_ret(EPERM))) continue;
    for (const auto& name : rule.names)
      for (core::Arch arch : arches)
        if (auto nr = core::syscall_number(arch, name))
          if (auto i = index_of(arch, *nr)) {
            flags[*i] |= nucleus_bpf_flag_refused;
            refused = true;
          }
  }

  auto state = std::make_unique<State>();
  state->flags = std::move(flags);
  state->sizes = {test_sizes.exec_event_bytes, test_sizes.tracked, test_sizes.facts, test_sizes.behaviour_event_bytes};
  state->count_refused = refused;
  if (content.behaviour) state->behaviour_spec = ebpf::behaviour_spec();
  state->follows_trees = content.follows_trees;
  state->behaviour_cap = test_sizes.behaviour_records;
  core::Policy allow_all;
  allow_all.default_action = core::Action::allow();
  // Complain mode: trace mode denies nothing, so a call of an ABI the marker does not list is logged
  // (and counted by the program) instead of killed, as under the audit recorder's LOG filter.
  sandbox::CompileOptions trace_mode;
  trace_mode.complain = true;
  trace_mode.allow_io_uring = allow_io_uring;
  state->marker = sandbox::compile(allow_all, trace_mode);
  state->loader = std::thread([s = state.get()] { s->load(); });
  return EbpfRecorder(std::move(state));
}

void EbpfRecorder::State::load() noexcept {
  const auto started = std::chrono::steady_clock::now();
  const auto started_cpu = thread_cpu_now();
  try {
    const nucleus_bpf_behaviour behaviour{behaviour_spec.empty() ? nullptr : behaviour_spec.data(), follows_trees};
    skel = nucleus_bpf_load(flags.data(), &sizes, &behaviour);
    if (skel == nullptr) {
      int err = errno;
      throw EbpfUnavailable(err == EPERM || err == EACCES ? ErrorKind::permission : ErrorKind::unsupported,
                            std::string("cannot load the eBPF recorder: ") + std::strerror(err),
                            "it needs root (CAP_BPF and CAP_PERFMON) and a kernel with BTF (5.18+); "
                            "--source netlink uses the audit records instead",
                            err);
    }
    if (int rc = nucleus_bpf_attach(skel); rc != 0)
      throw EbpfUnavailable(
          ErrorKind::unsupported,
          std::string("cannot attach the eBPF recorder to sys_enter, sched_process_exec or emulate_vsyscall: ") +
              std::strerror(-rc),
          "--source netlink uses the audit records instead", -rc);
    if (count_refused) {
      if (int rc = nucleus_bpf_attach_refused(skel); rc != 0)
        throw EbpfUnavailable(ErrorKind::unsupported,
                              std::string("cannot attach the eBPF recorder to sys_exit (for the calls nucleus "
                                          "refuses): ") +
                                  std::strerror(-rc),
                              "--source netlink uses the audit records instead", -rc);
    }
    if (!behaviour_spec.empty()) {
      if (int rc = nucleus_bpf_attach_behaviour(skel); rc != 0)
        throw EbpfUnavailable(ErrorKind::unsupported,
                              std::string("cannot attach the eBPF recorder to sys_exit and sched_process_exit (for the "
                                          "behaviour records): ") +
                                  std::strerror(-rc),
                              "--no-behaviour records the syscalls' names only; --source netlink uses the audit "
                              "records instead",
                              -rc);
    }
  } catch (...) {
    load_error = std::current_exception();
  }
  setup = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started);
  setup_cpu = thread_cpu_now() - started_cpu;
}

namespace {

// Once the program is attached: it counts `session`, the child's. Called while the child starts.
void follow_session(EbpfRecorder::State& state, std::optional<std::uint32_t> session) {
  state.await_attached();
  if (!session)
    throw EbpfUnavailable(ErrorKind::permission,
                          "the workload could not start an audit session of its own, which the eBPF recorder "
                          "counts by",
                          "run nucleus as root with CAP_AUDIT_CONTROL, or use --source netlink");
  nucleus_bpf_globals(state.skel)->target_session = *session;
}

// After the run, detached: the program counted the workload's session and no other.
void check_session(EbpfRecorder::State& state, const MonitorResult& result) {
  nucleus_bpf_detach(state.skel); // the trace has ended: no other process pays for the probe from here on
  volatile nucleus_bpf_counters* counters = nucleus_bpf_globals(state.skel);
  if (!result.audit_session || counters->target_session != *result.audit_session)
    throw Error(ErrorKind::internal, "the eBPF recorder counted another audit session than the workload's");
}

// The eBPF recorder as a source of the run loop: the child starts its own audit session, which
// the program counts once it is attached; nothing is read while the workload runs, since every
// count is in the maps the moment its syscall is entered.
class EbpfRunSource final : public RunSource {
public:
  EbpfRunSource(EbpfRecorder::State& state, EbpfTrace& out) : state_(state), out_(out) {}

  void prepare(sandbox::SpawnSpec& spec, MonitorResult& result) override {
    result.source = std::string(ebpf_source_name);
    result.attribution = Attribution::audit_session;
    result.fenced = true; // counts are in the maps the moment each syscall is entered
    spec.filter = &state_.marker;
    spec.new_audit_session = true;
    // The child sets itself up meanwhile; it installs the filter that marks it, and execs, once the
    // program counts its session.
    spec.while_child_starts = [this](std::optional<std::uint32_t> session) { follow_session(state_, session); };
  }

  void started(boost::asio::io_context& io, const sandbox::Child& child, MonitorResult& result) override {
    state_.await_attached(); // when the child died before its session: the maps must exist to be read
    result.audit_session = child.audit_session();
    // Behaviour records are read as they come: a relative path is resolved against its caller's
    // working directory or descriptor, which only a caller still running can show.
    if (!state_.behaviour_spec.empty()) {
      behaviour_.emplace(nucleus_bpf_behaviour_fd(state_.skel), state_.behaviour_cap, true);
      behaviour_->start(io);
    }
  }

  void child_exited(boost::asio::io_context& io, MonitorResult&) override {
    if (behaviour_) {
      behaviour_->drain();
      behaviour_->stop();
    }
    io.stop();
  }

  void finish(MonitorResult& result) override {
    check_session(state_, result);
    ebpf::SlotNames names;
    names[0] = own_executable(); // the image before the first execve, as the audit records name it
    // read_maps adds the counts and the losses to the trace's run, which is the loop's result here.
    out_.run = std::move(result);
    ebpf::read_maps(state_.skel, names, out_);
    if (behaviour_) behaviour_->collect(names, out_);
    result = std::move(out_.run);
  }

private:
  EbpfRecorder::State& state_;
  EbpfTrace& out_;
  std::optional<ebpf::BehaviourReader> behaviour_;
};

void add_loss(LossReport& into, const LossReport& from) {
  into.lost += from.lost;
  into.overflowed = into.overflowed || from.overflowed;
  if (!from.detail.empty()) into.detail += (into.detail.empty() ? "" : "; ") + from.detail;
}

// The behaviour records beside another source (run_beside): the inner source gives the child
// its filter and reads its records; the program follows the child's audit session (whose tasks it
// counts once they are under a filter, as the inner source's puts them) and only its behaviour
// records are kept. Loaded with a baseline that allows everything, it counts no syscall: the
// counts are the inner source's business.
class BehaviourBeside final : public RunSource {
public:
  BehaviourBeside(EbpfRecorder::State& state, RunSource& inner) : state_(state), inner_(inner) {}

  void prepare(sandbox::SpawnSpec& spec, MonitorResult& result) override {
    inner_.prepare(spec, result);
    if (spec.filter == nullptr)
      throw Error(ErrorKind::internal, "behaviour records need the workload under a seccomp filter");
    spec.new_audit_session = true;
    spec.while_child_starts = [this, inner = std::move(spec.while_child_starts)](std::optional<std::uint32_t> session) {
      if (inner) inner(session);
      follow_session(state_, session);
    };
  }

  void started(boost::asio::io_context& io, const sandbox::Child& child, MonitorResult& result) override {
    inner_.started(io, child, result);
    state_.await_attached();
    behaviour_.emplace(nucleus_bpf_behaviour_fd(state_.skel), state_.behaviour_cap, true);
    behaviour_->start(io);
  }

  void child_exited(boost::asio::io_context& io, MonitorResult& result) override {
    if (behaviour_) {
      behaviour_->drain();
      behaviour_->stop();
    }
    inner_.child_exited(io, result);
  }

  void finish(MonitorResult& result) override {
    inner_.finish(result);
    check_session(state_, result);
    if (!behaviour_) return;
    ebpf::SlotNames names;
    names[0] = own_executable();
    EbpfTrace maps;
    ebpf::read_maps(state_.skel, names, maps); // names the executables; its losses are the records'
    behaviour_->drain();
    result.behaviour = behaviour_->named(names);
    add_loss(result.loss, maps.run.loss);
    behaviour_->note_loss(result.loss);
  }

private:
  EbpfRecorder::State& state_;
  RunSource& inner_;
  std::optional<ebpf::BehaviourReader> behaviour_;
};

} // namespace

MonitorResult EbpfRecorder::run_beside(const MonitorOptions& options, RunSource& source) {
  if (state_->used) throw Error(ErrorKind::internal, "an eBPF recorder runs one workload");
  state_->used = true;
  BehaviourBeside beside(*state_, source);
  return run_loop(options, beside);
}

EbpfTrace EbpfRecorder::run(const MonitorOptions& options) {
  if (state_->used) throw Error(ErrorKind::internal, "an eBPF recorder runs one workload");
  state_->used = true;
  EbpfTrace out;
  EbpfRunSource source(*state_, out);
  out.run = run_loop(options, source);
  return out;
}

std::optional<std::string> ebpf_unavailable(const core::Policy* baseline) {
  if (core::native_arch() != *core::arch_from_name("x86_64")) return "the eBPF recorder is built for x86_64 only";
  if (::geteuid() != 0) return "loading the eBPF recorder needs root";
  if (auto why = detail::audit_session_unavailable()) return *why + ", which is what the eBPF recorder attributes by";
  if (baseline != nullptr) {
    auto allows = baseline_allows(*baseline);
    if (!allows.conditional.empty())
      return "the baseline allows " + allows.conditional +
             " only under argument conditions, which only the audit "
             "recorder evaluates exactly";
  }
  return std::nullopt;
}

std::optional<std::string> ebpf_attach_unavailable() {
  if (core::native_arch() != *core::arch_from_name("x86_64")) return "the eBPF recorder is built for x86_64 only";
  if (::geteuid() != 0) return "loading the eBPF recorder needs root (CAP_BPF and CAP_PERFMON)";
  return std::nullopt;
}

#else // built without the eBPF recorder

struct EbpfRecorder::State {};

EbpfRecorder EbpfRecorder::open(const core::Policy*, const EbpfMapSizes&, bool, EbpfContent) {
  throw Error(ErrorKind::unsupported, "this nucleus was built without the eBPF recorder",
              "build on x86_64 with clang, bpftool and libbpf-dev installed, or use --source netlink");
}

EbpfTrace EbpfRecorder::run(const MonitorOptions&) {
  throw Error(ErrorKind::unsupported, "this nucleus was built without the eBPF recorder");
}

std::optional<std::string> ebpf_unavailable(const core::Policy*) {
  return "this nucleus was built without the eBPF recorder (it needs x86_64, clang, bpftool and libbpf-dev)";
}

EbpfTrace EbpfRecorder::record_existing(const EbpfAttachOptions&) {
  throw Error(ErrorKind::unsupported, "this nucleus was built without the eBPF recorder");
}

std::optional<std::string> ebpf_attach_unavailable() { return ebpf_unavailable(nullptr); }

MonitorResult EbpfRecorder::run_beside(const MonitorOptions&, RunSource&) {
  throw Error(ErrorKind::unsupported, "this nucleus was built without the eBPF recorder");
}

#endif

EbpfRecorder::EbpfRecorder(std::unique_ptr<State> state) : state_(std::move(state)) {}
EbpfRecorder::EbpfRecorder(EbpfRecorder&&) noexcept = default;
EbpfRecorder& EbpfRecorder::operator=(EbpfRecorder&&) noexcept = default;
EbpfRecorder::~EbpfRecorder() = default;

std::chrono::microseconds EbpfRecorder::setup_time() const noexcept {
#if NUCLEUS_HAVE_EBPF
  return state_ ? state_->setup : std::chrono::microseconds{0};
#else
  return std::chrono::microseconds{0};
#endif
}

std::chrono::microseconds EbpfRecorder::setup_cpu_time() const noexcept {
#if NUCLEUS_HAVE_EBPF
  return state_ ? state_->setup_cpu : std::chrono::microseconds{0};
#else
  return std::chrono::microseconds{0};
#endif
}

} // namespace nucleus::tracer
