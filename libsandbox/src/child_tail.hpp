// The end of a start, for isolation steps that start the workload as a process of their own. Such
// a process shares its parent's memory until it execs (vfork semantics) and runs on a stack of
// its own, so it cannot return from pre_exec into spawn's frames as the child normally does:
// it ends with finish_start() (the gate, the filter, the execve) or fail_start(). Both report to
// the parent through spawn's pipe, exactly as a pre_exec that returned would have.
#pragma once

namespace nucleus::sandbox::detail {

// Only in a process spawn() started, after its pre_exec began. Async-signal-safe.
[[noreturn]] void finish_start() noexcept;
[[noreturn]] void fail_start(int err) noexcept; // as if pre_exec had returned err

} // namespace nucleus::sandbox::detail
