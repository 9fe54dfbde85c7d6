// Parsing audit SECCOMP (type 1326) records in every text form they reach us in: the netlink
// payload, /dev/kmsg, dmesg, auditd's audit.log (also its enriched form) and journalctl output.
// A line that is not understood is reported as such, never fatal.
#pragma once

#include "nucleus/core/action.hpp"
#include "nucleus/core/arch.hpp"

#include <sys/types.h>

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace nucleus::core {

inline constexpr int audit_type_seccomp = 1326;

struct SeccompRecord {
  std::uint64_t time_sec = 0;
  std::uint32_t time_msec = 0;
  std::uint64_t serial = 0;
  std::uint32_t auid = 0xffffffff;
  std::uint32_t uid = 0;
  std::uint32_t gid = 0;
  std::uint32_t ses = 0xffffffff;
  pid_t pid = 0;
  std::string comm; // decoded when the kernel hex-encoded it; empty when it logged "(null)" or "?"
  std::string exe;
  int sig = 0;
  Arch arch;
  int syscall = 0; // as the kernel saw it: x32 numbers include 0x40000000
  bool compat = false;
  std::uint64_t ip = 0;
  std::uint32_t code = 0; // SECCOMP_RET_* | data
  // The call's six raw arguments, where the recorder has them (gVisor's stream; audit records
  // carry none): the aggregator keeps the values of the argument-sensitive ones. Valid for the
  // duration of the on_record call only.
  const std::array<std::uint64_t, 6>* args = nullptr;

  Action action() const noexcept { return action_from_seccomp_ret(code); }
};

enum class ParseStatus { ok, not_seccomp, malformed };

// `line` is one record in any of the text forms. When `type` is given (netlink: the message type),
// the line is the bare payload "audit(1.2:3): auid=...". `out` is meaningful only when the result is ok;
// reusing one record across calls keeps comm and exe from allocating. Never throws for any input.
ParseStatus parse_seccomp_record(std::string_view line, SeccompRecord& out, std::optional<int> type = std::nullopt);

// Landlock's denials (Linux 6.15+, while audit is enabled), as this kernel sends them:
//   type=1423 audit(1796622243.412:38784629): domain=1dcf2a2b4 blockers=fs.read_file path="/root/.bashrc" dev="vda"
//   ino=1355 type=1423 audit(...:38784632): domain=1dcf2a2b9 blockers=net.connect_tcp daddr=127.0.0.1 dest=9 type=1424
//   audit(...:38784629): domain=1dcf2a2b4 status=allocated mode=enforcing pid=17552 uid=0 exe="/tmp/ll" comm="ll"
//   type=1300 audit(...:38784629): arch=c000003e syscall=257 success=no exit=-13 ... pid=17552 ... ses=4 comm="cat"
//   exe="/usr/bin/cat"
// The access record names neither process nor session: the SYSCALL record of the same event (same
// serial) does, and attributes it.
inline constexpr int audit_type_syscall = 1300;
inline constexpr int audit_type_landlock_access = 1423;
inline constexpr int audit_type_landlock_domain = 1424;

struct LandlockRecord {
  std::uint64_t serial = 0;
  std::string domain;   // the Landlock domain's id (hex)
  std::string blockers; // the missing rights, comma-separated: "fs.write_file", "net.connect_tcp"
  std::string path;     // fs.*: the path as the sandbox sees it (decoded when hex); may be empty
  std::string address;  // net.*: daddr= (connect) or saddr= (bind)
  int port = -1;        // net.*: dest= (connect) or src= (bind)
};

// The process and session of one audit event (a SYSCALL record).
struct SyscallRecord {
  std::uint64_t serial = 0;
  pid_t pid = 0;
  std::uint32_t ses = 0xffffffff;
  std::string exe;
};

// Like parse_seccomp_record, for the other record types; never throws for any input.
ParseStatus parse_landlock_record(std::string_view line, LandlockRecord& out, std::optional<int> type = std::nullopt);
ParseStatus parse_syscall_record(std::string_view line, SyscallRecord& out, std::optional<int> type = std::nullopt);

// Feeds every line of a text (audit.log, dmesg or journalctl output) to `sink`, with the message
// type 0: text does not say it, and parse_seccomp_record then finds the type in the line.
void read_text_records(std::string_view text, const std::function<void(std::string_view line, int type)>& sink);

} // namespace nucleus::core
