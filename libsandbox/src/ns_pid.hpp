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

// pid 1: forks the workload; the parent reaps every process in the namespace until the workload
// exits, then ends the namespace with its status; the workload returns 0.
int fork_workload() noexcept;

} // namespace nucleus::sandbox::detail
