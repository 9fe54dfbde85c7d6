// The one run loop every recorder runs the workload in: it spawns the child, passes signals on to
// it, gives it a terminal of its own and relays it, waits on the child's pidfd, ticks for live
// progress and works out the exit status and duration. A recorder plugs in as a RunSource.
// Order: prepare(spec) → spawn → started() → [records, signals, terminal, tick] → child_exited()
// → the source stops the loop once its drain has ended → finish() (last reads, loss report).
#pragma once

#include "nucleus/sandbox/spawn.hpp"

#include <boost/asio/io_context.hpp>

namespace nucleus::tracer {

struct MonitorOptions;
struct MonitorResult;

class RunSource {
public:
  virtual ~RunSource() = default;
  RunSource() = default;
  RunSource(const RunSource&) = delete;
  RunSource& operator=(const RunSource&) = delete;

  // Before the child exists: what it gets from this recorder (filter, audit session, the argv
  // runsc needs, work that overlaps its start). Throwing here means the workload never ran.
  virtual void prepare(sandbox::SpawnSpec& spec, MonitorResult& result) = 0;
  // The child runs (result.pid is set): start reading on `io`.
  virtual void started(boost::asio::io_context& io, const sandbox::Child& child, MonitorResult& result) = 0;
  // The child has exited and its terminal output is relayed: drain what is still on its way and
  // call io.stop() once the end condition holds (at once when nothing can be pending).
  virtual void child_exited(boost::asio::io_context& io, MonitorResult& result) = 0;
  // After the loop (also when it ended on a signal): last reads and the loss report.
  virtual void finish(MonitorResult& result) = 0;

private:
  friend MonitorResult run_loop(const MonitorOptions& options, RunSource& source);
  // The loop runs on this context. It lives in the base so that it outlives everything a source
  // binds to it (descriptors, timers: members of the derived class, destroyed first); a context
  // destroyed before them leaves them calling into its freed services.
  boost::asio::io_context io_;
};

// Runs options.argv (with its isolation steps, environment, descriptors, terminal, on_start and
// on_tick) under `source`. Throws Error when the child cannot be started (it never ran).
MonitorResult run_loop(const MonitorOptions& options, RunSource& source);

} // namespace nucleus::tracer
