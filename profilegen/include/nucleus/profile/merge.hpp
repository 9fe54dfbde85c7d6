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

// Throws Error(invalid_input) for a conflict: "syscall ptrace: a.json has allow, b.json has
// errno(EPERM)", with a hint to use --prefer; Error(usage) for no inputs.
core::Policy merge_profiles(const std::vector<MergeInput>& inputs, Prefer prefer = Prefer::none);

} // namespace nucleus::profile
