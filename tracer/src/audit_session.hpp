// Whether a child of this process can start an audit session of its own, which the eBPF recorder
// and the audit records attribute a workload by; where it cannot, the audit recorder follows the
// process tree instead.
#pragma once

#include <optional>
#include <string>

namespace nucleus::tracer::detail {

// nullopt when it can; otherwise why not ("loginuid is already set and CAP_AUDIT_CONTROL is missing").
std::optional<std::string> audit_session_unavailable();

} // namespace nucleus::tracer::detail
