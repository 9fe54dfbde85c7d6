// The eBPF recorder on processes that run already (record_existing): a process tree found by
// reading /proc and then followed through its forks by the program, or a cgroup (v2: the kernel
// tests membership; v1: its processes followed as a tree, the cgroup read again on every check).
// Ids are the ones /proc shows, which the program compares with the kernel's global ones:
// nucleus-trace must run in the initial pid namespace for --pid.
#if NUCLEUS_HAVE_EBPF

#include "ebpf_behaviour.hpp"
#include "ebpf_state.hpp"

#include "nucleus/core/error.hpp"
#include "nucleus/core/fd.hpp"
#include "nucleus/core/io.hpp"
#include "nucleus/core/pidfd.hpp"
#include "nucleus/core/proc.hpp"
#include "nucleus/sandbox/spawn.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include <bpf/bpf.h>

#include <dirent.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <functional>
#include <set>
#include <sstream>

namespace nucleus::tracer {
namespace {

using core::Error;
using core::ErrorKind;
using ebpf::SlotNames;

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
void register_executable(nucleus_bpf* skel, pid_t pid, SlotNames& names) {
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
  if (bpf_map_update_elem(facts, &key, &value, BPF_NOEXIST) == 0)
    names[slot] = std::string(buf.data(), static_cast<std::size_t>(n));
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
      throw Error(ErrorKind::unsupported,
                  "--pid: nucleus-trace runs in a pid namespace of its own, whose ids the recorder cannot match",
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
    throw Error(ErrorKind::invalid_input,
                "--cgroup " + path + ": not a cgroup (the directory is not on a cgroup2 file system)",
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

// One recording of a target that runs already. The target is checked, its executables named and
// its maps filled before the program counts it: a task's first counted call fixes the executable
// it is counted under.
class ExistingTarget {
public:
  ExistingTarget(nucleus_bpf* skel, const EbpfAttachOptions& target)
      : skel_(skel), counters_(nucleus_bpf_globals(skel)), target_(target), by_pid_(target.cgroup.empty()) {
    names_[0] = "?"; // an executable neither exec'd under the trace nor running when it started
  }

  void attach() {
    handle_ = by_pid_ ? open_root_process(target_.pid) : open_cgroup(target_.cgroup, v1_);
    if (by_pid_ || v1_) {
      if (int rc = nucleus_bpf_attach_tree(skel_); rc != 0)
        throw EbpfUnavailable(
            ErrorKind::unsupported,
            std::string("cannot attach the eBPF recorder to sched_process_fork and sched_process_exit: ") +
                std::strerror(-rc),
            "following a process tree needs both tracepoints; --cgroup on a cgroup v2 directory does not", -rc);
    }
    if (by_pid_) {
      attach_tree();
    } else if (v1_) {
      track_cgroup_v1();
      set_mode(nucleus_bpf_mode_tree);
      track_cgroup_v1(); // forked while the first read ran
    } else {
      attach_cgroup_v2();
    }
  }

  // Until the root process exits, the cgroup is empty (after it held processes) or removed, the
  // duration elapses, or a signal stops `io`.
  void wait_for_end(boost::asio::io_context& io) {
    namespace asio = boost::asio;
    asio::steady_timer deadline(io);
    if (target_.duration) {
      deadline.expires_after(*target_.duration);
      deadline.async_wait([&](const boost::system::error_code& ec) {
        if (!ec) io.stop();
      });
    }
    std::optional<asio::posix::stream_descriptor> root;
    asio::steady_timer poll(io);
    if (by_pid_) {
      root.emplace(io, ::dup(handle_.get()));
      root->async_wait(asio::posix::stream_descriptor::wait_read, [&](const boost::system::error_code& ec) {
        if (!ec) io.stop(); // the root process has exited
      });
    } else {
      named_.insert(known_.begin(), known_.end());
      watch_cgroup(io, poll);
    }
    io.run();
  }

  // The program detached, what it counted (and the behaviour records `behaviour` read, if any).
  EbpfTrace collect(std::chrono::milliseconds duration, ebpf::BehaviourReader* behaviour) {
    EbpfTrace out;
    MonitorResult& result = out.run;
    result.source = std::string(ebpf_source_name);
    result.attribution = by_pid_ ? Attribution::followed_tree : Attribution::cgroup;
    result.fenced = true;
    result.pid = by_pid_ ? target_.pid : 0;
    result.wait_status = -1; // unknown, unless the root's exit is seen
    result.duration = duration;
    ebpf::read_maps(skel_, names_, out);
    if (behaviour != nullptr) behaviour->collect(names_, out);
    if (by_pid_ && __atomic_load_n(&counters_->root_exited, __ATOMIC_ACQUIRE) != 0) {
      result.wait_status = static_cast<int>(__atomic_load_n(&counters_->root_status, __ATOMIC_SEQ_CST));
      result.exit_code = sandbox::exit_code_from_status(result.wait_status);
    }
    if (v1_)
      out.warnings.push_back(
          "a cgroup v1 directory: a process moved into it after the trace attached is recorded from "
          "the next check on (every 100 ms), and a process forked in it is followed even when moved out");
    out.awaited_execs = __atomic_load_n(&counters_->await_execs, __ATOMIC_SEQ_CST);
    if (target_.await_exec && __atomic_load_n(&counters_->exec_unfiltered, __ATOMIC_SEQ_CST) != 0)
      out.warnings.push_back(
          "the container's process started without a seccomp filter, so what its runtime does between installing "
          "the filter and the exec (runc closes descriptors there) is not in this trace, and a profile made from it "
          "may stop the runtime before the exec: trace the container under a filter that allows everything "
          "(linux.seccomp {\"defaultAction\": \"SCMP_ACT_ALLOW\"}) or under its engine's default profile");
    return out;
  }

private:
  void set_mode(std::uint32_t mode) { __atomic_store_n(&counters_->target_mode, mode, __ATOMIC_SEQ_CST); }

  void attach_tree() {
    known_ = tree_of(target_.pid);
    // Waiting for an exec, what runs now counts only with its exec call, as "?": the runtime's
    // own executable, which the container's process is not.
    if (!target_.await_exec)
      for (pid_t pid : known_) register_executable(skel_, pid, names_);
    for (pid_t pid : known_) track(skel_, pid, target_.await_exec);
    __atomic_store_n(&counters_->root_tgid, static_cast<std::uint32_t>(target_.pid), __ATOMIC_SEQ_CST);
    if (target_.await_exec) {
      // A runtime may run under a filter of its own: only the next one is the container's.
      auto filters = core::process_status_field(target_.pid, "Seccomp_filters");
      if (!filters)
        throw Error(ErrorKind::unsupported,
                    "--pid " + pid_name(target_.pid) +
                        ": the kernel does not say how many seccomp "
                        "filters the process has (Seccomp_filters in /proc/PID/status, Linux 5.9+)");
      __atomic_store_n(&counters_->await_filters,
                       static_cast<std::uint32_t>(std::strtoul(filters->c_str(), nullptr, 10)), __ATOMIC_SEQ_CST);
    }
    set_mode(nucleus_bpf_mode_tree);
    // From here on the program follows every fork of a tracked process; a process forked by one
    // not yet tracked while /proc was read is found by reading it again.
    for (pid_t pid : tree_of(target_.pid)) {
      if (!target_.await_exec) register_executable(skel_, pid, names_);
      track(skel_, pid, target_.await_exec);
    }
  }

  void attach_cgroup_v2() {
    cgroup_processes(target_.cgroup, known_);
    for (pid_t pid : known_) register_executable(skel_, pid, names_);
    std::uint32_t zero = 0;
    std::uint32_t fd = static_cast<std::uint32_t>(handle_.get());
    if (bpf_map_update_elem(nucleus_bpf_cgroup_fd(skel_), &zero, &fd, BPF_ANY) != 0)
      core::throw_errno("--cgroup " + target_.cgroup + ": cannot hand the cgroup to the eBPF recorder");
    set_mode(nucleus_bpf_mode_cgroup);
  }

  // cgroup v1: the kernel can test membership of v2 cgroups only, so the processes in the cgroup
  // become a tree: followed through their forks, and the cgroup read again on every check for
  // processes moved into it.
  bool track_cgroup_v1() {
    std::vector<pid_t> now;
    cgroup_processes(target_.cgroup, now);
    for (pid_t pid : now) {
      register_executable(skel_, pid, names_);
      track(skel_, pid, false);
    }
    return !now.empty();
  }

  // v2: a process that joins the cgroup is counted by the kernel at once; its executable is named
  // here, on the next check (calls before that count under "?").
  void name_newcomers() {
    std::vector<pid_t> now;
    cgroup_processes(target_.cgroup, now);
    for (pid_t pid : now)
      if (named_.insert(pid).second) register_executable(skel_, pid, names_);
  }

  void watch_cgroup(boost::asio::io_context& io, boost::asio::steady_timer& poll) {
    std::optional<bool> populated;
    if (!v1_) {
      populated = cgroup_populated(target_.cgroup);
      if (populated && *populated) name_newcomers();
    } else if (::access(target_.cgroup.c_str(), F_OK) == 0) populated = track_cgroup_v1();
    if (!populated || (was_populated_ && !*populated)) {
      io.stop(); // removed, or empty after it held processes
      return;
    }
    was_populated_ = was_populated_ || *populated;
    poll.expires_after(std::chrono::milliseconds(100));
    poll.async_wait([this, &io, &poll](const boost::system::error_code& ec) {
      if (!ec) watch_cgroup(io, poll);
    });
  }

  nucleus_bpf* skel_;
  volatile nucleus_bpf_counters* counters_;
  const EbpfAttachOptions& target_;
  const bool by_pid_;
  bool v1_ = false;
  core::UniqueFd handle_;
  SlotNames names_;
  std::vector<pid_t> known_;
  std::set<pid_t> named_;
  bool was_populated_ = false;
};

} // namespace

EbpfTrace EbpfRecorder::record_existing(const EbpfAttachOptions& target) {
  namespace asio = boost::asio;
  if (state_->used) throw Error(ErrorKind::internal, "an eBPF recorder runs one workload");
  state_->used = true;
  state_->await_attached();
  if (!state_->behaviour_spec.empty() && !state_->follows_trees)
    throw Error(ErrorKind::internal, "record_existing() needs a recorder opened with EbpfContent::follows_trees");
  if (target.await_exec && !target.cgroup.empty())
    throw Error(ErrorKind::internal, "waiting for an exec applies to a process tree only");
  // From here on a signal ends the trace, which is still written.
  asio::io_context io;
  asio::signal_set signals(io, SIGINT, SIGTERM, SIGHUP);
  signals.async_wait([&](const boost::system::error_code& ec, int) {
    if (!ec) io.stop();
  });
  ExistingTarget recording(state_->skel, target);
  // Read as they come, so that relative paths are resolved while their callers run.
  std::optional<ebpf::BehaviourReader> behaviour;
  if (!state_->behaviour_spec.empty()) {
    behaviour.emplace(nucleus_bpf_behaviour_fd(state_->skel), state_->behaviour_cap);
    behaviour->start(io);
  }
  recording.attach();
  const auto started = std::chrono::steady_clock::now();
  if (target.on_attached) target.on_attached();
  recording.wait_for_end(io);
  nucleus_bpf_detach(state_->skel);
  if (behaviour) behaviour->stop();
  return recording.collect(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started),
      behaviour ? &*behaviour : nullptr);
}

} // namespace nucleus::tracer

#endif
