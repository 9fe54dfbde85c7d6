// PATH lookup: one rule for every caller. The attack it stops: a file named like a system command
// in the current directory (a checked-out repository, a download folder) run instead of that
// command because PATH holds an empty or relative entry.
#include "nucleus/core/path_lookup.hpp"

#include "test_support.hpp"

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using nucleus::core::lookup_command;

namespace {

void make_executable(const fs::path& p, mode_t mode = 0755) {
  nucleus::test::write_text(p, "#!/bin/sh\nexit 0\n");
  ASSERT_EQ(::chmod(p.c_str(), mode), 0);
}

// Runs `body` with the current directory set to `dir`, then goes back.
template <class F>
void in_directory(const fs::path& dir, F body) {
  fs::path before = fs::current_path();
  fs::current_path(dir);
  body();
  fs::current_path(before);
}

} // namespace

TEST(PathLookup, FindsTheFirstExecutableInOrder) {
  nucleus::test::TempDir a, b;
  make_executable(b / "tool");
  make_executable(a / "tool");
  auto found = lookup_command("tool", (a.path().string() + ":" + b.path().string()));
  ASSERT_TRUE(found.found());
  EXPECT_EQ(found.path, a / "tool");
  EXPECT_EQ(lookup_command("tool", b.path().string()).path, b / "tool");
}

TEST(PathLookup, NeverSearchesTheCurrentDirectory) {
  nucleus::test::TempDir planted, system;
  make_executable(planted / "ls");
  make_executable(system / "ls");
  in_directory(planted.path(), [&] {
    const std::string sys = system.path().string();
    for (const std::string& entries :
         std::vector<std::string>{"", ":", ".", "./", "bin", "::" + sys, ".:" + sys, sys + ":"}) {
      SCOPED_TRACE("PATH=" + entries);
      auto found = lookup_command("ls", entries);
      if (found.found()) {
        EXPECT_EQ(found.path, system / "ls") << "the planted ./ls was chosen";
      } else {
        EXPECT_EQ(found.error, ENOENT);
      }
    }
  });
}

TEST(PathLookup, SkipsDirectoriesAndFilesItCannotExecute) {
  nucleus::test::TempDir a, b, c;
  fs::create_directory(a / "tool");
  nucleus::test::write_text(b / "tool", "not executable\n");
  ASSERT_EQ(::chmod((b / "tool").c_str(), 0644), 0);
  make_executable(c / "tool");
  auto found = lookup_command("tool", a.path().string() + ":" + b.path().string() + ":" + c.path().string());
  ASSERT_TRUE(found.found());
  EXPECT_EQ(found.path, c / "tool");

  auto refused = lookup_command("tool", a.path().string() + ":" + b.path().string());
  EXPECT_FALSE(refused.found());
  EXPECT_EQ(refused.error, EISDIR) << "the first candidate that exists says why";
  EXPECT_EQ(refused.path, a / "tool");
}

TEST(PathLookup, NotFoundAnywhere) {
  nucleus::test::TempDir a;
  auto found = lookup_command("no-such-command", a.path().string());
  EXPECT_FALSE(found.found());
  EXPECT_EQ(found.error, ENOENT);
  EXPECT_EQ(lookup_command("", a.path().string()).error, ENOENT);
}

TEST(PathLookup, ANameWithASlashIsCheckedWhereItIs) {
  nucleus::test::TempDir a, b;
  make_executable(b / "tool");
  auto found = lookup_command((b / "tool").string(), a.path().string());
  ASSERT_TRUE(found.found());
  EXPECT_EQ(found.path, b / "tool");
  in_directory(b.path(), [&] {
    auto relative = lookup_command("./tool", a.path().string());
    EXPECT_TRUE(relative.found()) << "asked for by its path, a file here is what the user means";
  });
  EXPECT_EQ(lookup_command((b / "missing").string(), "").error, ENOENT);
  EXPECT_EQ(lookup_command((b / "tool" / "x").string(), "").error, ENOENT) << "ENOTDIR reads as not found";
  EXPECT_EQ(lookup_command(b.path().string() + "/", "").error, EISDIR);
  EXPECT_EQ(lookup_command("/dev/null", "").error, EACCES) << "not a regular file";
}

TEST(PathLookup, UnsetPathMeansTheSystemDirectories) {
  EXPECT_EQ(nucleus::core::default_search_path, "/usr/local/bin:/usr/bin:/bin");
  EXPECT_TRUE(lookup_command("sh", nucleus::core::default_search_path).found());
}
