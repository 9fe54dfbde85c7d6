// Merging profiles and traces into one profile: the union of what each allows, per architecture,
// with each entry's sources recorded in its `comment`. Sources that disagree about a syscall (or the
// default action) are an error naming both, unless the caller prefers the stricter or looser one.
// Use: std::vector<MergeInput> in{{"a.json", a}, input_from_trace(t, "b.trace")}; merge_profiles(in).
#pragma once

#include "nucleus/core/policy.hpp"
#include "nucleus/core/trace_log.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nucleus::profile {

struct MergeInput {
  std::string source; // shown in comments and error messages
  core::Policy policy;
  bool from_trace = false; // a trace has no say about the default action or flags
};

enum class Prefer { none, stricter, looser };
std::optional<Prefer> prefer_from_name(std::string_view name); // "stricter", "looser"

// True when `text` is a profile (one JSON object) rather than a trace log (NDJSON with a header line).
bool is_profile_text(std::string_view text);

// The policy generate_profile() makes of the trace (its syscalls plus the always-allowed set).
MergeInput input_from_trace(const core::Trace& trace, std::string source);

// One trace holding everything the traces recorded, for a review of several runs or `merge --trace`:
// syscall lines summed per (arch, nr, exe) with their argument values unioned (at most
// core::arg_values_max kept, more marked overflow), behaviour records through core::BehaviourSet
// (counts summed; records past its cap counted in the summary's behaviour_dropped), the headers'
// workspaces and warnings unioned, "behaviour" and "arguments" kept only when every trace has them,
// and the summaries summed with their losses joined (a trace without a summary is a loss too).
// Throws Error(usage) for no traces.
core::Trace merge_traces(const std::vector<core::Trace>& traces,
                         std::size_t behaviour_cap = core::BehaviourSet::default_cap);

// Throws Error(invalid_input) for a conflict: "syscall ptrace: a.json has allow, b.json has
// errno(EPERM)", with a hint to use --prefer; Error(usage) for no inputs.
core::Policy merge_profiles(const std::vector<MergeInput>& inputs, Prefer prefer = Prefer::none);

} // namespace nucleus::profile
