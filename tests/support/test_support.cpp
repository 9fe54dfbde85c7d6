// Test helpers: locations, running commands with a time limit, temporary directories.
#include "test_support.hpp"

#include <sys/ioctl.h>
#include <unistd.h>

#include "nucleus/sandbox/filter.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace nucleus::test {

std::filesystem::path source_dir() { return NUCLEUS_SOURCE_DIR; }
std::filesystem::path binary_dir() { return NUCLEUS_BINARY_DIR; }
std::filesystem::path shared_dir() {
  if (const char* env = std::getenv("NUCLEUS_SHARED_DIR")) return env;
  return source_dir().parent_path() / "shared";
}
std::filesystem::path sample(const std::string& name) { return binary_dir() / "samples" / name; }
std::filesystem::path tool(const std::string& name) { return binary_dir() / "tools" / name; }

bool is_root() { return ::geteuid() == 0; }
bool must_work() {
  const char* v = std::getenv("NUCLEUS_MUST_WORK");
  return v != nullptr && std::string_view(v) == "1";
}

RunResult run(const std::vector<std::string>& argv, const std::string& input, int timeout_s) {
  int in[2], out[2], err[2];
  if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0)
    throw std::runtime_error("pipe failed");
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(in[0], 0);
    ::dup2(out[1], 1);
    ::dup2(err[1], 2);
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
  ::close(in[0]);
  ::close(out[1]);
  ::close(err[1]);
  RunResult result;
  std::size_t written = 0;
  if (input.empty()) ::close(in[1]);
  ::fcntl(in[1], F_SETFL, O_NONBLOCK);
  bool in_open = !input.empty();
  bool out_open = true, err_open = true;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  while (out_open || err_open) {
    pollfd fds[3] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}, {in[1], POLLOUT, 0}};
    if (!out_open) fds[0].fd = -1;
    if (!err_open) fds[1].fd = -1;
    if (!in_open) fds[2].fd = -1;
    auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
    if (left <= 0) {
      ::kill(pid, SIGKILL);
      result.err += "\n[test_support: killed after timeout]";
      break;
    }
    if (::poll(fds, 3, static_cast<int>(left)) < 0) continue;
    char buf[65536];
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd >= 0 && (fds[i].revents & (POLLIN | POLLHUP)) != 0) {
        ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
        if (n <= 0) (i == 0 ? out_open : err_open) = false;
        else (i == 0 ? result.out : result.err).append(buf, static_cast<std::size_t>(n));
      }
    }
    if (in_open && (fds[2].revents & (POLLOUT | POLLERR)) != 0) {
      ssize_t n = ::write(in[1], input.data() + written, input.size() - written);
      if (n > 0) written += static_cast<std::size_t>(n);
      if (n < 0 || written == input.size()) {
        ::close(in[1]);
        in_open = false;
      }
    }
  }
  if (in_open) ::close(in[1]);
  ::close(out[0]);
  ::close(err[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

TempDir::TempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "nucleus-test-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
  // As root, the folder is given to the workload's unprivileged host identity (65534), as a user
  // gives a --rw folder to it: nucleus refuses a root-owned --rw folder, and the workload must be
  // able to reach the files the test puts here. Tests of the refusal make their own folder.
  if (::geteuid() == 0 && (::chown(tmpl.c_str(), 65534, 65534) != 0 || ::chmod(tmpl.c_str(), 0755) != 0))
    throw std::runtime_error("cannot give the test folder to uid 65534");
}
TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

void write_text(const std::filesystem::path& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary);
  f << text;
}
std::string read_text(const std::filesystem::path& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

void expect_golden(const std::string& name, const std::string& actual) {
  auto path = source_dir() / "tests/profilegen/golden" / name;
  if (const char* u = std::getenv("NUCLEUS_UPDATE_GOLDEN"); u != nullptr && std::string_view(u) == "1") {
    write_text(path, actual);
    ADD_FAILURE() << "golden " << name
                  << " rewritten (NUCLEUS_UPDATE_GOLDEN=1): review the diff, then run again without it";
    return;
  }
  ASSERT_TRUE(std::filesystem::exists(path)) << path << " missing; run with NUCLEUS_UPDATE_GOLDEN=1";
  EXPECT_EQ(read_text(path), actual) << "golden " << name << " differs; NUCLEUS_UPDATE_GOLDEN=1 rewrites it";
}

FilteredCall call_under_filter(const sandbox::BpfProgram& program, long nr, std::initializer_list<std::uint64_t> args) {
  std::uint64_t a[6] = {};
  std::size_t i = 0;
  for (auto v : args) a[i++] = v;
  int fds[2];
  EXPECT_EQ(::pipe(fds), 0);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(fds[0]);
    if (sandbox::install_filter(program) != 0) ::_exit(99);
    errno = 0;
    long ret = ::syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
    FilteredCall o{ret, ret < 0 ? errno : 0, 0};
    if (::write(fds[1], &o, sizeof o) != sizeof o) ::syscall(SYS_exit_group, 98);
    // The raw call: a sanitizer's _exit makes syscalls the filter under test may deny.
    ::syscall(SYS_exit_group, 0);
  }
  ::close(fds[1]);
  FilteredCall o{};
  ssize_t n = ::read(fds[0], &o, sizeof o);
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (WIFSIGNALED(status)) return {0, 0, WTERMSIG(status)};
  EXPECT_EQ(WEXITSTATUS(status), 0) << "the child could not install the filter or report";
  EXPECT_EQ(n, static_cast<ssize_t>(sizeof o));
  return o;
}

void take_terminal(int master, int slave) noexcept {
  ::setsid();
  ::ioctl(slave, TIOCSCTTY, 0);
  for (int fd = 0; fd < 3; ++fd) ::dup2(slave, fd);
  ::close(master);
  ::close(slave);
}

} // namespace nucleus::test
