// A process that creates a user namespace holds every capability inside it, and may write a map
// of its own uid and gid without privileges in the parent namespace; so this works as root and
// unprivileged alike. setgroups must be denied before an unprivileged gid map is accepted.
#include "ns_user.hpp"

#include "child_util.hpp"

#include <sched.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

namespace nucleus::sandbox::detail {

std::string own_id_map(unsigned id) { return std::to_string(id) + " " + std::to_string(id) + " 1\n"; }

std::string root_to_id_map(unsigned host_id) { return "0 " + std::to_string(host_id) + " 1\n"; }

int enter_namespaces(const ChildPlan& plan) noexcept {
  if (plan.unshare_flags == 0) return 0;
  if (plan.switch_identity) {
    // Host root gives up its identity before the user namespace exists, so that uid 0 inside maps
    // to the unprivileged host_uid and the namespace is owned by it. Raw syscalls: no libc setxid
    // broadcast machinery between fork and exec.
    if (::syscall(SYS_setgroups, 0, nullptr) != 0) return errno;
    if (::syscall(SYS_setresgid, plan.host_gid, plan.host_gid, plan.host_gid) != 0) return errno;
    if (::syscall(SYS_setresuid, plan.host_uid, plan.host_uid, plan.host_uid) != 0) return errno;
    // A uid change makes the process non-dumpable, which makes /proc/self root-owned: the maps
    // below could not be written.
    if (::prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) != 0) return errno;
  }
  if (::unshare(plan.unshare_flags) != 0) return errno;
  if ((plan.unshare_flags & CLONE_NEWUSER) != 0) {
    if (int err = write_text_file("/proc/self/setgroups", "deny"); err != 0 && err != ENOENT) return err;
    if (int err = write_text_file("/proc/self/uid_map", plan.uid_map); err != 0) return err;
    if (int err = write_text_file("/proc/self/gid_map", plan.gid_map); err != 0) return err;
  }
  if ((plan.unshare_flags & CLONE_NEWUTS) != 0 && plan.hostname != nullptr) {
    if (::sethostname(plan.hostname, plan.hostname_len) != 0) return errno;
  }
  return 0;
}

} // namespace nucleus::sandbox::detail
