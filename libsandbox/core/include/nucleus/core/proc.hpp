// What /proc says of a process (its stat line, the fields of its status file), parsed in one place.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace nucleus::core {

// From /proc/PID/stat: the parent (the tgid of its parent) and the start time, in clock ticks
// after boot, which tells a process from a later one that got the same id.
struct ProcessStat {
  pid_t ppid = 0;
  std::uint64_t start_time = 0;
  char state = 0; // 'R', 'S', ...; 'Z': exited, not yet reaped
};

// nullopt when the process is gone or its stat cannot be read. Allocates nothing.
std::optional<ProcessStat> process_stat(pid_t pid) noexcept;

// The same from the text of a stat file (the command name may hold spaces and parentheses).
std::optional<ProcessStat> parse_process_stat(std::string_view stat) noexcept;

// The value of `field` in the text of a /proc/PID/status file ("NSpid" -> "1234\t1"), without the
// whitespace after the colon; nullopt when no line starts with "<field>:". Only the start of a
// line counts: the Name line holds the command name, which the process chooses (prctl
// PR_SET_NAME "Seccomp_filters:\t0"), and the kernel escapes a newline in it, so it cannot start
// a line of its own.
std::optional<std::string_view> status_field(std::string_view status, std::string_view field) noexcept;
// The same from /proc/PID/status (/proc/self/status when `pid` is 0); nullopt when the process is
// gone, the file cannot be read, or the field is absent.
std::optional<std::string> process_status_field(pid_t pid, std::string_view field);

} // namespace nucleus::core
