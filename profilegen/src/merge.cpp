// Union of profiles, syscall by syscall: each source's treatment of a name (its entries' actions and
// conditions) must agree, or --prefer decides.
#include "nucleus/profile/merge.hpp"

#include "nucleus/profile/effective.hpp"
#include "nucleus/profile/generate.hpp"
#include "nucleus/core/error.hpp"
#include "nucleus/core/strings.hpp"
#include "nucleus/core/json_limits.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <map>
#include <set>
#include <tuple>

namespace nucleus::profile {
namespace {

using core::Error;
using core::ErrorKind;

// What one entry does, without its names or comment.
struct Entry {
  core::Action action;
  std::vector<core::ArgCondition> args;
  friend bool operator==(const Entry&, const Entry&) = default;
};

bool entry_less(const Entry& a, const Entry& b) {
  auto key = [](const Entry& e) {
    std::vector<std::tuple<unsigned, int, std::uint64_t, std::uint64_t>> args;
    for (const auto& c : e.args) args.emplace_back(c.index, static_cast<int>(c.op), c.value, c.value_two);
    return std::make_tuple(static_cast<int>(e.action.kind), e.action.data, args);
  };
  return key(a) < key(b);
}

using Treatment = std::vector<Entry>; // sorted, unique

std::string describe(const Treatment& t) {
  std::string s;
  for (const auto& e : t) s += (s.empty() ? "" : "; ") + describe_rule(e.action, e.args);
  return s;
}

// 3: runs unconditionally, 2: runs under conditions, 1: denied; then the least strict action.
std::pair<int, int> looseness(const Treatment& t) {
  int rank = 1;
  int loosest = -1;
  for (const auto& e : t) {
    if (permits(e.action)) rank = std::max(rank, e.args.empty() ? 3 : 2);
    loosest = std::max(loosest, core::strictness(e.action.kind));
  }
  return {rank, loosest};
}

bool only_permits(const Treatment& t) {
  return std::all_of(t.begin(), t.end(), [](const Entry& e) { return permits(e.action); });
}

[[noreturn]] void conflict(const std::string& what, const std::string& a_src, const std::string& a_val,
                           const std::string& b_src, const std::string& b_val, bool tie = false) {
  throw Error(ErrorKind::invalid_input, what + ": " + a_src + " has " + a_val + ", " + b_src + " has " + b_val,
              tie ? "neither is stricter than the other: make the sources agree by editing one of them"
                  : "make the sources agree, or choose with --prefer stricter or --prefer looser");
}

} // namespace

std::optional<Prefer> prefer_from_name(std::string_view name) {
  if (name == "stricter") return Prefer::stricter;
  if (name == "looser") return Prefer::looser;
  return std::nullopt;
}

bool is_profile_text(std::string_view text) {
  auto start = text.find_first_not_of(" \t\r\n");
  if (start == std::string_view::npos || text[start] != '{') return false;
  auto end = text.find('\n', start);
  nlohmann::json first;
  try {
    first = nlohmann::json::parse(text.substr(start, end == std::string_view::npos ? end : end - start),
                                  core::json_depth_guard<nlohmann::json>(), false);
  } catch (const core::JsonTooDeep&) {
    return true; // read as a profile, whose reader refuses it with its message
  }
  // A trace's first line is a whole object with a "type"; a profile's is "{" or the whole profile.
  return !(first.is_object() && first.contains("type"));
}

MergeInput input_from_trace(const core::Trace& trace, std::string source) {
  return {std::move(source), generate_profile({trace}), true};
}

core::Policy merge_profiles(const std::vector<MergeInput>& inputs, Prefer prefer) {
  if (inputs.empty()) throw Error(ErrorKind::usage, "nothing to merge");
  core::Policy out;

  // Default action: the profiles' (traces have no say); with only traces, what gen would choose.
  const MergeInput* default_from = nullptr;
  for (const auto& in : inputs) {
    if (in.from_trace) continue;
    if (default_from == nullptr) {
      default_from = &in;
      continue;
    }
    if (in.policy.default_action == default_from->policy.default_action) continue;
    if (prefer == Prefer::none)
      conflict("default action", default_from->source, describe_rule(default_from->policy.default_action, {}),
               in.source, describe_rule(in.policy.default_action, {}));
    int a = core::strictness(default_from->policy.default_action.kind);
    int b = core::strictness(in.policy.default_action.kind);
    if (a == b) { // errno values differ: neither is stricter
      conflict("default action", default_from->source, describe_rule(default_from->policy.default_action, {}),
               in.source, describe_rule(in.policy.default_action, {}), true);
    }
    if ((prefer == Prefer::stricter) == (b < a)) default_from = &in;
  }
  out.default_action = default_from != nullptr ? default_from->policy.default_action : GenerateOptions{}.default_action;

  // Architectures and flags: union, in order of appearance.
  bool any_listed = false;
  for (const auto& in : inputs) any_listed = any_listed || !in.policy.architectures.empty();
  for (const auto& in : inputs) {
    if (any_listed)
      for (auto a : in.policy.effective_arches())
        if (std::find(out.architectures.begin(), out.architectures.end(), a) == out.architectures.end())
          out.architectures.push_back(a);
    if (in.from_trace && default_from != nullptr) continue;
    for (auto f : in.policy.flags)
      if (!out.has_flag(f)) out.flags.push_back(f);
  }

  // Each source's treatment of each name.
  std::map<std::string, std::vector<std::pair<std::size_t, Treatment>>> by_name;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    std::map<std::string, Treatment> mine;
    for (const auto& rule : inputs[i].policy.rules)
      for (const auto& name : rule.names) mine[name].push_back({rule.action, rule.args});
    for (auto& [name, t] : mine) {
      std::sort(t.begin(), t.end(), entry_less);
      t.erase(std::unique(t.begin(), t.end()), t.end());
      by_name[name].emplace_back(i, std::move(t));
    }
  }

  // Resolve each name to one treatment and the sources behind it.
  struct Group {
    std::size_t first_source;
    Treatment treatment;
    std::vector<std::string> sources;
    std::vector<std::string> overruled;
    std::vector<std::string> names;
  };
  std::vector<Group> groups;
  auto group_for = [&](std::size_t first, const Treatment& t, const std::vector<std::string>& sources,
                       const std::vector<std::string>& overruled) -> Group& {
    for (auto& g : groups)
      if (g.treatment == t && g.sources == sources && g.overruled == overruled) return g;
    groups.push_back({first, t, sources, overruled, {}});
    return groups.back();
  };
  for (auto& [name, views] : by_name) {
    Treatment chosen = views.front().second;
    std::size_t chosen_from = views.front().first;
    for (std::size_t k = 1; k < views.size(); ++k) {
      const auto& [src, t] = views[k];
      if (t == chosen) continue;
      auto lc = looseness(chosen);
      auto lt = looseness(t);
      // A trace says which argument values were seen: with a profile (or other traces) that also
      // allows the syscall only under conditions, the values add up, whatever --prefer says.
      bool adds_values = lc.first == 2 && lt.first == 2 && only_permits(chosen) && only_permits(t) &&
                         (inputs[chosen_from].from_trace || inputs[src].from_trace) && prefer != Prefer::stricter;
      if (prefer == Prefer::none && !adds_values)
        conflict("syscall " + name, inputs[chosen_from].source, describe(chosen), inputs[src].source, describe(t));
      if (lc.first == 2 && lt.first == 2) {
        // Both run under conditions: their union is the looser; the stricter is not expressible.
        if (prefer == Prefer::stricter)
          conflict("syscall " + name, inputs[chosen_from].source, describe(chosen), inputs[src].source, describe(t),
                   true);
        Treatment u = chosen;
        u.insert(u.end(), t.begin(), t.end());
        std::sort(u.begin(), u.end(), entry_less);
        u.erase(std::unique(u.begin(), u.end()), u.end());
        chosen = std::move(u);
        continue;
      }
      if (lc == lt)
        conflict("syscall " + name, inputs[chosen_from].source, describe(chosen), inputs[src].source, describe(t),
                 true);
      bool t_looser = lt > lc;
      if (t_looser == (prefer == Prefer::looser)) {
        chosen = t;
        chosen_from = src;
      }
    }
    std::vector<std::string> sources, overruled;
    for (const auto& [src, t] : views) {
      bool part = std::all_of(t.begin(), t.end(), [&](const Entry& e) {
        return std::find(chosen.begin(), chosen.end(), e) != chosen.end();
      });
      (part ? sources : overruled).push_back(inputs[src].source);
    }
    group_for(views.front().first, chosen, sources, overruled).names.push_back(name);
  }

  std::stable_sort(groups.begin(), groups.end(),
                   [](const Group& a, const Group& b) { return a.first_source < b.first_source; });
  for (auto& g : groups) {
    std::string comment = "from " + core::join(g.sources, ", ");
    if (!g.overruled.empty())
      comment += std::string(" (") + (prefer == Prefer::stricter ? "stricter" : "looser") + " than " +
                 core::join(g.overruled, ", ") + ")";
    for (const auto& e : g.treatment) out.rules.push_back({g.names, e.action, e.args, comment});
  }
  return out;
}

} // namespace nucleus::profile
