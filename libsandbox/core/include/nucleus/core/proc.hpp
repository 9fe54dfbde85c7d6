// What /proc says of a process, parsed in one place.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
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

} // namespace nucleus::core
