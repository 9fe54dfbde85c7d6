#include "nucleus/core/proc.hpp"

#include "nucleus/core/fd.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdio>

namespace nucleus::core {

std::optional<ProcessStat> parse_process_stat(std::string_view stat) noexcept {
  auto paren = stat.rfind(')'); // the name ends at the last one
  if (paren == std::string_view::npos) return std::nullopt;
  std::string_view rest = stat.substr(paren + 1); // " S ppid pgrp ... starttime ..."
  ProcessStat out;
  // Fields 3 (state) to 22 (starttime), one space before each.
  for (int field = 3; field <= 22; ++field) {
    if (rest.empty() || rest.front() != ' ') return std::nullopt;
    rest.remove_prefix(1);
    auto end = rest.find(' ');
    std::string_view value = rest.substr(0, end);
    if (field == 3 && value.size() == 1) out.state = value.front();
    if (field == 4 || field == 22) {
      std::uint64_t n = 0;
      auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (ec != std::errc() || ptr != value.data() + value.size()) return std::nullopt;
      if (field == 4) out.ppid = static_cast<pid_t>(n);
      else out.start_time = n;
    }
    rest.remove_prefix(end == std::string_view::npos ? rest.size() : end);
  }
  return out;
}

std::optional<ProcessStat> process_stat(pid_t pid) noexcept {
  char path[48];
  std::snprintf(path, sizeof path, "/proc/%d/stat", static_cast<int>(pid));
  int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  char buf[1024];
  ssize_t n = ::read(fd, buf, sizeof buf);
  ::close(fd);
  if (n <= 0) return std::nullopt;
  return parse_process_stat(std::string_view(buf, static_cast<std::size_t>(n)));
}

std::optional<std::string_view> status_field(std::string_view status, std::string_view field) noexcept {
  while (!status.empty()) {
    auto nl = status.find('\n');
    std::string_view line = status.substr(0, nl);
    if (line.size() > field.size() && line.substr(0, field.size()) == field && line[field.size()] == ':') {
      line.remove_prefix(field.size() + 1);
      while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
      return line;
    }
    if (nl == std::string_view::npos) break;
    status.remove_prefix(nl + 1);
  }
  return std::nullopt;
}

std::optional<std::string> process_status_field(pid_t pid, std::string_view field) {
  char path[48];
  if (pid == 0) std::snprintf(path, sizeof path, "/proc/self/status");
  else std::snprintf(path, sizeof path, "/proc/%d/status", static_cast<int>(pid));
  UniqueFd fd(::open(path, O_RDONLY | O_CLOEXEC));
  if (!fd) return std::nullopt;
  std::string text;
  char buf[4096];
  while (true) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return std::nullopt;
    if (n == 0) break;
    text.append(buf, static_cast<std::size_t>(n));
  }
  auto value = status_field(text, field);
  if (!value) return std::nullopt;
  return std::string(*value);
}

} // namespace nucleus::core
