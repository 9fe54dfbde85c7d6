// Compiling a policy to a seccomp BPF program (in the parent, with libseccomp) and installing it
// (in the child, without allocating). Use: auto prog = compile(policy); ... fork ...;
// install_filter(prog) as the child's last step before execve.
#pragma once

#include "nucleus/sandbox/policy.hpp"

#include <linux/filter.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace nucleus::sandbox {

struct CompileOptions {
  // Add SECCOMP_FILTER_FLAG_LOG even if the policy lacks it, so that denials reach the audit log.
  bool force_log_flag = false;
  // Replace every non-allow action by SCMP_ACT_LOG (complain mode).
  bool complain = false;
};

class BpfProgram {
public:
  BpfProgram() = default;
  BpfProgram(std::vector<sock_filter> insns, unsigned flags)
      : insns_(std::move(insns)), flags_(flags) {}

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

// Throws Error(invalid_input) naming the rule and syscall that libseccomp rejects.
BpfProgram compile(const Policy& policy, const CompileOptions& options = {},
                   CompileStats* stats = nullptr);

// Async-signal-safe: sets PR_SET_NO_NEW_PRIVS and installs the program. Returns 0 or -errno.
int install_filter(const BpfProgram& program) noexcept;

// Runs the program on one system call as the kernel would (classic BPF, the seccomp subset) and
// returns the SECCOMP_RET_* value. Used before fork to check that a filter lets execve through.
std::uint32_t evaluate(const BpfProgram& program, std::uint32_t arch, int nr, const std::uint64_t (&args)[6]) noexcept;

// Same-index conditions of one entry, rewritten as a union of single-condition alternatives:
// each inner vector holds at most one condition per argument index, and an argument value
// satisfies the original conjunction exactly when it satisfies one alternative. Empty result:
// the conditions can never all hold. Exposed for tests.
std::vector<std::vector<ArgCondition>> expand_conditions(const std::vector<ArgCondition>& conds);

} // namespace nucleus::sandbox
