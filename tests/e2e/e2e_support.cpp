// Whole-tool test helpers.
#include "e2e_support.hpp"

#include "nucleus/profile/oci.hpp"

#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <random>
#include <regex>
#include <stdexcept>
#include <sstream>

namespace nucleus::test {

nlohmann::json docker_default_resolved() {
  auto loaded = profile::load_profile(shared_dir() / "testdata/docker-seccomp/default.json");
  return nlohmann::json::parse(profile::to_oci_json(loaded.policy));
}

std::vector<nlohmann::json> probe_lines(const std::string& out) {
  std::vector<nlohmann::json> lines;
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line.front() != '{') continue;
    lines.push_back(nlohmann::json::parse(line));
  }
  return lines;
}

std::set<std::string> strace_names(const std::string& text) {
  static const std::regex call(R"(^(?:\[pid\s+\d+\]\s+|\d+\s+)?([a-z_0-9]+)\()");
  std::set<std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    std::smatch m;
    if (std::regex_search(line, m, call)) out.insert(m[1]);
  }
  return out;
}

std::string write_profile(const TempDir& dir, const std::string& name, const nlohmann::json& profile) {
  auto path = dir / name;
  write_text(path, profile.dump(2));
  return path.string();
}

namespace {

// The shared libraries `binary` loads, as the dynamic loader lists them.
std::vector<std::filesystem::path> libraries_of(const std::filesystem::path& binary) {
  auto r = run({"/usr/bin/ldd", binary.string()});
  std::vector<std::filesystem::path> libs;
  std::istringstream in(r.out);
  std::string line;
  while (std::getline(in, line)) {
    for (std::string_view token : {std::string_view("=> "), std::string_view("\t")}) {
      auto at = line.find(token);
      if (at == std::string::npos) continue;
      auto start = at + token.size();
      auto end = line.find(' ', start);
      std::string path = line.substr(start, end == std::string::npos ? std::string::npos : end - start);
      if (!path.empty() && path.front() == '/') {
        libs.emplace_back(path);
        break;
      }
    }
  }
  return libs;
}

} // namespace

nlohmann::json make_runc_bundle(const std::filesystem::path& bundle, const std::vector<std::filesystem::path>& binaries,
                                const std::vector<std::string>& args) {
  namespace fs = std::filesystem;
  auto rootfs = bundle / "rootfs";
  fs::create_directories(rootfs);
  for (const auto& binary : binaries) {
    fs::copy_file(binary, rootfs / binary.filename(), fs::copy_options::overwrite_existing);
    for (const auto& lib : libraries_of(binary)) {
      auto target = rootfs / lib.relative_path();
      fs::create_directories(target.parent_path());
      fs::copy_file(fs::canonical(lib), target, fs::copy_options::overwrite_existing);
    }
  }
  auto spec = run({runc_path, "spec", "--bundle", bundle.string()});
  if (spec.exit_code != 0) throw std::runtime_error("runc spec: " + spec.err);
  auto config = nlohmann::json::parse(read_text(bundle / "config.json"));
  config["process"]["terminal"] = false;
  config["process"]["args"] = args;
  config["root"]["readonly"] = true;
  return config;
}

void write_runc_config(const std::filesystem::path& bundle, const nlohmann::json& config) {
  write_text(bundle / "config.json", config.dump(2));
}

RunResult run_runc(const std::filesystem::path& bundle, const std::string& id) {
  return run({runc_path, "--root", (bundle.parent_path() / "state").string(), "run", "--bundle", bundle.string(), id},
             {}, 120);
}

bool have_runsc() {
  for (const char* dir : {"/usr/bin", "/usr/local/bin", "/usr/sbin", "/bin"})
    if (::access((std::string(dir) + "/runsc").c_str(), X_OK) == 0) return true;
  return false;
}

bool int80_works() {
  auto r = run({sample("probe").string(), "i386/getpid"});
  auto lines = probe_lines(r.out);
  return !lines.empty() && lines[0].value("status", "") != "not_applicable";
}

TraceFile read_trace_file(const std::filesystem::path& path) {
  TraceFile t;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    auto j = nlohmann::json::parse(line);
    if (j["type"] == "header") t.header = j;
    else if (j["type"] == "syscall") t.syscalls.push_back(j);
    else if (j["type"] == "summary") t.summary = j;
  }
  return t;
}

PtyOutcome run_on_terminal(const std::vector<std::string>& argv, winsize size) {
  int master = -1, slave = -1;
  if (::openpty(&master, &slave, nullptr, nullptr, &size) != 0) throw std::runtime_error("openpty");
  termios before{};
  ::tcgetattr(slave, &before);
  struct stat st {};
  ::fstat(slave, &st);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid == 0) {
    nucleus::test::take_terminal(master, slave);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  PtyOutcome o;
  o.pid = pid;
  o.device = "terminal device " + std::to_string(st.st_rdev) + ";";
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  int status = 0;
  bool done = false;
  while (!done && std::chrono::steady_clock::now() < deadline) {
    pollfd p{master, POLLIN, 0};
    if (::poll(&p, 1, 50) > 0 && (p.revents & POLLIN) != 0) {
      char buf[4096];
      ssize_t n = ::read(master, buf, sizeof buf);
      if (n > 0) o.output.append(buf, static_cast<std::size_t>(n));
    }
    done = ::waitpid(pid, &status, WNOHANG) == pid;
  }
  if (!done) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
  }
  for (;;) {
    pollfd p{master, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) break;
    char buf[4096];
    ssize_t n = ::read(master, buf, sizeof buf);
    if (n <= 0) break;
    o.output.append(buf, static_cast<std::size_t>(n));
  }
  o.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  termios after{};
  ::tcgetattr(slave, &after);
  o.settings_restored = after.c_lflag == before.c_lflag && after.c_iflag == before.c_iflag;
  o.injected = pending_input(slave);
  ::close(master);
  ::close(slave);
  return o;
}

std::string pending_input(int slave) {
  termios t{};
  ::tcgetattr(slave, &t);
  t.c_lflag &= ~static_cast<tcflag_t>(ICANON);
  t.c_cc[VMIN] = 0;
  t.c_cc[VTIME] = 0;
  ::tcsetattr(slave, TCSANOW, &t);
  ::fcntl(slave, F_SETFL, ::fcntl(slave, F_GETFL) | O_NONBLOCK);
  char buf[4096];
  ssize_t n = ::read(slave, buf, sizeof buf);
  return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
}

HostSocket::HostSocket(Access access) {
  const bool open = access == Access::anyone;
  std::random_device rd;
  dir_ = std::string(open ? "/run/nucleus-test-open-" : "/run/nucleus-test-sock-") + std::to_string(::getpid()) + "-" +
         std::to_string(rd() % 1000000000U);
  if (::mkdir(dir_.c_str(), open ? 0755 : 0700) != 0) throw std::runtime_error("mkdir " + dir_);
  path_ = dir_ + "/daemon.sock";
  fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path_.c_str());
  if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      (open && ::chmod(path_.c_str(), 0777) != 0) || ::listen(fd_, 8) != 0) {
    ::close(fd_);
    ::unlink(path_.c_str());
    ::rmdir(dir_.c_str());
    throw std::runtime_error("bind " + path_);
  }
}

HostSocket::~HostSocket() {
  ::close(fd_);
  ::unlink(path_.c_str());
  ::rmdir(dir_.c_str());
}

int HostSocket::connections() {
  int n = 0;
  for (int c; (c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC)) >= 0; ++n) ::close(c);
  return n;
}

} // namespace nucleus::test
