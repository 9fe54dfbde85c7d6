// review: each rule fires on its trigger and not on a near miss, the inventory per executable, what
// --against calls new, completeness, and merge_traces (behaviour records unioned through the cap).
#include "nucleus/profile/review.hpp"

#include "nucleus/profile/merge.hpp"
#include "nucleus/core/error.hpp"
#include "nucleus/core/io.hpp"
#include "nucleus/core/sensitive.hpp"
#include "nucleus/core/strings.hpp"
#include "nucleus/core/syscalls.hpp"

#include "test_support.hpp"

#include <gtest/gtest.h>

#include <sched.h>
#include <sys/socket.h>

#include <csignal>

#include <algorithm>
#include <set>

using namespace nucleus;
using core::FileAccess;
using core::Outcome;

namespace {

constexpr const char* app = "/opt/tools/app";
const std::vector<std::string> workspace{"/home/dev/project"};

core::FileAccessSet acc(std::initializer_list<FileAccess> items) {
  core::FileAccessSet out = 0;
  for (auto a : items) out = static_cast<core::FileAccessSet>(out | static_cast<core::FileAccessSet>(a));
  return out;
}

core::Trace base() {
  core::Trace t;
  t.header = {{"./app"}, "ebpf", "6.1.0", "2026-12-07T09:00:00Z", ""};
  t.header.behaviour = true;
  t.header.arguments = true;
  t.header.workspace = workspace;
  t.summary = core::TraceSummary{10, 1, 0, 0, 5, 0};
  return t;
}

core::TraceFile file(std::string path, core::FileAccessSet access, int mode = -1, std::string syscall = "openat") {
  core::TraceFile f{app, std::move(syscall), std::move(path), access, "", Outcome::ok, 1};
  f.mode = mode;
  return f;
}

core::TraceSyscall call(const std::string& name, std::vector<core::TraceArgValues> args = {}) {
  auto arch = core::native_arch();
  return {arch, *core::syscall_number(arch, name), name, 1, app, std::move(args)};
}

// The ids of the findings for a trace with these records.
std::multiset<std::string> ids(const core::Trace& t, const std::vector<std::string>& ws = workspace) {
  std::multiset<std::string> out;
  for (const auto& f : profile::review_findings(t, ws, {t.header.command})) out.insert(f.id);
  return out;
}

std::multiset<std::string> ids_of_file(core::TraceFile f) {
  auto t = base();
  t.files.push_back(std::move(f));
  return ids(t);
}

std::multiset<std::string> ids_of_net(core::TraceNet n) {
  auto t = base();
  n.exe = app;
  t.nets.push_back(std::move(n));
  return ids(t);
}

std::multiset<std::string> ids_of_exec(std::string path, std::vector<std::string> argv) {
  auto t = base();
  t.execs.push_back({app, std::move(path), std::move(argv), false, Outcome::ok, 1});
  return ids(t);
}

std::multiset<std::string> ids_of_call(core::TraceSyscall s) {
  auto t = base();
  t.syscalls.push_back(std::move(s));
  return ids(t);
}

using Ids = std::multiset<std::string>;
const auto reading = acc({FileAccess::read});
const auto write_create = acc({FileAccess::write, FileAccess::create});

} // namespace

TEST(ReviewRules, CredentialsReadAndNearMisses) {
  for (const char* secret : {"/home/dev/.ssh/id_ed25519", "/root/.ssh/id_rsa", "/home/dev/.aws/credentials",
                             "/home/dev/.netrc", "/home/dev/.git-credentials", "/home/dev/.docker/config.json",
                             "/home/dev/.config/gcloud/application_default_credentials.json", "/home/dev/.npmrc",
                             "/home/dev/.gnupg/private-keys-v1.d/ABC.key", "/etc/shadow",
                             "/home/dev/.mozilla/firefox/x.default/logins.json", "/etc/ssh/ssh_host_ed25519_key"})
    EXPECT_EQ(ids_of_file(file(secret, reading)), Ids{"credential-read"}) << secret;
  for (const char* near_miss :
       {"/home/dev/.ssh/known_hosts", "/home/dev/.ssh/id_ed25519.pub", "/home/dev/.ssh/config", "/etc/passwd",
        "/etc/ssh/ssh_host_ed25519_key.pub", "/home/dev/project/.npmrc.example", "/home/dev/.gnupg/pubring.kbx"})
    EXPECT_EQ(ids_of_file(file(near_miss, reading)), Ids{}) << near_miss;
  // A failed open is still an attempt, said as such.
  auto t = base();
  auto failed = file("/home/dev/.ssh/id_rsa", reading);
  failed.result = Outcome::failed;
  t.files.push_back(failed);
  auto findings = profile::review_findings(t, workspace);
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_EQ(findings[0].severity, profile::Severity::high);
  EXPECT_NE(findings[0].message.find("the call failed"), std::string::npos) << findings[0].message;
  EXPECT_EQ(findings[0].exe, app);
}

TEST(ReviewRules, OtherProcessesEnvironAndMemory) {
  EXPECT_EQ(ids_of_file(file("/proc/1234/environ", reading)), Ids{"process-secrets"});
  EXPECT_EQ(ids_of_file(file("/proc/1234/task/1235/mem", reading)), Ids{"process-secrets"});
  EXPECT_EQ(ids_of_file(file("/proc/1234/mem", acc({FileAccess::read, FileAccess::write}))),
            (Ids{"process-memory-write", "write-outside-workspace"}));
  EXPECT_EQ(ids_of_file(file("/proc/self/environ", reading)), Ids{});
  EXPECT_EQ(ids_of_file(file("/proc/1234/status", reading)), Ids{});
  EXPECT_EQ(ids_of_file(file("/proc/1234/environment/x", reading)), Ids{});
}

TEST(ReviewRules, PersistenceIsAWriteNotARead) {
  for (const char* start_up :
       {"/home/dev/.bashrc", "/home/dev/.profile", "/home/dev/.ssh/authorized_keys",
        "/home/dev/project/.git/hooks/pre-commit", "/etc/cron.d/job", "/home/dev/.config/systemd/user/x.service",
        "/etc/ld.so.preload", "/home/dev/.config/autostart/x.desktop"})
    EXPECT_EQ(ids_of_file(file(start_up, acc({FileAccess::write, FileAccess::append}))), Ids{"persistence"})
        << start_up;
  EXPECT_EQ(ids_of_file(file("/home/dev/.bashrc", reading)), Ids{}) << "shells read it on every start";
  EXPECT_EQ(ids_of_file(file("/home/dev/project/.git/config", write_create)), Ids{})
      << "inside the workspace, not a hook";
  // A rename onto a start-up file changes it too, and a rename away from one removes it.
  auto onto = file("/home/dev/.bashrc", acc({FileAccess::rename}), -1, "rename");
  onto.target = "/home/dev/project/x";
  EXPECT_EQ(ids_of_file(onto), Ids{"persistence"});
  auto away = file("/home/dev/project/y", acc({FileAccess::rename}), -1, "rename");
  away.target = "/home/dev/.ssh/authorized_keys";
  EXPECT_EQ(ids_of_file(away), Ids{"persistence"});
}

TEST(ReviewRules, WritesAgainstTheWorkspace) {
  EXPECT_EQ(ids_of_file(file("/home/dev/project/out/a.o", write_create)), Ids{});
  EXPECT_EQ(ids_of_file(file("/home/dev/project", acc({FileAccess::mkdir}))), Ids{});
  EXPECT_EQ(ids_of_file(file("/home/dev/project-other/a", write_create)), Ids{"write-outside-workspace"})
      << "a sibling whose name starts like the workspace is outside it";
  EXPECT_EQ(ids_of_file(file("/home/dev/notes.txt", acc({FileAccess::remove}), -1, "unlink")),
            Ids{"write-outside-workspace"});
  EXPECT_EQ(ids_of_file(file("/tmp/x.123", write_create)), Ids{"write-temp"});
  EXPECT_EQ(ids_of_file(file("/dev/shm/sem.x", write_create)), Ids{"write-temp"});
  EXPECT_EQ(ids_of_file(file("/dev/null", acc({FileAccess::write}))), Ids{});
  EXPECT_EQ(ids_of_file(file("/dev/pts/3", acc({FileAccess::write}))), Ids{});
  EXPECT_EQ(ids_of_file(file("out/a.o", write_create)), Ids{"write-unresolved"});
  EXPECT_EQ(ids_of_file(file("/usr/lib/x", reading)), Ids{}) << "a read is no write";
  // --workspace replaces the trace's: the same write is then outside.
  auto t = base();
  t.files.push_back(file("/home/dev/project/a", write_create));
  EXPECT_EQ(ids(t, {"/srv/build"}), Ids{"write-outside-workspace"});
  EXPECT_EQ(ids(t, {"/"}), Ids{});
}

TEST(ReviewRules, SetIdModes) {
  EXPECT_EQ(ids_of_file(file("/home/dev/project/x", acc({FileAccess::chmod}), 04755, "fchmodat")), Ids{"set-id-mode"});
  EXPECT_EQ(ids_of_file(file("/home/dev/project/x", write_create, 02755)), Ids{"set-id-mode"});
  EXPECT_EQ(ids_of_file(file("/home/dev/project/x", acc({FileAccess::chmod}), 0755, "chmod")), Ids{});
  EXPECT_EQ(ids_of_file(file("/home/dev/project/x", acc({FileAccess::write}), 04755)), Ids{})
      << "a mode on an open that creates nothing sets nothing";
}

TEST(ReviewRules, NetworkByScopeAndDns) {
  EXPECT_EQ(ids_of_net({"", "connect", "inet", "", "203.0.113.7", 443}), Ids{"network-public"});
  EXPECT_EQ(ids_of_net({"", "connect", "inet6", "", "2001:db8::1", 443}), Ids{"network-public"});
  EXPECT_EQ(ids_of_net({"", "sendto", "inet", "", "10.1.2.3", 9999}), Ids{"network-private"});
  EXPECT_EQ(ids_of_net({"", "connect", "inet", "", "172.31.0.1", 80}), Ids{"network-private"});
  EXPECT_EQ(ids_of_net({"", "connect", "inet", "", "172.32.0.1", 80}), Ids{"network-public"}) << "just past 172.16/12";
  EXPECT_EQ(ids_of_net({"", "connect", "inet6", "", "fe80::1", 80}), Ids{"network-private"});
  EXPECT_EQ(ids_of_net({"", "connect", "inet", "", "127.0.0.1", 8080}), Ids{"network-loopback"});
  EXPECT_EQ(ids_of_net({"", "connect", "inet6", "", "::ffff:127.0.0.1", 8080}), Ids{"network-loopback"});
  EXPECT_EQ(ids_of_net({"", "sendto", "inet", "", "192.0.2.53", 53}), Ids{"dns-query"});
  EXPECT_EQ(ids_of_net({"", "connect", "inet", "", "127.0.0.53", 53}), Ids{"dns-query"});
  EXPECT_EQ(ids_of_net({"", "connect", "inet", "", "169.254.169.254", 80}), Ids{"cloud-metadata"});
  EXPECT_EQ(ids_of_net({"", "connect", "unix", "", "/var/run/docker.sock"}), Ids{"container-socket"});
  EXPECT_EQ(ids_of_net({"", "connect", "unix", "", "/run/user/1000/bus"}), Ids{});
  EXPECT_EQ(ids_of_net({"", "connect", "unix", "", "/tmp/not-docker.sock.txt"}), Ids{});
  EXPECT_EQ(ids_of_net({"", "bind", "inet", "", "0.0.0.0", 8080}), Ids{"network-listen"})
      << "0.0.0.0 as a destination is this host; as a bind address it listens everywhere";
  EXPECT_EQ(ids_of_net({"", "connect", "inet", "", "0.0.0.0", 8080}), Ids{"network-loopback"});
  EXPECT_EQ(ids_of_net({"", "bind", "inet", "", "192.168.1.5", 8080}), Ids{"network-listen"});
  EXPECT_EQ(ids_of_net({"", "bind", "inet", "", "127.0.0.1", 8080}), Ids{});
  EXPECT_EQ(ids_of_net({"", "socket", "packet", "raw"}), Ids{"raw-socket"});
  EXPECT_EQ(ids_of_net({"", "socket", "inet", "stream"}), Ids{});
}

TEST(ReviewRules, ProgramsStarted) {
  EXPECT_EQ(ids_of_exec("/bin/sh", {"sh", "-c", "id"}), Ids{"shell-started"});
  EXPECT_EQ(ids_of_exec("/usr/bin/bash", {"bash"}), Ids{"shell-started"});
  EXPECT_EQ(ids_of_exec("/usr/bin/python3.11", {"python3", "x.py"}), Ids{"interpreter-started"});
  EXPECT_EQ(ids_of_exec("/usr/bin/curl", {"curl", "-fsSL", "https://example.com/x"}), Ids{"downloader-started"});
  EXPECT_EQ(ids_of_exec("/usr/bin/sudo", {"sudo", "id"}), Ids{"privilege-program"});
  EXPECT_EQ(ids_of_exec("/usr/bin/git", {"git", "status"}), Ids{});
  EXPECT_EQ(ids_of_exec("/usr/bin/shasum", {"shasum"}), Ids{}) << "a name that starts like a shell";
  EXPECT_EQ(ids_of_exec("./app", {"./app"}), Ids{}) << "the traced command itself";
}

TEST(ReviewRules, PrivilegeAndKernelSurfaceFromSyscalls) {
  EXPECT_EQ(ids_of_call(call("unshare", {{0, {CLONE_NEWUSER}, false}})), Ids{"user-namespace"});
  EXPECT_EQ(ids_of_call(call("clone", {{0, {CLONE_NEWUSER | CLONE_NEWNS | SIGCHLD}, false}})), Ids{"user-namespace"});
  EXPECT_EQ(ids_of_call(call("unshare", {{0, {CLONE_NEWNS}, false}})), Ids{"namespaces"});
  EXPECT_EQ(ids_of_call(call("unshare")), Ids{"namespaces"}) << "no flags recorded: cannot be ruled out";
  EXPECT_EQ(ids_of_call(call("clone", {{0, {CLONE_VM | CLONE_FS | CLONE_THREAD | CLONE_SIGHAND}, false}})), Ids{})
      << "a thread";
  EXPECT_EQ(ids_of_call(call("clone")), Ids{}) << "fork without recorded flags";
  EXPECT_EQ(ids_of_call(call("mount")), Ids{"mount"});
  EXPECT_EQ(ids_of_call(call("ptrace")), Ids{"ptrace"});
  EXPECT_EQ(ids_of_call(call("bpf")), Ids{"bpf"});
  EXPECT_EQ(ids_of_call(call("finit_module")), Ids{"kernel-module"});
  EXPECT_EQ(ids_of_call(call("io_uring_setup")), Ids{"io-uring"});
  EXPECT_EQ(ids_of_call(call("setns")), Ids{"namespaces"});
  EXPECT_EQ(ids_of_call(call("openat")), Ids{});
  auto findings = profile::review_findings(
      [] {
        auto t = base();
        t.syscalls.push_back(call("finit_module"));
        return t;
      }(),
      workspace);
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_EQ(findings[0].severity, profile::Severity::critical);
  EXPECT_NE(findings[0].reason.find("kernel"), std::string::npos) << "check's reason for the syscall";
}

TEST(ReviewRules, EveryRuleIsDocumentedOnceWithItsSeverity) {
  std::set<std::string> seen;
  const std::string readme = core::read_file(test::source_dir() / "README.md");
  for (const auto& r : profile::review_rules()) {
    EXPECT_TRUE(seen.insert(std::string(r.id)).second) << r.id;
    EXPECT_FALSE(r.trigger.empty() || r.reason.empty() || r.fix.empty()) << r.id;
    std::string row = "| `" + std::string(r.id) + "` | " + std::string(profile::severity_name(r.severity)) + " |";
    EXPECT_NE(readme.find(row), std::string::npos) << "README's rules table lacks: " << row;
  }
}

TEST(ReviewRules, OneFindingPerSubjectAndAtMostTwentyOfARulePerExecutable) {
  auto t = base();
  t.files.push_back(file("/tmp/a", write_create));
  t.files.push_back(file("/tmp/a", acc({FileAccess::remove}), -1, "unlink"));
  EXPECT_EQ(ids(t), Ids{"write-temp"});
  for (int i = 0; i < 30; ++i) t.files.push_back(file("/srv/out/" + std::to_string(i), write_create));
  auto findings = profile::review_findings(t, workspace);
  auto outside =
      std::count_if(findings.begin(), findings.end(), [](const auto& f) { return f.id == "write-outside-workspace"; });
  EXPECT_EQ(outside, 21);
  auto more = std::find_if(findings.begin(), findings.end(), [](const auto& f) { return f.subject == "(more)"; });
  ASSERT_NE(more, findings.end());
  EXPECT_NE(more->message.find("10 more"), std::string::npos) << more->message;
}

TEST(ReviewInventory, PerExecutableWithGroupsAndValues) {
  auto t = base();
  t.files.push_back(file("/home/dev/project/in.txt", reading));
  t.files.push_back(file("/home/dev/project/out.txt", write_create));
  t.execs.push_back({app, "/bin/sh", {"sh", "-c", "echo hi"}, false, Outcome::ok, 1});
  t.nets.push_back({"/bin/sh", "connect", "inet", "", "127.0.0.1", 80, Outcome::failed, 1});
  t.syscalls.push_back(call("socket", {{0, {AF_UNIX, AF_INET}, false}, {1, {SOCK_STREAM}, true}}));
  t.syscalls.push_back(call("mount"));
  auto inv = profile::review_inventory(t);
  ASSERT_EQ(inv.size(), 2u);
  EXPECT_EQ(inv[0].exe, "/bin/sh");
  ASSERT_EQ(inv[0].network.size(), 1u);
  const auto& a = inv[1];
  EXPECT_EQ(a.exe, app);
  ASSERT_EQ(a.reads.size(), 1u);
  EXPECT_EQ(a.reads[0].path, "/home/dev/project/in.txt");
  ASSERT_EQ(a.writes.size(), 1u);
  ASSERT_EQ(a.programs.size(), 1u);
  std::map<std::string, std::vector<std::string>> groups;
  for (const auto& g : a.syscalls)
    for (const auto& u : g.syscalls) groups[g.group].push_back(u.name + " " + core::join(u.values, "; "));
  EXPECT_EQ(groups["@mount"], std::vector<std::string>{"mount "}) << "under @mount, not @privileged";
  ASSERT_EQ(groups["@network-io"].size(), 1u);
  EXPECT_EQ(groups["@network-io"][0],
            "socket domain: AF_UNIX, AF_INET; type: SOCK_STREAM (and more: the recorder kept 1)");
}

TEST(ReviewTraces, SaysWhatWasNotRecordedAndWhatIsIncomplete) {
  auto old_style = base();
  old_style.header.behaviour = false;
  old_style.header.source = "audit-netlink";
  old_style.syscalls.push_back(call("ptrace"));
  auto r = profile::review_traces({{"old.trace", old_style}});
  EXPECT_FALSE(r.behaviour_recorded);
  ASSERT_FALSE(r.notes.empty());
  EXPECT_NE(r.notes[0].find("files, network and programs were not recorded"), std::string::npos) << r.notes[0];
  EXPECT_TRUE(r.incomplete.empty());
  ASSERT_EQ(r.findings.size(), 1u) << "its syscalls are still reviewed";
  EXPECT_EQ(r.findings[0].id, "ptrace");

  auto warned = base();
  warned.header.warnings = {"paths are as the workload saw them inside the sandbox"};
  r = profile::review_traces({{"w.trace", warned}});
  ASSERT_EQ(r.notes.size(), 1u);
  EXPECT_EQ(r.notes[0], "w.trace: the recorder warns: paths are as the workload saw them inside the sandbox");

  auto dropped = base();
  dropped.summary->behaviour_dropped = 12;
  r = profile::review_traces({{"d.trace", dropped}});
  ASSERT_EQ(r.incomplete.size(), 1u);
  EXPECT_NE(r.incomplete[0].find("12 behaviour record(s) dropped"), std::string::npos) << r.incomplete[0];
  auto lost = base();
  lost.summary->loss = "the ring buffer overflowed";
  r = profile::review_traces({{"l.trace", lost}});
  ASSERT_EQ(r.incomplete.size(), 1u);
  EXPECT_NE(r.incomplete[0].find("ring buffer overflowed"), std::string::npos);
  // More distinct records than the review keeps: the rest are said to be missing, not dropped silently.
  auto huge = base();
  for (std::size_t i = 0; i <= core::BehaviourSet::default_cap; ++i)
    huge.files.push_back(file("/w/" + std::to_string(i), reading));
  r = profile::review_traces({{"h.trace", huge}});
  ASSERT_EQ(r.incomplete.size(), 1u);
  EXPECT_EQ(r.incomplete[0].rfind("1 behaviour record(s) not reviewed", 0), 0u) << r.incomplete[0];
  auto unfinished = base();
  unfinished.summary.reset();
  EXPECT_EQ(profile::review_traces({{"u.trace", unfinished}}).incomplete.size(), 1u);
  EXPECT_THROW(profile::review_traces({}), core::Error);
}

TEST(ReviewAgainst, OnlyWhatIsNewAndItsFindings) {
  auto before = base();
  before.files.push_back(file("/home/dev/.netrc", reading));
  before.files.push_back(file("/home/dev/project/x", acc({FileAccess::read, FileAccess::write})));
  before.nets.push_back({app, "connect", "inet", "", "203.0.113.7", 443, Outcome::ok, 1});
  before.execs.push_back({app, "/usr/bin/git", {"git", "status"}, false, Outcome::ok, 1});
  before.syscalls.push_back(call("clone", {{0, {SIGCHLD}, false}}));
  auto after = before;
  after.files.push_back(file("/home/dev/project/x", reading)); // less than before: not new
  after.files.push_back(file("/home/dev/.ssh/id_rsa", reading));
  after.nets.push_back({app, "connect", "inet", "", "198.51.100.9", 443, Outcome::ok, 1});
  after.execs.push_back({app, "/usr/bin/curl", {"curl", "https://x"}, false, Outcome::ok, 1});
  after.syscalls[0].args[0].values.push_back(CLONE_NEWUSER | SIGCHLD);
  after.syscalls.push_back(call("ptrace"));
  auto r = profile::review_against({{"v1.trace", before}}, {{"v2.trace", after}});
  EXPECT_EQ(r.against, std::vector<std::string>{"v1.trace"});
  std::multiset<std::string> got;
  for (const auto& f : r.findings) got.insert(f.id + " " + f.subject);
  EXPECT_EQ(got, (std::multiset<std::string>{"credential-read /home/dev/.ssh/id_rsa", "network-public 198.51.100.9:443",
                                             "downloader-started /usr/bin/curl",
                                             "user-namespace clone(CLONE_NEWUSER|SIGCHLD)", "ptrace ptrace"}));
  ASSERT_EQ(r.executables.size(), 1u);
  EXPECT_EQ(r.executables[0].reads.size(), 1u) << "the inventory holds the new things only";
  std::vector<std::string> calls;
  for (const auto& g : r.executables[0].syscalls)
    for (const auto& u : g.syscalls) calls.push_back(u.name + " " + core::join(u.values, "; "));
  std::sort(calls.begin(), calls.end());
  EXPECT_EQ(calls, (std::vector<std::string>{"clone flags: CLONE_NEWUSER|SIGCHLD", "ptrace "}))
      << "clone's old value is not new; a syscall made by both with nothing new is not listed";
  EXPECT_TRUE(profile::review_against({{"v1.trace", before}}, {{"v1-again.trace", before}}).findings.empty());
}

TEST(MergeTraces, UnitesSyscallsAndBehaviourKeepingLoss) {
  auto a = base();
  a.syscalls.push_back(call("socket", {{0, {AF_INET}, false}}));
  a.files.push_back(file("/x", reading));
  a.summary->behaviour_dropped = 2;
  auto b = base();
  b.header.workspace = {"/srv"};
  b.header.behaviour = false;
  b.syscalls.push_back(call("socket", {{0, {AF_UNIX}, false}}));
  b.files.push_back(file("/x", reading));
  b.files.push_back(file("/y", reading));
  b.summary->loss = "stream ended early";
  auto m = profile::merge_traces({a, b});
  ASSERT_EQ(m.syscalls.size(), 1u);
  EXPECT_EQ(m.syscalls[0].count, 2u);
  EXPECT_EQ(m.syscalls[0].args[0].values, (std::vector<std::uint64_t>{AF_UNIX, AF_INET}));
  ASSERT_EQ(m.files.size(), 2u);
  EXPECT_EQ(m.files[0].count, 2u);
  EXPECT_FALSE(m.header.behaviour) << "one trace without behaviour records: their absence means nothing";
  EXPECT_EQ(m.header.workspace, (std::vector<std::string>{"/home/dev/project", "/srv"}));
  EXPECT_EQ(m.summary->behaviour_dropped, 2u);
  EXPECT_EQ(m.summary->loss, "stream ended early");
  // The cap holds for the union: what passes it is counted, not lost silently.
  auto capped = profile::merge_traces({a, b}, 1);
  EXPECT_EQ(capped.files.size(), 1u);
  EXPECT_EQ(capped.summary->behaviour_dropped, 3u);
  // Values past what a recorder keeps are an overflow.
  auto many = base();
  core::TraceArgValues values{1, {}, false};
  for (std::uint64_t i = 0; i < core::arg_values_max; ++i) values.values.push_back(i);
  many.syscalls.push_back(call("ioctl", {values}));
  auto more = many;
  more.syscalls[0].args[0].values = {1000};
  auto merged = profile::merge_traces({many, more});
  EXPECT_TRUE(merged.syscalls[0].args[0].overflow);
  EXPECT_EQ(merged.syscalls[0].args[0].values.size(), core::arg_values_max);
  // Written and read back: the merged trace is a trace.
  EXPECT_EQ(core::read_trace(core::write_trace(m), "m.trace"), m);
}
