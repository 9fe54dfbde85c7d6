// The filter compiler, decided by running compiled filters (seccomp needs no privileges once
// no_new_privs is set) and by checking the condition rewriting against the reference semantics.
#include "nucleus/sandbox/filter.hpp"

#include "nucleus/core/error.hpp"
#include "test_support.hpp"

#include <gtest/gtest.h>
#include <linux/audit.h>
#include <linux/io_uring.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <limits>
#include <algorithm>
#include <functional>
#include <random>

using namespace nucleus::sandbox;
using namespace nucleus::core;

namespace {

constexpr std::uint64_t max64 = std::numeric_limits<std::uint64_t>::max();

using Outcome = nucleus::test::FilteredCall;

// Installs `program` in a child, makes syscall `nr` with `args`, and reports what happened.
Outcome run_under(const BpfProgram& program, long nr, std::initializer_list<std::uint64_t> args) {
  return nucleus::test::call_under_filter(program, nr, args);
}

Policy allow_all_but(Rule rule) {
  Policy p;
  p.default_action = Action::allow();
  p.rules.push_back(std::move(rule));
  return p;
}

// The meaning of one comparison, as the OCI runtime spec and libseccomp define it, written out here
// so that the compiler is not checked against its own reference (core::matches).
bool holds(const ArgCondition& c, std::uint64_t x) {
  switch (c.op) {
  case CmpOp::ne: return x != c.value;
  case CmpOp::lt: return x < c.value;
  case CmpOp::le: return x <= c.value;
  case CmpOp::eq: return x == c.value;
  case CmpOp::ge: return x >= c.value;
  case CmpOp::gt: return x > c.value;
  case CmpOp::masked_eq: return (x & c.value) == c.value_two;
  }
  return false;
}

bool satisfies_all(const std::vector<ArgCondition>& conds, unsigned index, std::uint64_t v) {
  for (const auto& c : conds)
    if (c.index == index && !holds(c, v)) return false;
  return true;
}

// Installs `program` in a child, makes getppid with each of `values` as argument 3 (which the
// kernel ignores and the filter sees whole), and reports which calls got `denied_errno`.
std::vector<bool> denied_in_kernel(const BpfProgram& program, const std::vector<std::uint64_t>& values,
                                   int denied_errno) {
  int fds[2];
  EXPECT_EQ(::pipe(fds), 0);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(fds[0]);
    if (install_filter(program) != 0) ::_exit(99);
    for (std::uint64_t v : values) {
      errno = 0;
      long ret = ::syscall(SYS_getppid, 0, 0, 0, v, 0, 0);
      char answer = ret == -1 && errno == denied_errno ? 'd' : ret > 0 ? 'a' : '?';
      if (::write(fds[1], &answer, 1) != 1) ::syscall(SYS_exit_group, 98);
    }
    // The raw call: a sanitizer's _exit makes syscalls the filter under test may deny.
    ::syscall(SYS_exit_group, 0);
  }
  ::close(fds[1]);
  std::string answers;
  char buf[512];
  for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;) answers.append(buf, static_cast<std::size_t>(n));
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "the child could not install the filter or report";
  EXPECT_EQ(answers.size(), values.size());
  EXPECT_EQ(answers.find('?'), std::string::npos) << "getppid failed otherwise than by the filter";
  std::vector<bool> out;
  for (char c : answers) out.push_back(c == 'd');
  return out;
}

bool satisfies_alternatives(const std::vector<std::vector<ArgCondition>>& alts, unsigned index, std::uint64_t v) {
  for (const auto& alt : alts) {
    bool ok = true;
    for (const auto& c : alt) {
      EXPECT_EQ(c.index, index);
      if (!holds(c, v)) ok = false;
    }
    if (ok) return true;
  }
  return false;
}

} // namespace

TEST(ExpandConditions, SingleConditionsPassThrough) {
  std::vector<ArgCondition> conds{{0, CmpOp::eq, 1, 0}, {2, CmpOp::masked_eq, 0xff, 3}};
  auto alts = expand_conditions(conds);
  ASSERT_EQ(alts.size(), 1u);
  EXPECT_EQ(alts[0], conds);
}

TEST(ExpandConditions, RangeBecomesOneComparisonWhereItCan) {
  auto alts = expand_conditions({{1, CmpOp::ge, 5, 0}, {1, CmpOp::ge, 9, 0}});
  ASSERT_EQ(alts.size(), 1u);
  EXPECT_EQ(alts[0], (std::vector<ArgCondition>{{1, CmpOp::ge, 9, 0}}));
  EXPECT_TRUE(expand_conditions({{0, CmpOp::eq, 1, 0}, {0, CmpOp::eq, 2, 0}}).empty());
  EXPECT_TRUE(expand_conditions({{0, CmpOp::gt, 10, 0}, {0, CmpOp::lt, 5, 0}}).empty());
}

TEST(ExpandConditions, ConjunctionIsExactOnRandomCases) {
  std::mt19937_64 rng(12345);
  const CmpOp ops[] = {CmpOp::ne, CmpOp::lt, CmpOp::le, CmpOp::eq, CmpOp::ge, CmpOp::gt, CmpOp::masked_eq};
  for (int round = 0; round < 400; ++round) {
    std::vector<ArgCondition> conds;
    int n = 2 + static_cast<int>(rng() % 3);
    for (int k = 0; k < n; ++k) {
      CmpOp op = ops[rng() % 7];
      std::uint64_t v = rng() % 64; // small values so the cases overlap often
      std::uint64_t two = 0;
      if (op == CmpOp::masked_eq) {
        v = rng() % 64;
        two = rng() % 64 & v;
      }
      conds.push_back({3, op, v, two});
    }
    auto alts = expand_conditions(conds);
    for (std::uint64_t x = 0; x < 80; ++x)
      ASSERT_EQ(satisfies_alternatives(alts, 3, x), satisfies_all(conds, 3, x)) << "round " << round << " x=" << x;
    for (std::uint64_t x : {max64, max64 - 1, std::uint64_t{1} << 40})
      ASSERT_EQ(satisfies_alternatives(alts, 3, x), satisfies_all(conds, 3, x)) << "round " << round;
  }
}

// The README's claim, decided by the kernel: for random conjunctions on one argument, the compiled
// filter denies exactly the values that satisfy every condition. Condition values and arguments
// straddle the two 32-bit halves that BPF compares separately (2^32 - 1, 2^32, 2^32 + 1, ...).
TEST(CompiledFilter, RandomConjunctionsMeanAndInTheKernel) {
  constexpr std::uint64_t two32 = std::uint64_t{1} << 32;
  constexpr int denied_errno = 123; // ENOMEDIUM: getppid never fails with it on its own
  std::mt19937_64 rng(20261201);
  const CmpOp ops[] = {CmpOp::ne, CmpOp::lt, CmpOp::le, CmpOp::eq, CmpOp::ge, CmpOp::gt, CmpOp::masked_eq};
  auto pick_value = [&]() -> std::uint64_t {
    switch (rng() % 6) {
    case 0: return rng() % 64;
    case 1: return two32 - 1 - rng() % 4;
    case 2: return two32 + rng() % 4;
    case 3: return two32 * (1 + rng() % 3) + rng() % 64; // high half set, low half small
    case 4: return max64 - rng() % 4;
    default: return rng();
    }
  };
  int denied_somewhere = 0, allowed_somewhere = 0;
  for (int round = 0; round < 400; ++round) {
    std::vector<ArgCondition> conds;
    int n = 2 + static_cast<int>(rng() % 3);
    for (int k = 0; k < n; ++k) {
      CmpOp op = ops[rng() % 7];
      std::uint64_t v = pick_value();
      std::uint64_t two = 0;
      if (op == CmpOp::masked_eq) {
        v = rng() % 2 ? (two32 | (rng() % 64)) : (rng() % 64) | (rng() % 2 ? two32 << 1 : 0);
        two = pick_value() & v;
      }
      conds.push_back({3, op, v, two});
    }
    std::vector<std::uint64_t> values;
    for (std::uint64_t x = 0; x < 16; ++x) values.push_back(x);
    for (std::uint64_t x : {two32 - 2, two32 - 1, two32, two32 + 1, two32 + 2, 2 * two32 + 1, max64, max64 - 1})
      values.push_back(x);
    for (const auto& c : conds)
      for (std::uint64_t d : {std::uint64_t{0}, std::uint64_t{1}, max64}) { // the value, +1, -1
        values.push_back(c.value + d);
        values.push_back(c.value_two + d);
        values.push_back((c.value + d) ^ two32); // the same low half with the high half flipped
      }
    for (int k = 0; k < 8; ++k) values.push_back(rng());
    Policy p;
    p.default_action = Action::allow();
    p.rules.push_back({{"getppid"}, Action::errno_ret(denied_errno), conds, ""});
    auto denied = denied_in_kernel(compile(p), values, denied_errno);
    ASSERT_EQ(denied.size(), values.size()) << "round " << round;
    for (std::size_t i = 0; i < values.size(); ++i) {
      bool expected = satisfies_all(conds, 3, values[i]);
      (expected ? denied_somewhere : allowed_somewhere) += 1;
      ASSERT_EQ(denied[i], expected) << "round " << round << " arg=0x" << std::hex << values[i];
    }
  }
  // Both outcomes occur often, so neither a deny-all nor an allow-all filter could pass.
  EXPECT_GT(denied_somewhere, 1000);
  EXPECT_GT(allowed_somewhere, 1000);
}

TEST(Compile, ReportsInstructionsAndRules) {
  Policy p;
  p.default_action = Action::errno_ret(EPERM);
  p.rules.push_back({{"read", "write", "exit_group"}, Action::allow(), {}, ""});
  CompileStats stats;
  auto prog = compile(p, {}, &stats);
  EXPECT_EQ(stats.rules, 3u);
  EXPECT_EQ(stats.arches, 1u);
  EXPECT_EQ(stats.instructions, prog.size());
  EXPECT_GT(prog.size(), 5u);
  EXPECT_EQ(prog.bytes().size(), prog.size() * sizeof(sock_filter));
}

TEST(Compile, UnknownSyscallNamesTheRule) {
  Policy p;
  p.rules.push_back({{"read"}, Action::allow(), {}, ""});
  p.rules.push_back({{"frobnicate"}, Action::allow(), {}, ""});
  try {
    compile(p);
    FAIL() << "compiled a policy with an unknown syscall";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::invalid_input);
    EXPECT_NE(std::string(e.what()).find("syscalls[1]"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("frobnicate"), std::string::npos) << e.what();
  }
}

TEST(Compile, FlagsReachTheProgram) {
  Policy p;
  p.flags = {FilterFlag::log};
  EXPECT_EQ(compile(p).flags(), unsigned{SECCOMP_FILTER_FLAG_LOG});
  p.flags.clear();
  EXPECT_EQ(compile(p).flags(), 0u);
  CompileOptions force;
  force.force_log_flag = true;
  EXPECT_EQ(compile(p, force).flags(), unsigned{SECCOMP_FILTER_FLAG_LOG});
}

TEST(CompiledFilter, DeniesWithTheProfilesErrno) {
  auto prog = compile(allow_all_but({{"getppid"}, Action::errno_ret(EACCES), {}, ""}));
  auto denied = run_under(prog, SYS_getppid, {});
  EXPECT_EQ(denied.ret, -1);
  EXPECT_EQ(denied.err, EACCES);
  auto allowed = run_under(prog, SYS_getpid, {});
  EXPECT_GT(allowed.ret, 0);
}

TEST(CompiledFilter, KillProcessKillsWithSigsys) {
  auto prog = compile(allow_all_but({{"getppid"}, Action::kill_process(), {}, ""}));
  EXPECT_EQ(run_under(prog, SYS_getppid, {}).signal, SIGSYS);
}

// Several conditions on one argument in one entry mean AND (not one rule per condition).
TEST(CompiledFilter, SameIndexConditionsMeanAnd) {
  Rule rule{{"getpriority"}, Action::errno_ret(33), {{0, CmpOp::ge, 5, 0}, {0, CmpOp::le, 10, 0}}, ""};
  auto prog = compile(allow_all_but(rule));
  for (std::uint64_t which : {3, 4, 5, 7, 10, 11, 1000}) {
    auto o = run_under(prog, SYS_getpriority, {which, 0});
    bool in_range = which >= 5 && which <= 10;
    EXPECT_EQ(o.err == 33, in_range) << "which=" << which << " errno=" << o.err;
  }
}

TEST(CompiledFilter, SameIndexMaskedAndNotEqual) {
  // arg1 & 0xf0 == 0x10, and arg1 != 0x13: everything else is allowed.
  Rule rule{{"getpriority"},
            Action::errno_ret(34),
            {{1, CmpOp::masked_eq, 0xf0, 0x10}, {1, CmpOp::ne, 0x13, 0}, {0, CmpOp::eq, PRIO_PROCESS, 0}},
            ""};
  auto prog = compile(allow_all_but(rule));
  for (std::uint64_t who : {0x10, 0x13, 0x1f, 0x20, 0x0}) {
    auto o = run_under(prog, SYS_getpriority, {PRIO_PROCESS, who});
    bool denied = (who & 0xf0) == 0x10 && who != 0x13;
    EXPECT_EQ(o.err == 34, denied) << "who=" << who;
  }
  // A different arg0 never matches the entry: the call goes through (a kill would be no answer).
  auto other = run_under(prog, SYS_getpriority, {PRIO_PGRP, 0});
  EXPECT_EQ(other.signal, 0);
  EXPECT_EQ(other.err, 0);
  EXPECT_GT(other.ret, 0);
}

TEST(CompiledFilter, ContradictoryConditionsNeverMatch) {
  Rule rule{{"getpriority"}, Action::errno_ret(35), {{0, CmpOp::eq, 0, 0}, {0, CmpOp::eq, 1, 0}}, ""};
  auto prog = compile(allow_all_but(rule));
  for (std::uint64_t which : {0, 1}) { // PRIO_PROCESS and PRIO_PGRP of the caller: both succeed
    auto o = run_under(prog, SYS_getpriority, {which, 0});
    EXPECT_EQ(o.signal, 0) << which;
    EXPECT_EQ(o.err, 0) << which;
    EXPECT_GT(o.ret, 0) << which; // the kernel returns 20 - nice
  }
}

TEST(CompiledFilter, SocketOnlyForUnixDomain) {
  Policy p;
  p.default_action = Action::allow();
  p.rules.push_back({{"socket"}, Action::errno_ret(EPERM), {{0, CmpOp::ne, AF_UNIX, 0}}, ""});
  auto prog = compile(p);
  EXPECT_GE(run_under(prog, SYS_socket, {AF_UNIX, SOCK_STREAM, 0}).ret, 0);
  auto inet = run_under(prog, SYS_socket, {AF_INET, SOCK_STREAM, 0});
  EXPECT_EQ(inet.ret, -1);
  EXPECT_EQ(inet.err, EPERM);
}

TEST(CompiledFilter, ComplainModeLogsInsteadOfDenying) {
  CompileOptions complain;
  complain.complain = true;
  auto prog = compile(allow_all_but({{"getppid"}, Action::kill_process(), {}, ""}), complain);
  EXPECT_GT(run_under(prog, SYS_getppid, {}).ret, 0);
}

// evaluate() must give the kernel's verdict: the same random conditions, run both ways.
TEST(Evaluate, AgreesWithTheKernel) {
  std::mt19937_64 rng(777);
  const CmpOp ops[] = {CmpOp::ne, CmpOp::lt, CmpOp::le, CmpOp::eq, CmpOp::ge, CmpOp::gt, CmpOp::masked_eq};
  const std::uint64_t values[] = {0, 1, 5, 0xff, 0x100000000ULL, max64};
  for (int round = 0; round < 12; ++round) {
    Rule rule{{"getpriority"}, Action::errno_ret(E2BIG), {}, ""};
    rule.args.push_back({0, ops[rng() % 7], values[rng() % 6], values[rng() % 6]});
    auto program = compile(allow_all_but(rule));
    for (std::uint64_t v : values) {
      SCOPED_TRACE(::testing::Message() << "round " << round << " value " << v);
      const std::uint64_t args[6] = {v, 0, 0, 0, 0, 0};
      std::uint32_t verdict = evaluate(program, AUDIT_ARCH_X86_64, SYS_getpriority, args);
      Outcome o = run_under(program, SYS_getpriority, {v, 0});
      EXPECT_EQ(o.err == E2BIG, verdict == (SECCOMP_RET_ERRNO | E2BIG)) << std::hex << verdict;
    }
  }
  Policy deny_exec = allow_all_but({{"execve"}, Action::errno_ret(EPERM), {}, ""});
  const std::uint64_t none[6] = {};
  EXPECT_EQ(evaluate(compile(deny_exec), AUDIT_ARCH_X86_64, SYS_execve, none), SECCOMP_RET_ERRNO | EPERM);
  EXPECT_EQ(evaluate(compile(deny_exec), AUDIT_ARCH_X86_64, SYS_getpid, none), SECCOMP_RET_ALLOW);
}

// The mandatory denials hold whatever the profile says: run with a default-allow profile, with a
// profile allowing the syscall outright, and with one allowing exactly the set-id modes.
class MandatoryDenials : public ::testing::Test {
protected:
  void SetUp() override {
    char tmpl[] = "/tmp/nucleus-filter-test-XXXXXX";
    int fd = ::mkstemp(tmpl);
    ASSERT_GE(fd, 0);
    ::close(fd);
    path_ = tmpl;
  }
  void TearDown() override { ::unlink(path_.c_str()); }
  std::uint64_t path() const { return reinterpret_cast<std::uint64_t>(path_.c_str()); }
  static std::vector<Policy> profiles(const std::string& name, unsigned mode_index) {
    Policy allow_default;
    allow_default.default_action = Action::allow();
    Policy allow_listed; // an allowlist naming the syscall without conditions
    allow_listed.default_action = Action::errno_ret(EACCES);
    allow_listed.rules.push_back({{name, "exit_group", "write", "exit"}, Action::allow(), {}, ""});
    Policy allow_setid = allow_listed; // ... and explicitly for the set-id bits
    allow_setid.rules.insert(allow_setid.rules.begin(),
                             Rule{{name}, Action::allow(), {{mode_index, CmpOp::masked_eq, 06000, 06000}}, ""});
    return {allow_default, allow_listed, allow_setid};
  }
  std::string path_;
};

TEST_F(MandatoryDenials, SetIdModesAreRefusedByEveryChmod) {
  struct Case {
    const char* name;
    long nr;
    unsigned index;
  };
  for (const auto& c : {Case{"chmod", SYS_chmod, 1}, Case{"fchmodat", SYS_fchmodat, 2}}) {
    for (const auto& policy : profiles(c.name, c.index)) {
      auto prog = compile(policy);
      for (std::uint64_t mode : {std::uint64_t{04755}, std::uint64_t{02755}, std::uint64_t{06755},
                                 std::uint64_t{04000} | (std::uint64_t{1} << 40)}) {
        auto o = c.nr == SYS_chmod ? run_under(prog, c.nr, {path(), mode})
                                   : run_under(prog, c.nr, {std::uint64_t(AT_FDCWD), path(), mode});
        EXPECT_EQ(o.ret, -1) << c.name << " mode " << std::oct << mode;
        EXPECT_EQ(o.err, EPERM) << c.name << " mode " << std::oct << mode;
      }
      auto plain = c.nr == SYS_chmod ? run_under(prog, c.nr, {path(), 0755})
                                     : run_under(prog, c.nr, {std::uint64_t(AT_FDCWD), path(), 0755});
      EXPECT_EQ(plain.ret, 0) << c.name << ": a mode without set-id bits stays allowed";
      struct stat st {};
      ASSERT_EQ(::stat(path_.c_str(), &st), 0);
      EXPECT_EQ(st.st_mode & 06000, 0u) << "the file became set-id under " << c.name;
    }
  }
}

TEST_F(MandatoryDenials, SetIdModesAreRefusedAtCreation) {
  std::string created = path_ + ".new";
  for (const auto& policy : profiles("openat", 3)) {
    auto prog = compile(policy);
    auto o = run_under(
        prog, SYS_openat,
        {std::uint64_t(AT_FDCWD), reinterpret_cast<std::uint64_t>(created.c_str()), O_CREAT | O_WRONLY, 04755});
    EXPECT_EQ(o.err, EPERM);
    EXPECT_NE(::access(created.c_str(), F_OK), 0) << "openat created a set-id file";
    ::unlink(created.c_str());
  }
  Policy allow;
  allow.default_action = Action::allow();
  auto o = run_under(compile(allow), SYS_mknodat,
                     {std::uint64_t(AT_FDCWD), reinterpret_cast<std::uint64_t>(created.c_str()), S_IFREG | 02755, 0});
  EXPECT_EQ(o.err, EPERM);
  EXPECT_NE(::access(created.c_str(), F_OK), 0) << "mknodat created a set-id file";
  ::unlink(created.c_str());
}

// The legacy entry points the C library no longer uses (open, creat, mknod) and fchmodat2 have rules
// of their own: each runs here under a real filter, with a real file checked afterwards.
TEST_F(MandatoryDenials, SetIdModesAreRefusedByTheLegacyCallsAndFchmodat2) {
  const std::string created = path_ + ".new";
  const auto name_of = [&] { return reinterpret_cast<std::uint64_t>(created.c_str()); };
  struct Case {
    const char* name;
    unsigned index;
    std::function<Outcome(const BpfProgram&)> call;
  } cases[] = {
      {"creat", 1,
       [&](const BpfProgram& p) {
         return run_under(p, SYS_creat, {name_of(), 04755});
       }},
      {"open", 2,
       [&](const BpfProgram& p) {
         return run_under(p, SYS_open, {name_of(), O_CREAT | O_WRONLY, 02755});
       }},
      {"mknod", 1,
       [&](const BpfProgram& p) {
         return run_under(p, SYS_mknod, {name_of(), S_IFREG | 04755, 0});
       }},
      {"fchmodat2", 2,
       [&](const BpfProgram& p) {
         ::close(::open(created.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0644));
         return run_under(p, 452 /* fchmodat2, x86_64 */, {std::uint64_t(AT_FDCWD), name_of(), 04755, 0});
       }},
  };
  for (const auto& c : cases) {
    for (const auto& policy : profiles(c.name, c.index)) {
      auto o = c.call(compile(policy));
      EXPECT_EQ(o.err, EPERM) << c.name;
      struct stat st {};
      if (::stat(created.c_str(), &st) == 0) {
        EXPECT_EQ(st.st_mode & 06000, 0u) << c.name << " made a set-id file";
      }
      ::unlink(created.c_str());
    }
  }
}

// openat2's mode sits in a structure a filter cannot read: it gets ENOSYS (callers fall back to
// openat), whatever the profile allows. Without the filter the same call reaches the kernel (ENOENT).
TEST_F(MandatoryDenials, Openat2GetsEnosys) {
  struct {
    std::uint64_t flags, mode, resolve;
  } how{O_CREAT | O_WRONLY, 04755, 0};
  const std::string created = path_ + ".new";
  const std::uint64_t args[] = {std::uint64_t(AT_FDCWD), reinterpret_cast<std::uint64_t>(created.c_str()),
                                reinterpret_cast<std::uint64_t>(&how), sizeof how};
  for (const auto& policy : profiles("openat2", 2)) {
    auto o = run_under(compile(policy), SYS_openat2, {args[0], args[1], args[2], args[3]});
    EXPECT_EQ(o.err, ENOSYS);
    EXPECT_NE(::access(created.c_str(), F_OK), 0) << "openat2 created the file";
    ::unlink(created.c_str());
  }
}

TEST_F(MandatoryDenials, TerminalInjectionIoctlsOnTheirLow32Bits) {
  for (const auto& policy : profiles("ioctl", 1)) {
    auto prog = compile(policy);
    for (std::uint64_t req : {std::uint64_t{0x5412}, std::uint64_t{0x541C}, std::uint64_t{0xffffffff00005412},
                              std::uint64_t{0x100005412}}) {
      auto o = run_under(prog, SYS_ioctl, {std::uint64_t(-1), req, 0});
      EXPECT_EQ(o.err, EPERM) << "request 0x" << std::hex << req << " (without the filter: EBADF)";
    }
    EXPECT_EQ(run_under(prog, SYS_ioctl, {std::uint64_t(-1), 0x5401 /* TCGETS */, 0}).err, EBADF);
  }
}

// io_uring's operations never pass a seccomp filter, so the ring itself is refused, whatever the
// profile allows, in complain mode too, unless allow_io_uring lifts it.
TEST_F(MandatoryDenials, IoUringIsRefusedUnlessAllowed) {
  const std::uint64_t none[6] = {};
  CompileOptions complain;
  complain.complain = true;
  CompileOptions allowed;
  allowed.allow_io_uring = true;
  const std::pair<const char*, int> calls[] = {{"io_uring_setup", SYS_io_uring_setup},
                                               {"io_uring_enter", SYS_io_uring_enter},
                                               {"io_uring_register", SYS_io_uring_register}};
  for (const auto& [name, nr] : calls) {
    for (const auto& policy : profiles(name, 0)) {
      EXPECT_EQ(evaluate(compile(policy), AUDIT_ARCH_X86_64, nr, none), SECCOMP_RET_ERRNO | EPERM) << name;
      EXPECT_EQ(evaluate(compile(policy, complain), AUDIT_ARCH_X86_64, nr, none), SECCOMP_RET_ERRNO | EPERM) << name;
      EXPECT_NE(evaluate(compile(policy, allowed), AUDIT_ARCH_X86_64, nr, none), SECCOMP_RET_ERRNO | EPERM) << name;
    }
    EXPECT_EQ(evaluate(compile(profiles(name, 0).front(), allowed), AUDIT_ARCH_X86_64, nr, none), SECCOMP_RET_ALLOW);
  }
  // In the kernel: the ring cannot be made.
  io_uring_params params{};
  auto o = run_under(compile(profiles("io_uring_setup", 0).front()), SYS_io_uring_setup,
                     {4, reinterpret_cast<std::uint64_t>(&params)});
  EXPECT_EQ(o.ret, -1);
  EXPECT_EQ(o.err, EPERM);
}

TEST_F(MandatoryDenials, HoldInComplainMode) {
  CompileOptions complain;
  complain.complain = true;
  Policy p;
  p.default_action = Action::errno_ret(EPERM);
  auto o = run_under(compile(p, complain), SYS_chmod, {path(), 04755});
  EXPECT_EQ(o.err, EPERM);
  EXPECT_EQ(run_under(compile(p, complain), SYS_chmod, {path(), 0700}).ret, 0);
}

// An ABI the profile does not list never runs a syscall, even when the default is allow.
TEST(BadArch, ForeignAbiIsKilledEvenUnderADefaultAllowProfile) {
  Policy p;
  p.default_action = Action::allow();
  p.architectures = {native_arch()};
  constexpr long x32_bit = 0x40000000;
  auto o = run_under(compile(p), x32_bit | SYS_getpid, {});
  EXPECT_EQ(o.signal, SIGSYS) << "x32 getpid returned " << o.ret << " errno " << o.err;
  EXPECT_EQ(bad_arch_action(), Action::kill_process());
}

// Kill-process, not kill-thread: a victim with two threads, where the second makes the foreign call
// and the first waits for it and then exits 0. Only the whole process dying shows the action.
TEST(BadArch, ForeignAbiKillsTheWholeProcessNotOnlyTheThread) {
  Policy p;
  p.default_action = Action::allow();
  p.architectures = {native_arch()};
  auto prog = compile(p);
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    if (install_filter(prog) != 0) ::_exit(99);
    pthread_t thread{};
    auto call = [](void*) -> void* {
      ::syscall(0x40000000 | SYS_getpid);
      return nullptr;
    };
    if (::pthread_create(&thread, nullptr, call, nullptr) != 0) ::_exit(98);
    ::pthread_join(thread, nullptr);
    ::syscall(SYS_exit_group, 0); // reached only when the kill spared this thread
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFSIGNALED(status)) << "the process went on after its thread's foreign call: exit "
                                   << WEXITSTATUS(status);
  EXPECT_EQ(WTERMSIG(status), SIGSYS);
}

TEST(BadArch, ListedAbiFollowsTheProfile) {
  Policy p;
  p.default_action = Action::allow();
  p.architectures = {native_arch()};
  for (Arch a : compat_arches(native_arch())) p.architectures.push_back(a);
  auto o = run_under(compile(p), 0x40000000 | SYS_getpid, {});
  EXPECT_EQ(o.signal, 0) << "a listed ABI was killed";
}

TEST(BadArch, ComplainModeLogsForeignAbis) {
  Policy p;
  p.default_action = Action::errno_ret(EPERM);
  p.architectures = {native_arch()};
  CompileOptions complain;
  complain.complain = true;
  EXPECT_EQ(run_under(compile(p, complain), 0x40000000 | SYS_getpid, {}).signal, 0);
}

TEST(Compile, NotifyWithoutAListenerIsRefused) {
  Policy p;
  p.default_action = Action::allow();
  p.rules.push_back({{"getppid"}, Action{ActionKind::notify, 0}, {}, ""});
  try {
    compile(p);
    FAIL() << "compiled SCMP_ACT_NOTIFY for enforcement";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::invalid_input);
    EXPECT_NE(std::string(e.what()).find("syscalls[0].action is SCMP_ACT_NOTIFY"), std::string::npos) << e.what();
  }
  Policy d;
  d.default_action = Action{ActionKind::notify, 0};
  EXPECT_THROW(compile(d), Error);
  CompileOptions checking;
  checking.enforcement = false;
  EXPECT_NO_THROW(compile(p, checking));
}
