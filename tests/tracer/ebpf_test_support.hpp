// What the eBPF recorder's tests share: the run loop's options for a bare command, and the check
// that the recorder can load here.
#pragma once

#include "nucleus/tracer/ebpf.hpp"
#include "test_support.hpp"

#include <string>
#include <utility>
#include <vector>

namespace nucleus::test {

// The run loop's options for running `argv` and nothing else.
inline tracer::MonitorOptions command(std::vector<std::string> argv) {
  tracer::MonitorOptions options;
  options.argv = std::move(argv);
  return options;
}

inline void require_ebpf() {
  NUCLEUS_REQUIRE_ROOT();
  if (auto why = tracer::ebpf_unavailable(nullptr)) NUCLEUS_SKIP(*why);
}

} // namespace nucleus::test
