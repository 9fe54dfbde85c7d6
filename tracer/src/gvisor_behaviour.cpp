// Behaviour records from gVisor's syscall points: decoding the points' fields (open, openat,
// creat, execve, execveat, socket, connect, bind), turning each exit into a record with core's
// behaviour functions, and the tracker's part: attributing records to the caller's executable
// and the sockets that listen, sendto and sendmsg (raw points only) are recorded with.
#include "nucleus/tracer/gvisor.hpp"

#include "gvisor_wire.hpp"

#include "nucleus/core/arch.hpp"
#include "nucleus/core/syscalls.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cstring>

namespace nucleus::tracer::gvisor {
namespace {

bool decode_exit(std::string_view data, PointFields& p) {
  p.has_exit = true;
  return for_each_field(data, [&](std::uint32_t n, unsigned wt, Reader& r) {
    if (wt == 0 && n == 1) p.result = static_cast<std::int64_t>(r.varint());
    else if (wt == 0 && n == 2) p.errorno = static_cast<std::int64_t>(r.varint());
    else r.skip(wt);
  });
}

void add_arg(PointFields& p, std::string_view arg) {
  if (p.argv.size() >= core::exec_argv_max) {
    p.argv_truncated = true;
    return;
  }
  if (arg.size() > core::exec_arg_bytes_max) p.argv_truncated = true;
  p.argv.emplace_back(arg.substr(0, core::exec_arg_bytes_max));
}

core::Outcome outcome(const PointFields& p) {
  if (!p.has_exit) return core::Outcome::unknown;
  return p.errorno != 0 ? core::Outcome::failed : core::Outcome::ok;
}

std::string name_of(std::uint64_t sysno) {
  if (sysno > 0x7fffffff) return {};
  return core::syscall_name(core::native_arch(), static_cast<int>(sysno)).value_or(std::string());
}

// The directory a *at call's relative path starts from: the caller's working directory for
// AT_FDCWD, else the descriptor's path (gVisor writes "[err: ...]" for one it cannot name, which
// resolve_path takes for unknown).
std::string_view base_of(const Message& m, bool at_call) {
  if (!at_call || m.point.fd == AT_FDCWD) return m.cwd;
  return m.point.fd_path;
}

std::optional<BehaviourRecord> file_record(const Message& m, const std::string& name) {
  const PointFields& p = m.point;
  if (p.pathname.empty()) return std::nullopt; // gVisor could not copy it: the call failed with EFAULT
  core::TraceFile f;
  f.syscall = name;
  f.path = core::resolve_path(base_of(m, name == "openat"), p.pathname);
  f.access = core::open_flags_access(p.flags);
  f.result = outcome(p);
  return f;
}

std::optional<BehaviourRecord> exec_record(const Message& m, const std::string& name) {
  const PointFields& p = m.point;
  core::TraceExec e;
  const bool at_call = name == "execveat";
  if (p.pathname.empty() && at_call && (p.flags & AT_EMPTY_PATH) != 0) e.path = p.fd_path; // the descriptor itself
  else if (p.pathname.empty()) return std::nullopt;
  else e.path = core::resolve_path(base_of(m, at_call), p.pathname);
  e.argv = p.argv;
  e.argv_truncated = p.argv_truncated;
  e.result = outcome(p);
  return e;
}

std::optional<BehaviourRecord> net_record(const Message& m, const std::string& name) {
  const PointFields& p = m.point;
  core::TraceNet n;
  n.syscall = name;
  n.result = p.has_exit ? core::outcome_of_call(name, static_cast<int>(p.errorno)) : core::Outcome::unknown;
  if (static_cast<MessageType>(m.type) == MessageType::syscall_socket) {
    n.family = core::socket_family_name(p.domain);
    n.socktype = core::socket_type_name(p.type);
    return n;
  }
  auto address =
      core::decode_sockaddr(std::span(reinterpret_cast<const std::uint8_t*>(p.address.data()), p.address.size()));
  if (!address) return std::nullopt; // gVisor could not copy it, or too short for its family: the call failed
  n.family = address->family;
  n.address = address->address;
  n.port = address->port;
  return n;
}

// Reading a line from its end: each take_* removes what it names from the end of `s`, or fails
// and leaves `s` as it was.
bool take(std::string_view& s, std::string_view token) {
  if (!s.ends_with(token)) return false;
  s.remove_suffix(token.size());
  return true;
}

template <class Pred>
std::optional<std::string_view> take_run(std::string_view& s, Pred pred, std::size_t max) {
  std::size_t n = 0;
  while (n < s.size() && n <= max && pred(static_cast<unsigned char>(s[s.size() - 1 - n]))) ++n;
  if (n == 0 || n > max) return std::nullopt;
  auto run = s.substr(s.size() - n);
  s.remove_suffix(n);
  return run;
}

bool digit(unsigned char c) { return c >= '0' && c <= '9'; }
bool hex_digit(unsigned char c) { return digit(c) || (c >= 'a' && c <= 'f'); }
bool take_hex(std::string_view& s) { return take_run(s, hex_digit, 16) && take(s, "0x"); }

// " (12.5µs)" as Go prints a duration: digits, '.', unit letters and the bytes of 'µ'.
bool take_duration(std::string_view& s) {
  auto unit = [](unsigned char c) { return digit(c) || c == '.' || (c >= 'a' && c <= 'z') || c == 0xc2 || c == 0xb5; };
  return take(s, ")") && take_run(s, unit, 32) && take(s, " (");
}

// The result: "N (0xN) (dur)" when it succeeded, "N (0xN) errno=E (text) (dur)" when it failed.
std::optional<core::Outcome> take_result(std::string_view& s) {
  if (!take_duration(s)) return std::nullopt;
  core::Outcome result = core::Outcome::ok;
  auto text = [](unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == ' ' || c == '-'; };
  if (std::string_view failed = s; take(failed, ")") && take_run(failed, text, 80) && take(failed, " (") &&
                                   take_run(failed, digit, 4) && take(failed, " errno=")) {
    s = failed;
    result = core::Outcome::failed;
  }
  if (!take(s, ")") || !take_hex(s) || !take(s, " (") || !take_run(s, digit, 20)) return std::nullopt;
  take(s, "-");
  if (!take(s, ") = ")) return std::nullopt;
  return result;
}

// "0x7f.. {Family: AF_INET, Addr: 127.0.0.1, Port: 53}" as gVisor's strace prints an inet or inet6
// address, turned into sockaddr bytes for core::decode_sockaddr.
std::optional<core::SocketAddress> take_inet_address(std::string_view& s) {
  auto ip_char = [](unsigned char c) { return hex_digit(c) || c == ':' || c == '.'; };
  auto family_char = [](unsigned char c) { return (c >= 'A' && c <= 'Z') || c == '_' || digit(c); };
  if (!take(s, "}")) return std::nullopt;
  auto port = take_run(s, digit, 5);
  if (!port || !take(s, ", Port: ")) return std::nullopt;
  auto ip = take_run(s, ip_char, INET6_ADDRSTRLEN);
  if (!ip || !take(s, ", Addr: ")) return std::nullopt;
  auto family = take_run(s, family_char, 16);
  if (!family || !take(s, "{Family: ") || !take(s, " ") || !take_hex(s)) return std::nullopt;
  int port_number = 0;
  for (char c : *port) port_number = port_number * 10 + (c - '0');
  if (port_number > 65535) return std::nullopt;
  const std::string ip_text(*ip);
  std::array<std::uint8_t, sizeof(sockaddr_in6)> bytes{};
  std::size_t size = 0;
  if (*family == "AF_INET") {
    sockaddr_in in{};
    in.sin_family = AF_INET;
    in.sin_port = htons(static_cast<std::uint16_t>(port_number));
    if (inet_pton(AF_INET, ip_text.c_str(), &in.sin_addr) != 1) return std::nullopt;
    std::memcpy(bytes.data(), &in, size = sizeof in);
  } else if (*family == "AF_INET6") {
    sockaddr_in6 in6{};
    in6.sin6_family = AF_INET6;
    in6.sin6_port = htons(static_cast<std::uint16_t>(port_number));
    if (inet_pton(AF_INET6, ip_text.c_str(), &in6.sin6_addr) != 1) return std::nullopt;
    std::memcpy(bytes.data(), &in6, size = sizeof in6);
  } else {
    return std::nullopt;
  }
  return core::decode_sockaddr(std::span(bytes.data(), size));
}

} // namespace

std::optional<std::pair<int, std::pair<core::SocketAddress, core::Outcome>>> parse_sendto_exit(std::string_view rest) {
  static const int sendto_nr = core::syscall_number(core::native_arch(), "sendto").value_or(-1);
  constexpr std::size_t max_comm = 15; // TASK_COMM_LEN - 1
  constexpr std::string_view call = " X sendto(";
  const auto at = rest.find(call);
  // The task's comm comes first and may not hold " X " itself, so this is gVisor's marker.
  if (at == std::string_view::npos || at > max_comm || rest.substr(0, at).find(" X ") != std::string_view::npos)
    return std::nullopt;
  // "fd name, 0xbuf, 0xlen, 0xflags, 0xaddr {Family: ...}, 0xaddrlen) = result": read from the end,
  // where gVisor wrote every byte; the descriptor's name (a file's path, the workload's) is skipped.
  std::string_view s = rest.substr(at + call.size());
  auto result = take_result(s);
  if (!result || !take_hex(s) || !take(s, ", ")) return std::nullopt;
  auto address = take_inet_address(s);
  if (!address || !take(s, ", ")) return std::nullopt;
  for (int i = 0; i < 3; ++i)
    if (!take_hex(s) || !take(s, ", ")) return std::nullopt;
  if (s.empty()) return std::nullopt;
  return std::pair{sendto_nr, std::pair{*address, *result}};
}

bool decode_point_field(MessageType type, std::uint32_t n, unsigned wt, Reader& r, PointFields& p) {
  if (n == 2 && wt == 2) return decode_exit(r.bytes(), p) && !r.bad;
  if (n == 3 && wt == 0) {
    p.sysno = r.varint();
    return true;
  }
  switch (type) {
  case MessageType::syscall_socket:
    if (wt == 0 && n == 4) p.domain = static_cast<std::int32_t>(r.varint());
    else if (wt == 0 && n == 5) p.type = static_cast<std::int32_t>(r.varint());
    else r.skip(wt);
    return true;
  case MessageType::syscall_connect:
  case MessageType::syscall_bind:
    if (wt == 2 && n == 6) {
      auto bytes = r.bytes();
      p.address = std::string(bytes.substr(0, max_address_size));
      return true;
    }
    break;
  case MessageType::syscall_open:
    if (wt == 0 && n == 7) {
      p.flags = static_cast<std::uint32_t>(r.varint());
      return true;
    }
    break;
  case MessageType::syscall_execve:
    if (wt == 2 && n == 7) {
      add_arg(p, r.bytes());
      return true;
    }
    if (wt == 0 && n == 9) {
      p.flags = static_cast<std::uint32_t>(r.varint());
      return true;
    }
    break;
  default: break;
  }
  // Fields the open, execve, connect and bind messages share.
  if (wt == 0 && n == 4) p.fd = static_cast<std::int64_t>(r.varint());
  else if (wt == 2 && n == 5) p.fd_path = bounded_path(r.bytes());
  else if (wt == 2 && n == 6) p.pathname = bounded_path(r.bytes());
  else r.skip(wt);
  return true;
}

std::vector<std::pair<std::string, std::vector<std::string>>> behaviour_points() {
  return {
      {"syscall/open/exit", {}},
      {"syscall/openat/exit", {"fd_path"}},
      {"syscall/creat/exit", {}},
      {"syscall/execve/exit", {}},
      {"syscall/execveat/exit", {"fd_path"}},
      {"syscall/socket/exit", {}},
      {"syscall/connect/exit", {}},
      {"syscall/bind/exit", {}},
  };
}

std::set<int> numbers_with_behaviour_points() {
  std::set<int> out;
  for (const char* name : {"open", "openat", "creat", "execve", "execveat", "socket", "connect", "bind"})
    if (auto nr = core::syscall_number(core::native_arch(), name)) out.insert(*nr);
  return out;
}

std::optional<BehaviourRecord> behaviour_record(const Message& m) {
  if (!m.point.has_exit) return std::nullopt; // the enter side: the exit follows with the same fields
  const std::string name = name_of(m.point.sysno);
  if (name.empty()) return std::nullopt;
  switch (static_cast<MessageType>(m.type)) {
  case MessageType::syscall_open: return file_record(m, name);
  case MessageType::syscall_execve: return exec_record(m, name);
  case MessageType::syscall_socket:
  case MessageType::syscall_connect:
  case MessageType::syscall_bind: return net_record(m, name);
  default: return std::nullopt;
  }
}

void Tracker::add_behaviour(std::int32_t tgid, BehaviourRecord record, const std::string* exe) {
  if (exe == nullptr) {
    auto it = exe_of_group_.find(tgid);
    if (it == exe_of_group_.end()) {
      waiting_behaviour_[tgid].push_back(std::move(record));
      return;
    }
    exe = &it->second;
  }
  std::visit(
      [&](auto& r) {
        r.exe = *exe;
        behaviour_.add(std::move(r));
      },
      record);
}

void Tracker::release_waiting_behaviour() {
  for (auto it = waiting_behaviour_.begin(); it != waiting_behaviour_.end();) {
    auto exe = exe_of_group_.find(it->first);
    if (exe == exe_of_group_.end()) {
      ++it;
      continue;
    }
    for (auto& r : it->second) add_behaviour(it->first, std::move(r), &exe->second);
    it = waiting_behaviour_.erase(it);
  }
}

void Tracker::on_point(const Message& m) {
  auto record = behaviour_record(m);
  const auto type = static_cast<MessageType>(m.type);
  const bool ok = m.point.has_exit && m.point.errorno == 0;
  if (m.point.has_exit) awaiting_point_.erase(m.tid);
  // A program started: its exec event came first, unless gVisor could not send it.
  const bool exec_matched = type == MessageType::syscall_execve && ok && exec_events_.erase(m.tgid) != 0;
  if (behaviour_points_ && type == MessageType::syscall_execve && ok && !exec_matched) ++exec_events_missing_;
  // The sockets a later listen, sendto or sendmsg uses.
  if (type == MessageType::syscall_socket && ok && m.point.result >= 0)
    sockets_[{m.tgid, m.point.result}] = Socket{m.point.domain, (m.point.type & SOCK_CLOEXEC) != 0, false, {}, -1};
  if ((type == MessageType::syscall_connect || type == MessageType::syscall_bind) && ok && record) {
    auto it = sockets_.find({m.tgid, m.point.fd});
    if (it != sockets_.end() && type == MessageType::syscall_connect) it->second.connected = true;
    if (it != sockets_.end() && type == MessageType::syscall_bind) {
      const auto& net = std::get<core::TraceNet>(*record);
      it->second.local = net.address;
      it->second.local_port = net.port;
    }
  }
  if (!record) return;
  // A successful execve's exit arrives after its exec event, which named the new program: the
  // caller is the program before it.
  if (exec_matched) {
    static const std::string unknown = "?";
    auto before = exe_before_exec_.find(m.tgid);
    const bool known = before != exe_before_exec_.end() && !before->second.empty();
    if (!known && exec_before_clone_.count(m.tgid) != 0) { // its caller is named by the clone event
      held_behaviour_[m.tgid].push_back(std::move(*record));
      return;
    }
    add_behaviour(m.tgid, std::move(*record), known ? &before->second : &unknown);
    return;
  }
  add_behaviour(m.tgid, std::move(*record));
}

void Tracker::on_raw_behaviour(const Message& m) {
  static const int listen_nr = core::syscall_number(core::native_arch(), "listen").value_or(-1);
  static const int sendto_nr = core::syscall_number(core::native_arch(), "sendto").value_or(-1);
  static const int sendmsg_nr = core::syscall_number(core::native_arch(), "sendmsg").value_or(-1);
  static const int sendmmsg_nr = core::syscall_number(core::native_arch(), "sendmmsg").value_or(-1);
  static const int close_nr = core::syscall_number(core::native_arch(), "close").value_or(-1);
  const int nr = static_cast<int>(m.sysno);
  if (behaviour_points_) {
    // The thread's previous call had a point that never came; this one may have one to wait for.
    if (auto waiting = awaiting_point_.find(m.tid); waiting != awaiting_point_.end()) {
      ++points_missing_;
      awaiting_point_.erase(waiting);
    }
    if (pointed_.count(nr) != 0) awaiting_point_[m.tid] = nr;
  }
  const std::pair<std::int32_t, std::int64_t> key{m.tgid, static_cast<std::int32_t>(m.args[0])};
  if (nr == close_nr) {
    sockets_.erase(key);
    return;
  }
  if (nr != listen_nr && nr != sendto_nr && nr != sendmsg_nr && nr != sendmmsg_nr) return;
  auto it = sockets_.find(key);
  if (it == sockets_.end()) return; // not a socket this trace saw made: the syscall line still counts it
  const Socket& s = it->second;
  core::TraceNet n;
  n.syscall = *core::syscall_name(core::native_arch(), nr);
  n.family = core::socket_family_name(s.family);
  if (nr == listen_nr) {
    n.address = s.local;
    n.port = s.local_port;
  } else if (s.connected || (nr == sendto_nr && m.args[4] == 0)) {
    return; // to the peer its connect named, which that record holds
  } else if (nr == sendto_nr && (s.family == AF_INET || s.family == AF_INET6)) {
    return; // the debug log's strace line of the call names its address (on_sendto_log)
  }
  // A sendto or sendmsg with an address of its own: gVisor has no point that reads it, so the
  // record says the family only (the README says so).
  add_behaviour(m.tgid, std::move(n));
}

void Tracker::on_exec_event(const Message& m) {
  exec_events_.insert(m.tgid);
  if (!behaviour_points_) return;
  // A thread other than the leader that execs takes the leader's id: its execve's point comes
  // under that id, so the wait moves to it.
  static const std::set<int> execs = [] {
    std::set<int> out;
    for (const char* name : {"execve", "execveat"})
      if (auto nr = core::syscall_number(core::native_arch(), name)) out.insert(*nr);
    return out;
  }();
  for (auto it = awaiting_point_.begin(); it != awaiting_point_.end();) {
    auto group = group_of_thread_.find(it->first);
    const bool moved = it->first != m.tid && execs.count(it->second) != 0 && group != group_of_thread_.end() &&
                       group->second == m.tgid;
    if (moved) awaiting_point_[m.tid] = it->second;
    it = moved ? awaiting_point_.erase(it) : std::next(it);
  }
}

void Tracker::on_sendto_log(const LogEvent& e) {
  if (!behaviour_points_) return;
  core::TraceNet n;
  n.syscall = "sendto";
  n.family = e.address.family;
  n.address = e.address.address;
  n.port = e.address.port;
  n.result = e.result;
  auto group = group_of_thread_.find(e.tid);
  add_behaviour(group != group_of_thread_.end() ? group->second : e.tid, std::move(n));
}

void Tracker::finish_behaviour() {
  // Calls still waiting for their point: the thread ended inside them, or gVisor dropped it.
  points_missing_ += awaiting_point_.size();
  awaiting_point_.clear();
  static const std::string unknown = "?";
  for (auto& [group, records] : waiting_behaviour_)
    for (auto& r : records) add_behaviour(group, std::move(r), &unknown);
  waiting_behaviour_.clear();
}

} // namespace nucleus::tracer::gvisor
