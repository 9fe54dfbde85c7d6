// nucleus-run --policy with the real kernel and the real runsc: the sidetrip sample under a policy
// that grants only its job (count the lines of a file in its workspace). Its job works; each side
// trip (the SSH key, ~/.bashrc, a write outside the workspace, a connect to another port) is
// denied, at the trusted level (mounts and Landlock) and under gVisor (mounts only).
#include "e2e_support.hpp"

#include "nucleus/tracer/source.hpp"

#include <gtest/gtest.h>

#include <linux/audit.h>
#include <linux/netlink.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using nucleus::test::RunResult;
using nucleus::test::write_text;

namespace {

using nucleus::test::have_runsc;

// A home with a key and a .bashrc, a workspace the workload owns (it runs as uid 65534), a data
// directory it may only read, and a policy that grants the system, the sample, the workspace
// (read, write, create, remove) and the data (read), and TCP connect to port `port` only.
// A scratch directory outside /tmp, which the sandbox replaces with its own: what lies here
// would be visible in a sandbox that showed the host's root.
struct ScratchDir {
  fs::path path;
  ScratchDir() {
    std::string tmpl = "/var/tmp/nucleus-policy-test-XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path = tmpl;
  }
  ~ScratchDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  fs::path operator/(const std::string& name) const { return path / name; }
};

struct Scene {
  ScratchDir dir;
  fs::path home = dir / "home";
  fs::path work = dir / "work";
  fs::path data = dir / "data";
  fs::path policy = dir / "app.policy.json";
  fs::path profile = dir / "allow.json";

  explicit Scene(bool with_port) {
    fs::create_directories(home / ".ssh");
    fs::create_directories(work);
    fs::create_directories(data);
    write_text(home / ".ssh/id_ed25519", "SECRET-KEY-MATERIAL\n");
    write_text(home / ".bashrc", "# rc\n");
    write_text(work / "in.txt", "one\ntwo\n");
    write_text(data / "ro.txt", "data\n");
    // The workload (uid 65534) owns them all: only the policy, never the files' modes, stands in its way.
    for (const auto& p : {work, work / "in.txt", data, data / "ro.txt", home, home / ".bashrc", home / ".ssh",
                          home / ".ssh/id_ed25519"})
      EXPECT_EQ(::chown(p.c_str(), 65534, 65534), 0);
    // The directories above them must let uid 65534 pass, as a home directory would.
    fs::permissions(dir.path, fs::perms::owner_all | fs::perms::others_exec | fs::perms::group_exec);
    const std::string samples = nucleus::test::sample("sidetrip").parent_path().string();
    std::string network = with_port ? R"("connect":[{"protocol":"tcp","address":"127.0.0.1","port":8080}])" : "";
    write_text(policy, R"({"format":"nucleus-policy","version":1,"files":[
      {"path":"/etc","access":["read"]},
      {"path":"/lib","access":["read","execute"]},
      {"path":"/lib64","access":["read","execute"]},
      {"path":"/usr","access":["read","execute"]},
      {"path":")" + samples +
                           R"(","access":["read","execute"]},
      {"path":")" + data.string() +
                           R"(","access":["read"]},
      {"path":")" + work.string() +
                           R"(","access":["read","write","create","remove"]}],
      "network":{)" + network +
                           "}}");
    write_text(profile, R"({"defaultAction":"SCMP_ACT_ALLOW"})");
  }

  RunResult run(const std::string& level, const std::vector<std::string>& args) const {
    std::vector<std::string> argv{nucleus::test::tool("nucleus-run"),
                                  "--trust-level",
                                  level,
                                  "--profile",
                                  profile,
                                  "--policy",
                                  policy,
                                  "--env",
                                  "HOME=" + home.string()};
    if (level == "untrusted") argv.push_back("--accept-unenforced-network");
    argv.push_back("--");
    argv.push_back(nucleus::test::sample("sidetrip"));
    argv.insert(argv.end(), args.begin(), args.end());
    argv.push_back((work / "in.txt").string());
    return nucleus::test::run(argv, {}, 120);
  }
};

class PolicyEnforcement : public ::testing::TestWithParam<std::string> {
protected:
  void SetUp() override {
    NUCLEUS_REQUIRE_ROOT();
    if (GetParam() == "untrusted" && !have_runsc()) NUCLEUS_SKIP("runsc (gVisor) is not installed");
  }
};

TEST_P(PolicyEnforcement, TheJobWorks) {
  Scene s(GetParam() == "trusted");
  RunResult r = s.run(GetParam(), {});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("sidetrip: 2 lines"), std::string::npos) << r.out << r.err;
}

TEST_P(PolicyEnforcement, TheKeyOutsideThePolicyIsNotThere) {
  Scene s(GetParam() == "trusted");
  RunResult r = s.run(GetParam(), {"--read-key"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("read-key: open " + (s.home / ".ssh/id_ed25519").string() + ": No such file"), std::string::npos)
      << r.err;
  EXPECT_EQ(r.out.find("SECRET"), std::string::npos);
}

TEST_P(PolicyEnforcement, BashrcIsNotWritten) {
  Scene s(GetParam() == "trusted");
  RunResult r = s.run(GetParam(), {"--persist"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("persist: open " + (s.home / ".bashrc").string()), std::string::npos) << r.err;
  EXPECT_EQ(nucleus::test::read_text(s.home / ".bashrc"), "# rc\n");
}

// /tmp is the sandbox's own, and the policy grants nothing there: read-only, at both levels.
TEST_P(PolicyEnforcement, NoWriteOutsideTheWorkspace) {
  Scene s(GetParam() == "trusted");
  RunResult r = s.run(GetParam(), {"--write-tmp"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("write-tmp: mkstemp /tmp/sidetrip."), std::string::npos) << r.err;
}

// A path the policy lets the workload read only: neither appended to nor added to. Under gVisor the
// read-only mount is all that stops it.
TEST_P(PolicyEnforcement, ReadOnlyPathStaysUnchanged) {
  Scene s(GetParam() == "trusted");
  std::vector<std::string> argv{nucleus::test::tool("nucleus-run"),
                                "--trust-level",
                                GetParam(),
                                "--profile",
                                s.profile,
                                "--policy",
                                s.policy,
                                "--accept-unenforced-network",
                                "--",
                                "/usr/bin/sh",
                                "-c",
                                "echo x >> " + (s.data / "ro.txt").string() + "; echo y > " +
                                    (s.data / "new").string() + "; echo z > " + (s.work / "out.txt").string()};
  RunResult r = nucleus::test::run(argv, {}, 120);
  EXPECT_EQ(nucleus::test::read_text(s.data / "ro.txt"), "data\n") << r.err;
  EXPECT_FALSE(fs::exists(s.data / "new")) << r.err;
  EXPECT_EQ(nucleus::test::read_text(s.work / "out.txt"), "z\n") << r.err; // the workspace is writable
}

INSTANTIATE_TEST_SUITE_P(Levels, PolicyEnforcement, ::testing::Values("trusted", "untrusted"));

// Landlock's TCP rules: the policy's port is let through (nothing listens: refused), another is
// denied (EACCES) and reported, or, where the kernel's audit is off, the run says once that
// denials are not reported.
TEST(PolicyEnforcementTrusted, ConnectToAnotherPortIsDenied) {
  NUCLEUS_REQUIRE_ROOT();
  Scene s(true);
  RunResult allowed = s.run("trusted", {"--connect", "127.0.0.1:8080"});
  EXPECT_NE(allowed.err.find("connect 127.0.0.1:8080: Connection refused"), std::string::npos) << allowed.err;
  RunResult denied = s.run("trusted", {"--connect", "127.0.0.1:9"});
  EXPECT_EQ(denied.exit_code, 1);
  EXPECT_NE(denied.err.find("connect 127.0.0.1:9: Permission denied"), std::string::npos) << denied.err;
  const bool reported =
      denied.err.find("policy denied connect to 127.0.0.1:9 (Landlock: net.connect_tcp)") != std::string::npos &&
      denied.err.find("--connect tcp:127.0.0.1:9") != std::string::npos;
  const bool said_once = denied.err.find("enforced but not reported") != std::string::npos;
  EXPECT_TRUE(reported || said_once) << denied.err;
}

// gVisor cannot hold a port rule: refused unless the user accepts it.
TEST(PolicyEnforcementGvisor, PortRuleIsRefusedWithoutTheFlag) {
  NUCLEUS_REQUIRE_ROOT();
  if (!have_runsc()) NUCLEUS_SKIP("runsc (gVisor) is not installed");
  Scene s(true);
  RunResult r = nucleus::test::run({nucleus::test::tool("nucleus-run"), "--profile", s.profile, "--policy", s.policy,
                                    "--", nucleus::test::sample("sidetrip"), (s.work / "in.txt").string()});
  EXPECT_EQ(r.exit_code, 125);
  EXPECT_NE(r.err.find("cannot be enforced here"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--accept-unenforced-network"), std::string::npos) << r.err;
  EXPECT_EQ(r.out.find("sidetrip:"), std::string::npos);
}

// The kernel's audit switched on for one test and back to what it was: Landlock logs denials only
// while it is on. It is host-wide (every process's records change meanwhile), hence HostWide*,
// which CTest runs alone.
class AuditSwitch {
public:
  explicit AuditSwitch(bool on) : before_(nucleus::tracer::audit_enabled()) {
    if (before_) ok_ = set(on);
  }
  ~AuditSwitch() {
    if (ok_) set(*before_);
  }
  bool ok() const { return ok_; }

private:
  static bool set(bool on) {
    int fd = ::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_AUDIT);
    if (fd < 0) return false;
    struct {
      nlmsghdr header;
      audit_status status;
    } request{};
    request.header.nlmsg_len = sizeof request;
    request.header.nlmsg_type = AUDIT_SET;
    request.header.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
    request.status.mask = AUDIT_STATUS_ENABLED;
    request.status.enabled = on ? 1 : 0;
    sockaddr_nl kernel{};
    kernel.nl_family = AF_NETLINK;
    bool sent = ::sendto(fd, &request, sizeof request, 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel) ==
                static_cast<ssize_t>(sizeof request);
    alignas(nlmsghdr) char reply[1024];
    bool acked = false;
    if (sent && ::recv(fd, reply, sizeof reply, 0) >= static_cast<ssize_t>(sizeof(nlmsghdr) + sizeof(nlmsgerr))) {
      nlmsgerr err{};
      std::memcpy(&err, reply + sizeof(nlmsghdr), sizeof err);
      acked = err.error == 0;
    }
    ::close(fd);
    return acked && nucleus::tracer::audit_enabled() == std::optional<bool>(on);
  }

  std::optional<bool> before_;
  bool ok_ = false;
};

// With audit on, each denial comes live with the path or port, the process, and the command that
// allows it: a connect to another port, a file made where the policy lets files be written but
// not made, one removed where it does not let them be removed.
TEST(HostWidePolicyReport, LandlockDenialsAreReportedLive) {
  NUCLEUS_REQUIRE_ROOT();
  AuditSwitch audit(true);
  if (!audit.ok()) NUCLEUS_SKIP("the kernel's audit cannot be switched on here (AUDIT_SET refused)");
  Scene s(true);
  std::string text = nucleus::test::read_text(s.policy);
  const std::string full = R"(","access":["read","write","create","remove"]})";
  ASSERT_NE(text.find(full), std::string::npos);
  text.replace(text.find(full), full.size(), R"(","access":["read","write"]})");
  write_text(s.policy, text);

  RunResult port = s.run("trusted", {"--connect", "127.0.0.1:9"});
  EXPECT_NE(port.err.find("policy denied connect to 127.0.0.1:9 (Landlock: net.connect_tcp) in " +
                          nucleus::test::sample("sidetrip").string() + " [pid "),
            std::string::npos)
      << port.err;
  EXPECT_NE(port.err.find("to allow it: nucleus-profile add " + s.policy.string() + " --connect tcp:127.0.0.1:9"),
            std::string::npos)
      << port.err;

  RunResult files =
      nucleus::test::run({nucleus::test::tool("nucleus-run"), "--trust-level", "trusted", "--profile", s.profile,
                          "--policy", s.policy, "--", "/usr/bin/sh", "-c",
                          "echo > " + (s.work / "new").string() + "; /usr/bin/rm " + (s.work / "in.txt").string()},
                         {}, 120);
  EXPECT_NE(files.err.find("policy denied create of " + s.work.string() + " (Landlock: fs.make_reg) in " +
                           fs::canonical("/usr/bin/sh").string()),
            std::string::npos)
      << files.err;
  EXPECT_NE(files.err.find("--path " + s.work.string() + " --access create"), std::string::npos) << files.err;
  EXPECT_NE(files.err.find("policy denied remove of " + s.work.string() + " (Landlock: fs.remove_file) in /usr/bin/rm"),
            std::string::npos)
      << files.err;
  EXPECT_TRUE(fs::exists(s.work / "in.txt"));
  EXPECT_FALSE(fs::exists(s.work / "new"));
}

// Real tools under a policy that grants the system, a git repository (--rw folder's stand-in: the
// workspace) and TCP port 8765 to bind and connect: git log/status/commit, python3 writing a file,
// tar with xz (run through /bin/sh, as GNU tar runs its compressor) and curl to a local HTTP
// server on the policy's port work as they do outside; curl to another port is denied.
TEST(PolicyEnforcementTrusted, RealToolsRoundTrip) {
  NUCLEUS_REQUIRE_ROOT();
  for (const char* tool : {"/usr/bin/git", "/usr/bin/python3", "/usr/bin/tar", "/usr/bin/xz", "/usr/bin/curl"})
    if (::access(tool, X_OK) != 0) NUCLEUS_SKIP(std::string(tool) + " is not installed");
  ScratchDir dir;
  fs::permissions(dir.path, fs::perms::owner_all | fs::perms::others_exec | fs::perms::group_exec);
  const fs::path repo = dir / "repo";
  fs::create_directories(repo);
  write_text(repo / "f.txt", "hello\n");
  auto git = [&](std::vector<std::string> args) {
    std::vector<std::string> argv{"/usr/bin/git", "-C", repo.string(), "-c", "user.name=t", "-c", "user.email=t@e"};
    argv.insert(argv.end(), args.begin(), args.end());
    return nucleus::test::run(argv);
  };
  ASSERT_EQ(git({"init", "-q"}).exit_code, 0);
  ASSERT_EQ(git({"commit", "-q", "--allow-empty", "-m", "init"}).exit_code, 0);
  ASSERT_EQ(nucleus::test::run({"/usr/bin/chown", "-R", "65534:65534", repo.string()}).exit_code, 0);
  const fs::path policy = dir / "tools.policy.json";
  write_text(policy, R"({"format":"nucleus-policy","version":1,"files":[
    {"path":"/bin","access":["read","execute"]},{"path":"/etc","access":["read"]},
    {"path":"/lib","access":["read","execute"]},{"path":"/lib64","access":["read","execute"]},
    {"path":"/tmp","access":["read","write","create","remove"]},{"path":"/usr","access":["read","execute"]},
    {"path":")" + repo.string() +
                         R"(","access":["read","write","create","remove"]}],
    "network":{"connect":[{"protocol":"tcp","address":"127.0.0.1","port":8765}],"bind":[{"protocol":"tcp","port":8765}]}})");
  write_text(dir / "allow.json", R"({"defaultAction":"SCMP_ACT_ALLOW"})");
  auto sandboxed = [&](const std::string& script) {
    return nucleus::test::run({nucleus::test::tool("nucleus-run"), "-q", "--trust-level", "trusted", "--profile",
                               (dir / "allow.json").string(), "--policy", policy.string(), "--env", "HOME=/tmp", "--",
                               "/usr/bin/sh", "-c", "cd " + repo.string() + " && " + script},
                              {}, 120);
  };
  RunResult status = sandboxed("git status --short");
  EXPECT_EQ(status.exit_code, 0) << status.err;
  EXPECT_EQ(status.out, "?? f.txt\n");
  RunResult commit =
      sandboxed("git add f.txt && git -c user.name=t -c user.email=t@e commit -q -m add && git log --format=%s");
  EXPECT_EQ(commit.exit_code, 0) << commit.err;
  EXPECT_EQ(commit.out, "add\ninit\n");
  RunResult py = sandboxed("/usr/bin/python3 -c 'open(\"py.txt\", \"w\").write(\"py\\n\")' && cat py.txt");
  EXPECT_EQ(py.out, "py\n") << py.err;
  RunResult tar = sandboxed("tar -cJf a.tar.xz f.txt py.txt && tar -tJf a.tar.xz");
  EXPECT_EQ(tar.exit_code, 0) << tar.err;
  EXPECT_EQ(tar.out, "f.txt\npy.txt\n");
  RunResult curl = sandboxed(
      "(/usr/bin/python3 -m http.server 8765 --bind 127.0.0.1 >/dev/null 2>&1 &) ; "
      "for i in $(seq 50); do curl -s -o /dev/null http://127.0.0.1:8765/ && break; sleep 0.1; done; "
      "curl -s http://127.0.0.1:8765/f.txt; curl -sv -o /dev/null http://127.0.0.1:8766/ 2>&1 | grep 'connect fail'");
  EXPECT_NE(curl.out.find("hello\n"), std::string::npos) << curl.out << curl.err;
  EXPECT_NE(curl.out.find("Immediate connect fail for 127.0.0.1: Permission denied"), std::string::npos) << curl.out;
}

} // namespace
