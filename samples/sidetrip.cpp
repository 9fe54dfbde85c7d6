// sidetrip: a line counter with side trips. With no flags it counts the lines of FILE (or of
// standard input) and prints "sidetrip: N lines", nothing else. Each flag adds one side trip of
// the kind a reviewer must see before letting a tool run: a key read, persistence, a write
// outside the working directory, network egress, a DNS query, a shell, a user namespace. It
// exists so that `nucleus-profile review` and the behaviour recorders have a workload whose
// behaviour is known in advance.
//
//   sidetrip [--read-key] [--persist] [--write-tmp] [--connect ADDR:PORT] [--dns ADDR]
//            [--shell CMD] [--userns] [--keep-going] [FILE]
//
// The side trips run after the count, in the order of the usage line. --persist appends a line to
// $HOME/.bashrc: run it with HOME pointing at a scratch directory. A failed side trip is reported
// on standard error and makes the exit status 1, unless --keep-going (an attempt is what the
// recorders see, whether the call succeeded or not).
//
// System calls beyond start-up: read (the input), openat and close (FILE), write (the report);
// --read-key: openat, read, close; --persist: openat (O_WRONLY|O_CREAT|O_APPEND), write, close;
// --write-tmp: openat (O_RDWR|O_CREAT|O_EXCL, by mkstemp), write, close, unlink; --connect:
// socket, connect, close; --dns: socket (SOCK_DGRAM), sendto (port 53), close; --shell: clone
// (fork), execve of /bin/sh in the child, wait4; --userns: unshare(CLONE_NEWUSER).
#include "sample_io.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

using samples::print_line;

namespace {

constexpr std::string_view usage_text =
    "usage: sidetrip [--read-key] [--persist] [--write-tmp] [--connect ADDR:PORT] [--dns ADDR]\n"
    "                [--shell CMD] [--userns] [--keep-going] [FILE]\n"
    "Counts the lines of FILE (default: standard input) and prints \"sidetrip: N lines\".\n"
    "Each flag adds a side trip, made after the count in this order:\n"
    "  --read-key           read $HOME/.ssh/id_ed25519 (its content is not printed)\n"
    "  --persist            append a line to $HOME/.bashrc (point HOME at a scratch directory)\n"
    "  --write-tmp          create /tmp/sidetrip.XXXXXX, write a line, remove it\n"
    "  --connect ADDR:PORT  TCP connect to ADDR:PORT (IPv4 a.b.c.d:P or IPv6 [x::y]:P)\n"
    "  --dns ADDR           send one DNS query (A example.com) over UDP to ADDR port 53\n"
    "  --shell CMD          run /bin/sh -c CMD and wait for it\n"
    "  --userns             unshare(CLONE_NEWUSER): ask for a user namespace\n"
    "  --keep-going         a failed side trip is reported but does not make the exit status 1\n"
    "Exit status: 0 on success, 1 when the count or a side trip failed, 2 on a usage error.\n";

struct Options {
  bool read_key = false;
  bool persist = false;
  bool write_tmp = false;
  const char* connect = nullptr;
  const char* dns = nullptr;
  const char* shell = nullptr;
  bool userns = false;
  bool keep_going = false;
  const char* file = nullptr;
};

// A socket address parsed from "a.b.c.d" or "x::y" (with `port`), or "a.b.c.d:P" / "[x::y]:P".
struct Address {
  sockaddr_storage storage{};
  socklen_t length = 0;
};

bool make_address(const std::string& host, int port, Address& out) {
  if (port < 0 || port > 65535) return false;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&out.storage);
  if (::inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<std::uint16_t>(port));
    out.length = sizeof(sockaddr_in);
    return true;
  }
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&out.storage);
  if (::inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<std::uint16_t>(port));
    out.length = sizeof(sockaddr_in6);
    return true;
  }
  return false;
}

bool parse_port(std::string_view text, int& port) {
  if (text.empty() || text.size() > 5) return false;
  port = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    port = port * 10 + (c - '0');
  }
  return port <= 65535;
}

bool parse_endpoint(std::string_view text, Address& out) {
  std::string_view host;
  std::string_view port_text;
  if (text.starts_with('[')) {
    auto close = text.find("]:");
    if (close == std::string_view::npos) return false;
    host = text.substr(1, close - 1);
    port_text = text.substr(close + 2);
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string_view::npos) return false;
    host = text.substr(0, colon);
    port_text = text.substr(colon + 1);
  }
  int port = 0;
  return parse_port(port_text, port) && make_address(std::string(host), port, out);
}

bool report(const char* trip, const std::string& what) {
  std::fprintf(stderr, "sidetrip: %s: %s\n", trip, what.c_str());
  return false;
}

bool report_errno(const char* trip, const std::string& what) {
  return report(trip, what + ": " + std::strerror(errno));
}

// Counts newlines with read(2); a last line without one counts too.
bool count_lines(int fd, std::uint64_t& lines) {
  char buffer[65536];
  char last = '\n';
  lines = 0;
  for (;;) {
    ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    if (n == 0) break;
    for (ssize_t i = 0; i < n; ++i) lines += buffer[i] == '\n' ? 1 : 0;
    last = buffer[n - 1];
  }
  if (last != '\n') ++lines;
  return true;
}

std::string home() {
  const char* value = std::getenv("HOME");
  return value != nullptr && *value != '\0' ? value : "/";
}

bool write_all(int fd, std::string_view text) {
  while (!text.empty()) {
    ssize_t n = ::write(fd, text.data(), text.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    text.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

bool read_key() {
  std::string path = home() + "/.ssh/id_ed25519";
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return report_errno("read-key", "open " + path);
  char buffer[4096];
  ssize_t n = ::read(fd, buffer, sizeof buffer);
  int saved = errno;
  ::close(fd);
  errno = saved;
  return n >= 0 || report_errno("read-key", "read " + path);
}

bool persist() {
  std::string path = home() + "/.bashrc";
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return report_errno("persist", "open " + path);
  bool ok = write_all(fd, "# added by sidetrip\n");
  int saved = errno;
  ::close(fd);
  errno = saved;
  return ok || report_errno("persist", "write " + path);
}

bool write_tmp() {
  char path[] = "/tmp/sidetrip.XXXXXX";
  int fd = ::mkstemp(path);
  if (fd < 0) return report_errno("write-tmp", std::string("mkstemp ") + path);
  bool ok = write_all(fd, "sidetrip was here\n");
  int saved = errno;
  ::close(fd);
  ::unlink(path);
  errno = saved;
  return ok || report_errno("write-tmp", std::string("write ") + path);
}

bool connect_to(const char* endpoint) {
  Address address;
  if (!parse_endpoint(endpoint, address)) return report("connect", std::string("bad endpoint ") + endpoint);
  int fd = ::socket(address.storage.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return report_errno("connect", "socket");
  int rc = ::connect(fd, reinterpret_cast<const sockaddr*>(&address.storage), address.length);
  int saved = errno;
  ::close(fd);
  errno = saved;
  return rc == 0 || report_errno("connect", std::string("connect ") + endpoint);
}

// One DNS query: id 0x5344, recursion desired, one question: example.com, type A, class IN.
bool dns_query(const char* server) {
  Address address;
  if (!make_address(server, 53, address)) return report("dns", std::string("bad address ") + server);
  static constexpr unsigned char query[] = {
      0x53, 0x44, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,    // header
      7,    'e',  'x',  'a',  'm',  'p',  'l',  'e',  3,    'c',  'o',  'm',  0, // example.com
      0x00, 0x01, 0x00, 0x01};                                                   // A, IN
  int fd = ::socket(address.storage.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return report_errno("dns", "socket");
  ssize_t n = ::sendto(fd, query, sizeof query, 0, reinterpret_cast<const sockaddr*>(&address.storage), address.length);
  int saved = errno;
  ::close(fd);
  errno = saved;
  return n == static_cast<ssize_t>(sizeof query) || report_errno("dns", std::string("sendto ") + server);
}

bool run_shell(const char* command) {
  pid_t pid = ::fork();
  if (pid < 0) return report_errno("shell", "fork");
  if (pid == 0) {
    const char* argv[] = {"sh", "-c", command, nullptr};
    ::execve("/bin/sh", const_cast<char* const*>(argv), environ);
    ::_exit(127);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return report_errno("shell", "waitpid");
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return true;
  return report("shell", "/bin/sh -c exited with status " + std::to_string(status));
}

bool ask_userns() { return ::unshare(CLONE_NEWUSER) == 0 || report_errno("userns", "unshare(CLONE_NEWUSER)"); }

// 0 on success, 2 on a usage error (message written).
int parse(int argc, char** argv, Options& options) {
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    auto value = [&](const char*& slot) {
      if (i + 1 >= argc) return false;
      slot = argv[++i];
      return true;
    };
    bool ok = true;
    if (arg == "--help") {
      std::fputs(usage_text.data(), stdout);
      std::exit(0);
    } else if (arg == "--read-key") {
      options.read_key = true;
    } else if (arg == "--persist") {
      options.persist = true;
    } else if (arg == "--write-tmp") {
      options.write_tmp = true;
    } else if (arg == "--connect") {
      ok = value(options.connect);
    } else if (arg == "--dns") {
      ok = value(options.dns);
    } else if (arg == "--shell") {
      ok = value(options.shell);
    } else if (arg == "--userns") {
      options.userns = true;
    } else if (arg == "--keep-going") {
      options.keep_going = true;
    } else if (arg.starts_with('-') && arg != "-") {
      ok = false;
    } else if (options.file == nullptr) {
      options.file = argv[i];
    } else {
      ok = false;
    }
    if (!ok) {
      std::fprintf(stderr, "sidetrip: bad argument %s\n%s", argv[i], usage_text.data());
      return 2;
    }
  }
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  Options options;
  if (int rc = parse(argc, argv, options); rc != 0) return rc;

  int fd = STDIN_FILENO;
  if (options.file != nullptr && std::string_view(options.file) != "-") {
    fd = ::open(options.file, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      std::fprintf(stderr, "sidetrip: cannot open %s: %s\n", options.file, std::strerror(errno));
      return 1;
    }
  }
  std::uint64_t lines = 0;
  bool counted = count_lines(fd, lines);
  if (fd != STDIN_FILENO) ::close(fd);
  if (!counted) {
    std::fprintf(stderr, "sidetrip: read failed: %s\n", std::strerror(errno));
    return 1;
  }

  bool trips_ok = true;
  if (options.read_key) trips_ok &= read_key();
  if (options.persist) trips_ok &= persist();
  if (options.write_tmp) trips_ok &= write_tmp();
  if (options.connect != nullptr) trips_ok &= connect_to(options.connect);
  if (options.dns != nullptr) trips_ok &= dns_query(options.dns);
  if (options.shell != nullptr) trips_ok &= run_shell(options.shell);
  if (options.userns) trips_ok &= ask_userns();

  if (!print_line("sidetrip: " + std::to_string(lines) + " lines")) return 1;
  return trips_ok || options.keep_going ? 0 : 1;
}
