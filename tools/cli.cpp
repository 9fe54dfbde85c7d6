// Error reporting shared by the mains.
#include "cli.hpp"

#include "nucleus/core/text.hpp"
#include "nucleus/core/path_lookup.hpp"
#include "nucleus/sandbox/spawn.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>

#include <CLI/CLI.hpp>

#include <cstdio>
#include <ctime>
#include <iostream>

namespace nucleus::cli {

int workload_exit_code(const core::Error& error) noexcept {
  switch (error.kind()) {
  case core::ErrorKind::command_not_found: return sandbox::exit_not_found;
  case core::ErrorKind::not_executable: return sandbox::exit_not_executable;
  default: return sandbox::exit_nucleus_failed;
  }
}

tracer::SourceKind parse_source(const std::string& name) {
  if (name == "netlink") return tracer::SourceKind::netlink;
  if (name == "kmsg") return tracer::SourceKind::kmsg;
  return tracer::SourceKind::automatic;
}

std::string utc_now() {
  std::time_t now = std::time(nullptr);
  std::tm utc{};
  ::gmtime_r(&now, &utc);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return buf;
}

core::TraceSummary trace_summary(const core::Aggregator& counted, const tracer::MonitorResult& result) {
  return core::TraceSummary{counted.events(),
                            counted.distinct(),
                            result.loss.lost,
                            result.exit_code,
                            static_cast<std::uint64_t>(result.duration.count()),
                            result.unparsed,
                            result.loss.summary()};
}

void to_terminal(std::string_view text) {
  std::cerr.flush();
  while (!text.empty()) {
    ssize_t n = ::write(STDERR_FILENO, text.data(), text.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return; // a status line is not worth failing the run for
    text.remove_prefix(static_cast<std::size_t>(n));
  }
}

void warn(std::string_view tool, std::string_view message) {
  std::cerr << tool << ": warning: " << core::printable(message) << '\n';
}

int guarded_main(std::string_view tool, ExitCodeFor exit_code_for, const std::function<int()>& body) {
  try {
    return body();
  } catch (const core::Error& e) {
    // One line each: a message may quote a name from a profile or a path from a workload (text.hpp).
    std::cerr << tool << ": error: " << core::printable(e.what()) << '\n';
    if (!e.hint().empty()) std::cerr << tool << ": hint: " << core::printable(e.hint()) << '\n';
    return exit_code_for(e);
  } catch (const std::exception& e) {
    std::cerr << tool << ": internal error: " << e.what() << '\n';
    return exit_code_for(core::Error(core::ErrorKind::internal, e.what()));
  }
}

} // namespace nucleus::cli

namespace nucleus::cli {

std::string resolve_command(const std::string& name) {
  namespace fs = std::filesystem;
  core::CommandLookup found = core::lookup_command(name, core::search_path());
  if (!found.found()) return name;
  std::error_code ec;
  fs::path canonical = fs::weakly_canonical(fs::absolute(found.path, ec), ec);
  return ec ? found.path.string() : canonical.string();
}

} // namespace nucleus::cli
