#include "sandbox_flags.hpp"

#include "cli.hpp"

#include "nucleus/core/error.hpp"
#include "nucleus/core/io.hpp"

#include <charconv>
#include <iostream>

namespace nucleus::cli {
namespace {

sandbox::BindMount parse_bind(const std::string& text) {
  auto colon = text.find(':');
  if (colon == std::string::npos) return {text, {}};
  return {text.substr(0, colon), text.substr(colon + 1)};
}

} // namespace

void add_sandbox_flags(CLI::App& app, SandboxFlags& f) {
  const std::string group = "Isolation and trust";
  app.add_option("--trust-level", f.trust_level,
                 "untrusted (default): run under gVisor (runsc), refuse if it is missing; trusted: the host "
                 "kernel, contained by namespaces, Landlock, cgroups, capability dropping and seccomp")
      ->check(CLI::IsMember({"trusted", "untrusted"}))
      ->capture_default_str()
      ->group(group);
  app.add_flag("--allow-degraded-security", f.allow_degraded_security,
               "run untrusted work without gVisor when runsc is missing, or trusted work on a kernel without "
               "Landlock or mount_setattr, with a warning (the NUCLEUS_ALLOW_DEGRADED_SECURITY variable alone "
               "is ignored)")
      ->group(group);
  app.add_option("--network", f.network,
                 "none (default): own network namespace with only loopback; host: the host's network "
                 "(trusted only, needs --allow-host-network)")
      ->check(CLI::IsMember({"none", "host"}))
      ->capture_default_str()
      ->group(group);
  app.add_flag("--allow-host-network", f.allow_host_network,
               "confirm --network host: the workload can reach every service the host can, 127.0.0.1 included")
      ->group(group);
  app.add_option("--require-kernel-lockdown", f.require_lockdown,
                 "refuse to run unless the kernel is locked down at least this far "
                 "(integrity, or confidentiality which implies it), as /sys/kernel/security/lockdown shows")
      ->check(CLI::IsMember({"integrity", "confidentiality"}))
      ->group(group);
  app.add_option("--rootfs", f.rootfs, "directory to use, read-only, as / (default: the host's root, read-only)")
      ->group(group);
  app.add_option("--ro", f.ro, "bind SRC[:DST] read-only (repeatable)")->allow_extra_args(false)->group(group);
  app.add_option("--rw", f.rw, "bind SRC[:DST] writable: the only host paths the workload can write (repeatable)")
      ->allow_extra_args(false)
      ->group(group);
  app.add_option("--tmpfs", f.tmpfs, "mount an empty writable tmpfs on DIR (repeatable; /tmp always is one)")
      ->allow_extra_args(false)
      ->group(group);
  app.add_option("--hostname", f.hostname, "hostname inside the sandbox")->capture_default_str()->group(group);
  app.add_option("--host-id", f.host_id,
                 "UID:GID the workload's uid and gid (0 inside its user namespace) are on the host when nucleus runs "
                 "as root; default 65534:65534 (nobody:nogroup); a dedicated unused uid isolates it from other "
                 "nobody processes")
      ->capture_default_str()
      ->group(group);
  app.add_flag("--host-root", f.host_root,
               "run the workload as host root (uid 0 mapped to itself), as before; refused for untrusted work: it can "
               "then read root-only files, is uid 0 to host daemons and creates root-owned files")
      ->group(group);
  app.add_option("--cap-add", f.cap_add,
                 "keep this capability, e.g. CAP_NET_BIND_SERVICE (repeatable); all others are dropped")
      ->allow_extra_args(false)
      ->group(group);
  app.add_option("--rlimit", f.rlimits,
                 "resource limit NAME=SOFT[:HARD], e.g. nofile=1024 (repeatable; core=0 by default)")
      ->allow_extra_args(false)
      ->group(group);
  app.add_option(
         "--memory", f.memory,
         "memory limit (cgroup), e.g. 512M, or unlimited; default 4G; exceeding it kills the workload (reported)")
      ->group(group);
  app.add_option("--pids", f.pids,
                 "maximum number of processes and threads (cgroup), or unlimited; default 1024; a fork refused "
                 "at the limit is reported at exit")
      ->group(group);
  app.add_option("--pass-fd", f.pass_fds,
                 "let descriptor N (above 2) reach the workload (repeatable); every other one but 0-2 is closed, "
                 "e.g. --pass-fd 3 3<input.db (trusted level only)")
      ->allow_extra_args(false)
      ->group(group);
  app.add_option(
         "--env", f.env,
         "set NAME=VALUE in the workload's environment, or copy the caller's NAME (repeatable); besides these "
         "it gets only PATH, LANG, LC_*, TERM and TZ from the caller, and HOME=/tmp (the sandbox's own empty /tmp; "
         "--env HOME keeps the caller's, --env HOME=DIR chooses), e.g. --env CI=1 --env GITHUB_TOKEN")
      ->allow_extra_args(false)
      ->group(group);
  app.add_option("--env-file", f.env_files,
                 "add the NAME=VALUE lines of FILE to the environment (# comments; repeatable)")
      ->allow_extra_args(false)
      ->group(group);
  app.add_option("--cpus", f.cpus, "CPU time limit in CPUs, e.g. 0.5 (cgroup)")->group(group);
  app.add_flag("--allow-io-uring", f.allow_io_uring,
               "let the workload use io_uring (io_uring_setup, io_uring_enter, io_uring_register are refused with "
               "EPERM otherwise). The ring's operations (open, read, write, connect, ...) reach the kernel without "
               "a syscall, so neither the profile nor nucleus's own denials (set-uid and set-gid modes) hold for "
               "them, and a trace does not show them")
      ->group(group);
  app.add_flag("--show-sandbox", f.show, "print every isolation step on stderr before starting")->group(group);
}

void add_policy_flags(CLI::App& app, SandboxFlags& f) {
  const std::string group = "Files and network policy";
  app.add_option("--policy", f.policy,
                 "enforce this files and network policy (nucleus-policy JSON, from nucleus-profile gen --policy): only "
                 "its paths are visible, with the access it grants; TCP connect and bind only on its ports (trusted "
                 "level, Landlock); under gVisor only its paths are mounted, read-only where it says so")
      ->group(group);
  app.add_flag("--accept-unenforced-network", f.accept_unenforced_network,
               "run although the policy has network rules this level cannot enforce (under gVisor: every port rule, "
               "since its loopback is its own; natively: UDP rules, and addresses with --network host), with a "
               "warning naming them")
      ->needs("--policy")
      ->group(group);
}

sandbox::IsolationConfig to_isolation_config(const SandboxFlags& f, sandbox::RunMode mode) {
  sandbox::IsolationConfig c;
  c.mode = mode;
  c.trust = f.trust_level == "trusted" ? sandbox::TrustLevel::trusted : sandbox::TrustLevel::untrusted;
  c.allow_degraded_security = f.allow_degraded_security;
  c.network = f.network == "host" ? sandbox::NetworkMode::host : sandbox::NetworkMode::none;
  c.allow_host_network = f.allow_host_network;
  if (f.require_lockdown == "integrity") c.require_lockdown = sandbox::LockdownMode::integrity;
  if (f.require_lockdown == "confidentiality") c.require_lockdown = sandbox::LockdownMode::confidentiality;
  c.rootfs = f.rootfs;
  for (const auto& m : f.ro) c.ro.push_back(parse_bind(m));
  for (const auto& m : f.rw) c.rw.push_back(parse_bind(m));
  c.tmpfs = f.tmpfs;
  c.hostname = f.hostname;
  c.cap_add = f.cap_add;
  c.host_root = f.host_root;
  {
    auto colon = f.host_id.find(':');
    auto number = [&](std::string_view t) {
      std::uint32_t v = 0;
      auto [ptr, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
      if (ec != std::errc{} || ptr != t.data() + t.size() || t.empty() || v == 0xffffffffu)
        throw core::Error(core::ErrorKind::usage, "--host-id " + f.host_id + ": expected UID:GID, e.g. 65534:65534");
      return v;
    };
    std::string_view text = f.host_id;
    c.host_uid = number(text.substr(0, colon));
    c.host_gid = colon == std::string::npos ? c.host_uid : number(text.substr(colon + 1));
  }
  for (const auto& r : f.rlimits) c.rlimits.push_back(sandbox::parse_rlimit(r));
  if (f.memory == "unlimited") c.memory_bytes.reset();
  else if (!f.memory.empty()) c.memory_bytes = sandbox::parse_size(f.memory);
  if (f.pids == "unlimited") {
    c.pids.reset();
  } else if (!f.pids.empty()) {
    std::uint64_t n = 0;
    auto [ptr, ec] = std::from_chars(f.pids.data(), f.pids.data() + f.pids.size(), n);
    if (ec != std::errc{} || ptr != f.pids.data() + f.pids.size() || n == 0)
      throw core::Error(core::ErrorKind::usage, "--pids " + f.pids + ": expected a positive number or unlimited");
    c.pids = n;
  }
  c.pass_fds = f.pass_fds;
  c.env = f.env;
  c.env_files = f.env_files;
  if (f.cpus > 0) c.cpus = f.cpus;
  c.allow_io_uring = f.allow_io_uring;
  if (!f.policy.empty()) {
    c.policy = core::read_access_policy(core::read_file(f.policy), f.policy);
    c.policy_source = f.policy;
  }
  c.accept_unenforced_network = f.accept_unenforced_network;
  return c;
}

sandbox::Isolation prepare_sandbox(std::string_view tool, const SandboxFlags& flags, sandbox::RunMode mode,
                                   const std::vector<std::string>& command, std::string oci_seccomp_json) {
  auto config = to_isolation_config(flags, mode);
  config.oci_seccomp_json = std::move(oci_seccomp_json);
  auto isolation = sandbox::prepare(config, command);
  for (const auto& w : isolation.warnings()) warn(tool, w);
  if (flags.allow_io_uring)
    warn(tool, "--allow-io-uring: the workload's io_uring operations bypass seccomp: the profile and the set-id "
               "guard hold only for its syscalls, and traces do not show what the ring did");
  if (flags.show)
    for (const auto& s : isolation.steps()) std::cerr << tool << ": sandbox: " << s << "\n";
  return isolation;
}

} // namespace nucleus::cli
