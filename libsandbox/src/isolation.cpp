// The orchestrator: prepare() runs the trust guards and builds the child's plan in the parent;
// run_child_steps() is the fixed list of steps the child executes (see isolation.hpp).
#include "nucleus/sandbox/isolation.hpp"
#include "nucleus/sandbox/fs_plan.hpp"

#include "caps.hpp"
#include "cgroup.hpp"
#include "child_tail.hpp"
#include "child_plan.hpp"
#include "gvisor.hpp"
#include "landlock.hpp"
#include "net.hpp"
#include "ns_mount.hpp"
#include "ns_pid.hpp"
#include "ns_user.hpp"
#include "policy_net.hpp"
#include "reachable.hpp"
#include "rlimits.hpp"
#include "trust.hpp"

#include "nucleus/core/error.hpp"
#include "nucleus/core/pidfd.hpp"

#include <algorithm>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <charconv>
#include <cstring>
#include <deque>
#include <filesystem>

extern char** environ;

namespace nucleus::sandbox {
using core::Error;
using core::ErrorKind;
using core::throw_errno;

struct Isolation::State {
  Backend backend = Backend::native;
  std::vector<std::string> argv;
  std::vector<std::string> steps;
  std::vector<std::string> warnings;
  detail::Cgroups cgroups;
  detail::LandlockSetup landlock;
  detail::MountPlan mounts;
  std::string staging;    // the new root's mount point, an empty host directory
  std::string bundle_dir; // gVisor's OCI bundle
  std::string runsc;      // with the container id: what cleanup removes
  std::string runsc_root;
  std::string container_id;
  std::vector<std::string> env;
  std::vector<int> pass_fds;
  std::vector<ResourceLimit> rlimits;
  std::deque<std::string> strings;
  std::vector<detail::LandlockRule> rules;
  std::vector<detail::LandlockPortRule> ports;
  detail::ChildPlan plan;

  ~State() {
    std::error_code ec;
    if (!container_id.empty()) delete_gvisor_container();
    if (!staging.empty()) std::filesystem::remove(staging, ec); // empty: never mounted on in the host
    if (!bundle_dir.empty()) std::filesystem::remove_all(bundle_dir, ec);
  }
  const char* keep(std::string s) { return strings.emplace_back(std::move(s)).c_str(); }

  // When `runsc run` was killed (nucleus got a signal, or the workload's runsc died) its sandbox
  // and gofer processes can outlive it; `runsc delete --force` stops them and removes the state.
  void delete_gvisor_container() noexcept {
    std::error_code ec;
    bool left = false; // runsc removes its state itself when `runsc run` ends normally
    for (std::filesystem::directory_iterator it(runsc_root, ec), end; !ec && it != end; it.increment(ec))
      left = left || it->path().filename().string().find(container_id) != std::string::npos;
    if (!left) return;
    pid_t pid = ::fork();
    if (pid == 0) {
      int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
      if (null >= 0) {
        ::dup2(null, 1);
        ::dup2(null, 2);
      }
      const char* args[] = {runsc.c_str(),        "--root", runsc_root.c_str(), "delete", "--force",
                            container_id.c_str(), nullptr};
      ::execv(runsc.c_str(), const_cast<char* const*>(args));
      ::_exit(127);
    }
    if (pid > 0) {
      int status = 0;
      core::wait_child(pid, status);
    }
  }
};

namespace {

namespace fs = std::filesystem;

// The workload's own steps, on its own stack in pid 1's memory (see start_workload).
int run_workload_steps(const void* context) noexcept {
  const auto& p = *static_cast<const detail::ChildPlan*>(context);
  if (int err = detail::apply_landlock(p); err != 0) return err;
  if (int err = detail::drop_capabilities(p); err != 0) return err;
  detail::finish_start();
}

// The steps between fork and execve, in their fixed order. Async-signal-safe throughout; the
// outer process and pid 1 never return from here (they supervise), and the workload ends the
// start itself (finish_start). Only the gVisor path returns, for spawn to exec runsc.
int run_child_steps(const void* context) noexcept {
  const auto& p = *static_cast<const detail::ChildPlan*>(context);
  if (int err = detail::join_cgroups(p); err != 0) return err;
  if (p.gvisor) return detail::shield_stdio(); // runsc builds the rest
  if (int err = detail::apply_rlimits(p); err != 0)
    return err; // before the user namespace: raising needs the host's CAP_SYS_RESOURCE
  if (int err = detail::enter_namespaces(p); err != 0) return err;
  if (p.loopback_up) {
    if (int err = detail::bring_loopback_up(); err != 0) return err;
  }
  if (int err = detail::fork_namespace_init(); err != 0) return err; // now pid 1
  if (int err = detail::apply_mounts(p); err != 0) return err;
  return detail::start_workload(&run_workload_steps, &p); // returns only if it could not start
}

// Where the staging directory is made: a memory file system where there is one. On a disk-backed
// /tmp each run's mkdir and rmdir went to the journal, and with discard the rmdir waited for the
// device (a quarter of a millisecond of every exit here). /dev/shm is sticky and world-writable
// like /tmp, so mkdtemp's private directory is as safe there, and the workload's identity can
// pass through it (a per-user runtime directory, 0700, would refuse it).
fs::path staging_parent() {
  struct statfs fs {};
  if (::statfs("/dev/shm", &fs) == 0 && fs.f_type == TMPFS_MAGIC && ::access("/dev/shm", W_OK | X_OK) == 0)
    return "/dev/shm";
  return fs::temp_directory_path();
}

std::string unique_name() {
  static std::atomic<unsigned> counter{0};
  return "nucleus-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
}

std::string format_bytes(std::uint64_t n) {
  const char* units[] = {"bytes", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (n >= 1024 && n % 1024 == 0 && u < 4) {
    n /= 1024;
    ++u;
  }
  return std::to_string(n) + " " + units[u];
}

// A policy needs every right it speaks of: an older Landlock ABI enforces it only in part, which
// is refused unless the user accepts the weaker enforcement. Without logging (ABI 7) the denials
// still hold but are not reported: said once.
void require_policy_abi(Isolation::State& s, const IsolationConfig& config) {
  const int abi = s.landlock.abi;
  auto gaps = detail::landlock_policy_gaps(abi, true);
  if (abi > 0 && !gaps.empty()) {
    std::string missing;
    for (const auto& g : gaps) missing += (missing.empty() ? "" : ", ") + g;
    if (!config.allow_degraded_security)
      throw Error(ErrorKind::unsupported,
                  "this kernel's Landlock (ABI " + std::to_string(abi) +
                      ") cannot enforce the whole policy: it lacks " + missing,
                  "use a newer kernel, or gVisor (--trust-level untrusted), or accept the weaker enforcement with "
                  "--allow-degraded-security");
    s.warnings.push_back("--allow-degraded-security: Landlock ABI " + std::to_string(abi) + " does not enforce " +
                         missing + " of the policy");
  }
  if (abi > 0 && abi < 7)
    s.warnings.push_back("this kernel's Landlock (ABI " + std::to_string(abi) +
                         ") does not log denials (ABI 7, Linux 6.15): "
                         "the policy's denials hold but are not reported");
}

void plan_native(Isolation::State& s, const IsolationConfig& config, const FsPlan& fs) {
  detail::ChildPlan& p = s.plan;
  p.unshare_flags = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWCGROUP;
  if (config.network == NetworkMode::none) p.unshare_flags |= CLONE_NEWNET;
  const bool as_root = ::geteuid() == 0;
  p.switch_identity = as_root && !config.host_root;
  p.host_uid = config.host_uid;
  p.host_gid = config.host_gid;
  std::string uid_map = p.switch_identity ? detail::root_to_id_map(config.host_uid) : detail::own_id_map(::geteuid());
  std::string gid_map = p.switch_identity ? detail::root_to_id_map(config.host_gid) : detail::own_id_map(::getegid());
  std::memcpy(p.uid_map, uid_map.c_str(), std::min(uid_map.size() + 1, sizeof p.uid_map - 1));
  std::memcpy(p.gid_map, gid_map.c_str(), std::min(gid_map.size() + 1, sizeof p.gid_map - 1));
  if (p.switch_identity)
    s.steps.push_back("identity: uid 0 and gid 0 inside a new user namespace are host uid " +
                      std::to_string(config.host_uid) + " and gid " + std::to_string(config.host_gid) +
                      " (unprivileged), nothing else is mapped");
  else
    s.steps.push_back("new user namespace: uid " + std::to_string(::geteuid()) + " and gid " +
                      std::to_string(::getegid()) + " mapped to themselves, nothing else" +
                      (as_root ? " (--host-root: the workload is host root)" : ""));
  s.steps.push_back(std::string("new mount, pid, uts, ipc, cgroup") +
                    (config.network == NetworkMode::none ? ", network" : "") + " namespaces");
  if (config.hostname.size() > 64) throw Error(ErrorKind::usage, "--hostname: at most 64 characters");
  p.hostname = s.keep(config.hostname);
  p.hostname_len = config.hostname.size();
  s.steps.push_back("hostname " + config.hostname);
  p.loopback_up = config.network == NetworkMode::none;
  s.steps.push_back(config.network == NetworkMode::none ? "network: none (own network namespace, loopback only)"
                                                        : "network: the host's");
  s.steps.push_back("pid 1 of the new pid namespace reaps orphans; the workload's exit status is passed on");

  if (!detail::mount_setattr_available()) {
    if (!config.allow_degraded_security)
      throw Error(
          ErrorKind::unsupported,
          "this kernel has no mount_setattr (Linux 5.12+): the host's mounts below / cannot all be made read-only",
          "use a newer kernel, use gVisor (--trust-level untrusted), or accept the weaker sandbox with "
          "--allow-degraded-security (only the top mounts are made read-only; Landlock covers the rest)");
    s.warnings.push_back(
        "--allow-degraded-security: no mount_setattr in this kernel: mounts below the root stay writable "
        "unless Landlock stops the write");
  }

  // The staging directory: an empty directory the new root is mounted on inside the namespace.
  std::string tmpl = (staging_parent() / "nucleus-root-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) throw_errno("cannot create the sandbox's staging directory");
  s.staging = tmpl;
  // The child mounts on it after it became the unprivileged host identity. Empty, never written.
  if (p.switch_identity && ::chmod(s.staging.c_str(), 0711) != 0) throw_errno("cannot open up the staging directory");
  s.mounts = detail::render_mounts(fs, config, s.staging);
  p.mounts = s.mounts.steps.data();
  p.mount_count = s.mounts.steps.size();
  p.new_root = s.keep(s.staging);
  p.cwd = s.keep(fs.cwd);
  for (const auto& d : s.mounts.described) s.steps.push_back(d);

  p.rlimits = s.rlimits.data();
  p.rlimit_count = s.rlimits.size();
  for (const auto& l : s.rlimits)
    s.steps.push_back(std::string("rlimit ") + detail::rlimit_name(l.resource) + " " +
                      (l.soft == RLIM_INFINITY ? std::string("unlimited") : std::to_string(l.soft)) + ":" +
                      (l.hard == RLIM_INFINITY ? std::string("unlimited") : std::to_string(l.hard)));

  const detail::NetworkEnforcement net = detail::decide_network(config, Backend::native);
  s.warnings.insert(s.warnings.end(), net.warnings.begin(), net.warnings.end());
  s.landlock = detail::create_landlock_ruleset(net.handle_tcp);
  if (config.policy) require_policy_abi(s, config);
  if (s.landlock.abi == 0) {
    if (!config.allow_degraded_security)
      throw Error(ErrorKind::unsupported,
                  "Landlock is not available in this kernel, so the sandbox would rest on its mounts alone",
                  "enable Landlock (CONFIG_SECURITY_LANDLOCK, lsm=landlock on the kernel command line), use gVisor "
                  "(--trust-level untrusted), or accept the weaker sandbox with --allow-degraded-security");
    s.warnings.push_back(
        "--allow-degraded-security: Landlock is not available in this kernel: file access is limited by "
        "the read-only mounts alone");
  } else {
    const auto& l = s.landlock;
    for (auto& rule : detail::landlock_paths(fs, l)) s.rules.push_back({s.keep(std::move(rule.path)), rule.access});
    p.landlock_fd = l.ruleset.get();
    p.landlock_rules = s.rules.data();
    p.landlock_rule_count = s.rules.size();
    p.landlock_restrict_flags = l.restrict_flags;
    if (l.tcp) {
      for (const auto& r : net.tcp_ports)
        s.ports.push_back(
            {r.port, (r.bind ? detail::landlock_net_bind : 0) | (r.connect ? detail::landlock_net_connect : 0)});
      p.landlock_ports = s.ports.data();
      p.landlock_port_count = s.ports.size();
    }
    std::string writable;
    for (const auto& w : writable_paths(fs)) writable += " " + w;
    const std::string scoped = l.scoped ? "; abstract unix sockets and signals scoped to the sandbox" : "";
    if (config.policy)
      s.steps.push_back("Landlock ABI " + std::to_string(l.abi) +
                        ": each path of the policy with the access it grants, "
                        "nothing elsewhere; files may be made only in" +
                        writable + scoped);
    else
      s.steps.push_back("Landlock ABI " + std::to_string(l.abi) + ": read and execute everywhere, write only in" +
                        writable + scoped);
    if (!net.step.empty()) s.steps.push_back(net.step);
  }

  p.cap_last = detail::last_capability();
  std::string kept;
  for (const auto& name : config.cap_add) {
    int cap = capability_from_name(name);
    if (cap >= 64) throw Error(ErrorKind::usage, "--cap-add " + name + ": capability number out of range");
    p.cap_keep |= 1ULL << cap;
    kept += " " + name;
  }
  s.steps.push_back("capabilities: effective, permitted, inheritable, bounding and ambient sets emptied" +
                    (kept.empty() ? std::string() : ", except" + kept));
}

} // namespace

Isolation::Isolation(std::unique_ptr<State> state) : state_(std::move(state)) {}
Isolation::Isolation(Isolation&&) noexcept = default;
Isolation& Isolation::operator=(Isolation&&) noexcept = default;
Isolation::~Isolation() = default;

Backend Isolation::backend() const noexcept { return state_->backend; }
Isolation::PreExec Isolation::pre_exec() const noexcept { return &run_child_steps; }
const void* Isolation::context() const noexcept { return &state_->plan; }
const std::vector<std::string>& Isolation::argv() const noexcept { return state_->argv; }
bool Isolation::host_filter() const noexcept { return state_->backend == Backend::native; }
const std::vector<std::string>& Isolation::steps() const noexcept { return state_->steps; }
const std::vector<std::string>& Isolation::warnings() const noexcept { return state_->warnings; }
const std::vector<std::string>& Isolation::environment() const noexcept { return state_->env; }
const std::vector<int>& Isolation::pass_fds() const noexcept { return state_->pass_fds; }

std::string Isolation::exit_note(int wait_status) const {
  (void)wait_status;
  std::string note;
  if (state_->cgroups.oom_kills() > 0) {
    std::string limit = state_->cgroups.memory_limit() ? format_bytes(*state_->cgroups.memory_limit()) : "?";
    note = "out of memory: the kernel killed the workload at its memory limit (--memory " + limit + ")";
  }
  if (state_->cgroups.pids_limit_hits() > 0) {
    if (!note.empty()) note += "; ";
    const bool gvisor = state_->backend == Backend::gvisor;
    std::uint64_t limit = state_->cgroups.pids_limit().value_or(0);
    if (!gvisor && limit >= 2) limit -= 2; // the two supervising processes nucleus added
    note +=
        "pids limit " + std::to_string(limit) + " reached: " +
        (gvisor ? std::string("gVisor could not start another host thread and stopped the sandbox (under gVisor the "
                              "limit counts gVisor's own threads too); raise --pids, or --pids unlimited")
                : std::string("the workload tried to start more processes or threads than --pids allows"));
  }
  if (!note.empty() && state_->backend == Backend::gvisor) {
    // runsc's own death reads as exit 2: name it, so it is not taken for the workload's code.
    if (WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == 2) note += " (runsc exited 2)";
  }
  return note;
}

Isolation prepare(const IsolationConfig& config, const std::vector<std::string>& command) {
  if (command.empty()) throw Error(ErrorKind::usage, "no command given");
  if (config.require_lockdown) require_kernel_lockdown(*config.require_lockdown, config.lockdown_file);
  detail::TrustDecision trust = detail::decide_trust(config);
  const FsPlan fs = plan_filesystem(config, command);
  detail::require_reachable(config, fs.command, fs.cwd);

  auto s = std::make_unique<Isolation::State>();
  s->backend = trust.backend;
  s->warnings = trust.warnings;
  s->env = workload_environment(config, environ);
  for (int fd : config.pass_fds) {
    if (fd < 3 || ::fcntl(fd, F_GETFD) < 0)
      throw Error(ErrorKind::usage, "--pass-fd " + std::to_string(fd) + ": not an open descriptor above 2");
    if (trust.backend == Backend::gvisor)
      throw Error(ErrorKind::usage, "--pass-fd: gVisor passes only fds 0-2 to the workload",
                  "pass the data through a file with --ro, or use --trust-level trusted");
    s->pass_fds.push_back(fd);
  }
  s->rlimits.push_back({RLIMIT_CORE, 0, 0}); // no core dumps of the workload's memory by default
  for (const auto& l : config.rlimits) s->rlimits.push_back(l);

  const std::string name = unique_name();
  detail::CgroupLimits limits{config.memory_bytes, config.pids, config.cpus};
  if (trust.backend == Backend::native && limits.pids) *limits.pids += 2; // the outer process and pid 1
  if (config.pids && *config.pids == 0) throw Error(ErrorKind::usage, "--pids must be at least 1");
  if (config.cpus && *config.cpus <= 0) throw Error(ErrorKind::usage, "--cpus must be positive");
  s->cgroups = detail::Cgroups::create(limits, name);
  auto fds = s->cgroups.join_fds();
  for (std::size_t i = 0; i < fds.size() && i < 4; ++i) s->plan.cgroup_join_fds[i] = fds[i];
  s->plan.cgroup_fd_count = static_cast<int>(std::min<std::size_t>(fds.size(), 4));
  for (const auto& d : s->cgroups.described()) s->steps.push_back(d);

  s->warnings.insert(s->warnings.end(), fs.notes.begin(), fs.notes.end());
  if (trust.backend == Backend::gvisor) {
    const detail::NetworkEnforcement net = detail::decide_network(config, Backend::gvisor);
    s->warnings.insert(s->warnings.end(), net.warnings.begin(), net.warnings.end());
    if (!net.step.empty()) s->steps.push_back(net.step);
    s->plan.gvisor = true;
    auto run = detail::write_gvisor_bundle(config, fs, command, trust.runsc, name, s->env);
    s->bundle_dir = run.bundle_dir;
    s->argv = run.argv;
    s->runsc = trust.runsc;
    s->runsc_root = run.bundle_dir + "/state";
    s->container_id = name;
    s->steps.push_back("gVisor (" + trust.runsc +
                       "): the workload's system calls are served by gVisor's kernel; "
                       "OCI bundle " +
                       run.bundle_dir +
                       " with a read-only root, fresh /proc, tmpfs /tmp, no network, "
                       "no capabilities" +
                       (config.cap_add.empty() ? "" : " except --cap-add") +
                       (config.oci_seccomp_json.empty() ? "" : ", the seccomp profile enforced inside gVisor"));
  } else {
    plan_native(*s, config, fs);
    s->argv = command;
  }
  return Isolation(std::move(s));
}

std::uint64_t parse_size(std::string_view text) {
  std::uint64_t value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  std::string_view suffix(ptr, static_cast<std::size_t>(text.data() + text.size() - ptr));
  int shift = -1;
  if (ec == std::errc{} && ptr != text.data()) {
    if (suffix.empty() || suffix == "B" || suffix == "b") shift = 0;
    const char* units = "KMGT";
    for (int i = 0; i < 4; ++i) {
      char u = units[i];
      char l = static_cast<char>(u - 'A' + 'a');
      if (suffix == std::string{u} || suffix == std::string{l} || suffix == std::string{u} + "iB" ||
          suffix == std::string{u} + "B")
        shift = 10 * (i + 1);
    }
  }
  if (shift < 0 || value == 0 || (shift > 0 && value > (~0ULL >> shift)))
    throw Error(ErrorKind::usage,
                "'" + std::string(text) + "' is not a size: use bytes or a number with K, M, G or T (powers of 1024)");
  return value << shift;
}

} // namespace nucleus::sandbox
