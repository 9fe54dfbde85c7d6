// The gVisor back end: an OCI bundle (config.json) describing the same sandbox as the native steps
// — read-only root, fresh /proc, tmpfs /tmp, the --ro/--rw/--tmpfs mounts, hostname, no network,
// no capabilities except --cap-add, rlimits, and the seccomp profile as linux.seccomp — run with
// `runsc run`. runsc builds its own namespaces; the seccomp profile is enforced by gVisor's kernel
// (--oci-seccomp), because a host filter would constrain runsc itself, not the workload.
#pragma once

#include "nucleus/sandbox/isolation.hpp"

#include <string>
#include <vector>

namespace nucleus::sandbox::detail {

struct GvisorRun {
  std::string bundle_dir;        // created here; the caller removes it
  std::vector<std::string> argv; // runsc ... run --bundle <dir> <id>
};

// Throws Error(invalid_input) if the seccomp profile is not JSON.
GvisorRun write_gvisor_bundle(const IsolationConfig& config, const std::vector<std::string>& command,
                              const std::string& runsc, const std::string& id,
                              const std::vector<std::string>& env);

} // namespace nucleus::sandbox::detail
