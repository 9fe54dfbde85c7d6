// Everyday tools at the default level (gVisor): each is traced, its profile generated, and run under
// that profile, with the same output and exit code as when it was traced and no denial; a few are
// checked for completeness against strace -f in the same sandbox. And a command in a folder of
// root's (mode 0700), which the workload's identity cannot reach, is refused before anything
// starts, at both levels, with one message that names the folder.
#include "e2e_support.hpp"

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <set>

using nucleus::test::read_trace_file;
using nucleus::test::run;
using nucleus::test::sample;
using nucleus::test::tool;
namespace fs = std::filesystem;

namespace {

bool have(const char* path) { return ::access(path, X_OK) == 0; }

constexpr unsigned nobody = 65534; // the workload's identity when nucleus runs as root

class GvisorCorpus : public ::testing::Test {
protected:
  void SetUp() override {
    NUCLEUS_REQUIRE_ROOT();
    if (!have("/usr/bin/runsc") && !have("/usr/local/bin/runsc")) NUCLEUS_SKIP("runsc (gVisor) is not installed");
    work = dir / "work";
    reset();
  }
  // The --rw folder as each run finds it: two text files and a script, owned by the workload.
  void reset() {
    fs::remove_all(work);
    fs::create_directories(work / "sub");
    nucleus::test::write_text(work / "a.txt", "alpha nucleus\nbeta\n");
    nucleus::test::write_text(work / "sub" / "b.txt", "gamma\nnucleus delta\n");
    nucleus::test::write_text(work / "s.py",
                              "import json, os\nprint(json.dumps(sorted(os.listdir('" + work.string() + "'))))\n");
    for (const auto& e : fs::recursive_directory_iterator(work)) (void)!::chown(e.path().c_str(), nobody, nobody);
    (void)!::chown(work.c_str(), nobody, nobody);
  }
  // Trace at the default level, generate, reset the folder, run under the profile: what the
  // strict run printed, and the traced run's output and code to compare it with.
  void round_trip(const std::string& name, const std::vector<std::string>& command) {
    SCOPED_TRACE(name);
    const std::string trace = (dir / (name + ".trace")).string(), profile = (dir / (name + ".json")).string();
    std::vector<std::string> traced{tool("nucleus-trace").string(), "-q", "-o", trace, "--rw", work.string(), "--"};
    traced.insert(traced.end(), command.begin(), command.end());
    auto t = run(traced, {}, 120);
    ASSERT_EQ(t.exit_code, 0) << t.err;
    EXPECT_EQ(t.err, "") << "the tool complained under gVisor";
    auto header = read_trace_file(trace).header;
    EXPECT_EQ(header["source"], "gvisor");
    auto g = run({tool("nucleus-profile").string(), "gen", "-o", profile, trace});
    ASSERT_EQ(g.exit_code, 0) << g.err;
    reset();
    std::vector<std::string> strict{tool("nucleus-run").string(), "--profile", profile, "--rw", work.string(), "--"};
    strict.insert(strict.end(), command.begin(), command.end());
    auto r = run(strict, {}, 120);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, t.out);
    EXPECT_EQ(r.err.find("denied"), std::string::npos) << r.err;
    EXPECT_NE(t.out, "") << "the tool printed nothing: the comparison would prove nothing";
    reset();
  }
  nucleus::test::TempDir dir;
  fs::path work;
};

} // namespace

TEST_F(GvisorCorpus, FilesAndText) {
  const std::string w = work.string();
  // Regular files and folders: gVisor answers lgetxattr on a symbolic link with EBADF, so `ls -l`
  // prints "Bad file descriptor" for each link it lists (exit 0; the listing is complete).
  round_trip("ls", {"/bin/ls", "-l", "-d", "/etc/passwd", "/etc/group", "/etc", "/usr"});
  round_trip("ls-dir", {"/bin/ls", "/etc"});
  round_trip("stat", {"/usr/bin/stat", "-c", "%n %F %a %U %s", "/etc", "/etc/passwd", w + "/a.txt"});
  round_trip("find", {"/usr/bin/find", w, "-name", "*.txt"});
  round_trip("grep", {"/bin/grep", "-r", "nucleus", w});
  round_trip("sed", {"/bin/sh", "-c", "sed -i s/beta/BETA/ " + w + "/a.txt && cat " + w + "/a.txt"});
  round_trip("pipeline", {"/bin/sh", "-c", "cat " + w + "/a.txt " + w + "/sub/b.txt | sort | uniq | wc -l"});
  round_trip("cp-mv-rm", {"/bin/sh", "-c", "cd " + w + " && cp a.txt c.txt && mv c.txt d.txt && rm a.txt && ls"});
  round_trip("tar-xz", {"/bin/sh", "-c",
                        "cd " + w +
                            " && tar -cJf t.tar.xz a.txt sub && rm -r a.txt sub && tar -xJf t.tar.xz && "
                            "xz -k t.tar.xz -c > /dev/null && cat a.txt sub/b.txt"});
}

TEST_F(GvisorCorpus, GitAndPython) {
  const std::string w = work.string();
  if (!have("/usr/bin/git")) NUCLEUS_SKIP("git is not installed (scripts/install-deps.sh installs it)");
  round_trip(
      "git",
      {"/bin/sh", "-c",
       "cd " + w +
           " && git -c init.defaultBranch=main init -q && git add . && git -c user.name=n -c user.email=n@x "
           "commit -qm first && echo more >> a.txt && git status --short && git diff --stat && git log --format=%s"});
  if (!have("/usr/bin/python3")) NUCLEUS_SKIP("python3 is not installed");
  round_trip("python3", {"/usr/bin/python3", w + "/s.py"});
}

// Nothing strace -f sees inside the same sandbox is missing from the trace of these tools.
TEST_F(GvisorCorpus, CompleteAgainstStraceInTheSameSandbox) {
  if (!have("/usr/bin/strace")) NUCLEUS_SKIP("strace is not installed");
  const std::string w = work.string();
  const std::vector<std::pair<std::string, std::vector<std::string>>> cases = {
      {"ls", {"/bin/ls", "-l", "/etc"}},
      {"tar", {"/bin/sh", "-c", "cd " + w + " && tar -cJf t.tar.xz a.txt && tar -tJf t.tar.xz"}},
  };
  for (const auto& [name, command] : cases) {
    SCOPED_TRACE(name);
    const fs::path trace = dir / (name + ".trace"), out = work / (name + ".strace");
    std::vector<std::string> argv{tool("nucleus-trace").string(),
                                  "-q",
                                  "-o",
                                  trace.string(),
                                  "--rw",
                                  w,
                                  "--",
                                  "/usr/bin/strace",
                                  "-f",
                                  "-qq",
                                  "-o",
                                  out.string()};
    argv.insert(argv.end(), command.begin(), command.end());
    auto r = run(argv, {}, 120);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto t = read_trace_file(trace);
    EXPECT_EQ(t.summary["lost"].get<int>(), 0);
    std::set<std::string> traced, missing;
    for (const auto& s : t.syscalls)
      if (s["exe"] != "/usr/bin/strace" || s["name"] == "execve") traced.insert(s["name"].get<std::string>());
    for (const auto& n : nucleus::test::strace_names(nucleus::test::read_text(out)))
      if (traced.count(n) == 0) missing.insert(n);
    std::string list;
    for (const auto& n : missing) list += n + " ";
    EXPECT_TRUE(missing.empty()) << "strace saw, the trace lacks: " << list;
  }
}

// `cp probe app; nucleus-trace ./app getpid` in a folder below /root (mode 0700): the workload's
// identity cannot reach it, so both levels refuse before starting, naming /root and the fix, and
// write no trace; the same command copied to a folder it can read is traced.
TEST_F(GvisorCorpus, CommandBelowRootsPrivateFolderIsRefusedWithTheCause) {
  const fs::path root_dir = "/root";
  struct stat st {};
  if (::stat(root_dir.c_str(), &st) != 0 || (st.st_mode & 0077) != 0 || st.st_uid != 0)
    NUCLEUS_SKIP("/root is not a folder of root's with mode 0700 here");
  const fs::path mine = root_dir / ("nucleus-test-" + std::to_string(::getpid()));
  struct Remove {
    fs::path path;
    ~Remove() {
      std::error_code ec;
      fs::remove_all(path, ec);
    }
  } remove{mine};
  fs::create_directories(mine);
  fs::copy_file(sample("probe"), mine / "app", fs::copy_options::overwrite_existing);
  ::chmod(mine.c_str(), 0755);
  for (const char* level : {"untrusted", "trusted"}) {
    SCOPED_TRACE(level);
    const std::string script = "cd " + mine.string() + " && exec " + tool("nucleus-trace").string() +
                               " --trust-level " + level + " ./app getpid";
    auto r = run({"/bin/sh", "-c", script}, {}, 120);
    EXPECT_EQ(r.exit_code, 125) << r.err;
    EXPECT_NE(r.err.find("is out of the workload's reach"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("/root (mode 0700, owner uid 0)"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("mkdir -m 0755 /srv/app"), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find("incomplete"), std::string::npos) << "a sandbox that never started lost no records\n" << r.err;
    EXPECT_EQ(r.out, "") << "the command ran";
    EXPECT_FALSE(fs::exists(mine / "trace.log")) << "a trace was written";
  }
  // The fix the message names works: the same program from a folder the workload can read.
  const fs::path readable = dir / "srv";
  fs::create_directories(readable);
  ::chmod(dir.path().c_str(), 0755);
  fs::copy_file(mine / "app", readable / "app");
  auto ok = run({"/bin/sh", "-c",
                 "cd " + readable.string() + " && exec " + tool("nucleus-trace").string() + " -q -o " +
                     (dir / "ok.trace").string() + " ./app getpid"},
                {}, 120);
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
}

// runsc refuses a profile with SCMP_ACT_KILL_PROCESS (measured on 0.0~20240729), so its sandbox
// never starts: that is one error naming gVisor (exit 125), not a run whose records were lost.
TEST_F(GvisorCorpus, SandboxThatNeverStartedIsNotReportedAsLoss) {
  const auto profile =
      nucleus::test::write_profile(dir, "kill-process.json",
                                   {{"defaultAction", "SCMP_ACT_ALLOW"},
                                    {"syscalls", {{{"names", {"getppid"}}, {"action", "SCMP_ACT_KILL_PROCESS"}}}}});
  auto r = run({tool("nucleus-run").string(), "--profile", profile, "--", "/bin/echo", "ran"}, {}, 120);
  EXPECT_EQ(r.exit_code, 125) << r.err;
  EXPECT_EQ(r.out, "") << "the command ran";
  EXPECT_NE(r.err.find("gVisor did not start the workload"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("lost"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("denials were not reported"), std::string::npos) << r.err;
}
