#include "gvisor.hpp"

#include "nucleus/core/error.hpp"
#include "nucleus/sandbox/filter.hpp"
#include "nucleus/core/io.hpp"
#include "ns_mount.hpp"
#include "rlimits.hpp"
#include "trust.hpp"

#include <nlohmann/json.hpp>

#include <cerrno>

#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cstdlib>
#include <filesystem>

namespace nucleus::sandbox::detail {
using core::Error;
using core::ErrorKind;
using core::Rule;
using core::action_oci_name;
using core::cmp_op_oci_name;
using core::throw_errno;
using core::write_file_atomic;
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string oci_cap_name(const std::string& name) {
  std::string up;
  for (char c : name) up.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  return up.rfind("CAP_", 0) == 0 ? up : "CAP_" + up;
}

std::string oci_rlimit_name(int resource) {
  std::string up = "RLIMIT_";
  for (const char* c = rlimit_name(resource); *c != '\0'; ++c) up.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(*c))));
  return up;
}

// The mandatory denials as OCI entries, put first: gVisor's OCI seccomp takes the first entry
// that matches a call, so no allow entry of the profile can precede them.
json mandatory_oci_entries(bool allow_io_uring) {
  json out = json::array();
  for (const Rule& r : mandatory_denials(allow_io_uring)) {
    json args = json::array();
    for (const auto& c : r.args)
      args.push_back({{"index", c.index}, {"value", c.value}, {"valueTwo", c.value_two}, {"op", cmp_op_oci_name(c.op)}});
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
bool clone3_enosys(const json& e) {
  if (!e.is_object() || e.value("action", "") != "SCMP_ACT_ERRNO" || e.value("errnoRet", 0) != ENOSYS) return false;
  if (!e.contains("names") || !e["names"].is_array() || e["names"].size() != 1) return false;
  return e["names"][0] == "clone3" && (!e.contains("args") || e["args"].empty());
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

} // namespace

GvisorRun write_gvisor_bundle(const IsolationConfig& config, const std::vector<std::string>& command,
                              const std::string& runsc, const std::string& id,
                              const std::vector<std::string>& env) {
  std::string tmpl = (fs::temp_directory_path() / "nucleus-oci-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) throw_errno("cannot create a directory for the OCI bundle");
  GvisorRun run{tmpl, {}};

  json caps = json::array();
  for (const auto& c : config.cap_add) {
    capability_from_name(c); // refuses unknown names
    caps.push_back(oci_cap_name(c));
  }
  json rlimits = json::array({{{"type", "RLIMIT_CORE"}, {"soft", 0}, {"hard", 0}}});
  for (const auto& l : config.rlimits)
    rlimits.push_back({{"type", oci_rlimit_name(l.resource)}, {"soft", l.soft}, {"hard", l.hard}});
  std::string cwd = visible_cwd(config);

  json mounts = json::array({
      {{"destination", "/proc"}, {"type", "proc"}, {"source", "proc"}},
      {{"destination", "/dev"}, {"type", "tmpfs"}, {"source", "tmpfs"}},
      {{"destination", "/tmp"}, {"type", "tmpfs"}, {"source", "tmpfs"}, {"options", {"nosuid", "nodev", "mode=1777"}}},
  });
  const std::string root = config.rootfs.empty() ? std::string("/") : fs::absolute(config.rootfs).string();
  for (const auto& dir : runtime_dirs(root)) {
    mounts.push_back({{"destination", dir}, {"type", "tmpfs"}, {"source", "tmpfs"}, {"options", {"nosuid", "nodev", "noexec", "mode=0755"}}});
    if (dir == "/run") // where /var/lock points on Debian
      mounts.push_back({{"destination", "/run/lock"}, {"type", "tmpfs"}, {"source", "tmpfs"}, {"options", {"nosuid", "nodev", "noexec", "mode=1777"}}});
  }
  const bool switched = ::geteuid() == 0 && !config.host_root;
  const unsigned uid = switched ? config.host_uid : ::getuid();
  const unsigned gid = switched ? config.host_gid : ::getgid();
  auto bind = [&](const BindMount& m, bool writable) {
    std::string source = fs::absolute(m.source).lexically_normal().string();
    if (!fs::exists(source)) throw Error(ErrorKind::not_found, (writable ? "--rw " : "--ro ") + m.source + ": no such file or directory");
    struct stat st {};
    if (writable && switched && ::stat(source.c_str(), &st) == 0 && st.st_uid != uid && (st.st_mode & S_IWOTH) == 0)
      throw Error(ErrorKind::permission,
                  "--rw " + m.source + " is owned by uid " + std::to_string(st.st_uid) + ", and under gVisor the workload "
                  "runs as the unprivileged host uid " + std::to_string(uid) + ", which cannot write it (gVisor has no idmapped mounts)",
                  "chown " + std::to_string(uid) + ":" + std::to_string(gid) + " " + m.source +
                      " (what the workload creates there is then owned by uid " + std::to_string(uid) + ")");
    mounts.push_back({{"destination", m.destination.empty() ? source : m.destination},
                      {"type", "bind"},
                      {"source", source},
                      {"options", {"rbind", writable ? "rw" : "ro", "nosuid", "nodev"}}});
  };
  for (const auto& m : config.ro) bind(m, false);
  for (const auto& m : config.rw) bind(m, true);
  for (const auto& t : config.tmpfs)
    mounts.push_back({{"destination", t}, {"type", "tmpfs"}, {"source", "tmpfs"}, {"options", {"nosuid", "nodev"}}});

  json linux_section = {
      {"namespaces", json::array({{{"type", "pid"}}, {{"type", "network"}}, {{"type", "ipc"}}, {{"type", "uts"}}, {{"type", "mount"}}})},
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
        e = {{"names", {"clone3"}}, {"action", "SCMP_ACT_TRACE"}, {"comment", e.value("comment", "")}};
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
        {"cwd", cwd},
        {"capabilities", {{"bounding", caps}, {"effective", caps}, {"inheritable", caps}, {"permitted", caps}, {"ambient", caps}}},
        {"rlimits", rlimits},
        {"noNewPrivileges", true}}},
      {"root", {{"path", config.rootfs.empty() ? std::string("/") : fs::absolute(config.rootfs).string()}, {"readonly", true}}},
      {"hostname", config.hostname},
      {"mounts", mounts},
      {"linux", linux_section},
  };
  write_file_atomic(fs::path(run.bundle_dir) / "config.json", spec.dump(2));

  run.argv = {runsc, "--root", run.bundle_dir + "/state", "--network=none", "--ignore-cgroups"};
  if (::geteuid() != 0) run.argv.push_back("--rootless");
  run.argv.push_back("--oci-seccomp"); // always: the mandatory denials travel in the profile
  for (const char* a : {"run", "--bundle"}) run.argv.emplace_back(a);
  run.argv.push_back(run.bundle_dir);
  run.argv.push_back(id);
  return run;
}

} // namespace nucleus::sandbox::detail
