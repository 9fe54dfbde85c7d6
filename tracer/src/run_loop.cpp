// The run loop shared by every recorder (Boost.Asio): the child's exit through its pidfd, signals
// passed on to the child, the workload's terminal relayed, a tick for live progress; the source
// plugged in reads its records and says when the drain after the child's exit has ended.
#include "nucleus/tracer/run_loop.hpp"

#include "nucleus/tracer/monitor.hpp"

#include "nucleus/sandbox/pty.hpp"

#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <functional>
#include <optional>

namespace nucleus::tracer {
namespace {

namespace asio = boost::asio;

// Relays between the caller's terminal and the workload's pty master: keystrokes in, output out.
// The master is ours alone, so it is non-blocking; the caller's terminal is only waited on and
// read when ready, so its file status flags (shared with the caller's shell) are left alone.
class TerminalRelay {
public:
  TerminalRelay(asio::io_context& io, sandbox::WorkloadPty& pty)
      : pty_(pty), master_(io, ::dup(pty.master.get())),
        input_(io, pty.caller_input >= 0 ? ::dup(pty.caller_input) : ::dup(pty.master.get())) {
    ::fcntl(master_.native_handle(), F_SETFL, ::fcntl(master_.native_handle(), F_GETFL) | O_NONBLOCK);
  }

  void start() {
    wait_output();
    if (pty_.caller_input >= 0) wait_input();
  }

  // After the workload has exited: whatever it wrote last.
  void drain() {
    for (int i = 0; i < 64 && copy_output(); ++i) {}
  }

  void stop() {
    boost::system::error_code ec;
    master_.cancel(ec);
    input_.cancel(ec);
  }

private:
  // One read from the master to the caller's terminal; false when nothing more comes.
  bool copy_output() {
    char buf[4096];
    ssize_t n = ::read(master_.native_handle(), buf, sizeof buf);
    if (n <= 0) return false; // EAGAIN: nothing now; EIO: every slave is closed
    if (pty_.caller_output < 0) return true;
    for (ssize_t off = 0; off < n;) {
      ssize_t w = ::write(pty_.caller_output, buf + off, static_cast<std::size_t>(n - off));
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) return false;
      off += w;
    }
    return true;
  }

  void wait_output() {
    master_.async_wait(asio::posix::stream_descriptor::wait_read, [this](const boost::system::error_code& ec) {
      if (ec) return;
      if (!copy_output() && errno != EAGAIN && errno != EINTR) return; // slave closed (EIO)
      wait_output();
    });
  }

  void wait_input() {
    input_.async_wait(asio::posix::stream_descriptor::wait_read, [this](const boost::system::error_code& ec) {
      if (ec) return;
      ssize_t n = ::read(pty_.caller_input, pending_, sizeof pending_);
      if (n <= 0) return; // the caller's terminal hung up
      pending_len_ = static_cast<std::size_t>(n);
      pending_off_ = 0;
      flush_input();
    });
  }

  void flush_input() {
    while (pending_off_ < pending_len_) {
      ssize_t w = ::write(master_.native_handle(), pending_ + pending_off_, pending_len_ - pending_off_);
      if (w < 0 && errno == EINTR) continue;
      if (w < 0 && errno == EAGAIN) {
        // The workload does not read: wait until its input queue has room, keystrokes stay in order.
        master_.async_wait(asio::posix::stream_descriptor::wait_write, [this](const boost::system::error_code& ec) {
          if (!ec) flush_input();
        });
        return;
      }
      if (w <= 0) return;
      pending_off_ += static_cast<std::size_t>(w);
    }
    wait_input();
  }

  sandbox::WorkloadPty& pty_;
  asio::posix::stream_descriptor master_;
  asio::posix::stream_descriptor input_;
  char pending_[4096];
  std::size_t pending_len_ = 0;
  std::size_t pending_off_ = 0;
};

// The workload's own terminal, relayed from the caller's for as long as the loop runs; the
// caller's terminal gets its settings back however the run ends (the destructor runs on every path).
class Terminal {
public:
  Terminal(asio::io_context& io, sandbox::WorkloadPty& pty) : pty_(pty), winch_(io) {
    pty_.close_slave();
    if (pty_.caller_input >= 0) raw_.emplace(pty_.caller_input);
    relay_.emplace(io, pty_);
    relay_->start();
    winch_.add(SIGWINCH);
    wait_winch();
  }

  // The workload has exited: whatever it wrote last, then no more waiting on either side.
  void workload_exited() {
    relay_->drain();
    relay_->stop();
  }

private:
  void wait_winch() {
    winch_.async_wait([this](const boost::system::error_code& ec, int) {
      if (ec) return;
      int from = pty_.caller_input >= 0 ? pty_.caller_input : pty_.caller_output;
      sandbox::copy_window_size(from, pty_.master.get());
      wait_winch();
    });
  }

  sandbox::WorkloadPty& pty_;
  std::optional<sandbox::RawMode> raw_;
  std::optional<TerminalRelay> relay_;
  asio::signal_set winch_;
};

} // namespace

MonitorResult run_loop(const MonitorOptions& options, RunSource& source) {
  MonitorResult result;
  sandbox::SpawnSpec spec;
  spec.argv = options.argv;
  spec.pre_exec = options.pre_exec;
  spec.pre_exec_context = options.pre_exec_context;
  spec.env = options.env;
  spec.pass_fds = options.pass_fds;
  source.prepare(spec, result);
  const auto started = std::chrono::steady_clock::now();

  asio::io_context& io = source.io_;
  // Installed before the child exists, so that a signal during start-up is not lost.
  asio::signal_set signals(io, SIGINT, SIGTERM, SIGHUP);
  signals.add(SIGQUIT);

  std::optional<sandbox::WorkloadPty> pty;
  if (options.terminal) pty = sandbox::open_workload_pty();
  spec.pty = pty ? &pty->child : nullptr;
  sandbox::Child child = sandbox::spawn(spec);
  result.pid = child.pid();
  source.started(io, child, result);
  if (options.on_start) options.on_start(child.pid());

  // Keystrokes go to the workload's terminal as they are typed (Ctrl-C included).
  std::optional<Terminal> terminal;
  if (pty) terminal.emplace(io, *pty);

  bool child_exited = false;
  asio::posix::stream_descriptor child_fd(io, ::dup(child.pidfd()));
  child_fd.async_wait(asio::posix::stream_descriptor::wait_read, [&](const boost::system::error_code& ec) {
    if (ec) return;
    result.wait_status = child.wait();
    child_exited = true;
    if (terminal) terminal->workload_exited();
    source.child_exited(io, result);
  });

  std::function<void()> wait_signal = [&] {
    signals.async_wait([&](const boost::system::error_code& ec, int sig) {
      if (ec) return;
      result.forwarded_signal = sig;
      child.signal(sig);
      wait_signal();
    });
  };
  wait_signal();

  asio::steady_timer tick_timer(io);
  std::function<void()> tick = [&] {
    tick_timer.expires_after(std::chrono::milliseconds(200));
    tick_timer.async_wait([&](const boost::system::error_code& ec) {
      if (ec) return;
      options.on_tick();
      tick();
    });
  };
  if (options.on_tick) tick();

  io.run();
  terminal.reset();
  if (!child_exited) result.wait_status = child.wait();
  result.exit_code = sandbox::exit_code_from_status(result.wait_status);
  result.duration = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
  source.finish(result);
  return result;
}

} // namespace nucleus::tracer
