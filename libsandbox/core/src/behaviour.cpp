// Decoding and counting behaviour records: one meaning for the flags, addresses and paths every
// recorder sees, and one place that keeps the records distinct and bounded.
#include "nucleus/core/behaviour.hpp"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <utility>

namespace nucleus::core {
namespace {

struct AccessName {
  FileAccess access;
  std::string_view name;
};
constexpr std::array<AccessName, 16> access_names{{
    {FileAccess::read, "read"},
    {FileAccess::write, "write"},
    {FileAccess::create, "create"},
    {FileAccess::truncate, "truncate"},
    {FileAccess::append, "append"},
    {FileAccess::exec, "exec"},
    {FileAccess::list, "list"},
    {FileAccess::lookup, "lookup"},
    {FileAccess::remove, "remove"},
    {FileAccess::rename, "rename"},
    {FileAccess::mkdir, "mkdir"},
    {FileAccess::chmod, "chmod"},
    {FileAccess::chown, "chown"},
    {FileAccess::link, "link"},
    {FileAccess::symlink, "symlink"},
    {FileAccess::mknod, "mknod"},
}};

} // namespace

std::string_view outcome_name(Outcome outcome) {
  switch (outcome) {
  case Outcome::ok: return "ok";
  case Outcome::failed: return "failed";
  case Outcome::unknown: break;
  }
  return "";
}

std::optional<Outcome> outcome_from_name(std::string_view name) {
  if (name == "ok") return Outcome::ok;
  if (name == "failed") return Outcome::failed;
  return std::nullopt;
}

Outcome outcome_of_call(std::string_view syscall, int error) {
  if (error == 0 || (error == EINPROGRESS && syscall == "connect")) return Outcome::ok;
  return Outcome::failed;
}

std::vector<std::string> file_access_names(FileAccessSet set) {
  std::vector<std::string> out;
  for (const auto& [access, name] : access_names)
    if (has(set, access)) out.emplace_back(name);
  return out;
}

std::optional<FileAccess> file_access_from_name(std::string_view name) {
  for (const auto& entry : access_names)
    if (entry.name == name) return entry.access;
  return std::nullopt;
}

FileAccessSet open_flags_access(std::uint64_t flags) {
  FileAccessSet set = 0;
  if ((flags & O_PATH) != 0) return static_cast<FileAccessSet>(FileAccess::lookup);
  switch (flags & O_ACCMODE) {
  case O_RDONLY: set |= static_cast<FileAccessSet>(FileAccess::read); break;
  case O_WRONLY: set |= static_cast<FileAccessSet>(FileAccess::write); break;
  default: set |= FileAccess::read | FileAccess::write; break; // O_RDWR, and the undefined 3 (read+write checks)
  }
  if ((flags & O_CREAT) != 0) set |= static_cast<FileAccessSet>(FileAccess::create);
  if ((flags & O_TRUNC) != 0) set |= static_cast<FileAccessSet>(FileAccess::truncate);
  if ((flags & O_APPEND) != 0) set |= static_cast<FileAccessSet>(FileAccess::append);
  if ((flags & O_DIRECTORY) != 0 && (flags & O_ACCMODE) == O_RDONLY) set = static_cast<FileAccessSet>(FileAccess::list);
  return set;
}

std::string socket_family_name(int family) {
  switch (family) {
  case AF_UNIX: return "unix";
  case AF_INET: return "inet";
  case AF_INET6: return "inet6";
  case AF_NETLINK: return "netlink";
  case AF_PACKET: return "packet";
  case AF_VSOCK: return "vsock";
  case AF_BLUETOOTH: return "bluetooth";
  case AF_ALG: return "alg";
  case AF_UNSPEC: return "unspec";
  default: return std::to_string(family);
  }
}

std::string socket_type_name(int type) {
  switch (type & 0xf) { // SOCK_NONBLOCK and SOCK_CLOEXEC live above the type
  case SOCK_STREAM: return "stream";
  case SOCK_DGRAM: return "dgram";
  case SOCK_RAW: return "raw";
  case SOCK_SEQPACKET: return "seqpacket";
  case SOCK_RDM: return "rdm";
  case SOCK_PACKET: return "packet";
  default: return std::to_string(type & 0xf);
  }
}

std::optional<SocketAddress> decode_sockaddr(std::span<const std::uint8_t> bytes) {
  sa_family_t family = 0;
  if (bytes.size() < sizeof family) return std::nullopt;
  std::memcpy(&family, bytes.data(), sizeof family);
  SocketAddress out{socket_family_name(family), {}, -1};
  switch (family) {
  case AF_INET: {
    sockaddr_in in{};
    if (bytes.size() < sizeof in) return std::nullopt;
    std::memcpy(&in, bytes.data(), sizeof in);
    std::array<char, INET_ADDRSTRLEN> text{};
    inet_ntop(AF_INET, &in.sin_addr, text.data(), text.size());
    out.address = text.data();
    out.port = ntohs(in.sin_port);
    return out;
  }
  case AF_INET6: {
    sockaddr_in6 in6{};
    if (bytes.size() < offsetof(sockaddr_in6, sin6_scope_id)) return std::nullopt; // RFC 2133's 24-byte form
    std::memcpy(&in6, bytes.data(), std::min(bytes.size(), sizeof in6));
    std::array<char, INET6_ADDRSTRLEN> text{};
    inet_ntop(AF_INET6, &in6.sin6_addr, text.data(), text.size());
    out.address = text.data();
    out.port = ntohs(in6.sin6_port);
    return out;
  }
  case AF_UNIX: {
    constexpr std::size_t path_at = offsetof(sockaddr_un, sun_path);
    std::string_view path(reinterpret_cast<const char*>(bytes.data()) + path_at,
                          bytes.size() > path_at ? std::min(bytes.size() - path_at, sizeof(sockaddr_un::sun_path)) : 0);
    if (path.empty()) return out; // unnamed (autobind)
    if (path.front() == '\0') {
      out.address = "@" + std::string(path.substr(1)); // abstract: the length says where it ends
    } else {
      out.address = std::string(path.substr(0, path.find('\0')));
    }
    return out;
  }
  case AF_NETLINK: {
    sockaddr_nl nl{};
    if (bytes.size() < sizeof nl) return std::nullopt;
    std::memcpy(&nl, bytes.data(), sizeof nl);
    out.address = "pid " + std::to_string(nl.nl_pid) + " groups " + std::to_string(nl.nl_groups);
    return out;
  }
  default: return out; // the family alone: nucleus does not decode its addresses
  }
}

std::string resolve_path(std::string_view base, std::string_view path) {
  std::string joined;
  if (path.starts_with('/')) {
    joined = path;
  } else if (base.starts_with('/')) {
    joined.reserve(base.size() + 1 + path.size());
    joined.append(base).append("/").append(path);
  } else {
    return std::string(path); // relative to a directory nobody could name: kept as asked
  }
  // Fold "//", "/./" and "/../" lexically; ".." above the root stays at the root, as the kernel does.
  std::vector<std::string_view> parts;
  std::string_view rest = joined;
  while (!rest.empty()) {
    const std::size_t slash = rest.find('/');
    const std::string_view part = rest.substr(0, slash);
    rest = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash + 1);
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      if (!parts.empty()) parts.pop_back();
      continue;
    }
    parts.push_back(part);
  }
  std::string out;
  for (const auto& part : parts) out.append("/").append(part);
  return out.empty() ? "/" : out;
}

bool BehaviourSet::admit(bool exists) {
  if (exists || size() < cap_) return true;
  ++dropped_;
  return false;
}

void BehaviourSet::add(TraceExec r) {
  ExecKey key{std::move(r.exe), std::move(r.path), std::move(r.argv), r.argv_truncated, r.result};
  auto it = execs_.find(key);
  if (!admit(it != execs_.end())) return;
  if (it == execs_.end()) it = execs_.emplace(std::move(key), 0).first;
  it->second += r.count == 0 ? 1 : r.count;
}

void BehaviourSet::add(TraceFile r) {
  FileKey key{
      std::move(r.exe), std::move(r.path), std::move(r.syscall), r.access, std::move(r.target), r.result, r.mode};
  auto it = files_.find(key);
  if (!admit(it != files_.end())) return;
  if (it == files_.end()) it = files_.emplace(std::move(key), 0).first;
  it->second += r.count == 0 ? 1 : r.count;
}

void BehaviourSet::add(TraceNet r) {
  NetKey key{
      std::move(r.exe), std::move(r.syscall), std::move(r.family), std::move(r.socktype), std::move(r.address), r.port,
      r.result};
  auto it = nets_.find(key);
  if (!admit(it != nets_.end())) return;
  if (it == nets_.end()) it = nets_.emplace(std::move(key), 0).first;
  it->second += r.count == 0 ? 1 : r.count;
}

std::vector<TraceExec> BehaviourSet::execs() const {
  std::vector<TraceExec> out;
  out.reserve(execs_.size());
  for (const auto& [key, count] : execs_) {
    const auto& [exe, path, argv, truncated, result] = key;
    out.push_back({exe, path, argv, truncated, result, count});
  }
  return out;
}

std::vector<TraceFile> BehaviourSet::files() const {
  std::vector<TraceFile> out;
  out.reserve(files_.size());
  for (const auto& [key, count] : files_) {
    const auto& [exe, path, syscall, access, target, result, mode] = key;
    out.push_back({exe, syscall, path, access, target, result, count, mode});
  }
  return out;
}

std::vector<TraceNet> BehaviourSet::nets() const {
  std::vector<TraceNet> out;
  out.reserve(nets_.size());
  for (const auto& [key, count] : nets_) {
    const auto& [exe, syscall, family, socktype, address, port, result] = key;
    out.push_back({exe, syscall, family, socktype, address, port, result, count});
  }
  return out;
}

} // namespace nucleus::core
