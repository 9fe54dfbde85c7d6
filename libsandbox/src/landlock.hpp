// Landlock: the file-system view the mounts give, enforced a second time by the kernel's LSM, so
// that a way around one (a writable mount we forgot, a bind we did not foresee) is still stopped.
// The rules follow from the access of the plan's entries (fs_plan.hpp): today everything is
// readable and executable, the devices writable, and only the writable mounts (/tmp, --rw,
// --tmpfs, /dev/shm, /run) take new files. The parent asks the kernel for its best ABI and creates
// the ruleset with every right that ABI knows; the child adds the rules for paths of the new root
// and restricts itself.
#pragma once

#include "child_plan.hpp"
#include "nucleus/sandbox/fs_plan.hpp"
#include "nucleus/core/fd.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace nucleus::sandbox::detail {

struct LandlockSetup {
  int abi = 0; // 0: Landlock unavailable
  core::UniqueFd ruleset;
  bool tcp = false;                 // TCP bind and connect handled: only the ports of net rules (ABI 4)
  std::uint32_t restrict_flags = 0; // landlock_restrict_self: log denials after execve too (ABI 7)
  std::uint64_t all_access = 0;     // every handled file-system right
  std::uint64_t read_access = 0;
  std::uint64_t file_access = 0; // the rights that apply to a non-directory
  bool scoped = false;           // abstract unix sockets and signals scoped to the sandbox (ABI 6)
};

// Parent: throws Error(kernel) only if the kernel offers Landlock and still refuses the ruleset.
// `tcp`: also handle TCP bind and connect (where the ABI has them), so that only the ports of
// the net rules are allowed.
LandlockSetup create_landlock_ruleset(bool tcp = false);

inline constexpr std::uint64_t landlock_net_bind = 1ULL << 0;    // LANDLOCK_ACCESS_NET_BIND_TCP
inline constexpr std::uint64_t landlock_net_connect = 1ULL << 1; // LANDLOCK_ACCESS_NET_CONNECT_TCP

// The newest ABI the kernel offers, 0 without Landlock.
int landlock_abi() noexcept;
// What a full files and network policy needs and `abi` lacks, as words for a message ("truncate
// (ABI 3)", ...); empty when it can be enforced in full.
std::vector<std::string> landlock_policy_gaps(int abi, bool tcp_rules);

// Parent: the rights of one entry's access under this ABI (a file gets only the rights of files).
std::uint64_t landlock_rights(FsAccess access, bool directory, const LandlockSetup& setup) noexcept;

// Parent: one rule for the root and one for every mounted entry whose access differs from it.
struct LandlockPath {
  std::string path; // inside the sandbox
  std::uint64_t access = 0;
};
std::vector<LandlockPath> landlock_paths(const FsPlan& fs, const LandlockSetup& setup);

// Child: adds plan.landlock_rules and restricts the process (sets no_new_privs). 0 or an errno.
int apply_landlock(const ChildPlan& plan) noexcept;

} // namespace nucleus::sandbox::detail
