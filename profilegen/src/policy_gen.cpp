// The policy from behaviour records: each file record becomes a use (a path and the access it
// asks for), each use finds the first rule that owns its path (policy_gen.hpp's list), and each rule
// turns its uses into one entry; network records become endpoints as seen.
#include "nucleus/profile/policy_gen.hpp"

#include "nucleus/core/error.hpp"
#include "nucleus/core/strings.hpp"

#include <elf.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

namespace nucleus::profile {
namespace {

using core::FileAccess;
using core::PathAccess;
using core::PathAccessSet;

constexpr PathAccessSet bit(PathAccess a) { return static_cast<PathAccessSet>(a); }
constexpr PathAccessSet changes = bit(PathAccess::write) | bit(PathAccess::create) | bit(PathAccess::remove);
constexpr PathAccessSet read_write = bit(PathAccess::read) | changes;
// A program that ran was read as well: the kernel opens it for reading to exec it, and Landlock
// asks for read there as for execute.
constexpr PathAccessSet runs_program = bit(PathAccess::read) | bit(PathAccess::execute);
constexpr PathAccessSet looks_and_runs = bit(PathAccess::read) | bit(PathAccess::list) | bit(PathAccess::execute);

// The folders of the system rule: the libraries and programs every dynamically linked program
// loads from; the dynamic loader's cache and configuration are files in /etc and stay exact.
constexpr std::array<std::string_view, 7> system_folders = {"/usr",    "/lib", "/lib32", "/lib64",
                                                            "/libx32", "/bin", "/sbin"};

struct Use {
  std::string path;
  PathAccessSet access = 0;
};

std::string parent_of(std::string_view path) {
  const auto slash = path.rfind('/');
  return slash == 0 || slash == std::string_view::npos ? std::string("/") : std::string(path.substr(0, slash));
}

// An absolute path a policy can hold (a NUL byte cannot be in one, whatever a trace file says).
bool usable(std::string_view path) { return path.starts_with('/') && path.find('\0') == std::string_view::npos; }

// The traced command's program, when the header names it by an absolute path.
const std::string* traced_program(const core::Trace& t) {
  return !t.header.command.empty() && usable(t.header.command.front()) ? &t.header.command.front() : nullptr;
}

std::string_view base_of(std::string_view path) { return path.substr(path.rfind('/') + 1); }

// The ELF interpreter (PT_INTERP) a 64-bit program names, or empty: the dynamic loader the kernel
// opens for exec itself, which no recorder shows as a file record. Read from the host at gen time,
// as the system rule's folders are.
std::string elf_interpreter(const std::string& program) {
  std::ifstream in(program, std::ios::binary);
  Elf64_Ehdr eh{};
  if (!in.read(reinterpret_cast<char*>(&eh), sizeof eh) || std::memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 ||
      eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum > 256)
    return {};
  for (unsigned i = 0; i < eh.e_phnum; ++i) {
    Elf64_Phdr ph{};
    if (!in.seekg(static_cast<std::streamoff>(eh.e_phoff + i * sizeof ph)) ||
        !in.read(reinterpret_cast<char*>(&ph), sizeof ph))
      return {};
    if (ph.p_type != PT_INTERP) continue;
    if (ph.p_filesz < 2 || ph.p_filesz > 4096) return {};
    std::string path(ph.p_filesz, '\0');
    if (!in.seekg(static_cast<std::streamoff>(ph.p_offset)) || !in.read(path.data(), ph.p_filesz)) return {};
    path.resize(path.find('\0'));
    return usable(path) ? path : std::string();
  }
  return {};
}

std::string access_text(PathAccessSet access) { return core::join(core::path_access_names(access), ","); }

std::string listed(const std::set<std::string>& paths) {
  constexpr std::size_t shown = 4;
  std::vector<std::string> first;
  for (const auto& p : paths) {
    if (first.size() == shown) break;
    first.push_back(p);
  }
  std::string out = core::join(first, ", ");
  if (paths.size() > shown) out += " and " + std::to_string(paths.size() - shown) + " more";
  return out;
}

// One rule's entry in the making.
struct Bucket {
  std::string rule;
  PathAccessSet access = 0;
  std::set<std::string> paths;
};

class Builder {
public:
  Builder(const std::vector<core::Trace>& traces, const PolicyGenOptions& options)
      : homes_(options.homes), loader_of_(options.loader_of) {
    for (const auto& t : traces)
      for (const auto& w : t.header.workspace)
        if (usable(w)) workspace_.insert(core::resolve_path("/", w));
    collect(traces);
    own_folders(traces);
    any_tmp_change_ = std::any_of(uses_.begin(), uses_.end(), [&](const Use& u) {
      return (u.access & changes) != 0 && path_within(u.path, "/tmp") && workspace_of(u.path).empty();
    });
  }

  void build(PolicyGenResult& out) {
    for (const auto& w : workspace_)
      if (too_wide_to_widen(w, homes_) && used_below(w))
        out.notes.push_back("rule workspace: " + w +
                            " is not widened to (a home, or a folder above one); what the "
                            "program used there is granted exactly as seen");
    for (const auto& use : uses_) place(use);
    for (auto& [key, b] : buckets_) emit(key, b, out);
    finish(out);
  }

  std::vector<std::string> failed;
  std::vector<std::string> notes;

private:
  void collect(const std::vector<core::Trace>& traces) {
    std::set<std::string> unresolved;
    for (const auto& t : traces) {
      for (const auto& f : t.files) {
        const std::string what =
            f.syscall + " " + f.path + " (" + core::join(core::file_access_names(f.access), ",") + ") by " + f.exe;
        if (f.result == core::Outcome::failed) {
          failed.push_back(what + " failed: not granted");
          continue;
        }
        if (!f.resolved() || f.path.find('\0') != std::string::npos) {
          unresolved.insert(what);
          continue;
        }
        add_use(core::resolve_path("/", f.path), path_access_of(f));
        if (!f.target.empty() && target_access_of(f) != 0) {
          if (f.target.starts_with('/') && f.target.find('\0') == std::string::npos)
            add_use(core::resolve_path("/", f.target), target_access_of(f));
          else unresolved.insert(f.syscall + " " + f.target + " (the old name) by " + f.exe);
        }
      }
      for (const auto& e : t.execs) {
        const std::string what = "exec " + e.path + " by " + e.exe;
        if (e.result == core::Outcome::failed) failed.push_back(what + " failed: not granted");
        else if (!e.path.starts_with('/') || e.path.find('\0') != std::string::npos) unresolved.insert(what);
        else add_use(core::resolve_path("/", e.path), runs_program);
      }
      // The traced command itself ran, though a recorder may show no exec of it (gVisor reports
      // the first process's start as no exec event).
      if (const auto* command = traced_program(t)) add_use(core::resolve_path("/", *command), runs_program);
    }
    loaders(traces);
    for (const auto& u : unresolved)
      notes.push_back(u + ": the path is relative (the recorder could not resolve it): not granted");
    std::sort(failed.begin(), failed.end());
    failed.erase(std::unique(failed.begin(), failed.end()), failed.end());
  }

  // The dynamic loader of each program that ran: the kernel opens it for exec (Landlock asks for
  // execute on it, and an empty root must show it), as named and as the file it resolves to.
  void loaders(const std::vector<core::Trace>& traces) {
    std::set<std::string> programs;
    for (const auto& t : traces) {
      if (const auto* command = traced_program(t)) programs.insert(core::resolve_path("/", *command));
      for (const auto& e : t.execs)
        if (e.result != core::Outcome::failed && usable(e.path)) programs.insert(core::resolve_path("/", e.path));
    }
    std::set<std::string> found;
    for (const auto& p : programs)
      for (const auto& loader : loader_of_ ? loader_of_(p) : host_loader_of(p))
        if (usable(loader)) {
          add_use(core::resolve_path("/", loader), runs_program);
          found.insert(loader);
        }
    for (const auto& loader : found)
      notes.push_back("the dynamic loader " + loader +
                      " is granted read and execute: the kernel opens it for exec, which no recorder shows");
  }

  void add_use(std::string path, PathAccessSet access) {
    if (access != 0) uses_.push_back({std::move(path), access});
  }

  // The program's own files: the folder of each program that ran (or made calls) outside the
  // system, the workspace and /tmp; its install prefix when that folder is a "bin".
  void own_folders(const std::vector<core::Trace>& traces) {
    std::set<std::string> programs;
    for (const auto& t : traces) {
      if (const auto* command = traced_program(t)) programs.insert(core::resolve_path("/", *command));
      for (const auto& e : t.execs)
        if (e.result != core::Outcome::failed && usable(e.path)) programs.insert(core::resolve_path("/", e.path));
      for (const auto& f : t.files)
        if (usable(f.exe)) programs.insert(core::resolve_path("/", f.exe));
    }
    for (const auto& p : programs) {
      if (system_folder_of(p) || path_within(p, "/tmp") || !workspace_of(p).empty()) continue;
      std::string folder = parent_of(p);
      const auto base = base_of(folder);
      if ((base == "bin" || base == "sbin") && !too_wide_to_widen(parent_of(folder), homes_))
        folder = parent_of(folder);
      if (!too_wide_to_widen(folder, homes_) && !system_folder_of(folder)) own_.insert(folder);
    }
  }

  const std::string_view* system_folder_of(std::string_view path) const {
    for (const auto& s : system_folders)
      if (path_within(path, s)) return &s;
    return nullptr;
  }

  // The deepest workspace folder holding `path` that may be widened to; empty when none.
  std::string workspace_of(std::string_view path) const {
    std::string best;
    for (const auto& w : workspace_)
      if (path_within(path, w) && !too_wide_to_widen(w, homes_) && w.size() > best.size()) best = w;
    return best;
  }

  bool used_below(const std::string& folder) const {
    return std::any_of(uses_.begin(), uses_.end(), [&](const Use& u) { return path_within(u.path, folder); });
  }

  void place(const Use& use) {
    const bool looks_only = (use.access & ~looks_and_runs) == 0;
    if (auto w = workspace_of(use.path); !w.empty()) {
      PathAccessSet access = use.access & looks_and_runs;
      if ((use.access & changes) != 0) access |= read_write;
      return add("workspace", w, access, use.path);
    }
    if (any_tmp_change_ && path_within(use.path, "/tmp")) return add("tmp", "/tmp", read_write | use.access, use.path);
    if (looks_only) {
      // Libraries are mapped executable, which a noexec mount refuses: the system folders are
      // read-only and executable wherever they are read.
      if (const auto* s = system_folder_of(use.path)) {
        const PathAccessSet runs = core::has(use.access, PathAccess::read) ? bit(PathAccess::execute) : 0;
        return add("system", std::string(*s), use.access | runs, use.path);
      }
      for (const auto& own : own_)
        if (path_within(use.path, own)) return add("own", own, use.access, use.path);
    }
    PathAccessSet access = use.access;
    // A folder that must not be widened to was read as a whole (open without O_DIRECTORY, then
    // getdents): "read" there would grant every file below it, so it gets its entries' names only.
    if (core::has(access, PathAccess::read) && too_wide_to_widen(use.path, homes_)) {
      access = static_cast<PathAccessSet>((access & ~bit(PathAccess::read)) | bit(PathAccess::list));
      downgraded_.insert(use.path);
    }
    add("exact", use.path, access, use.path);
  }

  void add(const std::string& rule, const std::string& folder, PathAccessSet access, const std::string& path) {
    auto& b = buckets_[{rule, folder}];
    b.rule = rule;
    b.access |= access;
    b.paths.insert(path);
  }

  void emit(const std::pair<std::string, std::string>& key, const Bucket& b, PolicyGenResult& out) {
    const auto& [rule, folder] = key;
    std::string reason;
    if (rule == "workspace") {
      reason = (b.access & changes) != 0 ? "the workspace, changed by the program (rule workspace)"
                                         : "the workspace, only read by the program (rule workspace)";
    } else if (rule == "tmp") {
      reason = "a private /tmp, written by the program (rule tmp)";
    } else if (rule == "system") {
      reason = "system files (rule system)";
    } else if (rule == "own") {
      reason = "the program's own files (rule own)";
    } else {
      reason = "as seen (rule exact)";
    }
    if (rule != "exact" && !(b.paths.size() == 1 && *b.paths.begin() == folder))
      out.widened.push_back("rule " + rule + " widened " + listed(b.paths) + " to " + folder + " (" +
                            access_text(b.access) + ")");
    entries_[folder].access |= b.access;
    auto& r = entries_[folder].reason;
    if (r.find(reason) == std::string::npos) r += (r.empty() ? "" : "; ") + reason;
  }

  void finish(PolicyGenResult& out) {
    for (const auto& p : downgraded_)
      out.notes.push_back("rule exact: " + p +
                          " was read as a whole; granted \"list\" (its entries' names), since "
                          "\"read\" on it would grant every file below it");
    for (const auto& [path, e] : entries_) {
      // An exact entry that a wider one already covers adds nothing.
      PathAccessSet above = 0;
      for (const auto& [other, o] : entries_)
        if (other != path && path_within(path, other)) above |= o.access;
      if (e.reason == "as seen (rule exact)" && (e.access & ~above) == 0) continue;
      out.policy.files.push_back({path, e.access, e.reason});
    }
  }

  struct Entry {
    PathAccessSet access = 0;
    std::string reason;
  };
  std::vector<std::string> homes_;
  std::function<std::vector<std::string>(const std::string&)> loader_of_;
  std::set<std::string> workspace_;
  std::set<std::string> own_;
  std::vector<Use> uses_;
  bool any_tmp_change_ = false;
  std::map<std::pair<std::string, std::string>, Bucket> buckets_;
  std::map<std::string, Entry> entries_;
  std::set<std::string> downgraded_;
};

std::string endpoint_protocol(const core::TraceNet& n, std::vector<std::string>& notes) {
  if (n.socktype == "stream") return "tcp";
  if (n.socktype == "dgram") return "udp";
  const std::string guess = n.syscall == "connect" || n.syscall == "bind" ? "tcp" : "udp";
  notes.push_back(n.syscall + " " + n.address + " port " + std::to_string(n.port) + " by " + n.exe +
                  ": the socket type was not recorded; taken as " + guess);
  return guess;
}

bool any_address(std::string_view address) { return address.empty() || address == "0.0.0.0" || address == "::"; }

void network(const std::vector<core::Trace>& traces, PolicyGenResult& out) {
  std::set<std::tuple<std::string, std::string, int>> connect, bind;
  std::set<std::string> unix_paths, other_families;
  for (const auto& t : traces) {
    for (const auto& n : t.nets) {
      const bool addressed =
          n.syscall == "connect" || n.syscall == "bind" || n.syscall == "sendto" || n.syscall == "sendmsg";
      if (!addressed) continue; // socket and listen name no endpoint: the seccomp profile rules them
      const std::string what = n.syscall + " " + n.family + " " + n.address +
                               (n.port >= 0 ? " port " + std::to_string(n.port) : "") + " by " + n.exe;
      if (n.result == core::Outcome::failed) {
        out.failed.push_back(what + " failed: not granted");
      } else if (n.family == "unix") {
        if (n.address.empty()) continue; // an unnamed socket: a socketpair's, or autobind
        if (n.address.starts_with('/') || n.address.starts_with('@')) unix_paths.insert(n.address);
        else out.notes.push_back(what + ": the socket path is relative: not granted");
      } else if (n.family == "inet" || n.family == "inet6") {
        if (n.port < 0) continue;
        auto protocol = endpoint_protocol(n, out.notes);
        if (n.syscall == "bind") bind.insert({protocol, any_address(n.address) ? "" : n.address, n.port});
        else if (!n.address.empty()) connect.insert({protocol, n.address, n.port});
      } else if (n.family != "unspec") {
        other_families.insert(n.family);
      }
    }
  }
  auto endpoints = [](const auto& set) {
    std::vector<core::Endpoint> list;
    for (const auto& [protocol, address, port] : set)
      list.push_back({protocol == "udp" ? core::Protocol::udp : core::Protocol::tcp, address, port});
    return list;
  };
  out.policy.network.connect = endpoints(connect);
  out.policy.network.bind = endpoints(bind);
  out.policy.network.unix_paths.assign(unix_paths.begin(), unix_paths.end());
  for (const auto& f : other_families)
    out.notes.push_back(f + " sockets are used; the network policy does not name them (the seccomp profile's "
                            "socket rule allows or denies them)");
}

} // namespace

std::vector<std::string> host_loader_of(const std::string& program) {
  const std::string loader = elf_interpreter(program);
  if (loader.empty()) return {};
  std::vector<std::string> out{loader};
  std::error_code ec;
  if (auto real = std::filesystem::canonical(loader, ec); !ec && real.string() != loader) out.push_back(real.string());
  return out;
}

bool path_within(std::string_view path, std::string_view folder) {
  if (folder == "/") return path.starts_with('/');
  return path == folder || (path.starts_with(folder) && path.size() > folder.size() && path[folder.size()] == '/');
}

bool too_wide_to_widen(std::string_view folder, const std::vector<std::string>& homes) {
  if (folder == "/" || folder.find('/', 1) == std::string_view::npos) return true; // "/" or a top-level folder
  if (folder == "/root") return true;
  if (folder.starts_with("/home/") && folder.find('/', 6) == std::string_view::npos) return true;
  return std::any_of(homes.begin(), homes.end(), [&](const std::string& h) {
    return !h.empty() && path_within(core::resolve_path("/", h), folder);
  });
}

core::PathAccessSet path_access_of(const core::TraceFile& f) {
  const auto a = f.access;
  PathAccessSet out = 0;
  if (core::has(a, FileAccess::read)) out |= bit(PathAccess::read);
  if (core::has(a, FileAccess::list)) out |= bit(PathAccess::list);
  if (core::has(a, FileAccess::write) || core::has(a, FileAccess::truncate) || core::has(a, FileAccess::append) ||
      core::has(a, FileAccess::chmod) || core::has(a, FileAccess::chown))
    out |= bit(PathAccess::write);
  if (core::has(a, FileAccess::create) || core::has(a, FileAccess::mkdir) || core::has(a, FileAccess::rename) ||
      core::has(a, FileAccess::link) || core::has(a, FileAccess::symlink) || core::has(a, FileAccess::mknod))
    out |= bit(PathAccess::create);
  if (core::has(a, FileAccess::remove)) out |= bit(PathAccess::remove);
  if (core::has(a, FileAccess::exec)) out |= bit(PathAccess::execute);
  return out;
}

core::PathAccessSet target_access_of(const core::TraceFile& f) {
  return core::has(f.access, FileAccess::rename) ? bit(PathAccess::remove) : PathAccessSet{0};
}

void refuse_without_behaviour(const std::vector<core::Trace>& traces, const std::vector<std::string>& names) {
  for (std::size_t i = 0; i < traces.size(); ++i) {
    if (traces[i].header.behaviour) continue;
    const std::string name = i < names.size() ? names[i] : "trace " + std::to_string(i + 1);
    const std::string source = traces[i].header.source.empty() ? "" : " (source " + traces[i].header.source + ")";
    throw core::Error(core::ErrorKind::invalid_input,
                      name + ": the recorder" + source +
                          " did not record behaviour (files, programs, network): a "
                          "policy from it would deny everything the program did, so --policy is refused",
                      "trace again with the eBPF recorder (the host's default where the kernel has it) or under "
                      "gVisor (--trust-level untrusted), which record behaviour");
  }
}

PolicyGenResult generate_access_policy(const std::vector<core::Trace>& traces, const PolicyGenOptions& options) {
  PolicyGenResult out;
  Builder builder(traces, options);
  builder.build(out);
  out.failed = std::move(builder.failed);
  out.notes.insert(out.notes.begin(), builder.notes.begin(), builder.notes.end());
  network(traces, out);
  std::sort(out.failed.begin(), out.failed.end());
  out.failed.erase(std::unique(out.failed.begin(), out.failed.end()), out.failed.end());
  return out;
}

} // namespace nucleus::profile
