// The gVisor back end: an OCI bundle (config.json) describing the same sandbox as the native steps
// — the file system of the plan (fs_plan.hpp) as its root, mounts and working directory, hostname,
// no network, no capabilities except --cap-add, rlimits, and the seccomp profile as linux.seccomp —
// run with `runsc run`, whose stdio shield_stdio() prepares. runsc builds its own namespaces; the
// seccomp profile is enforced by gVisor's kernel (--oci-seccomp), because a host filter would
// constrain runsc itself, not the workload.
#pragma once

#include "nucleus/sandbox/fs_plan.hpp"
#include "nucleus/sandbox/isolation.hpp"

#include <string>
#include <vector>

namespace nucleus::sandbox::detail {

struct GvisorRun {
  std::string bundle_dir;        // created here; the caller removes it
  std::vector<std::string> argv; // runsc ... run --bundle <dir> <id>
};

// The bundle's root, mounts and process.cwd render `fs`. Throws Error before anything is written:
// invalid_input if the seccomp profile is not JSON, permission for an --rw directory that needs an
// idmapped mount (gVisor has none).
GvisorRun write_gvisor_bundle(const IsolationConfig& config, const FsPlan& fs, const std::vector<std::string>& command,
                              const std::string& runsc, const std::string& id, const std::vector<std::string>& env);

// In the child, between fork and the exec of runsc (async-signal-safe): runsc gets only pipes on
// fds 0-2; a file, device or terminal there is relayed through one. 0 or an errno.
int shield_stdio() noexcept;

} // namespace nucleus::sandbox::detail
