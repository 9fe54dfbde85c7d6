// gen --policy: each generalisation rule widens only what it says, never to HOME, a parent of a
// workspace folder or a folder the program did not use; failed calls and relative paths grant
// nothing; a trace without behaviour records is refused; golden output of a whole trace.
#include "nucleus/profile/policy_gen.hpp"

#include "nucleus/profile/policy_review.hpp"
#include "nucleus/core/error.hpp"
#include "nucleus/core/strings.hpp"
#include "test_support.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <optional>

using namespace nucleus;
using core::FileAccess;
using core::PathAccess;

namespace {

constexpr std::string_view app = "/usr/bin/app";

core::PathAccessSet set(std::initializer_list<PathAccess> list) {
  core::PathAccessSet out = 0;
  for (auto a : list) out |= static_cast<core::PathAccessSet>(a);
  return out;
}
const core::PathAccessSet rwcr = set({PathAccess::read, PathAccess::write, PathAccess::create, PathAccess::remove});

core::Trace traced(std::vector<std::string> workspace = {}) {
  core::Trace t;
  t.header.command = {"app"};
  t.header.source = "ebpf";
  t.header.behaviour = true;
  t.header.workspace = std::move(workspace);
  return t;
}

void file(core::Trace& t, std::string path, core::FileAccessSet access, core::Outcome result = core::Outcome::ok,
          std::string target = {}) {
  t.files.push_back({std::string(app), "openat", std::move(path), access, std::move(target), result, 1});
}
constexpr core::FileAccessSet fa(FileAccess a) { return static_cast<core::FileAccessSet>(a); }

void run(core::Trace& t, std::string path, core::Outcome result = core::Outcome::ok) {
  t.execs.push_back({std::string(app), std::move(path), {"x"}, false, result, 1});
}

void net(core::Trace& t, std::string syscall, std::string family, std::string type, std::string address, int port,
         core::Outcome result = core::Outcome::ok) {
  t.nets.push_back(
      {std::string(app), std::move(syscall), std::move(family), std::move(type), std::move(address), port, result, 1});
}

const core::PathRule* entry(const core::AccessPolicy& p, std::string_view path) {
  auto it = std::find_if(p.files.begin(), p.files.end(), [&](const auto& r) { return r.path == path; });
  return it == p.files.end() ? nullptr : &*it;
}

// The access of the entry for exactly `path`; nullopt when there is none.
std::optional<core::PathAccessSet> granted(const core::AccessPolicy& p, std::string_view path) {
  const auto* e = entry(p, path);
  return e == nullptr ? std::nullopt : std::optional(e->access);
}

// Every program's loader is the x86_64 one, whatever this host has.
std::vector<std::string> loader_of(const std::string&) { return {"/lib64/ld-linux-x86-64.so.2"}; }

profile::PolicyGenResult gen(const core::Trace& t, std::vector<std::string> homes = {"/home/u"}) {
  return profile::generate_access_policy({t}, {std::move(homes), loader_of});
}

bool mentions(const std::vector<std::string>& lines, std::string_view text) {
  return std::any_of(lines.begin(), lines.end(),
                     [&](const std::string& l) { return l.find(text) != std::string::npos; });
}

} // namespace

TEST(PolicyGen, WorkspaceWidenedWhereWrittenAndSaysSo) {
  auto t = traced({"/home/u/proj"});
  file(t, "/home/u/proj/a.txt", fa(FileAccess::read));
  file(t, "/home/u/proj/b/c.txt", FileAccess::write | FileAccess::create);
  const auto r = gen(t);
  const auto* w = entry(r.policy, "/home/u/proj");
  ASSERT_NE(w, nullptr) << core::write_access_policy(r.policy);
  EXPECT_EQ(w->access, rwcr);
  EXPECT_NE(w->reason.find("(rule workspace)"), std::string::npos);
  EXPECT_EQ(r.widened, (std::vector<std::string>{"rule workspace widened /home/u/proj/a.txt, /home/u/proj/b/c.txt to "
                                                 "/home/u/proj (read,write,create,remove)"}));
  EXPECT_EQ(r.policy.files.size(), 1u) << core::write_access_policy(r.policy);
}

TEST(PolicyGen, WorkspaceOnlyReadStaysReadOnly) {
  auto t = traced({"/home/u/proj"});
  file(t, "/home/u/proj/a.txt", fa(FileAccess::read));
  const auto r = gen(t);
  ASSERT_NE(entry(r.policy, "/home/u/proj"), nullptr);
  EXPECT_EQ(granted(r.policy, "/home/u/proj"), set({PathAccess::read}));
}

TEST(PolicyGen, AWriteOnlyInTmpDoesNotMakeTheWorkspaceWritable) {
  auto t = traced({"/home/u/proj"});
  file(t, "/home/u/proj/a.txt", fa(FileAccess::read));
  file(t, "/tmp/app-1/out", FileAccess::write | FileAccess::create);
  const auto r = gen(t);
  EXPECT_EQ(core::access_for(r.policy, "/home/u/proj/a.txt"), set({PathAccess::read}));
  EXPECT_FALSE(core::has(core::access_for(r.policy, "/home/u/proj/new.txt"), PathAccess::write));
  ASSERT_NE(entry(r.policy, "/tmp"), nullptr);
  EXPECT_EQ(granted(r.policy, "/tmp"), rwcr);
  EXPECT_NE(entry(r.policy, "/tmp")->reason.find("(rule tmp)"), std::string::npos);
}

TEST(PolicyGen, ReadsInTmpWithoutWritesStayExact) {
  auto t = traced();
  file(t, "/tmp/shared.sock.cfg", fa(FileAccess::read));
  const auto r = gen(t);
  EXPECT_EQ(entry(r.policy, "/tmp"), nullptr);
  ASSERT_NE(entry(r.policy, "/tmp/shared.sock.cfg"), nullptr);
}

// The traced command ran in HOME: HOME is its working directory, but granting it would hand over
// every key and token in it. What the program used there is granted file by file.
TEST(PolicyGen, HomeIsNeverWidened) {
  auto t = traced({"/home/u"});
  file(t, "/home/u/notes.txt", fa(FileAccess::read));
  file(t, "/home/u/out.txt", FileAccess::write | FileAccess::create);
  file(t, "/home/u/.ssh/id_ed25519", fa(FileAccess::read));
  const auto r = gen(t);
  EXPECT_EQ(entry(r.policy, "/home/u"), nullptr) << core::write_access_policy(r.policy);
  ASSERT_NE(entry(r.policy, "/home/u/.ssh/id_ed25519"), nullptr);
  EXPECT_EQ(granted(r.policy, "/home/u/.ssh/id_ed25519"), set({PathAccess::read}));
  EXPECT_EQ(granted(r.policy, "/home/u/out.txt"), set({PathAccess::write, PathAccess::create}));
  EXPECT_EQ(core::access_for(r.policy, "/home/u/.ssh/id_rsa"), 0);
  EXPECT_EQ(core::access_for(r.policy, "/home/u/other.txt"), 0);
  EXPECT_TRUE(mentions(r.notes, "/home/u is not widened to")) << core::join(r.notes, "\n");
  EXPECT_TRUE(r.widened.empty()) << core::join(r.widened, "\n");
}

TEST(PolicyGen, TheCallersHomeAndFoldersAboveItAreNeverWidened) {
  auto t = traced({"/srv/me", "/srv"});
  file(t, "/srv/me/a.txt", FileAccess::write | FileAccess::create);
  file(t, "/srv/b.txt", FileAccess::write | FileAccess::create);
  const auto r = gen(t, {"/srv/me"});
  EXPECT_EQ(entry(r.policy, "/srv/me"), nullptr);
  EXPECT_EQ(entry(r.policy, "/srv"), nullptr);
  EXPECT_EQ(core::access_for(r.policy, "/srv/me/.ssh/id_rsa"), 0);
  EXPECT_TRUE(profile::too_wide_to_widen("/root", {}));
  EXPECT_TRUE(profile::too_wide_to_widen("/home/x", {}));
  EXPECT_TRUE(profile::too_wide_to_widen("/", {}));
  EXPECT_TRUE(profile::too_wide_to_widen("/var", {}));
  EXPECT_FALSE(profile::too_wide_to_widen("/home/x/proj", {}));
}

TEST(PolicyGen, TheParentOfARwFolderIsNotTheWorkspace) {
  auto t = traced({"/home/u/data/out"});
  file(t, "/home/u/data/out/x", FileAccess::write | FileAccess::create);
  file(t, "/home/u/data/in.txt", fa(FileAccess::read));
  const auto r = gen(t);
  EXPECT_EQ(entry(r.policy, "/home/u/data"), nullptr);
  EXPECT_EQ(granted(r.policy, "/home/u/data/out"), rwcr);
  EXPECT_EQ(granted(r.policy, "/home/u/data/in.txt"), set({PathAccess::read}));
  EXPECT_EQ(core::access_for(r.policy, "/home/u/data/other.txt"), 0);
}

TEST(PolicyGen, AWorkspaceFolderTheProgramDidNotUseGetsNothing) {
  auto t = traced({"/home/u/proj", "/home/u/other"});
  file(t, "/home/u/proj/a", fa(FileAccess::read));
  const auto r = gen(t);
  EXPECT_EQ(entry(r.policy, "/home/u/other"), nullptr);
  EXPECT_EQ(core::access_for(r.policy, "/home/u/other/x"), 0);
}

TEST(PolicyGen, SystemFoldersReadAndExecuteAsSeenNeverWritable) {
  auto t = traced();
  file(t, "/usr/lib/x86_64-linux-gnu/libc.so.6", fa(FileAccess::read));
  file(t, "/lib64/ld-linux-x86-64.so.2", fa(FileAccess::read));
  run(t, "/usr/bin/git");
  file(t, "/usr/local/share/app.db", FileAccess::read | FileAccess::write);
  const auto r = gen(t);
  EXPECT_EQ(granted(r.policy, "/usr"), set({PathAccess::read, PathAccess::execute}));
  ASSERT_NE(entry(r.policy, "/usr"), nullptr);
  EXPECT_EQ(entry(r.policy, "/usr")->reason, "system files (rule system)");
  EXPECT_EQ(granted(r.policy, "/lib64"), set({PathAccess::read, PathAccess::execute}))
      << "libraries are mapped executable";
  EXPECT_EQ(granted(r.policy, "/usr/local/share/app.db"), set({PathAccess::read, PathAccess::write}));
  EXPECT_FALSE(core::has(core::access_for(r.policy, "/usr/bin/other"), PathAccess::write));
  EXPECT_TRUE(mentions(r.widened, "rule system widened /usr/bin/git, /usr/lib/x86_64-linux-gnu/libc.so.6 to /usr"));
}

TEST(PolicyGen, TheProgramsOwnFolder) {
  auto t = traced();
  run(t, "/opt/tool/bin/tool");
  file(t, "/opt/tool/share/tool/data", fa(FileAccess::read));
  run(t, "/home/u/bin/helper");
  const auto r = gen(t);
  ASSERT_NE(entry(r.policy, "/opt/tool"), nullptr) << core::write_access_policy(r.policy);
  EXPECT_EQ(granted(r.policy, "/opt/tool"), set({PathAccess::read, PathAccess::execute}));
  EXPECT_NE(entry(r.policy, "/opt/tool")->reason.find("(rule own)"), std::string::npos);
  EXPECT_EQ(entry(r.policy, "/home/u"), nullptr) << "a bin in HOME: its folder, not HOME";
  ASSERT_NE(entry(r.policy, "/home/u/bin"), nullptr);
  EXPECT_EQ(granted(r.policy, "/home/u/bin"), set({PathAccess::read, PathAccess::execute}))
      << "the kernel reads a program to exec it";
}

// The dynamic loader never appears in a trace (the kernel opens it for exec): each program's is
// granted read and execute, named in a note; a program that did not run adds none.
TEST(PolicyGen, TheLoaderOfEachProgramThatRanIsGranted) {
  auto t = traced();
  run(t, "/opt/tool/bin/tool");
  run(t, "/opt/other/bin/failed", core::Outcome::failed);
  std::vector<std::string> asked;
  const auto r = profile::generate_access_policy({t}, {{"/home/u"}, [&](const std::string& program) {
                                                         asked.push_back(program);
                                                         return std::vector<std::string>{"/opt/rt/ld.so"};
                                                       }});
  EXPECT_EQ(granted(r.policy, "/opt/rt/ld.so"), set({PathAccess::read, PathAccess::execute}));
  EXPECT_EQ(asked, std::vector<std::string>{"/opt/tool/bin/tool"});
  EXPECT_TRUE(mentions(r.notes, "the dynamic loader /opt/rt/ld.so is granted read and execute"));
}

// gVisor reports no exec of the first process: the header's command is what ran.
TEST(PolicyGen, TheTracedCommandRuns) {
  auto t = traced();
  t.header.command = {"/opt/tool/bin/tool", "x"};
  file(t, "/opt/tool/share/tool/data", fa(FileAccess::read));
  const auto r = gen(t);
  EXPECT_EQ(granted(r.policy, "/opt/tool"), set({PathAccess::read, PathAccess::execute}));
  auto relative = traced();
  relative.header.command = {"./tool"};
  EXPECT_TRUE(gen(relative).policy.files.empty());
}

TEST(PolicyGen, FailedCallsGrantNothingAndAreListed) {
  auto t = traced({"/home/u/proj"});
  file(t, "/etc/shadow", fa(FileAccess::read), core::Outcome::failed);
  file(t, "/home/u/proj/x", FileAccess::write | FileAccess::create, core::Outcome::failed);
  run(t, "/usr/bin/sudo", core::Outcome::failed);
  net(t, "connect", "inet", "stream", "203.0.113.5", 443, core::Outcome::failed);
  const auto r = gen(t);
  EXPECT_TRUE(r.policy.files.empty()) << core::write_access_policy(r.policy);
  EXPECT_TRUE(r.policy.network.empty());
  EXPECT_EQ(r.failed.size(), 4u) << core::join(r.failed, "\n");
  EXPECT_TRUE(mentions(r.failed, "openat /etc/shadow (read) by /usr/bin/app failed: not granted"));
  EXPECT_TRUE(mentions(r.failed, "connect inet 203.0.113.5 port 443"));
}

TEST(PolicyGen, RelativePathsGrantNothing) {
  auto t = traced({"/home/u/proj"});
  file(t, "data.txt", fa(FileAccess::read));
  const auto r = gen(t);
  EXPECT_TRUE(r.policy.files.empty());
  EXPECT_TRUE(mentions(r.notes, "data.txt")) << core::join(r.notes, "\n");
}

// A trace file is outside input: its paths are folded before they become entries, and a NUL byte
// (which no path holds) grants nothing, so that the policy written is one the reader takes back.
TEST(PolicyGen, PathsAreFoldedAndNulBytesGrantNothing) {
  auto t = traced({"/home/u/proj/./", "relative"});
  file(t, "/home/u/proj/../proj/./a.txt", fa(FileAccess::read));
  file(t, std::string("/srv/x\0y", 8), fa(FileAccess::read));
  t.files.push_back({std::string(app), "rename", "/srv//b", fa(FileAccess::rename), "/srv/a/", core::Outcome::ok, 1});
  const auto r = gen(t);
  EXPECT_EQ(granted(r.policy, "/home/u/proj"), set({PathAccess::read}));
  EXPECT_EQ(granted(r.policy, "/srv/b"), set({PathAccess::create}));
  EXPECT_EQ(granted(r.policy, "/srv/a"), set({PathAccess::remove}));
  EXPECT_EQ(core::access_for(r.policy, "/srv/x"), 0);
  EXPECT_EQ(core::read_access_policy(core::write_access_policy(r.policy), "p.json"), r.policy);
}

TEST(PolicyGen, AListedHomeGetsItsNamesNotItsFiles) {
  auto t = traced();
  file(t, "/home/u", fa(FileAccess::list));
  const auto r = gen(t);
  EXPECT_EQ(granted(r.policy, "/home/u"), set({PathAccess::list}));
  EXPECT_FALSE(core::has(core::access_for(r.policy, "/home/u/.ssh/id_ed25519"), PathAccess::read));
  auto whole = traced();
  file(whole, "/home/u", fa(FileAccess::read)); // opened without O_DIRECTORY, then listed
  file(whole, "/", fa(FileAccess::read));
  const auto w = gen(whole);
  EXPECT_EQ(granted(w.policy, "/"), set({PathAccess::list}));
  EXPECT_EQ(granted(w.policy, "/home/u"), std::nullopt) << "covered by / already";
  EXPECT_FALSE(core::has(core::access_for(w.policy, "/home/u/.ssh/id_ed25519"), PathAccess::read));
  EXPECT_TRUE(mentions(w.notes, "rule exact: / was read as a whole"));
  EXPECT_TRUE(mentions(w.notes, "rule exact: /home/u was read as a whole"));
}

TEST(PolicyGen, RenamesCreateTheNewNameAndRemoveTheOld) {
  auto t = traced();
  t.files.push_back({std::string(app), "rename", "/srv/b", fa(FileAccess::rename), "/srv/a", core::Outcome::ok, 1});
  const auto r = gen(t);
  EXPECT_EQ(granted(r.policy, "/srv/b"), set({PathAccess::create}));
  EXPECT_EQ(granted(r.policy, "/srv/a"), set({PathAccess::remove}));
}

TEST(PolicyGen, NetworkIsWhatWasReached) {
  auto none = traced();
  file(none, "/etc/hosts", fa(FileAccess::read));
  EXPECT_TRUE(gen(none).policy.network.empty());

  auto t = traced();
  net(t, "socket", "inet", "stream", "", -1);
  net(t, "connect", "inet", "stream", "127.0.0.1", 8080);
  net(t, "sendto", "inet6", "dgram", "::1", 53);
  net(t, "bind", "inet", "stream", "0.0.0.0", 9000);
  net(t, "bind", "inet", "stream", "127.0.0.1", 9001);
  net(t, "connect", "unix", "stream", "/run/app.sock", -1);
  net(t, "connect", "unix", "stream", "@bus", -1);
  net(t, "socket", "netlink", "raw", "", -1);
  net(t, "sendto", "netlink", "raw", "", -1);
  const auto r = gen(t);
  using core::Protocol;
  EXPECT_EQ(r.policy.network.connect,
            (std::vector<core::Endpoint>{{Protocol::tcp, "127.0.0.1", 8080}, {Protocol::udp, "::1", 53}}));
  EXPECT_EQ(r.policy.network.bind,
            (std::vector<core::Endpoint>{{Protocol::tcp, "", 9000}, {Protocol::tcp, "127.0.0.1", 9001}}));
  EXPECT_EQ(r.policy.network.unix_paths, (std::vector<std::string>{"/run/app.sock", "@bus"}));
  EXPECT_TRUE(mentions(r.notes, "netlink sockets are used")) << core::join(r.notes, "\n");
}

TEST(PolicyGen, RefusesATraceWithoutBehaviourRecords) {
  auto with = traced();
  auto without = traced();
  without.header.behaviour = false;
  without.header.source = "audit-netlink";
  EXPECT_NO_THROW(profile::refuse_without_behaviour({with}, {"a.trace"}));
  try {
    profile::refuse_without_behaviour({with, without}, {"a.trace", "b.trace"});
    FAIL() << "no refusal";
  } catch (const core::Error& e) {
    EXPECT_EQ(e.kind(), core::ErrorKind::invalid_input);
    EXPECT_NE(std::string(e.what()).find("b.trace: the recorder (source audit-netlink) did not record behaviour"),
              std::string::npos)
        << e.what();
    EXPECT_NE(e.hint().find("eBPF"), std::string::npos);
    EXPECT_NE(e.hint().find("gVisor"), std::string::npos);
  }
}

// A whole trace: the side trips a reviewer must see (an SSH key, .bashrc) are granted exactly and
// flagged by check; the job's files are widened by the named rules.
TEST(PolicyGen, GoldenSideTrip) {
  auto t = traced({"/home/u/proj", "/home/u"});
  run(t, "/opt/tool/bin/tool");
  run(t, "/bin/sh");
  file(t, "/usr/lib/x86_64-linux-gnu/libc.so.6", fa(FileAccess::read));
  file(t, "/etc/ld.so.cache", fa(FileAccess::read));
  file(t, "/home/u/proj/a.txt", fa(FileAccess::read));
  file(t, "/home/u/proj/b/c.txt", (FileAccess::write | FileAccess::create) | fa(FileAccess::truncate));
  file(t, "/home/u/.ssh/id_ed25519", fa(FileAccess::read));
  file(t, "/home/u/.ssh/id_rsa", fa(FileAccess::read), core::Outcome::failed);
  file(t, "/home/u/.bashrc", FileAccess::write | FileAccess::append);
  file(t, "/tmp/tool-1/x", FileAccess::write | FileAccess::create);
  net(t, "connect", "inet", "stream", "127.0.0.1", 8080);
  net(t, "sendto", "inet", "dgram", "127.0.0.53", 53);
  const auto r = gen(t);
  std::string printed;
  for (const auto& l : r.widened) printed += l + "\n";
  for (const auto& l : r.failed) printed += l + "\n";
  for (const auto& l : r.notes) printed += "note: " + l + "\n";
  test::expect_golden("policy_generated.json", core::write_access_policy(r.policy));
  test::expect_golden("policy_generated_gen.txt", printed);
  test::expect_golden("policy_generated_explain.txt", profile::explain_access_policy(r.policy, "app.policy.json"));
  test::expect_golden("policy_generated_check.txt",
                      profile::format_check_text(
                          profile::check_access_policy(r.policy, {{"/home/u"}, "app.policy.json"}), "app.policy.json"));
}
