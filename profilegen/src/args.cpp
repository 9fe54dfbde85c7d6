// Argument conditions: the sensitive (syscall, argument) pairs, their values' names from the system
// headers, and the translation between observed values and allow entries.
#include "nucleus/profile/args.hpp"

#include "nucleus/profile/effective.hpp"
#include "nucleus/core/error.hpp"
#include "nucleus/core/strings.hpp"

// The values below are the kernel's ABI constants as the system headers publish them; they are
// values of arguments, not syscall numbers (which come from libseccomp only).
#include <asm/ioctls.h>
#include <asm/termbits.h>
#include <linux/personality.h>
#include <linux/sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstring>

namespace nucleus::profile {
namespace {

using core::ArgCondition;
using core::CmpOp;

struct Named {
  std::uint64_t value;
  std::string_view name;
};

#define NUCLEUS_NAMED(x)                                                                                               \
  Named { static_cast<std::uint64_t>(x), #x }

constexpr Named domains[] = {
    NUCLEUS_NAMED(AF_UNSPEC),  NUCLEUS_NAMED(AF_UNIX),      NUCLEUS_NAMED(AF_LOCAL),      NUCLEUS_NAMED(AF_INET),
    NUCLEUS_NAMED(AF_AX25),    NUCLEUS_NAMED(AF_IPX),       NUCLEUS_NAMED(AF_APPLETALK),  NUCLEUS_NAMED(AF_NETROM),
    NUCLEUS_NAMED(AF_BRIDGE),  NUCLEUS_NAMED(AF_ATMPVC),    NUCLEUS_NAMED(AF_X25),        NUCLEUS_NAMED(AF_INET6),
    NUCLEUS_NAMED(AF_ROSE),    NUCLEUS_NAMED(AF_DECnet),    NUCLEUS_NAMED(AF_NETBEUI),    NUCLEUS_NAMED(AF_SECURITY),
    NUCLEUS_NAMED(AF_KEY),     NUCLEUS_NAMED(AF_NETLINK),   NUCLEUS_NAMED(AF_ROUTE),      NUCLEUS_NAMED(AF_PACKET),
    NUCLEUS_NAMED(AF_ASH),     NUCLEUS_NAMED(AF_ECONET),    NUCLEUS_NAMED(AF_ATMSVC),     NUCLEUS_NAMED(AF_RDS),
    NUCLEUS_NAMED(AF_SNA),     NUCLEUS_NAMED(AF_IRDA),      NUCLEUS_NAMED(AF_PPPOX),      NUCLEUS_NAMED(AF_WANPIPE),
    NUCLEUS_NAMED(AF_LLC),     NUCLEUS_NAMED(AF_IB),        NUCLEUS_NAMED(AF_MPLS),       NUCLEUS_NAMED(AF_CAN),
    NUCLEUS_NAMED(AF_TIPC),    NUCLEUS_NAMED(AF_BLUETOOTH), NUCLEUS_NAMED(AF_IUCV),       NUCLEUS_NAMED(AF_RXRPC),
    NUCLEUS_NAMED(AF_ISDN),    NUCLEUS_NAMED(AF_PHONET),    NUCLEUS_NAMED(AF_IEEE802154), NUCLEUS_NAMED(AF_CAIF),
    NUCLEUS_NAMED(AF_ALG),     NUCLEUS_NAMED(AF_NFC),       NUCLEUS_NAMED(AF_VSOCK),      NUCLEUS_NAMED(AF_KCM),
    NUCLEUS_NAMED(AF_QIPCRTR), NUCLEUS_NAMED(AF_SMC),       NUCLEUS_NAMED(AF_XDP),
#ifdef AF_MCTP
    NUCLEUS_NAMED(AF_MCTP),
#endif
};

constexpr std::uint64_t socket_type_mask = 0xf;
constexpr Named socket_types[] = {
    NUCLEUS_NAMED(SOCK_STREAM),    NUCLEUS_NAMED(SOCK_DGRAM), NUCLEUS_NAMED(SOCK_RAW),    NUCLEUS_NAMED(SOCK_RDM),
    NUCLEUS_NAMED(SOCK_SEQPACKET), NUCLEUS_NAMED(SOCK_DCCP),  NUCLEUS_NAMED(SOCK_PACKET),
};
constexpr Named socket_type_bits[] = {NUCLEUS_NAMED(SOCK_NONBLOCK), NUCLEUS_NAMED(SOCK_CLOEXEC)};

constexpr Named clone_bits[] = {
    NUCLEUS_NAMED(CLONE_VM),
    NUCLEUS_NAMED(CLONE_FS),
    NUCLEUS_NAMED(CLONE_FILES),
    NUCLEUS_NAMED(CLONE_SIGHAND),
    NUCLEUS_NAMED(CLONE_PIDFD),
    NUCLEUS_NAMED(CLONE_PTRACE),
    NUCLEUS_NAMED(CLONE_VFORK),
    NUCLEUS_NAMED(CLONE_PARENT),
    NUCLEUS_NAMED(CLONE_THREAD),
    NUCLEUS_NAMED(CLONE_NEWNS),
    NUCLEUS_NAMED(CLONE_SYSVSEM),
    NUCLEUS_NAMED(CLONE_SETTLS),
    NUCLEUS_NAMED(CLONE_PARENT_SETTID),
    NUCLEUS_NAMED(CLONE_CHILD_CLEARTID),
    NUCLEUS_NAMED(CLONE_DETACHED),
    NUCLEUS_NAMED(CLONE_UNTRACED),
    NUCLEUS_NAMED(CLONE_CHILD_SETTID),
    NUCLEUS_NAMED(CLONE_NEWCGROUP),
    NUCLEUS_NAMED(CLONE_NEWUTS),
    NUCLEUS_NAMED(CLONE_NEWIPC),
    NUCLEUS_NAMED(CLONE_NEWUSER),
    NUCLEUS_NAMED(CLONE_NEWPID),
    NUCLEUS_NAMED(CLONE_NEWNET),
    NUCLEUS_NAMED(CLONE_IO),
};
// clone's low byte is the exit signal; unshare has no signal there, and CLONE_NEWTIME instead.
constexpr std::uint64_t clone_signal_mask = 0xff;
constexpr Named unshare_extra_bits[] = {NUCLEUS_NAMED(CLONE_NEWTIME)};
constexpr std::uint64_t namespace_flags =
    CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET;

constexpr Named ioctl_requests[] = {
    NUCLEUS_NAMED(TCGETS),          NUCLEUS_NAMED(TCSETS),          NUCLEUS_NAMED(TCSETSW),
    NUCLEUS_NAMED(TCSETSF),         NUCLEUS_NAMED(TCGETA),          NUCLEUS_NAMED(TCSETA),
    NUCLEUS_NAMED(TCSETAW),         NUCLEUS_NAMED(TCSETAF),         NUCLEUS_NAMED(TCSBRK),
    NUCLEUS_NAMED(TCXONC),          NUCLEUS_NAMED(TCFLSH),          NUCLEUS_NAMED(TIOCEXCL),
    NUCLEUS_NAMED(TIOCNXCL),        NUCLEUS_NAMED(TIOCSCTTY),       NUCLEUS_NAMED(TIOCGPGRP),
    NUCLEUS_NAMED(TIOCSPGRP),       NUCLEUS_NAMED(TIOCOUTQ),        NUCLEUS_NAMED(TIOCSTI),
    NUCLEUS_NAMED(TIOCGWINSZ),      NUCLEUS_NAMED(TIOCSWINSZ),      NUCLEUS_NAMED(TIOCMGET),
    NUCLEUS_NAMED(TIOCMBIS),        NUCLEUS_NAMED(TIOCMBIC),        NUCLEUS_NAMED(TIOCMSET),
    NUCLEUS_NAMED(TIOCGSOFTCAR),    NUCLEUS_NAMED(TIOCSSOFTCAR),    NUCLEUS_NAMED(FIONREAD),
    NUCLEUS_NAMED(TIOCLINUX),       NUCLEUS_NAMED(TIOCCONS),        NUCLEUS_NAMED(TIOCGSERIAL),
    NUCLEUS_NAMED(TIOCSSERIAL),     NUCLEUS_NAMED(TIOCPKT),         NUCLEUS_NAMED(FIONBIO),
    NUCLEUS_NAMED(TIOCNOTTY),       NUCLEUS_NAMED(TIOCSETD),        NUCLEUS_NAMED(TIOCGETD),
    NUCLEUS_NAMED(TCSBRKP),         NUCLEUS_NAMED(TIOCSBRK),        NUCLEUS_NAMED(TIOCCBRK),
    NUCLEUS_NAMED(TIOCGSID),        NUCLEUS_NAMED(TCGETS2),         NUCLEUS_NAMED(TCSETS2),
    NUCLEUS_NAMED(TCSETSW2),        NUCLEUS_NAMED(TCSETSF2),        NUCLEUS_NAMED(TIOCGPTN),
    NUCLEUS_NAMED(TIOCSPTLCK),      NUCLEUS_NAMED(TIOCGDEV),        NUCLEUS_NAMED(TIOCSIG),
    NUCLEUS_NAMED(TIOCVHANGUP),     NUCLEUS_NAMED(TIOCGPKT),        NUCLEUS_NAMED(TIOCGPTLCK),
    NUCLEUS_NAMED(TIOCGEXCL),       NUCLEUS_NAMED(TIOCGPTPEER),     NUCLEUS_NAMED(FIONCLEX),
    NUCLEUS_NAMED(FIOCLEX),         NUCLEUS_NAMED(FIOASYNC),        NUCLEUS_NAMED(TIOCSERCONFIG),
    NUCLEUS_NAMED(TIOCSERGWILD),    NUCLEUS_NAMED(TIOCSERSWILD),    NUCLEUS_NAMED(TIOCGLCKTRMIOS),
    NUCLEUS_NAMED(TIOCSLCKTRMIOS),  NUCLEUS_NAMED(TIOCSERGSTRUCT),  NUCLEUS_NAMED(TIOCSERGETLSR),
    NUCLEUS_NAMED(TIOCSERGETMULTI), NUCLEUS_NAMED(TIOCSERSETMULTI), NUCLEUS_NAMED(TIOCMIWAIT),
    NUCLEUS_NAMED(TIOCGICOUNT),     NUCLEUS_NAMED(FIOQSIZE),
};

constexpr Named prctl_options[] = {
    NUCLEUS_NAMED(PR_SET_PDEATHSIG),
    NUCLEUS_NAMED(PR_GET_PDEATHSIG),
    NUCLEUS_NAMED(PR_GET_DUMPABLE),
    NUCLEUS_NAMED(PR_SET_DUMPABLE),
    NUCLEUS_NAMED(PR_GET_UNALIGN),
    NUCLEUS_NAMED(PR_SET_UNALIGN),
    NUCLEUS_NAMED(PR_GET_KEEPCAPS),
    NUCLEUS_NAMED(PR_SET_KEEPCAPS),
    NUCLEUS_NAMED(PR_GET_FPEMU),
    NUCLEUS_NAMED(PR_SET_FPEMU),
    NUCLEUS_NAMED(PR_GET_FPEXC),
    NUCLEUS_NAMED(PR_SET_FPEXC),
    NUCLEUS_NAMED(PR_GET_TIMING),
    NUCLEUS_NAMED(PR_SET_TIMING),
    NUCLEUS_NAMED(PR_SET_NAME),
    NUCLEUS_NAMED(PR_GET_NAME),
    NUCLEUS_NAMED(PR_GET_ENDIAN),
    NUCLEUS_NAMED(PR_SET_ENDIAN),
    NUCLEUS_NAMED(PR_GET_SECCOMP),
    NUCLEUS_NAMED(PR_SET_SECCOMP),
    NUCLEUS_NAMED(PR_CAPBSET_READ),
    NUCLEUS_NAMED(PR_CAPBSET_DROP),
    NUCLEUS_NAMED(PR_GET_TSC),
    NUCLEUS_NAMED(PR_SET_TSC),
    NUCLEUS_NAMED(PR_GET_SECUREBITS),
    NUCLEUS_NAMED(PR_SET_SECUREBITS),
    NUCLEUS_NAMED(PR_SET_TIMERSLACK),
    NUCLEUS_NAMED(PR_GET_TIMERSLACK),
    NUCLEUS_NAMED(PR_TASK_PERF_EVENTS_DISABLE),
    NUCLEUS_NAMED(PR_TASK_PERF_EVENTS_ENABLE),
    NUCLEUS_NAMED(PR_MCE_KILL),
    NUCLEUS_NAMED(PR_MCE_KILL_GET),
    NUCLEUS_NAMED(PR_SET_MM),
    NUCLEUS_NAMED(PR_SET_PTRACER),
    NUCLEUS_NAMED(PR_SET_CHILD_SUBREAPER),
    NUCLEUS_NAMED(PR_GET_CHILD_SUBREAPER),
    NUCLEUS_NAMED(PR_SET_NO_NEW_PRIVS),
    NUCLEUS_NAMED(PR_GET_NO_NEW_PRIVS),
    NUCLEUS_NAMED(PR_GET_TID_ADDRESS),
    NUCLEUS_NAMED(PR_SET_THP_DISABLE),
    NUCLEUS_NAMED(PR_GET_THP_DISABLE),
    NUCLEUS_NAMED(PR_MPX_ENABLE_MANAGEMENT),
    NUCLEUS_NAMED(PR_MPX_DISABLE_MANAGEMENT),
    NUCLEUS_NAMED(PR_SET_FP_MODE),
    NUCLEUS_NAMED(PR_GET_FP_MODE),
    NUCLEUS_NAMED(PR_CAP_AMBIENT),
    NUCLEUS_NAMED(PR_SVE_SET_VL),
    NUCLEUS_NAMED(PR_SVE_GET_VL),
    NUCLEUS_NAMED(PR_GET_SPECULATION_CTRL),
    NUCLEUS_NAMED(PR_SET_SPECULATION_CTRL),
    NUCLEUS_NAMED(PR_PAC_RESET_KEYS),
    NUCLEUS_NAMED(PR_SET_TAGGED_ADDR_CTRL),
    NUCLEUS_NAMED(PR_GET_TAGGED_ADDR_CTRL),
    NUCLEUS_NAMED(PR_SET_IO_FLUSHER),
    NUCLEUS_NAMED(PR_GET_IO_FLUSHER),
    NUCLEUS_NAMED(PR_SET_SYSCALL_USER_DISPATCH),
    NUCLEUS_NAMED(PR_PAC_SET_ENABLED_KEYS),
    NUCLEUS_NAMED(PR_PAC_GET_ENABLED_KEYS),
    NUCLEUS_NAMED(PR_SCHED_CORE),
    NUCLEUS_NAMED(PR_SET_VMA),
};

constexpr std::uint64_t persona_mask = PER_MASK;
constexpr Named personas[] = {NUCLEUS_NAMED(PER_LINUX), NUCLEUS_NAMED(PER_BSD), NUCLEUS_NAMED(PER_LINUX32),
                              NUCLEUS_NAMED(PER_HPUX)};
constexpr Named persona_bits[] = {
    NUCLEUS_NAMED(UNAME26),          NUCLEUS_NAMED(ADDR_NO_RANDOMIZE),  NUCLEUS_NAMED(FDPIC_FUNCPTRS),
    NUCLEUS_NAMED(MMAP_PAGE_ZERO),   NUCLEUS_NAMED(ADDR_COMPAT_LAYOUT), NUCLEUS_NAMED(READ_IMPLIES_EXEC),
    NUCLEUS_NAMED(ADDR_LIMIT_32BIT), NUCLEUS_NAMED(SHORT_INODE),        NUCLEUS_NAMED(WHOLE_SECONDS),
    NUCLEUS_NAMED(STICKY_TIMEOUTS),  NUCLEUS_NAMED(ADDR_LIMIT_3GB),
};
constexpr std::uint64_t persona_query = 0xffffffff;

constexpr Named prot_bits[] = {NUCLEUS_NAMED(PROT_READ), NUCLEUS_NAMED(PROT_WRITE), NUCLEUS_NAMED(PROT_EXEC),
                               NUCLEUS_NAMED(PROT_GROWSDOWN), NUCLEUS_NAMED(PROT_GROWSUP)};

#undef NUCLEUS_NAMED

constexpr std::uint64_t low32 = 0xffffffff;
constexpr std::uint64_t prot_w = PROT_WRITE;
constexpr std::uint64_t prot_x = PROT_EXEC;

template <std::size_t N>
std::optional<std::string_view> name_of(const Named (&table)[N], std::uint64_t v) {
  for (const auto& n : table)
    if (n.value == v) return n.name;
  return std::nullopt;
}

template <std::size_t N>
std::optional<std::uint64_t> value_of(const Named (&table)[N], std::string_view name) {
  for (const auto& n : table)
    if (n.name == name) return n.value;
  return std::nullopt;
}

// Names for each known bit of `v`; what is left over in hex.
template <std::size_t N>
void add_bits(std::string& out, const Named (&table)[N], std::uint64_t& v) {
  for (const auto& n : table) {
    if (n.value != 0 && (v & n.value) == n.value) {
      out += (out.empty() ? "" : "|") + std::string(n.name);
      v &= ~n.value;
    }
  }
}

std::string finish_bits(std::string out, std::uint64_t rest, std::string_view zero_name) {
  if (rest != 0) out += (out.empty() ? "" : "|") + core::hex(rest);
  if (out.empty()) out = zero_name.empty() ? "0" : std::string(zero_name);
  return out;
}

std::optional<std::uint64_t> parse_number(std::string_view text) {
  int base = 10;
  if (text.starts_with("0x") || text.starts_with("0X")) {
    text.remove_prefix(2);
    base = 16;
  }
  if (text.empty()) return std::nullopt;
  std::uint64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v, base);
  if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return v;
}

std::optional<std::uint64_t> signal_number(std::string_view name) {
  if (!name.starts_with("SIG")) return std::nullopt;
  for (int s = 1; s < NSIG; ++s) {
    const char* abbrev = sigabbrev_np(s);
    if (abbrev != nullptr && name.substr(3) == abbrev) return static_cast<std::uint64_t>(s);
  }
  return std::nullopt;
}

// One symbol of `kind` (no "|"): its value, or nullopt.
std::optional<std::uint64_t> parse_symbol(ArgKind kind, std::string_view s) {
  switch (kind) {
  case ArgKind::domain: return value_of(domains, s);
  case ArgKind::socket_type:
    if (auto v = value_of(socket_types, s)) return v;
    return value_of(socket_type_bits, s);
  case ArgKind::clone_flags:
    if (auto v = value_of(clone_bits, s)) return v;
    return signal_number(s);
  case ArgKind::unshare_flags:
    if (auto v = value_of(clone_bits, s)) return v;
    return value_of(unshare_extra_bits, s);
  case ArgKind::ioctl_request: return value_of(ioctl_requests, s);
  case ArgKind::prctl_option: return value_of(prctl_options, s);
  case ArgKind::personality:
    if (auto v = value_of(personas, s)) return v;
    return value_of(persona_bits, s);
  case ArgKind::prot:
    if (s == "PROT_NONE") return 0;
    return value_of(prot_bits, s);
  }
  return std::nullopt;
}

bool is_flag_kind(ArgKind kind) {
  return kind == ArgKind::socket_type || kind == ArgKind::clone_flags || kind == ArgKind::unshare_flags ||
         kind == ArgKind::personality || kind == ArgKind::prot;
}

const SensitiveArg* find_arg(std::string_view syscall, unsigned index) {
  for (const auto& a : sensitive_args())
    if (a.syscall == syscall && a.index == index) return &a;
  return nullptr;
}

// The condition an observed value becomes, for the kinds that allow value by value.
ArgCondition value_condition(const SensitiveArg& a, std::uint64_t v) {
  switch (a.kind) {
  case ArgKind::socket_type: return {a.index, CmpOp::masked_eq, ~socket_type_flags, v & ~socket_type_flags};
  // The kernel reads an unsigned int, and callers pass it sign-extended or not: compare 32 bits.
  case ArgKind::ioctl_request: return {a.index, CmpOp::masked_eq, low32, v & low32};
  default: return {a.index, CmpOp::eq, v, 0};
  }
}

// The prot combinations {0, W, X, WX} an entry's conditions on `index` let through.
std::set<std::uint64_t> prot_combos(const std::vector<ArgCondition>& args, unsigned index) {
  std::set<std::uint64_t> out;
  for (std::uint64_t combo : {std::uint64_t{0}, prot_w, prot_x, prot_w | prot_x}) {
    std::uint64_t probe = combo | PROT_READ;
    bool ok = std::all_of(args.begin(), args.end(),
                          [&](const ArgCondition& c) { return c.index != index || core::matches(c, probe); });
    if (ok) out.insert(combo);
  }
  return out;
}

std::string prot_phrase(const std::set<std::uint64_t>& combos) {
  bool x = combos.count(prot_x) != 0;
  bool wx = combos.count(prot_w | prot_x) != 0;
  if (wx && x) return "any";
  if (wx) return "PROT_WRITE|PROT_EXEC only together";
  if (x) return "PROT_EXEC only without PROT_WRITE";
  return "no PROT_EXEC";
}

// One condition with symbols, or nullopt when it is not one of the forms gen writes.
std::optional<std::string> symbolic(const SensitiveArg& a, const ArgCondition& c) {
  std::string label(a.label);
  switch (a.kind) {
  case ArgKind::socket_type:
    if (c.op == CmpOp::masked_eq && c.value == ~socket_type_flags)
      return label + " == " + value_name(a.kind, c.value_two) + " (SOCK_NONBLOCK, SOCK_CLOEXEC free)";
    break;
  case ArgKind::ioctl_request:
    if (c.op == CmpOp::masked_eq && c.value == low32)
      return label + " == " + value_name(a.kind, c.value_two) + " (low 32 bits)";
    break;
  case ArgKind::clone_flags:
  case ArgKind::unshare_flags:
    if (c.op == CmpOp::masked_eq && c.value_two == 0) return label + " without " + value_name(a.kind, c.value);
    break;
  case ArgKind::prot:
    if (c.op == CmpOp::masked_eq) return label + " " + prot_phrase(prot_combos({c}, c.index));
    break;
  default: break;
  }
  if (c.op == CmpOp::eq) return label + " == " + value_name(a.kind, c.value);
  return std::nullopt;
}

} // namespace

std::uint64_t clone_guarded_flags() noexcept { return namespace_flags | CLONE_PARENT | CLONE_UNTRACED; }

std::string value_name(ArgKind kind, std::uint64_t v) {
  std::string out;
  switch (kind) {
  case ArgKind::domain:
    if (auto n = name_of(domains, v)) return std::string(*n);
    return core::hex(v);
  case ArgKind::ioctl_request:
    if (auto n = name_of(ioctl_requests, v)) return std::string(*n);
    return core::hex(v);
  case ArgKind::prctl_option:
    if (auto n = name_of(prctl_options, v)) return std::string(*n);
    return core::hex(v);
  case ArgKind::socket_type: {
    auto base = v & socket_type_mask;
    if (auto n = name_of(socket_types, base)) {
      out = std::string(*n);
      v &= ~socket_type_mask;
    }
    add_bits(out, socket_type_bits, v);
    return finish_bits(out, v, {});
  }
  case ArgKind::clone_flags: {
    std::uint64_t signal = v & clone_signal_mask;
    v &= ~clone_signal_mask;
    add_bits(out, clone_bits, v);
    if (signal != 0) {
      const char* abbrev = signal < static_cast<std::uint64_t>(NSIG) ? sigabbrev_np(static_cast<int>(signal)) : nullptr;
      if (abbrev != nullptr) out += (out.empty() ? "SIG" : "|SIG") + std::string(abbrev);
      else v |= signal;
    }
    return finish_bits(out, v, {});
  }
  case ArgKind::unshare_flags:
    add_bits(out, clone_bits, v);
    add_bits(out, unshare_extra_bits, v);
    return finish_bits(out, v, {});
  case ArgKind::personality: {
    if (v == persona_query) return core::hex(v) + " (query)";
    auto n = name_of(personas, v & persona_mask);
    out = n ? std::string(*n) : core::hex(v & persona_mask);
    v &= ~persona_mask;
    add_bits(out, persona_bits, v);
    return finish_bits(out, v, {});
  }
  case ArgKind::prot: add_bits(out, prot_bits, v); return finish_bits(out, v, "PROT_NONE");
  }
  return core::hex(v);
}

std::optional<std::uint64_t> parse_value(ArgKind kind, std::string_view text) {
  if (text.empty()) return std::nullopt;
  if (auto n = parse_number(text)) return n;
  if (!is_flag_kind(kind)) return parse_symbol(kind, text);
  std::uint64_t v = 0;
  while (!text.empty()) {
    auto bar = text.find('|');
    auto part = text.substr(0, bar);
    auto one = parse_number(part);
    if (!one) one = parse_symbol(kind, part);
    if (!one) return std::nullopt;
    v |= *one;
    if (bar == std::string_view::npos) break;
    text.remove_prefix(bar + 1);
  }
  return v;
}

std::optional<SensitiveArg> arg_for_symbol(std::string_view syscall, std::string_view text) {
  auto args = sensitive_args_of(syscall);
  if (args.empty()) return std::nullopt;
  // A bare number means the first sensitive argument (socket's domain, ioctl's request).
  if (parse_number(text)) return args.front();
  for (const auto& a : args)
    if (parse_value(a.kind, text)) return a;
  return std::nullopt;
}

std::vector<core::Rule> conditioned_rules(std::string_view syscall, const Observed& observed) {
  auto args = sensitive_args_of(syscall);
  // Alternatives per argument: each a condition, or nullopt for "any value".
  std::vector<std::vector<std::optional<ArgCondition>>> per_arg;
  bool any_condition = false;
  for (const auto& a : args) {
    auto it = observed.find(a.index);
    std::vector<std::optional<ArgCondition>> alts;
    bool known = it != observed.end() && it->second.complete && !it->second.values.empty();
    if (known) {
      const auto& values = it->second.values;
      switch (a.kind) {
      case ArgKind::clone_flags: {
        std::uint64_t seen = 0;
        for (auto v : values) seen |= v;
        std::uint64_t denied = clone_guarded_flags() & ~seen;
        if (denied != 0) alts.emplace_back(ArgCondition{a.index, CmpOp::masked_eq, denied, 0});
        break;
      }
      case ArgKind::prot: {
        std::set<std::uint64_t> combos;
        for (auto v : values) combos.insert(v & (prot_w | prot_x));
        // Write and exec together seen: the rest is less, and every combination stays allowed.
        if (combos.count(prot_w | prot_x) != 0) break;
        // Readable and writable memory is the ordinary case and stays allowed.
        alts.emplace_back(ArgCondition{a.index, CmpOp::masked_eq, prot_x, 0});
        if (combos.count(prot_x) != 0)
          alts.emplace_back(ArgCondition{a.index, CmpOp::masked_eq, prot_w | prot_x, prot_x});
        break;
      }
      default:
        for (auto v : values) {
          auto c = value_condition(a, v);
          if (std::find(alts.begin(), alts.end(), std::optional<ArgCondition>(c)) == alts.end()) alts.emplace_back(c);
        }
      }
    }
    if (alts.empty()) alts.emplace_back(std::nullopt);
    else any_condition = true;
    per_arg.push_back(std::move(alts));
  }
  if (!any_condition) return {};
  // OCI ANDs the conditions of one entry and ORs entries: one entry per combination.
  std::vector<std::vector<ArgCondition>> combos{{}};
  for (const auto& alts : per_arg) {
    std::vector<std::vector<ArgCondition>> next;
    for (const auto& prefix : combos) {
      for (const auto& alt : alts) {
        auto extended = prefix;
        if (alt) extended.push_back(*alt);
        next.push_back(std::move(extended));
      }
    }
    combos = std::move(next);
  }
  std::vector<core::Rule> rules;
  for (auto& conds : combos) {
    core::Rule r;
    r.names = {std::string(syscall)};
    r.action = core::Action::allow();
    r.comment = "traced arguments: " + describe_conditions_symbolic(syscall, conds);
    r.args = std::move(conds);
    rules.push_back(std::move(r));
  }
  return rules;
}

std::string describe_conditions_symbolic(std::string_view syscall, const std::vector<ArgCondition>& args) {
  std::vector<std::string> parts;
  for (const auto& c : args) {
    const SensitiveArg* a = find_arg(syscall, c.index);
    std::optional<std::string> s = a != nullptr ? symbolic(*a, c) : std::nullopt;
    parts.push_back(s ? *s : describe_conditions({c}));
  }
  return core::join(parts, " && ");
}

std::string describe_allowed(const core::Policy& policy, std::string_view syscall) {
  std::vector<const core::Rule*> permitting;
  for (const auto* r : rules_for(policy, syscall)) {
    if (!permits(r->action)) continue;
    if (r->args.empty()) return {}; // runs whatever its arguments
    permitting.push_back(r);
  }
  if (permitting.empty()) return {};
  auto args = sensitive_args_of(syscall);
  std::vector<std::string> parts;
  std::set<unsigned> described;
  for (const auto& a : args) {
    described.insert(a.index);
    std::vector<std::string> values;
    std::set<std::uint64_t> combos;
    bool any = false;
    bool unreadable = false;
    for (const auto* r : permitting) {
      std::vector<ArgCondition> mine;
      for (const auto& c : r->args)
        if (c.index == a.index) mine.push_back(c);
      if (mine.empty()) {
        any = true;
        continue;
      }
      if (a.kind == ArgKind::prot) {
        auto c = prot_combos(mine, a.index);
        combos.insert(c.begin(), c.end());
        continue;
      }
      for (const auto& c : mine) {
        std::string v;
        if (c.op == CmpOp::eq) v = value_name(a.kind, c.value);
        else if (a.kind == ArgKind::socket_type && c.op == CmpOp::masked_eq && c.value == ~socket_type_flags)
          v = value_name(a.kind, c.value_two);
        else if (a.kind == ArgKind::ioctl_request && c.op == CmpOp::masked_eq && c.value == low32)
          v = value_name(a.kind, c.value_two);
        else if ((a.kind == ArgKind::clone_flags || a.kind == ArgKind::unshare_flags) && c.op == CmpOp::masked_eq &&
                 c.value_two == 0)
          v = "without " + value_name(a.kind, c.value);
        else {
          v = describe_conditions({c});
          unreadable = true;
        }
        if (std::find(values.begin(), values.end(), v) == values.end()) values.push_back(v);
      }
    }
    std::string what;
    if (any) what = "any";
    else if (a.kind == ArgKind::prot) what = prot_phrase(combos);
    else what = core::join(values, ", ") + (unreadable || values.front().starts_with("without") ? "" : " only");
    if (what == "any" && parts.empty() && args.size() > 1) {
      parts.push_back(std::string(a.label) + " any");
      continue;
    }
    if (what == "any") continue;
    parts.push_back(parts.empty() ? what : std::string(a.label) + " " + what);
  }
  // Conditions on arguments gen does not write (a hand-edited profile): shown as they are.
  for (const auto* r : permitting)
    for (const auto& c : r->args)
      if (described.insert(c.index).second) parts.push_back("also " + describe_conditions({c}));
  if (parts.empty()) return "under argument conditions";
  return core::join(parts, "; ");
}

core::ArgCondition condition_for_value(const SensitiveArg& arg, std::uint64_t value) {
  return value_condition(arg, value);
}

std::optional<ValueSpec> parse_value_spec(std::string_view text) {
  auto colon = text.find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  std::string name(text.substr(0, colon));
  std::string_view value = text.substr(colon + 1);
  auto args = sensitive_args_of(name);
  if (args.empty())
    throw core::Error(
        core::ErrorKind::invalid_input,
        "\"" + std::string(text) +
            "\": nucleus conditions the arguments of "
            "socket, socketpair, clone, unshare, ioctl, prctl, personality, mmap, mprotect and pkey_mprotect only",
        "give the name alone to allow or remove " + name + " whatever its arguments");
  std::optional<SensitiveArg> arg;
  if (value.starts_with("arg") && value.size() > 4 && value[4] == '=') {
    unsigned index = static_cast<unsigned>(value[3] - '0');
    for (const auto& a : args)
      if (a.index == index) arg = a;
    if (!arg)
      throw core::Error(core::ErrorKind::invalid_input, "\"" + std::string(text) + "\": " + name + "'s argument " +
                                                            std::to_string(index) + " is not one nucleus conditions");
    value.remove_prefix(5);
  } else {
    arg = arg_for_symbol(name, value);
  }
  std::optional<std::uint64_t> v = arg ? parse_value(arg->kind, value) : std::nullopt;
  if (!v) {
    std::string kinds;
    for (const auto& a : args) kinds += (kinds.empty() ? "" : ", ") + std::string(a.label);
    throw core::Error(
        core::ErrorKind::invalid_input, "\"" + std::string(text) + "\": unknown value for " + name,
        "give a symbol from the system headers (AF_INET6, SOCK_DGRAM, CLONE_NEWUSER, TCGETS, PR_SET_NAME, "
        "PROT_EXEC) or a number for its " +
            kinds);
  }
  return ValueSpec{name, *arg, *v};
}

std::string describe_rule_symbolic(std::string_view syscall, const core::Action& action,
                                   const std::vector<ArgCondition>& args) {
  std::string out = describe_rule(action, {});
  if (!args.empty()) out += " if " + describe_conditions_symbolic(syscall, args);
  return out;
}

std::vector<std::string> values_outside(const core::Policy& policy, std::string_view syscall, unsigned index,
                                        const std::vector<std::uint64_t>& values) {
  const SensitiveArg* a = find_arg(syscall, index);
  std::vector<std::string> out;
  auto rules = rules_for(policy, syscall);
  for (auto v : values) {
    bool covered = std::any_of(rules.begin(), rules.end(), [&](const core::Rule* r) {
      return permits(r->action) && std::all_of(r->args.begin(), r->args.end(), [&](const ArgCondition& c) {
               return c.index != index || core::matches(c, v);
             });
    });
    if (covered) continue;
    std::uint64_t shown = a != nullptr && a->kind == ArgKind::socket_type ? v & ~socket_type_flags : v;
    std::string text = a != nullptr ? value_name(a->kind, shown) : core::hex(v);
    if (std::find(out.begin(), out.end(), text) == out.end()) out.push_back(text);
  }
  return out;
}

} // namespace nucleus::profile
