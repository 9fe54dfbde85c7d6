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

} // namespace nucleus::tracer
