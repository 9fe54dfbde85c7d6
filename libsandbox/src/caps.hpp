// Capabilities: the workload starts with empty effective, permitted, inheritable, bounding and
// ambient sets, except the capabilities named with --cap-add (kept in all five, so that they
// survive execve for any uid). Names are resolved with libcap in the parent.
#pragma once

#include "child_plan.hpp"

namespace nucleus::sandbox::detail {

// Parent: the highest capability number this kernel knows.
int last_capability();

// Child: empties the sets except plan.cap_keep. 0 or an errno.
int drop_capabilities(const ChildPlan& plan) noexcept;

} // namespace nucleus::sandbox::detail
