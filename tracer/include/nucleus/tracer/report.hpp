// Turning attributed records into what a user reads: one line per denial while it happens, and
// the tally of would-be denials that complain mode prints at exit.
#pragma once

#include "nucleus/core/action.hpp"
#include "nucleus/core/record.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <tuple>

namespace nucleus::tracer {

// The syscall's name for the record's architecture, or "syscall_<nr>" when libseccomp lacks it.
std::string syscall_display_name(const core::SeccompRecord& record);

// "denied socket (x86_64) in /usr/bin/curl [pid 812]: errno(EPERM); to allow it: nucleus-profile add app.json socket"
// The kernel's record carries the action but not its errno or trace value; `known`, the action the
// profile gives that syscall (core::action_for), fills it in when it agrees with the record.
std::string describe_denial(const core::SeccompRecord& record, const std::string& profile_path,
                            std::optional<core::Action> known = std::nullopt);

// "policy denied read of /home/u/.ssh/id_ed25519 (Landlock: fs.read_file) in /usr/bin/cat [pid 812];
//  to allow it: nucleus-profile add app.policy.json --path /home/u/.ssh/id_ed25519 --access read"
// and for a port "policy denied connect to 127.0.0.1:9 (Landlock: net.connect_tcp) ...; to allow it:
// nucleus-profile add app.policy.json --connect tcp:127.0.0.1:9". Rights no policy grants (scoped
// signals and abstract sockets, refer) are named without a way to allow them.
std::string describe_landlock_denial(const core::LandlockRecord& record, const core::SyscallRecord& process,
                                     const std::string& policy_path);

// Counts records by (arch, syscall name, exe).
class DenialTally {
public:
  void add(const core::SeccompRecord& record);
  bool empty() const noexcept { return counts_.empty(); }
  // One line per entry, most frequent first: "  socket (x86_64) by /usr/bin/curl: 3 time(s)".
  std::string render() const;
  const auto& counts() const noexcept { return counts_; }

private:
  std::map<std::tuple<std::string, std::string, std::string>, std::uint64_t> counts_;
};

} // namespace nucleus::tracer
