// The eBPF recorder: loading the program (tracer/bpf/syscalls.bpf.c) before the workload exists,
// starting the workload in its own audit session, and turning the kernel's maps into trace entries
// once it has exited.
#include "nucleus/tracer/ebpf.hpp"

#include "nucleus/sandbox/arch.hpp"
#include "nucleus/sandbox/error.hpp"
#include "nucleus/sandbox/filter.hpp"
#include "nucleus/sandbox/io.hpp"
#include "nucleus/sandbox/spawn.hpp"
#include "nucleus/sandbox/syscalls.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/signal_set.hpp>

#include <fcntl.h>
#include <time.h>
#include <signal.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <map>
#include <tuple>

#if NUCLEUS_HAVE_EBPF
#include "ebpf_skeleton.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#endif

namespace nucleus::tracer {
namespace {

using sandbox::Error;
using sandbox::ErrorKind;

constexpr std::uint32_t audit_unset = 0xffffffff;
constexpr int cap_audit_control = 30;
constexpr int x32_syscall_bit = 0x40000000;

// The ABIs the program tells apart, in its own order (0 x86_64, 1 i386, 2 x32).
std::array<sandbox::Arch, 3> program_arches() {
  return {*sandbox::arch_from_name("x86_64"), *sandbox::arch_from_name("x86"), *sandbox::arch_from_name("x32")};
}

// Whether a child can start a fresh audit session: the kernel lets a process set its loginuid
// when none is set yet, and otherwise only with CAP_AUDIT_CONTROL.
std::optional<std::string> audit_session_unavailable() {
  std::string loginuid;
  try {
    loginuid = sandbox::read_file("/proc/self/loginuid");
  } catch (const Error&) {
    return "the kernel has no audit sessions (/proc/self/loginuid is missing: CONFIG_AUDITSYSCALL)";
  }
  if (std::strtoul(loginuid.c_str(), nullptr, 10) == audit_unset) return std::nullopt;
  std::string status = sandbox::read_file("/proc/self/status");
  auto at = status.find("CapEff:");
  if (at != std::string::npos) {
    std::uint64_t eff = std::strtoull(status.c_str() + at + 7, nullptr, 16);
    if ((eff >> cap_audit_control) & 1) return std::nullopt;
  }
  return "the workload cannot get its own audit session (loginuid is already set and "
         "CAP_AUDIT_CONTROL is missing), which is what the eBPF recorder attributes by";
}

// The baseline's syscalls that it allows whatever their arguments; nullopt-and-reason when some
// entry allows a syscall only under argument conditions (only seccomp itself evaluates those
// exactly, so such a baseline is left to the audit recorder).
struct BaselineAllows {
  std::vector<std::pair<sandbox::Arch, int>> allowed;
  std::string conditional; // the first conditional syscall, if any
};

BaselineAllows baseline_allows(const sandbox::Policy& baseline) {
  BaselineAllows out;
  auto arches = program_arches();
  auto covered = baseline.effective_arches();
  for (sandbox::Arch arch : arches) {
    // An ABI the baseline does not list is not allowed by it at all.
    if (std::find(covered.begin(), covered.end(), arch) == covered.end()) continue;
    for (const auto& name : sandbox::syscall_table(arch)) {
      auto action = sandbox::action_for(baseline, name);
      if (!action) {
        if (out.conditional.empty()) out.conditional = name;
        continue;
      }
      if (*action != sandbox::Action::allow()) continue;
      if (auto nr = sandbox::syscall_number(arch, name)) out.allowed.emplace_back(arch, *nr);
    }
  }
  return out;
}

} // namespace

const std::vector<ArgumentSensitive>& argument_sensitive_syscalls() {
  // i386's own mmap takes a pointer to its arguments; mmap2 is the one with prot in arg 2.
  static const std::vector<ArgumentSensitive> list = {
      {"socket", {0, 1}},   {"socketpair", {0, 1}},    {"clone", {0}},  {"unshare", {0}},
      {"ioctl", {1}},       {"prctl", {0}},            {"personality", {0}},
      {"mmap", {2}},        {"mmap2", {2}},            {"mprotect", {2}}, {"pkey_mprotect", {2}},
  };
  return list;
}

#if NUCLEUS_HAVE_EBPF

struct EbpfRecorder::State {
  nucleus_bpf* skel = nullptr;
  std::chrono::microseconds setup{0};
  std::chrono::microseconds setup_cpu{0};
  sandbox::BpfProgram marker; // the filter that marks the workload (see syscalls.bpf.c)
  bool used = false;
  ~State() { nucleus_bpf_destroy(skel); }
};

namespace {

// Runs in the child (async-signal-safe): tells the program which audit session to count, through
// the shared mapping of its globals, then goes on with the isolation steps.
struct ChildHook {
  volatile nucleus_bpf_counters* counters;
  int (*inner)(const void*) noexcept;
  const void* inner_context;
};

int child_hook(const void* context) noexcept {
  const auto* hook = static_cast<const ChildHook*>(context);
  char buf[16];
  int fd = ::open("/proc/self/sessionid", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno;
  ssize_t n = ::read(fd, buf, sizeof buf);
  ::close(fd);
  std::uint32_t ses = 0;
  for (ssize_t i = 0; i < n && buf[i] >= '0' && buf[i] <= '9'; ++i) ses = ses * 10 + static_cast<std::uint32_t>(buf[i] - '0');
  if (n <= 0 || ses == 0 || ses == audit_unset) return EPERM; // no session of its own: nothing would be recorded
  hook->counters->target_session = ses;
  return hook->inner != nullptr ? hook->inner(hook->inner_context) : 0;
}

std::string own_executable() {
  std::array<char, 4096> buf{};
  ssize_t n = ::readlink("/proc/self/exe", buf.data(), buf.size() - 1);
  return n > 0 ? std::string(buf.data(), static_cast<std::size_t>(n)) : std::string("?");
}

int on_exec_event(void* context, void* data, std::size_t size) {
  if (size < sizeof(nucleus_bpf_exec_event)) return 0;
  auto* names = static_cast<std::map<std::uint32_t, std::string>*>(context);
  nucleus_bpf_exec_event event{};
  std::memcpy(&event, data, sizeof event);
  event.path[sizeof event.path - 1] = '\0';
  (*names)[event.slot] = event.path;
  return 0;
}

void note(LossReport& loss, std::uint64_t n, bool overflow, const std::string& what) {
  if (n == 0) return;
  if (overflow) loss.overflowed = true;
  else loss.lost += n;
  if (!loss.detail.empty()) loss.detail += "; ";
  loss.detail += what;
}

} // namespace

static std::chrono::microseconds thread_cpu_now() {
  timespec ts{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return std::chrono::seconds(ts.tv_sec) + std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::nanoseconds(ts.tv_nsec));
}

EbpfRecorder EbpfRecorder::open(const sandbox::Policy* baseline) {
  const auto started = std::chrono::steady_clock::now();
  const auto started_cpu = thread_cpu_now();
  std::vector<std::uint8_t> flags(nucleus_bpf_arches * nucleus_bpf_nr_max, 0);
  auto arches = program_arches();
  auto index_of = [&](sandbox::Arch arch, int nr) -> std::optional<std::size_t> {
    for (std::size_t a = 0; a < arches.size(); ++a) {
      if (arches[a] != arch) continue;
      int idx = a == 2 ? nr & ~x32_syscall_bit : nr;
      if (idx < 0 || idx >= nucleus_bpf_nr_max) return std::nullopt;
      return a * nucleus_bpf_nr_max + static_cast<std::size_t>(idx);
    }
    return std::nullopt;
  };
  for (const auto& s : argument_sensitive_syscalls()) {
    for (sandbox::Arch arch : arches) {
      auto nr = sandbox::syscall_number(arch, s.name);
      if (!nr) continue;
      if (s.name == "mmap" && arch == arches[1]) continue; // old_mmap: arguments behind a pointer
      if (auto i = index_of(arch, *nr))
        for (int a : s.args) flags[*i] |= static_cast<std::uint8_t>(1u << a);
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

  auto state = std::make_unique<State>();
  sandbox::Policy allow_all;
  allow_all.default_action = sandbox::Action::allow();
  // Complain mode: trace mode denies nothing, so a call of an ABI the marker does not list is logged
  // (and counted by the program) instead of killed, as under the audit recorder's LOG filter.
  sandbox::CompileOptions trace_mode;
  trace_mode.complain = true;
  state->marker = sandbox::compile(allow_all, trace_mode);

  state->skel = nucleus_bpf_load(flags.data());
  if (state->skel == nullptr) {
    int err = errno;
    throw Error(err == EPERM || err == EACCES ? ErrorKind::permission : ErrorKind::unsupported,
                std::string("cannot load the eBPF recorder: ") + std::strerror(err),
                "it needs root (CAP_BPF and CAP_PERFMON) and a kernel with BTF (5.18+); "
                "--source netlink uses the audit records instead",
                err);
  }
  if (int rc = nucleus_bpf_attach(state->skel); rc != 0)
    throw Error(ErrorKind::unsupported, std::string("cannot attach the eBPF recorder to sys_enter: ") + std::strerror(-rc),
                "--source netlink uses the audit records instead", -rc);
  state->setup = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started);
  state->setup_cpu = thread_cpu_now() - started_cpu;
  return EbpfRecorder(std::move(state));
}

EbpfTrace EbpfRecorder::run(const EbpfRunOptions& options) {
  namespace asio = boost::asio;
  if (state_->used) throw Error(ErrorKind::internal, "an eBPF recorder runs one workload");
  state_->used = true;
  EbpfTrace out;
  MonitorResult& result = out.run;
  result.source = std::string(ebpf_source_name);
  result.attribution = Attribution::audit_session;
  result.fenced = true; // counts are in the maps the moment each syscall is entered
  const auto started = std::chrono::steady_clock::now();
  volatile nucleus_bpf_counters* counters = nucleus_bpf_globals(state_->skel);

  asio::io_context io;
  asio::signal_set signals(io, SIGINT, SIGTERM, SIGHUP);
  signals.add(SIGQUIT);

  ChildHook hook{counters, options.pre_exec, options.pre_exec_context};
  sandbox::SpawnSpec spec;
  spec.argv = options.argv;
  spec.filter = &state_->marker;
  spec.new_audit_session = true;
  spec.pre_exec = child_hook;
  spec.pre_exec_context = &hook;
  spec.env = options.env;
  spec.pass_fds = options.pass_fds;
  sandbox::Child child = sandbox::spawn(spec);
  result.pid = child.pid();
  result.audit_session = child.audit_session();
  if (options.on_start) options.on_start(child.pid());

  bool exited = false;
  asio::posix::stream_descriptor child_fd(io, ::dup(child.pidfd()));
  child_fd.async_wait(asio::posix::stream_descriptor::wait_read, [&](const boost::system::error_code& ec) {
    if (ec) return;
    result.wait_status = child.wait();
    exited = true;
    io.stop();
  });
  std::function<void()> wait_signal = [&] {
    signals.async_wait([&](const boost::system::error_code& ec, int sig) {
      if (ec) return;
      result.forwarded_signal = sig;
      child.signal(sig);
      wait_signal();
    });
  };
  wait_signal();
  io.run();
  if (!exited) result.wait_status = child.wait();
  // The trace has ended: no other process pays for the probe from here on.
  nucleus_bpf_detach(state_->skel);
  result.exit_code = sandbox::exit_code_from_status(result.wait_status);
  result.duration = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);

  if (!result.audit_session || counters->target_session != *result.audit_session)
    throw Error(ErrorKind::internal, "the eBPF recorder counted another audit session than the workload's");

  // Executable names, from the exec events.
  std::map<std::uint32_t, std::string> names;
  names[0] = own_executable(); // the image before the first execve, as the audit records name it
  names[nucleus_bpf_slots - 1] = "?";
  if (ring_buffer* rb = ring_buffer__new(nucleus_bpf_events_fd(state_->skel), on_exec_event, &names, nullptr)) {
    ring_buffer__consume(rb);
    ring_buffer__free(rb);
  } else {
    note(result.loss, 1, true, "the exec events could not be read, so executables are unnamed");
  }
  auto arches = program_arches();
  auto exe_of = [&](std::uint32_t slot) {
    auto it = names.find(slot);
    return it != names.end() ? it->second : std::string("?");
  };
  auto nr_of = [&](std::uint32_t arch, std::uint32_t idx) {
    return static_cast<int>(arch == 2 ? idx | x32_syscall_bit : idx);
  };

  using Key = std::tuple<std::uint32_t, std::uint32_t, std::uint32_t>; // slot, arch, nr index
  std::map<Key, std::uint64_t> counts;
  const int cpus = libbpf_num_possible_cpus();
  if (cpus <= 0) sandbox::throw_errno(-cpus, "cannot count the possible CPUs");
  constexpr std::size_t per_cpu = nucleus_bpf_arches * nucleus_bpf_nr_max; // u64s, 8-aligned
  std::vector<std::uint64_t> value(per_cpu * static_cast<std::size_t>(cpus));
  for (std::uint32_t slot = 0; slot < nucleus_bpf_slots; ++slot) {
    if (bpf_map_lookup_elem(nucleus_bpf_counts_fd(state_->skel), &slot, value.data()) != 0)
      sandbox::throw_errno("cannot read the eBPF recorder's counts");
    for (std::size_t i = 0; i < per_cpu; ++i) {
      std::uint64_t n = 0;
      for (int c = 0; c < cpus; ++c) n += value[static_cast<std::size_t>(c) * per_cpu + i];
      if (n != 0) counts[{slot, static_cast<std::uint32_t>(i / nucleus_bpf_nr_max), static_cast<std::uint32_t>(i % nucleus_bpf_nr_max)}] += n;
    }
  }

  // Rare numbers, argument values and their overflow marks.
  std::map<std::tuple<std::uint32_t, std::uint32_t, std::uint32_t, std::uint32_t>, TraceArgValues> args;
  const int facts = nucleus_bpf_facts_fd(state_->skel);
  nucleus_bpf_fact_key key{};
  nucleus_bpf_fact_key next{};
  const void* previous = nullptr;
  while (bpf_map_get_next_key(facts, previous, &next) == 0) {
    key = next;
    previous = &key;
    std::uint64_t v = 0;
    if (bpf_map_lookup_elem(facts, &key, &v) != 0) continue;
    if (key.kind == nucleus_bpf_fact_rare) {
      counts[{key.slot, key.arch, key.nr}] += v;
    } else if (key.kind == nucleus_bpf_fact_arg_value || key.kind == nucleus_bpf_fact_arg_count) {
      auto& a = args[{key.slot, key.arch, key.nr, key.arg}];
      a.index = static_cast<int>(key.arg);
      if (key.kind == nucleus_bpf_fact_arg_value) a.values.push_back(key.value);
      else if (v > nucleus_bpf_arg_values_max) a.overflow = true;
    }
  }

  std::uint64_t unnamed = 0;
  for (const auto& [k, n] : counts) {
    auto [slot, arch, idx] = k;
    if (arch >= arches.size()) continue;
    if (names.find(slot) == names.end()) unnamed += n;
    TraceSyscall entry;
    entry.arch = arches[arch];
    entry.nr = nr_of(arch, idx);
    entry.count = n;
    entry.exe = exe_of(slot);
    for (auto it = args.lower_bound({slot, arch, idx, 0}); it != args.end(); ++it) {
      auto [s, a, i, arg] = it->first;
      if (s != slot || a != arch || i != idx) break;
      TraceArgValues values = it->second;
      std::sort(values.values.begin(), values.values.end());
      values.values.erase(std::unique(values.values.begin(), values.values.end()), values.values.end());
      entry.args.push_back(std::move(values));
    }
    out.syscalls.push_back(std::move(entry));
  }

  note(result.loss, counters->ringbuf_drops, false,
       std::to_string(counters->ringbuf_drops) + " exec event(s) were dropped (ring buffer full)");
  note(result.loss, counters->slots_full, true,
       "more executables ran than the recorder names (" + std::to_string(nucleus_bpf_slots - 2) +
           "): the calls of the rest are counted under exe \"?\"");
  note(result.loss, counters->storage_failures, false,
       std::to_string(counters->storage_failures) + " task(s) could not be tagged with their executable");
  note(result.loss, counters->rare_full, false,
       std::to_string(counters->rare_full) + " syscall(s) or argument value(s) found the recorder's map full");
  note(result.loss, unnamed, false, std::to_string(unnamed) + " syscall(s) of executables whose exec event is missing");
  for (const auto& e : out.syscalls) result.records_attributed += e.count;
  result.records_seen = result.records_attributed;
  return out;
}

std::optional<std::string> ebpf_unavailable(const sandbox::Policy* baseline) {
  if (sandbox::native_arch() != *sandbox::arch_from_name("x86_64")) return "the eBPF recorder is built for x86_64 only";
  if (::geteuid() != 0) return "loading the eBPF recorder needs root";
  if (auto why = audit_session_unavailable()) return why;
  if (baseline != nullptr) {
    auto allows = baseline_allows(*baseline);
    if (!allows.conditional.empty())
      return "the baseline allows " + allows.conditional + " only under argument conditions, which only the audit "
             "recorder evaluates exactly";
  }
  return std::nullopt;
}

#else // built without the eBPF recorder

struct EbpfRecorder::State {};

EbpfRecorder EbpfRecorder::open(const sandbox::Policy*) {
  throw Error(ErrorKind::unsupported, "this nucleus was built without the eBPF recorder",
              "build on x86_64 with clang, bpftool and libbpf-dev installed, or use --source netlink");
}

EbpfTrace EbpfRecorder::run(const EbpfRunOptions&) {
  throw Error(ErrorKind::unsupported, "this nucleus was built without the eBPF recorder");
}

std::optional<std::string> ebpf_unavailable(const sandbox::Policy*) {
  return "this nucleus was built without the eBPF recorder (it needs x86_64, clang, bpftool and libbpf-dev)";
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
