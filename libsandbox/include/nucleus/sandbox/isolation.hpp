// Isolation and trust: the sandbox around the workload, shared by trace mode and strict mode.
// Use: fill an IsolationConfig (tools/sandbox_flags.cpp does it from the command line), call
// prepare() in the parent — it checks the trust guards, decides the file system once (fs_plan.hpp),
// creates cgroups, the Landlock ruleset and the mount steps — then hand pre_exec()/context() to SpawnSpec and run
// argv() instead of the command; after the child has exited, exit_note() says whether a limit killed it.
//
// Steps in the child, in this order (after the audit session, before the seccomp filter):
//   1. cgroup attach      join the limits' cgroups (before the cgroup namespace hides them)
//   2. namespaces         user (uid/gid map of the caller's own ids), mount, pid, uts, ipc, net, cgroup
//   3. hostname, loopback
//   4. pid 1              fork: the first child is pid 1 of the new pid namespace and reaps orphans;
//                         the outer process only forwards signals and passes the exit code on
//   5. mounts             private propagation, then the file-system plan's entries (read-only root,
//                         fresh /proc, minimal /dev, tmpfs /tmp and /run, --tmpfs, --ro, --rw), pivot_root
//   6. workload fork      pid 1 forks the workload process, which goes on with:
//   7. rlimits
//   8. Landlock           the plan's access per entry: read-only everywhere except the writable mounts;
//                         with a policy, only its paths with its access, and TCP only on its ports
//   9. capabilities       bounding, ambient, effective, permitted, inheritable all emptied except --cap-add
//  (10. spawn installs the seccomp filter and execs)
// Under gVisor (untrusted work) only step 1 runs here: runsc builds its own sandbox from an OCI
// bundle written by prepare() from the same file-system plan, which also carries the seccomp profile.
#pragma once

#include "nucleus/core/access_policy.hpp"

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nucleus::sandbox {

enum class TrustLevel { trusted, untrusted };
enum class NetworkMode { none, host };
enum class LockdownMode { none, integrity, confidentiality };
enum class RunMode { strict, trace }; // under gVisor, trace mode reads gVisor's own record

struct BindMount {
  std::string source;      // host path
  std::string destination; // path inside the sandbox; the same as source unless given
};

struct ResourceLimit {
  int resource = 0;       // RLIMIT_*
  std::uint64_t soft = 0; // RLIM_INFINITY for unlimited
  std::uint64_t hard = 0;
};

// The limits a workload gets when none is asked for: enough for builds and test suites, small
// enough that a fork bomb or a runaway allocation stays inside. nullopt in the config: unlimited.
inline constexpr std::uint64_t default_pids = 1024;
inline constexpr std::uint64_t default_memory_bytes = 4ULL << 30;

// One schema for every way of asking for isolation. The defaults are the safe choice.
struct IsolationConfig {
  RunMode mode = RunMode::strict;
  TrustLevel trust = TrustLevel::untrusted;
  bool allow_degraded_security = false; // untrusted work without gVisor
  NetworkMode network = NetworkMode::none;
  bool allow_host_network = false;
  std::optional<LockdownMode> require_lockdown;

  std::string rootfs;             // empty: a read-only view of the host root
  std::vector<BindMount> ro;      // extra read-only binds
  std::vector<BindMount> rw;      // writable binds
  std::vector<std::string> tmpfs; // extra empty writable tmpfs mounts (destinations)
  std::string hostname = "nucleus";

  // The files and network policy (--policy): only its paths are visible, with the access it
  // grants (fs_plan.hpp); natively Landlock also limits TCP connect and bind to its ports. A
  // port rule that the back end cannot enforce (UDP, gVisor's own loopback) is refused unless
  // accept_unenforced_network; an older Landlock ABI than the policy needs, unless
  // allow_degraded_security.
  std::optional<core::AccessPolicy> policy;
  std::string policy_source; // its file, for messages
  bool accept_unenforced_network = false;

  // The host identity the workload's uid and gid (0 inside its user namespace) map to when nucleus
  // runs as root: never host root unless host_root (trusted work only). Files the workload creates
  // are owned by it; --rw directories owned by someone else are idmapped mounts (their owner is
  // the workload's uid inside, and what it creates there is owned by that owner on the host).
  // nucleus started by an ordinary user maps that user's own ids instead.
  std::uint32_t host_uid = 65534; // nobody
  std::uint32_t host_gid = 65534; // nogroup
  bool host_root = false;

  std::vector<std::string> cap_add;   // capability names, e.g. "CAP_NET_BIND_SERVICE"
  std::vector<ResourceLimit> rlimits; // applied on top of the defaults (core dumps off)

  std::optional<std::uint64_t> memory_bytes = default_memory_bytes; // nullopt: unlimited
  std::optional<std::uint64_t> pids = default_pids;                 // nullopt: unlimited
  std::optional<double> cpus;

  // What reaches the workload of the caller's process: fds 0-2 plus pass_fds, and the environment
  // allowlist (PATH, HOME, LANG, LC_*, TERM, TZ) plus env_files (NAME=VALUE lines) and env
  // ("NAME=VALUE", or "NAME" for the caller's value), later entries winning.
  std::vector<int> pass_fds;
  std::vector<std::string> env;
  std::vector<std::string> env_files;

  // The OCI seccomp profile (JSON text) to enforce; only used under gVisor, where the host filter
  // cannot reach the workload. Natively the caller passes the compiled filter to spawn itself.
  std::string oci_seccomp_json;
  // io_uring left out of the mandatory denials there (CompileOptions::allow_io_uring natively).
  bool allow_io_uring = false;

  // Where the trust guards look: PATH for runsc, and the process environment. Tests override them.
  std::optional<std::string> search_path; // default: $PATH
  std::optional<bool> degraded_env_set;   // default: the real environment
  std::string lockdown_file = "/sys/kernel/security/lockdown";
};

// How the workload will actually be contained.
enum class Backend {
  native, // namespaces, Landlock, cgroups, rlimits, capabilities on the host kernel
  gvisor, // runsc: the workload's syscalls go to gVisor's user-space kernel
};

class Isolation {
public:
  Isolation(Isolation&&) noexcept;
  Isolation& operator=(Isolation&&) noexcept;
  ~Isolation(); // removes cgroups, the staging directory and the OCI bundle

  Backend backend() const noexcept;
  // For SpawnSpec::pre_exec / pre_exec_context (async-signal-safe).
  using PreExec = int (*)(const void*) noexcept;
  PreExec pre_exec() const noexcept;
  const void* context() const noexcept;
  // The command line to spawn: the workload itself, or runsc running it under gVisor.
  const std::vector<std::string>& argv() const noexcept;
  // Whether the seccomp filter may be installed by spawn (false under gVisor: it would filter
  // runsc, not the workload; the profile travels in the OCI bundle instead).
  bool host_filter() const noexcept;
  // What will be done, one line each (for --verbose).
  const std::vector<std::string>& steps() const noexcept;
  // The workload's environment and the descriptors it keeps besides 0-2 (for SpawnSpec).
  const std::vector<std::string>& environment() const noexcept;
  const std::vector<int>& pass_fds() const noexcept;
  // Things the user should know (degraded security, host network, ...).
  const std::vector<std::string>& warnings() const noexcept;
  // After the child exited: why a limit killed it ("out of memory: ..."), or empty.
  std::string exit_note(int wait_status) const;

  struct State; // opaque: defined in isolation.cpp

private:
  explicit Isolation(std::unique_ptr<State> state);
  friend Isolation prepare(const IsolationConfig& config, const std::vector<std::string>& command);
  std::unique_ptr<State> state_;
};

// Checks the trust guards and the kernel, and prepares everything the child needs. Throws Error
// (usage for refused combinations, unsupported for missing kernel features) before anything runs.
Isolation prepare(const IsolationConfig& config, const std::vector<std::string>& command);

// The message prepare() refuses untrusted work with when runsc is missing (exact, for tests).
extern const std::string_view untrusted_without_gvisor_message;
extern const std::string_view untrusted_without_gvisor_hint;

// Kernel lockdown. The file reads like "none [integrity] confidentiality": the bracketed word is
// active. Throws Error(invalid_input) when no single mode is bracketed.
LockdownMode parse_lockdown(std::string_view content);
bool lockdown_satisfies(LockdownMode active, LockdownMode required) noexcept;
// Throws Error: unsupported when the file cannot be read, permission when the mode is too weak.
void require_kernel_lockdown(LockdownMode required, const std::string& file = "/sys/kernel/security/lockdown");
std::string_view lockdown_name(LockdownMode mode) noexcept;

// Profile pinning: SHA-256 (Nettle) of `content` as lowercase hex, and the check
// that throws Error(permission) naming `what` when it differs from `expected_hex`.
std::string sha256_hex(std::string_view content);
void verify_sha256(std::string_view content, std::string_view expected_hex, std::string_view what);

// The workload's environment for `config` from the caller's `caller_env` (see IsolationConfig::env).
// Throws Error(usage / not_found) for a malformed --env or --env-file.
std::vector<std::string> workload_environment(const IsolationConfig& config, char** caller_env);
// The names copied from the caller without being asked for (HOME is not one of them).
bool environment_allowlisted(std::string_view name) noexcept;
// The workload's HOME unless --env HOME or --env HOME=DIR: the sandbox's own empty /tmp.
inline constexpr std::string_view workload_home = "/tmp";

// Parses "64M", "1G", "1048576" (bytes; K/M/G/T are powers of 1024). Throws Error(usage).
std::uint64_t parse_size(std::string_view text);
// Parses "core=0", "nofile=1024:4096" for --rlimit. Throws Error(usage).
ResourceLimit parse_rlimit(std::string_view text);
// Resolves "CAP_NET_RAW" or "net_raw" to its number with libcap. Throws Error(usage).
int capability_from_name(std::string_view name);

} // namespace nucleus::sandbox
