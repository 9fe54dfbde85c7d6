// spawn()'s gate: what runs in the parent while the child starts is done before the command runs,
// and when it fails the command never runs at all. Real children, no privileges needed.
#include "nucleus/sandbox/error.hpp"
#include "nucleus/sandbox/spawn.hpp"

#include "test_support.hpp"

#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <stdexcept>
#include <thread>

namespace sandbox = nucleus::sandbox;

namespace {

// A command that leaves a line in `marker` each time it runs.
sandbox::SpawnSpec leaves_a_mark(const std::filesystem::path& marker) {
  sandbox::SpawnSpec spec;
  spec.argv = {"/bin/sh", "-c", "echo ran >> '" + marker.string() + "'"};
  return spec;
}

// The test process has no other children: every child spawn() started has been reaped.
bool no_child_left() { return ::waitpid(-1, nullptr, WNOHANG) < 0 && errno == ECHILD; }

} // namespace

TEST(Spawn, WhileChildStartsIsDoneBeforeTheCommandRuns) {
  nucleus::test::TempDir dir;
  const auto marker = dir / "marker";
  auto spec = leaves_a_mark(marker);
  bool called = false;
  spec.while_child_starts = [&](std::optional<std::uint32_t> session) {
    EXPECT_FALSE(session.has_value()) << "no audit session was asked for";
    // However long this takes, the child waits for it.
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
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
    std::this_thread::sleep_for(std::chrono::milliseconds(100)); // a child let through would have run by now
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
    std::this_thread::sleep_for(std::chrono::milliseconds(100)); // the child has failed and exited by now
  };
  try {
    sandbox::spawn(spec);
    ADD_FAILURE() << "spawn returned";
  } catch (const sandbox::Error& e) {
    EXPECT_EQ(e.sys_errno(), EACCES) << e.what();
    EXPECT_NE(std::string(e.what()).find("setting up the sandbox"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(std::filesystem::exists(marker));
  EXPECT_TRUE(no_child_left());
}
