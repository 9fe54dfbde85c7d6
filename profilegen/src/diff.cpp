// Profile-to-profile and profile-to-trace differences, computed on what the filters do per
// architecture rather than on how the JSON happens to group names.
#include "nucleus/profile/diff.hpp"

#include "nucleus/profile/args.hpp"

#include "nucleus/core/syscalls.hpp"
#include "nucleus/core/text.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <set>
#include <sstream>

namespace nucleus::profile {
namespace {

using core::Policy;

std::vector<std::string> treatment(const Policy& p, const std::string& name) {
  std::vector<std::string> out;
  for (const auto* r : rules_for(p, name)) out.push_back(describe_rule_symbolic(name, r->action, r->args));
  if (out.empty()) out.push_back("default: " + describe_rule(p.default_action, {}));
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::set<std::string> permitted_set(const ArchAccess& v) {
  std::set<std::string> s(v.allowed.begin(), v.allowed.end());
  for (const auto& n : v.conditional) s.insert(n + "?");
  return s;
}

std::string strip_mark(const std::string& n) { return n.ends_with("?") ? n.substr(0, n.size() - 1) : n; }

template <class T, class F>
void set_diff(const std::vector<T>& a, const std::vector<T>& b, F name, std::vector<std::string>& added,
              std::vector<std::string>& removed) {
  for (const auto& x : b)
    if (std::find(a.begin(), a.end(), x) == a.end()) added.emplace_back(name(x));
  for (const auto& x : a)
    if (std::find(b.begin(), b.end(), x) == b.end()) removed.emplace_back(name(x));
}

} // namespace

bool ProfileDiff::same() const noexcept {
  return !default_action && arches_added.empty() && arches_removed.empty() && flags_added.empty() &&
         flags_removed.empty() && by_arch.empty() && changed.empty();
}

ProfileDiff diff_profiles(const Policy& a, const Policy& b) {
  ProfileDiff d;
  if (a.default_action != b.default_action)
    d.default_action = {describe_rule(a.default_action, {}), describe_rule(b.default_action, {})};
  auto aa = a.effective_arches();
  auto ba = b.effective_arches();
  set_diff(
      aa, ba, [](core::Arch x) { return std::string(core::arch_name(x)); }, d.arches_added, d.arches_removed);
  set_diff(
      a.flags, b.flags, [](core::FilterFlag f) { return std::string(core::filter_flag_oci_name(f)); }, d.flags_added,
      d.flags_removed);

  std::vector<core::Arch> all = aa;
  for (auto x : ba)
    if (std::find(all.begin(), all.end(), x) == all.end()) all.push_back(x);
  std::set<std::string> plain_moves; // names whose whole story is "added" or "removed"
  for (auto arch : all) {
    auto before = permitted_set(arch_access(a, arch));
    auto after = permitted_set(arch_access(b, arch));
    NameChanges c;
    std::set<std::string> before_plain, after_plain;
    for (const auto& n : before) before_plain.insert(strip_mark(n));
    for (const auto& n : after) after_plain.insert(strip_mark(n));
    for (const auto& n : after)
      if (before_plain.count(strip_mark(n)) == 0) c.added.push_back(n);
    for (const auto& n : before)
      if (after_plain.count(strip_mark(n)) == 0) c.removed.push_back(n);
    for (const auto* list : {&c.added, &c.removed})
      for (const auto& n : *list) plain_moves.insert(strip_mark(n));
    if (!c.added.empty() || !c.removed.empty()) d.by_arch[std::string(core::arch_name(arch))] = std::move(c);
  }
  // Entries whose treatment changed beyond a plain add or remove: actions, errno values, conditions.
  std::set<std::string> named;
  for (const auto* p : {&a, &b})
    for (const auto& r : p->rules) named.insert(r.names.begin(), r.names.end());
  for (const auto& name : named) {
    auto tb = treatment(a, name);
    auto ta = treatment(b, name);
    if (tb == ta) continue;
    bool plain_a = tb.size() == 1 && (tb[0] == "allow" || tb[0].starts_with("default: "));
    bool plain_b = ta.size() == 1 && (ta[0] == "allow" || ta[0].starts_with("default: "));
    if (plain_moves.count(name) != 0 && plain_a && plain_b) continue;
    // Moving between an explicit entry and the same default action changes nothing.
    if (tb.size() == 1 && ta.size() == 1 && (tb[0] == "default: " + ta[0] || ta[0] == "default: " + tb[0])) continue;
    if (!plain_moves.count(name) && plain_a && plain_b && access_of(a, name) == access_of(b, name)) continue;
    d.changed.push_back({name, tb, ta});
  }
  return d;
}

std::string format_diff_text(const ProfileDiff& d, std::string_view a_name, std::string_view b_name) {
  using core::printable; // names come from the profiles: one escaped line each (text.hpp)
  std::ostringstream out;
  out << "--- " << printable(a_name) << "\n+++ " << printable(b_name) << "\n";
  if (d.same()) {
    out << "no difference in what the profiles allow\n";
    return out.str();
  }
  if (d.default_action)
    out << "default action: " << d.default_action->first << " -> " << d.default_action->second << "\n";
  auto list = [&](const char* what, const std::vector<std::string>& added, const std::vector<std::string>& removed) {
    if (added.empty() && removed.empty()) return;
    out << what << ":";
    for (const auto& x : added) out << " +" << printable(x);
    for (const auto& x : removed) out << " -" << printable(x);
    out << "\n";
  };
  list("architectures", d.arches_added, d.arches_removed);
  list("flags", d.flags_added, d.flags_removed);
  for (const auto& [arch, c] : d.by_arch) {
    out << arch << ": " << c.added.size() << " added, " << c.removed.size() << " removed\n";
    for (const auto& n : c.added) out << "  + " << printable(n) << "\n";
    for (const auto& n : c.removed) out << "  - " << printable(n) << "\n";
  }
  if (!d.changed.empty()) out << "changed:\n";
  for (const auto& c : d.changed) {
    auto join = [](const std::vector<std::string>& v) {
      std::string s;
      for (const auto& x : v) s += (s.empty() ? "" : "; ") + x;
      return s;
    };
    out << "  ~ " << printable(c.name) << ": " << printable(join(c.before)) << " -> " << printable(join(c.after))
        << "\n";
  }
  bool marks = false;
  for (const auto& [arch, c] : d.by_arch)
    for (const auto* l : {&c.added, &c.removed})
      for (const auto& n : *l) marks = marks || n.ends_with("?");
  if (marks) out << "(? = only under argument conditions)\n";
  return out.str();
}

std::string diff_to_json(const ProfileDiff& d, std::string_view a_name, std::string_view b_name) {
  nlohmann::ordered_json j;
  j["from"] = a_name;
  j["to"] = b_name;
  j["same"] = d.same();
  j["defaultAction"] = d.default_action
                           ? nlohmann::ordered_json{{"from", d.default_action->first}, {"to", d.default_action->second}}
                           : nlohmann::ordered_json();
  j["architectures"] = {{"added", d.arches_added}, {"removed", d.arches_removed}};
  j["flags"] = {{"added", d.flags_added}, {"removed", d.flags_removed}};
  auto& sys = j["syscalls"] = nlohmann::ordered_json::object();
  for (const auto& [arch, c] : d.by_arch) sys[arch] = {{"added", c.added}, {"removed", c.removed}};
  auto& changed = j["changed"] = nlohmann::ordered_json::array();
  for (const auto& c : d.changed) changed.push_back({{"name", c.name}, {"from", c.before}, {"to", c.after}});
  return j.dump(2, ' ', true, nlohmann::ordered_json::error_handler_t::replace) + "\n"; // ASCII: safe on a terminal
}

TraceDiff diff_trace(const Policy& policy, const std::vector<core::Trace>& traces) {
  TraceDiff d;
  auto arches = policy.effective_arches();
  std::map<std::tuple<std::string, std::string, std::string>, TraceDenial> found;
  std::set<std::pair<core::Arch, std::string>> distinct;
  for (const auto& t : traces) {
    for (const auto& s : t.syscalls) {
      // The number is what ran; the name in the file is for people.
      auto resolved = core::syscall_name(s.arch, s.nr);
      std::string name = resolved ? *resolved : s.name;
      distinct.insert({s.arch, name});
      std::string arch(core::arch_name(s.arch));
      TraceDenial den{arch, name, s.count, s.exe, Access::denied, {}, {}};
      if (std::find(arches.begin(), arches.end(), s.arch) == arches.end()) {
        den.why = "architecture " + arch + " is not listed (its calls are killed)";
      } else {
        auto rules = rules_for(policy, name);
        den.access = access_of(policy, name);
        if (den.access == Access::allowed) continue;
        if (den.access == Access::conditional) {
          // With the traced values, the conditions can be checked here; without, only at run time.
          std::string allowed = describe_allowed(policy, name);
          bool unknown = s.args.empty();
          for (const auto& av : s.args) {
            unknown = unknown || av.overflow;
            for (auto& v : values_outside(policy, name, static_cast<unsigned>(av.index), av.values))
              den.values.push_back(name + ":" + v);
          }
          if (den.values.empty() && !unknown) continue;
          if (!den.values.empty()) {
            den.access = Access::denied;
            den.why = "denied for";
            for (const auto& v : den.values) den.why += " " + v.substr(name.size() + 1);
            den.why += " (the profile allows " + allowed + ")";
          } else {
            den.why = "allowed only under argument conditions (" + allowed + "); the trace has " +
                      (s.args.empty() ? "no argument values" : "more values than the recorder kept");
          }
        } else if (rules.empty()) den.why = "default action " + describe_rule(policy.default_action, {});
        else den.why = "entry " + describe_rule(rules.front()->action, rules.front()->args);
      }
      auto key = std::make_tuple(arch, name, s.exe);
      auto [it, inserted] = found.emplace(key, den);
      if (!inserted) it->second.count += s.count;
    }
  }
  for (auto& [k, v] : found) d.denials.push_back(std::move(v));
  d.traced_distinct = distinct.size();
  return d;
}

std::string format_trace_diff_text(const TraceDiff& d, std::string_view profile_name, std::string_view trace_names) {
  std::ostringstream out;
  if (d.same()) {
    out << profile_name << " allows all " << d.traced_distinct << " distinct syscall(s) that " << trace_names
        << " made\n";
    return out.str();
  }
  out << profile_name << " would deny " << d.denials.size() << " of the " << d.traced_distinct
      << " distinct syscall(s) that " << trace_names << " made:\n";
  for (const auto& x : d.denials) {
    out << "  " << x.arch << " " << x.name << ": " << x.count << " call(s)";
    if (!x.exe.empty()) out << " by " << core::printable(x.exe); // the workload's own path
    out << ": " << (x.access == Access::conditional ? "may be denied" : "denied") << ", " << x.why << "\n";
  }
  out << "to allow them: nucleus-profile add " << profile_name;
  std::set<std::string> names;
  for (const auto& x : d.denials) {
    if (x.values.empty()) names.insert(x.name);
    else names.insert(x.values.begin(), x.values.end());
  }
  for (const auto& n : names) out << " " << n;
  out << "\n";
  return out.str();
}

std::string trace_diff_to_json(const TraceDiff& d, std::string_view profile_name, std::string_view trace_names) {
  nlohmann::ordered_json j;
  j["profile"] = profile_name;
  j["traces"] = trace_names;
  j["same"] = d.same();
  j["tracedDistinct"] = d.traced_distinct;
  auto& den = j["denied"] = nlohmann::ordered_json::array();
  for (const auto& x : d.denials)
    den.push_back({{"arch", x.arch},
                   {"name", x.name},
                   {"count", x.count},
                   {"exe", x.exe},
                   {"access", access_name(x.access)},
                   {"why", x.why}});
  return j.dump(2, ' ', true, nlohmann::ordered_json::error_handler_t::replace) + "\n"; // ASCII: safe on a terminal
}

} // namespace nucleus::profile
