// Decoding gVisor's monitoring packets and debug log lines, and attributing them. The protobuf
// decoder is a minimal one on purpose: five message types, a dozen varint fields and one string,
// read with hard size limits (gVisor's own guidance: the sandbox's output is untrusted input).
#include "nucleus/tracer/gvisor.hpp"

#include "gvisor_wire.hpp"

#include "nucleus/core/json_limits.hpp"
#include "nucleus/core/sensitive.hpp"
#include "nucleus/core/syscalls.hpp"

#include <nlohmann/json.hpp>

#include <cerrno>
#include <charconv>
#include <climits>
#include <cstdint>
#include <iterator>

namespace nucleus::tracer::gvisor {
namespace {

bool decode_context(std::string_view data, Message& m) {
  return for_each_field(data, [&](std::uint32_t n, unsigned wt, Reader& r) {
    if (wt == 0 && n == 2) m.tid = static_cast<std::int32_t>(r.varint());
    else if (wt == 0 && n == 4) m.tgid = static_cast<std::int32_t>(r.varint());
    else if (wt == 2 && n == 8) m.cwd = bounded_path(r.bytes());
    else r.skip(wt);
  });
}

std::uint16_t le16(std::string_view p, std::size_t at) {
  return static_cast<std::uint16_t>(static_cast<unsigned char>(p[at]) | (static_cast<unsigned char>(p[at + 1]) << 8));
}

std::uint32_t le32(std::string_view p, std::size_t at) {
  return static_cast<std::uint32_t>(le16(p, at)) | (static_cast<std::uint32_t>(le16(p, at + 2)) << 16);
}

bool all_of(std::string_view s, bool (*pred)(char)) {
  for (char c : s)
    if (!pred(c)) return false;
  return !s.empty();
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f'); }

std::optional<int> parse_int(std::string_view s) {
  if (!all_of(s, is_digit) || s.size() > 10) return std::nullopt;
  long long v = 0;
  std::from_chars(s.data(), s.data() + s.size(), v);
  if (v > 0x7fffffff) return std::nullopt; // x32 numbers (bit 30 set) still fit
  return static_cast<int>(v);
}

// "[%4d:%4d] " as gVisor's task log prefix prints it; on success `rest` is what follows.
bool parse_task_prefix(std::string_view msg, LogEvent& e, std::string_view& rest) {
  if (msg.empty() || msg[0] != '[') return false;
  auto close = msg.find("] ");
  auto colon = msg.find(':');
  if (close == std::string_view::npos || colon == std::string_view::npos || colon > close) return false;
  auto trim = [](std::string_view s) {
    while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
    return s;
  };
  auto pid = parse_int(trim(msg.substr(1, colon - 1)));
  auto tid = parse_int(trim(msg.substr(colon + 1, close - colon - 1)));
  if (!pid || !tid) return false;
  e.pid = *pid;
  e.tid = *tid;
  rest = msg.substr(close + 2);
  return true;
}

// "N(0x1, 0x2, ...)" to the end of the message: the number and hex arguments gVisor prints for a
// call it has no table entry for. Nothing the workload chooses can appear in it.
std::optional<int> parse_unknown_call_tail(std::string_view tail) {
  auto paren = tail.find('(');
  if (paren == std::string_view::npos || tail.back() != ')') return std::nullopt;
  auto nr = parse_int(tail.substr(0, paren));
  if (!nr) return std::nullopt;
  std::string_view args = tail.substr(paren + 1, tail.size() - paren - 2);
  int count = 0;
  while (!args.empty()) {
    if (count > 0) {
      if (args.substr(0, 2) != ", ") return std::nullopt;
      args.remove_prefix(2);
    }
    if (args.substr(0, 2) != "0x") return std::nullopt;
    args.remove_prefix(2);
    std::size_t n = 0;
    while (n < args.size() && is_hex(args[n])) ++n;
    if (n == 0 || n > 16) return std::nullopt;
    args.remove_prefix(n);
    if (++count > 6) return std::nullopt;
  }
  if (count != 6) return std::nullopt; // gVisor prints all six registers for a number it does not know
  return nr;
}

constexpr std::size_t max_comm = 15; // TASK_COMM_LEN - 1

// runsc 20240729 starts every message with the Go source position of the call that logged it
// ("strace.go:576] "); runsc 20221219 did not. Takes that prefix off `msg` and returns the file
// name, or empty when the message has none. gVisor writes it, ahead of anything the workload
// controls, so it says which of gVisor's own code paths wrote the line.
std::string_view take_source_position(std::string_view& msg) {
  std::size_t name = 0;
  while (name < msg.size() && ((msg[name] >= 'a' && msg[name] <= 'z') || is_digit(msg[name]) || msg[name] == '_'))
    ++name;
  constexpr std::string_view go = ".go:";
  if (name == 0 || msg.substr(name, go.size()) != go) return {};
  std::size_t digits = name + go.size(), end = digits;
  while (end < msg.size() && is_digit(msg[end])) ++end;
  if (end == digits || msg.substr(end, 2) != "] ") return {};
  std::string_view file = msg.substr(0, name + 3);
  msg.remove_prefix(end + 2);
  return file;
}

// The message came from `expected` (runsc 20240729), or carries no position (runsc 20221219).
bool written_by(std::string_view source, std::string_view expected) { return source.empty() || source == expected; }

} // namespace

std::optional<Message> decode_packet(std::string_view packet, std::string* error) {
  auto fail = [&](const char* why) -> std::optional<Message> {
    if (error) *error = why;
    return std::nullopt;
  };
  if (packet.size() > max_packet_size) return fail("packet larger than 1 MiB");
  if (packet.size() < wire_header_size) return fail("packet shorter than the 8-byte header");
  Message m;
  std::uint16_t header_size = le16(packet, 0);
  m.type = le16(packet, 2);
  m.dropped = le32(packet, 4);
  if (header_size < wire_header_size || header_size > packet.size()) return fail("header size out of range");
  std::string_view body = packet.substr(header_size);
  const auto type = static_cast<MessageType>(m.type);
  bool context_ok = true;
  bool point_ok = true;
  bool ok = for_each_field(body, [&](std::uint32_t n, unsigned wt, Reader& r) {
    if (n == 1 && wt == 2) { // every message type has its context in field 1
      context_ok = decode_context(r.bytes(), m) && context_ok;
      return;
    }
    switch (type) {
    case MessageType::syscall_raw:
      if (wt == 0 && n == 4) m.sysno = r.varint();
      else if (wt == 0 && n >= 5 && n <= 10) m.args[n - 5] = r.varint();
      else r.skip(wt);
      return;
    case MessageType::sentry_clone:
      if (wt == 0 && n == 3) m.created_tid = static_cast<std::int32_t>(r.varint());
      else if (wt == 0 && n == 4) m.created_tgid = static_cast<std::int32_t>(r.varint());
      else r.skip(wt);
      return;
    case MessageType::sentry_exec:
      if (wt == 2 && n == 2) {
        auto path = r.bytes();
        m.binary_path = std::string(path.substr(0, max_path_size));
      } else {
        r.skip(wt);
      }
      return;
    case MessageType::container_start:
      if (wt == 2 && n == 4 && m.binary_path.empty()) { // args[0]
        auto arg = r.bytes();
        m.binary_path = std::string(arg.substr(0, max_path_size));
      } else {
        r.skip(wt);
      }
      return;
    case MessageType::sentry_task_exit:
    case MessageType::sentry_exit_notify_parent:
      if (wt == 0 && n == 2) m.exit_status = static_cast<std::int32_t>(r.varint());
      else r.skip(wt);
      return;
    case MessageType::syscall_open:
    case MessageType::syscall_connect:
    case MessageType::syscall_execve:
    case MessageType::syscall_socket:
    case MessageType::syscall_bind: point_ok = decode_point_field(type, n, wt, r, m.point) && point_ok; return;
    }
    r.skip(wt);
  });
  if (!ok || !context_ok || !point_ok) return fail("malformed protobuf message");
  if (type == MessageType::syscall_raw && m.sysno > 0x7fffffff) return fail("syscall number out of range");
  return m;
}

std::string encode_handshake(std::uint32_t version) {
  std::string out(1, '\x08'); // field 1, varint
  do {
    auto byte = static_cast<unsigned char>(version & 0x7f);
    version >>= 7;
    if (version != 0) byte |= 0x80;
    out.push_back(static_cast<char>(byte));
  } while (version != 0);
  return out;
}

std::optional<std::uint32_t> decode_handshake(std::string_view packet) {
  std::optional<std::uint32_t> version;
  bool ok = for_each_field(packet, [&](std::uint32_t n, unsigned wt, Reader& r) {
    if (n == 1 && wt == 0) version = static_cast<std::uint32_t>(r.varint());
    else r.skip(wt);
  });
  if (!ok) return std::nullopt;
  return version.value_or(0);
}

std::optional<LogEvent> parse_debug_line(std::string_view line) {
  // Cheap filter first: most lines are neither.
  if (line.find("sys_") == std::string_view::npos && line.find("by seccomp") == std::string_view::npos &&
      line.find(" X sendto(") == std::string_view::npos)
    return std::nullopt;
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(line, core::json_depth_guard<nlohmann::json>(), false);
  } catch (const core::JsonTooDeep&) {
    return std::nullopt; // not a line of gVisor's own, which are flat
  }
  if (doc.is_discarded() || !doc.is_object()) return std::nullopt;
  auto it = doc.find("msg");
  if (it == doc.end() || !it->is_string()) return std::nullopt;
  const std::string& text = it->get_ref<const std::string&>();
  std::string_view msg = text;
  const std::string_view source = take_source_position(msg);

  LogEvent e;
  constexpr std::string_view unsupported = "Unsupported syscall sys_";
  if (msg.substr(0, unsupported.size()) == unsupported) {
    if (!written_by(source, "compat.go")) return std::nullopt;
    auto rest = msg.substr(unsupported.size());
    auto paren = rest.find('(');
    auto nr = parse_int(rest.substr(0, paren));
    if (paren == std::string_view::npos || !nr) return std::nullopt;
    e.kind = LogEvent::Kind::unsupported;
    e.nr = *nr;
    return e;
  }

  std::string_view rest;
  if (!parse_task_prefix(msg, e, rest)) return std::nullopt;
  constexpr std::string_view syscall_word = "Syscall ";
  if (rest.substr(0, syscall_word.size()) == syscall_word && written_by(source, "task_syscall.go")) {
    auto after = rest.substr(syscall_word.size());
    auto colon = after.find(": ");
    if (colon != std::string_view::npos) {
      auto nr = parse_int(after.substr(0, colon));
      auto verdict = after.substr(colon + 2);
      if (nr && verdict == "denied by seccomp") {
        e.kind = LogEvent::Kind::denied;
        e.nr = *nr;
        return e;
      }
      if (nr && verdict == "killed by seccomp") {
        e.kind = LogEvent::Kind::killed;
        e.nr = *nr;
        return e;
      }
    }
    // Otherwise it may still be a strace line of a task whose comm begins with "Syscall ".
  }
  // The strace entry line: "<comm> E sys_N(0x.., ...)". The last " E sys_" is the real one: the
  // tail after it is digits and hex only. What comes before must be a plain comm: at most 15 bytes
  // and no " E " of its own. Otherwise a known call whose last argument is a path could end in
  // text that reads like this line ("[1:1]  E acct(0x10000 E sys_450(...)"), and comm and path are
  // the workload's. Such a line is not counted; the number still reaches the trace through
  // gVisor's "Unsupported syscall" line (once, unattributed).
  if (!written_by(source, "strace.go")) return std::nullopt;
  if (auto sent = parse_sendto_exit(rest)) {
    e.kind = LogEvent::Kind::sendto;
    e.nr = sent->first;
    e.address = sent->second.first;
    e.result = sent->second.second;
    return e;
  }
  constexpr std::string_view marker = " E sys_";
  auto at = rest.rfind(marker);
  if (at == std::string_view::npos || at > max_comm) return std::nullopt;
  if (rest.substr(0, at).find(" E ") != std::string_view::npos) return std::nullopt;
  auto nr = parse_unknown_call_tail(rest.substr(at + marker.size()));
  if (!nr) return std::nullopt;
  e.kind = LogEvent::Kind::unknown_syscall;
  e.nr = *nr;
  return e;
}

Tracker::Tracker(std::string first_exe, std::set<int> known, bool behaviour, std::size_t behaviour_cap)
    : first_exe_(std::move(first_exe)), known_(std::move(known)), behaviour_(behaviour_cap),
      behaviour_points_(behaviour), pointed_(behaviour ? numbers_with_behaviour_points() : std::set<int>{}) {}

void Tracker::emit(std::int32_t tgid, Call call) {
  auto it = exe_of_group_.find(tgid);
  if (it != exe_of_group_.end()) {
    call.exe = it->second;
    ready_.push_back(std::move(call));
  } else {
    waiting_[tgid].push_back(std::move(call));
  }
}

void Tracker::on_message(const Message& m) {
  if (sink_ended_) return;
  ++messages_;
  if (m.dropped > dropped_) dropped_ = m.dropped;
  if (m.tid != 0 && m.tgid != 0) group_of_thread_[m.tid] = m.tgid;
  switch (static_cast<MessageType>(m.type)) {
  case MessageType::container_start:
    if (started_) return; // one container per sandbox here: a second start is not ours to trust
    started_ = true;
    init_group_ = m.tgid;
    exe_of_group_[m.tgid] = first_exe_.empty() ? m.binary_path : first_exe_;
    break;
  case MessageType::sentry_clone: {
    if (m.created_tid != 0 && m.created_tgid != 0) group_of_thread_[m.created_tid] = m.created_tgid;
    if (started_ && m.created_tgid == init_group_ && m.created_tid != init_group_ && m.created_tid != 0 &&
        init_threads_gone_.count(m.created_tid) == 0)
      init_threads_.insert(m.created_tid);
    if (m.created_tgid != 0 && m.created_tgid != m.tgid) {
      auto parent = exe_of_group_.find(m.tgid);
      const std::string parent_exe = parent != exe_of_group_.end() ? parent->second : "?";
      if (exec_before_clone_.erase(m.created_tgid) != 0) {
        // The child has exec'd already: it runs its new program; what it did before is the parent's.
        auto& before = exe_before_exec_[m.created_tgid];
        if (before.empty()) before = parent_exe;
        for (auto& c : held_[m.created_tgid]) {
          c.exe = parent_exe;
          ready_.push_back(std::move(c));
        }
        held_.erase(m.created_tgid);
        for (auto& r : held_behaviour_[m.created_tgid]) add_behaviour(m.created_tgid, std::move(r), &parent_exe);
        held_behaviour_.erase(m.created_tgid);
      } else {
        exe_of_group_[m.created_tgid] = parent_exe;
      }
      // A new process inherits its parent's descriptors, sockets among them.
      for (auto it = sockets_.lower_bound({m.tgid, INT64_MIN}); it != sockets_.end() && it->first.first == m.tgid; ++it)
        sockets_[{m.created_tgid, it->first.second}] = it->second;
    }
    break;
  }
  case MessageType::sentry_exec: {
    if (exe_of_group_.count(m.tgid) == 0) {
      exec_before_clone_.insert(m.tgid);
      auto& held = held_[m.tgid];
      auto w = waiting_.find(m.tgid);
      if (w != waiting_.end()) {
        held.insert(held.end(), std::make_move_iterator(w->second.begin()), std::make_move_iterator(w->second.end()));
        waiting_.erase(w);
      }
      auto wb = waiting_behaviour_.find(m.tgid);
      if (wb != waiting_behaviour_.end()) {
        auto& hb = held_behaviour_[m.tgid];
        hb.insert(hb.end(), std::make_move_iterator(wb->second.begin()), std::make_move_iterator(wb->second.end()));
        waiting_behaviour_.erase(wb);
      }
    }
    auto& exe = exe_of_group_[m.tgid];
    exe_before_exec_[m.tgid] = std::exchange(exe, m.binary_path);
    for (auto it = sockets_.lower_bound({m.tgid, INT64_MIN}); it != sockets_.end() && it->first.first == m.tgid;)
      it = it->second.cloexec ? sockets_.erase(it) : std::next(it);
    on_exec_event(m);
    if (started_ && m.tgid == init_group_ && m.tid != init_group_) {
      init_threads_.erase(m.tid); // it goes on as the leader
      init_threads_gone_.insert(m.tid);
      ++leader_exits_needed_;
    }
    break;
  }
  case MessageType::sentry_task_exit:
    // runsc 20221219 sends no exit_notify_parent for the container's first process (it has no
    // parent in the sandbox): its end is then the exit of its last thread.
    if (!started_ || m.tgid != init_group_) return;
    if (m.tid == init_group_) {
      ++leader_exits_seen_;
    } else {
      init_threads_.erase(m.tid);
      init_threads_gone_.insert(m.tid);
    }
    return;
  case MessageType::sentry_exit_notify_parent:
    if (started_ && m.tgid == init_group_) init_notified_ = true; // the whole group is gone
    return;
  case MessageType::syscall_raw: {
    if (known_.count(static_cast<int>(m.sysno)) != 0) streamed_.insert(static_cast<int>(m.sysno));
    Call c;
    c.nr = static_cast<int>(m.sysno);
    c.pid = m.tid;
    c.args = m.args;
    c.has_args = true;
    emit(m.tgid, std::move(c));
    on_raw_behaviour(m);
    return;
  }
  case MessageType::syscall_open:
  case MessageType::syscall_connect:
  case MessageType::syscall_execve:
  case MessageType::syscall_socket:
  case MessageType::syscall_bind: on_point(m); return;
  default: return;
  }
  release_waiting_behaviour();
  // A clone or exec may be what calls waiting for their thread group needed.
  for (auto it = waiting_.begin(); it != waiting_.end();) {
    auto exe = exe_of_group_.find(it->first);
    if (exe == exe_of_group_.end()) {
      ++it;
      continue;
    }
    for (auto& c : it->second) {
      c.exe = exe->second;
      ready_.push_back(std::move(c));
    }
    it = waiting_.erase(it);
  }
}

void Tracker::on_log(const LogEvent& e) {
  Call c;
  c.nr = e.nr;
  c.pid = e.tid;
  switch (e.kind) {
  case LogEvent::Kind::unsupported:
    if (!streamed(e.nr)) unsupported_named_.insert(e.nr);
    return;
  case LogEvent::Kind::unknown_syscall:
    // gVisor prints "sys_N" for a number its syscall table lacks, and its stream sends nothing for
    // such a number even where the trace metadata lists a point for it (runsc 20240729: 437, 438
    // and 440, gaps below its highest number): the log is then the only record of the call. A
    // number the stream did send is counted from the stream alone.
    if (streamed(e.nr)) return;
    ++unknown_counted_[e.nr];
    if (sensitive_native(e.nr)) ++args_missing_;
    break;
  case LogEvent::Kind::denied:
    // gVisor's SCMP_ACT_ERRNO returns EPERM whatever errnoRet says (checked by the tests).
    c.action = core::Action::errno_ret(EPERM);
    break;
  case LogEvent::Kind::killed: c.action = core::Action{core::ActionKind::kill_thread, 0}; break;
  case LogEvent::Kind::sendto:
    on_sendto_log(e); // the call itself is counted from the stream
    return;
  }
  auto group = group_of_thread_.find(e.tid);
  emit(group != group_of_thread_.end() ? group->second : e.tid, std::move(c));
}

void Tracker::on_sink_end() { sink_ended_ = true; }

bool Tracker::streamed(int nr) const { return known_.count(nr) != 0 && streamed_.count(nr) != 0; }

bool Tracker::sensitive_native(int nr) const {
  auto name = core::syscall_name(core::native_arch(), nr);
  return name && core::sensitive_arg_mask(core::native_arch(), *name) != 0;
}

void Tracker::finish() {
  if (finished_) return;
  finished_ = true;
  // A clone event that never came: what waited for it is unattributed, as other waiting calls.
  for (auto& [group, calls] : held_) waiting_[group].insert(waiting_[group].end(), calls.begin(), calls.end());
  held_.clear();
  for (auto& [group, records] : held_behaviour_)
    waiting_behaviour_[group].insert(waiting_behaviour_[group].end(), records.begin(), records.end());
  held_behaviour_.clear();
  for (auto& [group, calls] : waiting_) {
    for (auto& c : calls) {
      c.exe = "?";
      ++unattributed_;
      ready_.push_back(std::move(c));
    }
  }
  waiting_.clear();
  finish_behaviour();
  // A number gVisor named as unsupported but whose strace line did not pass the strict parse.
  for (int nr : unsupported_named_) {
    if (unknown_counted_.count(nr) != 0) continue;
    Call c;
    c.nr = nr;
    c.exe = "?";
    ++unattributed_;
    ready_.push_back(std::move(c));
  }
}

std::vector<Call> Tracker::take_calls() { return std::exchange(ready_, {}); }

std::string Tracker::loss_detail() const {
  std::string out;
  auto add = [&](const std::string& s) {
    if (!out.empty()) out += "; ";
    out += s;
  };
  if (!started_) add("gVisor's monitoring stream never started (no container start event), so nothing was recorded");
  if (dropped_ != 0) add("gVisor's monitoring sink dropped " + std::to_string(dropped_) + " event(s)");
  if (args_missing_ != 0)
    add(std::to_string(args_missing_) + " call(s) of argument-sensitive syscalls reached only gVisor's debug log, "
                                        "which does not carry their argument values");
  if (started_ && !init_exited())
    add("gVisor's monitoring stream ended before the workload's first process exited, so its end is missing");
  if (points_missing_ != 0)
    add(std::to_string(points_missing_) +
        " call(s) of open, openat, creat, execve, execveat, socket, connect or bind "
        "came without their behaviour record: gVisor did not send the call's point (it drops one whose path, argument "
        "or working directory is not valid UTF-8, which its messages cannot carry)");
  if (exec_events_missing_ != 0)
    add(std::to_string(exec_events_missing_) +
        " program(s) started without gVisor's exec event (it drops one whose "
        "path is not valid UTF-8): what they did is listed under the program that started them");
  return out;
}

std::optional<int> runsc_release_date(std::string_view version_output) {
  std::string_view line = version_output.substr(0, version_output.find('\n'));
  for (std::string_view marker : {"0.0~", "release-"}) {
    auto at = line.find(marker);
    if (at == std::string_view::npos) continue;
    std::string_view digits = line.substr(at + marker.size(), 8);
    if (digits.size() == 8 && all_of(digits, is_digit)) return parse_int(digits);
  }
  return std::nullopt;
}

std::string old_runsc_note(std::string_view version_output) {
  auto date = runsc_release_date(version_output);
  if (!date || *date >= min_runsc_release) return {};
  return "gVisor " + std::to_string(*date) + " is older than " + std::to_string(min_runsc_release) +
         ": its statx refuses the flags coreutils passes, so ls, stat and the tools built on them fail with "
         "'Invalid argument' under it, and what it records differs from what nucleus was checked against; "
         "upgrade runsc (Debian 12: apt-get install -t bookworm-backports runsc)";
}

core::Action policy_action(const core::Policy& policy, std::string_view name,
                           const std::array<std::uint64_t, 6>& args) {
  for (const auto& rule : policy.rules) {
    bool named = false;
    for (const auto& n : rule.names) named = named || n == name;
    if (!named) continue;
    bool all = true;
    for (const auto& cond : rule.args) all = all && cond.index < 6 && core::matches(cond, args[cond.index]);
    if (all) return rule.action;
  }
  return policy.default_action;
}

} // namespace nucleus::tracer::gvisor
