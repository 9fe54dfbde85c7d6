// Whether the workload's identity can reach the command and the directory it starts in. When
// nucleus runs as root the workload runs as another uid (65534 by default), for which root's own
// folders (/root, mode 0700) are closed. Checked before anything starts, so the refusal is one
// message naming the folder, not a failed exec or a gVisor sandbox that never started.
#pragma once

#include "nucleus/sandbox/isolation.hpp"

#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace nucleus::sandbox::detail {

// The first directory on the way to `path` (its ancestors) that uid:gid may not pass, or, when
// it may, `path` itself if it lacks `last_bits` (4 read, 1 search/execute; 0 checks only the way)
// for uid:gid; nullopt when everything may be passed. Owner, group, then other bits, as the
// kernel checks them (ACLs aside). A directory that cannot be stat'ed is not judged here.
struct Blocked {
  std::filesystem::path where;
  unsigned mode = 0;
  uid_t owner = 0;
};
std::optional<Blocked> blocked_for(const std::filesystem::path& path, uid_t uid, gid_t gid, unsigned last_bits);

// Throws Error(permission) when nucleus runs as root for another identity (not --host-root, not
// --rootfs) and that identity cannot execute `exe` (the command's resolved path; empty when not
// found, and a file nobody may execute, are left to the exec) or enter `cwd`, the directory the
// workload starts in.
void require_reachable(const IsolationConfig& config, const std::filesystem::path& exe,
                       const std::filesystem::path& cwd);

} // namespace nucleus::sandbox::detail
