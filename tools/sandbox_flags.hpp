// The isolation and trust flags nucleus-run and nucleus-trace share: add_sandbox_flags() puts them
// on a CLI11 app, prepare_sandbox() turns the parsed values into sandbox::IsolationConfig (the one
// schema), runs sandbox::prepare() and prints its warnings. Every default is the safe choice.
#pragma once

#include "nucleus/sandbox/isolation.hpp"

#include <CLI/CLI.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace nucleus::cli {

struct SandboxFlags {
  std::string trust_level = "untrusted";
  bool allow_degraded_security = false;
  std::string network = "none";
  bool allow_host_network = false;
  std::string require_lockdown;
  std::string rootfs;
  std::vector<std::string> ro, rw, tmpfs;
  std::string hostname = "nucleus";
  bool host_root = false;
  std::string host_id = "65534:65534";
  std::vector<std::string> cap_add;
  std::vector<std::string> rlimits;
  std::string memory; // empty: the default (sandbox::default_memory_bytes); "unlimited"
  std::string pids;   // empty: the default (sandbox::default_pids); "unlimited"
  std::vector<int> pass_fds;
  std::vector<std::string> env;
  std::vector<std::string> env_files;
  double cpus = 0;
  bool allow_io_uring = false;
  bool show = false;
  std::string policy; // the files and network policy to enforce (nucleus-run --policy)
  bool accept_unenforced_network = false;
};

void add_sandbox_flags(CLI::App& app, SandboxFlags& flags);
// --policy and --accept-unenforced-network (nucleus-run: enforcement only).
void add_policy_flags(CLI::App& app, SandboxFlags& flags);

// Throws core::Error(usage) for values CLI11 could not check.
sandbox::IsolationConfig to_isolation_config(const SandboxFlags& flags, sandbox::RunMode mode);

// to_isolation_config + sandbox::prepare; prints the warnings (and, with --show-sandbox, the steps).
sandbox::Isolation prepare_sandbox(std::string_view tool, const SandboxFlags& flags, sandbox::RunMode mode,
                                   const std::vector<std::string>& command, std::string oci_seccomp_json = {});

} // namespace nucleus::cli
