// Comparing two profiles (what a new release of a tool gained or lost), and a profile with a trace
// (what the traced run made that the profile would deny). Use: auto d = diff_profiles(a, b);
// d.same(); format_diff_text(d, "a.json", "b.json"). Or: auto t = diff_trace(policy, traces).
#pragma once

#include "nucleus/profile/effective.hpp"
#include "nucleus/core/policy.hpp"
#include "nucleus/core/trace_log.hpp"

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nucleus::profile {

struct NameChanges {
  std::vector<std::string> added;   // permitted in B, denied in A ("?" suffix: only under conditions)
  std::vector<std::string> removed; // permitted in A, denied in B
};

struct TreatmentChange {
  std::string name;
  std::vector<std::string> before; // describe_rule() of each entry; "default: ..." when none names it
  std::vector<std::string> after;
};

struct ProfileDiff {
  std::optional<std::pair<std::string, std::string>> default_action; // before, after
  std::vector<std::string> arches_added, arches_removed;
  std::vector<std::string> flags_added, flags_removed;
  std::map<std::string, NameChanges> by_arch; // arch name -> changes (only arches with changes)
  std::vector<TreatmentChange> changed;       // actions, errno values, argument conditions
  bool same() const noexcept;
};

ProfileDiff diff_profiles(const core::Policy& a, const core::Policy& b);
std::string format_diff_text(const ProfileDiff& d, std::string_view a_name, std::string_view b_name);
std::string diff_to_json(const ProfileDiff& d, std::string_view a_name, std::string_view b_name);

// A traced call the profile would not simply allow.
struct TraceDenial {
  std::string arch;
  std::string name;
  std::uint64_t count = 0;
  std::string exe;
  Access access = Access::denied;  // denied, or conditional (denied unless the arguments match)
  std::string why;                 // "default action errno(EPERM)", "architecture x86 is not listed"
  std::vector<std::string> values; // traced argument values the conditions deny: "socket:AF_INET6"
};

struct TraceDiff {
  std::vector<TraceDenial> denials; // sorted by arch, name, exe
  std::uint64_t traced_distinct = 0;
  bool same() const noexcept { return denials.empty(); }
};

TraceDiff diff_trace(const core::Policy& policy, const std::vector<core::Trace>& traces);
std::string format_trace_diff_text(const TraceDiff& d, std::string_view profile_name, std::string_view trace_names);
std::string trace_diff_to_json(const TraceDiff& d, std::string_view profile_name, std::string_view trace_names);

} // namespace nucleus::profile
