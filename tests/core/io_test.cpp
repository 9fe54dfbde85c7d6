// Atomic outputs: written only as regular files; whatever else holds the name is refused and kept.
#include "nucleus/core/io.hpp"

#include "nucleus/core/error.hpp"
#include "test_support.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>

using namespace nucleus::core;
using nucleus::test::read_text;
using nucleus::test::TempDir;
using nucleus::test::write_text;
namespace fs = std::filesystem;

namespace {

// The message of the Error `f` throws, or "" when it throws none.
template <typename F>
std::string error_of(F f) {
  try {
    f();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::usage) << e.what();
    return e.what();
  }
  return "";
}

} // namespace

TEST(OutputPath, RefusesFifosSymlinksAndDirectoriesAndKeepsThem) {
  TempDir dir;
  ASSERT_EQ(::mkfifo((dir / "fifo").c_str(), 0600), 0);
  write_text(dir / "target", "kept\n");
  fs::create_symlink(dir / "target", dir / "link");
  fs::create_directory(dir / "sub");
  const std::pair<const char*, const char*> cases[] = {
      {"fifo", "a FIFO"}, {"link", "a symbolic link"}, {"sub", "a directory"}};
  for (const auto& [name, what] : cases) {
    const fs::path path = dir / name;
    EXPECT_NE(error_of([&] { OutputPath::open(path); }).find(path.string() + " is " + what), std::string::npos) << name;
    EXPECT_NE(error_of([&] { write_file_atomic(path, "new\n"); }).find(" is " + std::string(what)), std::string::npos)
        << name;
  }
  EXPECT_TRUE(fs::is_fifo(fs::symlink_status(dir / "fifo")));
  EXPECT_TRUE(fs::is_symlink(dir / "link"));
  EXPECT_EQ(read_text(dir / "target"), "kept\n");
  EXPECT_TRUE(fs::is_directory(dir / "sub"));
  for (const auto& e : fs::directory_iterator(dir.path()))
    EXPECT_NE(e.path().filename().string().front(), '.') << "left behind: " << e.path();
}

// Opened while the name was free, then taken by a FIFO before the write (a workload in a --rw
// directory can do that): the write is refused too, and the FIFO stays.
TEST(OutputPath, RefusesWhatTookTheNameAfterOpen) {
  TempDir dir;
  auto out = OutputPath::open(dir / "app.trace");
  ASSERT_EQ(::mkfifo((dir / "app.trace").c_str(), 0600), 0);
  EXPECT_NE(error_of([&] { out.write_atomic("trace\n"); }).find("is a FIFO"), std::string::npos);
  EXPECT_TRUE(fs::is_fifo(fs::symlink_status(dir / "app.trace")));
}

TEST(OutputPath, ReplacesARegularFileKeepingItsMode) {
  TempDir dir;
  write_text(dir / "app.json", "old\n");
  ASSERT_EQ(::chmod((dir / "app.json").c_str(), 0640), 0);
  write_file_atomic(dir / "app.json", "new\n");
  EXPECT_EQ(read_text(dir / "app.json"), "new\n");
  struct stat st {};
  ASSERT_EQ(::stat((dir / "app.json").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0640u);
}
