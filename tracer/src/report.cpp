// Denial lines and tallies.
#include "nucleus/tracer/report.hpp"

#include "nucleus/core/syscalls.hpp"
#include "nucleus/core/text.hpp"

#include <algorithm>
#include <vector>

namespace nucleus::tracer {
using core::SeccompRecord;

std::string syscall_display_name(const SeccompRecord& record) {
  if (auto name = core::syscall_name(record.arch, record.syscall)) return *name;
  return "syscall_" + std::to_string(record.syscall);
}

// The kernel logs the action without its data (seccomp_log gets ret & SECCOMP_RET_ACTION_FULL), so
// the errno or trace value is not in the record: say only what is known.
std::string action_of(const SeccompRecord& record, const std::optional<core::Action>& known) {
  if (known && known->kind == record.action().kind) return core::to_string(*known);
  return std::string(core::action_short_name(record.action().kind));
}

namespace {

// The executable's path and comm are the workload's to choose: shown escaped.
std::string executable_of(const SeccompRecord& record) {
  return core::printable(record.exe.empty() ? record.comm : record.exe);
}

} // namespace

std::string describe_denial(const SeccompRecord& record, const std::string& profile_path,
                            std::optional<core::Action> known) {
  std::string name = syscall_display_name(record);
  std::string line = "denied " + name + " (" + std::string(core::arch_name(record.arch)) + ") in " +
                     executable_of(record) + " [pid " + std::to_string(record.pid) + "]: " + action_of(record, known);
  if (!profile_path.empty()) line += "; to allow it: nucleus-profile add " + core::printable(profile_path) + " " + name;
  return line;
}

void DenialTally::add(const SeccompRecord& record) {
  ++counts_[{std::string(core::arch_name(record.arch)), syscall_display_name(record), executable_of(record)}];
}

std::string DenialTally::render() const {
  std::vector<std::pair<std::uint64_t, const std::tuple<std::string, std::string, std::string>*>> rows;
  for (const auto& [key, count] : counts_) rows.emplace_back(count, &key);
  std::stable_sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  std::string out;
  for (const auto& [count, key] : rows) {
    const auto& [arch, name, exe] = *key;
    out += "  " + name + " (" + arch + ") by " + exe + ": " + std::to_string(count) + " time(s)\n";
  }
  return out;
}

namespace {

// The policy's word for one of Landlock's rights, or empty when no policy grants it.
std::string_view policy_word(std::string_view blocker) {
  if (blocker == "fs.read_file" || blocker == "fs.read_dir") return "read";
  if (blocker == "fs.write_file" || blocker == "fs.truncate" || blocker == "fs.ioctl_dev") return "write";
  if (blocker == "fs.execute") return "execute";
  if (blocker == "fs.remove_file" || blocker == "fs.remove_dir") return "remove";
  if (blocker.starts_with("fs.make_")) return "create";
  if (blocker == "net.connect_tcp") return "connect";
  if (blocker == "net.bind_tcp") return "bind";
  return {};
}

} // namespace

std::string describe_landlock_denial(const core::LandlockRecord& record, const core::SyscallRecord& process,
                                     const std::string& policy_path) {
  std::vector<std::string> words;
  std::string_view blockers = record.blockers;
  bool grantable = true;
  while (!blockers.empty()) {
    auto comma = blockers.find(',');
    std::string_view b = blockers.substr(0, comma);
    blockers.remove_prefix(comma == std::string_view::npos ? blockers.size() : comma + 1);
    std::string_view w = policy_word(b);
    if (w.empty()) grantable = false;
    else if (std::find(words.begin(), words.end(), w) == words.end()) words.emplace_back(w);
  }
  const bool net = record.blockers.starts_with("net.");
  std::string address = record.address.find(':') != std::string::npos ? "[" + record.address + "]" : record.address;
  std::string endpoint = (address.empty() ? std::string("port ") : address + ":") + std::to_string(record.port);
  std::string what;
  for (const auto& w : words) what += (what.empty() ? "" : ",") + w;
  std::string line = "policy denied " + (what.empty() ? std::string("access") : what) +
                     (net ? (words == std::vector<std::string>{"bind"} ? " on " : " to ") + endpoint
                          : " of " + (record.path.empty() ? std::string("a path") : record.path)) +
                     " (Landlock: " + record.blockers + ") in " + (process.exe.empty() ? "?" : process.exe) + " [pid " +
                     std::to_string(process.pid) + "]";
  if (!grantable || words.empty()) return line + "; no policy rule allows this";
  if (net) {
    std::string flag = words.front() == "bind" ? " --bind tcp:" : " --connect tcp:";
    return line + "; to allow it: nucleus-profile add " + policy_path + flag +
           (words.front() == "bind" || address.empty() ? "" : address + ":") + std::to_string(record.port);
  }
  if (record.path.empty()) return line;
  return line + "; to allow it: nucleus-profile add " + policy_path + " --path " + record.path + " --access " + what;
}

} // namespace nucleus::tracer
