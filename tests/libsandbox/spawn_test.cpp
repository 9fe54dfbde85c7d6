// spawn()'s gate: what runs in the parent while the child starts is done before the command runs,
// and when it fails the command never runs at all. Real children, no privileges needed.
#include "nucleus/core/error.hpp"
#include "nucleus/sandbox/spawn.hpp"

#include "test_support.hpp"

#include <gtest/gtest.h>

#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <stdexcept>
#include <thread>

namespace sandbox = nucleus::sandbox;
namespace core = nucleus::core;

namespace {

// A command that leaves a line in `marker` each time it runs.
sandbox::SpawnSpec leaves_a_mark(const std::filesystem::path& marker) {
  sandbox::SpawnSpec spec;
  spec.argv = {"/bin/sh", "-c", "echo ran >> '" + marker.string() + "'"};
  return spec;
}

// The test process has no other children: every child spawn() started has been reaped.
bool no_child_left() { return ::waitpid(-1, nullptr, WNOHANG) < 0 && errno == ECHILD; }

// The calling thread's one child (spawn's), from /proc: 0 while there is none.
pid_t the_child() {
  return static_cast<pid_t>(
      std::atoi(nucleus::test::read_text("/proc/self/task/" + std::to_string(::gettid()) + "/children").c_str()));
}

// Waits until `fact` holds for the child, at most 10 seconds; whether it did.
bool child_reaches(const std::function<bool(pid_t)>& fact) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  for (pid_t pid = the_child(); std::chrono::steady_clock::now() < deadline; pid = pid != 0 ? pid : the_child()) {
    if (pid != 0 && fact(pid)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return false;
}

// The child sits in read(2), on its gate: it got as far as it may before the parent lets it go.
bool blocked_on_its_gate(pid_t pid) {
  const std::string call = nucleus::test::read_text("/proc/" + std::to_string(pid) + "/syscall");
  return call.rfind(std::to_string(SYS_read) + " ", 0) == 0;
}

// The child has exited (a zombie until spawn() reaps it).
bool has_exited(pid_t pid) {
  const std::string stat = nucleus::test::read_text("/proc/" + std::to_string(pid) + "/stat");
  const auto paren = stat.rfind(") ");
  return paren != std::string::npos && paren + 2 < stat.size() && stat[paren + 2] == 'Z';
}

} // namespace

TEST(Spawn, WhileChildStartsIsDoneBeforeTheCommandRuns) {
  nucleus::test::TempDir dir;
  const auto marker = dir / "marker";
  auto spec = leaves_a_mark(marker);
  bool called = false;
  spec.while_child_starts = [&](std::optional<std::uint32_t> session) {
    EXPECT_FALSE(session.has_value()) << "no audit session was asked for";
    // The child has gone as far as it can: it waits for this function to return.
    EXPECT_TRUE(child_reaches(blocked_on_its_gate)) << "the child never blocked on its gate";
    EXPECT_FALSE(std::filesystem::exists(marker)) << "the command ran before the parent let it";
    called = true;
  };
  auto child = sandbox::spawn(spec);
  EXPECT_TRUE(called);
  EXPECT_EQ(sandbox::exit_code_from_status(child.wait()), 0);
  EXPECT_EQ(nucleus::test::read_text(marker), "ran\n");
}

TEST(Spawn, WhenWhileChildStartsThrowsTheCommandNeverRuns) {
  nucleus::test::TempDir dir;
  const auto marker = dir / "marker";
  auto spec = leaves_a_mark(marker);
  spec.while_child_starts = [](std::optional<std::uint32_t>) {
    // The child is ready to go: only the gate holds it back.
    EXPECT_TRUE(child_reaches(blocked_on_its_gate)) << "the child never blocked on its gate";
    throw std::runtime_error("the recorder failed");
  };
  try {
    sandbox::spawn(spec);
    ADD_FAILURE() << "spawn returned";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "the recorder failed") << "the caller's own exception reaches it";
  }
  EXPECT_FALSE(std::filesystem::exists(marker));
  EXPECT_TRUE(no_child_left()) << "the child is killed and reaped";
}

// The child fails its own start while the parent is still busy: the parent's go-ahead to a child
// that has gone must not kill it (SIGPIPE), and the child's error is what spawn() reports.
TEST(Spawn, AChildThatFailsWhileTheParentIsBusyReportsItsOwnError) {
  nucleus::test::TempDir dir;
  const auto marker = dir / "marker";
  auto spec = leaves_a_mark(marker);
  spec.pre_exec = [](const void*) noexcept { return EACCES; };
  spec.while_child_starts = [](std::optional<std::uint32_t>) {
    EXPECT_TRUE(child_reaches(has_exited)) << "the child did not fail on its own"; // before the go-ahead is sent
  };
  try {
    sandbox::spawn(spec);
    ADD_FAILURE() << "spawn returned";
  } catch (const core::Error& e) {
    EXPECT_EQ(e.sys_errno(), EACCES) << e.what();
    EXPECT_NE(std::string(e.what()).find("setting up the sandbox"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(std::filesystem::exists(marker));
  EXPECT_TRUE(no_child_left());
}
