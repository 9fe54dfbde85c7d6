// The review's rules: one table (id, severity, trigger, reason, fix) and the matchers that apply it
// to a trace's behaviour records and syscall lines. The README's rules table is this table.
#include "nucleus/profile/review.hpp"

#include "sensitive_files.hpp"

#include "nucleus/profile/args.hpp"
#include "nucleus/core/strings.hpp"

#include <arpa/inet.h>
#include <sched.h>
#include <sys/stat.h>

#include <algorithm>
#include <span>
#include <array>
#include <cstring>
#include <map>
#include <regex>

namespace nucleus::profile {
namespace {

using core::FileAccess;
using S = Severity;

constexpr ReviewRule rules[] = {
    {"credential-read", S::high,
     "a file read that holds credentials: SSH private keys (.ssh/id_*, not *.pub), GPG private keys, cloud "
     "credentials (.aws, gcloud, .azure, .kube/config, .docker/config.json), package-registry tokens (.npmrc, "
     ".pypirc, .cargo/credentials, .gem/credentials, gh's hosts.yml), .netrc, .git-credentials, password stores, "
     "browser profiles, /etc/shadow, /etc/gshadow, SSH host keys",
     "a tool that reads credentials it was not given can use them or send them elsewhere",
     "do not run it with access to these files: run it under nucleus-run with a policy that leaves them out, or "
     "with HOME pointing at a folder without them"},
    {"process-secrets", S::high, "another process's /proc/PID/environ or /proc/PID/mem read (PID a number)",
     "another process's environment holds its tokens and keys; its memory holds everything it knows",
     "run it in its own PID namespace (nucleus-run does), so no other process is visible"},
    {"process-memory-write", S::critical, "another process's /proc/PID/mem opened for writing",
     "writing another process's memory takes it over, with its privileges", "do not run it"},
    {"persistence", S::high,
     "a write to a file that runs later: shell start-up files (.bashrc, .profile, .zshrc, ...), cron, systemd and "
     "autostart units, git hooks, .ssh/authorized_keys and .ssh/rc, /etc/profile.d, /etc/ld.so.preload, sudoers, "
     "PAM and udev rules",
     "the program's code runs again later, outside any sandbox, each time the file is read",
     "do not let it write there: run it with a read-only home and /etc (nucleus-run's default), and restore the file"},
    {"set-id-mode", S::high, "chmod, or a file created, with the set-user-ID or set-group-ID bit in its mode",
     "a set-id file runs with its owner's identity for whoever starts it: a way to root",
     "refuse it: nucleus-run mounts writable folders nosuid; remove the bit from the file"},
    {"write-outside-workspace", S::medium,
     "a write, creation, removal, rename or mode change outside the workspace "
     "(--workspace, by default the trace's) and outside the temporary folders",
     "a tool that changes files it was not pointed at can damage or plant things anywhere the user can write",
     "check that the program needs to write there; if not, run it with only the workspace writable"},
    {"write-temp", S::low, "a write under /tmp, /var/tmp or /dev/shm (outside the workspace)",
     "temporary folders are shared: other programs read and run what is left there",
     "usually harmless; give the program a private TMPDIR"},
    {"write-unresolved", S::low, "a write to a relative path the recorder could not make absolute",
     "whether it is inside the workspace cannot be told", "trace again with a recorder that resolves paths"},
    {"network-public", S::medium, "a connection or datagram to a public address (not DNS)",
     "data can leave the machine: source code, keys, anything the program read",
     "check the address; run it with --network none or a policy that names the endpoints it may reach"},
    {"network-private", S::medium,
     "a connection or datagram to a private, link-local or shared address (10/8, 172.16/12, 192.168/16, 100.64/10, "
     "169.254/16, fc00::/7, fe80::/10)",
     "internal services behind the firewall trust callers from inside", "check the address; restrict the network"},
    {"cloud-metadata", S::high, "a connection to a cloud metadata endpoint (169.254.169.254, fd00:ec2::254)",
     "the metadata service hands out the machine's cloud credentials", "block it; run with --network none"},
    {"network-loopback", S::low, "a connection or datagram to a loopback address (not DNS)",
     "services on loopback (databases, debuggers, agents) often trust every local caller",
     "check which service listens there"},
    {"dns-query", S::medium, "a datagram or connection to port 53: a DNS query (named, not counted as egress)",
     "the program looks names up: it means to reach hosts by name, and DNS itself carries data out",
     "check which names it needs; run it with --network none if it needs none"},
    {"network-listen", S::medium, "bind or listen on a non-loopback address",
     "a listener on the network lets others in", "bind to 127.0.0.1, or do not run it"},
    {"container-socket", S::critical,
     "a connection to a container engine's socket (docker.sock, containerd.sock, podman.sock, crio.sock)",
     "the engine runs any container the caller asks for, with host mounts: root on the host",
     "do not give it the socket"},
    {"raw-socket", S::medium, "a raw or packet socket",
     "raw sockets forge and sniff traffic, and reach kernel code most programs never touch",
     "remove the need or do not run it"},
    {"shell-started", S::medium, "a shell run: sh, bash, dash, zsh, ksh, fish, csh, busybox",
     "a shell runs whatever text it is handed; what it ran next is only in the inventory",
     "read the command lines; prefer tools that do not shell out"},
    {"interpreter-started", S::medium, "an interpreter run: python, perl, ruby, node, php, lua, tclsh, ...",
     "an interpreter runs code that is not in the reviewed binary", "check the script it ran"},
    {"downloader-started", S::high,
     "a downloader or remote-access tool run: curl, wget, nc, socat, ssh, scp, rsync, ...",
     "fetching code or sending data at run time is how a tool changes after review",
     "find out what it fetched or sent; run it with --network none"},
    {"privilege-program", S::high, "a program that changes identity run: sudo, su, doas, pkexec, newuidmap, ...",
     "the program tries to become another user, usually root", "do not run it"},
    {"user-namespace", S::high, "clone or unshare with CLONE_NEWUSER among the flag values recorded",
     "an unprivileged user namespace exposes kernel code that normally needs root: the usual start of a kernel exploit",
     "deny it: nucleus-profile gen leaves CLONE_NEWUSER out unless traced; find out why the tool asks"},
    {"namespaces", S::medium, "clone or unshare with other CLONE_NEW* flags, setns, or unshare without recorded flags",
     "namespaces change what the program sees of the system", "find out why the tool needs them"},
    {"mount", S::high, "mount, umount, pivot_root or the new mount API (fsopen, fsmount, move_mount, open_tree, ...)",
     "changing the mount table can hide or expose file systems", "deny it"},
    {"ptrace", S::high, "ptrace, process_vm_readv or process_vm_writev",
     "reading or writing other processes' memory takes their secrets and their control", "deny it"},
    {"bpf", S::high, "bpf", "eBPF programs run in the kernel; the verifier has a long record of escalations",
     "deny it"},
    {"kernel-module", S::critical, "init_module, finit_module, delete_module, kexec_load or kexec_file_load",
     "loads or replaces kernel code", "deny it; do not run the program"},
    {"io-uring", S::high, "io_uring_setup, io_uring_enter or io_uring_register",
     "io_uring's operations open, read, write and connect without syscalls: this review (and seccomp) do not see them",
     "deny it (nucleus refuses it unless --allow-io-uring)"},
    {"kernel-surface", S::medium, "perf_event_open, userfaultfd, keyctl, add_key or request_key",
     "rarely used kernel interfaces with a history of privilege escalations", "deny it"},
};

const ReviewRule& rule(std::string_view id) {
  for (const auto& r : rules)
    if (r.id == id) return r;
  return rules[0]; // unreachable: every id used below is in the table (the tests check each)
}

// A finding from a rule; the reason of the specific syscall (check's table) when there is one.
Finding make(std::string_view id, const std::string& exe, std::string subject, std::string message) {
  const ReviewRule& r = rule(id);
  Finding f;
  f.severity = r.severity;
  f.id = std::string(r.id);
  f.exe = exe;
  f.subject = std::move(subject);
  f.message = std::move(message);
  f.reason = std::string(r.reason);
  f.fix = std::string(r.fix);
  return f;
}

std::string outcome_note(core::Outcome o) {
  return o == core::Outcome::failed ? " (the call failed: it was tried)" : "";
}

// --- paths ---

// Writes that change no file: the terminal, the null device, the process's own descriptors.
constexpr std::string_view harmless_write_patterns[] = {
    "/dev/null",   "/dev/zero",   "/dev/full",  "/dev/tty",         "/dev/pts/**",
    "/dev/stdout", "/dev/stderr", "/dev/fd/**", "/proc/self/fd/**", "/proc/thread-self/fd/**"};
constexpr std::string_view temp_patterns[] = {"/tmp/**", "/var/tmp/**", "/dev/shm/**"};

bool any_match(std::span<const std::string_view> patterns, std::string_view path) {
  return std::any_of(patterns.begin(), patterns.end(), [&](auto p) { return sensitive::path_matches(p, path); });
}

bool is_public_key(std::string_view path) { return path.ends_with(".pub"); }

constexpr core::FileAccessSet set_of(std::initializer_list<FileAccess> items) {
  core::FileAccessSet out = 0;
  for (auto a : items) out = static_cast<core::FileAccessSet>(out | static_cast<core::FileAccessSet>(a));
  return out;
}

bool inside(const std::vector<std::string>& workspace, std::string_view path) {
  return std::any_of(workspace.begin(), workspace.end(), [&](const std::string& w) {
    return path == w || (path.starts_with(w) && (w == "/" || (path.size() > w.size() && path[w.size()] == '/')));
  });
}

// "/proc/123/environ" or "/proc/123/task/124/mem": the file of another process (a number, not self).
std::string other_process_file(std::string_view path) {
  const auto c = sensitive::components(path);
  if (c.size() < 3 || c[0] != "proc" || c[1].find_first_not_of("0123456789") != std::string::npos) return {};
  const std::string& last = c.back();
  if (c.size() == 3 || (c.size() == 5 && c[2] == "task")) return last == "environ" || last == "mem" ? last : "";
  return {};
}

std::string access_words(core::FileAccessSet access) { return core::join(core::file_access_names(access), ", "); }

void file_findings(const core::TraceFile& f, const std::vector<std::string>& workspace, std::vector<Finding>& out) {
  const bool writes = changes_file(f.access);
  const std::string what =
      f.exe + " " + (writes ? "asked " + access_words(f.access) + " of " : "read ") + f.path + outcome_note(f.result);
  if (!writes && core::has(f.access, FileAccess::read) && any_match(sensitive::credentials(), f.path) &&
      !is_public_key(f.path))
    out.push_back(make("credential-read", f.exe, f.path, what));
  if (std::string proc = other_process_file(f.path); !proc.empty()) {
    if (proc == "mem" && core::has(f.access, FileAccess::write))
      out.push_back(make("process-memory-write", f.exe, f.path, what));
    else if (core::has(f.access, FileAccess::read)) out.push_back(make("process-secrets", f.exe, f.path, what));
  }
  if (f.mode >= 0 && (f.mode & (S_ISUID | S_ISGID)) != 0 &&
      (f.access & set_of({FileAccess::chmod, FileAccess::create, FileAccess::mkdir, FileAccess::mknod})) != 0)
    out.push_back(make(
        "set-id-mode", f.exe, f.path, what + " with mode 0" + [&] {
          char buf[16];
          std::snprintf(buf, sizeof buf, "%o", static_cast<unsigned>(f.mode));
          return std::string(buf);
        }()));
  if (!writes) return;
  // A rename also removes its old name: both are changed.
  std::vector<std::string> changed{f.path};
  if (core::has(f.access, FileAccess::rename) && !f.target.empty()) changed.push_back(f.target);
  for (const auto& path : changed) {
    if (any_match(sensitive::persistence(), path)) {
      out.push_back(make("persistence", f.exe, path, what));
      continue;
    }
    if (!path.starts_with('/')) {
      if (!inside(workspace, path)) out.push_back(make("write-unresolved", f.exe, path, what));
      continue;
    }
    if (inside(workspace, path) || any_match(harmless_write_patterns, path)) continue;
    out.push_back(make(any_match(temp_patterns, path) ? "write-temp" : "write-outside-workspace", f.exe, path, what));
  }
}

// --- network ---

constexpr std::string_view egress_calls[] = {"connect", "sendto", "sendmsg", "sendmmsg"};

std::string endpoint(const core::TraceNet& n) {
  if (n.port < 0) return n.address;
  return n.address.find(':') != std::string::npos ? "[" + n.address + "]:" + std::to_string(n.port)
                                                  : n.address + ":" + std::to_string(n.port);
}

bool in_v4(std::uint32_t a, std::uint32_t net, int bits) {
  return bits == 0 || (a >> (32 - bits)) == (net >> (32 - bits));
}

NetScope scope_v4(std::uint32_t a) {
  if (in_v4(a, 0x7f000000, 8) || a == 0) return NetScope::loopback;
  if (in_v4(a, 0x0a000000, 8) || in_v4(a, 0xac100000, 12) || in_v4(a, 0xc0a80000, 16) || in_v4(a, 0x64400000, 10) ||
      in_v4(a, 0xa9fe0000, 16))
    return NetScope::private_net;
  return NetScope::public_net;
}

void net_findings(const core::TraceNet& n, std::vector<Finding>& out) {
  const std::string what = n.exe + " " + n.syscall + " " + (n.address.empty() ? n.family : endpoint(n)) +
                           (n.socktype.empty() ? "" : " (" + n.socktype + ")") + outcome_note(n.result);
  if (n.syscall == "socket" && (n.family == "packet" || n.socktype == "raw")) {
    out.push_back(make("raw-socket", n.exe, n.family + " " + n.socktype, what));
    return;
  }
  const bool egress = std::find(std::begin(egress_calls), std::end(egress_calls), n.syscall) != std::end(egress_calls);
  const NetScope scope = net_scope(n);
  if (scope == NetScope::local_socket) {
    static constexpr std::string_view engines[] = {"docker.sock", "containerd.sock", "podman.sock", "crio.sock"};
    if (n.syscall == "connect" && std::any_of(std::begin(engines), std::end(engines), [&](auto s) {
          return n.address == s || n.address.ends_with("/" + std::string(s));
        }))
      out.push_back(make("container-socket", n.exe, n.address, what));
    return;
  }
  if (scope == NetScope::none) return;
  // As a destination 0.0.0.0 and :: are this host; bound, they listen on every address.
  const bool any_address = n.address == "0.0.0.0" || n.address == "::";
  if ((n.syscall == "bind" || n.syscall == "listen") && (scope != NetScope::loopback || any_address)) {
    out.push_back(make("network-listen", n.exe, endpoint(n), what));
    return;
  }
  if (!egress) return;
  if (is_dns(n)) {
    out.push_back(make("dns-query", n.exe, endpoint(n), what + ": a DNS query"));
    return;
  }
  if (n.address == "169.254.169.254" || n.address == "fd00:ec2::254") {
    out.push_back(make("cloud-metadata", n.exe, endpoint(n), what));
    return;
  }
  const char* id = scope == NetScope::loopback      ? "network-loopback"
                   : scope == NetScope::private_net ? "network-private"
                                                    : "network-public";
  out.push_back(make(id, n.exe, endpoint(n), what));
}

// --- programs ---

std::string base_name(std::string_view path) {
  auto slash = path.rfind('/');
  return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

const char* program_rule(const std::string& name) {
  static const std::regex shells("(ba|da|z|k|mk|c|tc|fi|bu)?sh|busybox|fish");
  static const std::regex interpreters("(python|perl|ruby|node|nodejs|php|lua|luajit|tclsh|wish|Rscript|deno|bun|"
                                       "pwsh|osascript|java|jshell|irb|gawk|awk)[0-9.]*");
  static const std::regex downloaders("curl|wget|wget2|nc|ncat|netcat|nc\\.(openbsd|traditional)|socat|ssh|scp|sftp|"
                                      "ftp|tftp|rsync|aria2c|telnet|lftp");
  static const std::regex privilege("sudo|su|doas|pkexec|newuidmap|newgidmap|runuser|setpriv|chroot|nsenter|unshare");
  if (std::regex_match(name, shells)) return "shell-started";
  if (std::regex_match(name, interpreters)) return "interpreter-started";
  if (std::regex_match(name, downloaders)) return "downloader-started";
  if (std::regex_match(name, privilege)) return "privilege-program";
  return nullptr;
}

void exec_findings(const core::TraceExec& e, const std::vector<std::vector<std::string>>& commands,
                   std::vector<Finding>& out) {
  if (!e.argv.empty() && std::find(commands.begin(), commands.end(), e.argv) != commands.end()) return;
  std::string name = base_name(e.path);
  const char* id = program_rule(name);
  if (id == nullptr && !e.argv.empty()) id = program_rule(name = base_name(e.argv.front()));
  if (id == nullptr) return;
  std::string argv = quoted_argv(e.argv, e.argv_truncated);
  out.push_back(
      make(id, e.exe, e.path, e.exe + " ran " + e.path + (argv.empty() ? "" : ": " + argv) + outcome_note(e.result)));
}

// --- syscalls ---

constexpr std::uint64_t other_namespaces = CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWPID | CLONE_NEWNET |
                                           CLONE_NEWCGROUP | 0x80 /* CLONE_NEWTIME */;

std::string risky_reason(std::string_view name) {
  for (const auto& r : risky_syscalls())
    if (r.name == name) return std::string(r.reason);
  return {};
}

void syscall_findings(const core::TraceSyscall& s, std::vector<Finding>& out) {
  static const std::map<std::string_view, std::string_view> by_name = {{"mount", "mount"},
                                                                       {"umount", "mount"},
                                                                       {"umount2", "mount"},
                                                                       {"pivot_root", "mount"},
                                                                       {"fsopen", "mount"},
                                                                       {"fsconfig", "mount"},
                                                                       {"fsmount", "mount"},
                                                                       {"fspick", "mount"},
                                                                       {"move_mount", "mount"},
                                                                       {"open_tree", "mount"},
                                                                       {"mount_setattr", "mount"},
                                                                       {"ptrace", "ptrace"},
                                                                       {"process_vm_readv", "ptrace"},
                                                                       {"process_vm_writev", "ptrace"},
                                                                       {"bpf", "bpf"},
                                                                       {"init_module", "kernel-module"},
                                                                       {"finit_module", "kernel-module"},
                                                                       {"delete_module", "kernel-module"},
                                                                       {"kexec_load", "kernel-module"},
                                                                       {"kexec_file_load", "kernel-module"},
                                                                       {"io_uring_setup", "io-uring"},
                                                                       {"io_uring_enter", "io-uring"},
                                                                       {"io_uring_register", "io-uring"},
                                                                       {"perf_event_open", "kernel-surface"},
                                                                       {"userfaultfd", "kernel-surface"},
                                                                       {"keyctl", "kernel-surface"},
                                                                       {"add_key", "kernel-surface"},
                                                                       {"request_key", "kernel-surface"},
                                                                       {"setns", "namespaces"}};
  const std::string calls = std::to_string(s.count) + " call(s) on " + std::string(core::arch_name(s.arch));
  if (auto it = by_name.find(s.name); it != by_name.end()) {
    Finding f = make(it->second, s.exe, s.name, s.exe + " made " + s.name + ": " + calls);
    if (auto specific = risky_reason(s.name); !specific.empty()) f.reason = specific;
    out.push_back(std::move(f));
    return;
  }
  if (s.name != "clone" && s.name != "unshare") return;
  const core::TraceArgValues* flags = nullptr;
  for (const auto& a : s.args)
    if (a.index == 0) flags = &a;
  if (flags == nullptr || flags->values.empty()) {
    if (s.name == "unshare")
      out.push_back(make("namespaces", s.exe, s.name,
                         s.exe + " made unshare (" + calls +
                             "); the recorder kept no flags, so a user namespace cannot be ruled out"));
    return;
  }
  const core::ArgKind kind = s.name == "clone" ? core::ArgKind::clone_flags : core::ArgKind::unshare_flags;
  for (auto v : flags->values) {
    const std::string value = s.name + "(" + value_name(kind, v) + ")";
    if ((v & CLONE_NEWUSER) != 0)
      out.push_back(make("user-namespace", s.exe, value, s.exe + " made " + value + ": asks for a new user namespace"));
    else if ((v & other_namespaces) != 0)
      out.push_back(make("namespaces", s.exe, value, s.exe + " made " + value + ": asks for new namespaces"));
  }
}

// At most this many findings of one rule for one executable; the rest are counted in one more.
constexpr std::size_t per_rule_limit = 20;

void limit(std::vector<Finding>& findings) {
  std::map<std::pair<std::string, std::string>, std::size_t> seen;
  std::vector<Finding> kept;
  std::map<std::pair<std::string, std::string>, Finding> overflow;
  for (auto& f : findings) {
    auto key = std::make_pair(f.id, f.exe);
    if (++seen[key] <= per_rule_limit) {
      kept.push_back(std::move(f));
      continue;
    }
    auto [it, added] = overflow.try_emplace(key, f);
    it->second.subject = "(more)";
  }
  for (auto& [key, f] : overflow) {
    f.message = std::to_string(seen[key] - per_rule_limit) + " more finding(s) of " + f.id + " for " + f.exe +
                ": see the inventory";
    kept.push_back(std::move(f));
  }
  findings = std::move(kept);
}

} // namespace

std::span<const ReviewRule> review_rules() noexcept { return rules; }

bool changes_file(core::FileAccessSet access) noexcept {
  constexpr core::FileAccessSet changing =
      set_of({FileAccess::write, FileAccess::create, FileAccess::truncate, FileAccess::append, FileAccess::remove,
              FileAccess::rename, FileAccess::mkdir, FileAccess::chmod, FileAccess::chown, FileAccess::link,
              FileAccess::symlink, FileAccess::mknod});
  return (access & changing) != 0;
}

NetScope net_scope(const core::TraceNet& n) {
  if (n.family == "unix") return NetScope::local_socket;
  if (n.address.empty() || (n.family != "inet" && n.family != "inet6")) return NetScope::none;
  in_addr v4{};
  if (::inet_pton(AF_INET, n.address.c_str(), &v4) == 1) return scope_v4(ntohl(v4.s_addr));
  in6_addr v6{};
  if (::inet_pton(AF_INET6, n.address.c_str(), &v6) != 1) return NetScope::public_net; // unreadable: assume the worst
  const auto* b = v6.s6_addr;
  static constexpr std::uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::memcmp(b, mapped, 12) == 0)
    return scope_v4(static_cast<std::uint32_t>(b[12]) << 24 | static_cast<std::uint32_t>(b[13]) << 16 |
                    static_cast<std::uint32_t>(b[14]) << 8 | b[15]);
  if (IN6_IS_ADDR_LOOPBACK(&v6) || IN6_IS_ADDR_UNSPECIFIED(&v6)) return NetScope::loopback;
  if ((b[0] & 0xfe) == 0xfc || (b[0] == 0xfe && (b[1] & 0xc0) == 0x80)) return NetScope::private_net;
  return NetScope::public_net;
}

bool is_dns(const core::TraceNet& n) { return n.port == 53 && (n.family == "inet" || n.family == "inet6"); }

std::vector<Finding> review_findings(const core::Trace& trace, const std::vector<std::string>& workspace,
                                     const std::vector<std::vector<std::string>>& commands) {
  std::vector<Finding> out;
  for (const auto& f : trace.files) file_findings(f, workspace, out);
  for (const auto& n : trace.nets) net_findings(n, out);
  for (const auto& e : trace.execs) exec_findings(e, commands, out);
  for (const auto& s : trace.syscalls) syscall_findings(s, out);
  // One finding per (rule, executable, subject): the same path asked twice with other flags is one.
  std::stable_sort(out.begin(), out.end(), [](const Finding& a, const Finding& b) {
    if (a.severity != b.severity) return a.severity > b.severity;
    return std::tie(a.id, a.exe, a.subject) < std::tie(b.id, b.exe, b.subject);
  });
  out.erase(std::unique(out.begin(), out.end(),
                        [](const Finding& a, const Finding& b) {
                          return a.id == b.id && a.exe == b.exe && a.subject == b.subject;
                        }),
            out.end());
  limit(out);
  std::stable_sort(out.begin(), out.end(), [](const Finding& a, const Finding& b) { return a.severity > b.severity; });
  return out;
}

} // namespace nucleus::profile
