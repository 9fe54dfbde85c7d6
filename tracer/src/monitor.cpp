// The event loop shared by trace and strict mode (Boost.Asio): records from the source, the
// child's exit through its pidfd, signals passed on to the child, and the fence that ends the drain.
#include "nucleus/tracer/monitor.hpp"

#include "lost_counter.hpp"

#include "nucleus/sandbox/error.hpp"
#include "nucleus/sandbox/proc.hpp"
#include "nucleus/sandbox/pty.hpp"
#include "nucleus/sandbox/spawn.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstddef>
#include <iterator>
#include <thread>
#include <unordered_set>

namespace nucleus::tracer {
namespace {

namespace asio = boost::asio;
using sandbox::Error;
using sandbox::ErrorKind;

constexpr int reader_nice = -15;

// A thread of our own makes one logged syscall after the workload has exited. The kernel queues
// audit records in order, so once its record arrives every record of the workload has too. The
// record carries our pid (audit logs the thread group), and the filter and no_new_privs stay on
// that thread, which ends at once: a thread, so that no copy of the whole monitor is forked on
// the way out. A plain pthread with a small stack that allocates nothing: a std::thread's state
// is freed on the new thread, whose first free() sets up a malloc arena (a 64 MiB mapping), and
// the default 8 MiB stack is given back with madvise at its end; together half a millisecond of
// every run's exit. Returns the pid the record will carry.
// Only the fence call is logged, not the thread's own way out.
void* make_fence_call(void*) {
  sock_filter log_getppid[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getppid, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_LOG),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  sock_fprog prog{static_cast<unsigned short>(std::size(log_getppid)), log_getppid};
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 &&
      ::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_LOG, &prog) == 0) {
    ::syscall(SYS_getppid);
  }
  return nullptr;
}

pid_t send_fence_record() {
  pthread_attr_t attr;
  pthread_t thread;
  bool started = ::pthread_attr_init(&attr) == 0 && ::pthread_attr_setstacksize(&attr, 64 * 1024) == 0 &&
                 ::pthread_create(&thread, &attr, make_fence_call, nullptr) == 0;
  ::pthread_attr_destroy(&attr);
  if (started)
    ::pthread_join(thread, nullptr);
  else
    std::thread(make_fence_call, nullptr).join(); // no room for a small stack: the default one
  return ::getpid();
}

// The fallback attribution: is `pid` the root or below it right now? Short-lived processes can be
// gone before their record is read, which is why the audit session is preferred.
class ProcessTree {
public:
  explicit ProcessTree(pid_t root) { members_.insert(root); }

  bool contains(pid_t pid) {
    if (members_.count(pid) != 0) return true;
    if (strangers_.count(pid) != 0) return false;
    std::vector<pid_t> chain;
    pid_t current = pid;
    for (int depth = 0; depth < 64 && current > 1; ++depth) {
      chain.push_back(current);
      current = parent_of(current);
      if (members_.count(current) != 0) {
        members_.insert(chain.begin(), chain.end());
        return true;
      }
    }
    strangers_.insert(pid);
    return false;
  }

private:
  static pid_t parent_of(pid_t pid) {
    auto stat = sandbox::process_stat(pid);
    return stat ? stat->ppid : 0;
  }

  std::unordered_set<pid_t> members_;
  std::unordered_set<pid_t> strangers_;
};

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
    for (int i = 0; i < 64 && copy_output(); ++i) {
    }
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

} // namespace

MonitorResult run_monitored(const MonitorOptions& options) {
  if (options.gvisor) return run_gvisor_monitored(options);
  MonitorResult result;
  std::string note;
  std::unique_ptr<EventSource> source;
  try {
    source = open_live_source(options.source, &note);
    result.source = std::string(source->name());
  } catch (const Error& e) {
    if (options.require_source || (e.kind() != ErrorKind::permission && e.kind() != ErrorKind::unsupported)) throw;
    note = std::string("no audit record source: ") + e.what();
  }
  result.source_note = note;
  const auto read_lost = options.lost_counter ? options.lost_counter : audit_lost_counter;
  // The counter is taken now, before the workload exists; its answer is read once the workload
  // is starting, so that the kernel's reply thread starts in parallel with the fork.
  std::optional<LostCounterQuery> lost_query;
  if (source && !options.lost_counter) lost_query.emplace();
  const auto started = std::chrono::steady_clock::now();

  asio::io_context io;
  // Installed before the child exists, so that a signal during start-up is not lost.
  asio::signal_set signals(io, SIGINT, SIGTERM, SIGHUP);
  signals.add(SIGQUIT);

  std::optional<sandbox::WorkloadPty> pty;
  if (options.terminal) pty = sandbox::open_workload_pty();

  sandbox::SpawnSpec spec;
  spec.argv = options.argv;
  spec.filter = options.filter;
  spec.new_audit_session = source != nullptr;
  spec.pre_exec = options.pre_exec;
  spec.pre_exec_context = options.pre_exec_context;
  spec.env = options.env;
  spec.pass_fds = options.pass_fds;
  spec.pty = pty ? &pty->child : nullptr;
  sandbox::Child child = sandbox::spawn(spec);
  // The netlink group drops records when the reader falls behind, so the reader must win the CPU
  // from the workload it watches. Raised after the fork: the workload keeps its own priority.
  // Only root may raise it; otherwise this does nothing.
  if (source) ::setpriority(PRIO_PROCESS, 0, reader_nice);
  std::optional<std::uint32_t> lost_before;
  if (source) lost_before = lost_query ? lost_query->get() : read_lost();
  if (source && !lost_before) {
    if (!result.source_note.empty()) result.source_note += "; ";
    result.source_note += "the kernel's audit lost counter cannot be read, so records dropped inside the kernel "
                          "would go unnoticed";
  }
  result.pid = child.pid();
  result.audit_session = child.audit_session();
  result.attribution = result.audit_session ? Attribution::audit_session : Attribution::process_tree;
  if (options.on_start) options.on_start(child.pid());

  // Keystrokes go to the workload's terminal as they are typed (Ctrl-C included), and the caller's
  // terminal gets its settings back however this ends (the destructor runs on every path).
  std::optional<sandbox::RawMode> raw;
  std::optional<TerminalRelay> relay;
  asio::signal_set winch(io);
  if (pty) {
    pty->close_slave();
    if (pty->caller_input >= 0) raw.emplace(pty->caller_input);
    relay.emplace(io, *pty);
    relay->start();
    winch.add(SIGWINCH);
  }
  std::function<void()> wait_winch = [&] {
    winch.async_wait([&](const boost::system::error_code& ec, int) {
      if (ec) return;
      int from = pty->caller_input >= 0 ? pty->caller_input : pty->caller_output;
      sandbox::copy_window_size(from, pty->master.get());
      wait_winch();
    });
  };
  if (pty) wait_winch();

  ProcessTree tree(child.pid());
  pid_t fence_pid = 0;
  bool child_exited = false;

  std::optional<asio::posix::stream_descriptor> source_fd;
  if (source) source_fd.emplace(io, ::dup(source->fd()));
  asio::posix::stream_descriptor child_fd(io, ::dup(child.pidfd()));
  asio::steady_timer fence_timer(io);
  asio::steady_timer tick_timer(io);
  std::chrono::steady_clock::time_point fence_deadline;

  SeccompRecord record;
  auto on_line = [&](std::string_view line, int type) {
    std::optional<int> t = type == type_unknown ? std::nullopt : std::optional<int>(type);
    ParseStatus status = parse_seccomp_record(line, record, t);
    if (status == ParseStatus::malformed) ++result.unparsed;
    if (status != ParseStatus::ok) return;
    ++result.records_seen;
    if (fence_pid != 0 && record.pid == fence_pid) {
      result.fenced = true;
      return;
    }
    bool ours = result.audit_session ? record.ses == *result.audit_session : tree.contains(record.pid);
    if (!ours) return;
    ++result.records_attributed;
    if (options.on_record) options.on_record(record);
  };

  // Made once: drain() takes a RecordSink, and converting the lambda at every wake-up would build
  // (and allocate) a new std::function each time records arrive.
  const RecordSink sink = on_line;

  auto finish_if_fenced = [&] {
    if (result.fenced) io.stop();
  };

  std::function<void()> send_fence = [&] {
    fence_pid = send_fence_record();
    fence_timer.expires_after(std::chrono::milliseconds(500));
    fence_timer.async_wait([&](const boost::system::error_code& ec) {
      if (ec || result.fenced) return;
      if (std::chrono::steady_clock::now() >= fence_deadline) {
        io.stop(); // the fence never came: reported as a possible loss below
        return;
      }
      send_fence(); // kmsg's rate limit may have eaten the fence: try again
    });
  };

  std::function<void()> wait_source = [&] {
    source_fd->async_wait(asio::posix::stream_descriptor::wait_read, [&](const boost::system::error_code& ec) {
      if (ec) return;
      source->drain(sink);
      finish_if_fenced();
      wait_source();
    });
  };
  if (source) wait_source();

  child_fd.async_wait(asio::posix::stream_descriptor::wait_read, [&](const boost::system::error_code& ec) {
    if (ec) return;
    result.wait_status = child.wait();
    child_exited = true;
    if (relay) {
      relay->drain();
      relay->stop();
    }
    if (!source) {
      io.stop();
      return;
    }
    source->drain(sink);
    fence_deadline = std::chrono::steady_clock::now() + options.fence_timeout;
    send_fence();
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
  raw.reset();
  if (!child_exited) result.wait_status = child.wait();
  result.exit_code = sandbox::exit_code_from_status(result.wait_status);
  result.duration = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
  if (!source) return result;

  result.loss = source->loss();
  const auto lost_after = read_lost();
  const std::uint32_t before = lost_before.value_or(0);
  if (lost_before && lost_after && *lost_after > before) {
    std::uint32_t delta = *lost_after - before;
    result.loss.lost += delta;
    if (!result.loss.detail.empty()) result.loss.detail += "; ";
    result.loss.detail += "the kernel audit subsystem dropped " + std::to_string(delta) +
                          " record(s) (audit lost counter; raise the audit backlog limit)";
  } else if (lost_before && !lost_after) {
    result.loss.overflowed = true;
    if (!result.loss.detail.empty()) result.loss.detail += "; ";
    result.loss.detail += "the kernel's audit lost counter could not be read at the end, so drops may have gone unnoticed";
  }
  if (!result.fenced) {
    result.loss.overflowed = true;
    if (!result.loss.detail.empty()) result.loss.detail += "; ";
    result.loss.detail += "the end-of-trace fence record never arrived, so records may be missing";
  }
  return result;
}

} // namespace nucleus::tracer
