// The pid namespace's two helpers. unshare(CLONE_NEWPID) only moves the caller's future children
// into the new namespace, so the process chain is:
//   outer (in the host pid namespace) -> init (pid 1, reaps orphans) -> workload (execs)
// The outer process and init never return: they forward signals down and pass the workload's exit
// status up (death by signal N as exit code 128+N, because pid 1 cannot kill itself with a signal).
#pragma once

namespace nucleus::sandbox::detail {

// Outer process: forks; the parent forwards signals and exits with the child's status; the child
// (pid 1 of the new namespace) returns 0. Returns an errno if fork fails.
int fork_namespace_init() noexcept;

// pid 1: starts the workload, which runs `body(arg)` and must end in finish_start() (or
// fail_start(); a non-zero return is reported as a failed step); pid 1 then reaps every process
// in the namespace until the workload exits, and ends the namespace with its status. Returns an
// errno only if the workload could not be started.
//
// The workload shares pid 1's memory until its execve (vfork semantics, on a stack of its own):
// a fork would copy nucleus's whole address space only for the workload to throw it away at the
// execve, and every page either side wrote meanwhile would cost a copy-on-write fault. So `body`
// must write nothing but its own stack, and call only async-signal-safe functions.
int start_workload(int (*body)(const void*) noexcept, const void* arg) noexcept;

} // namespace nucleus::sandbox::detail
