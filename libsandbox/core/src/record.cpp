// Parsing audit SECCOMP records: skip the transport's prefix up to the token that names the record
// type, read the audit(...) stamp where there is one, then the key=value fields in one pass.
// Called once per audit record: no allocation beyond comm and exe, whose capacity a reused record keeps.
#include "nucleus/core/record.hpp"

#include <seccomp.h>

#include <charconv>
#include <cstddef>
#include <system_error>

namespace nucleus::core {
namespace {

// auditd's log_format=ENRICHED puts this byte between the raw fields and the interpreted ones.
constexpr char enriched_separator = '\x1d';
// The kernel reports x32 syscalls as arch=x86_64 with this bit set in the number.
constexpr int x32_syscall_bit = 0x40000000;

constexpr bool is_separator(char c) noexcept { return c == ' ' || c == '\t' || c == enriched_separator; }

void skip_separators(std::string_view& text) noexcept {
  std::size_t i = 0;
  while (i < text.size() && is_separator(text[i])) ++i;
  text.remove_prefix(i);
}

std::size_t find_separator(std::string_view text) noexcept {
  for (std::size_t i = 0; i < text.size(); ++i)
    if (is_separator(text[i])) return i;
  return text.size();
}

// The next separator-delimited token; `text` moves past it.
std::string_view take_token(std::string_view& text) noexcept {
  skip_separators(text);
  const std::size_t end = find_separator(text);
  std::string_view token = text.substr(0, end);
  text.remove_prefix(end);
  return token;
}

// The whole of `text` must be the number: "12x" or "" is garbled, not 12 or 0.
template <class Number>
bool parse_number(std::string_view text, Number& out, int base = 10) noexcept {
  if (text.empty()) return false;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out, base);
  return ec == std::errc{} && end == text.data() + text.size();
}

// The kernel prints ip= and code= with "0x" and arch= without it; accept both everywhere.
template <class Number>
bool parse_hex(std::string_view text, Number& out) noexcept {
  if (text.size() >= 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) text.remove_prefix(2);
  return parse_number(text, out, 16);
}

// auid and ses are "unset" as 4294967295; kernels before 4.x printed that as -1.
bool parse_id(std::string_view text, std::uint32_t& out) noexcept {
  if (text == "-1") {
    out = 0xffffffff;
    return true;
  }
  return parse_number(text, out);
}

int hex_digit(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool is_hex_string(std::string_view text) noexcept {
  if (text.empty() || text.size() % 2 != 0) return false;
  for (char c : text)
    if (hex_digit(c) < 0) return false;
  return true;
}

// comm= and exe= are quoted when harmless, hex-encoded when they hold a space, a quote or a control
// byte, and "(null)" or "?" when the kernel does not know them (left empty then).
void decode_untrusted_string(std::string_view value, bool quoted, std::string& out) {
  if (quoted) {
    out.assign(value);
    return;
  }
  if (value == "(null)" || value == "?") {
    out.clear();
    return;
  }
  if (!is_hex_string(value)) { // not what the kernel writes, but keep what is there
    out.assign(value);
    return;
  }
  out.resize(value.size() / 2);
  for (std::size_t i = 0; i < out.size(); ++i)
    out[i] = static_cast<char>(hex_digit(value[2 * i]) * 16 + hex_digit(value[2 * i + 1]));
}

bool is_seccomp_type(std::string_view type) noexcept {
  // auditd spells types it has no name for as UNKNOWN[n].
  return type == "1326" || type == "SECCOMP" || type == "UNKNOWN[1326]";
}

// The syslog tag of the audit subsystem: "audit:" (kernel printk, also after a kmsg prefix
// "5,1234,4305767365,-;audit:") or journald's audit transport "audit[2140]:".
bool is_audit_tag(std::string_view token) noexcept {
  return token.ends_with("audit:") || (token.starts_with("audit[") && token.ends_with("]:"));
}

enum class Marker { seccomp, other_type, none };

// Walks the transport prefix ("[ 4305.767365] audit:", "<5>[ ...]", "Nov 28 10:00:00 host kernel: audit:",
// auditd's "node=host") up to the token that says which record this is. The marker must come
// before the first field, so a comm="type=1326" inside another record cannot pose as one.
Marker find_record_start(std::string_view& text) noexcept {
  std::string_view previous;
  for (bool first = true;; first = false) {
    const std::string_view token = take_token(text);
    if (token.empty()) return Marker::none;
    if (token.starts_with("type=")) return is_seccomp_type(token.substr(5)) ? Marker::seccomp : Marker::other_type;
    const bool after_audit_tag = is_audit_tag(previous);
    // journald's audit transport names the type instead: "audit[2140]: SECCOMP auid=...", "-o cat": "SECCOMP auid=...".
    if (token == "SECCOMP" && (first || after_audit_tag)) return Marker::seccomp;
    if (after_audit_tag) return Marker::other_type; // "audit[1]: SYSCALL arch=...", "audit: backlog limit exceeded"
    if (token.find('=') != std::string_view::npos && !token.starts_with("node="))
      return Marker::none; // fields, no type
    previous = token;
  }
}

// "audit(1795861588.540:2):", with or without auditd's "msg=" before it. Journald's audit transport
// has no stamp: the record then keeps time 0 and serial 0.
bool parse_stamp(std::string_view& text, SeccompRecord& out) noexcept {
  skip_separators(text);
  if (text.starts_with("msg=")) text.remove_prefix(4);
  if (!text.starts_with("audit(")) return true;
  text.remove_prefix(6);
  const std::size_t close = text.find(')');
  if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') return false;
  const std::string_view stamp = text.substr(0, close);
  text.remove_prefix(close + 2);
  const std::size_t dot = stamp.find('.');
  const std::size_t colon = stamp.find(':');
  if (dot == std::string_view::npos || colon == std::string_view::npos || colon < dot) return false;
  return parse_number(stamp.substr(0, dot), out.time_sec) &&
         parse_number(stamp.substr(dot + 1, colon - dot - 1), out.time_msec) &&
         parse_number(stamp.substr(colon + 1), out.serial);
}

// Which fields a record had; the first occurrence of a key wins.
enum Seen : unsigned {
  seen_auid = 1u << 0,
  seen_uid = 1u << 1,
  seen_gid = 1u << 2,
  seen_ses = 1u << 3,
  seen_pid = 1u << 4,
  seen_comm = 1u << 5,
  seen_exe = 1u << 6,
  seen_sig = 1u << 7,
  seen_arch = 1u << 8,
  seen_syscall = 1u << 9,
  seen_compat = 1u << 10,
  seen_ip = 1u << 11,
  seen_code = 1u << 12,
  seen_arch_name = 1u << 13,
};
// code= is the last field the kernel writes: without it the line was cut short.
constexpr unsigned required_fields = seen_pid | seen_syscall | seen_code;

struct FieldState {
  unsigned seen = 0;
  std::uint32_t arch_token = 0;
  std::string_view arch_name; // enriched ARCH=x86_64, used only without a raw arch=
};

// Stores one field; false when its value is garbled. Unknown keys (subj=, the enriched AUID=, ...) are skipped.
bool store_field(std::string_view key, std::string_view value, bool quoted, SeccompRecord& out, FieldState& state) {
  auto once = [&](Seen bit) {
    if ((state.seen & bit) != 0) return false;
    state.seen |= bit;
    return true;
  };
  switch (key.size()) {
  case 2:
    if (key == "ip") return !once(seen_ip) || parse_hex(value, out.ip);
    break;
  case 3:
    if (key == "pid") return !once(seen_pid) || (parse_number(value, out.pid) && out.pid >= 0);
    if (key == "uid") return !once(seen_uid) || parse_id(value, out.uid);
    if (key == "gid") return !once(seen_gid) || parse_id(value, out.gid);
    if (key == "ses") return !once(seen_ses) || parse_id(value, out.ses);
    if (key == "sig") return !once(seen_sig) || parse_number(value, out.sig);
    if (key == "exe") {
      if (once(seen_exe)) decode_untrusted_string(value, quoted, out.exe);
      return true;
    }
    break;
  case 4:
    if (key == "auid") return !once(seen_auid) || parse_id(value, out.auid);
    if (key == "arch") return !once(seen_arch) || parse_hex(value, state.arch_token);
    if (key == "code") return !once(seen_code) || parse_hex(value, out.code);
    if (key == "comm") {
      if (once(seen_comm)) decode_untrusted_string(value, quoted, out.comm);
      return true;
    }
    if (key == "ARCH") {
      if (once(seen_arch_name)) state.arch_name = value;
      return true;
    }
    break;
  case 6:
    if (key == "compat") {
      int compat = 0;
      if (!once(seen_compat)) return true;
      if (!parse_number(value, compat)) return false;
      out.compat = compat != 0;
      return true;
    }
    break;
  case 7:
    if (key == "syscall") return !once(seen_syscall) || (parse_number(value, out.syscall) && out.syscall >= 0);
    break;
  default: break;
  }
  return true;
}

ParseStatus parse_fields(std::string_view text, SeccompRecord& out) {
  FieldState state;
  for (;;) {
    skip_separators(text);
    if (text.empty()) break;
    std::size_t key_end = 0;
    while (key_end < text.size() && text[key_end] != '=' && !is_separator(text[key_end])) ++key_end;
    if (key_end == text.size() || text[key_end] != '=') { // a word without "=": not a field
      text.remove_prefix(key_end);
      continue;
    }
    const std::string_view key = text.substr(0, key_end);
    text.remove_prefix(key_end + 1);
    std::string_view value;
    bool quoted = false;
    if (text.starts_with('"')) {
      const std::size_t close = text.find('"', 1);
      if (close == std::string_view::npos) break; // cut off inside a quoted value
      // The kernel quotes only values without spaces or quotes: anything else is not its writing.
      if (close + 1 < text.size() && !is_separator(text[close + 1])) return ParseStatus::malformed;
      value = text.substr(1, close - 1);
      quoted = true;
      text.remove_prefix(close + 1);
    } else {
      const std::size_t end = find_separator(text);
      value = text.substr(0, end);
      text.remove_prefix(end);
    }
    if (!store_field(key, value, quoted, out, state)) return ParseStatus::malformed;
  }

  if ((state.seen & required_fields) != required_fields) return ParseStatus::malformed;
  // The raw token says exactly which ABI; the enriched name is a fallback for logs that lack it.
  std::optional<Arch> arch;
  if ((state.seen & seen_arch) != 0) arch = Arch{state.arch_token};
  else if ((state.seen & seen_arch_name) != 0) arch = arch_from_name(state.arch_name);
  if (!arch) return ParseStatus::malformed;
  if (arch->token == SCMP_ARCH_X86_64 && (out.syscall & x32_syscall_bit) != 0) arch->token = SCMP_ARCH_X32;
  arch = arch_from_audit(arch->token);
  if (!arch) return ParseStatus::malformed;
  out.arch = *arch;
  return ParseStatus::ok;
}

// Back to the defaults, keeping the capacity of comm and exe so that a reused record does not allocate.
void reset(SeccompRecord& out) noexcept {
  std::string comm = std::move(out.comm);
  std::string exe = std::move(out.exe);
  comm.clear();
  exe.clear();
  out = SeccompRecord{};
  out.comm = std::move(comm);
  out.exe = std::move(exe);
}

// The type a record line names ("type=1423", "type=LANDLOCK_ACCESS", "UNKNOWN[1423]", journald's
// "audit[1]: SYSCALL"), 0 when it names none, before its first field.
int record_type_of(std::string_view& text) noexcept {
  auto number = [](std::string_view t) -> int {
    if (t == "SYSCALL") return audit_type_syscall;
    if (t == "LANDLOCK_ACCESS") return audit_type_landlock_access;
    if (t == "LANDLOCK_DOMAIN") return audit_type_landlock_domain;
    if (t.starts_with("UNKNOWN[") && t.ends_with("]")) t = t.substr(8, t.size() - 9);
    int n = 0;
    return parse_number(t, n) ? n : 0;
  };
  std::string_view previous;
  for (;;) {
    const std::string_view token = take_token(text);
    if (token.empty()) return 0;
    if (token.starts_with("type=")) return number(token.substr(5));
    if (is_audit_tag(previous)) return number(token);
    if (token.find('=') != std::string_view::npos && !token.starts_with("node=")) return 0;
    previous = token;
  }
}

// Calls `field(key, value, quoted)` for each key=value of `text`; false when a quoted value is
// not the kernel's writing.
template <class Field>
bool for_each_field(std::string_view text, Field field) {
  for (;;) {
    skip_separators(text);
    if (text.empty()) return true;
    std::size_t key_end = 0;
    while (key_end < text.size() && text[key_end] != '=' && !is_separator(text[key_end])) ++key_end;
    if (key_end == text.size() || text[key_end] != '=') {
      text.remove_prefix(key_end);
      continue;
    }
    const std::string_view key = text.substr(0, key_end);
    text.remove_prefix(key_end + 1);
    if (text.starts_with('"')) {
      const std::size_t close = text.find('"', 1);
      if (close == std::string_view::npos) return true; // cut off: what came before stands
      if (close + 1 < text.size() && !is_separator(text[close + 1])) return false;
      field(key, text.substr(1, close - 1), true);
      text.remove_prefix(close + 1);
    } else {
      const std::size_t end = find_separator(text);
      field(key, text.substr(0, end), false);
      text.remove_prefix(end);
    }
  }
}

// The record's body after its type and stamp, when the line is of `wanted` type.
std::optional<std::string_view> body_of(std::string_view line, std::optional<int> type, int wanted,
                                        std::uint64_t& serial) {
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r' || line.back() == '\0')) line.remove_suffix(1);
  if (type ? *type != wanted : record_type_of(line) != wanted) return std::nullopt;
  SeccompRecord stamp;
  if (!parse_stamp(line, stamp)) return std::string_view();
  serial = stamp.serial;
  return line;
}

} // namespace

ParseStatus parse_landlock_record(std::string_view line, LandlockRecord& out, std::optional<int> type) {
  out = LandlockRecord{};
  auto body = body_of(line, type, audit_type_landlock_access, out.serial);
  if (!body) return ParseStatus::not_seccomp;
  bool good = true;
  bool ok = for_each_field(*body, [&](std::string_view key, std::string_view value, bool quoted) {
    if (key == "domain") out.domain.assign(value);
    else if (key == "blockers") out.blockers.assign(value);
    else if (key == "path") decode_untrusted_string(value, quoted, out.path);
    else if (key == "daddr" || key == "saddr") out.address.assign(value);
    else if (key == "dest" || key == "src")
      good = good && parse_number(value, out.port) && out.port >= 0 && out.port <= 65535;
  });
  if (!ok || !good || body->empty() || out.domain.empty() || out.blockers.empty()) return ParseStatus::malformed;
  return ParseStatus::ok;
}

ParseStatus parse_syscall_record(std::string_view line, SyscallRecord& out, std::optional<int> type) {
  out = SyscallRecord{};
  auto body = body_of(line, type, audit_type_syscall, out.serial);
  if (!body) return ParseStatus::not_seccomp;
  bool good = true, has_pid = false;
  bool ok = for_each_field(*body, [&](std::string_view key, std::string_view value, bool quoted) {
    if (key == "pid" && !has_pid) {
      good = good && parse_number(value, out.pid) && out.pid >= 0;
      has_pid = true;
    } else if (key == "ses") good = good && parse_id(value, out.ses);
    else if (key == "exe") decode_untrusted_string(value, quoted, out.exe);
  });
  if (!ok || !good || !has_pid) return ParseStatus::malformed;
  return ParseStatus::ok;
}

ParseStatus parse_seccomp_record(std::string_view line, SeccompRecord& out, std::optional<int> type) {
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r' || line.back() == '\0')) line.remove_suffix(1);
  if (type && *type != audit_type_seccomp) return ParseStatus::not_seccomp;
  if (!type) {
    switch (find_record_start(line)) {
    case Marker::seccomp: break;
    case Marker::other_type:
    case Marker::none: return ParseStatus::not_seccomp;
    }
  }
  reset(out);
  if (!parse_stamp(line, out)) return ParseStatus::malformed;
  return parse_fields(line, out);
}

void read_text_records(std::string_view text, const std::function<void(std::string_view line, int type)>& sink) {
  while (!text.empty()) {
    auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (!line.empty()) sink(line, 0);
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
}

} // namespace nucleus::core
