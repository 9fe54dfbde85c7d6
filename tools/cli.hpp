// What the three mains share: turning an Error into one clear message and an exit code, and the
// common way of reading a command line that ends with the workload's argv.
#pragma once

#include "nucleus/core/aggregate.hpp"
#include "nucleus/core/error.hpp"
#include "nucleus/core/trace_log.hpp"
#include "nucleus/tracer/monitor.hpp"
#include "nucleus/tracer/source.hpp"

#include <functional>
#include <string>
#include <string_view>

namespace nucleus::cli {

// How a tool maps an error to its exit code.
using ExitCodeFor = int (*)(const core::Error&) noexcept;

// nucleus-run / nucleus-trace: 127 command not found, 126 not executable, 125 anything else.
int workload_exit_code(const core::Error& error) noexcept;

// Runs `body`; an Error becomes "<tool>: error: <message>" (+ "hint: ...") on stderr and the
// code `exit_code_for` gives; any other exception is an internal error (exit 125 or 2).
int guarded_main(std::string_view tool, ExitCodeFor exit_code_for, const std::function<int()>& body);

// "netlink", "kmsg", anything else: automatic (the flags only offer these three).
tracer::SourceKind parse_source(const std::string& name);

// Now, as RFC 3339 UTC: "2026-11-28T09:00:00Z".
std::string utc_now();

// A trace's summary: what `counted` holds, and how the run that counted it ended.
core::TraceSummary trace_summary(const core::Aggregator& counted, const tracer::MonitorResult& result);

// The absolute, symlink-free path of the executable `name` runs (PATH searched as execvp does), or
// `name` itself when it cannot be found: the name a trace gives the first process of a workload
// whose start gVisor does not report as an exec.
std::string resolve_command(const std::string& name);

// Writes nucleus's own terminal sequences (a live status line) to stderr's descriptor, past the
// escaping that main puts on std::cerr; `text` must hold nothing from a workload or a file.
void to_terminal(std::string_view text);

// Prints a warning the same way everywhere.
void warn(std::string_view tool, std::string_view message);

} // namespace nucleus::cli
