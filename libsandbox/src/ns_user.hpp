// User namespace and the namespaces created with it: one unshare() of every namespace the plan
// asks for, then the uid/gid maps (the caller's own ids, mapped to themselves), then the hostname.
#pragma once

#include "child_plan.hpp"

#include <string>
#include <sys/types.h>

namespace nucleus::sandbox::detail {

// Parent: the one-line maps "<id> <id> 1": a process may map its own ids without privileges.
std::string own_id_map(unsigned id);
// Parent: "0 <host_id> 1": uid 0 inside is host_id outside (written after the child became host_id).
std::string root_to_id_map(unsigned host_id);

// Child: unshare, write setgroups/uid_map/gid_map, set the hostname. 0 or an errno.
int enter_namespaces(const ChildPlan& plan) noexcept;

} // namespace nucleus::sandbox::detail
