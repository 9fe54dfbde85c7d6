// The eBPF recorder: loading the program (tracer/bpf/syscalls.bpf.c) while the workload starts,
// starting the workload in its own audit session, and turning the kernel's maps into trace entries
// once it has exited.
#include "nucleus/tracer/ebpf.hpp"
#include "nucleus/tracer/run_loop.hpp"

#include "nucleus/core/arch.hpp"
#include "nucleus/core/error.hpp"
#include "nucleus/core/fd.hpp"
#include "nucleus/sandbox/filter.hpp"
#include "nucleus/core/io.hpp"
#include "nucleus/core/pidfd.hpp"
#include "nucleus/core/proc.hpp"
#include "nucleus/core/sensitive.hpp"
#include "nucleus/sandbox/spawn.hpp"
#include "nucleus/core/syscalls.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include <dirent.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>

#include <fcntl.h>
#include <time.h>
#include <signal.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <map>
#include <set>
#include <sstream>
#include <thread>
#include <tuple>

#if NUCLEUS_HAVE_EBPF
#include "ebpf_skeleton.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

// The program keeps as many distinct values per argument as every recorder does.
static_assert(nucleus_bpf_arg_values_max == nucleus::core::arg_values_max);
#endif

namespace nucleus::tracer {
using core::TraceArgValues;
using core::TraceSyscall;
namespace {

using core::Error;
using core::ErrorKind;

constexpr std::uint32_t audit_unset = 0xffffffff;
constexpr int cap_audit_control = 30;
constexpr int x32_syscall_bit = 0x40000000;

// The ABIs the program tells apart, in its own order (0 x86_64, 1 i386, 2 x32).
std::array<core::Arch, 3> program_arches() {
  return {*core::arch_from_name("x86_64"), *core::arch_from_name("x86"), *core::arch_from_name("x32")};
}

// Whether a child can start a fresh audit session: the kernel lets a process set its loginuid
// when none is set yet, and otherwise only with CAP_AUDIT_CONTROL.
std::optional<std::string> audit_session_unavailable() {
  std::string loginuid;
  try {
    loginuid = core::read_file("/proc/self/loginuid");
  } catch (const Error&) {
    return "the kernel has no audit sessions (/proc/self/loginuid is missing: CONFIG_AUDITSYSCALL)";
  }
  if (std::strtoul(loginuid.c_str(), nullptr, 10) == audit_unset) return std::nullopt;
  if (auto cap_eff = core::process_status_field(0, "CapEff")) {
    std::uint64_t eff = std::strtoull(cap_eff->c_str(), nullptr, 16);
    if ((eff >> cap_audit_control) & 1) return std::nullopt;
  }
  return "the workload cannot get its own audit session (loginuid is already set and "
         "CAP_AUDIT_CONTROL is missing), which is what the eBPF recorder attributes by";
}

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

} // namespace

#if NUCLEUS_HAVE_EBPF

// The load runs on a thread of its own from open() on: loading and verifying take milliseconds of
// CPU in the kernel, which the workload's own start (namespaces, mounts, a fork or two) overlaps
// on another core. Only await_attached() reads what the thread wrote, after joining it.
struct EbpfRecorder::State {
  nucleus_bpf* skel = nullptr;
  std::chrono::microseconds setup{0};
  std::chrono::microseconds setup_cpu{0};
  sandbox::BpfProgram marker; // the filter that marks the workload (see syscalls.bpf.c)
  std::vector<std::uint8_t> flags;
  nucleus_bpf_sizes sizes{};
  bool count_refused = false; // attach the sys_exit program for nucleus_bpf_flag_refused
  std::thread loader;
  std::exception_ptr load_error;
  bool used = false;

  void load() noexcept;
  void await_attached() {
    if (loader.joinable()) loader.join();
    if (load_error) std::rethrow_exception(load_error);
  }
  ~State() {
    if (loader.joinable()) loader.join();
    nucleus_bpf_destroy(skel);
  }
};

namespace {

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

void read_maps(nucleus_bpf* skel, std::map<std::uint32_t, std::string>& names, EbpfTrace& out);

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

EbpfRecorder EbpfRecorder::open(const core::Policy* baseline, const EbpfMapSizes& test_sizes, bool allow_io_uring) {
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
  state->sizes = {test_sizes.exec_event_bytes, test_sizes.tracked, test_sizes.facts};
  state->count_refused = refused;
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
    skel = nucleus_bpf_load(flags.data(), &sizes);
    if (skel == nullptr) {
      int err = errno;
      throw EbpfUnavailable(err == EPERM || err == EACCES ? ErrorKind::permission : ErrorKind::unsupported,
                            std::string("cannot load the eBPF recorder: ") + std::strerror(err),
                            "it needs root (CAP_BPF and CAP_PERFMON) and a kernel with BTF (5.18+); "
                            "--source netlink uses the audit records instead",
                            err);
    }
    if (int rc = nucleus_bpf_attach(skel); rc != 0)
      throw EbpfUnavailable(ErrorKind::unsupported,
                            std::string("cannot attach the eBPF recorder to sys_enter, sched_process_exec or emulate_vsyscall: ") + std::strerror(-rc),
                            "--source netlink uses the audit records instead", -rc);
    if (count_refused) {
      if (int rc = nucleus_bpf_attach_refused(skel); rc != 0)
        throw EbpfUnavailable(ErrorKind::unsupported,
                              std::string("cannot attach the eBPF recorder to sys_exit (for the calls nucleus "
                                          "refuses): ") + std::strerror(-rc),
                              "--source netlink uses the audit records instead", -rc);
    }
  } catch (...) {
    load_error = std::current_exception();
  }
  setup = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started);
  setup_cpu = thread_cpu_now() - started_cpu;
}

namespace {

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
    spec.while_child_starts = [this](std::optional<std::uint32_t> session) {
      state_.await_attached();
      if (!session)
        throw EbpfUnavailable(ErrorKind::permission,
                              "the workload could not start an audit session of its own, which the eBPF recorder counts by",
                              "run nucleus-trace as root with CAP_AUDIT_CONTROL, or use --source netlink");
      nucleus_bpf_globals(state_.skel)->target_session = *session;
    };
  }

  void started(boost::asio::io_context&, const sandbox::Child& child, MonitorResult& result) override {
    state_.await_attached(); // when the child died before its session: the maps must exist to be read
    result.audit_session = child.audit_session();
  }

  void child_exited(boost::asio::io_context& io, MonitorResult&) override { io.stop(); }

  void finish(MonitorResult& result) override {
    // The trace has ended: no other process pays for the probe from here on.
    nucleus_bpf_detach(state_.skel);
    volatile nucleus_bpf_counters* counters = nucleus_bpf_globals(state_.skel);
    if (!result.audit_session || counters->target_session != *result.audit_session)
      throw Error(ErrorKind::internal, "the eBPF recorder counted another audit session than the workload's");
    std::map<std::uint32_t, std::string> names;
    names[0] = own_executable(); // the image before the first execve, as the audit records name it
    // read_maps adds the counts and the losses to the trace's run, which is the loop's result here.
    out_.run = std::move(result);
    read_maps(state_.skel, names, out_);
    result = std::move(out_.run);
  }

private:
  EbpfRecorder::State& state_;
  EbpfTrace& out_;
};

} // namespace

EbpfTrace EbpfRecorder::run(const EbpfRunOptions& options) {
  if (state_->used) throw Error(ErrorKind::internal, "an eBPF recorder runs one workload");
  state_->used = true;
  MonitorOptions loop;
  loop.argv = options.argv;
  loop.pre_exec = options.pre_exec;
  loop.pre_exec_context = options.pre_exec_context;
  loop.on_start = options.on_start;
  loop.env = options.env;
  loop.pass_fds = options.pass_fds;
  loop.terminal = options.terminal;
  loop.on_tick = options.on_tick;
  EbpfTrace out;
  EbpfRunSource source(*state_, out);
  out.run = run_loop(loop, source);
  return out;
}

namespace {

// Existing targets. Ids are the ones /proc shows, which the program compares with the kernel's
// global ones: nucleus-trace must run in the initial pid namespace for --pid.

constexpr long cgroup2_magic = 0x63677270;
constexpr long cgroup1_magic = 0x27e0eb;

std::string pid_name(pid_t pid) { return std::to_string(pid); }

// The parent of every process /proc lists (the tgid of its parent, as /proc/N/stat has it).
std::map<pid_t, pid_t> parents() {
  std::map<pid_t, pid_t> out;
  DIR* dir = ::opendir("/proc");
  if (dir == nullptr) core::throw_errno("cannot list /proc");
  while (dirent* e = ::readdir(dir)) {
    if (e->d_name[0] < '1' || e->d_name[0] > '9') continue;
    const auto pid = static_cast<pid_t>(std::atoi(e->d_name));
    if (auto stat = core::process_stat(pid)) out[pid] = stat->ppid; // else gone meanwhile
  }
  ::closedir(dir);
  return out;
}

// `root` and every process below it now.
std::vector<pid_t> tree_of(pid_t root) {
  auto parent = parents();
  std::multimap<pid_t, pid_t> children;
  for (auto [pid, ppid] : parent) children.emplace(ppid, pid);
  std::vector<pid_t> out{root};
  for (std::size_t i = 0; i < out.size(); ++i) {
    auto [from, to] = children.equal_range(out[i]);
    for (auto it = from; it != to; ++it) out.push_back(it->second);
  }
  return out;
}

// Every process of `dir` and the cgroups below it.
void cgroup_processes(const std::string& dir, std::vector<pid_t>& out, int depth = 0) {
  try {
    std::string procs = core::read_file(dir + "/cgroup.procs");
    for (const char* p = procs.c_str(); *p != '\0';) {
      char* end = nullptr;
      long pid = std::strtol(p, &end, 10);
      if (end == p) break;
      if (pid > 0) out.push_back(static_cast<pid_t>(pid));
      p = end;
    }
  } catch (const Error&) {
    return; // removed meanwhile
  }
  if (depth > 64) return;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return;
  while (dirent* e = ::readdir(d)) {
    if (e->d_type == DT_DIR && e->d_name[0] != '.') cgroup_processes(dir + "/" + e->d_name, out, depth + 1);
  }
  ::closedir(d);
}

// Names the executable `pid` runs now in the program's table, so that its calls are counted under
// that name (the program learns executables from execs, which these processes made before us).
void register_executable(nucleus_bpf* skel, pid_t pid, std::map<std::uint32_t, std::string>& names) {
  const std::string link = "/proc/" + pid_name(pid) + "/exe";
  struct stat st {};
  if (::stat(link.c_str(), &st) != 0) return; // gone, or a kernel thread
  std::array<char, 4096> buf{};
  ssize_t n = ::readlink(link.c_str(), buf.data(), buf.size() - 1);
  if (n <= 0) return;
  nucleus_bpf_fact_key key{};
  key.kind = nucleus_bpf_fact_exe;
  // The kernel's own dev_t encoding, as super_block.s_dev holds it: major << 20 | minor.
  key.nr = static_cast<std::uint32_t>((major(st.st_dev) << 20) | minor(st.st_dev));
  key.value = st.st_ino;
  const int facts = nucleus_bpf_facts_fd(skel);
  std::uint64_t known = 0;
  if (bpf_map_lookup_elem(facts, &key, &known) == 0) return;
  volatile nucleus_bpf_counters* counters = nucleus_bpf_globals(skel);
  std::uint32_t slot = __atomic_fetch_add(&counters->next_slot, 1u, __ATOMIC_SEQ_CST) + 1;
  if (slot >= nucleus_bpf_slots - 1) {
    __atomic_fetch_add(&counters->slots_full, 1u, __ATOMIC_SEQ_CST);
    return;
  }
  std::uint64_t value = slot;
  if (bpf_map_update_elem(facts, &key, &value, BPF_NOEXIST) == 0) names[slot] = std::string(buf.data(), static_cast<std::size_t>(n));
}

// Adds `pid` to the tree, unless the program has it already (it may have exec'd meanwhile, which
// ends its wait for an exec: that must not be undone).
void track(nucleus_bpf* skel, pid_t pid, bool await_exec) {
  std::uint32_t key = static_cast<std::uint32_t>(pid);
  std::uint8_t how = await_exec ? nucleus_bpf_track_await_exec : nucleus_bpf_track_all;
  if (bpf_map_update_elem(nucleus_bpf_tracked_fd(skel), &key, &how, BPF_NOEXIST) != 0 && errno != EEXIST)
    __atomic_fetch_add(&nucleus_bpf_globals(skel)->tracked_full, 1u, __ATOMIC_SEQ_CST);
}

core::UniqueFd open_root_process(pid_t pid) {
  if (pid <= 0)
    throw Error(ErrorKind::usage, "--pid " + pid_name(pid) + ": not a process id", "give the id of a running process");
  // The program compares the kernel's global ids; /proc here shows another namespace's.
  if (auto nspid = core::process_status_field(0, "NSpid")) {
    std::istringstream ids(*nspid);
    int levels = 0;
    for (long id = 0; ids >> id;) ++levels;
    if (levels > 1)
      throw Error(ErrorKind::unsupported, "--pid: nucleus-trace runs in a pid namespace of its own, whose ids the recorder cannot match",
                  "run it in the host's pid namespace, or use --cgroup");
  }
  if (core::UniqueFd handle = core::pidfd_open(pid)) {
    pollfd exited{handle.get(), POLLIN, 0};
    if (::poll(&exited, 1, 0) == 1) // a zombie: nothing of it can run any more
      throw Error(ErrorKind::not_found, "--pid " + pid_name(pid) + ": the process has already exited",
                  "start the trace while it runs, or trace the command from its start");
    return handle;
  }
  int err = errno;
  if (err == ESRCH)
    throw Error(ErrorKind::not_found, "--pid " + pid_name(pid) + ": no such process (it does not exist or has exited)",
                "check the id with ps; processes of another pid namespace are not visible by their ids there", err);
  if (err == EINVAL)
    throw Error(ErrorKind::usage, "--pid " + pid_name(pid) + ": this is a thread, not a process",
                "give the process id (Tgid in /proc/" + pid_name(pid) + "/status): all its threads are recorded", err);
  core::throw_errno(err, "--pid " + pid_name(pid) + ": cannot open the process");
}

core::UniqueFd open_cgroup(const std::string& path, bool& v1) {
  int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    if (err == ENOENT)
      throw Error(ErrorKind::not_found, "--cgroup " + path + ": no such directory",
                  "give a directory of the cgroup v2 hierarchy (mount -t cgroup2 shows where it is mounted)", err);
    if (err == ENOTDIR)
      throw Error(ErrorKind::invalid_input, "--cgroup " + path + ": not a directory, so not a cgroup",
                  "give a directory of the cgroup v2 hierarchy (mount -t cgroup2 shows where it is mounted)", err);
    core::throw_errno(err, "--cgroup " + path + ": cannot open it");
  }
  core::UniqueFd dir(fd);
  struct statfs fs {};
  if (::fstatfs(dir.get(), &fs) != 0) core::throw_errno("--cgroup " + path + ": cannot tell its file system");
  v1 = static_cast<long>(fs.f_type) == cgroup1_magic;
  if (v1 && ::faccessat(dir.get(), "cgroup.procs", R_OK, 0) != 0)
    throw Error(ErrorKind::invalid_input, "--cgroup " + path + ": a cgroup v1 directory without cgroup.procs",
                "give a cgroup directory of the hierarchy, not a file or the mount's parent");
  if (!v1 && static_cast<long>(fs.f_type) != cgroup2_magic)
    throw Error(ErrorKind::invalid_input, "--cgroup " + path + ": not a cgroup (the directory is not on a cgroup2 file system)",
                "give a directory of the cgroup v2 hierarchy (mount -t cgroup2 shows where it is mounted)");
  return dir;
}

// nullopt when cgroup.events is gone (the cgroup was removed), else whether it holds processes.
std::optional<bool> cgroup_populated(const std::string& path) {
  try {
    std::string events = core::read_file(path + "/cgroup.events");
    return events.find("populated 1") != std::string::npos;
  } catch (const Error&) {
    return std::nullopt;
  }
}

} // namespace

EbpfTrace EbpfRecorder::record_existing(const EbpfAttachOptions& target) {
  namespace asio = boost::asio;
  if (state_->used) throw Error(ErrorKind::internal, "an eBPF recorder runs one workload");
  state_->used = true;
  state_->await_attached();
  const bool by_pid = target.cgroup.empty();
  if (target.await_exec && !by_pid) throw Error(ErrorKind::internal, "waiting for an exec applies to a process tree only");
  // From here on a signal ends the trace, which is still written.
  asio::io_context io;
  asio::signal_set signals(io, SIGINT, SIGTERM, SIGHUP);
  signals.async_wait([&](const boost::system::error_code& ec, int) {
    if (!ec) io.stop();
  });
  nucleus_bpf* skel = state_->skel;
  volatile nucleus_bpf_counters* counters = nucleus_bpf_globals(skel);
  std::map<std::uint32_t, std::string> names;
  names[0] = "?"; // an executable neither exec'd under the trace nor running when it started

  // The target is checked, its executables named and its maps filled before the program counts
  // it: a task's first counted call fixes the executable it is counted under.
  bool v1 = false;
  core::UniqueFd handle = by_pid ? open_root_process(target.pid) : open_cgroup(target.cgroup, v1);
  if (by_pid || v1) {
    if (int rc = nucleus_bpf_attach_tree(skel); rc != 0)
      throw EbpfUnavailable(ErrorKind::unsupported,
                            std::string("cannot attach the eBPF recorder to sched_process_fork and sched_process_exit: ") +
                                std::strerror(-rc),
                            "following a process tree needs both tracepoints; --cgroup on a cgroup v2 directory does not", -rc);
  }
  std::vector<pid_t> known;
  // cgroup v1: the kernel can test membership of v2 cgroups only, so the processes in the cgroup
  // become a tree: followed through their forks, and the cgroup read again on every check for
  // processes moved into it.
  auto track_cgroup_v1 = [&] {
    std::vector<pid_t> now;
    cgroup_processes(target.cgroup, now);
    for (pid_t pid : now) {
      register_executable(skel, pid, names);
      track(skel, pid, false);
    }
    return !now.empty();
  };
  if (by_pid) {
    known = tree_of(target.pid);
    // Waiting for an exec, what runs now counts only with its exec call, as "?": the runtime's
    // own executable, which the container's process is not.
    if (!target.await_exec)
      for (pid_t pid : known) register_executable(skel, pid, names);
    for (pid_t pid : known) track(skel, pid, target.await_exec);
    __atomic_store_n(&counters->root_tgid, static_cast<std::uint32_t>(target.pid), __ATOMIC_SEQ_CST);
    if (target.await_exec) {
      // A runtime may run under a filter of its own: only the next one is the container's.
      auto filters = core::process_status_field(target.pid, "Seccomp_filters");
      if (!filters)
        throw Error(ErrorKind::unsupported, "--pid " + pid_name(target.pid) + ": the kernel does not say how many seccomp "
                                            "filters the process has (Seccomp_filters in /proc/PID/status, Linux 5.9+)");
      __atomic_store_n(&counters->await_filters,
                       static_cast<std::uint32_t>(std::strtoul(filters->c_str(), nullptr, 10)), __ATOMIC_SEQ_CST);
    }
    __atomic_store_n(&counters->target_mode, static_cast<std::uint32_t>(nucleus_bpf_mode_tree), __ATOMIC_SEQ_CST);
    // From here on the program follows every fork of a tracked process; a process forked by one
    // not yet tracked while /proc was read is found by reading it again.
    for (pid_t pid : tree_of(target.pid)) {
      if (!target.await_exec) register_executable(skel, pid, names);
      track(skel, pid, target.await_exec);
    }
  } else if (v1) {
    track_cgroup_v1();
    __atomic_store_n(&counters->target_mode, static_cast<std::uint32_t>(nucleus_bpf_mode_tree), __ATOMIC_SEQ_CST);
    track_cgroup_v1(); // forked while the first read ran
  } else {
    cgroup_processes(target.cgroup, known);
    for (pid_t pid : known) register_executable(skel, pid, names);
    std::uint32_t zero = 0;
    std::uint32_t fd = static_cast<std::uint32_t>(handle.get());
    if (bpf_map_update_elem(nucleus_bpf_cgroup_fd(skel), &zero, &fd, BPF_ANY) != 0)
      core::throw_errno("--cgroup " + target.cgroup + ": cannot hand the cgroup to the eBPF recorder");
    __atomic_store_n(&counters->target_mode, static_cast<std::uint32_t>(nucleus_bpf_mode_cgroup), __ATOMIC_SEQ_CST);
  }

  EbpfTrace out;
  MonitorResult& result = out.run;
  result.source = std::string(ebpf_source_name);
  result.attribution = by_pid ? Attribution::followed_tree : Attribution::cgroup;
  result.fenced = true;
  result.pid = by_pid ? target.pid : 0;
  result.wait_status = -1; // unknown, unless the root's exit is seen
  const auto started = std::chrono::steady_clock::now();
  if (target.on_attached) target.on_attached();

  asio::steady_timer deadline(io);
  if (target.duration) {
    deadline.expires_after(*target.duration);
    deadline.async_wait([&](const boost::system::error_code& ec) {
      if (!ec) io.stop();
    });
  }
  std::optional<asio::posix::stream_descriptor> root;
  asio::steady_timer poll(io);
  bool was_populated = false;
  // v2: a process that joins the cgroup is counted by the kernel at once; its executable is named
  // here, on the next check (calls before that count under "?").
  std::set<pid_t> named(known.begin(), known.end());
  auto name_newcomers = [&] {
    std::vector<pid_t> now;
    cgroup_processes(target.cgroup, now);
    for (pid_t pid : now)
      if (named.insert(pid).second) register_executable(skel, pid, names);
  };
  std::function<void()> watch_cgroup = [&] {
    std::optional<bool> populated;
    if (!v1) {
      populated = cgroup_populated(target.cgroup);
      if (populated && *populated) name_newcomers();
    }
    else if (::access(target.cgroup.c_str(), F_OK) == 0) populated = track_cgroup_v1();
    if (!populated || (was_populated && !*populated)) {
      io.stop(); // removed, or empty after it held processes
      return;
    }
    was_populated = was_populated || *populated;
    poll.expires_after(std::chrono::milliseconds(100));
    poll.async_wait([&](const boost::system::error_code& ec) {
      if (!ec) watch_cgroup();
    });
  };
  if (by_pid) {
    root.emplace(io, ::dup(handle.get()));
    root->async_wait(asio::posix::stream_descriptor::wait_read, [&](const boost::system::error_code& ec) {
      if (!ec) io.stop(); // the root process has exited
    });
  } else {
    watch_cgroup();
  }
  io.run();
  nucleus_bpf_detach(skel);
  result.duration = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
  read_maps(skel, names, out);
  if (by_pid && __atomic_load_n(&counters->root_exited, __ATOMIC_ACQUIRE) != 0) {
    result.wait_status = static_cast<int>(__atomic_load_n(&counters->root_status, __ATOMIC_SEQ_CST));
    result.exit_code = sandbox::exit_code_from_status(result.wait_status);
  }
  if (v1)
    out.warnings.push_back("a cgroup v1 directory: a process moved into it after the trace attached is recorded from "
                           "the next check on (every 100 ms), and a process forked in it is followed even when moved out");
  out.awaited_execs = __atomic_load_n(&counters->await_execs, __ATOMIC_SEQ_CST);
  if (target.await_exec && __atomic_load_n(&counters->exec_unfiltered, __ATOMIC_SEQ_CST) != 0)
    out.warnings.push_back(
        "the container's process started without a seccomp filter, so what its runtime does between installing "
        "the filter and the exec (runc closes descriptors there) is not in this trace, and a profile made from it "
        "may stop the runtime before the exec: trace the container under a filter that allows everything "
        "(linux.seccomp {\"defaultAction\": \"SCMP_ACT_ALLOW\"}) or under its engine's default profile");
  return out;
}

namespace {

// Turns the maps into trace entries and loss notes. `names` holds the slots userspace named itself.
void read_maps(nucleus_bpf* skel, std::map<std::uint32_t, std::string>& names, EbpfTrace& out) {
  MonitorResult& result = out.run;
  volatile nucleus_bpf_counters* counters = nucleus_bpf_globals(skel);
  // Executable names, from the exec events.
  names[nucleus_bpf_slots - 1] = "?";
  if (ring_buffer* rb = ring_buffer__new(nucleus_bpf_events_fd(skel), on_exec_event, &names, nullptr)) {
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
  if (cpus <= 0) core::throw_errno(-cpus, "cannot count the possible CPUs");
  constexpr std::size_t per_cpu = nucleus_bpf_arches * nucleus_bpf_nr_max; // u64s, 8-aligned
  std::vector<std::uint64_t> value(per_cpu * static_cast<std::size_t>(cpus));
  // Slots are handed out in order (next_slot, final now that the program is detached): the image
  // before the first exec, one per executable, and the overflow slot; the rest hold only zeros.
  const std::uint32_t last_given = std::min<std::uint32_t>(std::uint32_t{counters->next_slot}, nucleus_bpf_slots - 2);
  for (std::uint32_t slot = 0; slot < nucleus_bpf_slots; ++slot) {
    if (slot > last_given && slot != nucleus_bpf_slots - 1) continue;
    if (bpf_map_lookup_elem(nucleus_bpf_counts_fd(skel), &slot, value.data()) != 0)
      core::throw_errno("cannot read the eBPF recorder's counts");
    for (std::size_t i = 0; i < per_cpu; ++i) {
      std::uint64_t n = 0;
      for (int c = 0; c < cpus; ++c) n += value[static_cast<std::size_t>(c) * per_cpu + i];
      if (n != 0) counts[{slot, static_cast<std::uint32_t>(i / nucleus_bpf_nr_max), static_cast<std::uint32_t>(i % nucleus_bpf_nr_max)}] += n;
    }
  }

  // Rare numbers, argument values and their overflow marks.
  std::map<std::tuple<std::uint32_t, std::uint32_t, std::uint32_t, std::uint32_t>, TraceArgValues> args;
  const int facts = nucleus_bpf_facts_fd(skel);
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
  note(result.loss, counters->args_unread, false,
       std::to_string(counters->args_unread) + " call(s) whose argument registers could not be read");
  note(result.loss, counters->rare_full, false,
       std::to_string(counters->rare_full) + " syscall(s) or argument value(s) found the recorder's map full");
  note(result.loss, unnamed, false, std::to_string(unnamed) + " syscall(s) of executables whose exec event is missing");
  note(result.loss, counters->tracked_full, false,
       std::to_string(counters->tracked_full) + " forked process(es) found the recorder's table of tracked processes full");
  for (const auto& e : out.syscalls) result.records_attributed += e.count;
  result.records_seen = result.records_attributed;
}

} // namespace

std::optional<std::string> ebpf_unavailable(const core::Policy* baseline) {
  if (core::native_arch() != *core::arch_from_name("x86_64")) return "the eBPF recorder is built for x86_64 only";
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

std::optional<std::string> ebpf_attach_unavailable() {
  if (core::native_arch() != *core::arch_from_name("x86_64")) return "the eBPF recorder is built for x86_64 only";
  if (::geteuid() != 0) return "loading the eBPF recorder needs root (CAP_BPF and CAP_PERFMON)";
  return std::nullopt;
}

#else // built without the eBPF recorder

struct EbpfRecorder::State {};

EbpfRecorder EbpfRecorder::open(const core::Policy*, const EbpfMapSizes&, bool) {
  throw Error(ErrorKind::unsupported, "this nucleus was built without the eBPF recorder",
              "build on x86_64 with clang, bpftool and libbpf-dev installed, or use --source netlink");
}

EbpfTrace EbpfRecorder::run(const EbpfRunOptions&) {
  throw Error(ErrorKind::unsupported, "this nucleus was built without the eBPF recorder");
}

std::optional<std::string> ebpf_unavailable(const core::Policy*) {
  return "this nucleus was built without the eBPF recorder (it needs x86_64, clang, bpftool and libbpf-dev)";
}

EbpfTrace EbpfRecorder::record_existing(const EbpfAttachOptions&) {
  throw Error(ErrorKind::unsupported, "this nucleus was built without the eBPF recorder");
}

std::optional<std::string> ebpf_attach_unavailable() { return ebpf_unavailable(nullptr); }

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
