// Helpers shared by the tests: paths of built samples and tools, running a command and capturing
// its output, and the one way to skip a test that needs a kernel feature (a failure in CI).
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <string>
#include <vector>

namespace nucleus::sandbox {
class BpfProgram;
}

namespace nucleus::test {

std::filesystem::path source_dir();
std::filesystem::path binary_dir();
std::filesystem::path shared_dir();                    // ../shared beside the source tree
std::filesystem::path sample(const std::string& name); // build/samples/<name>
std::filesystem::path tool(const std::string& name);   // build/tools/<name>

bool is_root();
bool must_work(); // NUCLEUS_MUST_WORK=1: a skip is a failure

// What syscall `nr` with `args` did in a child that installed `program` first (real filter, real
// kernel): its return value and errno, or the signal it died of.
struct FilteredCall {
  long ret = 0;
  int err = 0;
  int signal = 0;
};
FilteredCall call_under_filter(const sandbox::BpfProgram& program, long nr, std::initializer_list<std::uint64_t> args);

struct RunResult {
  int exit_code = -1; // 128+N for signal N
  std::string out;
  std::string err;
};
// Runs argv (no shell), with `input` on stdin; waits at most `timeout_s` seconds, then kills.
RunResult run(const std::vector<std::string>& argv, const std::string& input = {}, int timeout_s = 60);

// A fresh temporary directory, removed at destruction.
class TempDir {
public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

private:
  std::filesystem::path path_;
};

// In a forked child: a session of its own with the pty's `slave` as its controlling terminal and
// standard input, output and error, as a shell starts a command on a terminal; both ends closed.
void take_terminal(int master, int slave) noexcept;

void write_text(const std::filesystem::path& path, const std::string& text);
std::string read_text(const std::filesystem::path& path);

// Compares `actual` with tests/profilegen/golden/<name>. With NUCLEUS_UPDATE_GOLDEN=1 it rewrites the
// golden and then fails, so that an update can never pass unnoticed as a green run.
void expect_golden(const std::string& name, const std::string& actual);

} // namespace nucleus::test

// Skips with a reason, or fails when NUCLEUS_MUST_WORK=1.
#define NUCLEUS_SKIP(reason)                                                                                           \
  do {                                                                                                                 \
    if (::nucleus::test::must_work()) {                                                                                \
      FAIL() << "NUCLEUS_MUST_WORK=1 but: " << (reason);                                                               \
    }                                                                                                                  \
    GTEST_SKIP() << (reason);                                                                                          \
  } while (0)

#define NUCLEUS_REQUIRE_ROOT()                                                                                         \
  do {                                                                                                                 \
    if (!::nucleus::test::is_root()) NUCLEUS_SKIP("needs root");                                                       \
  } while (0)
