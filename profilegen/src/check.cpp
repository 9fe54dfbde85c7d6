// Lint rules for profiles: the risky-syscall table, the default action, the architecture list and
// the comparison with Docker's default.
#include "nucleus/profile/check.hpp"

#include "nucleus/profile/args.hpp"

#include "nucleus/core/syscalls.hpp"
#include "nucleus/core/text.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <limits>
#include <set>
#include <sstream>

namespace nucleus::profile {
namespace {

using S = Severity;

// Reasons name the attack; fixes say what to do instead. Ordered by family.
constexpr RiskySyscall risky_table[] = {
    {"ptrace", S::high,
     "reads and writes the memory and registers of other processes of the same user, which also defeats seccomp in "
     "them",
     "remove it; debuggers and tracers need their own profile"},
    {"process_vm_writev", S::high, "writes into another process's memory without ptrace attach", "remove it"},
    {"process_vm_readv", S::medium, "reads another process's memory (secrets, keys)", "remove it"},
    {"bpf", S::high, "loads eBPF programs; the verifier has a long record of kernel privilege escalations",
     "remove it; programs that need eBPF should not run in this sandbox"},
    {"perf_event_open", S::high, "kernel profiling interface with a history of privilege escalations and side channels",
     "remove it"},
    {"userfaultfd", S::medium,
     "lets a process stall kernel accesses to its memory at will, the standard way to win kernel race conditions",
     "remove it, or set vm.unprivileged_userfaultfd=0"},
    {"io_uring_setup", S::critical,
     "seccomp bypass: io_uring's operations (openat, read, write, connect, ...) run in the kernel without passing the "
     "seccomp filter, so the program can do what the profile denies; also a frequent source of kernel exploits",
     "remove io_uring_setup, io_uring_enter and io_uring_register"},
    {"io_uring_enter", S::critical, "seccomp bypass: submits io_uring operations, which never pass the seccomp filter",
     "remove it with io_uring_setup and io_uring_register"},
    {"io_uring_register", S::critical,
     "seccomp bypass: configures io_uring, whose operations never pass the seccomp filter",
     "remove it with io_uring_setup and io_uring_enter"},
    {"keyctl", S::medium,
     "the kernel keyring is not namespaced: keys of other containers of the same user are reachable",
     "remove it (Docker's default denies it)"},
    {"add_key", S::medium, "adds keys to the kernel keyring, which is not namespaced", "remove it"},
    {"request_key", S::medium, "requests keys from the kernel keyring, which is not namespaced, and can run upcalls",
     "remove it"},
    {"mount", S::high,
     "changes the mount table: with CAP_SYS_ADMIN in a user namespace it can hide or expose file systems", "remove it"},
    {"umount2", S::high, "unmounts file systems, which can reveal what a mount was hiding", "remove it"},
    {"umount", S::high, "unmounts file systems, which can reveal what a mount was hiding", "remove it"},
    {"pivot_root", S::high, "changes the root file system", "remove it"},
    {"chroot", S::medium, "changes the root directory; with a second chroot a process can escape the first",
     "remove it"},
    {"move_mount", S::high, "new mount API: moves mounts", "remove it"},
    {"fsopen", S::high, "new mount API: creates a file system context", "remove it"},
    {"fsconfig", S::high, "new mount API: configures a file system context", "remove it"},
    {"fsmount", S::high, "new mount API: creates a mount", "remove it"},
    {"fspick", S::high, "new mount API: reconfigures an existing mount", "remove it"},
    {"open_tree", S::high, "new mount API: clones mount trees", "remove it"},
    {"mount_setattr", S::high, "changes mount attributes (read-only, nosuid, idmapping)", "remove it"},
    {"unshare", S::high,
     "creates namespaces; an unprivileged user namespace exposes kernel code that normally needs root",
     "remove it, or allow only the flags the program uses (a condition on arg0; gen writes it from a trace with "
     "argument values)",
     0},
    {"setns", S::high, "joins other namespaces, such as the host's through an inherited descriptor", "remove it"},
    {"clone", S::high, "with CLONE_NEW* flags it creates namespaces, like unshare",
     "allow it only when (arg0 & 0x7e020000) == 0 (no namespace flags), as Docker's default does", 0},
    {"clone3", S::medium, "its flags live in memory, so no argument condition can keep CLONE_NEW* out",
     "deny it with errno ENOSYS: the C library then falls back to clone, whose flags can be checked"},
    {"personality", S::medium, "READ_IMPLIES_EXEC and ADDR_NO_RANDOMIZE weaken memory protections for exploits",
     "allow it only for arg0 == 0x0, 0x8 or 0xffffffff, as Docker's default does", 0},
    {"kexec_load", S::critical, "replaces the running kernel", "remove it"},
    {"kexec_file_load", S::critical, "replaces the running kernel", "remove it"},
    {"init_module", S::critical, "loads code into the kernel", "remove it"},
    {"finit_module", S::critical, "loads code into the kernel", "remove it"},
    {"delete_module", S::high, "unloads kernel modules, including security ones", "remove it"},
    {"iopl", S::critical, "raw access to I/O ports: full control of the hardware", "remove it"},
    {"ioperm", S::critical, "raw access to I/O ports: full control of the hardware", "remove it"},
    {"open_by_handle_at", S::critical,
     "opens files by handle, bypassing the mount namespace: the known container escape that reads the host's files",
     "remove it"},
    {"name_to_handle_at", S::medium, "produces file handles for open_by_handle_at, and leaks inode details",
     "remove it"},
    {"swapon", S::high, "enables swap devices: system-wide effect", "remove it"},
    {"swapoff", S::high, "disables swap devices: system-wide effect", "remove it"},
    {"reboot", S::critical, "reboots or halts the machine (or a PID namespace)", "remove it"},
    {"acct", S::medium, "switches process accounting, a system-wide setting that can fill disks", "remove it"},
    {"settimeofday", S::medium, "changes the system clock, which breaks certificate and log timestamps", "remove it"},
    {"clock_settime", S::medium, "changes the system clock, which breaks certificate and log timestamps", "remove it"},
    {"socket", S::low, "any address family: netlink, packet and other rarely used families expose much kernel code",
     "allow it only for the families the program uses (a condition on arg0, e.g. AF_UNIX, AF_INET, AF_INET6)", 0},
    {"ioctl", S::low, "any request: terminal injection (TIOCSTI), device and driver interfaces",
     "allow it only for the requests the program uses (a condition on arg1)", 1},
};

constexpr std::array<std::string_view, 5> severity_names{"info", "low", "medium", "high", "critical"};

bool has_arch(const std::vector<core::Arch>& arches, core::Arch a) {
  return std::find(arches.begin(), arches.end(), a) != arches.end();
}

std::vector<std::string> arch_names(const std::vector<core::Arch>& arches) {
  std::vector<std::string> out;
  for (auto a : arches) out.emplace_back(core::arch_name(a));
  return out;
}

// The argument that carries the guarded value on `arch` (s390 swaps clone's first two).
int guard_index(const RiskySyscall& risky, core::Arch arch) {
  if (risky.name == "clone" && (core::arch_name(arch) == "s390x" || core::arch_name(arch) == "s390")) return 1;
  return risky.guard_arg;
}

// Whether condition `c` admits some value with `bit` set. A rule's conditions must all hold, so
// asking each alone over-approximates what the rule lets through: on the side of reporting.
bool admits_bit(const core::ArgCondition& c, std::uint64_t bit) {
  switch (c.op) {
  case core::CmpOp::eq: return (c.value & bit) != 0;
  case core::CmpOp::masked_eq: return (c.value & bit) == 0 || (c.value_two & bit) != 0;
  case core::CmpOp::lt: return c.value > bit;
  case core::CmpOp::le: return c.value >= bit;
  case core::CmpOp::gt: return c.value != std::numeric_limits<std::uint64_t>::max();
  case core::CmpOp::ne:
  case core::CmpOp::ge: return true;
  }
  return true;
}

void check_risky(const core::Policy& policy, std::vector<Finding>& out) {
  auto arches = policy.effective_arches();
  for (const auto& risky : risky_table) {
    std::vector<core::Arch> present;
    for (auto a : arches)
      if (core::syscall_number(a, risky.name)) present.push_back(a);
    if (present.empty()) continue;
    auto rules = rules_for(policy, risky.name);
    Access access = access_of(policy, risky.name);
    if (access == Access::denied) continue;
    Finding f;
    f.id = "risky-syscall";
    f.subject = std::string(risky.name);
    f.arches = arch_names(present);
    f.reason = std::string(risky.reason);
    f.fix = std::string(risky.fix);
    if (access == Access::allowed) {
      f.severity = risky.severity;
      f.message = std::string(risky.name) + " is allowed without argument conditions";
      out.push_back(std::move(f));
      continue;
    }
    // Conditional: acceptable when every permitting entry constrains the guarded argument.
    bool guarded = risky.guard_arg >= 0;
    for (const auto* r : rules) {
      if (!permits(r->action)) continue;
      bool on_guard = false;
      for (auto a : present) {
        int idx = guard_index(risky, a);
        on_guard = std::any_of(r->args.begin(), r->args.end(),
                               [&](const core::ArgCondition& c) { return static_cast<int>(c.index) == idx; });
        if (!on_guard) break;
      }
      if (!on_guard) guarded = false;
    }
    // A condition on clone's or unshare's flags settles nothing if it lets a user namespace through
    // (any value with CLONE_NEWUSER, alone or with other flags): then the dangerous value itself is
    // allowed, and the finding keeps the severity of the name.
    bool allows_the_risk = false;
    if (guarded && (risky.name == "clone" || risky.name == "unshare")) {
      constexpr std::uint64_t new_user_namespace = 0x10000000; // CLONE_NEWUSER
      for (const auto* r : rules) {
        if (!permits(r->action)) continue;
        bool lets_through = std::all_of(r->args.begin(), r->args.end(), [&](const core::ArgCondition& c) {
          return static_cast<int>(c.index) != risky.guard_arg || admits_bit(c, new_user_namespace);
        });
        if (!lets_through) continue;
        guarded = false;
        allows_the_risk = true;
      }
    }
    std::string allowed = describe_allowed(policy, risky.name);
    if (allowed.empty()) allowed = "under argument conditions";
    f.severity = allows_the_risk ? risky.severity : Severity::info;
    if (guarded) {
      // The condition is on the argument that carries the risk: what is left is what the program uses.
      f.id = "conditioned-syscall";
      f.message = std::string(risky.name) + " is allowed only under argument conditions: " + allowed +
                  " (severity lowered from " + std::string(severity_name(risky.severity)) + ")";
      f.reason = "the condition keeps out the rest: " + std::string(risky.reason);
      f.fix.clear();
    } else if (allows_the_risk) {
      f.message = std::string(risky.name) + " is allowed under argument conditions that let CLONE_NEWUSER through (" +
                  allowed + "): a new user namespace is allowed";
    } else {
      f.message = std::string(risky.name) + " is allowed under argument conditions that do not settle its risk (" +
                  allowed + "); review them";
    }
    out.push_back(std::move(f));
  }
}

// A C library that tries clone3 first (glibc 2.34 and later, for every thread) falls back to clone
// on ENOSYS only: any other errno for clone3 while clone runs makes threads fail to start. Not a
// risk, so info: the profile denies more than it means to.
void check_clone3_fallback(const core::Policy& policy, std::vector<Finding>& out) {
  if (core::falls_back_from_clone3(policy) || access_of(policy, "clone") == Access::denied) return;
  auto action = core::action_for(policy, core::clone3_name);
  if (!action || action->kind != core::ActionKind::errno_ret || *action == core::clone3_fallback_rule().action) return;
  std::vector<core::Arch> present;
  for (auto a : policy.effective_arches())
    if (core::syscall_number(a, core::clone3_name)) present.push_back(a);
  if (present.empty()) return;
  Finding f;
  f.id = "clone3-without-fallback";
  f.subject = std::string(core::clone3_name);
  f.arches = arch_names(present);
  f.message = "clone3 is answered with " + core::to_string(*action) + " while clone is allowed: threads fail to start";
  f.reason = "the C library falls back from clone3 to clone on ENOSYS only";
  f.fix = "answer clone3 with ENOSYS, as gen writes: {\"names\": [\"clone3\"], \"action\": \"SCMP_ACT_ERRNO\", "
          "\"errnoRet\": 38}";
  out.push_back(std::move(f));
}

void check_default(const core::Policy& policy, std::vector<Finding>& out) {
  const auto kind = policy.default_action.kind;
  if (kind != core::ActionKind::allow && kind != core::ActionKind::log) return;
  Finding f;
  f.id = "default-action";
  f.subject = "defaultAction";
  if (kind == core::ActionKind::allow) {
    f.severity = Severity::critical;
    f.message = "the default action is allow: every syscall the profile does not name runs";
    f.reason = "a denylist misses whatever it does not name, including syscalls added by newer kernels";
  } else {
    f.severity = Severity::high;
    f.message = "the default action is log: unlisted syscalls are recorded but still run";
    f.reason = "log is for tracing; as a policy it denies nothing";
  }
  f.fix =
      "make it an allowlist: defaultAction SCMP_ACT_ERRNO (or SCMP_ACT_KILL_PROCESS) and allow what the program needs";
  out.push_back(std::move(f));

  // What the default does not reach: nucleus kills calls from unlisted ABIs whatever the default.
  std::vector<std::string> unlisted;
  for (auto main : policy.effective_arches())
    for (auto compat : core::compat_arches(main))
      if (!has_arch(policy.effective_arches(), compat)) unlisted.emplace_back(core::arch_name(compat));
  if (unlisted.empty()) return;
  Finding abi;
  abi.severity = Severity::info;
  abi.id = "foreign-abi";
  abi.subject = "architectures";
  abi.arches = unlisted;
  std::string list;
  for (const auto& n : unlisted) list += (list.empty() ? "" : ", ") + n;
  abi.message = "under nucleus, syscalls from the unlisted ABIs (" + list + ") are killed (SIGSYS), not given the " +
                std::string(core::action_short_name(kind)) + " default";
  abi.reason = "int 0x80 and x32 calls reach the kernel by numbers a deny-list never names; other runtimes may give "
               "them the default action and run them";
  abi.fix = "list only the ABIs the program uses; to run foreign-ABI code, list its architecture and deny what it must "
            "not do";
  out.push_back(std::move(abi));
}

void check_arches(const core::Policy& policy, std::vector<Finding>& out) {
  if (policy.architectures.empty()) {
    Finding f;
    f.severity = Severity::low;
    f.id = "architectures";
    f.subject = "architectures";
    f.message = "no architectures are listed: the runtime decides which ABIs the filter covers";
    f.reason = "runtimes differ here; an ABI that a runtime adds on its own gets the rules written for another one";
    f.fix = "list the architectures the program uses, e.g. SCMP_ARCH_X86_64";
    out.push_back(std::move(f));
    return;
  }
  std::vector<core::Arch> compat_listed;
  for (auto main : policy.architectures)
    for (auto compat : core::compat_arches(main))
      if (has_arch(policy.architectures, compat) && !has_arch(compat_listed, compat)) compat_listed.push_back(compat);
  if (!compat_listed.empty()) {
    Finding f;
    f.severity = Severity::medium;
    f.id = "architectures";
    f.subject = "architectures";
    f.arches = arch_names(compat_listed);
    f.message = "compat ABIs are let in beside the native one: " + [&] {
      std::string s;
      for (const auto& n : f.arches) s += (s.empty() ? "" : ", ") + n;
      return s;
    }();
    f.reason = "each ABI is its own kernel entry point with its own syscall numbers and history of bugs; the same "
               "names allow them there too";
    f.fix = "list only the ABIs the program was traced on; calls from unlisted ABIs are killed";
    out.push_back(std::move(f));
  }
  // Multiplexers reach socket and SysV IPC operations that argument conditions on socket() never see.
  for (auto a : policy.architectures) {
    for (std::string_view mux : {"socketcall", "ipc"}) {
      if (!core::syscall_number(a, mux) || access_of(policy, mux) != Access::allowed) continue;
      Finding f;
      f.severity = Severity::medium;
      f.id = "multiplexer";
      f.subject = std::string(mux);
      f.arches = {std::string(core::arch_name(a))};
      f.message = std::string(mux) + " is allowed on " + std::string(core::arch_name(a));
      f.reason = "the multiplexer runs socket, connect, msgget and others with their arguments in memory, out of reach "
                 "of argument conditions";
      f.fix = "remove " + std::string(mux) + " (modern C libraries call the direct syscalls), or drop the " +
              std::string(core::arch_name(a)) + " ABI";
      out.push_back(std::move(f));
    }
  }
}

void check_docker(const core::Policy& policy, const Reference& docker, std::vector<Finding>& out) {
  for (auto a : policy.effective_arches()) {
    const core::Policy* ref = docker.for_arch(a);
    if (ref == nullptr) continue;
    auto mine = arch_access(policy, a);
    auto theirs = arch_access(*ref, a, true);
    std::set<std::string> theirs_set(theirs.allowed.begin(), theirs.allowed.end());
    theirs_set.insert(theirs.conditional.begin(), theirs.conditional.end());
    std::vector<std::string> extra;
    for (const auto* list : {&mine.allowed, &mine.conditional})
      for (const auto& n : *list)
        if (theirs_set.count(n) == 0) extra.push_back(n);
    if (extra.empty()) continue;
    std::sort(extra.begin(), extra.end());
    Finding f;
    f.severity = Severity::medium;
    f.id = "beyond-docker-default";
    f.subject = std::string(core::arch_name(a));
    f.arches = {f.subject};
    f.message = "allows " + std::to_string(extra.size()) + " syscall(s) that " + docker.label + " denies on " +
                f.subject + ": ";
    for (std::size_t i = 0; i < extra.size(); ++i) f.message += (i ? ", " : "") + extra[i];
    f.reason = "a traced program rarely needs more than a general-purpose container runtime allows";
    f.fix = "check that the program really makes these calls; remove the ones it does not";
    out.push_back(std::move(f));
  }
}

} // namespace

std::string_view severity_name(Severity severity) noexcept {
  return severity_names[static_cast<std::size_t>(severity)];
}

std::optional<Severity> severity_from_name(std::string_view name) {
  for (std::size_t i = 0; i < severity_names.size(); ++i)
    if (severity_names[i] == name) return static_cast<Severity>(i);
  return std::nullopt;
}

std::span<const RiskySyscall> risky_syscalls() noexcept { return risky_table; }

std::optional<Severity> CheckResult::highest() const {
  if (findings.empty()) return std::nullopt;
  return findings.front().severity;
}

CheckResult check_profile(const core::Policy& policy, const CheckOptions& options) {
  CheckResult result;
  check_default(policy, result.findings);
  check_arches(policy, result.findings);
  check_risky(policy, result.findings);
  check_clone3_fallback(policy, result.findings);
  // The risky syscalls whose risk a condition would settle but that run without one.
  std::vector<std::string> unconditioned;
  for (const auto& f : result.findings)
    if (f.id == "risky-syscall" && f.message.ends_with("without argument conditions"))
      for (const auto& risky : risky_table)
        if (risky.name == f.subject && risky.guard_arg >= 0) unconditioned.push_back(f.subject);
  if (!unconditioned.empty()) {
    std::string text = "allowed without the argument condition that would settle their risk:";
    for (const auto& n : unconditioned) text += " " + n;
    text += " (nucleus-profile gen writes it from a trace with argument values)";
    result.notes.push_back(std::move(text));
  }
  if (options.docker_default != nullptr) check_docker(policy, *options.docker_default, result.findings);
  else
    result.notes.push_back("no comparison with Docker's default: pass --docker-default FILE "
                           "(Docker's profiles/seccomp/default.json)");
  std::stable_sort(result.findings.begin(), result.findings.end(),
                   [](const Finding& a, const Finding& b) { return a.severity > b.severity; });
  return result;
}

int severity_exit_code(Severity severity) noexcept {
  return severity == Severity::info ? 0 : 2 + static_cast<int>(severity);
}

int check_exit_code(const CheckResult& result, Severity fail_on) {
  auto top = result.highest();
  if (!top || *top < fail_on || *top == Severity::info) return 0;
  return severity_exit_code(*top);
}

std::string format_check_text(const CheckResult& result, std::string_view profile_name_raw) {
  // Names in a profile are its author's to choose: each field is one escaped line (text.hpp).
  using core::printable;
  const std::string profile_name = printable(profile_name_raw);
  std::ostringstream out;
  if (result.findings.empty()) out << profile_name << ": no findings\n";
  for (const auto& f : result.findings) {
    out << profile_name << ": " << severity_name(f.severity) << ": " << printable(f.subject);
    if (!f.arches.empty()) {
      out << " [";
      for (std::size_t i = 0; i < f.arches.size(); ++i) out << (i ? "," : "") << f.arches[i];
      out << "]";
    }
    out << ": " << printable(f.message) << "\n";
    if (!f.reason.empty()) out << "  why: " << printable(f.reason) << "\n";
    if (!f.fix.empty()) out << "  fix: " << printable(f.fix) << "\n";
  }
  std::array<std::size_t, 5> counts{};
  for (const auto& f : result.findings) ++counts[static_cast<std::size_t>(f.severity)];
  out << "summary:";
  for (std::size_t i = counts.size(); i-- > 0;) out << " " << counts[i] << " " << severity_names[i];
  out << "\n";
  for (const auto& n : result.notes) out << "note: " << printable(n) << "\n";
  return out.str();
}

std::string check_to_json(const CheckResult& result, std::string_view profile_name) {
  nlohmann::ordered_json j;
  j["profile"] = profile_name;
  j["highest"] = result.highest() ? nlohmann::ordered_json(severity_name(*result.highest())) : nlohmann::ordered_json();
  auto& findings = j["findings"] = nlohmann::ordered_json::array();
  for (const auto& f : result.findings) {
    findings.push_back({{"severity", severity_name(f.severity)},
                        {"id", f.id},
                        {"subject", f.subject},
                        {"arches", f.arches},
                        {"message", f.message},
                        {"reason", f.reason},
                        {"fix", f.fix}});
  }
  j["notes"] = result.notes;
  return j.dump(2, ' ', true, nlohmann::ordered_json::error_handler_t::replace) + "\n"; // ASCII: safe on a terminal
}

} // namespace nucleus::profile
