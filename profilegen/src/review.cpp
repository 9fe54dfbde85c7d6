// The review of a program from its traces: the inventory per executable, what is new against an
// older version's traces, and the completeness of what was recorded. The rules are in
// review_rules.cpp, the formats in review_render.cpp.
#include "nucleus/profile/review.hpp"

#include "nucleus/profile/args.hpp"
#include "nucleus/profile/explain.hpp"
#include "nucleus/profile/merge.hpp"
#include "nucleus/core/error.hpp"
#include "nucleus/core/sensitive.hpp"
#include "nucleus/core/strings.hpp"

#include <algorithm>
#include <map>
#include <set>

namespace nucleus::profile {
namespace {

// Each syscall under the first of systemd's groups that holds it, in systemd's order; the umbrella
// groups that hold most others (@system-service, @known) are left out and @privileged comes last, so
// that a syscall is shown where a reader looks for it (mount under @mount, not @privileged).
const std::map<std::string, std::string>& group_of() {
  static const std::map<std::string, std::string> groups = [] {
    std::map<std::string, std::string> out;
    const SyscallGroup* privileged = nullptr;
    for (const auto& g : syscall_groups()) {
      if (g.name == "@system-service" || g.name == "@known") continue;
      if (g.name == "@privileged") {
        privileged = &g;
        continue;
      }
      for (const auto& m : g.members) out.try_emplace(m, g.name);
    }
    if (privileged != nullptr)
      for (const auto& m : privileged->members) out.try_emplace(m, privileged->name);
    return out;
  }();
  return groups;
}

std::size_t group_rank(const std::string& group) {
  if (group == "other") return 1000;
  if (group == "@privileged") return 999;
  const auto& groups = syscall_groups();
  for (std::size_t i = 0; i < groups.size(); ++i)
    if (groups[i].name == group) return i;
  return 998;
}

// "flags: CLONE_VM|CLONE_FS, CLONE_NEWUSER" for each argument whose values were recorded.
std::vector<std::string> describe_values(const core::TraceSyscall& s) {
  std::vector<std::string> out;
  const auto sensitive = core::sensitive_args_of(s.name);
  for (const auto& a : s.args) {
    auto it = std::find_if(sensitive.begin(), sensitive.end(),
                           [&](const auto& x) { return x.index == static_cast<unsigned>(a.index); });
    std::vector<std::string> names;
    for (auto v : a.values) {
      if (it != sensitive.end()) names.push_back(value_name(it->kind, v));
      else names.push_back(core::hex(v));
    }
    std::string label = it != sensitive.end() ? std::string(it->label) : "arg" + std::to_string(a.index);
    std::string text = label + ": " + core::join(names, ", ");
    if (a.overflow) text += " (and more: the recorder kept " + std::to_string(a.values.size()) + ")";
    out.push_back(std::move(text));
  }
  return out;
}

std::vector<SyscallGroupUse> group_syscalls(const std::vector<const core::TraceSyscall*>& calls) {
  std::map<std::string, std::vector<SyscallUse>> by_group;
  for (const auto* s : calls) {
    auto it = group_of().find(s->name);
    by_group[it == group_of().end() ? "other" : it->second].push_back(
        {s->name, std::string(core::arch_name(s->arch)), s->count, describe_values(*s)});
  }
  std::vector<SyscallGroupUse> out;
  for (auto& [group, uses] : by_group) {
    std::sort(uses.begin(), uses.end(),
              [](const auto& a, const auto& b) { return std::tie(a.name, a.arch) < std::tie(b.name, b.arch); });
    out.push_back({group, std::move(uses)});
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const auto& a, const auto& b) { return group_rank(a.group) < group_rank(b.group); });
  return out;
}

std::string command_of(const core::Trace& t) {
  if (!t.header.command.empty()) return quoted_argv(t.header.command, false);
  return t.header.target.empty() ? std::string("(not recorded)") : "(" + t.header.target + ")";
}

// Why a trace's record is not the whole story: each reason once, naming the trace.
void completeness(const NamedTrace& t, const std::string& role, Review& r) {
  const std::string name = role + t.source;
  if (!t.trace.summary) {
    r.incomplete.push_back(name + ": no summary line: the tracer did not finish, so the end of the run is missing");
    return;
  }
  const auto& s = *t.trace.summary;
  if (s.behaviour_dropped != 0)
    r.incomplete.push_back(name + ": " + std::to_string(s.behaviour_dropped) +
                           " behaviour record(s) dropped at the trace's cap: files, endpoints or programs are missing");
  if (s.lost != 0 || !s.loss.empty())
    r.incomplete.push_back(name + ": the recorder lost events (" + std::to_string(s.lost) + " counted" +
                           (s.loss.empty() ? std::string() : "; " + s.loss) +
                           "): syscalls and behaviour may be missing");
}

std::vector<std::string> normalised_workspace(const std::vector<std::string>& dirs) {
  std::vector<std::string> out;
  for (const auto& d : dirs) {
    std::string w = core::resolve_path("", d);
    while (w.size() > 1 && w.ends_with('/')) w.pop_back();
    if (std::find(out.begin(), out.end(), w) == out.end()) out.push_back(w);
  }
  return out;
}

std::vector<std::vector<std::string>> commands_of(const std::vector<NamedTrace>& traces) {
  std::vector<std::vector<std::string>> out;
  for (const auto& t : traces) out.push_back(t.trace.header.command);
  return out;
}

Review review_merged(const std::vector<NamedTrace>& traces, const core::Trace& merged, const ReviewOptions& options) {
  Review r;
  for (const auto& t : traces) {
    r.sources.push_back(t.source);
    r.commands.push_back(command_of(t.trace));
    completeness(t, "", r);
    // What the recorder said a reader must know (gVisor: paths are the sandbox's view).
    for (const auto& w : t.trace.header.warnings) r.notes.push_back(t.source + ": the recorder warns: " + w);
    if (!t.trace.header.behaviour) {
      r.behaviour_recorded = false;
      r.notes.push_back(t.source +
                        ": files, network and programs were not recorded: the trace has no behaviour "
                        "records (its recorder, \"" +
                        t.trace.header.source +
                        "\", does not write them, or the trace is older than they are), so the review covers its "
                        "syscalls alone");
    }
  }
  r.workspace = normalised_workspace(options.workspace.empty() ? merged.header.workspace : options.workspace);
  if (r.workspace.empty())
    r.notes.push_back("no workspace: the traces do not name one and --workspace was not given, so every write is "
                      "reported as outside it");
  r.executables = review_inventory(merged);
  r.findings = review_findings(merged, r.workspace, commands_of(traces));
  return r;
}

// --- against: what `after` did that `before` did not ---

bool covers(core::FileAccessSet old_access, core::FileAccessSet new_access) {
  return (old_access & new_access) == new_access;
}

core::Trace subtract(const core::Trace& after, const core::Trace& before) {
  core::Trace out;
  out.header = after.header;
  out.summary = after.summary;
  std::map<std::pair<std::string, std::string>, std::map<int, std::set<std::uint64_t>>> old_values;
  for (const auto& s : before.syscalls) {
    auto& by_index = old_values[{std::string(core::arch_name(s.arch)), s.name}];
    for (const auto& a : s.args) by_index[a.index].insert(a.values.begin(), a.values.end());
  }
  for (const auto& s : after.syscalls) {
    auto it = old_values.find({std::string(core::arch_name(s.arch)), s.name});
    if (it == old_values.end()) {
      out.syscalls.push_back(s);
      continue;
    }
    core::TraceSyscall fresh = s;
    fresh.args.clear();
    for (const auto& a : s.args) {
      core::TraceArgValues kept{a.index, {}, false};
      const auto& seen = it->second[a.index];
      for (auto v : a.values)
        if (seen.count(v) == 0) kept.values.push_back(v);
      if (!kept.values.empty()) fresh.args.push_back(std::move(kept));
    }
    if (!fresh.args.empty()) out.syscalls.push_back(std::move(fresh));
  }
  for (const auto& e : after.execs)
    if (std::none_of(before.execs.begin(), before.execs.end(),
                     [&](const auto& o) { return o.path == e.path && o.argv == e.argv; }))
      out.execs.push_back(e);
  for (const auto& f : after.files)
    if (std::none_of(before.files.begin(), before.files.end(), [&](const auto& o) {
          return o.path == f.path && o.target == f.target && covers(o.access, f.access) &&
                 (f.mode < 0 || o.mode == f.mode);
        }))
      out.files.push_back(f);
  for (const auto& n : after.nets)
    if (std::none_of(before.nets.begin(), before.nets.end(), [&](const auto& o) {
          return o.syscall == n.syscall && o.family == n.family && o.socktype == n.socktype && o.address == n.address &&
                 o.port == n.port;
        }))
      out.nets.push_back(n);
  return out;
}

} // namespace

std::string_view net_scope_name(NetScope scope) noexcept {
  switch (scope) {
  case NetScope::loopback: return "loopback";
  case NetScope::private_net: return "private";
  case NetScope::public_net: return "public";
  case NetScope::local_socket: return "local";
  case NetScope::none: break;
  }
  return "";
}

std::optional<Severity> Review::highest() const {
  if (findings.empty()) return std::nullopt;
  return findings.front().severity;
}

std::vector<ExeInventory> review_inventory(const core::Trace& trace) {
  std::map<std::string, ExeInventory> by_exe;
  auto at = [&](const std::string& exe) -> ExeInventory& {
    auto& inv = by_exe[exe];
    inv.exe = exe;
    return inv;
  };
  std::map<std::string, std::vector<const core::TraceSyscall*>> calls;
  for (const auto& s : trace.syscalls) {
    at(s.exe);
    calls[s.exe].push_back(&s);
  }
  for (const auto& e : trace.execs) at(e.exe).programs.push_back(e);
  for (const auto& f : trace.files) {
    auto& inv = at(f.exe);
    (changes_file(f.access) ? inv.writes : inv.reads).push_back(f);
  }
  for (const auto& n : trace.nets) at(n.exe).network.push_back(n);
  std::vector<ExeInventory> out;
  for (auto& [exe, inv] : by_exe) {
    inv.syscalls = group_syscalls(calls[exe]);
    auto by_path = [](const core::TraceFile& a, const core::TraceFile& b) {
      return std::tie(a.path, a.syscall) < std::tie(b.path, b.syscall);
    };
    std::stable_sort(inv.reads.begin(), inv.reads.end(), by_path);
    std::stable_sort(inv.writes.begin(), inv.writes.end(), by_path);
    out.push_back(std::move(inv));
  }
  return out;
}

Review review_traces(const std::vector<NamedTrace>& traces, const ReviewOptions& options) {
  if (traces.empty()) throw core::Error(core::ErrorKind::usage, "no trace to review", "name one or more trace logs");
  std::vector<core::Trace> plain;
  for (const auto& t : traces) plain.push_back(t.trace);
  const core::Trace merged = merge_traces(plain);
  Review r = review_merged(traces, merged, options);
  // Records the review itself could not keep (more distinct ones than its cap): said like loss.
  std::uint64_t dropped_before = 0;
  for (const auto& t : traces) dropped_before += t.trace.summary ? t.trace.summary->behaviour_dropped : 0;
  if (merged.summary && merged.summary->behaviour_dropped > dropped_before)
    r.incomplete.push_back(std::to_string(merged.summary->behaviour_dropped - dropped_before) +
                           " behaviour record(s) not reviewed: the traces hold more distinct records than one review "
                           "keeps (" +
                           std::to_string(core::BehaviourSet::default_cap) + ")");
  return r;
}

Review review_against(const std::vector<NamedTrace>& before, const std::vector<NamedTrace>& after,
                      const ReviewOptions& options) {
  if (before.empty() || after.empty())
    throw core::Error(core::ErrorKind::usage, "review --against needs the old version's traces and the new one's", "");
  std::vector<core::Trace> old_plain, new_plain;
  for (const auto& t : before) old_plain.push_back(t.trace);
  for (const auto& t : after) new_plain.push_back(t.trace);
  const core::Trace old_merged = merge_traces(old_plain);
  const core::Trace fresh = subtract(merge_traces(new_plain), old_merged);
  Review r = review_merged(after, fresh, options);
  for (const auto& t : before) {
    r.against.push_back(t.source);
    std::size_t had = r.incomplete.size();
    completeness(t, "old version's ", r);
    if (r.incomplete.size() > had)
      r.incomplete.back() += " (so some of what is shown as new may have been done by the old version too)";
    if (!t.trace.header.behaviour)
      r.notes.push_back(t.source + " (the old version's) has no behaviour records: every file, endpoint and program of "
                                   "the new version is shown as new");
  }
  return r;
}

int review_exit_code(const Review& review, Severity fail_on) {
  auto top = review.highest();
  if (!top || *top < fail_on || *top == Severity::info) return 0;
  return severity_exit_code(*top);
}

} // namespace nucleus::profile
