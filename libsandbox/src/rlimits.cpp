#include "rlimits.hpp"

#include "nucleus/core/error.hpp"

#include <sys/resource.h>

#include <cerrno>
#include <charconv>
#include <string>

namespace nucleus::sandbox {
using core::Error;
using core::ErrorKind;
namespace {

struct Named {
  const char* name;
  int resource;
};
// The resource names of prlimit(1) and the shell's ulimit; the kernel has no way to list them.
constexpr Named names[] = {
    {"as", RLIMIT_AS},           {"core", RLIMIT_CORE},         {"cpu", RLIMIT_CPU},
    {"data", RLIMIT_DATA},       {"fsize", RLIMIT_FSIZE},       {"locks", RLIMIT_LOCKS},
    {"memlock", RLIMIT_MEMLOCK}, {"msgqueue", RLIMIT_MSGQUEUE}, {"nice", RLIMIT_NICE},
    {"nofile", RLIMIT_NOFILE},   {"nproc", RLIMIT_NPROC},       {"rss", RLIMIT_RSS},
    {"rtprio", RLIMIT_RTPRIO},   {"rttime", RLIMIT_RTTIME},     {"sigpending", RLIMIT_SIGPENDING},
    {"stack", RLIMIT_STACK},
};

std::uint64_t parse_limit(std::string_view text, std::string_view whole) {
  if (text == "unlimited" || text == "infinity") return RLIM_INFINITY;
  std::uint64_t v = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || ptr != text.data() + text.size() || text.empty())
    throw Error(ErrorKind::usage, "--rlimit " + std::string(whole) + ": a limit is a number or 'unlimited'");
  return v;
}

} // namespace

ResourceLimit parse_rlimit(std::string_view text) {
  auto eq = text.find('=');
  if (eq == std::string_view::npos)
    throw Error(ErrorKind::usage, "--rlimit " + std::string(text) + ": expected NAME=SOFT[:HARD], e.g. nofile=1024");
  std::string_view name = text.substr(0, eq);
  std::string_view value = text.substr(eq + 1);
  for (const auto& n : names) {
    if (name != n.name) continue;
    auto colon = value.find(':');
    ResourceLimit limit;
    limit.resource = n.resource;
    limit.soft = parse_limit(value.substr(0, colon), text);
    limit.hard = colon == std::string_view::npos ? limit.soft : parse_limit(value.substr(colon + 1), text);
    if (limit.soft > limit.hard)
      throw Error(ErrorKind::usage, "--rlimit " + std::string(text) + ": the soft limit is above the hard limit");
    return limit;
  }
  std::string known;
  for (const auto& n : names) known += std::string(known.empty() ? "" : ", ") + n.name;
  throw Error(ErrorKind::usage, "--rlimit " + std::string(text) + ": unknown resource", "known: " + known);
}

namespace detail {

const char* rlimit_name(int resource) noexcept {
  for (const auto& n : names)
    if (n.resource == resource) return n.name;
  return "?";
}

int apply_rlimits(const ChildPlan& plan) noexcept {
  for (std::size_t i = 0; i < plan.rlimit_count; ++i) {
    const ResourceLimit& l = plan.rlimits[i];
    rlimit r{static_cast<rlim_t>(l.soft), static_cast<rlim_t>(l.hard)};
    if (::setrlimit(static_cast<__rlimit_resource>(l.resource), &r) != 0) return errno;
  }
  return 0;
}

} // namespace detail
} // namespace nucleus::sandbox
