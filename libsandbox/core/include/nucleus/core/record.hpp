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
  int syscall = 0;     // as the kernel saw it: x32 numbers include 0x40000000
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
ParseStatus parse_seccomp_record(std::string_view line, SeccompRecord& out,
                                 std::optional<int> type = std::nullopt);

// Feeds every line of a text (audit.log, dmesg or journalctl output) to `sink`, with the message
// type 0: text does not say it, and parse_seccomp_record then finds the type in the line.
void read_text_records(std::string_view text, const std::function<void(std::string_view line, int type)>& sink);

} // namespace nucleus::core
