// Decoding the eBPF recorder's behaviour events without the kernel: events built as the program
// builds them (a header, then path A, base A, path B, base B, the buffer, argv), decoded into the
// core's records; lengths that do not fit the event are refused, not read past.
#if NUCLEUS_HAVE_EBPF

#include "ebpf_behaviour.hpp"

#include "nucleus/core/syscalls.hpp"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

using namespace nucleus;
using tracer::ebpf::decode_behaviour;

namespace {

// The kind the program copies: the call's place in the table, read back from the spec it is loaded with.
std::uint32_t kind_of(const std::string& name, const std::string& arch = "x86_64") {
  auto a = core::arch_from_name(arch);
  auto nr = core::syscall_number(*a, name);
  EXPECT_TRUE(nr.has_value()) << name;
  std::size_t row = arch == "x86_64" ? 0 : arch == "x86" ? 1 : 2;
  int idx = *nr & ~0x40000000;
  return tracer::ebpf::behaviour_spec()[row * nucleus_bpf_nr_max + static_cast<std::size_t>(idx)] & 0x3f;
}

struct Event {
  nucleus_bpf_behaviour_event header{};
  std::string data;
  explicit Event(const std::string& call) {
    header.kind = kind_of(call);
    header.slot = 3;
    header.tid = 42;
    header.flags = nucleus_bpf_behaviour_result;
  }
  Event& path_a(const std::string& p, const std::string& base = {}) {
    data += p + '\0';
    header.len_a = static_cast<std::uint16_t>(p.size() + 1);
    if (!base.empty()) {
      data += base + '\0';
      header.len_base_a = static_cast<std::uint16_t>(base.size() + 1);
    }
    return *this;
  }
  Event& path_b(const std::string& p) {
    data += p + '\0';
    header.len_b = static_cast<std::uint16_t>(p.size() + 1);
    return *this;
  }
  Event& blob(const void* bytes, std::size_t n) {
    data.append(static_cast<const char*>(bytes), n);
    header.blob_len = static_cast<std::uint16_t>(n);
    return *this;
  }
  tracer::ebpf::DecodedEvent decode() const {
    return decode_behaviour(header, std::span(data.data(), data.size()), [](std::uint32_t, int dirfd) {
      return dirfd == -100 ? std::string("/proc-cwd") : std::string("/fd-dir");
    });
  }
};

} // namespace

TEST(EbpfBehaviour, OpenatResolvesAgainstTheDirectoryTheProgramNamed) {
  Event e("openat");
  e.header.args[0] = static_cast<std::uint64_t>(-100);
  e.header.args[2] = O_WRONLY | O_CREAT | O_APPEND;
  e.path_a("../x/./f", "/home/u/proj");
  auto d = e.decode();
  ASSERT_TRUE(d.file);
  EXPECT_EQ(d.file->path, "/home/u/x/f");
  EXPECT_EQ(d.file->exe, "3");
  EXPECT_EQ(d.file->access, core::FileAccess::write | core::FileAccess::create |
                                static_cast<core::FileAccessSet>(core::FileAccess::append));
  EXPECT_EQ(d.file->result, core::Outcome::ok);
}

// The mode asked: a created file's, chmod's; none for an open that creates nothing.
TEST(EbpfBehaviour, FileRecordsCarryTheModeAsked) {
  Event created("openat");
  created.header.args[2] = O_WRONLY | O_CREAT;
  created.header.args[3] = 04755;
  created.path_a("/tmp/x");
  EXPECT_EQ(created.decode().file->mode, 04755);
  Event opened("openat");
  opened.header.args[2] = O_RDONLY;
  opened.header.args[3] = 0777;
  opened.path_a("/etc/passwd");
  EXPECT_EQ(opened.decode().file->mode, -1);
  Event chmod("fchmodat");
  chmod.header.args[2] = 02750;
  chmod.path_a("/bin/x");
  EXPECT_EQ(chmod.decode().file->mode, 02750);
  Event how("openat2");
  std::uint64_t open_how[3] = {O_CREAT | O_WRONLY, 0600, 0};
  how.path_a("/tmp/y").blob(open_how, sizeof open_how);
  EXPECT_EQ(how.decode().file->mode, 0600);
}

TEST(EbpfBehaviour, WithoutANamedDirectoryProcIsAskedForTheDescriptor) {
  Event e("openat");
  e.header.args[0] = 7;
  e.path_a("f");
  EXPECT_EQ(e.decode().file->path, "/fd-dir/f");
}

TEST(EbpfBehaviour, Openat2ReadsItsFlagsFromOpenHow) {
  Event e("openat2");
  e.header.args[0] = static_cast<std::uint64_t>(-100);
  e.header.ret = -2;
  std::uint64_t how[3] = {O_RDONLY | O_DIRECTORY, 0, 0};
  e.path_a("/etc").blob(how, sizeof how);
  auto d = e.decode();
  ASSERT_TRUE(d.file);
  EXPECT_EQ(d.file->access, static_cast<core::FileAccessSet>(core::FileAccess::list));
  EXPECT_EQ(d.file->result, core::Outcome::failed);
}

TEST(EbpfBehaviour, SymlinkKeepsItsContentAsWritten) {
  Event e("symlink");
  e.path_a("/tmp/l").path_b("../../etc/passwd");
  auto d = e.decode();
  ASSERT_TRUE(d.file);
  EXPECT_EQ(d.file->path, "/tmp/l");
  EXPECT_EQ(d.file->target, "../../etc/passwd");
}

TEST(EbpfBehaviour, ConnectDecodesTheAddressAndSendtoOnAConnectedSocketIsNoRecord) {
  sockaddr_in in{};
  in.sin_family = AF_INET;
  in.sin_port = htons(53);
  in.sin_addr.s_addr = htonl(0x7f000001);
  Event c("connect");
  c.blob(&in, sizeof in);
  auto d = c.decode();
  ASSERT_TRUE(d.net);
  EXPECT_EQ(d.net->family, "inet");
  EXPECT_EQ(d.net->address, "127.0.0.1");
  EXPECT_EQ(d.net->port, 53);
  Event s("sendto");
  auto none = s.decode();
  EXPECT_FALSE(none.net);
  EXPECT_FALSE(none.unread);
}

TEST(EbpfBehaviour, ExecKeepsArgvAndSaysWhenItWasCut) {
  Event e("execve");
  e.path_a("/bin/sh");
  const std::string argv = std::string("sh") + '\0' + "-c" + '\0' + std::string(130, 'x') + '\0';
  e.data += argv;
  e.header.argv_len = static_cast<std::uint16_t>(argv.size());
  e.header.argc = 3;
  e.header.flags |= nucleus_bpf_behaviour_argv_truncated;
  auto d = e.decode();
  ASSERT_TRUE(d.exec);
  EXPECT_EQ(d.exec->path, "/bin/sh");
  ASSERT_EQ(d.exec->argv.size(), 3u);
  EXPECT_EQ(d.exec->argv[2].size(), core::exec_arg_bytes_max);
  EXPECT_TRUE(d.exec->argv_truncated);
}

// A Unix socket's relative path: the directory the program named follows the buffer.
TEST(EbpfBehaviour, UnixSocketPathsAreResolvedAgainstTheNamedDirectory) {
  sockaddr_un un{};
  un.sun_family = AF_UNIX;
  std::strcpy(un.sun_path, "run/s.sock");
  Event b("bind");
  const auto len = offsetof(sockaddr_un, sun_path) + std::strlen(un.sun_path) + 1;
  b.blob(&un, len);
  b.data += std::string("/srv/app") + '\0';
  b.header.len_base_a = 9;
  auto d = b.decode();
  ASSERT_TRUE(d.net);
  EXPECT_EQ(d.net->family, "unix");
  EXPECT_EQ(d.net->address, "/srv/app/run/s.sock");
}

// A path the program could not read: no record; loss unless the call failed on it.
TEST(EbpfBehaviour, UnreadPathIsLossOnlyWhenTheCallWentAhead) {
  Event ok("unlink");
  ok.header.flags |= nucleus_bpf_behaviour_unread_a;
  auto d = ok.decode();
  EXPECT_FALSE(d.file);
  EXPECT_TRUE(d.unread);
  Event failed("unlink");
  failed.header.flags |= nucleus_bpf_behaviour_unread_a;
  failed.header.ret = -14;
  EXPECT_FALSE(failed.decode().unread);
}

// Lengths that claim more than the event holds, and unknown kinds, give nothing.
TEST(EbpfBehaviour, LengthsPastTheEventAndUnknownKindsAreRefused) {
  Event e("openat");
  e.path_a("/etc/passwd");
  e.header.len_b = 4000;
  auto d = e.decode();
  EXPECT_FALSE(d.file);
  Event k("openat");
  k.path_a("/etc/passwd");
  k.header.kind = 63;
  EXPECT_FALSE(k.decode().file);
}

// The same call of the compat ABIs is read with its own numbers.
TEST(EbpfBehaviour, EveryAbiHasItsOwnNumbersInTheTable) {
  EXPECT_EQ(kind_of("openat"), kind_of("openat", "x86"));
  EXPECT_EQ(kind_of("execve"), kind_of("execve", "x32"));
  EXPECT_NE(kind_of("renameat2", "x32"), 0u);
}

// listen names a descriptor: its address comes from the caller's /proc tables while it is open.
TEST(EbpfBehaviour, ListenFindsTheSocketsLocalAddress) {
  int tcp = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in in{};
  in.sin_family = AF_INET;
  in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof in;
  ASSERT_EQ(::bind(tcp, reinterpret_cast<sockaddr*>(&in), len), 0);
  ASSERT_EQ(::listen(tcp, 1), 0);
  ASSERT_EQ(::getsockname(tcp, reinterpret_cast<sockaddr*>(&in), &len), 0);
  auto address = tracer::ebpf::listening_address(static_cast<std::uint32_t>(::gettid()), tcp);
  ASSERT_TRUE(address);
  EXPECT_EQ(address->family, "inet");
  EXPECT_EQ(address->address, "127.0.0.1");
  EXPECT_EQ(address->port, ntohs(in.sin_port));

  int unix_socket = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un un{};
  un.sun_family = AF_UNIX;
  const std::string name = "nucleus-test-listen-" + std::to_string(::getpid());
  std::memcpy(un.sun_path + 1, name.data(), name.size()); // abstract
  ASSERT_EQ(::bind(unix_socket, reinterpret_cast<sockaddr*>(&un),
                   static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size())),
            0);
  ASSERT_EQ(::listen(unix_socket, 1), 0);
  auto unix_address = tracer::ebpf::listening_address(static_cast<std::uint32_t>(::gettid()), unix_socket);
  ASSERT_TRUE(unix_address);
  EXPECT_EQ(unix_address->family, "unix");
  EXPECT_EQ(unix_address->address, "@" + name);
  EXPECT_FALSE(tracer::ebpf::listening_address(static_cast<std::uint32_t>(::gettid()), 0)) << "not a socket";
  ::close(tcp);
  ::close(unix_socket);
}

#endif
