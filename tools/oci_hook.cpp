// nucleus-trace --oci-hook: see oci_hook.hpp.
#include "oci_hook.hpp"

#include "cli.hpp"

#include "nucleus/core/error.hpp"
#include "nucleus/core/fd.hpp"
#include "nucleus/core/io.hpp"
#include "nucleus/core/json_limits.hpp"
#include "nucleus/core/pidfd.hpp"
#include "nucleus/core/proc.hpp"
#include "nucleus/sandbox/spawn.hpp"

#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <limits>
#include <sstream>

namespace nucleus::cli::oci_hook {
namespace {

using core::Error;
using core::ErrorKind;
namespace fs = std::filesystem;

constexpr std::string_view tool = "nucleus-trace";
// Loading the recorder takes milliseconds; a loaded machine may take far longer, a runtime waits.
constexpr int attach_timeout_ms = 30'000;
// The recorder ends by itself once the container's init has exited; this is for the maps and
// the write. Then it is told to stop (SIGTERM: it writes what it has), then killed.
constexpr int finish_timeout_ms = 10'000;

// The parts of the OCI state (runtime spec, "State") the hook reads.
struct State {
  std::string id;
  pid_t pid = 0;     // absent once the container has stopped
  std::string trace; // the annotation's value; empty: no trace asked for
};

// The container's init, which the recorder attaches to as root: a pid as the kernel has them, or
// none (absent or null once the container has stopped). Anything else is refused rather than
// narrowed, since 2^32+N would be read as pid N, an unrelated process.
pid_t read_pid(const nlohmann::json& state, const std::string& hint) {
  auto it = state.find("pid");
  if (it == state.end() || it->is_null()) return 0;
  constexpr std::uint64_t max = std::numeric_limits<pid_t>::max();
  // Unsigned: from 0 up (the parser makes every non-negative integer unsigned); no float, no text.
  if (it->is_number_unsigned() && it->get<std::uint64_t>() <= max) return static_cast<pid_t>(it->get<std::uint64_t>());
  const std::string given = it->is_number() ? it->dump() : std::string("a JSON ") + it->type_name();
  throw Error(ErrorKind::invalid_input,
              "--oci-hook: the container's state has \"pid\": " + given +
                  ", which is not a process id (an integer from 0 to " + std::to_string(max) + ")",
              hint);
}

State read_state() {
  std::string text;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(STDIN_FILENO, buf, sizeof buf);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      core::throw_errno("--oci-hook: cannot read the container's state from standard input");
    }
    text.append(buf, static_cast<std::size_t>(n));
    if (text.size() > (std::size_t{1} << 22))
      throw Error(ErrorKind::invalid_input, "--oci-hook: the container's state on standard input is over 4 MiB");
  }
  const std::string hint = "an OCI runtime runs the hook with the container's state (JSON) on standard input; "
                           "see the README's section on containers";
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text, core::json_depth_guard<nlohmann::json>(), false);
  } catch (const core::JsonTooDeep& e) {
    throw Error(ErrorKind::invalid_input, std::string("--oci-hook: the container's state: ") + e.what(), hint);
  }
  if (j.is_discarded() || !j.is_object())
    throw Error(ErrorKind::invalid_input, "--oci-hook: standard input is not a container's state (JSON object)", hint);
  State s;
  if (!j.contains("id") || !j["id"].is_string())
    throw Error(ErrorKind::invalid_input, "--oci-hook: the container's state has no \"id\"", hint);
  s.id = j["id"].get<std::string>();
  // The id names the hook's own files: the characters runc allows in ids, no path separators.
  bool valid = !s.id.empty() && s.id.size() <= 1024 && s.id != "." && s.id != "..";
  for (char c : s.id)
    valid = valid && (std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '+' || c == '-' || c == '.');
  if (!valid)
    throw Error(ErrorKind::invalid_input, "--oci-hook: the container id " + nlohmann::json(s.id).dump() +
                                              " has characters other than letters, digits and _ + - .");
  s.pid = read_pid(j, hint);
  if (j.contains("annotations") && j["annotations"].is_object()) {
    const auto& a = j["annotations"];
    if (auto it = a.find(std::string(annotation)); it != a.end()) {
      if (!it->is_string())
        throw Error(ErrorKind::invalid_input,
                    "--oci-hook: the annotation " + std::string(annotation) + " is not a string");
      s.trace = it->get<std::string>();
      if (s.trace.empty())
        throw Error(ErrorKind::usage, "--oci-hook: the annotation " + std::string(annotation) + " is empty",
                    "give the trace's file name, e.g. " + std::string(annotation) + "=app.trace");
    }
  }
  return s;
}

// The trace's path: the annotation's value below the trace directory, as a relative name or as
// an absolute path inside it; the directory it names must exist there (symlinks resolved).
fs::path trace_path(const Options& options, const std::string& value) {
  std::error_code ec;
  // The default directory is the hook's own to create (root's only); one given is the caller's.
  if (options.trace_dir == default_trace_dir && !fs::exists(options.trace_dir, ec)) {
    ::mkdir(fs::path(options.trace_dir).parent_path().c_str(), 0700);
    ::mkdir(options.trace_dir.c_str(), 0700);
  }
  const fs::path dir = fs::canonical(options.trace_dir, ec);
  if (ec)
    throw Error(ErrorKind::not_found, "--trace-dir " + options.trace_dir + ": " + ec.message(),
                "create it (root only: mkdir -p -m 0700 " + options.trace_dir +
                    "), or give the hook another --trace-dir");
  fs::path wanted = fs::path(value);
  fs::path candidate = (wanted.is_absolute() ? wanted : dir / wanted).lexically_normal();
  const std::string refused = "the annotation " + std::string(annotation) + "=" + value;
  const std::string hint =
      "name a file below the hook's trace directory " + dir.string() + " (a relative name is taken there)";
  if (!candidate.has_filename() || candidate.filename() == "." || candidate.filename() == "..")
    throw Error(ErrorKind::usage, refused + " names no file", hint);
  const auto outside = [&](const fs::path& path) {
    return std::mismatch(dir.begin(), dir.end(), path.begin(), path.end()).first != dir.end();
  };
  if (outside(candidate))
    throw Error(ErrorKind::permission,
                refused + " is outside the hook's trace directory " + dir.string() +
                    " (a container's annotations must not choose where root writes)",
                hint);
  const fs::path parent = fs::canonical(candidate.parent_path(), ec);
  if (ec)
    throw Error(ErrorKind::not_found, refused + ": " + candidate.parent_path().string() + ": " + ec.message(), hint);
  if (outside(parent)) // through a symlink below it
    throw Error(ErrorKind::permission,
                refused + " leads outside the hook's trace directory " + dir.string() +
                    " (a container's annotations must not choose where root writes)",
                hint);
  // Checked here, written by the recorder a moment later: only root and the hook's own user may
  // change the directories on the way (a symlink put there then would redirect root's write); a
  // sticky directory (/tmp) keeps others from renaming what is not theirs.
  bool inside = true; // from the trace's own directory up to the trace directory: no exception
  for (fs::path d = parent;; d = d.parent_path()) {
    struct stat st {};
    if (::stat(d.c_str(), &st) != 0) core::throw_errno("--oci-hook: " + d.string());
    const bool owner_ok = st.st_uid == 0 || st.st_uid == ::geteuid();
    const bool others_may_rename = (st.st_mode & 022) != 0 && (inside || (st.st_mode & S_ISVTX) == 0);
    if (!owner_ok || others_may_rename)
      throw Error(ErrorKind::permission,
                  "--oci-hook: " + d.string() +
                      " can be changed by users other than the hook's own, who could "
                      "redirect the trace root writes there",
                  "chmod go-w " + d.string() + " (and chown it to root)");
    if (d == dir) inside = false;
    if (d == d.root_path() || d.empty()) break;
  }
  return parent / candidate.filename();
}

void make_private_dir(const fs::path& path) {
  if (::mkdir(path.c_str(), 0700) != 0 && errno != EEXIST)
    core::throw_errno("--oci-hook: cannot create " + path.string());
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) core::throw_errno("--oci-hook: " + path.string());
  if (!S_ISDIR(st.st_mode) || st.st_uid != ::geteuid() || (st.st_mode & 022) != 0)
    throw Error(ErrorKind::permission,
                "--oci-hook: " + path.string() + " is not a directory of the hook's own that only it can write",
                "remove it; the hook creates it");
}

// A process's start time (clock ticks after boot), which tells it from a later one with its id.
std::string start_time(pid_t pid) {
  auto stat = core::process_stat(pid);
  return stat ? std::to_string(stat->start_time) : std::string{};
}

// Whether the recorder written down as "pid start-time" still runs (an exited one that nobody
// has reaped yet holds no program any more).
bool recorder_runs(const std::string& recorded) {
  std::istringstream in(recorded);
  pid_t pid = 0;
  std::string started;
  if (!(in >> pid >> started) || pid <= 0) return false;
  auto stat = core::process_stat(pid);
  return stat && stat->state != 'Z' && std::to_string(stat->start_time) == started;
}

// Waits until `fd` is readable or `timeout_ms` passed (interruptions do not restart the clock):
// 1 readable, 0 timed out, -1 with errno.
int wait_readable(int fd, int timeout_ms) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now()).count();
    pollfd p{fd, POLLIN, 0};
    int n = ::poll(&p, 1, static_cast<int>(std::max<long long>(left, 0)));
    if (n >= 0 || errno != EINTR) return n;
  }
}

// Waits until `pidfd`'s process has exited or `timeout_ms` passed; true when it has exited.
bool wait_exit(int pidfd, int timeout_ms) {
  int n = wait_readable(pidfd, timeout_ms);
  if (n < 0) core::throw_errno("--oci-hook: cannot wait for the recorder");
  return n == 1;
}

std::string read_or_empty(const fs::path& path) {
  try {
    return core::read_file(path);
  } catch (const Error&) {
    return {};
  }
}

void print_log(const fs::path& log) {
  std::string text = read_or_empty(log);
  std::cerr << text;
  if (!text.empty() && text.back() != '\n') std::cerr << "\n";
}

// The recorder, in the forked child: its own session, no descriptor of the runtime's (a runtime
// waits for the hook's standard output and error to close), its messages in `log`.
[[noreturn]] void become_recorder(const fs::path& dir, int ready, const Recording& recording,
                                  const std::function<int(const Recording&, const std::function<void()>&)>& record) {
  ::setsid();
  ::umask(077);
  if (::chdir("/") != 0) ::_exit(sandbox::exit_nucleus_failed); // not the runtime's directory, which it pins
  int log = ::open((dir / "log").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  int null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (log < 0 || null < 0 || ::dup2(null, STDIN_FILENO) < 0 || ::dup2(log, STDOUT_FILENO) < 0 ||
      ::dup2(log, STDERR_FILENO) < 0 || ::dup2(ready, 3) < 0)
    ::_exit(sandbox::exit_nucleus_failed);
  ::syscall(SYS_close_range, 4u, ~0u, 0u);
  ::signal(SIGPIPE, SIG_IGN);
  int rc = guarded_main(tool, workload_exit_code, [&] {
    return record(recording, [] {
      const char ok = 1;
      (void)!::write(3, &ok, 1);
      ::close(3);
    });
  });
  std::cerr.flush();
  // The exit code, for the poststop hook (the recorder is no child of it).
  try {
    core::write_file_atomic(dir / "status", std::to_string(rc) + "\n");
  } catch (const Error& e) {
    std::cerr << tool << ": error: " << e.what() << "\n";
  }
  std::cout.flush(); // _exit skips the flush at exit, and main's escaping filter holds a partial line
  std::cerr.flush();
  ::_exit(rc);
}

// Held while a hook counts the recorders and starts its own, so that hooks of containers started
// together cannot each count below the limit and all start one. The kernel drops the lock when
// its holder dies, so a crashed hook leaves none behind.
core::UniqueFd lock_recorders(const fs::path& state_dir) {
  const fs::path path = state_dir / "lock";
  core::UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd) core::throw_errno("--oci-hook: cannot open " + path.string());
  while (::flock(fd.get(), LOCK_EX) != 0)
    if (errno != EINTR) core::throw_errno("--oci-hook: cannot lock " + path.string());
  return fd;
}

// The recorders running now: the containers' directories whose recorder (pid and start time)
// still runs. One whose hook or recorder died is not counted, whatever it left behind.
std::size_t live_recorders(const fs::path& state_dir) {
  std::size_t live = 0;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(state_dir, ec)) {
    if (!entry.is_directory(ec) || entry.is_symlink(ec)) continue;
    if (recorder_runs(read_or_empty(entry.path() / "recorder"))) ++live;
  }
  if (ec) throw Error(ErrorKind::kernel, "--oci-hook: cannot list " + state_dir.string() + ": " + ec.message());
  return live;
}

// Each recorder's program runs on every system call of the host, not only the container's, so
// the number of recorders is what an annotation can make every process on the host pay.
void check_recorder_limit(const Options& options, const State& state) {
  const std::size_t live = live_recorders(options.state_dir);
  if (live < options.max_recorders) return;
  throw Error(ErrorKind::permission,
              "--oci-hook: " + std::to_string(live) +
                  " containers are being recorded already, the limit (--max-recorders " +
                  std::to_string(options.max_recorders) + "): container " + state.id +
                  " is not started, since it asked for a trace",
              "each recording slows every system call on the host; wait until a recorded container stops, or raise "
              "--max-recorders in the hook's configuration");
}

int start(const Options& options, const State& state,
          const std::function<int(const Recording&, const std::function<void()>&)>& record) {
  if (state.pid <= 0)
    throw Error(ErrorKind::invalid_input, "--oci-hook " + options.stage + ": the container's state has no \"pid\"",
                "install the hook for the prestart or createRuntime stage, when the container's init exists");
  // "{id}" in the name is the container's id (checked above: no path characters), for annotations
  // every container of a pod gets alike.
  std::string name = state.trace;
  for (auto at = name.find("{id}"); at != std::string::npos; at = name.find("{id}", at + state.id.size()))
    name.replace(at, 4, state.id);
  Recording recording{state.pid, trace_path(options, name).string(), "container " + state.id};
  // The name is this container's from now on: another container (perhaps another tenant's) cannot
  // replace its trace, nor two containers race for one name.
  int claim = ::open(recording.output.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (claim < 0) {
    if (errno == EEXIST)
      throw Error(ErrorKind::usage, "--oci-hook: the trace " + recording.output + " exists already",
                  "a container's trace never replaces another's: remove it, or give the container another " +
                      std::string(annotation) + " name");
    core::throw_errno("--oci-hook: cannot create the trace " + recording.output);
  }
  ::close(claim);
  struct Unclaim {
    const std::string& path;
    bool keep = false;
    ~Unclaim() {
      if (!keep) ::unlink(path.c_str());
    }
  } unclaim{recording.output};
  make_private_dir(fs::path(options.state_dir).parent_path());
  make_private_dir(options.state_dir);
  // Until this container's recorder is written down below, another hook waits here.
  core::UniqueFd lock = lock_recorders(options.state_dir);
  check_recorder_limit(options, state);
  const fs::path dir = fs::path(options.state_dir) / state.id;
  if (::mkdir(dir.c_str(), 0700) != 0) {
    if (errno != EEXIST) core::throw_errno("--oci-hook: cannot create " + dir.string());
    // Left by a recorder of an earlier container with this id: refused while it still runs.
    std::istringstream old(read_or_empty(dir / "recorder"));
    pid_t pid = 0;
    std::string started;
    if (old >> pid >> started && pid > 0 && start_time(pid) == started)
      throw Error(ErrorKind::usage,
                  "--oci-hook: container " + state.id + " is being recorded already (recorder pid " +
                      std::to_string(pid) + ")",
                  "give the container another id, or stop that recorder");
    fs::remove_all(dir);
    make_private_dir(dir);
  }

  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) core::throw_errno("--oci-hook: pipe");
  core::UniqueFd ready(fds[0]);
  core::UniqueFd ready_w(fds[1]);
  std::cout.flush();
  std::cerr.flush();
  pid_t child = ::fork();
  if (child < 0) core::throw_errno("--oci-hook: cannot start the recorder");
  if (child == 0) {
    lock.reset(); // the lock is the hook's to drop once counted, not the recorder's to keep
    become_recorder(dir, ready_w.get(), recording, record);
  }
  ready_w.reset();
  core::write_file_atomic(dir / "recorder", std::to_string(child) + " " + start_time(child) + "\n");
  // Counted from here on: the next hook need not wait out this recorder's load (tens of seconds
  // on a busy machine, past a runtime's hook timeout for containers started together).
  lock.reset();

  const int n = wait_readable(ready.get(), attach_timeout_ms);
  char ok = 0;
  if (n == 1 && ::read(ready.get(), &ok, 1) == 1 && ok == 1) {
    unclaim.keep = true;
    return 0; // the recorder goes on; the runtime may now start the container's process
  }
  ::kill(child, SIGKILL); // whatever kept it: the runtime waits for this hook, which waits for it
  int status = 0;
  core::wait_child(child, status);
  print_log(dir / "log");
  fs::remove_all(dir);
  throw Error(ErrorKind::kernel,
              "--oci-hook: the recording of container " + state.id +
                  (n == 0 ? " did not start within " + std::to_string(attach_timeout_ms / 1000) + " s"
                          : " could not start (see above)"),
              "the container is not started without its trace; remove the annotation " + std::string(annotation) +
                  " to run it untraced");
}

int collect(const Options& options, const State& state) {
  const fs::path dir = fs::path(options.state_dir) / state.id;
  std::istringstream recorder(read_or_empty(dir / "recorder"));
  pid_t pid = 0;
  std::string started;
  if (!(recorder >> pid >> started) || pid <= 0)
    throw Error(
        ErrorKind::not_found,
        "--oci-hook poststop: no recording of container " + state.id + " was started, so " + state.trace +
            " was not written",
        "install the prestart hook too (nucleus-trace --oci-hook prestart); see the README's section on containers");
  core::UniqueFd handle = core::pidfd_open(pid);
  bool stopped = false; // told to stop: the trace may be cut short
  if (handle && start_time(pid) == started) {
    bool exited = wait_exit(handle.get(), finish_timeout_ms);
    stopped = !exited;
    if (!exited) {
      ::syscall(SYS_pidfd_send_signal, handle.get(), SIGTERM, nullptr, 0);
      exited = wait_exit(handle.get(), finish_timeout_ms);
    }
    if (!exited) {
      ::syscall(SYS_pidfd_send_signal, handle.get(), SIGKILL, nullptr, 0);
      wait_exit(handle.get(), finish_timeout_ms);
    }
  }
  print_log(dir / "log");
  std::string status = read_or_empty(dir / "status");
  fs::remove_all(dir);
  char* end = nullptr;
  long rc = std::strtol(status.c_str(), &end, 10);
  if (status.empty() || end == status.c_str() || (*end != '\n' && *end != '\0') || rc < 0 || rc > 255)
    throw Error(ErrorKind::kernel, "--oci-hook poststop: the recorder of container " + state.id +
                                       " ended without saying how it went (it crashed or was killed): " + state.trace +
                                       " may be missing or incomplete");
  if (stopped)
    throw Error(ErrorKind::kernel, "--oci-hook poststop: the recorder of container " + state.id +
                                       " did not end within " + std::to_string(finish_timeout_ms / 1000) +
                                       " s of the container stopping and was stopped: " + state.trace +
                                       " may be cut short");
  return static_cast<int>(rc);
}

} // namespace

int run(const Options& options, const std::function<int(const Recording&, const std::function<void()>&)>& record) {
  const bool starting = options.stage == "prestart" || options.stage == "createRuntime";
  if (!starting && options.stage != "poststop")
    throw Error(ErrorKind::usage, "--oci-hook " + options.stage + ": not a stage the hook runs at",
                "give prestart (or createRuntime) to start recording, poststop to collect the trace");
  State state = read_state();
  if (state.trace.empty()) return 0; // the container asked for no trace
  return starting ? start(options, state, record) : collect(options, state);
}

} // namespace nucleus::cli::oci_hook
