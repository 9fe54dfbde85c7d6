// Helpers for whole-tool tests: building profiles for the probe and reading its JSON lines.
#pragma once

#include "test_support.hpp"

#include <nlohmann/json.hpp>

#include <sys/ioctl.h>
#include <sys/types.h>

#include <filesystem>
#include <set>
#include <string>
#include <vector>

namespace nucleus::test {

// Docker's default profile, resolved for no capabilities, as an OCI JSON object.
nlohmann::json docker_default_resolved();

// The probe's JSON lines, one object per call.
std::vector<nlohmann::json> probe_lines(const std::string& out);

// Writes `profile` into `dir` and returns its path.
std::string write_profile(const TempDir& dir, const std::string& name, const nlohmann::json& profile);

// A trace log as nucleus-trace writes it: the header, the syscall lines in order, the summary.
struct TraceFile {
  nlohmann::json header;
  std::vector<nlohmann::json> syscalls;
  nlohmann::json summary;
};
TraceFile read_trace_file(const std::filesystem::path& path);

// The syscall names in `strace -f` output (one call a line, with or without a pid prefix).
std::set<std::string> strace_names(const std::string& text);

// Whether i386 syscalls through int 0x80 work on this machine at all (without any filter).
bool int80_works();

// Whether runsc (gVisor), which the default level needs, is installed where nucleus looks for it.
bool have_runsc();

// runc, for the tests that run real containers.
inline constexpr const char* runc_path = "/usr/sbin/runc";

// A runc bundle at `bundle`: a root file system holding `binaries` (each at /<file name>, with the
// shared libraries it loads), read-only, and `runc spec`'s config without a terminal, running
// `args`. Returns the config; write it with write_runc_config after changing it.
nlohmann::json make_runc_bundle(const std::filesystem::path& bundle, const std::vector<std::filesystem::path>& binaries,
                                const std::vector<std::string>& args);
void write_runc_config(const std::filesystem::path& bundle, const nlohmann::json& config);

// `runc run` of `bundle` as container `id`, its state below `bundle`/../state.
RunResult run_runc(const std::filesystem::path& bundle, const std::string& id);

// The caller's terminal, as a test pty: the command runs with its slave as stdin, stdout, stderr and
// controlling terminal, the way an interactive shell starts a command.
struct PtyOutcome {
  int exit_code = -1;
  std::string output;   // what reached the terminal's screen
  std::string injected; // what sits in the terminal's input queue afterwards: the shell would read it
  bool settings_restored = false;
  std::string device; // the terminal's device number, as the attack prints it
  pid_t pid = -1;     // nucleus's, which names its cgroups
};

PtyOutcome run_on_terminal(const std::vector<std::string>& argv, winsize size = {24, 80, 0, 0});

// What sits in a terminal's input queue, read from its own side (`slave`, held open all along) as
// the caller's shell would, without waiting for a line: keystrokes the workload injected land here.
// Leaves the terminal non-canonical and non-blocking.
std::string pending_input(int slave);

// A host daemon's listening Unix socket in a directory of its own under /run, removed again at the
// end: root-only (a 0700 directory), or open to every identity (a 0755 directory and a 0777
// socket), where only the sandbox's empty /run keeps it out of reach.
class HostSocket {
public:
  enum class Access { root_only, anyone };
  explicit HostSocket(Access access = Access::root_only);
  ~HostSocket();
  HostSocket(const HostSocket&) = delete;
  HostSocket& operator=(const HostSocket&) = delete;
  const std::string& path() const { return path_; }
  const std::string& dir() const { return dir_; }
  // Connections that arrived (accepted and closed here).
  int connections();

private:
  std::string dir_, path_;
  int fd_ = -1;
};

} // namespace nucleus::test
