// Counting a profile against each architecture's table, Docker's default and systemd's groups.
#include "nucleus/profile/explain.hpp"

#include "nucleus/profile/args.hpp"

#include "nucleus/core/syscalls.hpp"
#include "nucleus/core/text.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <functional>
#include <map>
#include <set>
#include <sstream>

namespace nucleus::profile {
namespace {

struct GroupDef {
  std::string_view name;
  std::string_view description;
  std::vector<std::string_view> members;
};

const std::vector<GroupDef>& group_defs() {
  static const std::vector<GroupDef> defs = {
#include "../data/systemd_syscall_groups.inc"
  };
  return defs;
}

std::string percent(std::size_t part, std::size_t whole) {
  if (whole == 0) return "0 %";
  return std::to_string((part * 100 + whole / 2) / whole) + " %";
}

} // namespace

const std::vector<SyscallGroup>& syscall_groups() {
  static const std::vector<SyscallGroup> groups = [] {
    std::map<std::string_view, const GroupDef*> by_name;
    for (const auto& d : group_defs()) by_name[d.name] = &d;
    std::function<void(const GroupDef&, std::set<std::string>&)> expand = [&](const GroupDef& d,
                                                                              std::set<std::string>& out) {
      for (auto m : d.members) {
        if (m.starts_with("@")) {
          if (auto it = by_name.find(m); it != by_name.end() && it->second != &d) expand(*it->second, out);
        } else {
          out.insert(std::string(m));
        }
      }
    };
    std::vector<SyscallGroup> out;
    for (const auto& d : group_defs()) {
      std::set<std::string> members;
      expand(d, members);
      out.push_back({std::string(d.name), std::string(d.description), {members.begin(), members.end()}});
    }
    return out;
  }();
  return groups;
}

Explanation explain_profile(const core::Policy& policy, const Reference* reference) {
  Explanation e;
  e.default_action = describe_rule(policy.default_action, {});
  for (auto f : policy.flags) e.flags.emplace_back(core::filter_flag_oci_name(f));
  if (reference != nullptr) e.reference_label = reference->label;
  std::vector<ArchAccess> views;
  for (auto a : policy.effective_arches()) {
    views.push_back(arch_access(policy, a));
    const auto& v = views.back();
    ArchCount c;
    c.arch = a;
    c.covered = v.covered;
    c.allowed = v.allowed.size();
    c.conditional = v.conditional.size();
    c.total = v.table_size;
    if (reference != nullptr)
      if (const auto* ref = reference->for_arch(a)) c.reference = arch_access(*ref, a, true).permitted();
    e.arches.push_back(c);
  }
  const ArchAccess& first = views.front();
  e.group_arch = first.arch;
  std::set<std::string> table;
  for (auto& n : core::syscall_table(first.arch)) table.insert(std::move(n));
  std::set<std::string> allowed(first.allowed.begin(), first.allowed.end());
  std::set<std::string> conditional(first.conditional.begin(), first.conditional.end());
  std::set<std::string> grouped;
  for (const auto& g : syscall_groups()) {
    GroupUse use{g.name, g.description, 0, {}};
    for (const auto& m : g.members) {
      if (table.count(m) == 0) continue;
      ++use.size;
      if (allowed.count(m) != 0) use.allowed.push_back(m);
      else if (conditional.count(m) != 0) use.allowed.push_back(m + "?");
      grouped.insert(m);
    }
    e.groups.push_back(std::move(use));
  }
  for (const auto* set : {&allowed, &conditional})
    for (const auto& n : *set)
      if (grouped.count(n) == 0) e.ungrouped.push_back(set == &conditional ? n + "?" : n);
  std::sort(e.ungrouped.begin(), e.ungrouped.end());
  std::set<std::string> all_conditional;
  for (const auto& v : views) all_conditional.insert(v.conditional.begin(), v.conditional.end());
  for (const auto& n : all_conditional) {
    auto text = describe_allowed(policy, n);
    e.conditions.emplace_back(n, text.empty() ? std::string("under argument conditions") : text);
  }
  return e;
}

std::string format_explain_text(const Explanation& e, std::string_view profile_name) {
  using core::printable; // names come from the profile: one escaped line each (text.hpp)
  std::ostringstream out;
  out << printable(profile_name) << ": default action " << e.default_action;
  if (!e.flags.empty()) {
    out << ", flags";
    for (const auto& f : e.flags) out << " " << f;
  }
  out << "\n";
  for (const auto& c : e.arches) {
    std::string arch(core::arch_name(c.arch));
    out << arch << ": allows " << c.permitted() << " of " << c.total << " syscalls (" << percent(c.permitted(), c.total)
        << ")";
    if (c.conditional != 0) out << ", " << c.conditional << " of them only under argument conditions";
    if (c.reference) out << "; " << e.reference_label << " allows " << *c.reference;
    out << "\n";
  }
  if (e.reference_label.empty()) out << "(no comparison with Docker's default: pass --docker-default FILE)\n";
  if (!e.conditions.empty()) {
    out << "\nonly under argument conditions:\n";
    for (const auto& [name, text] : e.conditions) out << "  " << printable(name) << ": " << printable(text) << "\n";
  }
  out << "\nby systemd syscall group, on " << core::arch_name(e.group_arch)
      << " (a name may be in several groups; ? = only under argument conditions):\n";
  std::size_t width = 0;
  for (const auto& g : e.groups) width = std::max(width, g.name.size());
  for (const auto& g : e.groups) {
    if (g.allowed.empty()) continue;
    out << "  " << g.name << std::string(width - g.name.size(), ' ') << "  " << g.allowed.size() << " of " << g.size
        << "  (" << g.description << "): ";
    for (std::size_t i = 0; i < g.allowed.size(); ++i) out << (i ? " " : "") << printable(g.allowed[i]);
    out << "\n";
  }
  std::vector<std::string> unused;
  for (const auto& g : e.groups)
    if (g.allowed.empty()) unused.push_back(g.name);
  if (!unused.empty()) {
    out << "  none allowed from:";
    for (const auto& n : unused) out << " " << n;
    out << "\n";
  }
  out << "  in no group: " << e.ungrouped.size();
  if (!e.ungrouped.empty()) out << ":";
  for (const auto& n : e.ungrouped) out << " " << printable(n);
  out << "\n";
  return out.str();
}

std::string explain_to_json(const Explanation& e, std::string_view profile_name) {
  nlohmann::ordered_json j;
  j["profile"] = profile_name;
  j["defaultAction"] = e.default_action;
  j["flags"] = e.flags;
  auto& arches = j["architectures"] = nlohmann::ordered_json::array();
  for (const auto& c : e.arches) {
    nlohmann::ordered_json a{{"arch", core::arch_name(c.arch)},
                             {"covered", c.covered},
                             {"allowed", c.permitted()},
                             {"conditional", c.conditional},
                             {"total", c.total}};
    a["reference"] = c.reference ? nlohmann::ordered_json(*c.reference) : nlohmann::ordered_json();
    arches.push_back(std::move(a));
  }
  j["reference"] = e.reference_label.empty() ? nlohmann::ordered_json() : nlohmann::ordered_json(e.reference_label);
  j["groupArch"] = core::arch_name(e.group_arch);
  auto& groups = j["groups"] = nlohmann::ordered_json::array();
  for (const auto& g : e.groups)
    groups.push_back({{"name", g.name}, {"description", g.description}, {"size", g.size}, {"allowed", g.allowed}});
  j["ungrouped"] = e.ungrouped;
  auto& conditions = j["conditions"] = nlohmann::ordered_json::object();
  for (const auto& [name, text] : e.conditions) conditions[name] = text;
  return j.dump(2, ' ', true, nlohmann::ordered_json::error_handler_t::replace) + "\n";
}

} // namespace nucleus::profile
