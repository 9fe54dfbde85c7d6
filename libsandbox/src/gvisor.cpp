#include "gvisor.hpp"

#include "nucleus/core/error.hpp"
#include "nucleus/sandbox/filter.hpp"
#include "nucleus/core/io.hpp"
#include "rlimits.hpp"

#include <nlohmann/json.hpp>

#include <cerrno>

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cctype>
#include <cstdlib>
#include <filesystem>

namespace nucleus::sandbox::detail {
using core::action_oci_name;
using core::cmp_op_oci_name;
using core::Error;
using core::ErrorKind;
using core::Rule;
using core::throw_errno;
using core::write_file_atomic;
namespace {

namespace stdfs = std::filesystem;
using nlohmann::json;

std::string oci_cap_name(const std::string& name) {
  std::string up;
  for (char c : name) up.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  return up.rfind("CAP_", 0) == 0 ? up : "CAP_" + up;
}

std::string oci_rlimit_name(int resource) {
  std::string up = "RLIMIT_";
  for (const char* c = rlimit_name(resource); *c != '\0'; ++c)
    up.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(*c))));
  return up;
}

// The mandatory denials as OCI entries, put first: gVisor's OCI seccomp takes the first entry
// that matches a call, so no allow entry of the profile can precede them.
json mandatory_oci_entries(bool allow_io_uring) {
  json out = json::array();
  for (const Rule& r : mandatory_denials(allow_io_uring)) {
    json args = json::array();
    for (const auto& c : r.args)
      args.push_back(
          {{"index", c.index}, {"value", c.value}, {"valueTwo", c.value_two}, {"op", cmp_op_oci_name(c.op)}});
    out.push_back({{"names", r.names},
                   {"action", action_oci_name(r.action.kind)},
                   {"errnoRet", r.action.data},
                   {"args", args},
                   {"comment", r.comment}});
  }
  return out;
}

// A profile's "clone3 gets ENOSYS" entry (gen writes it so that the C library falls back to clone,
// whose flags a filter can check). gVisor answers every errno action with EPERM whatever errnoRet
// says, and on EPERM the C library does not fall back, so no thread could start. gVisor answers
// SCMP_ACT_TRACE with ENOSYS when no tracer is attached, as Linux does: the entry becomes that, so
// clone3 still never runs and clone's flags stay checked. A tracer would be asked instead, so this
// holds only while the profile keeps ptrace out; where it allows ptrace the entry is left as it is
// (threads then fail under gVisor, rather than clone3's flags going unchecked).
// Only an entry naming clone3 alone is rewritten, so that no other name changes its action.
bool clone3_enosys(const json& e) {
  if (!e.is_object() || e.value("action", "") != "SCMP_ACT_ERRNO") return false;
  if (!e.contains("names") || !e["names"].is_array() || e["names"].size() != 1 || !e["names"][0].is_string())
    return false;
  if (e.contains("args") && !e["args"].empty()) return false;
  Rule entry{{e["names"][0].get<std::string>()}, core::Action::errno_ret(e.value("errnoRet", 0u)), {}, {}};
  return core::is_clone3_fallback(entry);
}

// Whether any call of ptrace could be allowed: by the default action, or by an entry naming it.
bool ptrace_reachable(const json& seccomp) {
  auto permits = [](const json& action) { return action == "SCMP_ACT_ALLOW" || action == "SCMP_ACT_LOG"; };
  if (permits(seccomp.value("defaultAction", json("SCMP_ACT_ALLOW")))) return true;
  if (!seccomp.contains("syscalls") || !seccomp["syscalls"].is_array()) return false;
  for (const auto& e : seccomp["syscalls"]) {
    if (!e.is_object() || !e.contains("names") || !e["names"].is_array()) continue;
    for (const auto& n : e["names"])
      if (n == "ptrace" && permits(e.value("action", json()))) return true;
  }
  return false;
}

// The mount options of an entry: its flags, then its tmpfs data ("mode=1777").
json oci_options(const FsEntry& e) {
  json options = json::array();
  if (e.kind == FsKind::bind) options.push_back("rbind");
  // gVisor fills /dev with its own devices after mounting it, so it cannot be mounted read-only;
  // only root may write there, and the workload is never root under gVisor.
  if (e.kind == FsKind::bind || (!e.writable && e.kind != FsKind::dev)) options.push_back(e.writable ? "rw" : "ro");
  for (auto [on, name] : {std::pair{e.nosuid, "nosuid"}, {e.nodev, "nodev"}, {e.noexec, "noexec"}})
    if (on) options.push_back(name);
  for (std::size_t at = 0; at < e.tmpfs_data.size();) {
    std::size_t comma = std::min(e.tmpfs_data.find(',', at), e.tmpfs_data.size());
    options.push_back(e.tmpfs_data.substr(at, comma - at));
    at = comma + 1;
  }
  return options;
}

// The plan's entries after the root as the bundle's mounts, in the plan's order. `uid`:`gid` is the
// workload's host identity.
json oci_mounts(const FsPlan& fs, unsigned uid, unsigned gid) {
  json mounts = json::array();
  for (const FsEntry& e : fs.entries) {
    json m = {{"destination", e.path}};
    switch (e.kind) {
    case FsKind::root: continue;      // the bundle's root
    case FsKind::directory: continue; // OCI has no empty directory without a mount; runsc makes only mount points
    case FsKind::proc: m.update({{"type", "proc"}, {"source", "proc"}}); break;
    case FsKind::dev:
    case FsKind::tmpfs: m.update({{"type", "tmpfs"}, {"source", "tmpfs"}}); break;
    case FsKind::bind:
      // "list" without "read": a bind would show every file's bytes along with the names, and no
      // mount shows names alone, so the folder is shown empty (security first; README: the policy).
      if (e.directory && has(e.access, FsAccess::list) && !has(e.access, FsAccess::read)) {
        m.update(
            {{"type", "tmpfs"}, {"source", "tmpfs"}, {"options", json::array({"ro", "nosuid", "nodev", "noexec"})}});
        mounts.push_back(std::move(m));
        continue;
      }
      if (e.idmap)
        throw Error(ErrorKind::permission,
                    "--rw " + e.shown_as + " is owned by uid " + std::to_string(e.idmap->owner_uid) +
                        ", and under gVisor the "
                        "workload runs as the unprivileged host uid " +
                        std::to_string(uid) +
                        ", which cannot write it (gVisor has "
                        "no idmapped mounts)",
                    "chown " + std::to_string(uid) + ":" + std::to_string(gid) + " " + e.shown_as +
                        " (what the workload creates there is then owned by uid " + std::to_string(uid) + ")");
      m.update({{"type", "bind"}, {"source", e.source}});
      break;
    }
    m["options"] = oci_options(e);
    mounts.push_back(std::move(m));
  }
  return mounts;
}

} // namespace

GvisorRun write_gvisor_bundle(const IsolationConfig& config, const FsPlan& fs, const std::vector<std::string>& command,
                              const std::string& runsc, const std::string& id, const std::vector<std::string>& env) {
  const bool switched = ::geteuid() == 0 && !config.host_root;
  const unsigned uid = switched ? config.host_uid : ::getuid();
  const unsigned gid = switched ? config.host_gid : ::getgid();
  json mounts = oci_mounts(fs, uid, gid); // before the bundle's directory exists: it may refuse

  json caps = json::array();
  for (const auto& c : config.cap_add) {
    capability_from_name(c); // refuses unknown names
    caps.push_back(oci_cap_name(c));
  }
  json rlimits = json::array({{{"type", "RLIMIT_CORE"}, {"soft", 0}, {"hard", 0}}});
  for (const auto& l : config.rlimits)
    rlimits.push_back({{"type", oci_rlimit_name(l.resource)}, {"soft", l.soft}, {"hard", l.hard}});
  json linux_section = {
      {"namespaces",
       json::array(
           {{{"type", "pid"}}, {{"type", "network"}}, {{"type", "ipc"}}, {{"type", "uts"}}, {{"type", "mount"}}})},
  };
  json seccomp = {{"defaultAction", "SCMP_ACT_ALLOW"}};
  if (!config.oci_seccomp_json.empty()) {
    try {
      seccomp = json::parse(config.oci_seccomp_json);
    } catch (const json::exception& e) {
      throw Error(ErrorKind::invalid_input, std::string("the seccomp profile for gVisor is not JSON: ") + e.what());
    }
  }
  json entries = mandatory_oci_entries(config.allow_io_uring);
  const bool traceable = ptrace_reachable(seccomp);
  if (seccomp.contains("syscalls") && seccomp["syscalls"].is_array())
    for (auto& e : seccomp["syscalls"]) {
      if (!traceable && clone3_enosys(e))
        e = {{"names", {core::clone3_name}}, {"action", "SCMP_ACT_TRACE"}, {"comment", e.value("comment", "")}};
      entries.push_back(std::move(e));
    }
  seccomp["syscalls"] = std::move(entries);
  linux_section["seccomp"] = std::move(seccomp);

  json spec = {
      {"ociVersion", "1.0.2"},
      {"process",
       {{"terminal", false},
        {"user", {{"uid", uid}, {"gid", gid}}},
        {"args", command},
        {"env", env},
        {"cwd", fs.cwd},
        {"capabilities",
         {{"bounding", caps}, {"effective", caps}, {"inheritable", caps}, {"permitted", caps}, {"ambient", caps}}},
        {"rlimits", rlimits},
        {"noNewPrivileges", true}}},
      {"root", {{"path", fs.root().source}, {"readonly", !fs.root().writable}}},
      {"hostname", config.hostname},
      {"mounts", mounts},
      {"linux", linux_section},
  };
  std::string tmpl = (stdfs::temp_directory_path() / "nucleus-oci-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) throw_errno("cannot create a directory for the OCI bundle");
  GvisorRun run{tmpl, {}};
  if (fs.empty_root()) {
    // A policy's root: an empty directory of the bundle's own, read-only; gVisor makes the mount
    // points in its own overlay, never in it.
    const std::string root = run.bundle_dir + "/rootfs";
    if (::mkdir(root.c_str(), 0755) != 0) throw_errno("cannot create the empty root of the OCI bundle");
    spec["root"]["path"] = root;
  }
  write_file_atomic(stdfs::path(run.bundle_dir) / "config.json", spec.dump(2));

  run.argv = {runsc, "--root", run.bundle_dir + "/state", "--network=none", "--ignore-cgroups"};
  if (::geteuid() != 0) run.argv.push_back("--rootless");
  run.argv.push_back("--oci-seccomp"); // always: the mandatory denials travel in the profile
  for (const char* a : {"run", "--bundle"}) run.argv.emplace_back(a);
  run.argv.push_back(run.bundle_dir);
  run.argv.push_back(id);
  return run;
}

namespace {

// runsc fchowns the stdio descriptors it is given to the OCI process user (uid 65534): handed the
// caller's own files, it would give the host's /dev/null, a terminal or an output file to the
// sandbox's identity. So runsc only ever gets pipes: a file, device or terminal on fd 0-2 is
// relayed through a pipe by a small copying process. Pipes and sockets pass as they are (their
// inodes are private to the connection). The output relays end when every writer in the sandbox
// is gone, having copied all of it; the input relay would wait on its source (a terminal) for as
// long as that is open, so it dies with runsc, its parent, instead. Async-signal-safe: runs between
// fork and execve.
void relay_loop(int from, int to) noexcept {
  char buf[16384];
  for (;;) {
    ssize_t n = ::read(from, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) ::_exit(0);
    for (ssize_t done = 0; done < n;) {
      ssize_t w = ::write(to, buf + done, static_cast<std::size_t>(n - done));
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) ::_exit(0);
      done += w;
    }
  }
}

} // namespace

int shield_stdio() noexcept {
  for (int fd : {1, 2, 0}) {
    struct stat st {};
    if (::fstat(fd, &st) != 0) continue; // closed: nothing to hand over
    if (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode)) continue;
    int p[2];
    if (::pipe2(p, O_CLOEXEC) != 0) return errno;
    const bool input = fd == 0;
    const pid_t parent = ::getpid();
    pid_t pid = ::fork();
    if (pid < 0) return errno;
    if (pid == 0) {
      if (input && (::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0 || ::getppid() != parent)) ::_exit(0);
      // Source on 0, destination on 1, nothing else open: the relay holds no other pipe end.
      int from = input ? 0 : p[0];
      int to = input ? p[1] : fd;
      int to_copy = ::fcntl(to, F_DUPFD_CLOEXEC, 3);
      if (to_copy < 0 || (from != 0 && ::dup2(from, 0) < 0) || ::dup2(to_copy, 1) < 0) ::_exit(1);
      ::syscall(SYS_close_range, 2U, ~0U, 0U);
      relay_loop(0, 1);
    }
    if (::dup2(input ? p[0] : p[1], fd) < 0) return errno;
    ::close(p[0]);
    ::close(p[1]);
  }
  return 0;
}

} // namespace nucleus::sandbox::detail
