// Resource limits: core dumps off by default, then whatever --rlimit sets, applied to the workload.
#pragma once

#include "child_plan.hpp"

namespace nucleus::sandbox::detail {

// Child: setrlimit for each. 0 or an errno.
int apply_rlimits(const ChildPlan& plan) noexcept;

// Parent: "nofile" for RLIMIT_NOFILE, for --verbose.
const char* rlimit_name(int resource) noexcept;

} // namespace nucleus::sandbox::detail
