// The kernel audit subsystem's lost counter (AUDIT_GET) in two halves: the constructor asks (the
// kernel takes the value then, while handling the request), get() reads the answer. The kernel
// sends its answer from a kernel thread it starts for that, so waiting for it at once would put a
// thread start on the caller's path. Private to the tracer: audit_lost_counter() is the public form.
#pragma once

#include "nucleus/core/fd.hpp"

#include <cstdint>
#include <optional>

namespace nucleus::tracer {

class LostCounterQuery {
public:
  LostCounterQuery();
  std::optional<std::uint32_t> get();                      // at most once; waits up to a second for the answer
  std::optional<bool> enabled() const { return enabled_; } // after get(): whether audit is enabled

private:
  core::UniqueFd fd_;
  std::optional<bool> enabled_;
};

} // namespace nucleus::tracer
