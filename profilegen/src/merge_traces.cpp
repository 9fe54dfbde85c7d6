// Union of traces: one trace that says everything the traces said, losses included.
#include "nucleus/profile/merge.hpp"

#include "nucleus/core/error.hpp"
#include "nucleus/core/sensitive.hpp"

#include <algorithm>
#include <map>
#include <set>
#include <tuple>

namespace nucleus::profile {
namespace {

using SyscallKey = std::tuple<std::string, int, std::string>; // arch name, nr, exe

// Values of one argument, unioned; more than a recorder keeps is an overflow, as a recorder says it.
void union_args(std::vector<core::TraceArgValues>& into, const std::vector<core::TraceArgValues>& from) {
  for (const auto& a : from) {
    auto it = std::find_if(into.begin(), into.end(), [&](const auto& b) { return b.index == a.index; });
    if (it == into.end()) {
      into.push_back(a);
      continue;
    }
    std::set<std::uint64_t> values(it->values.begin(), it->values.end());
    values.insert(a.values.begin(), a.values.end());
    it->values.assign(values.begin(), values.end());
    it->overflow = it->overflow || a.overflow;
    if (it->values.size() > core::arg_values_max) {
      it->values.resize(core::arg_values_max);
      it->overflow = true;
    }
  }
  std::sort(into.begin(), into.end(), [](const auto& x, const auto& y) { return x.index < y.index; });
}

void add_unique(std::vector<std::string>& into, const std::vector<std::string>& from) {
  for (const auto& s : from)
    if (std::find(into.begin(), into.end(), s) == into.end()) into.push_back(s);
}

core::TraceHeader merge_headers(const std::vector<core::Trace>& traces) {
  core::TraceHeader h = traces.front().header;
  std::vector<std::string> sources{h.source};
  for (std::size_t i = 1; i < traces.size(); ++i) {
    const auto& o = traces[i].header;
    h.behaviour = h.behaviour && o.behaviour;
    h.arguments = h.arguments && o.arguments;
    h.container = h.container || o.container;
    add_unique(h.workspace, o.workspace);
    add_unique(h.warnings, o.warnings);
    add_unique(sources, {o.source});
    if (o.command != h.command) h.command.clear(); // several commands: none of them is "the" command
    if (o.started_at < h.started_at) h.started_at = o.started_at;
  }
  std::string joined;
  for (const auto& s : sources) joined += (joined.empty() ? "" : ",") + s;
  h.source = joined;
  return h;
}

core::TraceSummary merge_summaries(const std::vector<core::Trace>& traces) {
  core::TraceSummary sum;
  std::vector<std::string> losses;
  for (const auto& t : traces) {
    if (!t.summary) {
      losses.push_back("a trace has no summary: its tracer did not finish");
      continue;
    }
    const auto& s = *t.summary;
    sum.events += s.events;
    sum.lost += s.lost;
    sum.duration_ms += s.duration_ms;
    sum.unparsed += s.unparsed;
    sum.behaviour_dropped += s.behaviour_dropped;
    if (sum.exit_code == 0) sum.exit_code = s.exit_code;
    if (!s.loss.empty()) add_unique(losses, {s.loss});
  }
  for (const auto& l : losses) sum.loss += (sum.loss.empty() ? "" : "; ") + l;
  return sum;
}

} // namespace

core::Trace merge_traces(const std::vector<core::Trace>& traces, std::size_t behaviour_cap) {
  if (traces.empty()) throw core::Error(core::ErrorKind::usage, "no traces to merge", "");
  core::Trace out;
  out.header = merge_headers(traces);
  std::map<SyscallKey, core::TraceSyscall> syscalls;
  core::BehaviourSet behaviour(behaviour_cap);
  for (const auto& t : traces) {
    for (const auto& s : t.syscalls) {
      auto [it, added] = syscalls.try_emplace({std::string(core::arch_name(s.arch)), s.nr, s.exe}, s);
      if (added) continue;
      it->second.count += s.count;
      union_args(it->second.args, s.args);
    }
    for (const auto& e : t.execs) behaviour.add(e);
    for (const auto& f : t.files) behaviour.add(f);
    for (const auto& n : t.nets) behaviour.add(n);
  }
  for (auto& [key, s] : syscalls) out.syscalls.push_back(std::move(s));
  out.execs = behaviour.execs();
  out.files = behaviour.files();
  out.nets = behaviour.nets();
  out.summary = merge_summaries(traces);
  out.summary->distinct = out.syscalls.size();
  out.summary->behaviour_dropped += behaviour.dropped();
  return out;
}

} // namespace nucleus::profile
