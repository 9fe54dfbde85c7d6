// Compiling a policy to BPF with libseccomp, and installing the result without allocating.
#include "nucleus/sandbox/filter.hpp"

#include "nucleus/core/error.hpp"
#include "nucleus/core/fd.hpp"

#include <linux/seccomp.h>
#include <seccomp.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <functional>
#include <limits>
#include <map>
#include <memory>

namespace nucleus::sandbox {
using core::Action;
using core::ActionKind;
using core::Arch;
using core::arch_oci_name;
using core::ArgCondition;
using core::CmpOp;
using core::compat_arches;
using core::Error;
using core::ErrorKind;
using core::FilterFlag;
using core::native_arch;
using core::Policy;
using core::Rule;
using core::throw_errno;
using core::to_scmp;
using core::to_string;
using core::UniqueFd;
namespace {

// Beyond this, one entry would blow the 4096-instruction limit of a BPF program anyway.
constexpr std::size_t max_alternatives = 1024;
constexpr std::uint64_t all_ones = std::numeric_limits<std::uint64_t>::max();

struct CtxDeleter {
  void operator()(void* ctx) const noexcept { seccomp_release(ctx); }
};
using ScmpCtx = std::unique_ptr<void, CtxDeleter>;

// A set of 64-bit values {x : (x & mask) == value}.
struct Pattern {
  std::uint64_t mask = 0;
  std::uint64_t value = 0;
};

std::optional<Pattern> intersect(Pattern a, Pattern b) {
  std::uint64_t common = a.mask & b.mask;
  if ((a.value & common) != (b.value & common)) return std::nullopt;
  return Pattern{a.mask | b.mask, (a.value & a.mask) | (b.value & b.mask)};
}

// Splits [lo, hi] into aligned power-of-two blocks, each one Pattern.
void blocks_of_range(std::uint64_t lo, std::uint64_t hi, std::vector<Pattern>& out) {
  if (lo == 0 && hi == all_ones) {
    out.push_back({0, 0}); // any value
    return;
  }
  for (;;) {
    int k = 0; // the block is 2^k values; 2^64 (k == 64) only for the whole range, handled above
    while (k < 63) {
      std::uint64_t next = std::uint64_t{1} << (k + 1);
      if ((lo & (next - 1)) != 0 || hi - lo < next - 1) break;
      ++k;
    }
    std::uint64_t size = std::uint64_t{1} << k;
    out.push_back({~(size - 1), lo});
    std::uint64_t last = lo + (size - 1);
    if (last >= hi) return;
    lo = last + 1;
  }
}

ArgCondition condition_of(unsigned index, Pattern p) {
  if (p.mask == all_ones) return {index, CmpOp::eq, p.value, 0};
  return {index, CmpOp::masked_eq, p.mask, p.value};
}

// The alternatives for several conditions on one argument: each entry is one condition, or
// nullopt for "any value". Empty: unsatisfiable.
std::vector<std::optional<ArgCondition>> expand_one_index(unsigned index, const std::vector<ArgCondition>& conds) {
  std::uint64_t lo = 0;
  std::uint64_t hi = all_ones;
  std::vector<std::uint64_t> excluded;
  Pattern pattern;
  for (const auto& c : conds) {
    switch (c.op) {
    case CmpOp::eq:
      lo = std::max(lo, c.value);
      hi = std::min(hi, c.value);
      break;
    case CmpOp::ge: lo = std::max(lo, c.value); break;
    case CmpOp::gt:
      if (c.value == all_ones) return {};
      lo = std::max(lo, c.value + 1);
      break;
    case CmpOp::le: hi = std::min(hi, c.value); break;
    case CmpOp::lt:
      if (c.value == 0) return {};
      hi = std::min(hi, c.value - 1);
      break;
    case CmpOp::ne: excluded.push_back(c.value); break;
    case CmpOp::masked_eq: {
      if ((c.value_two & ~c.value) != 0) return {}; // expects bits the mask removes
      auto p = intersect(pattern, {c.value, c.value_two});
      if (!p) return {};
      pattern = *p;
      break;
    }
    }
  }
  if (lo > hi) return {};

  // The range minus the excluded points, as intervals.
  std::sort(excluded.begin(), excluded.end());
  excluded.erase(std::unique(excluded.begin(), excluded.end()), excluded.end());
  std::vector<std::pair<std::uint64_t, std::uint64_t>> intervals;
  std::uint64_t start = lo;
  bool open = true;
  for (std::uint64_t x : excluded) {
    if (x < start || x > hi) continue;
    if (x > start) intervals.emplace_back(start, x - 1);
    if (x == hi) {
      open = false;
      break;
    }
    start = x + 1;
  }
  if (open) intervals.emplace_back(start, hi);

  std::vector<std::optional<ArgCondition>> out;
  bool no_pattern = pattern.mask == 0;
  // Keep the simple single-comparison forms where they say the same thing.
  if (no_pattern && intervals.size() == 1) {
    auto [a, b] = intervals.front();
    if (a == 0 && b == all_ones) return {std::nullopt};
    if (a == b) return {ArgCondition{index, CmpOp::eq, a, 0}};
    if (a == 0) return {ArgCondition{index, CmpOp::le, b, 0}};
    if (b == all_ones) return {ArgCondition{index, CmpOp::ge, a, 0}};
  }
  if (no_pattern && intervals.size() == 2 && intervals[0].first == 0 && intervals[1].second == all_ones &&
      intervals[0].second + 2 == intervals[1].first) {
    return {ArgCondition{index, CmpOp::ne, intervals[0].second + 1, 0}};
  }
  std::vector<Pattern> blocks;
  for (auto [a, b] : intervals) blocks_of_range(a, b, blocks);
  for (const auto& block : blocks) {
    auto p = intersect(block, pattern);
    if (!p) continue;
    if (p->mask == 0) out.emplace_back(std::nullopt);
    else out.emplace_back(condition_of(index, *p));
  }
  return out;
}

scmp_compare to_scmp(CmpOp op) {
  switch (op) {
  case CmpOp::ne: return SCMP_CMP_NE;
  case CmpOp::lt: return SCMP_CMP_LT;
  case CmpOp::le: return SCMP_CMP_LE;
  case CmpOp::eq: return SCMP_CMP_EQ;
  case CmpOp::ge: return SCMP_CMP_GE;
  case CmpOp::gt: return SCMP_CMP_GT;
  case CmpOp::masked_eq: return SCMP_CMP_MASKED_EQ;
  }
  return SCMP_CMP_EQ;
}

void check(int rc, const std::string& what) {
  if (rc < 0) throw Error(ErrorKind::invalid_input, what + ": " + std::strerror(-rc), {}, -rc);
}

std::vector<sock_filter> export_bpf(void* ctx) {
  UniqueFd mem(static_cast<int>(::syscall(SYS_memfd_create, "nucleus-bpf", MFD_CLOEXEC)));
  if (!mem) throw_errno("cannot create a memory file for the BPF program");
  int rc = seccomp_export_bpf(ctx, mem.get());
  if (rc < 0)
    throw Error(ErrorKind::internal, std::string("libseccomp could not export the filter: ") + std::strerror(-rc));
  off_t size = ::lseek(mem.get(), 0, SEEK_END);
  if (size < 0 || size % static_cast<off_t>(sizeof(sock_filter)) != 0)
    throw Error(ErrorKind::internal, "libseccomp exported a filter of unexpected size");
  std::vector<sock_filter> insns(static_cast<std::size_t>(size) / sizeof(sock_filter));
  if (::pread(mem.get(), insns.data(), static_cast<std::size_t>(size), 0) != size)
    throw_errno("cannot read the exported BPF program");
  return insns;
}

} // namespace

std::string BpfProgram::bytes() const {
  return {reinterpret_cast<const char*>(insns_.data()), insns_.size() * sizeof(sock_filter)};
}

std::vector<std::vector<ArgCondition>> expand_conditions(const std::vector<ArgCondition>& conds) {
  std::map<unsigned, std::vector<ArgCondition>> by_index;
  for (const auto& c : conds) by_index[c.index].push_back(c);
  std::vector<std::vector<ArgCondition>> alternatives{{}};
  for (const auto& [index, group] : by_index) {
    std::vector<std::optional<ArgCondition>> options;
    if (group.size() == 1) options.emplace_back(group.front());
    else options = expand_one_index(index, group);
    if (options.empty()) return {};
    if (alternatives.size() * options.size() > 65536)
      throw Error(ErrorKind::invalid_input, "argument conditions expand to more than 65536 alternatives",
                  "simplify the conditions: several ranges on one argument need one rule per aligned block");
    std::vector<std::vector<ArgCondition>> next;
    next.reserve(alternatives.size() * options.size());
    for (const auto& alt : alternatives) {
      for (const auto& opt : options) {
        auto extended = alt;
        if (opt) extended.push_back(*opt);
        next.push_back(std::move(extended));
      }
    }
    alternatives = std::move(next);
  }
  return alternatives;
}

std::vector<Rule> mandatory_denials(bool allow_io_uring) {
  constexpr std::uint64_t low32 = 0xffffffffULL;
  const Action eperm = Action::errno_ret(EPERM);
  std::vector<Rule> out;
  // (syscall, index of its mode argument)
  const std::pair<const char*, unsigned> modes[] = {
      {"chmod", 1},  {"fchmod", 1}, {"fchmodat", 2}, {"fchmodat2", 2}, {"open", 2},
      {"openat", 3}, {"creat", 1},  {"mknod", 1},    {"mknodat", 2},
  };
  for (const auto& [name, index] : modes) {
    for (std::uint64_t bit : {std::uint64_t{S_ISUID}, std::uint64_t{S_ISGID}}) {
      out.push_back(
          {{name},
           eperm,
           {{index, CmpOp::masked_eq, bit, bit}},
           std::string("nucleus: setting ") + (bit == S_ISUID ? "S_ISUID" : "S_ISGID") + " is never allowed"});
    }
  }
  out.push_back({{"openat2"},
                 Action::errno_ret(ENOSYS),
                 {},
                 "nucleus: openat2's mode cannot be inspected; ENOSYS makes callers fall back to openat"});
  for (std::uint64_t request : {std::uint64_t{TIOCSTI}, std::uint64_t{TIOCLINUX}}) {
    out.push_back({{"ioctl"},
                   eperm,
                   {{1, CmpOp::masked_eq, low32, request}},
                   std::string("nucleus: ") + (request == TIOCSTI ? "TIOCSTI" : "TIOCLINUX") +
                       " (terminal input injection) is never allowed"});
  }
  // An io_uring operation (IORING_OP_OPENAT with a set-id mode, say) is carried out by the kernel
  // without a syscall of its own, so no seccomp filter ever sees it: the rules above would hold
  // only for the syscalls. The ring cannot be made, entered or changed; EPERM is also what the
  // kernel answers when io_uring is disabled, and callers fall back to plain syscalls.
  if (!allow_io_uring) {
    out.push_back({{"io_uring_setup", "io_uring_enter", "io_uring_register"},
                   eperm,
                   {},
                   "nucleus: io_uring carries out operations that no seccomp filter sees"});
  }
  return out;
}

Action bad_arch_action(bool complain) { return complain ? Action::log() : Action::kill_process(); }

namespace {

// One libseccomp filter for `rules` over `arches`; returns its BPF and counts the rules added.
std::vector<sock_filter> build(const std::vector<Rule>& rules, Action default_action, Action bad_arch,
                               const std::vector<Arch>& arches, bool skip_unknown, std::size_t& rules_added,
                               const std::function<Action(const Action&)>& effective) {
  ScmpCtx ctx(seccomp_init(to_scmp(default_action)));
  if (!ctx)
    throw Error(ErrorKind::invalid_input, "libseccomp rejected the default action " + to_string(default_action));

  Arch native = native_arch();
  for (Arch arch : arches) {
    if (arch == native) continue;
    int rc = seccomp_arch_add(ctx.get(), arch.token);
    if (rc != 0 && rc != -EEXIST) check(rc, "cannot add architecture " + std::string(arch_oci_name(arch)));
  }
  if (std::find(arches.begin(), arches.end(), native) == arches.end())
    check(seccomp_arch_remove(ctx.get(), native.token), "cannot remove the native architecture");

  check(seccomp_attr_set(ctx.get(), SCMP_FLTATR_ACT_BADARCH, to_scmp(bad_arch)),
        "cannot set the bad-architecture action");
  check(seccomp_attr_set(ctx.get(), SCMP_FLTATR_CTL_NNP, 0), "cannot configure no_new_privs");
  // Binary-tree syscall dispatch: O(log n) instead of a linear scan over hundreds of syscalls.
  check(seccomp_attr_set(ctx.get(), SCMP_FLTATR_CTL_OPTIMIZE, 2), "cannot enable the binary-tree optimisation");

  for (std::size_t i = 0; i < rules.size(); ++i) {
    const Rule& rule = rules[i];
    Action action = effective(rule.action);
    if (action == default_action) continue; // same as not listing it; libseccomp refuses it
    auto alternatives = expand_conditions(rule.args);
    if (alternatives.size() > max_alternatives)
      throw Error(ErrorKind::invalid_input,
                  "syscalls[" + std::to_string(i) + "]: its argument conditions expand to " +
                      std::to_string(alternatives.size()) + " alternatives, more than a filter can hold (" +
                      std::to_string(max_alternatives) + ")",
                  "simplify the conditions: several ranges on one argument need one rule per aligned block");
    for (const auto& name : rule.names) {
      int nr = seccomp_syscall_resolve_name(name.c_str());
      if (nr == __NR_SCMP_ERROR) {
        if (skip_unknown) continue; // a mandatory denial of a syscall this libseccomp does not know yet
        throw Error(ErrorKind::invalid_input, "syscalls[" + std::to_string(i) + "]: unknown syscall \"" + name + "\"");
      }
      for (const auto& alt : alternatives) {
        std::vector<scmp_arg_cmp> cmps;
        for (const auto& c : alt) {
          if (c.op == CmpOp::masked_eq) cmps.push_back({c.index, SCMP_CMP_MASKED_EQ, c.value, c.value_two});
          else cmps.push_back({c.index, to_scmp(c.op), c.value, 0});
        }
        int rc =
            seccomp_rule_add_array(ctx.get(), to_scmp(action), nr, static_cast<unsigned>(cmps.size()), cmps.data());
        if (rc == -EACCES) continue; // action equals the default after all
        check(rc, "syscalls[" + std::to_string(i) + "] (" + name + ", " + to_string(action) +
                      "): libseccomp rejected the rule");
        ++rules_added;
      }
    }
  }
  return export_bpf(ctx.get());
}

// The guard: default allow, the mandatory denials, on the native ABI and every compat ABI.
std::vector<sock_filter> build_guard(bool allow_io_uring) {
  std::vector<Arch> arches{native_arch()};
  for (Arch a : compat_arches(native_arch())) arches.push_back(a);
  std::size_t ignored = 0;
  return build(mandatory_denials(allow_io_uring), Action::allow(), Action::kill_process(), arches, true, ignored,
               [](const Action& a) { return a; });
}

} // namespace

BpfProgram compile(const Policy& policy, const CompileOptions& options, CompileStats* stats) {
  auto effective = [&](const Action& a) {
    if (options.complain && a.kind != ActionKind::allow) return Action::log();
    return a;
  };
  Action default_action = effective(policy.default_action);
  if (options.enforcement) {
    auto notify_refused = [](const std::string& where) {
      return Error(ErrorKind::invalid_input,
                   where + " is SCMP_ACT_NOTIFY, which hands the decision to a listener; nucleus has none, so the "
                           "workload would block forever in that syscall",
                   "use another action (errno, kill-process, log), or load this profile with a runtime that runs a "
                   "seccomp notify agent");
    };
    if (default_action.kind == ActionKind::notify) throw notify_refused("the default action");
    for (std::size_t i = 0; i < policy.rules.size(); ++i)
      if (effective(policy.rules[i].action).kind == ActionKind::notify)
        throw notify_refused("syscalls[" + std::to_string(i) + "].action");
  }

  std::size_t rules_added = 0;
  auto profile = build(policy.rules, default_action, bad_arch_action(options.complain), policy.effective_arches(),
                       false, rules_added, effective);
  // The guard runs first; where it would allow, it jumps to the profile's program instead, so the
  // mandatory denials win over any rule of the profile by construction, not by libseccomp's
  // (action-dependent) merging of overlapping rules.
  auto insns = build_guard(options.allow_io_uring);
  for (std::size_t i = 0; i < insns.size(); ++i) {
    sock_filter& in = insns[i];
    if (in.code == (BPF_RET | BPF_K) && in.k == SECCOMP_RET_ALLOW) {
      in.code = BPF_JMP | BPF_JA;
      in.k = static_cast<std::uint32_t>(insns.size() - 1 - i);
      in.jt = in.jf = 0;
    }
  }
  insns.insert(insns.end(), profile.begin(), profile.end());

  unsigned flags = 0;
  for (FilterFlag f : policy.flags) flags |= static_cast<unsigned>(f);
  if (options.force_log_flag) flags |= static_cast<unsigned>(FilterFlag::log);
  BpfProgram program(std::move(insns), flags);
  if (program.size() > BPF_MAXINSNS)
    throw Error(ErrorKind::invalid_input,
                "the compiled filter has " + std::to_string(program.size()) +
                    " BPF instructions; the kernel accepts at most " + std::to_string(BPF_MAXINSNS),
                "allow whole syscalls instead of many argument conditions, or split the workload");
  if (stats != nullptr) *stats = {policy.effective_arches().size(), rules_added, program.size()};
  return program;
}

int install_filter(const BpfProgram& program) noexcept {
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return -errno;
  sock_fprog fprog{};
  fprog.len = static_cast<unsigned short>(program.size());
  fprog.filter = const_cast<sock_filter*>(program.instructions().data());
  if (::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, program.flags(), &fprog) != 0) return -errno;
  return 0;
}

} // namespace nucleus::sandbox

namespace nucleus::sandbox {

std::uint32_t evaluate(const BpfProgram& program, std::uint32_t arch, int nr, const std::uint64_t (&args)[6]) noexcept {
  // struct seccomp_data, as the kernel lays it out for the filter.
  std::uint32_t data[16] = {};
  data[0] = static_cast<std::uint32_t>(nr);
  data[1] = arch;
  for (int i = 0; i < 6; ++i) {
    data[4 + 2 * i] = static_cast<std::uint32_t>(args[i]);
    data[5 + 2 * i] = static_cast<std::uint32_t>(args[i] >> 32);
  }
  std::uint32_t a = 0, x = 0, mem[BPF_MEMWORDS] = {};
  const auto& insns = program.instructions();
  for (std::size_t pc = 0; pc < insns.size(); ++pc) {
    const sock_filter& in = insns[pc];
    const std::uint32_t src = BPF_SRC(in.code) == BPF_X ? x : in.k;
    switch (BPF_CLASS(in.code)) {
    case BPF_LD:
      if (BPF_MODE(in.code) == BPF_ABS && in.k % 4 == 0 && in.k < sizeof data) a = data[in.k / 4];
      else if (BPF_MODE(in.code) == BPF_IMM) a = in.k;
      else if (BPF_MODE(in.code) == BPF_MEM && in.k < BPF_MEMWORDS) a = mem[in.k];
      else if (BPF_MODE(in.code) == BPF_LEN) a = sizeof data;
      else return SECCOMP_RET_KILL_PROCESS;
      break;
    case BPF_LDX:
      if (BPF_MODE(in.code) == BPF_IMM) x = in.k;
      else if (BPF_MODE(in.code) == BPF_MEM && in.k < BPF_MEMWORDS) x = mem[in.k];
      else if (BPF_MODE(in.code) == BPF_LEN) x = sizeof data;
      else return SECCOMP_RET_KILL_PROCESS;
      break;
    case BPF_ST:
      if (in.k >= BPF_MEMWORDS) return SECCOMP_RET_KILL_PROCESS;
      mem[in.k] = a;
      break;
    case BPF_STX:
      if (in.k >= BPF_MEMWORDS) return SECCOMP_RET_KILL_PROCESS;
      mem[in.k] = x;
      break;
    case BPF_ALU:
      switch (BPF_OP(in.code)) {
      case BPF_ADD: a += src; break;
      case BPF_SUB: a -= src; break;
      case BPF_MUL: a *= src; break;
      case BPF_DIV:
        if (src == 0) return SECCOMP_RET_KILL_PROCESS;
        a /= src;
        break;
      case BPF_MOD:
        if (src == 0) return SECCOMP_RET_KILL_PROCESS;
        a %= src;
        break;
      case BPF_AND: a &= src; break;
      case BPF_OR: a |= src; break;
      case BPF_XOR: a ^= src; break;
      case BPF_LSH: a = src < 32 ? a << src : 0; break;
      case BPF_RSH: a = src < 32 ? a >> src : 0; break;
      case BPF_NEG: a = 0 - a; break;
      default: return SECCOMP_RET_KILL_PROCESS;
      }
      break;
    case BPF_JMP: {
      if (BPF_OP(in.code) == BPF_JA) {
        pc += in.k;
        break;
      }
      bool taken = false;
      switch (BPF_OP(in.code)) {
      case BPF_JEQ: taken = a == src; break;
      case BPF_JGT: taken = a > src; break;
      case BPF_JGE: taken = a >= src; break;
      case BPF_JSET: taken = (a & src) != 0; break;
      default: return SECCOMP_RET_KILL_PROCESS;
      }
      pc += taken ? in.jt : in.jf;
      break;
    }
    case BPF_RET: return BPF_RVAL(in.code) == BPF_A ? a : in.k;
    case BPF_MISC:
      if (BPF_MISCOP(in.code) == BPF_TAX) x = a;
      else a = x;
      break;
    default: return SECCOMP_RET_KILL_PROCESS;
    }
  }
  return SECCOMP_RET_KILL_PROCESS; // the kernel refuses programs that fall off the end
}

} // namespace nucleus::sandbox
