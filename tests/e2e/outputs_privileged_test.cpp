// nucleus's outputs (-o) go only to regular files: a device node, a FIFO or a symlink at the
// output path is refused with a clear error and left as it was. Root: a device node is made with
// mknod, and nucleus-trace runs its command in the sandbox.
#include "e2e_support.hpp"

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

using nucleus::test::read_text;
using nucleus::test::run;
using nucleus::test::RunResult;
using nucleus::test::TempDir;
using nucleus::test::tool;
using nucleus::test::write_text;
namespace fs = std::filesystem;

namespace {

std::string text_of(const RunResult& r) {
  return "exit " + std::to_string(r.exit_code) + "\nstdout: " + r.out + "\nstderr: " + r.err;
}

const char trace_text[] =
    R"({"type":"header","format":"nucleus-trace","version":1,"command":["/bin/true"],"source":"netlink","kernel":"6.1.0","started_at":"2026-11-28T09:00:00Z"}
{"type":"syscall","arch":"x86_64","nr":39,"name":"getpid","count":1,"exe":"/bin/true"}
{"type":"summary","events":1,"distinct":1,"lost":0,"exit_code":0,"duration_ms":1}
)";

struct Special {
  std::string what; // as the error names it
  fs::path path;
  mode_t type; // S_IFCHR, S_IFIFO, S_IFLNK
};

// A character device (the host's null device, 1:3, made here), a FIFO and a symlink to a file.
std::vector<Special> make_specials(const TempDir& dir) {
  std::vector<Special> out{{"a character device", dir / "null", S_IFCHR},
                           {"a FIFO", dir / "fifo", S_IFIFO},
                           {"a symbolic link", dir / "link", S_IFLNK}};
  EXPECT_EQ(::mknod(out[0].path.c_str(), S_IFCHR | 0666, ::makedev(1, 3)), 0) << std::strerror(errno);
  EXPECT_EQ(::mkfifo(out[1].path.c_str(), 0600), 0);
  write_text(dir / "target", "the symlink's target\n");
  fs::create_symlink(dir / "target", out[2].path);
  return out;
}

// The output path is what it was, and nothing was written beside it.
void expect_untouched(const TempDir& dir, const Special& s, const RunResult& r, const std::string& tool_name) {
  EXPECT_NE(r.exit_code, 0) << tool_name << " -o " << s.path << "\n" << text_of(r);
  EXPECT_NE(r.err.find(s.path.string() + " is " + s.what), std::string::npos) << tool_name << "\n" << r.err;
  struct stat st {};
  ASSERT_EQ(::lstat(s.path.c_str(), &st), 0) << s.path << " is gone";
  EXPECT_EQ(st.st_mode & S_IFMT, s.type) << tool_name << " replaced " << s.what << " by another kind of file";
  if (s.type == S_IFCHR) {
    EXPECT_EQ(st.st_rdev, ::makedev(1, 3));
  }
  EXPECT_EQ(read_text(dir / "target"), "the symlink's target\n");
  for (const auto& e : fs::directory_iterator(dir.path()))
    EXPECT_NE(e.path().filename().string().front(), '.') << "a temporary file was left: " << e.path();
}

} // namespace

TEST(OutputsPrivileged, ProfileGenRefusesAnythingButARegularFile) {
  NUCLEUS_REQUIRE_ROOT();
  TempDir dir;
  write_text(dir / "t.trace", trace_text);
  for (const auto& s : make_specials(dir)) {
    auto r = run({tool("nucleus-profile").string(), "gen", (dir / "t.trace").string(), "-o", s.path.string()});
    expect_untouched(dir, s, r, "nucleus-profile gen");
  }
  // The control: a regular file is replaced, and - is standard output.
  write_text(dir / "app.json", "old\n");
  auto r =
      run({tool("nucleus-profile").string(), "gen", (dir / "t.trace").string(), "-o", (dir / "app.json").string()});
  EXPECT_EQ(r.exit_code, 0) << text_of(r);
  EXPECT_NE(read_text(dir / "app.json").find("\"getpid\""), std::string::npos);
  auto out = run({tool("nucleus-profile").string(), "gen", (dir / "t.trace").string(), "-o", "-"});
  EXPECT_EQ(out.exit_code, 0) << text_of(out);
  EXPECT_NE(out.out.find("\"getpid\""), std::string::npos) << out.out;
}

TEST(OutputsPrivileged, TraceRefusesAnythingButARegularFile) {
  NUCLEUS_REQUIRE_ROOT();
  TempDir dir;
  for (const auto& s : make_specials(dir)) {
    auto r =
        run({tool("nucleus-trace").string(), "-q", "--trust-level=trusted", "-o", s.path.string(), "--", "/bin/true"});
    expect_untouched(dir, s, r, "nucleus-trace");
  }
  // Standard output is the command's too: a trace there could not be told from its output.
  auto r = run({tool("nucleus-trace").string(), "-q", "--trust-level=trusted", "-o", "-", "--", "/bin/true"});
  EXPECT_EQ(r.exit_code, 125) << text_of(r);
  EXPECT_NE(r.err.find("-o -: the traced command writes to the same standard output"), std::string::npos) << r.err;
}
