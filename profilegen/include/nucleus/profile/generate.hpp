// Generating the minimal profile from what was traced: the union of trace logs (or of selected
// raw audit records), one allow group per architecture, the always-allowed set, a default action
// that denies visibly. Use: auto t = read_inputs(files, selector); auto p = generate_profile(t, opts).
#pragma once

#include "nucleus/core/policy.hpp"
#include "nucleus/core/trace_log.hpp"

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nucleus::profile {

// Syscalls every generated profile allows: the exec that follows the filter, and the ways out.
inline constexpr std::string_view always_allowed[] = {"execve", "exit", "exit_group", "rt_sigreturn",
                                                      "restart_syscall"};

// What an OCI runtime's init may call between installing a container's filter and the exec, on
// any run, whether or not the traced run did: runc's Go runtime wakes and parks its threads,
// yields, preempts them with a signal and returns memory there. Allowed for traces of containers
// (header "container", the OCI hook's), so that a profile from one run starts the next.
inline constexpr std::string_view container_runtime_allowance[] = {
    "futex",          "nanosleep",   "sched_yield", "getpid", "gettid",     "tgkill",
    "rt_sigprocmask", "sigaltstack", "madvise",     "munmap", "epoll_pwait"};

// Bounds on argument conditions (the README's "Argument conditions"): an argument traced with more
// distinct values than max_condition_values is not checked, and a syscall whose entries (one per
// combination of its arguments' values) would number more than max_condition_entries has its
// argument with the most values unchecked, until they do not. gen notes each, and the rules'
// comments say it.
inline constexpr std::size_t max_condition_values = 16;
inline constexpr std::size_t max_condition_entries = 64;

struct GenerateOptions {
  core::Action default_action = core::Action::errno_ret(1); // EPERM
  bool log_denials = true;                                  // SECCOMP_FILTER_FLAG_LOG
  // io_uring's operations (open, read, connect, ...) run in the kernel without passing the seccomp
  // filter, so allowing io_uring_setup lets the program do what the rest of the profile denies.
  // Left out unless asked for, even when traced.
  bool allow_io_uring = false;
  // Condition the argument-sensitive syscalls (args.hpp) on the values the traces carry; false:
  // names only (--no-args).
  bool arguments = true;
  // With argument conditions, clone3 returns ENOSYS (its flags are in memory, out of a filter's
  // reach, and the C library then falls back to clone); true allows it by name (--allow-clone3).
  bool allow_clone3 = false;
  // For traces of containers, allow container_runtime_allowance too; false: only what was traced
  // (--no-runtime-allowance).
  bool runtime_allowance = true;
};

struct GenerateResult {
  core::Policy policy;
  // What a person should know about the rules, each said once: traces without argument values,
  // arguments with more distinct values than the recorder kept, clone3's ENOSYS.
  std::vector<std::string> notes;
  // The traced syscalls the profile leaves out on purpose (io_uring, unless allowed).
  std::vector<std::string> left_out;
};

// The syscalls that make an io_uring instance and submit to it.
inline constexpr std::string_view io_uring_syscalls[] = {"io_uring_setup", "io_uring_enter", "io_uring_register"};

// Chooses records from raw audit text, which holds every process's records.
struct RecordSelector {
  std::optional<pid_t> pid;
  std::optional<std::string> exe;
  std::optional<std::uint32_t> ses;
  bool empty() const noexcept { return !pid && !exe && !ses; }
};

// Builds a trace from raw audit text (audit.log, dmesg, kmsg or journalctl output). Throws
// Error(usage) without a selector, Error(invalid_input) when nothing matches.
core::Trace trace_from_audit_text(std::string_view text, const RecordSelector& selector, std::string_view source_name);

// Reads each input: a nucleus trace log, or raw audit text with the selector.
std::vector<core::Trace> read_inputs(const std::vector<std::filesystem::path>& inputs, const RecordSelector& selector);

// The minimal policy allowing everything the traces recorded. Throws Error(invalid_input) for a
// syscall that libseccomp cannot name on its architecture (a corrupt trace).
// `left_out`, when given, receives the traced syscalls the profile leaves out on purpose (io_uring).
core::Policy generate_profile(const std::vector<core::Trace>& traces, const GenerateOptions& options = {},
                              std::vector<std::string>* left_out = nullptr);
// The same, with the notes; `sources` names the traces in them (parallel to `traces`, may be empty).
// Values of the same syscall's argument are unioned over all traces.
GenerateResult generate(const std::vector<core::Trace>& traces, const GenerateOptions& options = {},
                        const std::vector<std::string>& sources = {});

} // namespace nucleus::profile
