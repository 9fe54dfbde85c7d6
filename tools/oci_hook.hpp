// nucleus-trace --oci-hook: recording a container that an existing engine (runc, crun, podman,
// CRI-O) runs, when the container asks for it with the annotation io.nucleus.trace=NAME.
//
// The runtime runs the prestart hook with the container's state (OCI runtime spec, "State") on
// standard input once the container's init exists and before it execs the container's process;
// the hook starts a recorder (a process of its own, which outlives the hook) on that init's tree,
// waiting for the exec, and returns once the recorder counts. The poststop hook waits for that
// recorder to have written the trace (it ends by itself when the container's init exits) and
// reports how it went: its summary, its errors, its exit code.
//
// A container's annotations are chosen by whoever creates the container, who need not be root on
// the host (a Kubernetes user creating a pod): the trace goes only below the directory the hook is
// configured with (--trace-dir, default /var/lib/nucleus/traces), never to a path the annotation
// picks elsewhere.
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>

namespace nucleus::cli::oci_hook {

inline constexpr std::string_view annotation = "io.nucleus.trace";
inline constexpr std::string_view default_trace_dir = "/var/lib/nucleus/traces";
inline constexpr std::string_view default_state_dir = "/run/nucleus/oci-hook";
// Containers recorded at a time; the next one that asks for a trace is refused (and so not
// started), since every recorder's program runs on every system call of the host.
inline constexpr std::size_t default_max_recorders = 4;

struct Options {
  std::string stage; // prestart or createRuntime: start recording; poststop: collect
  std::string trace_dir = std::string(default_trace_dir);
  std::string state_dir = std::string(default_state_dir);
  std::size_t max_recorders = default_max_recorders;
};

// What the recorder is asked to do: `pid`'s tree from its exec on, into `output`.
struct Recording {
  pid_t pid = 0;
  std::string output;
  std::string target; // the trace header's "target"
};

// Runs the hook for the state on standard input. `record` runs in the recorder process, calls
// `attached` once the container's calls count, and returns the recorder's exit code (0, or 125
// when it failed or lost records). Returns the hook's exit code; throws core::Error.
int run(const Options& options,
        const std::function<int(const Recording&, const std::function<void()>& attached)>& record);

} // namespace nucleus::cli::oci_hook
