// nucleus-trace as an OCI runtime hook, in real containers run by runc: a bundle whose config.json
// carries the prestart and poststop hooks and the annotation io.nucleus.trace runs a sample; the
// trace holds every call `strace -f` sees of the same sample in the same container, and nothing of
// runc's own set-up; the profile made from it, exported and loaded by runc as linux.seccomp, runs
// the same container with the same output and denies what the sample did not do. An annotation
// cannot make the hook write outside its trace directory. Root: runc needs namespaces and mounts.
#include "oci_hook_support.hpp"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <fstream>
#include <iterator>
#include <poll.h>
#include <sys/syscall.h>
#include <map>
#include <set>
#include <signal.h>
#include <sstream>
#include <sys/wait.h>
#include <unistd.h>

using namespace nucleus;
namespace fs = std::filesystem;

namespace {

// The syscall names of an `strace -f -o` log: "PID name(...", "PID <... name resumed>".
std::set<std::string> strace_names(const std::string& log) {
  std::set<std::string> names;
  std::istringstream in(log);
  std::string line;
  while (std::getline(in, line)) {
    auto space = line.find(' ');
    if (space == std::string::npos) continue;
    auto start = line.find_first_not_of(' ', space);
    if (start == std::string::npos) continue;
    std::string rest = line.substr(start);
    if (rest.starts_with("---") || rest.starts_with("+++")) continue;
    if (rest.starts_with("<... ")) rest = rest.substr(5);
    auto end = rest.find_first_of(" (");
    if (end != std::string::npos && end > 0) names.insert(rest.substr(0, end));
  }
  return names;
}

std::set<std::string> trace_names(const test::TraceFile& trace) {
  std::set<std::string> names;
  for (const auto& s : trace.syscalls) names.insert(s.value("name", ""));
  return names;
}

using test::OciHookPrivileged;

std::string container_id(const std::string& what) { return test::oci_container_id(what); }

nlohmann::json bundle_of(const fs::path& bundle, const std::vector<std::string>& samples,
                         const std::vector<fs::path>& extra, const std::vector<std::string>& args,
                         const fs::path& out) {
  return test::oci_bundle_of(bundle, samples, extra, args, out);
}

struct Case {
  std::string name;
  std::vector<std::string> samples; // copied into the container's root
  std::vector<std::string> args;
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

class OciHookRoundTrip : public OciHookPrivileged, public ::testing::WithParamInterface<Case> {};

TEST_P(OciHookRoundTrip, TraceHoldsWhatStraceSeesAndItsProfileRunsTheContainer) {
  const Case& c = GetParam();
  // 1. Traced by the hook, as a runtime runs it.
  hooked_bundle("traced", c.samples, c.args, c.name + ".trace");
  auto traced = test::run_runc(dir_ / "traced", container_id(c.name));
  ASSERT_EQ(traced.exit_code, 0) << traced.err << traced.out;
  ASSERT_TRUE(fs::exists(traces_ / (c.name + ".trace"))) << "no trace written: " << traced.err;
  auto trace = test::read_trace_file(traces_ / (c.name + ".trace"));
  EXPECT_EQ(trace.header.value("target", ""), "container " + container_id(c.name));
  EXPECT_EQ(trace.header.value("source", ""), "ebpf");
  EXPECT_TRUE(trace.header.value("container", false)) << trace.header.dump();
  EXPECT_EQ(trace.summary.value("lost", -1), 0);
  EXPECT_EQ(trace.summary.value("exit_code", -1), 0) << "the container's process exited 0";
  auto recorded = trace_names(trace);
  // From the container's exec on: nothing of what runc's init does to set the container up.
  for (const char* setup : {"pivot_root", "mount", "sethostname", "prctl", "capset", "seccomp"})
    EXPECT_EQ(recorded.count(setup), 0u) << setup << " is runc's set-up, not the container's";
  std::set<std::string> exes;
  for (const auto& s : trace.syscalls) exes.insert(s.value("exe", ""));
  EXPECT_TRUE(exes.count(c.args.front())) << "no call of " << c.args.front() << " in the trace";
  EXPECT_FALSE(trace.header.contains("warnings")) << trace.header.dump();

  // 2. The same sample under strace -f in the same container.
  std::vector<std::string> strace_args{"/strace", "-f", "-qq", "-o", "/out/strace.log"};
  strace_args.insert(strace_args.end(), c.args.begin(), c.args.end());
  auto straced_config = bundle_of(dir_ / "straced", c.samples, {"/usr/bin/strace"}, strace_args, out_);
  test::write_runc_config(dir_ / "straced", straced_config);
  auto straced = test::run_runc(dir_ / "straced", container_id(c.name + "-strace"));
  ASSERT_EQ(straced.exit_code, 0) << straced.err << straced.out;
  auto seen = strace_names(test::read_text(out_ / "strace.log"));
  ASSERT_GT(seen.size(), 5u) << test::read_text(out_ / "strace.log");
  for (const auto& name : seen) EXPECT_TRUE(recorded.count(name)) << name << ": strace -f saw it, the trace has not";

  // 3. The profile made from the trace, exported for runc, runs the container as before.
  auto profile = dir_ / (c.name + ".json");
  auto gen = test::run({test::tool("nucleus-profile").string(), "gen", (traces_ / (c.name + ".trace")).string(), "-o",
                        profile.string()});
  ASSERT_EQ(gen.exit_code, 0) << gen.err;
  auto exported =
      test::run({test::tool("nucleus-profile").string(), "export", profile.string(), "--format", "oci", "--no-flags"});
  ASSERT_EQ(exported.exit_code, 0) << exported.err;
  auto enforced_config = bundle_of(dir_ / "enforced", c.samples, {}, c.args, out_);
  enforced_config["linux"]["seccomp"] = nlohmann::json::parse(exported.out);
  test::write_runc_config(dir_ / "enforced", enforced_config);
  auto enforced = test::run_runc(dir_ / "enforced", container_id(c.name + "-enforced"));
  EXPECT_EQ(enforced.exit_code, 0) << enforced.err;
  EXPECT_EQ(enforced.out, traced.out);
}

INSTANTIATE_TEST_SUITE_P(Samples, OciHookRoundTrip,
                         ::testing::Values(Case{"probe", {"probe"}, {"/probe", "getpid", "getppid", "socket:1,1,0"}},
                                           Case{"forkexec", {"forkexec", "threads"}, {"/forkexec", "/threads", "3"}},
                                           Case{"files", {"files"}, {"/files"}}),
                         [](const ::testing::TestParamInfo<Case>& p) { return p.param.name; });

// The profile is the container's: a call the sample did not make while traced is denied by runc.
TEST_F(OciHookPrivileged, ProfileFromTheHookDeniesWhatTheContainerDidNotDo) {
  hooked_bundle("traced", {"probe"}, {"/probe", "getppid"}, "probe.trace");
  auto traced = test::run_runc(dir_ / "traced", container_id("deny"));
  ASSERT_EQ(traced.exit_code, 0) << traced.err;
  auto profile = dir_ / "probe.json";
  ASSERT_EQ(test::run({test::tool("nucleus-profile").string(), "gen", (traces_ / "probe.trace").string(), "-o",
                       profile.string()})
                .exit_code,
            0);
  auto exported =
      test::run({test::tool("nucleus-profile").string(), "export", profile.string(), "--format", "oci", "--no-flags"});
  ASSERT_EQ(exported.exit_code, 0) << exported.err;
  auto enforced = bundle_of(dir_ / "enforced", {"probe"}, {}, {"/probe", "getppid", "uname", "socket:2,1,0"}, out_);
  enforced["linux"]["seccomp"] = nlohmann::json::parse(exported.out);
  test::write_runc_config(dir_ / "enforced", enforced);
  auto r = test::run_runc(dir_ / "enforced", container_id("deny-enforced"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto lines = test::probe_lines(r.out);
  ASSERT_EQ(lines.size(), 3u) << r.out;
  EXPECT_EQ(lines[0]["errno"], 0);
  EXPECT_EQ(lines[1]["errname"], "EPERM") << lines[1].dump();
  EXPECT_EQ(lines[2]["errname"], "EPERM") << lines[2].dump();
}

// Traced without a filter, the runtime's calls between installing the real one and the exec
// cannot be seen: the trace says so, and gen passes it on (a profile from it stops runc there).
TEST_F(OciHookPrivileged, ContainerTracedWithoutAFilterIsFlagged) {
  hooked_bundle("traced", {"probe"}, {"/probe", "getpid"}, "unfiltered.trace", false);
  auto r = test::run_runc(dir_ / "traced", container_id("unfiltered"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto trace = test::read_trace_file(traces_ / "unfiltered.trace");
  ASSERT_TRUE(trace.header.contains("warnings")) << trace.header.dump();
  EXPECT_NE(trace.header["warnings"][0].get<std::string>().find("without a seccomp filter"), std::string::npos);
  auto gen = test::run({test::tool("nucleus-profile").string(), "gen", (traces_ / "unfiltered.trace").string(), "-o",
                        (dir_ / "p.json").string()});
  EXPECT_EQ(gen.exit_code, 0) << gen.err;
  EXPECT_NE(gen.err.find("without a seccomp filter"), std::string::npos) << gen.err;
}

// A trace is never replaced by another container's: the second container with the same name is
// refused before it starts, and the first one's trace stays as it was.
TEST_F(OciHookPrivileged, SecondContainerCannotReplaceATrace) {
  hooked_bundle("first", {"probe"}, {"/probe", "getpid"}, "shared.trace");
  ASSERT_EQ(test::run_runc(dir_ / "first", container_id("first")).exit_code, 0);
  const auto before = test::read_text(traces_ / "shared.trace");
  ASSERT_FALSE(before.empty());
  hooked_bundle("second", {"probe"}, {"/probe", "getppid"}, "shared.trace");
  auto r = test::run_runc(dir_ / "second", container_id("second"));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_TRUE(test::probe_lines(r.out).empty()) << "the second container ran: " << r.out;
  EXPECT_NE(r.err.find("exists already"), std::string::npos) << r.err;
  EXPECT_EQ(test::read_text(traces_ / "shared.trace"), before);
}

// "{id}" names each container's trace after it: two containers with the same annotation (as the
// containers of a pod have) are both traced, each into its own file.
TEST_F(OciHookPrivileged, IdInTheNameGivesEachContainerItsOwnTrace) {
  for (const char* which : {"one", "two"}) {
    hooked_bundle(which, {"probe"}, {"/probe", "getpid"}, "pod-{id}.trace");
    auto r = test::run_runc(dir_ / which, container_id(which));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto trace = traces_ / ("pod-" + container_id(which) + ".trace");
    ASSERT_TRUE(fs::exists(trace)) << r.err;
    EXPECT_EQ(test::read_trace_file(trace).header.value("target", ""), "container " + container_id(which));
  }
}

// Created and deleted without ever running its process: no trace (not an empty one), and the
// poststop hook says why.
TEST_F(OciHookPrivileged, ContainerDeletedBeforeItStartsLeavesNoTrace) {
  hooked_bundle("never", {"probe"}, {"/probe", "getpid"}, "never.trace");
  const std::string state = (dir_ / "state").string();
  const std::string id = container_id("never");
  auto created = test::runc_create(state, dir_ / "never", id);
  ASSERT_EQ(created.exit_code, 0) << created.err;
  EXPECT_TRUE(fs::exists(traces_ / "never.trace")) << "the name is claimed while the container exists";
  auto deleted = test::run({test::runc_path, "--root", state, "delete", "--force", id}, {}, 60);
  EXPECT_EQ(deleted.exit_code, 0) << deleted.err;
  EXPECT_FALSE(fs::exists(traces_ / "never.trace"));
  EXPECT_NE(deleted.err.find("its process never started"), std::string::npos) << deleted.err;
}

// The hook on a process that is not a runtime's init, as a runtime would call it: the process
// (the waiter) waits, then forks a child that execs the probe. Only what follows an exec counts:
// the child's calls as the probe, none of the waiter's own (its fork and wait), which a container's
// init makes before its exec as the runtime's code.
TEST_F(OciHookPrivileged, OnlyWhatFollowsAnExecIsRecorded) {
  const std::string ready = (dir_ / "waiter.out").string();
  int out = ::open(ready.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  ASSERT_GE(out, 0);
  pid_t waiter = ::fork();
  if (waiter == 0) {
    ::dup2(out, 1);
    ::execl(test::sample("waiter").c_str(), "waiter", test::sample("probe").c_str(), "getsid:0", nullptr);
    ::_exit(127);
  }
  ::close(out);
  for (int i = 0; i < 400 && test::read_text(ready).find("ready") == std::string::npos; ++i) ::usleep(25000);
  const std::string state = R"({"id":")" + container_id("waiter") + R"(","pid":)" + std::to_string(waiter) +
                            R"(,"annotations":{"io.nucleus.trace":"waiter.trace"}})";
  const auto trace_tool = test::tool("nucleus-trace").string();
  auto start = test::run({trace_tool, "--oci-hook", "prestart", "--trace-dir", traces_.string()}, state);
  ASSERT_EQ(start.exit_code, 0) << start.err;
  ASSERT_EQ(::kill(waiter, SIGUSR1), 0);
  int status = 0;
  ASSERT_EQ(::waitpid(waiter, &status, 0), waiter);
  auto stop = test::run({trace_tool, "--oci-hook", "poststop", "--trace-dir", traces_.string()}, state);
  ASSERT_EQ(stop.exit_code, 0) << stop.err;
  auto trace = test::read_trace_file(traces_ / "waiter.trace");
  std::map<std::string, std::set<std::string>> exes;
  for (const auto& s : trace.syscalls)
    exes[s.value("name", "")].insert(fs::path(s.value("exe", "")).filename().string());
  EXPECT_EQ(exes["getsid"], std::set<std::string>{"probe"}) << "the exec'd child's call";
  EXPECT_EQ(exes.count("clone"), 0u) << "the waiter's fork came before any exec";
  EXPECT_EQ(exes.count("wait4"), 0u) << "the waiter's wait came before any exec";
  EXPECT_TRUE(exes.count("execve")) << "the exec that ended the wait";
}

// A container without the annotation runs as ever and leaves no trace.
TEST_F(OciHookPrivileged, ContainerWithoutTheAnnotationIsNotTraced) {
  hooked_bundle("plain", {"probe"}, {"/probe", "getpid"}, "");
  auto r = test::run_runc(dir_ / "plain", container_id("plain"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(test::probe_lines(r.out).size(), 1u);
  EXPECT_TRUE(fs::is_empty(traces_));
}

// Whoever creates a container chooses its annotations: they must not choose where root writes.
// Each of these is refused by the prestart hook, so the container never starts, and nothing is
// written outside the trace directory.
TEST_F(OciHookPrivileged, AnnotationCannotWriteOutsideTheTraceDirectory) {
  auto victim = dir_ / "victim";
  fs::create_directories(victim);
  fs::create_symlink(victim, traces_ / "link");
  int i = 0;
  for (std::string value : {std::string("../victim/x.trace"), (victim / "x.trace").string(),
                            std::string("link/x.trace"), std::string("/etc/nucleus-hook-test.trace")}) {
    SCOPED_TRACE(value);
    const std::string name = "escape" + std::to_string(i++);
    hooked_bundle(name, {"probe"}, {"/probe", "getpid"}, value, false);
    auto r = test::run_runc(dir_ / name, container_id(name));
    EXPECT_NE(r.exit_code, 0) << r.out;
    EXPECT_TRUE(test::probe_lines(r.out).empty()) << "the container ran: " << r.out;
    EXPECT_NE(r.err.find("outside the hook's trace directory"), std::string::npos) << r.err;
  }
  EXPECT_TRUE(fs::is_empty(victim));
  EXPECT_FALSE(fs::exists("/etc/nucleus-hook-test.trace"));

  // A directory on the way that others may change: they could swap in a symlink after the check.
  // Below the trace directory, and above it (another user's folder).
  auto open_dir = dir_ / "open";
  fs::create_directories(open_dir / "sub");
  fs::permissions(open_dir, fs::perms::owner_all);
  fs::permissions(open_dir / "sub", fs::perms::all);
  auto theirs = dir_ / "theirs";
  fs::create_directories(theirs / "traces");
  ASSERT_EQ(::chown(theirs.c_str(), 65534, 65534), 0);
  // And between the two: a folder of another user's, with a root-owned one below it.
  auto team = traces_ / "team";
  fs::create_directories(team / "sub");
  ASSERT_EQ(::chown(team.c_str(), 65534, 65534), 0);
  for (const auto& [trace_dir, name] : {std::pair<fs::path, std::string>{open_dir, "sub/x.trace"},
                                        {theirs / "traces", "x.trace"},
                                        {traces_, "team/sub/x.trace"}}) {
    auto r = test::run(
        {test::tool("nucleus-trace").string(), "--oci-hook", "prestart", "--trace-dir", trace_dir.string()},
        R"({"id":")" + container_id("outside") + R"(","pid":1,"annotations":{"io.nucleus.trace":")" + name + R"("}})");
    EXPECT_EQ(r.exit_code, 125) << trace_dir;
    EXPECT_NE(r.err.find("can be changed by users other than"), std::string::npos) << r.err;
  }
  EXPECT_TRUE(fs::is_empty(open_dir / "sub"));
  EXPECT_TRUE(fs::is_empty(theirs / "traces"));
  EXPECT_TRUE(fs::is_empty(team / "sub"));
}

// A directory on the way that only its group may write (0770, another group's): its members could
// swap in a symlink as well as anyone, so the hook refuses it like a world-writable one; the same
// folder without the group's write bit is accepted (the control).
TEST_F(OciHookPrivileged, GroupWritableDirectoryOnTheWayIsRefused) {
  auto group = traces_ / "group";
  fs::create_directories(group);
  ASSERT_EQ(::chown(group.c_str(), 0, 65534), 0);
  ASSERT_EQ(::chmod(group.c_str(), 0770), 0);
  // No such process: the check of the path comes first, and nothing gets recorded even were it passed.
  const std::string state =
      R"({"id":")" + container_id("group") + R"(","pid":999999999,"annotations":{"io.nucleus.trace":"group/x.trace"}})";
  const std::vector<std::string> hook{test::tool("nucleus-trace").string(), "--oci-hook", "prestart", "--trace-dir",
                                      traces_.string()};
  auto r = test::run(hook, state);
  EXPECT_EQ(r.exit_code, 125) << r.err;
  EXPECT_NE(r.err.find(group.string() + " can be changed by users other than"), std::string::npos) << r.err;
  EXPECT_TRUE(fs::is_empty(group));
  // The control: 0750 passes the check, and the hook goes on to the process (one that does not exist).
  ASSERT_EQ(::chmod(group.c_str(), 0750), 0);
  auto accepted = test::run(hook, state);
  EXPECT_EQ(accepted.err.find("can be changed by users other than"), std::string::npos) << accepted.err;
  EXPECT_NE(accepted.err.find("no such process"), std::string::npos) << accepted.err;
}

// The default trace directory is the hook's own to create, and only root may enter it: traces
// show what containers do. Made here when absent, and removed again.
TEST_F(OciHookPrivileged, DefaultTraceDirectoryIsCreatedRootOnly) {
  const fs::path parent = "/var/lib/nucleus";
  const bool made_here = !fs::exists(parent);
  const bool traces_made_here = !fs::exists(parent / "traces");
  auto r = test::run({test::tool("nucleus-trace").string(), "--oci-hook", "prestart"},
                     R"({"id":")" + container_id("default-dir") +
                         R"(","pid":999999999,"annotations":{"io.nucleus.trace":"default-dir-test.trace"}})");
  EXPECT_EQ(r.exit_code, 125) << r.err;
  EXPECT_NE(r.err.find("no such process"), std::string::npos) << r.err;
  for (const auto& [d, new_here] :
       {std::pair<fs::path, bool>{parent, made_here}, {parent / "traces", traces_made_here}}) {
    struct stat st {};
    ASSERT_EQ(::stat(d.c_str(), &st), 0) << d;
    EXPECT_EQ(st.st_uid, 0u) << d;
    if (new_here) {
      EXPECT_EQ(st.st_mode & 07777, 0700u) << d << " as the hook made it";
    }
  }
  fs::remove(parent / "traces" / "default-dir-test.trace");
  if (made_here) fs::remove_all(parent);
}

// The hook's own errors: what a runtime or a person running it by hand gets.
TEST_F(OciHookPrivileged, HookRefusesBadStateClearly) {
  const auto trace = test::tool("nucleus-trace").string();
  const std::string dir = "--trace-dir=" + traces_.string();
  struct Bad {
    std::string stage, state, says;
  };
  for (const auto& bad : std::vector<Bad>{
           {"prestart", "not json", "not a container's state"},
           {"prestart", R"({"pid":1,"annotations":{"io.nucleus.trace":"a"}})", "has no \"id\""},
           {"prestart", R"({"id":"../x","pid":1,"annotations":{"io.nucleus.trace":"a"}})", "has characters other than"},
           {"prestart", R"({"id":"x","annotations":{"io.nucleus.trace":"a"}})", "has no \"pid\""},
           {"prestart",
            R"({"id":")" + container_id("gone") + R"(","pid":999999999,"annotations":{"io.nucleus.trace":"a"}})",
            "no such process"},
           {"poststop", R"({"id":"never-started","annotations":{"io.nucleus.trace":"a"}})",
            "no recording of container never-started"},
       }) {
    SCOPED_TRACE(bad.state);
    auto r = test::run({trace, "--oci-hook", bad.stage, dir}, bad.state);
    EXPECT_EQ(r.exit_code, 125) << r.err;
    EXPECT_NE(r.err.find(bad.says), std::string::npos) << r.err;
  }
  auto r = test::run({trace, "--oci-hook", "prestart", dir, "--pid", "1"});
  EXPECT_NE(r.exit_code, 0);
  r = test::run({trace, "--oci-hook", "prestart", dir, "--", "/bin/true"}, R"({"id":"x","pid":1})");
  EXPECT_EQ(r.exit_code, 125);
  EXPECT_NE(r.err.find("not a command"), std::string::npos) << r.err;
  EXPECT_TRUE(fs::is_empty(traces_));
}

} // namespace

namespace {

// podman as this machine runs it: runc (crun refuses hybrid cgroups), no systemd, its state in
// `dir`, and the package's hooks.d files (the templates, for the build tree's tool) in `hooks`.
std::vector<std::string> podman(const fs::path& dir, const fs::path& hooks) {
  return {"/usr/bin/podman",
          "--root",
          (dir / "storage").string(),
          "--runroot",
          (dir / "run").string(),
          "--runtime",
          test::runc_path,
          "--cgroup-manager=cgroupfs",
          "--events-backend=file",
          "--hooks-dir",
          hooks.string()};
}

std::vector<std::string> podman_run(const std::vector<std::string>& base, const fs::path& rootfs,
                                    const std::vector<std::string>& extra, const std::vector<std::string>& args) {
  std::vector<std::string> argv = base;
  for (const char* a : {"run", "--rm", "--network=none", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"})
    argv.push_back(a);
  argv.insert(argv.end(), extra.begin(), extra.end());
  argv.push_back("--rootfs");
  argv.push_back(rootfs.string());
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

} // namespace

// podman finds the hook in the package's hooks.d files and runs it for the annotation alone, under
// its own default seccomp profile; the profile from the trace then runs the same container.
TEST_F(OciHookPrivileged, PodmanRunsTheHookFromItsHooksDirectory) {
  if (!fs::exists("/usr/bin/podman")) NUCLEUS_SKIP("podman is not installed (Debian package podman)");
  auto hooks = dir_ / "hooks.d";
  fs::create_directories(hooks);
  for (const char* stage : {"prestart", "poststop"}) {
    std::string text = test::read_text(test::source_dir() / "tools/oci-hooks.d" /
                                       (std::string("nucleus-trace-") + stage + ".json.in"));
    for (auto [from, to] :
         {std::pair<std::string, std::string>{"@NUCLEUS_HOOK_PATH@", test::tool("nucleus-trace").string()},
          {"@NUCLEUS_TRACE_DIR@", traces_.string()}})
      text.replace(text.find(from), from.size(), to);
    test::write_text(hooks / (std::string("nucleus-trace-") + stage + ".json"), text);
  }
  test::make_runc_bundle(dir_ / "image", {test::sample("probe")}, {});
  const auto rootfs = dir_ / "image/rootfs";
  const auto base = podman(dir_ / "podman", hooks);

  auto traced = test::run(
      podman_run(base, rootfs, {"--annotation", "io.nucleus.trace=podman.trace"}, {"/probe", "getppid"}), {}, 120);
  ASSERT_EQ(traced.exit_code, 0) << traced.err;
  ASSERT_TRUE(fs::exists(traces_ / "podman.trace")) << traced.err;
  auto trace = test::read_trace_file(traces_ / "podman.trace");
  EXPECT_TRUE(trace.header.value("target", "").starts_with("container ")) << trace.header.dump();
  EXPECT_FALSE(trace.header.contains("warnings")) << "podman's default profile was in place: " << trace.header.dump();
  auto recorded = trace_names(trace);
  EXPECT_TRUE(recorded.count("getppid"));
  EXPECT_FALSE(recorded.count("pivot_root")) << "runc's set-up is not the container's";

  auto profile = dir_ / "podman.json";
  ASSERT_EQ(test::run({test::tool("nucleus-profile").string(), "gen", (traces_ / "podman.trace").string(), "-o",
                       profile.string()})
                .exit_code,
            0);
  auto exported = dir_ / "podman.oci.json";
  ASSERT_EQ(test::run({test::tool("nucleus-profile").string(), "export", profile.string(), "--format", "oci",
                       "--no-flags", "-o", exported.string()})
                .exit_code,
            0);
  const std::vector<std::string> seccomp{"--security-opt", "seccomp=" + exported.string()};
  auto same = test::run(podman_run(base, rootfs, seccomp, {"/probe", "getppid"}), {}, 120);
  EXPECT_EQ(same.exit_code, 0) << same.err;
  auto first = test::probe_lines(same.out);
  ASSERT_EQ(first.size(), 1u) << same.out;
  EXPECT_EQ(first[0]["errno"], 0);
  auto more = test::run(podman_run(base, rootfs, seccomp, {"/probe", "getppid", "uname"}), {}, 120);
  EXPECT_EQ(more.exit_code, 0) << more.err;
  auto lines = test::probe_lines(more.out);
  ASSERT_EQ(lines.size(), 2u) << more.out << more.err;
  EXPECT_EQ(lines[1]["errname"], "EPERM") << "uname was not traced, so the profile denies it";
  EXPECT_TRUE(fs::exists(traces_ / "podman.trace"));
  EXPECT_EQ(std::distance(fs::directory_iterator(traces_), fs::directory_iterator{}), 1)
      << "runs without the annotation are not traced";
}

namespace {

// The recorder the hook started for container `id`, or 0: its pid, from the hook's state.
pid_t recorder_of(const std::string& id) {
  std::ifstream in("/run/nucleus/oci-hook/" + id + "/recorder");
  pid_t pid = 0;
  return in >> pid ? pid : 0;
}

// Whether `pid` holds an eBPF program (its fdinfo names the program's type).
bool holds_bpf_program(pid_t pid) {
  std::error_code ec;
  for (const auto& fd : fs::directory_iterator("/proc/" + std::to_string(pid) + "/fdinfo", ec)) {
    std::ifstream in(fd.path());
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (text.find("prog_type:") != std::string::npos) return true;
  }
  return false;
}

} // namespace

// Every recorder's program runs on every system call of the host: ten annotated containers get
// at most the hook's limit (--max-recorders; 2 here, which tests the flag too) of recorders; the
// others are refused at prestart, so the runtime does not create them. A recorder that is gone
// frees its place.
TEST_F(OciHookPrivileged, TenContainersGetAtMostTheLimitOfRecorders) {
  constexpr std::size_t limit = 2;
  const std::string state = (dir_ / "state").string();
  std::vector<std::string> created;
  struct Cleanup {
    const std::string& state;
    std::vector<std::string>& ids;
    ~Cleanup() {
      // Every init killed first, so that the recorders end together rather than one per delete.
      for (const auto& id : ids) test::run({test::runc_path, "--root", state, "kill", id, "KILL"}, {}, 60);
      for (const auto& id : ids) test::run({test::runc_path, "--root", state, "delete", "--force", id}, {}, 60);
    }
  } cleanup{state, created};
  auto create = [&](const std::string& name) {
    hooked_bundle(name, {"probe"}, {"/probe", "getpid"}, name + ".trace", true,
                  {"--max-recorders", std::to_string(limit)});
    const std::string id = container_id(name);
    auto r = test::runc_create(state, dir_ / name, id);
    if (r.exit_code == 0) created.push_back(id);
    return r;
  };
  std::size_t refused = 0;
  for (int i = 0; i < 10; ++i) {
    const std::string name = "c" + std::to_string(i);
    auto r = create(name);
    if (r.exit_code == 0) continue;
    ++refused;
    EXPECT_NE(r.err.find("being recorded already"), std::string::npos) << r.err;
    EXPECT_NE(test::run({test::runc_path, "--root", state, "state", container_id(name)}).exit_code, 0)
        << "a refused container exists";
    EXPECT_FALSE(fs::exists(traces_ / (name + ".trace")));
  }
  // Other tests on this machine may hold places too: at most the limit are ours.
  EXPECT_LE(created.size(), limit);
  EXPECT_GE(refused, 10 - limit);
  // A hook that refused every container would pass the two lines above. ctest runs at most one
  // other hook test beside this one, holding at most one place, so one place at least is left.
  EXPECT_GE(created.size(), 1u) << "no container was admitted: the limit refuses everything";
  std::size_t with_programs = 0;
  for (const auto& id : created) with_programs += holds_bpf_program(recorder_of(id)) ? 1 : 0;
  EXPECT_EQ(with_programs, created.size()) << "each admitted container has its recorder";

  // With places held by other tests on this machine, which one frees is not ours to say.
  auto others_record = [&] {
    std::error_code ec;
    for (const auto& d : fs::directory_iterator("/run/nucleus/oci-hook", ec)) {
      const std::string id = d.path().filename().string();
      pid_t pid = recorder_of(id);
      if (pid > 0 && std::find(created.begin(), created.end(), id) == created.end() && ::kill(pid, 0) == 0) return true;
    }
    return false;
  };
  if (created.size() != limit || others_record()) return;
  pid_t gone = recorder_of(created.front());
  ASSERT_GT(gone, 0);
  int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, gone, 0));
  ASSERT_GE(pidfd, 0);
  ASSERT_EQ(::kill(gone, SIGKILL), 0);
  pollfd exited{pidfd, POLLIN, 0}; // readable once it has exited (its parent reaps it, not us)
  EXPECT_EQ(::poll(&exited, 1, 30'000), 1);
  ::close(pidfd);
  auto again = create("after");
  if (again.exit_code != 0 && others_record()) return;
  EXPECT_EQ(again.exit_code, 0) << "a killed recorder still counted: " << again.err;
}

// An OCI state's pid of 2^32+N names no process; read as a 32-bit pid_t it would be N, another
// process, which the hook would then record as root. It is refused and nothing is recorded.
TEST_F(OciHookPrivileged, PidBeyondAPidIsNotReadAsAnotherProcess) {
  pid_t other = ::fork();
  ASSERT_GE(other, 0);
  if (other == 0) {
    ::execl("/bin/sleep", "sleep", "60", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  const std::string id = container_id("wrapped");
  const std::string state = R"({"id":")" + id + R"(","pid":)" +
                            std::to_string((1ull << 32) + static_cast<unsigned>(other)) +
                            R"(,"annotations":{"io.nucleus.trace":"wrapped.trace"}})";
  auto r = test::run({test::tool("nucleus-trace").string(), "--oci-hook", "prestart", "--trace-dir", traces_.string()},
                     state);
  ::kill(other, SIGKILL);
  ::waitpid(other, nullptr, 0);
  EXPECT_EQ(r.exit_code, 125) << r.err;
  EXPECT_NE(r.err.find("not a process id"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(traces_ / "wrapped.trace")) << "pid " << other << " was recorded";
  EXPECT_EQ(recorder_of(id), 0);
}
