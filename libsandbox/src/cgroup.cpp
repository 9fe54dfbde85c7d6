#include "cgroup.hpp"

#include "child_util.hpp"
#include "nucleus/core/error.hpp"
#include "nucleus/core/io.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <sstream>
#include <thread>

namespace nucleus::sandbox::detail {
using core::Error;
using core::ErrorKind;
using core::read_file;
using core::throw_errno;
using core::UniqueFd;
namespace {

namespace fs = std::filesystem;

struct Mount {
  std::string root; // the hierarchy path the mount shows
  std::string mountpoint;
};

std::vector<std::string> split(std::string_view s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s) {
    if (c == sep) {
      out.push_back(cur);
      cur.clear();
    } else {
      cur.push_back(c);
    }
  }
  out.push_back(cur);
  return out;
}

// /proc/self/mountinfo: "id parent maj:min root mountpoint opts [optional...] - fstype source superopts".
std::optional<Mount> find_mount(const std::string& mountinfo, bool v2, const std::string& controller) {
  std::istringstream in(mountinfo);
  std::string line;
  while (std::getline(in, line)) {
    auto dash = line.find(" - ");
    if (dash == std::string::npos) continue;
    auto left = split(line.substr(0, dash), ' ');
    auto right = split(line.substr(dash + 3), ' ');
    if (left.size() < 5 || right.size() < 3) continue;
    if (v2 ? right[0] != "cgroup2" : right[0] != "cgroup") continue;
    if (!v2) {
      bool has = false;
      for (const auto& opt : split(right[2], ','))
        if (opt == controller) has = true;
      if (!has) continue;
    }
    return Mount{left[3], left[4]};
  }
  return std::nullopt;
}

// Our own cgroup in a hierarchy, from /proc/self/cgroup ("N:controllers:/path"; v2 is "0::/path").
std::string own_cgroup(const std::string& cgroups, bool v2, const std::string& controller) {
  std::istringstream in(cgroups);
  std::string line;
  while (std::getline(in, line)) {
    auto first = line.find(':');
    auto second = line.find(':', first + 1);
    if (first == std::string::npos || second == std::string::npos) continue;
    std::string controllers = line.substr(first + 1, second - first - 1);
    if (v2 ? controllers.empty() : [&] {
          for (const auto& c : split(controllers, ','))
            if (c == controller) return true;
          return false;
        }())
      return line.substr(second + 1);
  }
  return "/";
}

std::string directory_of(const Mount& m, const std::string& cgroup) {
  std::string rel = cgroup;
  if (m.root != "/" && rel.rfind(m.root, 0) == 0) rel = rel.substr(m.root.size());
  return (fs::path(m.mountpoint) / fs::path(rel).relative_path()).lexically_normal().string();
}

void write_control(const std::string& dir, const std::string& file, const std::string& value) {
  std::string path = dir + "/" + file;
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) throw_errno("cannot open " + path);
  int err = write_all(fd, value.data(), value.size());
  ::close(fd);
  if (err != 0) throw_errno(err, "cannot write '" + value + "' to " + path);
}

bool v2_has(const std::string& dir, const std::vector<std::string>& needed) {
  std::string have;
  try {
    have = read_file(dir + "/cgroup.controllers");
  } catch (const Error&) {
    return false;
  }
  auto list = split(have.substr(0, have.find('\n')), ' ');
  for (const auto& n : needed) {
    bool found = false;
    for (const auto& h : list) found = found || h == n;
    if (!found) return false;
  }
  return true;
}

std::string format_cpu_quota(double cpus, std::uint64_t period) {
  return std::to_string(static_cast<std::uint64_t>(cpus * static_cast<double>(period)));
}

} // namespace

Cgroups Cgroups::create(const CgroupLimits& limits, const std::string& name) {
  Cgroups cg;
  if (!limits.any()) return cg;
  std::vector<std::string> needed;
  if (limits.memory_bytes) needed.push_back("memory");
  if (limits.pids) needed.push_back("pids");
  if (limits.cpus) needed.push_back("cpu");
  auto make_dir = [&](const std::string& parent) {
    // The name holds our pid, which an earlier nucleus may have had: a group it could not remove
    // (its processes were still leaving) is skipped, never joined.
    std::string dir = parent + "/" + name;
    for (int attempt = 1; ::mkdir(dir.c_str(), 0755) != 0; ++attempt) {
      if (errno != EEXIST || attempt > 64)
        throw_errno("cannot create the cgroup " + dir,
                    "cgroup limits need write access to the cgroup hierarchy (run as root)");
      dir = parent + "/" + name + "." + std::to_string(attempt);
    }
    cg.groups_.push_back({dir, UniqueFd()});
    return dir;
  };
  auto open_join = [&](Group& g, const char* file) {
    std::string path = g.dir + "/" + file;
    g.join.reset(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
    if (!g.join) throw_errno("cannot open " + path);
  };

  // Read once: each hierarchy below is looked up in the same two files.
  const std::string mountinfo = read_file("/proc/self/mountinfo");
  const std::string own = read_file("/proc/self/cgroup");
  // cgroup v2 if it has every controller we need (and we may enable them for a child group).
  if (auto v2 = find_mount(mountinfo, true, {})) {
    std::string parent = directory_of(*v2, own_cgroup(own, true, {}));
    if (v2_has(parent, needed)) {
      std::string enable;
      for (const auto& n : needed) enable += "+" + n + " ";
      bool enabled = true;
      try {
        write_control(parent, "cgroup.subtree_control", enable);
      } catch (const Error&) {
        enabled = false; // busy: processes in our own group ("no internal processes"); try v1
      }
      if (enabled) {
        std::string dir = make_dir(parent);
        if (limits.memory_bytes) {
          write_control(dir, "memory.max", std::to_string(*limits.memory_bytes));
          if (fs::exists(dir + "/memory.swap.max")) write_control(dir, "memory.swap.max", "0");
          cg.memory_events_ = dir + "/memory.events";
          cg.described_.push_back("cgroup v2 " + dir + ": memory.max " + std::to_string(*limits.memory_bytes));
        }
        if (limits.pids) {
          write_control(dir, "pids.max", std::to_string(*limits.pids));
          cg.pids_events_ = dir + "/pids.events";
          cg.described_.push_back("cgroup v2 " + dir + ": pids.max " + std::to_string(*limits.pids));
        }
        if (limits.cpus) {
          write_control(dir, "cpu.max", format_cpu_quota(*limits.cpus, 100000) + " 100000");
          cg.described_.push_back("cgroup v2 " + dir + ": cpu.max for " + std::to_string(*limits.cpus) + " CPUs");
        }
        cg.memory_ = limits.memory_bytes;
        cg.pids_ = limits.pids;
        open_join(cg.groups_.back(), "cgroup.procs");
        return cg;
      }
    }
  }

  // cgroup v1: one hierarchy per controller.
  for (const auto& controller : needed) {
    auto m = find_mount(mountinfo, false, controller);
    if (!m)
      throw Error(ErrorKind::unsupported,
                  "cannot limit " + controller + ": the " + controller +
                      " controller is available neither in cgroup v2 nor in v1",
                  "mount the controller, or run without the limit");
    std::string dir = make_dir(directory_of(*m, own_cgroup(own, false, controller)));
    if (controller == "memory") {
      write_control(dir, "memory.limit_in_bytes", std::to_string(*limits.memory_bytes));
      if (fs::exists(dir + "/memory.memsw.limit_in_bytes"))
        write_control(dir, "memory.memsw.limit_in_bytes", std::to_string(*limits.memory_bytes));
      cg.memory_events_ = dir + "/memory.oom_control";
      cg.described_.push_back("cgroup v1 " + dir + ": memory.limit_in_bytes " + std::to_string(*limits.memory_bytes));
    } else if (controller == "pids") {
      write_control(dir, "pids.max", std::to_string(*limits.pids));
      cg.pids_events_ = dir + "/pids.events";
      cg.described_.push_back("cgroup v1 " + dir + ": pids.max " + std::to_string(*limits.pids));
    } else {
      write_control(dir, "cpu.cfs_period_us", "100000");
      write_control(dir, "cpu.cfs_quota_us", format_cpu_quota(*limits.cpus, 100000));
      cg.described_.push_back("cgroup v1 " + dir + ": cpu.cfs_quota_us for " + std::to_string(*limits.cpus) + " CPUs");
    }
    open_join(cg.groups_.back(), "tasks");
  }
  cg.memory_ = limits.memory_bytes;
  cg.pids_ = limits.pids;
  return cg;
}

Cgroups::~Cgroups() {
  for (auto& g : groups_) {
    g.join.reset();
    // A memory cgroup may stay busy for a moment after its last process was reaped.
    for (int attempt = 0; attempt < 50; ++attempt) {
      if (::rmdir(g.dir.c_str()) == 0 || errno == ENOENT) break;
      if (errno != EBUSY) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
}

std::vector<int> Cgroups::join_fds() const {
  std::vector<int> fds;
  for (const auto& g : groups_) fds.push_back(g.join.get());
  return fds;
}

std::uint64_t Cgroups::oom_kills() const {
  if (memory_events_.empty()) return 0;
  std::istringstream in;
  try {
    in.str(read_file(memory_events_));
  } catch (const Error&) {
    return 0;
  }
  std::string key;
  std::uint64_t value = 0;
  while (in >> key >> value)
    if (key == "oom_kill") return value;
  return 0;
}

std::uint64_t Cgroups::pids_limit_hits() const {
  if (pids_events_.empty()) return 0;
  std::istringstream in;
  try {
    in.str(read_file(pids_events_));
  } catch (const Error&) {
    return 0;
  }
  std::string key;
  std::uint64_t value = 0;
  while (in >> key >> value)
    if (key == "max") return value;
  return 0;
}

int join_cgroups(const ChildPlan& plan) noexcept {
  for (int i = 0; i < plan.cgroup_fd_count; ++i) {
    if (int err = write_all(plan.cgroup_join_fds[i], "0", 1); err != 0) return err;
  }
  return 0;
}

} // namespace nucleus::sandbox::detail
