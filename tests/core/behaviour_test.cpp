// Behaviour records: the decoding every recorder shares (open flags, socket addresses, paths), the
// distinct and capped set, and the trace lines that carry them, read back as written.
#include "nucleus/core/behaviour.hpp"
#include "nucleus/core/error.hpp"
#include "nucleus/core/trace_log.hpp"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

using namespace nucleus;
using core::FileAccess;

namespace {

template <class Sockaddr>
std::vector<std::uint8_t> bytes_of(const Sockaddr& address, std::size_t size = sizeof(Sockaddr)) {
  std::vector<std::uint8_t> out(size);
  std::memcpy(out.data(), &address, std::min(size, sizeof address));
  return out;
}

std::vector<std::string> names(std::uint64_t flags) { return core::file_access_names(core::open_flags_access(flags)); }

} // namespace

TEST(Behaviour, OpenFlagsSayWhatWasAsked) {
  using V = std::vector<std::string>;
  EXPECT_EQ(names(O_RDONLY | O_CLOEXEC), V{"read"});
  EXPECT_EQ(names(O_WRONLY | O_CREAT | O_TRUNC), (V{"write", "create", "truncate"}));
  EXPECT_EQ(names(O_WRONLY | O_APPEND), (V{"write", "append"}));
  EXPECT_EQ(names(O_RDWR), (V{"read", "write"}));
  EXPECT_EQ(names(O_RDONLY | O_DIRECTORY), V{"list"});
  EXPECT_EQ(names(O_PATH | O_DIRECTORY), V{"lookup"});
  // A directory flag on a write is still a write: the kernel refuses it, but the ask is what counts.
  EXPECT_EQ(names(O_WRONLY | O_DIRECTORY), V{"write"});
}

// A non-blocking connect in progress is a use of the endpoint (every recorder says so, and gen
// grants it); any other call's errno is a failure, EINPROGRESS included.
TEST(Behaviour, ConnectInProgressIsAUseNotAFailure) {
  EXPECT_EQ(core::outcome_of_call("connect", 0), core::Outcome::ok);
  EXPECT_EQ(core::outcome_of_call("connect", EINPROGRESS), core::Outcome::ok);
  EXPECT_EQ(core::outcome_of_call("connect", ECONNREFUSED), core::Outcome::failed);
  EXPECT_EQ(core::outcome_of_call("sendto", EINPROGRESS), core::Outcome::failed);
  EXPECT_EQ(core::outcome_of_call("openat", ENOENT), core::Outcome::failed);
}

TEST(Behaviour, AccessNamesRoundTrip) {
  for (std::uint32_t bit = 1; bit <= 0x8000; bit <<= 1) {
    const auto set = static_cast<core::FileAccessSet>(bit);
    const auto listed = core::file_access_names(set);
    ASSERT_EQ(listed.size(), 1u) << bit;
    EXPECT_EQ(static_cast<core::FileAccessSet>(*core::file_access_from_name(listed[0])), set);
  }
  EXPECT_FALSE(core::file_access_from_name("teleport"));
}

TEST(Behaviour, DecodesInetAddresses) {
  sockaddr_in in{};
  in.sin_family = AF_INET;
  in.sin_port = htons(8080);
  inet_pton(AF_INET, "10.1.2.3", &in.sin_addr);
  auto decoded = core::decode_sockaddr(bytes_of(in));
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->family, "inet");
  EXPECT_EQ(decoded->address, "10.1.2.3");
  EXPECT_EQ(decoded->port, 8080);
  EXPECT_FALSE(core::decode_sockaddr(bytes_of(in, 6))) << "too short for sockaddr_in";

  sockaddr_in6 in6{};
  in6.sin6_family = AF_INET6;
  in6.sin6_port = htons(53);
  inet_pton(AF_INET6, "2001:db8::1", &in6.sin6_addr);
  decoded = core::decode_sockaddr(bytes_of(in6));
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->family, "inet6");
  EXPECT_EQ(decoded->address, "2001:db8::1");
  EXPECT_EQ(decoded->port, 53);
}

TEST(Behaviour, DecodesUnixPathsAndAbstractNames) {
  sockaddr_un un{};
  un.sun_family = AF_UNIX;
  std::strcpy(un.sun_path, "/run/app.sock");
  auto decoded = core::decode_sockaddr(bytes_of(un, offsetof(sockaddr_un, sun_path) + 14));
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->family, "unix");
  EXPECT_EQ(decoded->address, "/run/app.sock");
  EXPECT_EQ(decoded->port, -1);

  sockaddr_un abstract{};
  abstract.sun_family = AF_UNIX;
  std::memcpy(abstract.sun_path, "\0bus\0x", 6);
  decoded = core::decode_sockaddr(bytes_of(abstract, offsetof(sockaddr_un, sun_path) + 6));
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->address, std::string("@bus\0x", 6)) << "the length, not a NUL, ends an abstract name";

  EXPECT_FALSE(core::decode_sockaddr(std::vector<std::uint8_t>{1}));
  decoded = core::decode_sockaddr(std::vector<std::uint8_t>{0x2a, 0}); // family 42, nothing known of it
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->family, "42");
}

TEST(Behaviour, ResolvesPathsLexically) {
  EXPECT_EQ(core::resolve_path("/home/u/proj", "notes.txt"), "/home/u/proj/notes.txt");
  EXPECT_EQ(core::resolve_path("/home/u/proj", "../.ssh/./id_ed25519"), "/home/u/.ssh/id_ed25519");
  EXPECT_EQ(core::resolve_path("/home/u", "/etc//passwd"), "/etc/passwd");
  EXPECT_EQ(core::resolve_path("/", "../../.."), "/");
  EXPECT_EQ(core::resolve_path("", "relative/x"), "relative/x") << "no base: kept as asked, marked by no leading /";
  EXPECT_EQ(core::resolve_path("/tmp/", "a/../../etc/shadow"), "/etc/shadow");
}

TEST(Behaviour, SetKeepsDistinctRecordsCountedAndCapped) {
  core::BehaviourSet set(3);
  set.add(core::TraceFile{"/bin/app", "openat", "/etc/passwd", static_cast<core::FileAccessSet>(FileAccess::read)});
  set.add(core::TraceFile{"/bin/app", "openat", "/etc/passwd", static_cast<core::FileAccessSet>(FileAccess::read)});
  set.add(core::TraceFile{"/bin/app", "openat", "/etc/passwd", static_cast<core::FileAccessSet>(FileAccess::read), "",
                          core::Outcome::failed});
  set.add(core::TraceExec{"/bin/app", "/bin/sh", {"sh", "-c", "id"}, false, core::Outcome::ok, 2});
  EXPECT_EQ(set.size(), 3u);
  EXPECT_EQ(set.dropped(), 0u);
  set.add(core::TraceNet{"/bin/app", "connect", "inet", "", "10.0.0.1", 443});
  EXPECT_EQ(set.dropped(), 1u) << "the fourth distinct record passes the cap";
  set.add(core::TraceExec{"/bin/app", "/bin/sh", {"sh", "-c", "id"}, false, core::Outcome::ok, 1});
  EXPECT_EQ(set.dropped(), 1u) << "a record already kept is still counted";
  const auto files = set.files();
  ASSERT_EQ(files.size(), 2u);
  EXPECT_EQ(files[0].count, 2u);
  EXPECT_EQ(files[0].result, core::Outcome::unknown);
  EXPECT_EQ(files[1].result, core::Outcome::failed);
  ASSERT_EQ(set.execs().size(), 1u);
  EXPECT_EQ(set.execs()[0].count, 3u);
  EXPECT_TRUE(set.nets().empty());
  // The mode is part of what makes a record distinct: a set-id chmod is not folded into a plain one.
  core::BehaviourSet modes;
  modes.add(core::TraceFile{"/bin/app", "chmod", "/x", static_cast<core::FileAccessSet>(FileAccess::chmod), "",
                            core::Outcome::ok, 1, 0755});
  modes.add(core::TraceFile{"/bin/app", "chmod", "/x", static_cast<core::FileAccessSet>(FileAccess::chmod), "",
                            core::Outcome::ok, 1, 04755});
  ASSERT_EQ(modes.files().size(), 2u);
  EXPECT_EQ(modes.files()[1].mode, 04755);
}

TEST(Behaviour, TraceLinesRoundTrip) {
  core::Trace t;
  t.header = {{"./app"}, "ebpf", "6.1.0", "2026-12-07T09:00:00Z", ""};
  t.header.behaviour = true;
  t.header.workspace = {"/home/u/proj", "/srv/out"};
  t.execs.push_back({"/bin/app", "/bin/sh", {"sh", "-c", "echo \x1b[2J\n"}, true, core::Outcome::ok, 1});
  t.files.push_back({"/bin/app", "openat", "/home/u/.ssh/id_ed25519",
                     static_cast<core::FileAccessSet>(FileAccess::read), "", core::Outcome::ok, 2});
  t.files.push_back({"/bin/app", "symlinkat", "/tmp/l", static_cast<core::FileAccessSet>(FileAccess::symlink),
                     "/etc/shadow", core::Outcome::unknown, 1});
  t.files.push_back(
      {"/bin/app", "openat", "rel/x", FileAccess::write | FileAccess::create, "", core::Outcome::failed, 1});
  t.files.push_back({"/bin/app", "fchmodat", "/tmp/s", static_cast<core::FileAccessSet>(FileAccess::chmod), "",
                     core::Outcome::ok, 1, 04755});
  t.nets.push_back({"/bin/app", "connect", "inet", "", "127.0.0.1", 8080, core::Outcome::failed, 1});
  t.nets.push_back({"/bin/app", "socket", "inet", "dgram", "", -1, core::Outcome::ok, 3});
  t.summary = core::TraceSummary{10, 4, 0, 0, 5, 0};
  t.summary->behaviour_dropped = 7;
  const std::string text = core::write_trace(t);
  EXPECT_NE(text.find(R"({"type":"file","exe":"/bin/app","syscall":"openat","path":"/home/u/.ssh/id_ed25519",)"
                      R"("access":["read"],"result":"ok","count":2})"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find(R"("argv":["sh","-c","echo \u001b[2J\n"],"argv_truncated":true)"), std::string::npos) << text;
  EXPECT_NE(text.find(R"("behaviour":true,"workspace":["/home/u/proj","/srv/out"])"), std::string::npos) << text;
  EXPECT_NE(text.find(R"("behaviour_dropped":7)"), std::string::npos) << text;
  EXPECT_NE(text.find(R"("path":"/tmp/s","access":["chmod"],"result":"ok","count":1,"mode":2541})"), std::string::npos)
      << text;
  EXPECT_EQ(text.find(R"("mode":-1)"), std::string::npos) << "an unknown mode is left out";
  EXPECT_EQ(core::read_trace(text, "b.trace"), t);
  EXPECT_FALSE(t.files[2].resolved());
}

TEST(Behaviour, ReaderRejectsBadRecordsByLine) {
  const std::string header = R"({"type":"header","format":"nucleus-trace","version":1,"command":["a"],)"
                             R"("source":"ebpf","kernel":"6.1","started_at":"x"})";
  auto rejection = [&](const std::string& line) -> std::string {
    try {
      core::read_trace(header + "\n" + line + "\n", "b.trace");
    } catch (const core::Error& e) {
      return e.what();
    }
    return "";
  };
  EXPECT_EQ(rejection(R"({"type":"file","exe":"/a","syscall":"open","path":"/x","access":["teleport"],"count":1})"),
            "b.trace:2: key \"access\" in the file line must be a list of file accesses (read, write, create, ...), "
            "not \"teleport\"");
  EXPECT_EQ(rejection(R"({"type":"net","exe":"/a","syscall":"connect","family":"inet","port":70000,"count":1})"),
            "b.trace:2: key \"port\" in the net line must be a port 0..65535, not 70000");
  EXPECT_EQ(rejection(R"({"type":"exec","exe":"/a","path":"/b","argv":"sh","count":1})"),
            "b.trace:2: key \"argv\" in the exec line must be an array of strings, not \"sh\"");
  EXPECT_EQ(rejection(R"({"type":"exec","exe":"/a","path":"/b","argv":[],"result":"maybe","count":1})"),
            "b.trace:2: key \"result\" in the exec line must be \"ok\" or \"failed\", not \"maybe\"");
  EXPECT_EQ(
      rejection(R"({"type":"file","exe":"/a","syscall":"chmod","path":"/x","access":["chmod"],"count":1,"mode":4096})"),
      "b.trace:2: key \"mode\" in the file line must be a file mode 0..07777, not 4096");
  EXPECT_EQ(rejection(R"({"type":"file","exe":"/a","path":"/x","access":[],"count":1})"),
            "b.trace:2: missing key \"syscall\" in the file line");
  EXPECT_EQ(core::read_trace(header + "\n" + R"({"type":"exec","exe":"/a","path":"/b","argv":[],"count":1})", "b")
                .execs.size(),
            1u);
}
