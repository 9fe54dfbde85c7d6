#include "trust.hpp"

#include "nucleus/core/error.hpp"
#include "nucleus/core/io.hpp"
#include "nucleus/core/path_lookup.hpp"

#include <nettle/sha2.h>
#include <unistd.h>

#include <cstdlib>

namespace nucleus::sandbox {
using core::Error;
using core::ErrorKind;
using core::read_file;

const std::string_view untrusted_without_gvisor_message =
    "untrusted workloads run under gVisor, but runsc was not found on PATH";
const std::string_view untrusted_without_gvisor_hint =
    "install gVisor (Debian package runsc: apt-get install runsc); or accept weaker isolation with "
    "--allow-degraded-security; or, if you trust this workload, pass --trust-level trusted";

namespace detail {

std::optional<std::string> find_runsc(const std::string& search_path) {
  core::CommandLookup found = core::lookup_command("runsc", search_path);
  if (!found.found()) return std::nullopt;
  return found.path.string();
}

TrustDecision decide_trust(const IsolationConfig& config) {
  TrustDecision d;
  const bool env_set = config.degraded_env_set.value_or(std::getenv("NUCLEUS_ALLOW_DEGRADED_SECURITY") != nullptr);
  if (env_set && !config.allow_degraded_security)
    d.warnings.push_back("NUCLEUS_ALLOW_DEGRADED_SECURITY is set but ignored: weaker isolation must be asked for "
                         "on the command line with --allow-degraded-security");

  if (config.network == NetworkMode::host) {
    if (config.trust == TrustLevel::untrusted)
      throw Error(ErrorKind::usage, "untrusted workloads never get the host network (--network host)",
                  "use --network none, or, if you trust this workload, --trust-level trusted --network host "
                  "--allow-host-network");
    if (!config.allow_host_network)
      throw Error(ErrorKind::usage,
                  "--network host shares the host's network with the workload and needs --allow-host-network",
                  "add --allow-host-network if that is what you want, or use --network none");
    d.warnings.push_back("--network host: the workload shares the host's network: it can reach every service the "
                         "host can, including those listening only on 127.0.0.1, and can listen on host ports");
  }

  if (config.host_root) {
    if (config.trust == TrustLevel::untrusted)
      throw Error(ErrorKind::usage, "--host-root is refused for untrusted work: the workload would act as host root",
                  "leave out --host-root: the workload then runs as the unprivileged host uid " +
                      std::to_string(config.host_uid) + "; or, if you trust it, --trust-level trusted --host-root");
    if (::geteuid() == 0)
      d.warnings.push_back("--host-root: the workload's uid 0 is host root: it can read every root-only file it can "
                           "see, host daemons see uid 0, and what it creates is root-owned");
  } else if (config.host_uid == 0 || config.host_gid == 0) {
    throw Error(ErrorKind::usage, "--host-id 0 would make the workload host root",
                "use an unprivileged uid:gid, or --host-root (trusted only) if that is really meant");
  }
  if (config.trust == TrustLevel::trusted) return d;
  const std::string path = config.search_path.value_or(core::search_path());
  if (auto runsc = find_runsc(path)) {
    d.backend = Backend::gvisor;
    d.runsc = *runsc;
    return d;
  }
  if (!config.allow_degraded_security) {
    // The warnings are never printed when this throws: say here that the variable changed nothing.
    std::string hint(untrusted_without_gvisor_hint);
    if (env_set) hint = d.warnings.front() + "; " + hint;
    throw Error(ErrorKind::usage, std::string(untrusted_without_gvisor_message), hint);
  }
  d.warnings.push_back("--allow-degraded-security: running an untrusted workload without gVisor; it shares the host "
                       "kernel, contained only by namespaces, Landlock, cgroups and seccomp");
  return d;
}

} // namespace detail

LockdownMode parse_lockdown(std::string_view content) {
  std::optional<LockdownMode> active;
  int bracketed = 0;
  std::size_t i = 0;
  while (i < content.size()) {
    while (i < content.size() && (content[i] == ' ' || content[i] == '\n' || content[i] == '\t')) ++i;
    std::size_t start = i;
    while (i < content.size() && content[i] != ' ' && content[i] != '\n' && content[i] != '\t') ++i;
    std::string_view word = content.substr(start, i - start);
    if (word.empty()) continue;
    bool on = word.size() > 2 && word.front() == '[' && word.back() == ']';
    std::string_view name = on ? word.substr(1, word.size() - 2) : word;
    std::optional<LockdownMode> mode;
    if (name == "none") mode = LockdownMode::none;
    if (name == "integrity") mode = LockdownMode::integrity;
    if (name == "confidentiality") mode = LockdownMode::confidentiality;
    if (!mode) throw Error(ErrorKind::invalid_input, "kernel lockdown: unknown mode '" + std::string(word) + "'");
    if (on) {
      ++bracketed;
      active = mode;
    }
  }
  if (bracketed != 1 || !active)
    throw Error(ErrorKind::invalid_input,
                "kernel lockdown: cannot tell the active mode from '" +
                    std::string(content.substr(0, content.find('\n'))) +
                    "' (expected one bracketed mode, like 'none [integrity] confidentiality')");
  return *active;
}

bool lockdown_satisfies(LockdownMode active, LockdownMode required) noexcept {
  return static_cast<int>(active) >= static_cast<int>(required);
}

std::string_view lockdown_name(LockdownMode mode) noexcept {
  switch (mode) {
  case LockdownMode::none: return "none";
  case LockdownMode::integrity: return "integrity";
  case LockdownMode::confidentiality: return "confidentiality";
  }
  return "?";
}

void require_kernel_lockdown(LockdownMode required, const std::string& file) {
  std::string content;
  try {
    content = read_file(file);
  } catch (const Error& e) {
    throw Error(ErrorKind::unsupported,
                "--require-kernel-lockdown " + std::string(lockdown_name(required)) +
                    ": cannot read the kernel's lockdown state: " + e.what(),
                "the kernel needs the lockdown LSM (CONFIG_SECURITY_LOCKDOWN_LSM, listed in lsm=) and securityfs "
                "mounted on /sys/kernel/security; without that, lockdown cannot be verified",
                e.sys_errno());
  }
  LockdownMode active = parse_lockdown(content);
  if (!lockdown_satisfies(active, required))
    throw Error(ErrorKind::permission,
                "--require-kernel-lockdown " + std::string(lockdown_name(required)) +
                    ": the kernel is in lockdown mode '" + std::string(lockdown_name(active)) + "'",
                "boot with lockdown=" + std::string(lockdown_name(required)) + " or raise it: echo " +
                    std::string(lockdown_name(required)) + " > " + file + " (it can only go up)");
}

std::string sha256_hex(std::string_view content) {
  sha256_ctx ctx;
  sha256_init(&ctx);
  sha256_update(&ctx, content.size(), reinterpret_cast<const std::uint8_t*>(content.data()));
  std::uint8_t digest[SHA256_DIGEST_SIZE];
  sha256_digest(&ctx, sizeof digest, digest);
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < sizeof digest; ++i) {
    out.push_back(hex[digest[i] >> 4]);
    out.push_back(hex[digest[i] & 0xf]);
  }
  return out;
}

void verify_sha256(std::string_view content, std::string_view expected_hex, std::string_view what) {
  std::string expected;
  for (char c : expected_hex) expected.push_back(static_cast<char>(c >= 'A' && c <= 'F' ? c - 'A' + 'a' : c));
  if (expected.size() != 64 || expected.find_first_not_of("0123456789abcdef") != std::string::npos)
    throw Error(ErrorKind::usage, "--profile-sha256 " + std::string(expected_hex) + ": expected 64 hexadecimal digits");
  std::string actual = sha256_hex(content);
  if (actual != expected)
    throw Error(ErrorKind::permission,
                std::string(what) + ": SHA-256 is " + actual + ", not the pinned " + expected + ": refusing to use it",
                "the file changed since it was pinned; review it, then pin the new hash");
}

} // namespace nucleus::sandbox
