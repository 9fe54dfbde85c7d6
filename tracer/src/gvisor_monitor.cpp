// The gVisor recorder: runs `runsc run` with a monitoring session whose remote sink is a socket of
// ours and a debug log that is a FIFO of ours, both in a private directory the sandbox cannot see
// (runsc's defaults --host-uds=none and --host-fifo=none keep the workload from reaching either),
// and reads both until they end. Order: ask runsc which syscall numbers its table has and its
// version, write the session config, open socket and FIFO, spawn, read until the child exited and
// both channels reached EOF, then say what (if anything) is missing.
#include "nucleus/tracer/gvisor.hpp"
#include "nucleus/tracer/monitor.hpp"

#include "nucleus/sandbox/arch.hpp"
#include "nucleus/sandbox/error.hpp"
#include "nucleus/sandbox/fd.hpp"
#include "nucleus/sandbox/io.hpp"
#include "nucleus/sandbox/spawn.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <thread>

extern char** environ;

namespace nucleus::tracer {
namespace {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using sandbox::Error;
using sandbox::ErrorKind;
using sandbox::UniqueFd;

// A helper command whose standard output (at most 4 MiB) is collected later: runsc's own start
// costs tens of milliseconds, so the version query runs beside the workload.
class Capture {
public:
  explicit Capture(const std::vector<std::string>& argv) : what_(argv[0] + " " + (argv.size() > 1 ? argv[1] : "")) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) sandbox::throw_errno("cannot create a pipe");
    read_end_.reset(fds[0]);
    UniqueFd write_end(fds[1]);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, write_end.get(), STDOUT_FILENO);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    int rc = ::posix_spawn(&pid_, argv[0].c_str(), &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) throw Error(ErrorKind::kernel, "cannot run " + what_, {}, rc);
  }
  Capture(const Capture&) = delete;
  Capture& operator=(const Capture&) = delete;
  ~Capture() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      reap();
    }
  }

  // Readable once the command wrote its output or ended.
  int fd() const noexcept { return read_end_.get(); }

  // Throws when the command failed.
  std::string get() {
    std::string out;
    char buf[65536];
    while (out.size() < (4u << 20)) {
      ssize_t n = ::read(read_end_.get(), buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      out.append(buf, static_cast<std::size_t>(n));
    }
    int status = reap();
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
      throw Error(ErrorKind::unsupported, what_ + " failed", "check that runsc works: runsc --version");
    return out;
  }

private:
  int reap() {
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
    return status;
  }
  std::string what_;
  UniqueFd read_end_;
  pid_t pid_ = -1;
};

std::string capture(const std::vector<std::string>& argv) { return Capture(argv).get(); }

// The numbers gVisor's syscall table has: those with a raw "syscall/sysno/N/enter" point.
std::set<int> known_numbers(const std::string& runsc) {
  std::string meta = capture({runsc, "trace", "metadata"});
  std::set<int> known;
  constexpr std::string_view prefix = "syscall/sysno/";
  for (std::size_t at = meta.find(prefix); at != std::string::npos; at = meta.find(prefix, at + 1)) {
    std::size_t start = at + prefix.size();
    std::size_t end = meta.find('/', start);
    if (end == std::string::npos) break;
    try {
      known.insert(std::stoi(meta.substr(start, end - start)));
    } catch (const std::exception&) {
    }
  }
  if (known.empty())
    throw Error(ErrorKind::unsupported, "this runsc offers no raw syscall trace points (runsc trace metadata)",
                "trace with --trust-level trusted, or install a gVisor release with runtime monitoring (2022 or later)");
  return known;
}

std::string runsc_version(const std::string& out) {
  std::string line = out.substr(0, out.find('\n'));
  constexpr std::string_view prefix = "runsc version ";
  if (line.rfind(prefix, 0) == 0) line = line.substr(prefix.size());
  return "runsc " + line;
}

// Reads runsc's answer to --version once (the first call; later ones do nothing): the trace
// header's runtime, and, for a release older than the default level is made for, one warning
// while the workload starts, saying what fails with it and how to upgrade.
void take_runsc_version(Capture& query, const MonitorOptions::Gvisor& gv, MonitorResult& result) {
  if (!result.runtime.empty()) return;
  std::string out;
  try {
    out = query.get();
  } catch (const Error&) {
    result.runtime = "runsc (version unknown)";
    return;
  }
  result.runtime = runsc_version(out);
  if (std::string note = gvisor::old_runsc_note(out); !note.empty()) {
    if (gv.warn) gv.warn(note);
    else result.source_note = note;
  }
}

// The session's retry count: a remote sink drops an event once a write has failed this many
// times. Large, so that a slow reader slows the sandbox instead (backoff up to 10 ms a try);
// runsc 20221219 was measured to block on a full socket anyway.
constexpr long sink_retries = 1000000000L;

// Test hook: the reader sleeps this long before each read of the sink, to show that a stalled
// reader slows the sandbox and loses nothing.
std::chrono::milliseconds test_stall() {
  if (const char* v = std::getenv("NUCLEUS_TEST_GVISOR_STALL_MS")) return std::chrono::milliseconds(std::strtol(v, nullptr, 10));
  return std::chrono::milliseconds(0);
}

// The session: the task events that attribute calls to executables, and one point per number in
// `known` (none when only denials are wanted).
std::string session_config(const std::set<int>& known, const std::string& endpoint) {
  using nlohmann::json;
  json points = json::array();
  const json context = json::array({"thread_id", "group_id"});
  for (const char* name : {"container/start", "sentry/clone", "sentry/execve", "sentry/task_exit", "sentry/exit_notify_parent"})
    points.push_back({{"name", name}, {"context_fields", context}});
  for (int nr : known) points.push_back({{"name", "syscall/sysno/" + std::to_string(nr) + "/enter"}, {"context_fields", context}});
  json sink = {{"name", "remote"},
               {"config", {{"endpoint", endpoint}, {"retries", sink_retries}}},
               {"ignore_setup_error", false}};
  return json{{"trace_session", {{"name", "Default"}, {"points", points}, {"sinks", json::array({sink})}}}}.dump();
}

// SECCOMP_RET_* for the action, so that the record reads like an audit record of it.
std::uint32_t seccomp_ret(sandbox::Action a) {
  switch (a.kind) {
  case sandbox::ActionKind::kill_process: return SECCOMP_RET_KILL_PROCESS;
  case sandbox::ActionKind::kill_thread: return SECCOMP_RET_KILL_THREAD;
  case sandbox::ActionKind::trap: return SECCOMP_RET_TRAP;
  case sandbox::ActionKind::errno_ret: return SECCOMP_RET_ERRNO | (a.data & SECCOMP_RET_DATA);
  case sandbox::ActionKind::trace: return SECCOMP_RET_TRACE | (a.data & SECCOMP_RET_DATA);
  case sandbox::ActionKind::log: return SECCOMP_RET_LOG;
  case sandbox::ActionKind::allow: return SECCOMP_RET_ALLOW;
  case sandbox::ActionKind::notify: return SECCOMP_RET_USER_NOTIF;
  }
  return SECCOMP_RET_LOG;
}

// The private directory: socket, FIFO and session config. Removed on every path out.
struct WorkDir {
  fs::path path;
  WorkDir() {
    std::string tmpl = (fs::temp_directory_path() / "nucleus-gvisor-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) sandbox::throw_errno("cannot create a directory for gVisor's trace channels");
    path = tmpl;
  }
  ~WorkDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  WorkDir(const WorkDir&) = delete;
  WorkDir& operator=(const WorkDir&) = delete;
};

// runsc that ended before its sandbox started the workload (it refused the bundle, or failed on
// the way, as with a working directory the workload's identity cannot enter) ran nothing, so there
// is nothing to record: an error of the run, never a trace with lost records. runsc has said why
// on stderr by then.
void throw_if_never_started(const gvisor::Tracker& tracker, const MonitorResult& result) {
  if (tracker.started() || result.forwarded_signal != 0 || result.exit_code == 0) return;
  throw Error(ErrorKind::kernel,
              "gVisor did not start the workload (runsc ended with exit code " + std::to_string(result.exit_code) +
                  " before its sandbox ran the command): nothing ran and nothing was recorded",
              "runsc's own message above says why; run the same command with --trust-level trusted to tell a problem "
              "of the sandbox from one of the command");
}

} // namespace

MonitorResult run_gvisor_monitored(const MonitorOptions& options) {
  const auto& gv = *options.gvisor;
  MonitorResult result;
  result.source = "gvisor";
  result.arguments = true;
  result.attribution = Attribution::audit_session; // exact: gVisor's own task ids
  Capture version_query({gv.runsc, "--version"});
  // Strict mode needs the denials only: no syscall point, so no `runsc trace metadata` before the
  // start (a runsc run of its own, tens of milliseconds) and no packet per call while it runs.
  const std::set<int> known = gv.record_calls ? known_numbers(gv.runsc) : std::set<int>{};
  gvisor::Tracker tracker(gv.first_exe, known);

  WorkDir dir;
  const std::string sock_path = (dir.path / "sink.sock").string();
  const std::string fifo_path = (dir.path / "debug.json").string();
  const std::string config_path = (dir.path / "session.json").string();
  sandbox::write_file_atomic(config_path, session_config(known, sock_path));

  UniqueFd listener(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!listener) sandbox::throw_errno("cannot create the socket for gVisor's monitoring sink");
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (sock_path.size() >= sizeof addr.sun_path)
    throw Error(ErrorKind::usage, "the temporary directory path is too long for a unix socket: " + sock_path,
                "set TMPDIR to a shorter directory");
  std::memcpy(addr.sun_path, sock_path.c_str(), sock_path.size() + 1);
  if (::bind(listener.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(listener.get(), 1) != 0)
    sandbox::throw_errno("cannot listen for gVisor's monitoring sink on " + sock_path);

  if (::mkfifo(fifo_path.c_str(), 0600) != 0) sandbox::throw_errno("cannot create the FIFO for gVisor's debug log");
  UniqueFd fifo(::open(fifo_path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  // Held until the child exits: without a writer a FIFO reads as ended before runsc opens it.
  UniqueFd fifo_keepalive(::open(fifo_path.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC));
  if (!fifo || !fifo_keepalive) sandbox::throw_errno("cannot open the FIFO for gVisor's debug log");

  std::vector<std::string> argv = options.argv;
  std::vector<std::string> flags = {"--pod-init-config=" + config_path, "--debug-command=boot", "--debug-log=" + fifo_path,
                                    "--debug-log-format=json"};
  if (gv.record_calls)
    flags.insert(flags.end(), {"--strace",
                               // Unknown numbers are straced whatever this list says; the list
                               // keeps the known ones (recorded by the sink) out of the log.
                               "--strace-syscalls=vhangup", "--strace-log-size=1"});
  if (gv.report_denials) flags.push_back("--debug");
  argv.insert(argv.begin() + 1, flags.begin(), flags.end());

  const auto started = std::chrono::steady_clock::now();
  asio::io_context io;
  asio::signal_set signals(io, SIGINT, SIGTERM, SIGHUP);
  signals.add(SIGQUIT);

  sandbox::SpawnSpec spec;
  spec.argv = argv;
  spec.pre_exec = options.pre_exec;
  spec.pre_exec_context = options.pre_exec_context;
  spec.env = options.env;
  spec.pass_fds = options.pass_fds;
  sandbox::Child child = sandbox::spawn(spec);
  result.pid = child.pid();
  if (options.on_start) options.on_start(child.pid());

  const auto stall = test_stall();
  bool child_exited = false;
  bool sink_eof = false;
  bool fifo_eof = false;
  bool drain_timed_out = false;
  std::uint64_t bad_packets = 0;
  bool handshake_done = false;

  asio::posix::stream_descriptor listen_fd(io, ::dup(listener.get()));
  std::optional<asio::posix::stream_descriptor> sink_fd;
  UniqueFd sink;
  asio::posix::stream_descriptor fifo_fd(io, ::dup(fifo.get()));
  asio::posix::stream_descriptor child_fd(io, ::dup(child.pidfd()));
  asio::steady_timer drain_timer(io);
  asio::steady_timer tick_timer(io);
  std::string partial_line;

  auto deliver = [&] {
    for (auto& call : tracker.take_calls()) {
      sandbox::Action action = call.action;
      // Numbers only the debug log names carry no arguments: they are classified as made with zeros.
      if (action.kind == sandbox::ActionKind::log && options.classify) {
        action = options.classify(call.nr, call.args);
        if (action.kind == sandbox::ActionKind::allow) continue;
        if (action.kind != sandbox::ActionKind::log) action = sandbox::Action::log(); // it ran: would-be denial
      }
      SeccompRecord rec;
      rec.arch = sandbox::native_arch();
      rec.syscall = call.nr;
      rec.pid = call.pid;
      rec.exe = call.exe;
      rec.code = seccomp_ret(action);
      rec.args = call.has_args ? &call.args : nullptr; // the stream's raw registers, as the eBPF program reads them
      ++result.records_seen;
      ++result.records_attributed;
      if (options.on_record) options.on_record(rec);
    }
  };
  auto maybe_finish = [&] {
    if (child_exited && sink_eof && fifo_eof) io.stop();
  };

  std::function<void()> wait_sink = [&] {
    sink_fd->async_wait(asio::posix::stream_descriptor::wait_read, [&](const boost::system::error_code& ec) {
      if (ec) return;
      if (stall.count() > 0) std::this_thread::sleep_for(stall);
      static thread_local std::string buf(gvisor::max_packet_size, '\0');
      for (int batch = 0; batch < 4096; ++batch) {
        ssize_t n = ::recv(sink.get(), buf.data(), buf.size(), MSG_DONTWAIT | MSG_TRUNC);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        if (n <= 0) {
          sink_eof = true;
          tracker.on_sink_end();
          deliver();
          maybe_finish();
          return;
        }
        std::string_view packet(buf.data(), std::min<std::size_t>(static_cast<std::size_t>(n), buf.size()));
        if (!handshake_done) {
          handshake_done = true;
          auto version = gvisor::decode_handshake(packet);
          std::string reply = gvisor::encode_handshake(1);
          if (!version || *version < 1 || ::send(sink.get(), reply.data(), reply.size(), MSG_NOSIGNAL) < 0) ++bad_packets;
          continue;
        }
        if (static_cast<std::size_t>(n) > buf.size()) {
          ++bad_packets;
          continue;
        }
        if (auto m = gvisor::decode_packet(packet)) tracker.on_message(*m);
        else ++bad_packets;
      }
      deliver();
      wait_sink();
    });
  };

  // One connection only: the sandbox's, made while runsc sets the sandbox up, before the
  // workload runs. The socket file goes at once, so nothing can connect later.
  listen_fd.async_wait(asio::posix::stream_descriptor::wait_read, [&](const boost::system::error_code& ec) {
    if (ec) return;
    sink.reset(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
    ::unlink(sock_path.c_str());
    listener.reset();
    boost::system::error_code ignored;
    listen_fd.close(ignored);
    if (!sink) {
      sink_eof = true;
      return;
    }
    sink_fd.emplace(io, ::dup(sink.get()));
    wait_sink();
  });

  std::function<void()> wait_fifo = [&] {
    fifo_fd.async_wait(asio::posix::stream_descriptor::wait_read, [&](const boost::system::error_code& ec) {
      if (ec) return;
      char buf[65536];
      for (int batch = 0; batch < 64; ++batch) {
        ssize_t n = ::read(fifo.get(), buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) break; // EAGAIN
        if (n == 0) {
          fifo_eof = true;
          break;
        }
        partial_line.append(buf, static_cast<std::size_t>(n));
        std::size_t start = 0;
        for (std::size_t nl = partial_line.find('\n'); nl != std::string::npos; nl = partial_line.find('\n', start)) {
          if (auto e = gvisor::parse_debug_line(std::string_view(partial_line).substr(start, nl - start)))
            if (gv.record_calls || e->kind == gvisor::LogEvent::Kind::denied || e->kind == gvisor::LogEvent::Kind::killed)
              tracker.on_log(*e);
          start = nl + 1;
        }
        partial_line.erase(0, start);
        if (partial_line.size() > (1u << 20)) partial_line.clear(); // no sane line is this long
      }
      deliver();
      if (fifo_eof) {
        maybe_finish();
        return;
      }
      wait_fifo();
    });
  };
  wait_fifo();

  child_fd.async_wait(asio::posix::stream_descriptor::wait_read, [&](const boost::system::error_code& ec) {
    if (ec) return;
    result.wait_status = child.wait();
    child_exited = true;
    fifo_keepalive.reset(); // now EOF means every writer in the sandbox is gone
    if (!sink) {
      sink_eof = true; // it never connected: reported below
      boost::system::error_code ignored;
      listen_fd.close(ignored);
    }
    drain_timer.expires_after(std::chrono::seconds(10));
    drain_timer.async_wait([&](const boost::system::error_code& e) {
      if (e) return;
      drain_timed_out = true;
      io.stop();
    });
    maybe_finish();
  });

  asio::posix::stream_descriptor version_fd(io, ::dup(version_query.fd()));
  version_fd.async_wait(asio::posix::stream_descriptor::wait_read, [&](const boost::system::error_code& ec) {
    if (!ec) take_runsc_version(version_query, gv, result);
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
  if (!child_exited) result.wait_status = child.wait();
  tracker.finish();
  deliver();
  take_runsc_version(version_query, gv, result);
  result.exit_code = sandbox::exit_code_from_status(result.wait_status);
  result.duration = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
  throw_if_never_started(tracker, result);
  result.fenced = !drain_timed_out && sink_eof && fifo_eof;
  result.unparsed = bad_packets;

  std::string detail = tracker.loss_detail();
  auto add = [&](const std::string& s) {
    if (!detail.empty()) detail += "; ";
    detail += s;
  };
  if (!handshake_done && tracker.started() == false && detail.empty()) add("runsc never connected its monitoring sink");
  if (drain_timed_out) {
    const char* which = !sink_eof && !fifo_eof ? "gVisor's monitoring stream and debug log"
                        : !sink_eof            ? "gVisor's monitoring stream"
                                               : "gVisor's debug log";
    add(std::string(which) + " did not end within 10 s of the workload's exit");
  }
  if (bad_packets != 0) add(std::to_string(bad_packets) + " monitoring packet(s) could not be decoded");
  result.loss.lost = tracker.dropped();
  result.loss.overflowed = !detail.empty();
  result.loss.detail = detail;
  if (tracker.unattributed() != 0)
    result.source_note += std::string(result.source_note.empty() ? "" : "; ") + std::to_string(tracker.unattributed()) +
                         " call(s) could not be tied to an executable and are listed under \"?\"";
  return result;
}

} // namespace nucleus::tracer
