// The gVisor recorder: runs `runsc run` with a monitoring session whose remote sink is a socket of
// ours and a debug log that is a FIFO of ours, both in a private directory the sandbox cannot see
// (runsc's defaults --host-uds=none and --host-fifo=none keep the workload from reaching either),
// and reads both until they end. Order: ask runsc which syscall numbers its table has and its
// version, write the session config, open socket and FIFO, spawn, read until the child exited and
// both channels reached EOF, then say what (if anything) is missing.
#include "nucleus/tracer/gvisor.hpp"
#include "nucleus/tracer/monitor.hpp"
#include "nucleus/tracer/run_loop.hpp"

#include "nucleus/core/arch.hpp"
#include "nucleus/core/error.hpp"
#include "nucleus/core/fd.hpp"
#include "nucleus/core/io.hpp"
#include "nucleus/core/pidfd.hpp"

#include <boost/asio/posix/stream_descriptor.hpp>
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
using core::SeccompRecord;
namespace {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using core::Error;
using core::ErrorKind;
using core::UniqueFd;

// A helper command whose standard output (at most 4 MiB) is collected later: runsc's own start
// costs tens of milliseconds, so the version query runs beside the workload.
class Capture {
public:
  explicit Capture(const std::vector<std::string>& argv) : what_(argv[0] + " " + (argv.size() > 1 ? argv[1] : "")) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) core::throw_errno("cannot create a pipe");
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
    core::wait_child(pid_, status);
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
    } catch (const std::exception&) {}
  }
  if (known.empty())
    throw Error(
        ErrorKind::unsupported, "this runsc offers no raw syscall trace points (runsc trace metadata)",
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
  if (const char* v = std::getenv("NUCLEUS_TEST_GVISOR_STALL_MS"))
    return std::chrono::milliseconds(std::strtol(v, nullptr, 10));
  return std::chrono::milliseconds(0);
}

// Benchmark hook: NUCLEUS_BENCH_GVISOR_NO_BEHAVIOUR=1 leaves the behaviour points out of the
// session, so that bench/ can time the names-only trace beside the full one. The trace then says
// it has no behaviour records ("behaviour" absent from its header), so nothing reads it as complete.
bool behaviour_wanted(bool record_calls) {
  const char* v = std::getenv("NUCLEUS_BENCH_GVISOR_NO_BEHAVIOUR");
  return record_calls && !(v != nullptr && std::string_view(v) == "1");
}

// The session: the task events that attribute calls to executables, one point per number in
// `known` (none when only denials are wanted), and, with `behaviour`, the syscall points the
// behaviour records come from, with the caller's working directory for relative paths.
std::string session_config(const std::set<int>& known, bool behaviour, const std::string& endpoint) {
  using nlohmann::json;
  json points = json::array();
  const json context = json::array({"thread_id", "group_id"});
  for (const char* name :
       {"container/start", "sentry/clone", "sentry/execve", "sentry/task_exit", "sentry/exit_notify_parent"})
    points.push_back({{"name", name}, {"context_fields", context}});
  for (int nr : known)
    points.push_back({{"name", "syscall/sysno/" + std::to_string(nr) + "/enter"}, {"context_fields", context}});
  if (behaviour) {
    const json with_cwd = json::array({"thread_id", "group_id", "cwd"});
    for (const auto& [name, optional] : gvisor::behaviour_points())
      points.push_back({{"name", name}, {"context_fields", with_cwd}, {"optional_fields", optional}});
  }
  json sink = {{"name", "remote"},
               {"config", {{"endpoint", endpoint}, {"retries", sink_retries}}},
               {"ignore_setup_error", false}};
  return json{{"trace_session", {{"name", "Default"}, {"points", points}, {"sinks", json::array({sink})}}}}.dump();
}

// SECCOMP_RET_* for the action, so that the record reads like an audit record of it.
std::uint32_t seccomp_ret(core::Action a) {
  switch (a.kind) {
  case core::ActionKind::kill_process: return SECCOMP_RET_KILL_PROCESS;
  case core::ActionKind::kill_thread: return SECCOMP_RET_KILL_THREAD;
  case core::ActionKind::trap: return SECCOMP_RET_TRAP;
  case core::ActionKind::errno_ret: return SECCOMP_RET_ERRNO | (a.data & SECCOMP_RET_DATA);
  case core::ActionKind::trace: return SECCOMP_RET_TRACE | (a.data & SECCOMP_RET_DATA);
  case core::ActionKind::log: return SECCOMP_RET_LOG;
  case core::ActionKind::allow: return SECCOMP_RET_ALLOW;
  case core::ActionKind::notify: return SECCOMP_RET_USER_NOTIF;
  }
  return SECCOMP_RET_LOG;
}

// The private directory: socket, FIFO and session config. Removed on every path out.
struct WorkDir {
  fs::path path;
  WorkDir() {
    std::string tmpl = (fs::temp_directory_path() / "nucleus-gvisor-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) core::throw_errno("cannot create a directory for gVisor's trace channels");
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

// gVisor's own record of the workload: prepare() asks runsc what it knows and sets up the private
// channels, started() reads both as they flow, and the drain ends when the child has exited and
// both channels have reached EOF (or 10 s after the exit, reported as a loss).
class GvisorSource final : public RunSource {
public:
  explicit GvisorSource(const MonitorOptions& options)
      : options_(options), gv_(*options.gvisor), version_query_({gv_.runsc, "--version"}),
        // Strict mode needs the denials only: no syscall point, so no `runsc trace metadata` before the
        // start (a runsc run of its own, tens of milliseconds) and no packet per call while it runs.
        known_(gv_.record_calls ? known_numbers(gv_.runsc) : std::set<int>{}),
        behaviour_(behaviour_wanted(gv_.record_calls && gv_.behaviour)), tracker_(gv_.first_exe, known_, behaviour_) {}

  void prepare(sandbox::SpawnSpec& spec, MonitorResult& result) override {
    result.source = "gvisor";
    result.arguments = true;
    result.attribution = Attribution::audit_session; // exact: gVisor's own task ids
    sock_path_ = (dir_.path / "sink.sock").string();
    const std::string fifo_path = (dir_.path / "debug.json").string();
    const std::string config_path = (dir_.path / "session.json").string();
    core::write_file_atomic(config_path, session_config(known_, behaviour_, sock_path_));
    listen_sink();
    if (::mkfifo(fifo_path.c_str(), 0600) != 0) core::throw_errno("cannot create the FIFO for gVisor's debug log");
    fifo_.reset(::open(fifo_path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
    // Held until the child exits: without a writer a FIFO reads as ended before runsc opens it.
    fifo_keepalive_.reset(::open(fifo_path.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC));
    if (!fifo_ || !fifo_keepalive_) core::throw_errno("cannot open the FIFO for gVisor's debug log");

    std::vector<std::string> flags = {"--pod-init-config=" + config_path, "--debug-command=boot",
                                      "--debug-log=" + fifo_path, "--debug-log-format=json"};
    if (gv_.record_calls)
      flags.insert(flags.end(), {"--strace",
                                 // Unknown numbers are straced whatever this list says; the list
                                 // keeps the known ones (recorded by the sink) out of the log, but
                                 // sendto, whose address no point carries.
                                 behaviour_ ? "--strace-syscalls=vhangup,sendto" : "--strace-syscalls=vhangup",
                                 "--strace-log-size=1"});
    if (gv_.report_denials) flags.push_back("--debug");
    spec.argv.insert(spec.argv.begin() + 1, flags.begin(), flags.end());
    result_ = &result;
  }

  void started(asio::io_context& io, const sandbox::Child&, MonitorResult&) override {
    listen_fd_.emplace(io, ::dup(listener_.get()));
    fifo_fd_.emplace(io, ::dup(fifo_.get()));
    drain_timer_.emplace(io);
    // One connection only: the sandbox's, made while runsc sets the sandbox up, before the
    // workload runs. The socket file goes at once, so nothing can connect later.
    listen_fd_->async_wait(asio::posix::stream_descriptor::wait_read, [this, &io](const boost::system::error_code& ec) {
      if (ec) return;
      sink_.reset(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
      ::unlink(sock_path_.c_str());
      listener_.reset();
      boost::system::error_code ignored;
      listen_fd_->close(ignored);
      if (!sink_) {
        sink_eof_ = true;
        return;
      }
      sink_fd_.emplace(io, ::dup(sink_.get()));
      wait_sink(io);
    });
    wait_fifo(io);
    version_fd_.emplace(io, ::dup(version_query_.fd()));
    version_fd_->async_wait(asio::posix::stream_descriptor::wait_read, [this](const boost::system::error_code& ec) {
      if (!ec) take_runsc_version(version_query_, gv_, *result_);
    });
  }

  void child_exited(asio::io_context& io, MonitorResult&) override {
    child_exited_ = true;
    fifo_keepalive_.reset(); // now EOF means every writer in the sandbox is gone
    if (!sink_) {
      sink_eof_ = true; // it never connected: reported in finish()
      boost::system::error_code ignored;
      listen_fd_->close(ignored);
    }
    drain_timer_->expires_after(std::chrono::seconds(10));
    drain_timer_->async_wait([this, &io](const boost::system::error_code& e) {
      if (e) return;
      drain_timed_out_ = true;
      io.stop();
    });
    maybe_finish(io);
  }

  void finish(MonitorResult& result) override {
    tracker_.finish();
    deliver();
    take_runsc_version(version_query_, gv_, result);
    throw_if_never_started(tracker_, result);
    result.fenced = !drain_timed_out_ && sink_eof_ && fifo_eof_;
    result.unparsed = bad_packets_;

    std::string detail = tracker_.loss_detail();
    auto add = [&](const std::string& s) {
      if (!detail.empty()) detail += "; ";
      detail += s;
    };
    if (!handshake_done_ && tracker_.started() == false && detail.empty())
      add("runsc never connected its monitoring sink");
    if (drain_timed_out_) {
      const char* which = !sink_eof_ && !fifo_eof_ ? "gVisor's monitoring stream and debug log"
                          : !sink_eof_             ? "gVisor's monitoring stream"
                                                   : "gVisor's debug log";
      add(std::string(which) + " did not end within 10 s of the workload's exit");
    }
    if (bad_packets_ != 0) add(std::to_string(bad_packets_) + " monitoring packet(s) could not be decoded");
    if (behaviour_) {
      result.behaviour = tracker_.behaviour();
      if (const auto dropped = tracker_.behaviour().dropped(); dropped != 0)
        add(std::to_string(dropped) +
            " behaviour record(s) (files, programs, network endpoints) were dropped: the trace "
            "keeps at most " +
            std::to_string(core::BehaviourSet::default_cap) + " distinct ones");
    }
    result.loss.lost = tracker_.dropped();
    result.loss.overflowed = !detail.empty();
    result.loss.detail = detail;
    if (tracker_.unattributed() != 0)
      result.source_note += std::string(result.source_note.empty() ? "" : "; ") +
                            std::to_string(tracker_.unattributed()) +
                            " call(s) could not be tied to an executable and are listed under \"?\"";
  }

private:
  void listen_sink() {
    listener_.reset(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!listener_) core::throw_errno("cannot create the socket for gVisor's monitoring sink");
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (sock_path_.size() >= sizeof addr.sun_path)
      throw Error(ErrorKind::usage, "the temporary directory path is too long for a unix socket: " + sock_path_,
                  "set TMPDIR to a shorter directory");
    std::memcpy(addr.sun_path, sock_path_.c_str(), sock_path_.size() + 1);
    if (::bind(listener_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(listener_.get(), 1) != 0)
      core::throw_errno("cannot listen for gVisor's monitoring sink on " + sock_path_);
  }

  void deliver() {
    for (auto& call : tracker_.take_calls()) {
      core::Action action = call.action;
      // Numbers only the debug log names carry no arguments: they are classified as made with zeros.
      if (action.kind == core::ActionKind::log && options_.classify) {
        action = options_.classify(call.nr, call.args);
        if (action.kind == core::ActionKind::allow) continue;
        if (action.kind != core::ActionKind::log) action = core::Action::log(); // it ran: would-be denial
      }
      SeccompRecord rec;
      rec.arch = core::native_arch();
      rec.syscall = call.nr;
      rec.pid = call.pid;
      rec.exe = call.exe;
      rec.code = seccomp_ret(action);
      rec.args = call.has_args ? &call.args : nullptr; // the stream's raw registers, as the eBPF program reads them
      ++result_->records_seen;
      ++result_->records_attributed;
      if (options_.on_record) options_.on_record(rec);
    }
  }

  void maybe_finish(asio::io_context& io) {
    if (child_exited_ && sink_eof_ && fifo_eof_) io.stop();
  }

  void wait_sink(asio::io_context& io) {
    sink_fd_->async_wait(asio::posix::stream_descriptor::wait_read, [this, &io](const boost::system::error_code& ec) {
      if (ec) return;
      if (stall_.count() > 0) std::this_thread::sleep_for(stall_);
      if (read_sink()) {
        maybe_finish(io);
        return;
      }
      wait_sink(io);
    });
  }

  // One batch of packets from the sink; true at its EOF.
  bool read_sink() {
    static thread_local std::string buf(gvisor::max_packet_size, '\0');
    for (int batch = 0; batch < 4096; ++batch) {
      ssize_t n = ::recv(sink_.get(), buf.data(), buf.size(), MSG_DONTWAIT | MSG_TRUNC);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
      if (n <= 0) {
        sink_eof_ = true;
        tracker_.on_sink_end();
        deliver();
        return true;
      }
      std::string_view packet(buf.data(), std::min<std::size_t>(static_cast<std::size_t>(n), buf.size()));
      if (!handshake_done_) {
        handshake_done_ = true;
        auto version = gvisor::decode_handshake(packet);
        std::string reply = gvisor::encode_handshake(1);
        if (!version || *version < 1 || ::send(sink_.get(), reply.data(), reply.size(), MSG_NOSIGNAL) < 0)
          ++bad_packets_;
        continue;
      }
      if (static_cast<std::size_t>(n) > buf.size()) {
        ++bad_packets_;
        continue;
      }
      if (auto m = gvisor::decode_packet(packet)) tracker_.on_message(*m);
      else ++bad_packets_;
    }
    deliver();
    return false;
  }

  void wait_fifo(asio::io_context& io) {
    fifo_fd_->async_wait(asio::posix::stream_descriptor::wait_read, [this, &io](const boost::system::error_code& ec) {
      if (ec) return;
      read_fifo();
      deliver();
      if (fifo_eof_) {
        maybe_finish(io);
        return;
      }
      wait_fifo(io);
    });
  }

  // What the debug log holds now, line by line.
  void read_fifo() {
    char buf[65536];
    for (int batch = 0; batch < 64; ++batch) {
      ssize_t n = ::read(fifo_.get(), buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) break; // EAGAIN
      if (n == 0) {
        fifo_eof_ = true;
        break;
      }
      partial_line_.append(buf, static_cast<std::size_t>(n));
      std::size_t start = 0;
      for (std::size_t nl = partial_line_.find('\n'); nl != std::string::npos; nl = partial_line_.find('\n', start)) {
        if (auto e = gvisor::parse_debug_line(std::string_view(partial_line_).substr(start, nl - start)))
          if (gv_.record_calls || e->kind == gvisor::LogEvent::Kind::denied ||
              e->kind == gvisor::LogEvent::Kind::killed)
            tracker_.on_log(*e);
        start = nl + 1;
      }
      partial_line_.erase(0, start);
      if (partial_line_.size() > (1u << 20)) partial_line_.clear(); // no sane line is this long
    }
  }

  const MonitorOptions& options_;
  const MonitorOptions::Gvisor& gv_;
  Capture version_query_;
  const std::set<int> known_;
  const bool behaviour_;
  gvisor::Tracker tracker_;
  WorkDir dir_;
  std::string sock_path_;
  UniqueFd listener_;
  UniqueFd sink_;
  UniqueFd fifo_;
  UniqueFd fifo_keepalive_;
  MonitorResult* result_ = nullptr;
  const std::chrono::milliseconds stall_ = test_stall();
  bool child_exited_ = false;
  bool sink_eof_ = false;
  bool fifo_eof_ = false;
  bool drain_timed_out_ = false;
  bool handshake_done_ = false;
  std::uint64_t bad_packets_ = 0;
  std::string partial_line_;
  std::optional<asio::posix::stream_descriptor> listen_fd_;
  std::optional<asio::posix::stream_descriptor> sink_fd_;
  std::optional<asio::posix::stream_descriptor> fifo_fd_;
  std::optional<asio::steady_timer> drain_timer_;
  std::optional<asio::posix::stream_descriptor> version_fd_;
};

} // namespace

MonitorResult run_gvisor_monitored(const MonitorOptions& options) {
  GvisorSource source(options);
  return run_loop(options, source);
}

} // namespace nucleus::tracer
