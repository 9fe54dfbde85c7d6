// Compiling a policy to a seccomp BPF program (in the parent, with libseccomp) and installing it
// (in the child, without allocating). Use: auto prog = compile(policy); ... fork ...;
// install_filter(prog) as the child's last step before execve.
#pragma once

#include "nucleus/core/policy.hpp"

#include <linux/filter.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace nucleus::sandbox {

struct CompileOptions {
  // Add SECCOMP_FILTER_FLAG_LOG even if the policy lacks it, so that denials reach the audit log.
  bool force_log_flag = false;
  // Replace every non-allow action of the profile by SCMP_ACT_LOG (complain mode). The mandatory
  // denials stay denials.
  bool complain = false;
  // The program will be installed with nobody listening on a notification fd, so SCMP_ACT_NOTIFY
  // is refused (it would block the workload forever). Off only for checking a profile meant for a
  // runtime with a notify agent (`nucleus-profile validate`, merge, edit).
  bool enforcement = true;
  // Leave io_uring out of the mandatory denials (--allow-io-uring). Its operations bypass seccomp,
  // so the other mandatory denials then hold only for the syscalls themselves.
  bool allow_io_uring = false;
};

class BpfProgram {
public:
  BpfProgram() = default;
  BpfProgram(std::vector<sock_filter> insns, unsigned flags) : insns_(std::move(insns)), flags_(flags) {}

  const std::vector<sock_filter>& instructions() const noexcept { return insns_; }
  std::size_t size() const noexcept { return insns_.size(); }
  unsigned flags() const noexcept { return flags_; } // SECCOMP_FILTER_FLAG_* for seccomp(2)
  // The raw program, as `bwrap --seccomp FD` and SECCOMP_SET_MODE_FILTER take it.
  std::string bytes() const;

private:
  std::vector<sock_filter> insns_;
  unsigned flags_ = 0;
};

struct CompileStats {
  std::size_t arches = 0;
  std::size_t rules = 0;        // libseccomp rules added (after expanding same-index conditions)
  std::size_t instructions = 0; // BPF instructions
};

// Denials every compiled filter carries whatever the profile says, on every ABI the machine can
// enter the kernel with: setting S_ISUID/S_ISGID (chmod family, and the mode of open, creat and
// mknod), openat2 (its mode cannot be inspected: ENOSYS makes callers fall back to openat), and
// ioctl TIOCSTI/TIOCLINUX (terminal input injection; the request compared on its low 32 bits), and
// io_uring_setup/enter/register unless allow_io_uring (the ring's operations reach the kernel
// without syscalls, so no filter could hold them to the rules above).
// They are compiled as a guard program that runs before the profile's, so no allow rule of the
// profile can take precedence over them. Also written into the OCI profile handed to gVisor.
std::vector<core::Rule> mandatory_denials(bool allow_io_uring = false);

// What a syscall from an architecture the profile does not list gets, whatever the default
// action: kill the process. A foreign-ABI call (int 0x80, x32 numbers) from a workload the
// profile was not made for is an attempt to reach syscalls by numbers the profile never
// considered; ERRNO(ENOSYS) would let it probe and carry on, a kill stops it and is always logged.
// In complain mode it is SCMP_ACT_LOG, like every other denial of the profile.
core::Action bad_arch_action(bool complain = false);

// Throws Error(invalid_input) naming the rule and syscall that libseccomp rejects.
BpfProgram compile(const core::Policy& policy, const CompileOptions& options = {}, CompileStats* stats = nullptr);

// Async-signal-safe: sets PR_SET_NO_NEW_PRIVS and installs the program. Returns 0 or -errno.
int install_filter(const BpfProgram& program) noexcept;

// Runs the program on one system call as the kernel would (classic BPF, the seccomp subset) and
// returns the SECCOMP_RET_* value. Used before fork to check that a filter lets execve through.
std::uint32_t evaluate(const BpfProgram& program, std::uint32_t arch, int nr, const std::uint64_t (&args)[6]) noexcept;

// Same-index conditions of one entry, rewritten as a union of single-condition alternatives:
// each inner vector holds at most one condition per argument index, and an argument value
// satisfies the original conjunction exactly when it satisfies one alternative. Empty result:
// the conditions can never all hold. Exposed for tests.
std::vector<std::vector<core::ArgCondition>> expand_conditions(const std::vector<core::ArgCondition>& conds);

} // namespace nucleus::sandbox
