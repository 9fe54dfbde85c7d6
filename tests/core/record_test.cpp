// The SECCOMP record parser on every text form a record reaches us in (netlink payload, /dev/kmsg,
// dmesg, audit.log plain and enriched, journalctl), on other record types, and on damaged lines.
// The sample lines in data/ are real records from a 6.x kernel, or auditd/journald framings of them.
#include "nucleus/core/syscalls.hpp"
#include "nucleus/core/record.hpp"
#include "test_support.hpp"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

using namespace nucleus;
using core::ParseStatus;
using core::SeccompRecord;

namespace {

constexpr std::uint32_t unset_id = 0xffffffff;

std::vector<std::string> data_lines(const std::string& file) {
  std::string text = test::read_text(test::source_dir() / "tests/tracer/data" / file);
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t nl = text.find('\n', start);
    if (nl == std::string::npos) nl = text.size();
    lines.push_back(text.substr(start, nl - start));
    start = nl + 1;
  }
  return lines;
}

// A netlink sample line is "<message type>|<payload>".
std::pair<int, std::string> split_netlink(const std::string& line) {
  const auto bar = line.find('|');
  return {std::stoi(line.substr(0, bar)), line.substr(bar + 1)};
}

core::Arch arch(const char* name) { return *core::arch_from_name(name); }

ParseStatus parse(std::string_view line, SeccompRecord& out) { return core::parse_seccomp_record(line, out); }

ParseStatus parse(std::string_view line) {
  SeccompRecord out;
  return core::parse_seccomp_record(line, out);
}

constexpr std::string_view payload =
    "audit(1795861588.540:2): auid=0 uid=0 gid=0 ses=1 pid=2140 comm=\"nl\" exe=\"/tmp/exp/nl\" sig=0 "
    "arch=c000003e syscall=59 compat=0 ip=0x7ff7bc5b1ad7 code=0x7ffc0000";

void expect_execve_of_nl(const SeccompRecord& r, bool with_stamp = true) {
  EXPECT_EQ(r.time_sec, with_stamp ? 1795861588u : 0u);
  EXPECT_EQ(r.time_msec, with_stamp ? 540u : 0u);
  EXPECT_EQ(r.serial, with_stamp ? 2u : 0u);
  EXPECT_EQ(r.auid, 0u);
  EXPECT_EQ(r.uid, 0u);
  EXPECT_EQ(r.gid, 0u);
  EXPECT_EQ(r.ses, 1u);
  EXPECT_EQ(r.pid, 2140);
  EXPECT_EQ(r.comm, "nl");
  EXPECT_EQ(r.exe, "/tmp/exp/nl");
  EXPECT_EQ(r.sig, 0);
  EXPECT_EQ(r.arch, arch("x86_64"));
  EXPECT_EQ(r.syscall, 59);
  EXPECT_FALSE(r.compat);
  EXPECT_EQ(r.ip, 0x7ff7bc5b1ad7u);
  EXPECT_EQ(r.code, 0x7ffc0000u);
  EXPECT_EQ(r.action(), core::Action::log());
}

} // namespace

TEST(Record, NetlinkPayloadWithItsMessageType) {
  SeccompRecord r;
  ASSERT_EQ(core::parse_seccomp_record(payload, r, core::audit_type_seccomp), ParseStatus::ok);
  expect_execve_of_nl(r);
}

TEST(Record, NetlinkMessagesOfOtherTypesAreNotSeccomp) {
  SeccompRecord r;
  // A SYSCALL record has arch= and syscall= too: only the type tells them apart.
  EXPECT_EQ(core::parse_seccomp_record(payload, r, 1300), ParseStatus::not_seccomp);
  // Without a type, a bare payload could be any record type.
  EXPECT_EQ(parse(payload), ParseStatus::not_seccomp);
}

TEST(Record, RealNetlinkCapture) {
  int seccomp = 0;
  for (const auto& line : data_lines("netlink.txt")) {
    auto [type, text] = split_netlink(line);
    SeccompRecord r;
    auto status = core::parse_seccomp_record(text, r, type);
    if (type == core::audit_type_seccomp) {
      ASSERT_EQ(status, ParseStatus::ok) << line;
      EXPECT_EQ(r.auid, unset_id);
      EXPECT_EQ(r.ses, unset_id);
      ++seccomp;
    } else {
      EXPECT_EQ(status, ParseStatus::not_seccomp) << line;
    }
  }
  EXPECT_EQ(seccomp, 3);
}

TEST(Record, DmesgLine) {
  SeccompRecord r;
  ASSERT_EQ(parse(std::string("[ 4305.765466] audit: type=1326 ") + std::string(payload), r), ParseStatus::ok);
  expect_execve_of_nl(r);
}

TEST(Record, KmsgAndRawDmesgPrefixes) {
  for (const char* prefix : {"5,1234,4305767365,-;audit: type=1326 ", "<5>[ 4305.767365] audit: type=1326 ",
                             "[Sat Nov 28 10:57:11 2026] audit: type=1326 ", "audit: type=1326 "}) {
    SeccompRecord r;
    ASSERT_EQ(parse(std::string(prefix) + std::string(payload), r), ParseStatus::ok) << prefix;
    expect_execve_of_nl(r);
  }
}

TEST(Record, AuditdLogLine) {
  SeccompRecord r;
  ASSERT_EQ(parse("type=SECCOMP msg=audit(1795861588.540:2): auid=0 uid=0 gid=0 ses=1 subj=unconfined pid=2140 "
                  "comm=\"nl\" exe=\"/tmp/exp/nl\" sig=0 arch=c000003e syscall=59 compat=0 ip=0x7ff7bc5b1ad7 "
                  "code=0x7ffc0000",
                  r),
            ParseStatus::ok);
  expect_execve_of_nl(r);
  // With name_format set, auditd puts the node first; without a name for the type it writes UNKNOWN[n].
  EXPECT_EQ(parse("node=build01 type=SECCOMP msg=" + std::string(payload), r), ParseStatus::ok);
  expect_execve_of_nl(r);
  EXPECT_EQ(parse("type=UNKNOWN[1326] msg=" + std::string(payload), r), ParseStatus::ok);
  expect_execve_of_nl(r);
}

TEST(Record, EnrichedAuditdLinePrefersTheRawArch) {
  SeccompRecord r;
  const std::string raw = "type=SECCOMP msg=" + std::string(payload);
  ASSERT_EQ(parse(raw + "\x1d"
                        "AUID=\"root\" UID=\"root\" GID=\"root\" ARCH=x86_64 SYSCALL=execve",
                  r),
            ParseStatus::ok);
  expect_execve_of_nl(r);
  // The raw token wins over the interpreted name (which ausearch derives from it anyway).
  ASSERT_EQ(parse(raw + "\x1d"
                        "AUID=\"root\" ARCH=i386 SYSCALL=execve",
                  r),
            ParseStatus::ok);
  EXPECT_EQ(r.arch, arch("x86_64"));
}

TEST(Record, EnrichedArchNameAloneIsEnough) {
  SeccompRecord r;
  ASSERT_EQ(parse("type=SECCOMP msg=audit(1795861588.540:2): auid=0 uid=0 gid=0 ses=1 pid=2140 comm=\"nl\" "
                  "exe=\"/tmp/exp/nl\" sig=0 syscall=59 compat=0 ip=0x7ff7bc5b1ad7 code=0x7ffc0000\x1d"
                  "AUID=\"root\" ARCH=x86_64 SYSCALL=execve",
                  r),
            ParseStatus::ok);
  EXPECT_EQ(r.arch, arch("x86_64"));
  EXPECT_EQ(r.syscall, 59);
  EXPECT_EQ(parse("type=SECCOMP msg=audit(1.2:3): pid=1 syscall=59 code=0x7ffc0000\x1d"
                  "ARCH=sparc"),
            ParseStatus::malformed);
}

TEST(Record, RealAuditdFile) {
  int ok = 0;
  int not_seccomp = 0;
  for (const auto& line : data_lines("audit.log")) {
    auto status = parse(line);
    EXPECT_NE(status, ParseStatus::malformed) << line;
    (status == ParseStatus::ok ? ok : not_seccomp)++;
  }
  EXPECT_EQ(ok, 5);
  EXPECT_EQ(not_seccomp, 5);
}

TEST(Record, HexEncodedAndUnknownCommAndExe) {
  SeccompRecord r;
  // A real record of a program whose path holds a space.
  ASSERT_EQ(parse("[ 6149.603117] audit: type=1326 audit(1795863432.376:255): auid=4294967295 uid=0 gid=0 "
                  "ses=4294967295 pid=8803 comm=6D7920617070 "
                  "exe=2F746D702F6E75636C6575732064656D6F2F6D7920617070 sig=31 arch=c000003e syscall=101 compat=0 "
                  "ip=0x7f0399850829 code=0x80000000",
                  r),
            ParseStatus::ok);
  EXPECT_EQ(r.comm, "my app");
  EXPECT_EQ(r.exe, "/tmp/nucleus demo/my app");
  EXPECT_EQ(r.sig, 31);
  EXPECT_EQ(r.action(), core::Action::kill_process());
  EXPECT_EQ(core::syscall_name(r.arch, r.syscall), "ptrace");

  ASSERT_EQ(parse("type=SECCOMP msg=audit(1.2:3): pid=7 comm=2f746d702f61206220 exe=(null) arch=c000003e "
                  "syscall=0 code=0x7ffc0000",
                  r),
            ParseStatus::ok);
  EXPECT_EQ(r.comm, "/tmp/a b ");
  EXPECT_EQ(r.exe, "");
  ASSERT_EQ(parse("type=SECCOMP msg=audit(1.2:3): pid=7 comm=? exe=\"\" arch=c000003e syscall=0 code=0x7ffc0000", r),
            ParseStatus::ok);
  EXPECT_EQ(r.comm, "");
  EXPECT_EQ(r.exe, "");
}

TEST(Record, UnsetIdsAndOldMinusOne) {
  SeccompRecord r;
  ASSERT_EQ(parse("audit: type=1326 audit(1.2:3): auid=4294967295 uid=4294967295 gid=1000 ses=-1 pid=7 "
                  "arch=c000003e syscall=0 code=0x7ffc0000",
                  r),
            ParseStatus::ok);
  EXPECT_EQ(r.auid, unset_id);
  EXPECT_EQ(r.uid, unset_id);
  EXPECT_EQ(r.gid, 1000u);
  EXPECT_EQ(r.ses, unset_id);
}

TEST(Record, JournalctlForms) {
  SeccompRecord r;
  const std::string fields = std::string(payload.substr(payload.find("auid=")));
  for (const std::string& line : {"Nov 28 10:00:00 host kernel: audit: type=1326 " + std::string(payload),
                                  "2026-11-28T10:00:00+0000 host kernel: audit: type=1326 " + std::string(payload)}) {
    ASSERT_EQ(parse(line, r), ParseStatus::ok) << line;
    expect_execve_of_nl(r);
  }
  // journald's audit transport drops the audit(...) stamp.
  for (const std::string& line : {"Nov 28 10:00:00 host audit[2140]: SECCOMP " + fields,
                                  "2026-11-28T10:00:00+0000 host audit[2140]: SECCOMP " + fields,
                                  "Nov 28 10:00:00 host audit: SECCOMP " + fields, "SECCOMP " + fields}) {
    ASSERT_EQ(parse(line, r), ParseStatus::ok) << line;
    expect_execve_of_nl(r, false);
  }
}

TEST(Record, SampleFilesParseAsExpected) {
  struct Expected {
    const char* file;
    int ok;
    int not_seccomp;
  };
  for (const auto& e : {Expected{"dmesg.log", 6, 2}, Expected{"kmsg.log", 5, 1}, Expected{"journal.log", 6, 4}}) {
    int ok = 0;
    int not_seccomp = 0;
    for (const auto& line : data_lines(e.file)) {
      auto status = parse(line);
      EXPECT_NE(status, ParseStatus::malformed) << e.file << ": " << line;
      (status == ParseStatus::ok ? ok : not_seccomp)++;
    }
    EXPECT_EQ(ok, e.ok) << e.file;
    EXPECT_EQ(not_seccomp, e.not_seccomp) << e.file;
  }
}

TEST(Record, X32AndI386DecodeToTheirArch) {
  SeccompRecord r;
  // Real records: an x32 getpid (the kernel reports arch=x86_64 with bit 0x40000000 in the number)
  // and an i386 getpid.
  ASSERT_EQ(parse(data_lines("kmsg.log").at(1), r), ParseStatus::ok);
  EXPECT_EQ(r.arch, arch("x32"));
  EXPECT_EQ(r.syscall, 1073741863);
  EXPECT_EQ(core::syscall_name(r.arch, r.syscall), "getpid");

  ASSERT_EQ(parse(data_lines("kmsg.log").at(3), r), ParseStatus::ok);
  EXPECT_EQ(r.arch, arch("x86"));
  EXPECT_EQ(r.syscall, 20);
  EXPECT_TRUE(r.compat);
  EXPECT_EQ(r.exe, "/tmp/nucleus demo/i386 app");
  EXPECT_EQ(core::syscall_name(r.arch, r.syscall), "getpid");
}

TEST(Record, ActionComesFromCode) {
  SeccompRecord r;
  ASSERT_EQ(parse("audit: type=1326 audit(1.2:3): pid=7 arch=c000003e syscall=41 code=0x50001", r), ParseStatus::ok);
  EXPECT_EQ(r.action(), core::Action::errno_ret(1));
}

TEST(Record, OtherRecordsAndLinesAreNotSeccomp) {
  for (const char* line : {
           "",
           "   ",
           "[ 5432.298505] kauditd_printk_skb: 20 callbacks suppressed",
           "type=SYSCALL msg=audit(1.2:3): arch=c000003e syscall=59 success=yes exit=0 pid=7 comm=\"a\" exe=\"/a\"",
           "audit: type=1300 audit(1.2:3): arch=c000003e syscall=59 success=yes pid=7 comm=\"a\"",
           "audit: type=13260 audit(1.2:3): pid=7 arch=c000003e syscall=59 code=0x7ffc0000",
           "audit: type=seccomp audit(1.2:3): pid=7 arch=c000003e syscall=59 code=0x7ffc0000",
           "Nov 28 10:00:00 host audit[2140]: SYSCALL arch=c000003e syscall=59 pid=7",
           "Nov 28 10:00:00 host myapp[3]: SECCOMP arch=c000003e syscall=59 pid=7 code=0x7ffc0000",
           "pid=7 arch=c000003e syscall=59 code=0x7ffc0000",
           // A quoted comm cannot pose as the type of another record.
           "type=SYSCALL msg=audit(1.2:3): arch=c000003e syscall=59 pid=7 comm=\"type=1326\" code=0x7ffc0000",
           "host audit[7]: SYSCALL arch=c000003e comm=\"SECCOMP\" syscall=59 pid=7 code=0x7ffc0000",
       }) {
    EXPECT_EQ(parse(line), ParseStatus::not_seccomp) << line;
  }
}

TEST(Record, DamagedSeccompRecordsAreMalformed) {
  const std::string head = "audit: type=1326 audit(1795861588.540:2): auid=0 uid=0 gid=0 ses=1 ";
  for (const std::string& body : {
           std::string("pid=2140 comm=\"nl\" sig=0 syscall=59 compat=0 ip=0x1 code=0x7ffc0000"),  // no arch
           std::string("pid=2140 arch=zz syscall=59 code=0x7ffc0000"),                            // garbled arch
           std::string("pid=2140 arch=c000003e1 syscall=59 code=0x7ffc0000"),                     // too wide
           std::string("pid=2140 arch=12345 syscall=59 code=0x7ffc0000"),                         // unknown arch
           std::string("pid=2140 arch=c000003e code=0x7ffc0000"),                                 // no syscall
           std::string("pid=2140 arch=c000003e syscall=5x9 code=0x7ffc0000"),                     // garbled
           std::string("pid=2140 arch=c000003e syscall=-1 code=0x7ffc0000"),                      // negative
           std::string("arch=c000003e syscall=59 code=0x7ffc0000"),                               // no pid
           std::string("pid=-4 arch=c000003e syscall=59 code=0x7ffc0000"),                        // negative
           std::string("pid= arch=c000003e syscall=59 code=0x7ffc0000"),                          // empty
           std::string("pid=2140 arch=c000003e syscall=59 compat=0 ip=0x7ff7bc5b1ad7"),           // cut short
           std::string("pid=2140 arch=c000003e syscall=59 code=0x"),                              // empty code
           std::string("pid=2140 comm=\"nl exe=\"/x\" arch=c000003e syscall=59 code=0x7ffc0000"), // bad quote
           std::string("pid=2140 arch=c000003e syscall=59 sig=x code=0x7ffc0000"),                // garbled sig
           std::string("pid=2140 arch=c000003e syscall=59 ip=0xgg code=0x7ffc0000"),              // garbled ip
       }) {
    EXPECT_EQ(parse(head + body), ParseStatus::malformed) << body;
  }
  for (const char* stamp : {"audit(1795861588:2):", "audit(1795861588.540):", "audit(1795861588.540:2)",
                            "audit(x.540:2):", "audit(1795861588.540:2"}) {
    EXPECT_EQ(parse(std::string("audit: type=1326 ") + stamp + " pid=1 arch=c000003e syscall=59 code=0x7ffc0000"),
              ParseStatus::malformed)
        << stamp;
  }
  EXPECT_EQ(parse("audit: type=1326 audit(1.2:3): uid=root pid=7 arch=c000003e syscall=0 code=0x7ffc0000"),
            ParseStatus::malformed);
  EXPECT_EQ(parse("audit: type=1326"), ParseStatus::malformed);
  EXPECT_EQ(parse("Nov 28 10:00:00 host audit[2140]: SECCOMP"), ParseStatus::malformed);
}

TEST(Record, LineEndingsAreTolerated) {
  SeccompRecord r;
  for (const char* end : {"\n", "\r\n", "\0"}) {
    std::string line = "audit: type=1326 " + std::string(payload) + end;
    if (*end == '\0') line.push_back('\0');
    ASSERT_EQ(parse(line, r), ParseStatus::ok);
    expect_execve_of_nl(r);
  }
}

TEST(Record, FirstOccurrenceOfAKeyWins) {
  SeccompRecord r;
  ASSERT_EQ(parse("audit: type=1326 audit(1.2:3): pid=7 arch=40000003 syscall=20 code=0x7ffc0000\x1d"
                  "pid=8 arch=c000003e syscall=59",
                  r),
            ParseStatus::ok);
  EXPECT_EQ(r.pid, 7);
  EXPECT_EQ(r.arch, arch("x86"));
  EXPECT_EQ(r.syscall, 20);
}

TEST(Record, AReusedRecordKeepsNothingFromTheLastLine) {
  SeccompRecord r;
  ASSERT_EQ(parse("audit: type=1326 " + std::string(payload), r), ParseStatus::ok);
  ASSERT_EQ(parse("SECCOMP pid=9 comm=? arch=40000003 syscall=1 code=0x80000000", r), ParseStatus::ok);
  EXPECT_EQ(r.time_sec, 0u);
  EXPECT_EQ(r.serial, 0u);
  EXPECT_EQ(r.auid, unset_id);
  EXPECT_EQ(r.ses, unset_id);
  EXPECT_EQ(r.uid, 0u);
  EXPECT_EQ(r.pid, 9);
  EXPECT_EQ(r.comm, "");
  EXPECT_EQ(r.exe, "");
  EXPECT_EQ(r.ip, 0u);
  EXPECT_FALSE(r.compat);
  EXPECT_EQ(r.arch, arch("x86"));
}

// Records cut anywhere (a full ring buffer, a short read, a half-written log) never crash the parser,
// and a line cut before its last field is never taken for a whole record.
TEST(Record, EveryPrefixOfAValidLineIsHandled) {
  std::vector<std::pair<std::string, std::optional<int>>> lines;
  for (const char* file : {"dmesg.log", "kmsg.log", "audit.log", "journal.log"})
    for (const auto& line : data_lines(file)) lines.emplace_back(line, std::nullopt);
  for (const auto& line : data_lines("netlink.txt")) {
    auto [type, text] = split_netlink(line);
    lines.emplace_back(text, type);
  }
  int checked = 0;
  SeccompRecord r;
  for (const auto& [line, type] : lines) {
    if (core::parse_seccomp_record(line, r, type) != ParseStatus::ok) continue;
    ++checked;
    const SeccompRecord whole = r;
    const std::size_t code = line.find(" code=");
    ASSERT_NE(code, std::string::npos) << line;
    for (std::size_t n = 0; n < line.size(); ++n) {
      const std::string prefix = line.substr(0, n); // a copy, so that reading past the end is caught
      SeccompRecord part;
      auto status = core::parse_seccomp_record(prefix, part, type);
      if (n <= code + 6) {
        EXPECT_NE(status, ParseStatus::ok) << prefix;
      } else if (status == ParseStatus::ok) {
        // Only the action can be cut short here: everything before it is the whole record's.
        EXPECT_EQ(part.arch, whole.arch) << prefix;
        EXPECT_EQ(part.syscall, whole.syscall) << prefix;
        EXPECT_EQ(part.pid, whole.pid) << prefix;
        EXPECT_EQ(part.ses, whole.ses) << prefix;
        EXPECT_EQ(part.exe, whole.exe) << prefix;
      }
    }
  }
  EXPECT_EQ(checked, 5 + 6 + 5 + 6 + 3);
}

// Landlock's records as this kernel (6.18) sent them for a read of /root/.bashrc and a connect to
// port 9 that the domain did not allow, captured from the audit netlink group.
TEST(LandlockRecord, FileAndPortDenials) {
  core::LandlockRecord fs;
  ASSERT_EQ(
      core::parse_landlock_record("type=1423 audit(1796622243.412:38784629): domain=1dcf2a2b4 blockers=fs.read_file "
                                  "path=\"/root/.bashrc\" dev=\"vda\" ino=1355",
                                  fs),
      core::ParseStatus::ok);
  EXPECT_EQ(fs.serial, 38784629u);
  EXPECT_EQ(fs.domain, "1dcf2a2b4");
  EXPECT_EQ(fs.blockers, "fs.read_file");
  EXPECT_EQ(fs.path, "/root/.bashrc");
  EXPECT_EQ(fs.port, -1);

  core::LandlockRecord net;
  ASSERT_EQ(core::parse_landlock_record("audit(1796622243.476:38784632): domain=1dcf2a2b9 blockers=net.connect_tcp "
                                        "daddr=127.0.0.1 dest=9",
                                        net, core::audit_type_landlock_access),
            core::ParseStatus::ok);
  EXPECT_EQ(net.blockers, "net.connect_tcp");
  EXPECT_EQ(net.address, "127.0.0.1");
  EXPECT_EQ(net.port, 9);
}

TEST(LandlockRecord, HexPathIsDecodedAndOtherTypesAreNotLandlock) {
  core::LandlockRecord r;
  // A path with a space is hex-encoded by the kernel: "/tmp/a b".
  ASSERT_EQ(core::parse_landlock_record(
                "type=LANDLOCK_ACCESS msg=audit(1.2:3): domain=1 blockers=fs.write_file path=2F746D702F612062", r),
            core::ParseStatus::ok);
  EXPECT_EQ(r.path, "/tmp/a b");
  EXPECT_EQ(core::parse_landlock_record("type=1326 audit(1.2:3): pid=1 syscall=1 code=0x7ffc0000", r),
            core::ParseStatus::not_seccomp);
  EXPECT_EQ(core::parse_landlock_record("type=1424 audit(1.2:3): domain=1 status=allocated", r),
            core::ParseStatus::not_seccomp);
  EXPECT_EQ(core::parse_landlock_record("type=1423 audit(1.2:3): blockers=fs.read_file", r),
            core::ParseStatus::malformed);
  EXPECT_EQ(core::parse_landlock_record("type=1423 audit(1.2:3): domain=1 blockers=net.bind_tcp src=70000", r),
            core::ParseStatus::malformed);
}

TEST(LandlockRecord, SyscallRecordNamesTheProcessAndSession) {
  core::SyscallRecord s;
  ASSERT_EQ(core::parse_syscall_record(
                "type=1300 audit(1796622243.476:38784632): arch=c000003e syscall=42 success=no exit=-13 "
                "ppid=17461 pid=17553 auid=4294967295 uid=0 ses=12 comm=\"python3\" "
                "exe=\"/usr/bin/python3.11\" key=(null)",
                s),
            core::ParseStatus::ok);
  EXPECT_EQ(s.serial, 38784632u);
  EXPECT_EQ(s.pid, 17553);
  EXPECT_EQ(s.ses, 12u);
  EXPECT_EQ(s.exe, "/usr/bin/python3.11");
  EXPECT_EQ(core::parse_syscall_record("type=1300 audit(1.2:3): pid=x", s), core::ParseStatus::malformed);
}
