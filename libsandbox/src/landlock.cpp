#include "landlock.hpp"

#include "nucleus/core/error.hpp"

#include <fcntl.h>
#include <linux/landlock.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

namespace nucleus::sandbox::detail {
using core::throw_errno;
namespace {

// The kernel ABI as of version 6; older system headers lack the newer fields and bits.
struct RulesetAttr {
  std::uint64_t handled_access_fs;
  std::uint64_t handled_access_net;
  std::uint64_t scoped;
};
constexpr std::uint64_t fs_refer = 1ULL << 13;                  // ABI 2
constexpr std::uint64_t fs_truncate = 1ULL << 14;               // ABI 3
constexpr std::uint64_t fs_ioctl_dev = 1ULL << 15;              // ABI 5
constexpr std::uint64_t scope_abstract_unix_socket = 1ULL << 0; // ABI 6
constexpr std::uint64_t scope_signal = 1ULL << 1;               // ABI 6
constexpr std::uint32_t create_ruleset_version = 1U << 0;
constexpr std::uint64_t net_bind_tcp = 1ULL << 0;           // ABI 4
constexpr std::uint64_t net_connect_tcp = 1ULL << 1;        // ABI 4
constexpr std::uint32_t restrict_log_new_exec_on = 1U << 1; // ABI 7
constexpr int rule_net_port = 2;                            // LANDLOCK_RULE_NET_PORT

struct NetPortAttr {
  std::uint64_t allowed_access;
  std::uint64_t port;
};

} // namespace

int landlock_abi() noexcept {
  long abi = ::syscall(SYS_landlock_create_ruleset, nullptr, 0, create_ruleset_version);
  return abi < 0 ? 0 : static_cast<int>(abi);
}

std::vector<std::string> landlock_policy_gaps(int abi, bool tcp_rules) {
  std::vector<std::string> gaps;
  if (abi < 1) return {"Landlock itself"};
  if (abi < 2) gaps.emplace_back("refer: moving files between directories (ABI 2, Linux 5.19)");
  if (abi < 3) gaps.emplace_back("truncate (ABI 3, Linux 6.2)");
  if (abi < 4 && tcp_rules) gaps.emplace_back("TCP ports for connect and bind (ABI 4, Linux 6.7)");
  if (abi < 5) gaps.emplace_back("ioctl on devices (ABI 5, Linux 6.10)");
  return gaps;
}

LandlockSetup create_landlock_ruleset(bool tcp) {
  LandlockSetup s;
  s.abi = landlock_abi();
  if (s.abi < 1) return s;
  constexpr std::uint64_t abi1 = (1ULL << 13) - 1; // EXECUTE .. MAKE_SYM
  s.all_access = abi1;
  if (s.abi >= 2) s.all_access |= fs_refer;
  if (s.abi >= 3) s.all_access |= fs_truncate;
  if (s.abi >= 5) s.all_access |= fs_ioctl_dev;
  s.read_access = LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR;
  s.file_access = LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_READ_FILE |
                  (s.all_access & (fs_truncate | fs_ioctl_dev));
  RulesetAttr attr{s.all_access, 0, 0};
  std::size_t size = sizeof(std::uint64_t); // ABI 1-3 know only the fs field
  if (tcp && s.abi >= 4) {
    attr.handled_access_net = net_bind_tcp | net_connect_tcp;
    size = 2 * sizeof(std::uint64_t);
    s.tcp = true;
  }
  if (s.abi >= 7) s.restrict_flags = restrict_log_new_exec_on; // else the workload's denials go unlogged
  if (s.abi >= 6) {
    attr.scoped = scope_abstract_unix_socket | scope_signal;
    size = sizeof attr;
    s.scoped = true;
  }
  long fd = ::syscall(SYS_landlock_create_ruleset, &attr, size, 0);
  if (fd < 0) throw_errno("cannot create a Landlock ruleset (ABI " + std::to_string(s.abi) + ")");
  s.ruleset.reset(static_cast<int>(fd));
  return s;
}

std::uint64_t landlock_rights(FsAccess access, bool directory, const LandlockSetup& setup) noexcept {
  std::uint64_t r = 0;
  if (has(access, FsAccess::read)) r |= LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR;
  if (has(access, FsAccess::list)) r |= LANDLOCK_ACCESS_FS_READ_DIR; // names, never a file's bytes
  if (has(access, FsAccess::execute)) r |= LANDLOCK_ACCESS_FS_EXECUTE;
  if (has(access, FsAccess::write)) r |= LANDLOCK_ACCESS_FS_WRITE_FILE | fs_truncate | fs_ioctl_dev;
  if (has(access, FsAccess::create))
    r |= LANDLOCK_ACCESS_FS_MAKE_CHAR | LANDLOCK_ACCESS_FS_MAKE_DIR | LANDLOCK_ACCESS_FS_MAKE_REG |
         LANDLOCK_ACCESS_FS_MAKE_SOCK | LANDLOCK_ACCESS_FS_MAKE_FIFO | LANDLOCK_ACCESS_FS_MAKE_BLOCK |
         LANDLOCK_ACCESS_FS_MAKE_SYM | fs_refer;
  if (has(access, FsAccess::remove)) r |= LANDLOCK_ACCESS_FS_REMOVE_DIR | LANDLOCK_ACCESS_FS_REMOVE_FILE;
  r &= setup.all_access;                  // the rights this ABI knows
  if (!directory) r &= setup.file_access; // the kernel refuses directory rights on a file
  return r;
}

std::vector<LandlockPath> landlock_paths(const FsPlan& fs, const LandlockSetup& setup) {
  std::vector<LandlockPath> out;
  const FsEntry& root = fs.root();
  // No rule where nothing is allowed (a policy's root, a tmpfs it does not grant): the kernel
  // refuses an empty rule, and the ruleset denies there already.
  if (std::uint64_t r = landlock_rights(root.access, true, setup); r != 0) out.push_back({root.path, r});
  for (const FsEntry& e : fs.entries) {
    // A directory without a mount of its own is covered by the mount it was made in.
    if (&e == &root || e.kind == FsKind::directory || e.access == root.access) continue;
    if (std::uint64_t r = landlock_rights(e.access, e.directory, setup); r != 0) out.push_back({e.path, r});
  }
  return out;
}

int apply_landlock(const ChildPlan& plan) noexcept {
  if (plan.landlock_fd < 0) return 0;
  for (std::size_t i = 0; i < plan.landlock_rule_count; ++i) {
    const LandlockRule& rule = plan.landlock_rules[i];
    int fd = ::open(rule.path, O_PATH | O_CLOEXEC);
    if (fd < 0) return errno;
    landlock_path_beneath_attr beneath{};
    beneath.allowed_access = rule.access;
    beneath.parent_fd = fd;
    long rc = ::syscall(SYS_landlock_add_rule, plan.landlock_fd, LANDLOCK_RULE_PATH_BENEATH, &beneath, 0);
    int err = errno;
    ::close(fd);
    if (rc != 0) return err;
  }
  for (std::size_t i = 0; i < plan.landlock_port_count; ++i) {
    NetPortAttr port{plan.landlock_ports[i].access, plan.landlock_ports[i].port};
    if (::syscall(SYS_landlock_add_rule, plan.landlock_fd, rule_net_port, &port, 0) != 0) return errno;
  }
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return errno;
  if (::syscall(SYS_landlock_restrict_self, plan.landlock_fd, plan.landlock_restrict_flags) != 0) return errno;
  ::close(plan.landlock_fd);
  return 0;
}

} // namespace nucleus::sandbox::detail
