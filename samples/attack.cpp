// attack: what a hostile workload tries, one mode per attack class. The tests run each mode under
// nucleus-run and nucleus-trace, at every trust level, and check both that the attack failed and
// that nothing on the host changed. Each mode prints one line "attack MODE: blocked: WHY" or
// "attack MODE: succeeded: WHAT" and exits 0 when blocked, 1 when it succeeded, 2 on a usage error.
//
//   attack MODE [ARG...]
//
// The modes are listed in `modes` below, each with what it tries and its arguments.
#include "sample_io.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

extern char** environ;

namespace {

constexpr int exit_blocked = 0;
constexpr int exit_succeeded = 1;
constexpr int exit_usage = 2;

[[maybe_unused]] int blocked(std::string_view mode, const std::string& why) {
  samples::print_line("attack " + std::string(mode) + ": blocked: " + why);
  return exit_blocked;
}

int succeeded(std::string_view mode, const std::string& what) {
  samples::print_line("attack " + std::string(mode) + ": succeeded: " + what);
  return exit_succeeded;
}

[[maybe_unused]] std::string errno_text(int err) {
  const char* name = ::strerrorname_np(err);
  return std::string(name ? name : "?") + " (" + (::strerrordesc_np(err) ? ::strerrordesc_np(err) : "?") + ")";
}

[[maybe_unused]] int usage_error(std::string_view mode, const std::string& args) {
  std::string text = "usage: attack " + std::string(mode) + " " + args + "\n";
  (void)!::write(STDERR_FILENO, text.data(), text.size());
  return exit_usage;
}

// ---- terminal, host sockets, descriptors and environment, limits, /proc/sys ----

// TIOCSTI pushes bytes into a terminal's input queue as if typed: on the caller's terminal, the
// caller's shell would run them after nucleus exits. Tried on fd 0 and on /dev/tty.
int attack_tiocsti(std::string_view name, int argc, char** argv) {
  const std::string text = argc > 0 ? argv[0] : "echo nucleus-attack-injected\n";
  std::string report;
  bool any = false;
  auto inject = [&](int fd, const std::string& what) {
    int done = 0;
    int err = 0;
    for (char c : text) {
      if (::ioctl(fd, TIOCSTI, &c) != 0) {
        err = errno;
        break;
      }
      ++done;
    }
    any = any || done > 0;
    report += what + (done > 0 ? ": " + std::to_string(done) + " bytes injected" : ": " + errno_text(err)) + "; ";
  };
  struct stat st{};
  if (::fstat(0, &st) == 0 && S_ISCHR(st.st_mode)) report += "fd 0 is terminal device " + std::to_string(st.st_rdev) + "; ";
  inject(0, "fd 0");
  int tty = ::open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
  if (tty < 0) {
    report += "/dev/tty: " + errno_text(errno);
  } else {
    inject(tty, "/dev/tty");
    ::close(tty);
  }
  // Injected into its own terminal is harmless; the tests look at the caller's terminal.
  return any ? succeeded(name, report) : blocked(name, report);
}

// Descriptors the workload did not open, and the caller's environment: fds above 2 are listed
// with what they point at and tried as directories (fchdir, openat); the environment is searched
// for SECRET (a value the test put in the caller's environment).
int attack_fds_env(std::string_view name, int argc, char** argv) {
  const std::string secret = argc > 0 ? argv[0] : "";
  std::string found;
  std::vector<int> fds;
  if (DIR* dir = ::opendir("/proc/self/fd")) {
    const int own = ::dirfd(dir);
    while (dirent* e = ::readdir(dir)) {
      int fd = std::atoi(e->d_name);
      if (e->d_name[0] >= '0' && e->d_name[0] <= '9' && fd > 2 && fd != own) fds.push_back(fd);
    }
    ::closedir(dir);
  }
  for (int fd : fds) {
    char target[512] = {};
    std::string path = "/proc/self/fd/" + std::to_string(fd);
    ssize_t n = ::readlink(path.c_str(), target, sizeof target - 1);
    found += "fd " + std::to_string(fd) + " -> " + (n > 0 ? std::string(target, static_cast<std::size_t>(n)) : "?");
    int sub = ::openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (sub >= 0) {
      found += " (openat works)";
      ::close(sub);
    }
    int cwd = ::open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (::fchdir(fd) == 0) {
      found += " (fchdir works)";
      if (cwd >= 0) (void)!::fchdir(cwd);
    }
    if (cwd >= 0) ::close(cwd);
    found += "; ";
  }
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string_view entry = *e;
    if (!secret.empty() && entry.find(secret) != std::string_view::npos)
      found += "environment: " + std::string(entry.substr(0, entry.find('='))) + " holds the secret; ";
  }
  std::string names;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) names += " " + std::string(*e).substr(0, std::string(*e).find('='));
  samples::print_line("attack " + std::string(name) + ": environment:" + names);
  if (!found.empty()) return succeeded(name, found);
  return blocked(name, "no descriptor above 2, " + std::string(secret.empty() ? "no secret given" : "the secret is not in the environment"));
}

// A host daemon's Unix socket (docker.sock, a root-only 0700 directory under /run).
int attack_host_socket(std::string_view name, int argc, char** argv) {
  if (argc < 1) return usage_error(name, "PATH");
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return blocked(name, "socket: " + errno_text(errno));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, argv[0], sizeof addr.sun_path - 1);
  int rc = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  int err = errno;
  ::close(fd);
  if (rc == 0) return succeeded(name, std::string("connected to ") + argv[0]);
  return blocked(name, std::string("connect ") + argv[0] + ": " + errno_text(err));
}

// Fork up to N processes that wait; report how many the kernel allowed, then end them all.
int attack_forkbomb(std::string_view name, int argc, char** argv) {
  const long wanted = argc > 0 ? std::atol(argv[0]) : 3000;
  if (wanted <= 0) return usage_error(name, "N (a positive number)");
  int gate[2];
  if (::pipe2(gate, O_CLOEXEC) != 0) return blocked(name, "pipe: " + errno_text(errno));
  std::vector<pid_t> children;
  int err = 0;
  for (long i = 0; i < wanted; ++i) {
    pid_t pid = ::fork();
    if (pid < 0) {
      err = errno;
      break;
    }
    if (pid == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
      ::close(gate[1]);
      char c;
      (void)!::read(gate[0], &c, 1); // returns at EOF: when the parent closes its end
      ::_exit(0);
    }
    children.push_back(pid);
  }
  ::close(gate[1]);
  for (pid_t pid : children) ::kill(pid, SIGKILL);
  for (pid_t pid : children) ::waitpid(pid, nullptr, 0);
  std::string what = "forked " + std::to_string(children.size()) + " of " + std::to_string(wanted);
  if (static_cast<long>(children.size()) < wanted) return blocked(name, what + ", then fork: " + errno_text(err));
  return succeeded(name, what);
}

// kernel.core_pattern is host-wide: whoever sets it runs a program as host root on the next crash.
// The attack writes back the value it reads, so a success is seen without changing the host.
int attack_core_pattern(std::string_view name, int, char**) {
  const char* path = "/proc/sys/kernel/core_pattern";
  char current[256] = {};
  int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  ssize_t n = fd >= 0 ? ::read(fd, current, sizeof current - 1) : -1;
  if (fd >= 0) ::close(fd);
  if (n <= 0) return blocked(name, std::string("read ") + path + ": " + errno_text(errno));
  fd = ::open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return blocked(name, std::string("open ") + path + " for writing: " + errno_text(errno));
  ssize_t w = ::write(fd, current, static_cast<std::size_t>(n));
  int err = errno;
  ::close(fd);
  if (w == n) return succeeded(name, std::string(path) + " is writable (its own value was written back)");
  return blocked(name, std::string("write ") + path + ": " + errno_text(err));
}

// ---- end of the terminal .. /proc/sys block ----

struct Mode {
  std::string_view name;
  std::string_view usage;
  int (*run)(std::string_view name, int argc, char** argv); // argv[0] is the first ARG
};

// Modes, in the order of the attack classes of the threat model (README).
constexpr Mode modes[] = {
    {"none", "does nothing (a control run)", [](std::string_view name, int, char**) { return succeeded(name, "nothing"); }},
    // terminal, host sockets, descriptors and environment, limits, /proc/sys
    {"tiocsti", "[TEXT]: TIOCSTI TEXT into fd 0 and /dev/tty", attack_tiocsti},
    {"fds-env", "[SECRET]: list fds above 2, try them as directories, look for SECRET in the environment", attack_fds_env},
    {"host-socket", "PATH: connect to the Unix socket PATH", attack_host_socket},
    {"forkbomb", "[N]: fork up to N waiting children (default 3000), report how many, end them", attack_forkbomb},
    {"core-pattern", "write /proc/sys/kernel/core_pattern (its own value)", attack_core_pattern},
    // end of the terminal .. /proc/sys block
};

} // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::string text = "usage: attack MODE [ARG...]\nmodes:\n";
    for (const auto& m : modes) text += "  " + std::string(m.name) + "  " + std::string(m.usage) + "\n";
    (void)!::write(STDERR_FILENO, text.data(), text.size());
    return exit_usage;
  }
  const std::string_view wanted = argv[1];
  for (const auto& m : modes)
    if (m.name == wanted) return m.run(m.name, argc - 2, argv + 2);
  std::string text = "attack: unknown mode " + std::string(wanted) + "\n";
  (void)!::write(STDERR_FILENO, text.data(), text.size());
  return exit_usage;
}
