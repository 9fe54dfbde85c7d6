// Whether a child can start an audit session: see audit_session.hpp.
#include "audit_session.hpp"

#include "nucleus/core/error.hpp"
#include "nucleus/core/io.hpp"
#include "nucleus/core/proc.hpp"

#include <cstdint>
#include <cstdlib>

namespace nucleus::tracer::detail {

namespace {
constexpr std::uint32_t audit_unset = 0xffffffff;
constexpr int cap_audit_control = 30;
} // namespace

// The kernel lets a process set its loginuid when none is set yet, and otherwise only with
// CAP_AUDIT_CONTROL.
std::optional<std::string> audit_session_unavailable() {
  std::string loginuid;
  try {
    loginuid = core::read_file("/proc/self/loginuid");
  } catch (const core::Error&) {
    return "the kernel has no audit sessions (/proc/self/loginuid is missing: CONFIG_AUDITSYSCALL)";
  }
  if (std::strtoul(loginuid.c_str(), nullptr, 10) == audit_unset) return std::nullopt;
  if (auto cap_eff = core::process_status_field(0, "CapEff")) {
    std::uint64_t eff = std::strtoull(cap_eff->c_str(), nullptr, 16);
    if ((eff >> cap_audit_control) & 1) return std::nullopt;
  }
  return "the workload cannot get its own audit session (loginuid is already set and CAP_AUDIT_CONTROL is missing)";
}

} // namespace nucleus::tracer::detail
