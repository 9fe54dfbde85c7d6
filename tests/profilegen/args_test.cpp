// Argument-conditioned generation: what gen writes for each argument-sensitive syscall, decided by
// running the compiled filter against the values (seccomp needs no privileges once no_new_privs is
// set), plus the symbolic names people read and the notes gen gives.
#include "nucleus/profile/args.hpp"
#include "nucleus/profile/check.hpp"

#include "nucleus/profile/edit.hpp"
#include "nucleus/profile/effective.hpp"
#include "nucleus/core/error.hpp"
#include "nucleus/profile/generate.hpp"
#include "nucleus/profile/oci.hpp"
#include "nucleus/sandbox/filter.hpp"
#include "nucleus/core/syscalls.hpp"
#include "test_support.hpp"

#include <gtest/gtest.h>
#include <linux/sched.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

using namespace nucleus;

namespace {

// The profile's own errno, so that a denial is told apart from the kernel's answers.
constexpr std::uint32_t denied_errno = EL2HLT;

struct Call {
  const char* name;
  std::vector<core::TraceArgValues> args;
};

core::Trace trace_with(std::vector<Call> calls, bool arguments = true) {
  core::Trace t;
  t.header.source = arguments ? "ebpf" : "audit-netlink";
  t.header.arguments = arguments;
  auto native = core::native_arch();
  // What the child of run_under needs besides the call under test.
  for (const char* base : {"write"})
    t.syscalls.push_back({native, *core::syscall_number(native, base), base, 1, "/app"});
  for (auto& c : calls) {
    auto nr = core::syscall_number(native, c.name);
    EXPECT_TRUE(nr) << c.name;
    t.syscalls.push_back({native, *nr, c.name, 1, "/app", std::move(c.args)});
  }
  t.summary = core::TraceSummary{};
  return t;
}

profile::GenerateResult gen(const std::vector<core::Trace>& traces, profile::GenerateOptions options = {}) {
  options.default_action = core::Action::errno_ret(denied_errno);
  return profile::generate(traces, options, {"a.trace", "b.trace", "c.trace"});
}

// Installs `program` in a child, makes the syscall, and reports what happened (the filters here
// deny with an errno: a child killed by a signal is a failure).
test::FilteredCall run_under(const sandbox::BpfProgram& program, long nr, std::initializer_list<std::uint64_t> args) {
  auto o = test::call_under_filter(program, nr, args);
  EXPECT_EQ(o.signal, 0) << "the child was killed";
  return o;
}

bool denied(const sandbox::BpfProgram& p, long nr, std::initializer_list<std::uint64_t> args) {
  auto o = run_under(p, nr, args);
  return o.ret == -1 && o.err == static_cast<int>(denied_errno);
}

std::vector<const core::Rule*> entries(const core::Policy& p, const char* name) { return profile::rules_for(p, name); }

bool in_group(const core::Policy& p, const char* name) {
  const auto& g = p.rules.front();
  return std::find(g.names.begin(), g.names.end(), name) != g.names.end();
}

constexpr std::uint64_t garbage = 0xdead000000000000ULL;

} // namespace

TEST(ArgNames, SymbolsFromTheSystemHeaders) {
  using profile::ArgKind;
  EXPECT_EQ(profile::value_name(ArgKind::domain, AF_UNIX), "AF_UNIX");
  EXPECT_EQ(profile::value_name(ArgKind::domain, AF_INET6), "AF_INET6");
  EXPECT_EQ(profile::value_name(ArgKind::domain, 4242), "0x1092");
  EXPECT_EQ(profile::value_name(ArgKind::socket_type, SOCK_STREAM | SOCK_CLOEXEC), "SOCK_STREAM|SOCK_CLOEXEC");
  EXPECT_EQ(profile::value_name(ArgKind::clone_flags, CLONE_VM | CLONE_NEWUSER | SIGCHLD),
            "CLONE_VM|CLONE_NEWUSER|SIGCHLD");
  EXPECT_EQ(profile::value_name(ArgKind::unshare_flags, CLONE_NEWUSER | CLONE_NEWNS), "CLONE_NEWNS|CLONE_NEWUSER");
  EXPECT_EQ(profile::value_name(ArgKind::ioctl_request, TCGETS), "TCGETS");
  EXPECT_EQ(profile::value_name(ArgKind::ioctl_request, TIOCSTI), "TIOCSTI");
  EXPECT_EQ(profile::value_name(ArgKind::prctl_option, PR_SET_NAME), "PR_SET_NAME");
  EXPECT_EQ(profile::value_name(ArgKind::personality, READ_IMPLIES_EXEC), "PER_LINUX|READ_IMPLIES_EXEC");
  EXPECT_EQ(profile::value_name(ArgKind::personality, 0xffffffff), "0xffffffff (query)");
  EXPECT_EQ(profile::value_name(ArgKind::prot, PROT_READ | PROT_EXEC), "PROT_READ|PROT_EXEC");
  EXPECT_EQ(profile::value_name(ArgKind::prot, PROT_NONE), "PROT_NONE");

  EXPECT_EQ(profile::parse_value(ArgKind::domain, "AF_INET6"), AF_INET6);
  EXPECT_EQ(profile::parse_value(ArgKind::domain, "10"), 10u);
  EXPECT_EQ(profile::parse_value(ArgKind::ioctl_request, "0x5401"), 0x5401u);
  EXPECT_EQ(profile::parse_value(ArgKind::unshare_flags, "CLONE_NEWUSER|CLONE_NEWNET"), CLONE_NEWUSER | CLONE_NEWNET);
  EXPECT_FALSE(profile::parse_value(ArgKind::domain, "AF_NOPE"));
  EXPECT_FALSE(profile::parse_value(ArgKind::domain, "SOCK_STREAM"));
  EXPECT_EQ(profile::arg_for_symbol("socket", "SOCK_DGRAM")->index, 1u);
  EXPECT_EQ(profile::arg_for_symbol("socket", "AF_INET")->index, 0u);
  EXPECT_FALSE(profile::arg_for_symbol("read", "AF_INET"));
}

TEST(GenArgs, SocketOnlyForTheObservedDomainsAndTypes) {
  auto t = trace_with({{"socket", {{0, {AF_UNIX, AF_INET}}, {1, {SOCK_STREAM | SOCK_CLOEXEC}}}}});
  auto r = gen({t});
  EXPECT_FALSE(in_group(r.policy, "socket"));
  EXPECT_EQ(entries(r.policy, "socket").size(), 2u);
  EXPECT_EQ(profile::describe_allowed(r.policy, "socket"), "AF_UNIX, AF_INET only; type SOCK_STREAM only");
  auto p = sandbox::compile(r.policy);
  EXPECT_FALSE(denied(p, SYS_socket, {AF_UNIX, SOCK_STREAM, 0}));
  EXPECT_FALSE(denied(p, SYS_socket, {AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0}));
  EXPECT_TRUE(denied(p, SYS_socket, {AF_INET6, SOCK_STREAM, 0}));
  EXPECT_TRUE(denied(p, SYS_socket, {AF_NETLINK, SOCK_STREAM, 0}));
  EXPECT_TRUE(denied(p, SYS_socket, {AF_UNIX, SOCK_DGRAM, 0}));
  // Upper bits on an int argument: the filter compares all 64 and denies.
  EXPECT_TRUE(denied(p, SYS_socket, {garbage | AF_INET6, SOCK_STREAM, 0}));
}

TEST(GenArgs, ValuesOfSeveralRunsAreUnioned) {
  auto a = trace_with({{"socket", {{0, {AF_UNIX}}, {1, {SOCK_STREAM}}}}, {"ioctl", {{1, {TCGETS}}}}});
  auto b = trace_with({{"socket", {{0, {AF_INET6}}, {1, {SOCK_DGRAM}}}}, {"ioctl", {{1, {FIONBIO}}}}});
  auto r = gen({a, b});
  EXPECT_EQ(profile::describe_allowed(r.policy, "socket"), "AF_UNIX, AF_INET6 only; type SOCK_STREAM, SOCK_DGRAM only");
  EXPECT_EQ(profile::describe_allowed(r.policy, "ioctl"), "TCGETS, FIONBIO only");
  auto p = sandbox::compile(r.policy);
  EXPECT_FALSE(denied(p, SYS_socket, {AF_INET6, SOCK_STREAM, 0}));
  EXPECT_FALSE(denied(p, SYS_socket, {AF_UNIX, SOCK_DGRAM, 0}));
  EXPECT_TRUE(denied(p, SYS_socket, {AF_INET, SOCK_DGRAM, 0}));
  EXPECT_TRUE(r.notes.empty()) << r.notes.front();
}

TEST(GenArgs, IoctlRequestComparesTheLow32BitsOnly) {
  auto r = gen({trace_with({{"ioctl", {{1, {TCGETS, 0xc0045401}}}}})});
  auto p = sandbox::compile(r.policy);
  // fd -1: an allowed call reaches the kernel and fails with EBADF; a denied one gets the profile's errno.
  for (std::uint64_t upper : {std::uint64_t{0}, garbage, std::uint64_t{0xffffffff00000000ULL}}) {
    EXPECT_EQ(run_under(p, SYS_ioctl, {static_cast<std::uint64_t>(-1), upper | TCGETS, 0}).err, EBADF) << upper;
    EXPECT_EQ(run_under(p, SYS_ioctl, {static_cast<std::uint64_t>(-1), upper | 0xc0045401, 0}).err, EBADF) << upper;
    // FIONREAD was not seen (TIOCSTI would be refused by the mandatory guard before the profile).
    EXPECT_TRUE(denied(p, SYS_ioctl, {static_cast<std::uint64_t>(-1), upper | FIONREAD, 0})) << upper;
  }
  EXPECT_EQ(profile::describe_allowed(r.policy, "ioctl"), "TCGETS, 0xc0045401 only");
}

TEST(GenArgs, CloneDeniesNamespaceFlagsThatWereNotSeen) {
  auto thread_flags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM;
  auto r = gen({trace_with({{"clone", {{0, {static_cast<std::uint64_t>(thread_flags), CLONE_NEWNET | SIGCHLD}}}}})});
  auto p = sandbox::compile(r.policy);
  // Flags the kernel refuses (CLONE_SIGHAND without CLONE_VM, CLONE_NEWUSER with CLONE_FS) make
  // an allowed call fail with EINVAL instead of creating a process.
  EXPECT_EQ(run_under(p, SYS_clone, {CLONE_SIGHAND, 0, 0, 0, 0}).err, EINVAL);
  EXPECT_EQ(run_under(p, SYS_clone, {CLONE_SIGHAND | CLONE_NEWNET, 0, 0, 0, 0}).err, EINVAL);
  EXPECT_TRUE(denied(p, SYS_clone, {CLONE_NEWUSER | CLONE_FS, 0, 0, 0, 0}));
  EXPECT_TRUE(denied(p, SYS_clone, {CLONE_SIGHAND | CLONE_NEWNS, 0, 0, 0, 0}));
  EXPECT_TRUE(denied(p, SYS_clone, {CLONE_SIGHAND | CLONE_PARENT, 0, 0, 0, 0}));
  auto text = profile::describe_allowed(r.policy, "clone");
  EXPECT_NE(text.find("without"), std::string::npos) << text;
  EXPECT_NE(text.find("CLONE_NEWUSER"), std::string::npos) << text;
  EXPECT_EQ(text.find("CLONE_NEWNET"), std::string::npos) << text;
  // clone3 returns ENOSYS, so that the C library falls back to clone.
  EXPECT_EQ(run_under(p, SYS_clone3, {0, 0}).err, ENOSYS);
}

TEST(GenArgs, Clone3IsEnosysUnlessAskedAndTheFallbackWorks) {
  auto r = gen({trace_with({{"clone3", {}}})});
  ASSERT_EQ(r.notes.size(), 1u);
  EXPECT_NE(r.notes.front().find("ENOSYS"), std::string::npos) << r.notes.front();
  EXPECT_FALSE(in_group(r.policy, "clone3"));
  auto p = sandbox::compile(r.policy);
  EXPECT_EQ(run_under(p, SYS_clone3, {0, 0}).err, ENOSYS);
  EXPECT_EQ(run_under(p, SYS_clone, {CLONE_SIGHAND, 0, 0, 0, 0}).err, EINVAL); // the fallback is allowed
  EXPECT_TRUE(denied(p, SYS_clone, {CLONE_SIGHAND | CLONE_NEWUSER, 0, 0, 0, 0}));

  profile::GenerateOptions allow;
  allow.allow_clone3 = true;
  auto named = gen({trace_with({{"clone3", {}}})}, allow);
  EXPECT_TRUE(in_group(named.policy, "clone3"));
  EXPECT_EQ(entries(named.policy, "clone").size(), 0u);
}

// The clone3 fallback is a mark on the entry that every consumer (nucleus-run's denial report, the
// exporters, check, the gVisor bundle) asks for: it must hold on what gen writes, survive the
// JSON round trip that every later command reads the profile through, and stay off a clone3
// entry that its author gave another errno (the C library does not fall back then).
TEST(GenArgs, Clone3FallbackIsMarkedOnGeneratedAndReadBackProfilesOnly) {
  auto r = gen({trace_with({{"clone3", {}}})});
  auto generated = entries(r.policy, "clone3");
  ASSERT_EQ(generated.size(), 1u);
  EXPECT_TRUE(core::is_clone3_fallback(*generated.front()));
  EXPECT_TRUE(core::falls_back_from_clone3(r.policy));

  auto read_back = profile::parse_profile(profile::to_oci_json(r.policy), "gen.json").policy;
  auto entry = entries(read_back, "clone3");
  ASSERT_EQ(entry.size(), 1u);
  EXPECT_TRUE(core::is_clone3_fallback(*entry.front()));
  EXPECT_TRUE(core::falls_back_from_clone3(read_back));

  auto own = profile::parse_profile(
                 R"({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
                      {"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1},
                      {"names": ["clone"], "action": "SCMP_ACT_ALLOW"}]})",
                 "own.json")
                 .policy;
  ASSERT_EQ(entries(own, "clone3").size(), 1u);
  EXPECT_FALSE(core::is_clone3_fallback(*entries(own, "clone3").front()));
  EXPECT_FALSE(core::falls_back_from_clone3(own));
  // check says what that errno does to threads; it has nothing to say about the fallback itself.
  auto finding = [](const core::Policy& p) {
    auto found = profile::check_profile(p).findings;
    return std::count_if(found.begin(), found.end(),
                         [](const profile::Finding& f) { return f.id == "clone3-without-fallback"; });
  };
  EXPECT_EQ(finding(own), 1);
  EXPECT_EQ(finding(read_back), 0);
}

TEST(GenArgs, UnsharePrctlPersonalityOnlyTheObservedValues) {
  auto r = gen({trace_with({{"unshare", {{0, {CLONE_NEWNS}}}},
                            {"prctl", {{0, {PR_GET_DUMPABLE, PR_SET_NAME}}}},
                            {"personality", {{0, {0xffffffff}}}}})});
  auto p = sandbox::compile(r.policy);
  EXPECT_TRUE(denied(p, SYS_unshare, {CLONE_NEWUSER}));
  EXPECT_TRUE(denied(p, SYS_unshare, {CLONE_NEWNS | CLONE_NEWUSER}));
  EXPECT_FALSE(denied(p, SYS_prctl, {PR_GET_DUMPABLE}));
  EXPECT_TRUE(denied(p, SYS_prctl, {PR_SET_DUMPABLE, 1}));
  EXPECT_TRUE(denied(p, SYS_prctl, {PR_SET_SECCOMP, 0}));
  EXPECT_FALSE(denied(p, SYS_personality, {0xffffffff}));
  EXPECT_TRUE(denied(p, SYS_personality, {READ_IMPLIES_EXEC}));
  EXPECT_EQ(profile::describe_allowed(r.policy, "unshare"), "CLONE_NEWNS only");
  EXPECT_EQ(profile::describe_allowed(r.policy, "prctl"), "PR_GET_DUMPABLE, PR_SET_NAME only");
  EXPECT_EQ(profile::describe_allowed(r.policy, "personality"), "0xffffffff (query) only");
}

TEST(GenArgs, ExecutableMemoryOnlyAsObserved) {
  // A dynamically linked program maps code read+exec; it never asked for write+exec.
  auto r = gen({trace_with({{"mmap", {{2, {PROT_READ | PROT_WRITE, PROT_READ | PROT_EXEC}}}},
                            {"mprotect", {{2, {PROT_READ}}}},
                            {"pkey_mprotect", {{2, {PROT_READ | PROT_WRITE | PROT_EXEC}}}}})});
  auto p = sandbox::compile(r.policy);
  // Unaligned address or zero length: an allowed call fails with EINVAL in the kernel.
  auto einval = [&](long nr, std::uint64_t prot) {
    auto o = nr == SYS_mmap
                 ? run_under(p, nr, {0, 0, prot, MAP_PRIVATE | MAP_ANONYMOUS, static_cast<std::uint64_t>(-1), 0})
                 : run_under(p, nr, {1, 4096, prot, 0});
    return o.err == EINVAL;
  };
  EXPECT_TRUE(einval(SYS_mmap, PROT_READ | PROT_WRITE));
  EXPECT_TRUE(einval(SYS_mmap, PROT_READ | PROT_EXEC));
  EXPECT_TRUE(denied(
      p, SYS_mmap,
      {0, 0, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, static_cast<std::uint64_t>(-1), 0}));
  EXPECT_TRUE(einval(SYS_mprotect, PROT_READ | PROT_WRITE));
  EXPECT_TRUE(denied(p, SYS_mprotect, {1, 4096, PROT_READ | PROT_EXEC}));
  EXPECT_TRUE(denied(p, SYS_mprotect, {1, 4096, PROT_WRITE | PROT_EXEC}));
  // Write and exec together were seen for pkey_mprotect: every combination stays allowed.
  EXPECT_TRUE(in_group(r.policy, "pkey_mprotect"));
  EXPECT_TRUE(entries(r.policy, "pkey_mprotect").size() == 1u);
  EXPECT_EQ(profile::describe_allowed(r.policy, "mmap"), "PROT_EXEC only without PROT_WRITE");
  EXPECT_EQ(profile::describe_allowed(r.policy, "mprotect"), "no PROT_EXEC");
}

TEST(GenArgs, OverflowLeavesThatArgumentFreeAndSaysSoOnce) {
  core::TraceArgValues many{0, {AF_UNIX, AF_INET}, true};
  auto a = trace_with({{"socket", {many, {1, {SOCK_STREAM}}}}, {"socketpair", {many, {1, {SOCK_STREAM}}}}});
  auto b = trace_with({{"socket", {many, {1, {SOCK_DGRAM}}}}});
  auto r = gen({a, b});
  auto p = sandbox::compile(r.policy);
  EXPECT_FALSE(denied(p, SYS_socket, {AF_INET6, SOCK_STREAM, 0})); // the domain is free
  EXPECT_TRUE(denied(p, SYS_socket, {AF_INET6, SOCK_RAW, 0}));     // the type is not
  EXPECT_EQ(profile::describe_allowed(r.policy, "socket"), "domain any; type SOCK_STREAM, SOCK_DGRAM only");
  std::size_t socket_notes = 0;
  for (const auto& n : r.notes) socket_notes += n.starts_with("socket arg0 (domain): more distinct values") ? 1 : 0;
  EXPECT_EQ(socket_notes, 1u);
  // Every argument overflowed: allowed by name.
  core::TraceArgValues many_types{1, {SOCK_STREAM}, true};
  auto free = gen({trace_with({{"socket", {many, many_types}}})});
  EXPECT_TRUE(in_group(free.policy, "socket"));
  EXPECT_TRUE(entries(free.policy, "socket").size() == 1u);
}

TEST(GenArgs, NamesOnlyWithoutArgumentDataSaidOncePerTrace) {
  auto no_values = trace_with({{"socket", {}}, {"ioctl", {}}, {"mmap", {}}}, false);
  auto r = gen({no_values});
  ASSERT_EQ(r.notes.size(), 1u);
  EXPECT_EQ(r.notes.front(), "a.trace: no argument values (source audit-netlink records names only): rules are "
                             "name-only, including ioctl mmap socket");
  for (const char* n : {"socket", "ioctl", "mmap"}) EXPECT_TRUE(in_group(r.policy, n)) << n;
  EXPECT_EQ(entries(r.policy, "clone3").size(), 0u);
  // A name one run saw without values cannot be conditioned by another run's values.
  auto with_values = trace_with({{"socket", {{0, {AF_UNIX}}, {1, {SOCK_STREAM}}}}, {"prctl", {{0, {PR_SET_NAME}}}}});
  auto mixed = gen({with_values, no_values});
  EXPECT_TRUE(in_group(mixed.policy, "socket"));
  EXPECT_FALSE(in_group(mixed.policy, "prctl"));
  EXPECT_EQ(profile::describe_allowed(mixed.policy, "prctl"), "PR_SET_NAME only");
}

TEST(GenArgs, NoArgsAsksForNamesOnly) {
  profile::GenerateOptions names_only;
  names_only.arguments = false;
  auto r = gen({trace_with({{"socket", {{0, {AF_UNIX}}, {1, {SOCK_STREAM}}}}, {"clone3", {}}})}, names_only);
  EXPECT_TRUE(r.notes.empty());
  for (const auto& rule : r.policy.rules) EXPECT_TRUE(rule.args.empty());
  EXPECT_TRUE(in_group(r.policy, "socket"));
  EXPECT_TRUE(in_group(r.policy, "clone3"));
}

TEST(EditArgs, AddAndRemoveOneValue) {
  auto r = gen({trace_with({{"socket", {{0, {AF_UNIX}}, {1, {SOCK_STREAM}}}}, {"clone", {{0, {SIGCHLD}}}}})});
  auto p = profile::add_syscalls(r.policy, {"socket:AF_INET6", "clone:CLONE_NEWUSER"});
  EXPECT_EQ(profile::describe_allowed(p, "socket"), "AF_UNIX, AF_INET6 only; type SOCK_STREAM only");
  auto prog = sandbox::compile(p);
  EXPECT_FALSE(denied(prog, SYS_socket, {AF_INET6, SOCK_STREAM, 0}));
  EXPECT_TRUE(denied(prog, SYS_socket, {AF_INET6, SOCK_DGRAM, 0})); // the type condition stays
  EXPECT_TRUE(denied(prog, SYS_socket, {AF_INET, SOCK_STREAM, 0}));
  EXPECT_EQ(run_under(prog, SYS_clone, {CLONE_SIGHAND | CLONE_NEWUSER, 0, 0, 0, 0}).err, EINVAL);
  EXPECT_TRUE(denied(prog, SYS_clone, {CLONE_SIGHAND | CLONE_NEWNET, 0, 0, 0, 0}));

  auto less = profile::remove_syscalls(p, {"socket:AF_UNIX", "clone:CLONE_NEWUSER"});
  EXPECT_EQ(profile::describe_allowed(less, "socket"), "AF_INET6 only; type SOCK_STREAM only");
  prog = sandbox::compile(less);
  EXPECT_TRUE(denied(prog, SYS_socket, {AF_UNIX, SOCK_STREAM, 0}));
  EXPECT_FALSE(denied(prog, SYS_socket, {AF_INET6, SOCK_STREAM, 0}));
  EXPECT_TRUE(denied(prog, SYS_clone, {CLONE_SIGHAND | CLONE_NEWUSER, 0, 0, 0, 0}));

  // What cannot be done is an error naming it.
  auto named = gen({trace_with({{"socket", {}}}, false)}).policy;
  auto error_of = [](auto f) {
    try {
      f();
    } catch (const core::Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_NE(error_of([&] { profile::remove_syscalls(named, {"socket:AF_INET"}); }).find("whatever its arguments"),
            std::string::npos);
  EXPECT_NE(error_of([&] { profile::add_syscalls(named, {"read:1"}); }).find("conditions the arguments of"),
            std::string::npos);
  EXPECT_NE(error_of([&] { profile::add_syscalls(named, {"socket:AF_NOPE"}); }).find("unknown value for socket"),
            std::string::npos);
  // A plain name on a conditioned syscall allows it whatever its arguments, as before.
  EXPECT_EQ(profile::access_of(profile::add_syscalls(r.policy, {"socket"}), "socket"), profile::Access::allowed);
}
