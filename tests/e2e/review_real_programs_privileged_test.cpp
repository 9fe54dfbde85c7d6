// Real programs under the eBPF recorder (--trust-level trusted), checked against strace: `git clone`
// of a local repository, `pip download` from a local folder of wheels, `curl` of an HTTP server the test runs. Each
// runs under `strace -f -e trace=file,network` inside nucleus-trace, so both see the same run in the
// same sandbox; every file strace saw opened successfully for reading or writing, every connect and
// every program run is in `nucleus-profile review --format json`'s inventory.
#include "e2e_support.hpp"

#include "nucleus/core/fd.hpp"
#include "nucleus/core/io.hpp"
#include "nucleus/tracer/ebpf.hpp"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

using namespace nucleus;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// What strace saw, from its output: complete lines (a call split by another thread's is joined).
struct Seen {
  std::set<std::string> read, written, relative, programs, endpoints;
};

std::vector<std::string> joined_lines(const std::string& text) {
  std::vector<std::string> out;
  std::map<std::string, std::string> pending; // by pid: the part before "<unfinished ...>"
  static const std::regex line_re(R"(^(\d+)\s+(.*)$)");
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    std::smatch m;
    if (!std::regex_match(line, m, line_re)) continue;
    const std::string pid = m[1], rest = m[2];
    if (auto cut = rest.find(" <unfinished ...>"); cut != std::string::npos) {
      pending[pid] = rest.substr(0, cut);
    } else if (rest.starts_with("<... ")) {
      auto close = rest.find("resumed>");
      if (close != std::string::npos && pending.contains(pid)) out.push_back(pending[pid] + rest.substr(close + 8));
      pending.erase(pid);
    } else {
      out.push_back(rest);
    }
  }
  return out;
}

// The recorder folds a path lexically ("//", ".", "..", a trailing "/"); strace prints it as asked.
std::string folded(const std::string& path) {
  std::string p = fs::path(path).lexically_normal().string();
  while (p.size() > 1 && p.ends_with("/")) p.pop_back();
  return p;
}

Seen parse_strace(const std::string& text) {
  Seen s;
  static const std::regex open_re(R"re(^(open|openat|openat2|creat)\((?:[^,"]+, )?"([^"\\]*)"(.*)\) = (\d+))re");
  static const std::regex exec_re(R"re(^execve\("([^"\\]*)".*\) = 0$)re");
  static const std::regex inet_re(
      R"re(^connect\(\d+, \{sa_family=AF_INET6?, sin6?_port=htons\((\d+)\).*(?:inet_addr\("|inet_pton\(AF_INET6, ")([^"]+)")re");
  static const std::regex unix_re(R"re(^connect\(\d+, \{sa_family=AF_UNIX, sun_path="([^"\\]*)")re");
  for (const auto& line : joined_lines(text)) {
    std::smatch m;
    if (std::regex_search(line, m, open_re)) {
      const std::string path = folded(m[2]), flags = m[3];
      if (flags.find("O_PATH") != std::string::npos) continue; // no read or write: a lookup
      const bool write =
          m[1] == "creat" || flags.find("O_WRONLY") != std::string::npos || flags.find("O_RDWR") != std::string::npos;
      const bool read = m[1] != "creat" && flags.find("O_WRONLY") == std::string::npos;
      if (!path.starts_with("/")) s.relative.insert(path);
      else {
        if (read) s.read.insert(path);
        if (write) s.written.insert(path);
      }
    } else if (std::regex_search(line, m, exec_re)) {
      s.programs.insert(m[1]);
    } else if (std::regex_search(line, m, inet_re)) {
      s.endpoints.insert(std::string(m[2]) + " " + std::string(m[1]));
    } else if (std::regex_search(line, m, unix_re)) {
      s.endpoints.insert(std::string(m[1]) + " -1");
    }
  }
  return s;
}

// The review's inventory of every executable: paths with the access names asked, endpoints, programs.
struct Inventory {
  std::map<std::string, std::set<std::string>> access; // path -> read, write, create, ...
  std::set<std::string> endpoints, programs;
};

Inventory inventory(const json& review) {
  Inventory inv;
  for (const auto& e : review["inventory"]) {
    for (const char* kind : {"files_read", "files_written"})
      for (const auto& f : e[kind])
        for (const auto& a : f["access"]) inv.access[f["path"].get<std::string>()].insert(a.get<std::string>());
    for (const auto& n : e["network"])
      if (n.contains("address"))
        inv.endpoints.insert(n["address"].get<std::string>() + " " + std::to_string(n.value("port", -1)));
    for (const auto& p : e["programs"]) inv.programs.insert(p["path"].get<std::string>());
  }
  return inv;
}

// Runs `command` under strace inside nucleus-trace (eBPF, trusted), reviews the trace and checks
// that the inventory holds what strace saw.
void check_against_strace(const test::TempDir& work, const std::vector<std::string>& flags,
                          const std::vector<std::string>& command, Seen& seen) {
  const std::string trace = (work / "t.trace").string(), strace_out = (work / "strace.out").string();
  std::vector<std::string> argv{test::tool("nucleus-trace").string(),
                                "-q",
                                "--trust-level=trusted",
                                "--source",
                                "ebpf",
                                "-o",
                                trace,
                                "--rw",
                                work.path().string()};
  argv.insert(argv.end(), flags.begin(), flags.end());
  argv.insert(argv.end(), {"--", "/usr/bin/strace", "-f", "-qq", "-e", "trace=file,network", "-o", strace_out});
  argv.insert(argv.end(), command.begin(), command.end());
  auto r = test::run(argv, {}, 120);
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  auto review = test::run({test::tool("nucleus-profile").string(), "review", "--format", "json", trace});
  auto j = json::parse(review.out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << review.err;
  ASSERT_TRUE(j["complete"].get<bool>()) << j["incomplete"].dump();
  const Inventory inv = inventory(j);
  seen = parse_strace(core::read_file(strace_out));
  ASSERT_FALSE(seen.read.empty());

  auto has = [&](const std::string& path, const char* access) {
    auto it = inv.access.find(path);
    return it != inv.access.end() && it->second.contains(access);
  };
  std::string missing;
  for (const auto& p : seen.read)
    if (!has(p, "read") && !has(p, "list")) missing += "  read " + p + "\n";
  for (const auto& p : seen.written)
    if (!has(p, "write")) missing += "  write " + p + "\n";
  // strace prints a relative path as asked; the recorder makes it absolute, so its record ends so.
  for (const auto& rel : seen.relative) {
    const std::string tail = rel;
    if (tail == "." || tail.starts_with("..")) continue; // folded into its directory: not a suffix
    bool found = false;
    for (const auto& [path, _] : inv.access) found = found || path.ends_with("/" + tail);
    if (!found) missing += "  relative " + rel + "\n";
  }
  for (const auto& e : seen.endpoints)
    if (!inv.endpoints.contains(e)) missing += "  connect " + e + "\n";
  for (const auto& p : seen.programs)
    if (!inv.programs.contains(p)) missing += "  exec " + p + "\n";
  EXPECT_EQ(missing, "") << "strace saw these, the review's inventory lacks them";
}

class ReviewRealProgramsPrivileged : public ::testing::Test {
protected:
  void SetUp() override {
    NUCLEUS_REQUIRE_ROOT();
    if (auto why = tracer::ebpf_unavailable(nullptr)) NUCLEUS_SKIP(*why);
    fs::permissions(work.path(), fs::perms::all);
  }
  // Everything below the folder belongs to the workload's identity (host uid 65534).
  void hand_over() {
    ASSERT_EQ(::chown(work.path().c_str(), 65534, 65534), 0);
    for (const auto& p : fs::recursive_directory_iterator(work.path()))
      ASSERT_EQ(::lchown(p.path().c_str(), 65534, 65534), 0);
  }
  void require(const char* program) {
    if (!fs::exists(program)) NUCLEUS_SKIP(std::string(program) + " is not installed");
  }
  test::TempDir work;
};

} // namespace

TEST_F(ReviewRealProgramsPrivileged, GitCloneOfALocalRepository) {
  require("/usr/bin/git");
  const std::string src = (work / "src").string();
  fs::create_directories(src);
  test::write_text(work / "src/README", "hello\n");
  for (auto args : std::vector<std::vector<std::string>>{{"init", "-q"}, {"add", "README"}, {"commit", "-qm", "one"}}) {
    std::vector<std::string> argv{"/usr/bin/git", "-C", src, "-c", "user.name=t", "-c", "user.email=t@t"};
    argv.insert(argv.end(), args.begin(), args.end());
    ASSERT_EQ(test::run(argv).exit_code, 0);
  }
  hand_over();
  Seen seen;
  check_against_strace(work, {}, {"/usr/bin/git", "clone", "-q", src, (work / "dst").string()}, seen);
  // The checkout, by a path relative to the new work tree (git chdirs there) or an absolute one.
  EXPECT_TRUE(seen.relative.contains("README") || seen.written.contains((work / "dst/README").string()));
  EXPECT_FALSE(seen.programs.empty()); // git runs git-upload-pack for a local clone
  EXPECT_TRUE(fs::exists(work / "dst/README"));
}

// pip fetches a package from a local folder of wheels (no index, no network): the wheel it read
// and the copy it wrote are in the inventory.
TEST_F(ReviewRealProgramsPrivileged, PipDownloadFromALocalFolder) {
  require("/usr/bin/python3");
  if (test::run({"/usr/bin/python3", "-m", "pip", "--version"}).exit_code != 0) NUCLEUS_SKIP("pip is not installed");
  fs::create_directories(work / "wheels");
  const std::string wheel = (work / "wheels/tinypkg-1.0.0-py3-none-any.whl").string();
  auto made = test::run(
      {"/usr/bin/python3", "-c",
       "import sys, zipfile\n"
       "with zipfile.ZipFile(sys.argv[1], 'w') as z:\n"
       "  z.writestr('tinypkg/__init__.py', 'x = 1\\n')\n"
       "  z.writestr('tinypkg-1.0.0.dist-info/METADATA', 'Metadata-Version: 2.1\\nName: tinypkg\\nVersion: 1.0.0\\n')\n"
       "  z.writestr('tinypkg-1.0.0.dist-info/WHEEL', 'Wheel-Version: 1.0\\nGenerator: test\\nRoot-Is-Purelib: "
       "true\\nTag: py3-none-any\\n')\n"
       "  z.writestr('tinypkg-1.0.0.dist-info/RECORD', '')\n",
       wheel});
  ASSERT_EQ(made.exit_code, 0) << made.err;
  hand_over();
  Seen seen;
  check_against_strace(work, {},
                       {"/usr/bin/python3", "-m", "pip", "download", "-q", "--no-index", "--no-cache-dir",
                        "--disable-pip-version-check", "--find-links", (work / "wheels").string(), "-d",
                        (work / "dl").string(), "tinypkg"},
                       seen);
  EXPECT_TRUE(seen.read.contains(wheel));
  EXPECT_TRUE(fs::exists(work / "dl/tinypkg-1.0.0-py3-none-any.whl"));
}

// The server is the test's, on the host's loopback: the workload reaches it with --network host.
TEST_F(ReviewRealProgramsPrivileged, CurlOfALocalHttpServer) {
  require("/usr/bin/curl");
  core::UniqueFd server(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  ASSERT_TRUE(server);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(server.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(server.get(), 4), 0);
  socklen_t len = sizeof addr;
  ASSERT_EQ(::getsockname(server.get(), reinterpret_cast<sockaddr*>(&addr), &len), 0);
  const int port = ntohs(addr.sin_port);
  std::thread answer([fd = server.get()] {
    core::UniqueFd client(::accept4(fd, nullptr, nullptr, SOCK_CLOEXEC));
    if (!client) return;
    char buf[4096];
    (void)::read(client.get(), buf, sizeof buf); // the request: its content does not matter
    const std::string reply = "HTTP/1.0 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n";
    (void)::write(client.get(), reply.data(), reply.size());
  });
  hand_over();
  Seen seen;
  check_against_strace(work, {"--network", "host", "--allow-host-network"},
                       {"/usr/bin/curl", "-sS", "-o", (work / "page").string(),
                        "http://127.0.0.1:" + std::to_string(port) + "/index.html"},
                       seen);
  EXPECT_TRUE(seen.endpoints.contains("127.0.0.1 " + std::to_string(port)));
  ::shutdown(server.get(), SHUT_RDWR); // wakes the accept if curl never came
  answer.join();
  EXPECT_EQ(core::read_file(work / "page"), "ok\n");
}
