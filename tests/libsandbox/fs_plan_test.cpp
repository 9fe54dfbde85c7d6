// The sandbox's file system as one plan, without privileges: for representative options, what is
// visible, from where, how it is mounted and what may be done there; where the workload starts and
// where its command is found. Both back ends render this plan, so these are the decisions both keep.
#include "test_support.hpp"

#include "nucleus/core/error.hpp"
#include "nucleus/sandbox/fs_plan.hpp"

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>

namespace sb = nucleus::sandbox;
namespace core = nucleus::core;
namespace fs = std::filesystem;
using nucleus::test::TempDir;

namespace {

const std::vector<std::string> sh{"/bin/sh"};

sb::FsHost at(const fs::path& cwd, uid_t euid = 1000) {
  sb::FsHost h;
  h.cwd = cwd;
  h.euid = euid;
  return h;
}

const sb::FsEntry* find(const sb::FsPlan& plan, const std::string& path) {
  for (const auto& e : plan.entries)
    if (e.path == path) return &e;
  return nullptr;
}

std::vector<std::string> paths(const sb::FsPlan& plan) {
  std::vector<std::string> out;
  for (const auto& e : plan.entries) out.push_back(e.path);
  return out;
}

core::ErrorKind refusal(const sb::IsolationConfig& config, const sb::FsHost& host, std::string* message = nullptr) {
  try {
    sb::plan_filesystem(config, sh, host);
  } catch (const core::Error& e) {
    if (message) *message = e.what();
    return e.kind();
  }
  ADD_FAILURE() << "planned without a refusal";
  return core::ErrorKind::internal;
}

} // namespace

TEST(FsPlan, DefaultViewIsTheHostRootReadOnlyWithFreshTmpRunProcDev) {
  sb::FsPlan plan = sb::plan_filesystem({}, sh, at("/"));
  ASSERT_GE(plan.entries.size(), 5u);
  const auto& root = plan.root();
  EXPECT_EQ(root.kind, sb::FsKind::root);
  EXPECT_EQ(root.source, "/");
  EXPECT_FALSE(root.writable);
  EXPECT_TRUE(root.nosuid && root.nodev);
  EXPECT_EQ(root.access, sb::fs_read_only);

  const auto* proc = find(plan, "/proc");
  ASSERT_NE(proc, nullptr);
  EXPECT_EQ(proc->kind, sb::FsKind::proc);
  EXPECT_TRUE(proc->nosuid && proc->nodev && proc->noexec);
  EXPECT_EQ(proc->access, sb::fs_read_only);
  if (fs::exists("/proc/sys")) {
    EXPECT_NE(std::find(proc->read_only_below.begin(), proc->read_only_below.end(), "/proc/sys"),
              proc->read_only_below.end());
  }

  const auto* dev = find(plan, "/dev");
  ASSERT_NE(dev, nullptr);
  EXPECT_EQ(dev->kind, sb::FsKind::dev);
  EXPECT_FALSE(dev->writable);
  EXPECT_TRUE(dev->noexec && dev->nosuid);
  EXPECT_EQ(dev->devices, (std::vector<std::string>{"null", "zero", "full", "random", "urandom", "tty"}));
  EXPECT_TRUE(sb::has(dev->access, sb::FsAccess::write)) << "the devices are written to";
  EXPECT_FALSE(sb::has(dev->access, sb::FsAccess::create)) << "nothing may be made in /dev";

  const auto* tmp = find(plan, "/tmp");
  ASSERT_NE(tmp, nullptr);
  EXPECT_EQ(tmp->kind, sb::FsKind::tmpfs);
  EXPECT_TRUE(tmp->writable && tmp->nosuid && tmp->nodev);
  EXPECT_FALSE(tmp->noexec);
  EXPECT_EQ(tmp->tmpfs_data, "mode=1777");
  EXPECT_EQ(tmp->access, sb::fs_full);
  const auto* shm = find(plan, "/dev/shm");
  ASSERT_NE(shm, nullptr);
  EXPECT_TRUE(shm->writable && shm->nosuid && shm->nodev && shm->noexec);

  // /run is an empty tmpfs, so no host daemon's socket below it is visible.
  if (fs::is_directory(fs::symlink_status("/run"))) {
    const auto* run = find(plan, "/run");
    ASSERT_NE(run, nullptr);
    EXPECT_EQ(run->kind, sb::FsKind::tmpfs);
    EXPECT_TRUE(run->source.empty());
    EXPECT_TRUE(run->nosuid && run->nodev && run->noexec);
    const auto* lock = find(plan, "/run/lock");
    ASSERT_NE(lock, nullptr);
    EXPECT_EQ(lock->make_first, (std::vector<std::string>{"/run/lock"})) << "made inside /run's fresh tmpfs";
  }
  for (const auto& e : plan.entries) {
    if (e.kind == sb::FsKind::directory) continue; // no mount of its own
    EXPECT_TRUE(e.nosuid) << e.path << ": every mount is nosuid";
  }
  EXPECT_EQ(plan.cwd, "/");
  EXPECT_EQ(plan.cwd_choice, sb::CwdChoice::caller);
  EXPECT_EQ(plan.command, fs::weakly_canonical("/bin/sh"));
}

TEST(FsPlan, RwIsWritableNosuidNodevAndRoIsReadOnly) {
  TempDir dir;
  fs::create_directory(dir / "out");
  nucleus::test::write_text(dir / "in.txt", "x");
  sb::IsolationConfig config;
  config.rw = {{(dir / "out").string(), "/srv/out"}};
  config.ro = {{(dir / "in.txt").string(), "/srv/in.txt"}};
  sb::FsPlan plan = sb::plan_filesystem(config, sh, at("/"));

  const auto* rw = find(plan, "/srv/out");
  ASSERT_NE(rw, nullptr);
  EXPECT_EQ(rw->kind, sb::FsKind::bind);
  EXPECT_EQ(rw->origin, sb::FsOrigin::rw);
  EXPECT_EQ(rw->source, (dir / "out").string());
  EXPECT_TRUE(rw->writable && rw->nosuid && rw->nodev && rw->directory);
  EXPECT_EQ(rw->access, sb::fs_full);
  EXPECT_TRUE(rw->needs_mount_point) << "the read-only root cannot make /srv/out";
  EXPECT_TRUE(rw->make_first.empty());

  const auto* ro = find(plan, "/srv/in.txt");
  ASSERT_NE(ro, nullptr);
  EXPECT_FALSE(ro->writable);
  EXPECT_FALSE(ro->directory);
  EXPECT_TRUE(ro->nosuid && ro->nodev);
  EXPECT_EQ(ro->access, sb::fs_read_only);

  // Files can be made in the fresh tmpfs mounts and the --rw bind, nowhere else.
  auto writable = sb::writable_paths(plan);
  EXPECT_NE(std::find(writable.begin(), writable.end(), "/srv/out"), writable.end());
  EXPECT_NE(std::find(writable.begin(), writable.end(), "/tmp"), writable.end());
  for (const char* never : {"/", "/srv/in.txt", "/dev", "/proc"})
    EXPECT_EQ(std::find(writable.begin(), writable.end(), never), writable.end()) << never;
}

TEST(FsPlan, MountPointsBelowAFreshTmpfsAreMadeInOrder) {
  TempDir dir;
  sb::IsolationConfig config;
  config.tmpfs = {"/scratch"};
  config.ro = {{dir.path().string(), "/tmp/a/b"}, {dir.path().string(), "/scratch/c"}};
  sb::FsPlan plan = sb::plan_filesystem(config, sh, at("/"));
  const auto* b = find(plan, "/tmp/a/b");
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->make_first, (std::vector<std::string>{"/tmp/a", "/tmp/a/b"}));
  EXPECT_FALSE(b->needs_mount_point);
  const auto* c = find(plan, "/scratch/c");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->make_first, (std::vector<std::string>{"/scratch/c"}));
  const auto* scratch = find(plan, "/scratch");
  ASSERT_NE(scratch, nullptr);
  EXPECT_TRUE(scratch->needs_mount_point);
  EXPECT_TRUE(scratch->writable && scratch->nosuid && scratch->nodev);
  EXPECT_EQ(scratch->origin, sb::FsOrigin::tmpfs);

  // Mount order: the sandbox's own view, then --tmpfs, then --ro, then --rw, so a bind can sit in a tmpfs.
  auto order = paths(plan);
  auto pos = [&](const std::string& p) { return std::find(order.begin(), order.end(), p) - order.begin(); };
  EXPECT_EQ(pos("/"), 0);
  EXPECT_LT(pos("/tmp"), pos("/scratch"));
  EXPECT_LT(pos("/scratch"), pos("/tmp/a/b"));
  EXPECT_LT(pos("/tmp/a/b"), pos("/scratch/c"));
}

TEST(FsPlan, BadBindsAreRefusedBeforeAnythingRuns) {
  TempDir dir;
  sb::IsolationConfig missing;
  missing.ro = {{(dir / "nope").string(), {}}};
  EXPECT_EQ(refusal(missing, at("/")), core::ErrorKind::not_found);
  sb::IsolationConfig relative;
  relative.tmpfs = {"scratch"};
  std::string message;
  EXPECT_EQ(refusal(relative, at("/"), &message), core::ErrorKind::usage);
  EXPECT_NE(message.find("--tmpfs scratch"), std::string::npos) << message;
  sb::IsolationConfig relative_dst;
  relative_dst.rw = {{dir.path().string(), "out"}};
  EXPECT_EQ(refusal(relative_dst, at("/"), &message), core::ErrorKind::usage);
  EXPECT_NE(message.find("--rw"), std::string::npos) << message;
  sb::IsolationConfig no_root;
  no_root.rootfs = (dir / "nope").string();
  EXPECT_EQ(refusal(no_root, at("/")), core::ErrorKind::not_found);
}

// A writable cgroup hierarchy would let the workload move itself out of the cgroup that carries its
// limits (--pids, memory, CPU): refused whether the folder is on a cgroup file system or a cgroup is
// mounted below it (binds are recursive); read-only, or with --host-root (trusted work), it is shown.
TEST(FsPlan, WritableCgroupHierarchiesAreRefused) {
  std::vector<std::string> cgroup_dirs;
  for (const char* dir : {"/sys/fs/cgroup/pids", "/sys/fs/cgroup/unified", "/sys/fs/cgroup"})
    if (fs::is_directory(dir)) cgroup_dirs.push_back(dir);
  if (cgroup_dirs.empty()) GTEST_SKIP() << "no cgroup file system mounted at /sys/fs/cgroup";
  for (const std::string& dir : std::vector<std::string>{cgroup_dirs.front(), "/sys/fs", "/sys"}) {
    sb::IsolationConfig rw;
    rw.rw = {{dir, {}}};
    std::string message;
    EXPECT_EQ(refusal(rw, at("/", 0), &message), core::ErrorKind::permission) << dir;
    EXPECT_NE(message.find("cgroup"), std::string::npos) << message;
    sb::IsolationConfig ro;
    ro.ro = {{dir, {}}};
    EXPECT_NO_THROW(sb::plan_filesystem(ro, sh, at("/", 0))) << dir;
  }
  sb::IsolationConfig trusted;
  trusted.host_root = true;
  trusted.rw = {{cgroup_dirs.front(), {}}};
  EXPECT_NO_THROW(sb::plan_filesystem(trusted, sh, at("/", 0)));
  TempDir plain; // an ordinary folder is not mistaken for one
  sb::IsolationConfig ordinary;
  ordinary.rw = {{plain.path().string(), {}}};
  EXPECT_NO_THROW(sb::plan_filesystem(ordinary, sh, at("/", ::geteuid())));
}

// Nucleus as root runs the workload as the unprivileged host uid: an --rw directory of another
// owner is shown through an idmap, one of root's is refused, one it may write is bound as it is.
TEST(FsPlan, RwOfAnotherOwnerIsIdmappedAndRootsIsRefused) {
  TempDir dir;
  const fs::path theirs = dir / "theirs";
  fs::create_directory(theirs);
  ::chmod(theirs.c_str(), 0755);
  sb::IsolationConfig config;
  config.rw = {{theirs.string(), {}}};
  const uid_t owner = ::geteuid();
  config.host_uid = owner == 4242 ? 4243 : 4242; // the workload's, never the owner's
  std::string message;
  if (owner == 0) {
    EXPECT_EQ(refusal(config, at("/", 0), &message), core::ErrorKind::permission);
    EXPECT_NE(message.find("owned by root"), std::string::npos) << message;
  } else {
    sb::FsPlan plan = sb::plan_filesystem(config, sh, at("/", 0));
    const auto* e = find(plan, theirs.string());
    ASSERT_NE(e, nullptr);
    ASSERT_TRUE(e->idmap.has_value());
    EXPECT_EQ(e->idmap->owner_uid, owner);
  }
  // Not as root, or as root with --host-root, or a directory anyone may write: a plain bind.
  EXPECT_FALSE(find(sb::plan_filesystem(config, sh, at("/", 1000)), theirs.string())->idmap);
  sb::IsolationConfig host_root = config;
  host_root.host_root = true;
  EXPECT_FALSE(find(sb::plan_filesystem(host_root, sh, at("/", 0)), theirs.string())->idmap);
  ::chmod(theirs.c_str(), 0777);
  EXPECT_FALSE(find(sb::plan_filesystem(config, sh, at("/", 0)), theirs.string())->idmap);
}

TEST(FsPlan, WorkingDirectoryIsTheCallersWhenVisible) {
  TempDir dir;
  fs::create_directory(dir / "work");
  // Visible in the host root: kept as it is.
  sb::FsPlan plain = sb::plan_filesystem({}, sh, at("/usr"));
  EXPECT_EQ(plain.cwd, "/usr");
  EXPECT_EQ(plain.cwd_choice, sb::CwdChoice::caller);
  // Below a fresh tmpfs: the directory is bound back read-only, and the workload starts there.
  sb::IsolationConfig hidden;
  hidden.tmpfs = {dir.path().string()};
  sb::FsPlan bound = sb::plan_filesystem(hidden, sh, at(dir / "work"));
  EXPECT_EQ(bound.cwd, (dir / "work").string());
  EXPECT_EQ(bound.cwd_choice, sb::CwdChoice::caller);
  const auto* back = find(bound, fs::weakly_canonical(dir / "work").string());
  ASSERT_NE(back, nullptr);
  EXPECT_EQ(back->origin, sb::FsOrigin::cwd);
  EXPECT_FALSE(back->writable);
  // The fresh tmpfs itself: never bound back (that would show the host's), so "/".
  sb::FsPlan at_tmp = sb::plan_filesystem({}, sh, at("/tmp"));
  EXPECT_EQ(at_tmp.cwd, "/");
  EXPECT_EQ(at_tmp.cwd_choice, sb::CwdChoice::hidden);
  for (const auto& e : at_tmp.entries) EXPECT_NE(e.source, "/tmp") << "the host's /tmp is never shown";
  // Unknown, or another root: "/".
  EXPECT_EQ(sb::plan_filesystem({}, sh, at("")).cwd_choice, sb::CwdChoice::unknown);
  EXPECT_EQ(sb::plan_filesystem({}, sh, at("")).cwd, "/");
}

TEST(FsPlan, CommandBelowAFreshTmpfsStaysVisible) {
  TempDir dir;
  fs::create_directory(dir / "bin");
  const fs::path app = dir / "bin" / "app";
  nucleus::test::write_text(app, "#!/bin/sh\n");
  ::chmod(app.c_str(), 0755);
  sb::IsolationConfig config;
  config.tmpfs = {dir.path().string()};
  sb::FsPlan plan = sb::plan_filesystem(config, {app.string()}, at("/"));
  EXPECT_EQ(plan.command, fs::weakly_canonical(app));
  const auto* bin = find(plan, fs::weakly_canonical(dir / "bin").string());
  ASSERT_NE(bin, nullptr);
  EXPECT_EQ(bin->origin, sb::FsOrigin::command);
  EXPECT_FALSE(bin->writable);
  // Already covered by a bind of the user's: nothing added.
  config.ro = {{(dir / "bin").string(), {}}};
  sb::FsPlan covered = sb::plan_filesystem(config, {app.string()}, at("/"));
  for (const auto& e : covered.entries) EXPECT_NE(e.origin, sb::FsOrigin::command) << e.path;
  // Not found: no path, nothing bound.
  EXPECT_TRUE(sb::plan_filesystem({}, {"no-such-command-for-nucleus"}, at("/")).command.empty());
}

TEST(FsPlan, RootfsShowsOnlyItsTree) {
  TempDir dir;
  for (const char* d : {"proc", "dev", "tmp", "run", "var"}) fs::create_directory(dir / d);
  fs::create_directory_symlink("../run", dir / "var" / "run");
  sb::IsolationConfig config;
  config.rootfs = dir.path().string();
  sb::FsPlan plan = sb::plan_filesystem(config, sh, at(dir.path()));
  EXPECT_EQ(plan.root().source, dir.path().string());
  EXPECT_EQ(plan.root().origin, sb::FsOrigin::rootfs);
  EXPECT_EQ(plan.cwd, "/");
  EXPECT_EQ(plan.cwd_choice, sb::CwdChoice::rootfs);
  for (const char* p : {"/proc", "/dev", "/tmp"}) {
    const auto* e = find(plan, p);
    ASSERT_NE(e, nullptr) << p;
    EXPECT_TRUE(e->needs_mount_point) << p << " must exist in the --rootfs tree";
  }
  EXPECT_NE(find(plan, "/run"), nullptr);
  EXPECT_EQ(find(plan, "/var/run"), nullptr) << "a symlink to /run follows it";
  for (const auto& e : plan.entries)
    EXPECT_TRUE(e.origin != sb::FsOrigin::command && e.origin != sb::FsOrigin::cwd) << e.path;
}

namespace {

core::AccessPolicy policy_of(std::vector<core::PathRule> files) {
  core::AccessPolicy p;
  p.files = std::move(files);
  return p;
}

constexpr core::PathAccessSet rx = 1u | 8u;              // read, execute
constexpr core::PathAccessSet rwcr = 1u | 2u | 4u | 16u; // read, write, create, remove

} // namespace

// Only the policy's paths are visible: the root is empty and read-only, each path a bind of
// itself with the policy's access, writable only where it lets files change, noexec where it
// does not let them run.
TEST(FsPlanPolicy, OnlyThePolicysPathsWithTheirAccess) {
  TempDir dir;
  fs::create_directories(dir / "work");
  fs::create_directories(dir / "data");
  sb::IsolationConfig config;
  config.policy = policy_of({{"/usr", rx}, {(dir / "data").string(), 1u}, {(dir / "work").string(), rwcr}});
  sb::FsPlan plan = sb::plan_filesystem(config, {"/usr/bin/true"}, at(dir / "work"));
  EXPECT_TRUE(plan.empty_root());
  EXPECT_EQ(plan.root().access, sb::FsAccess::none);
  const auto* usr = find(plan, "/usr");
  ASSERT_NE(usr, nullptr);
  EXPECT_EQ(usr->origin, sb::FsOrigin::policy);
  EXPECT_EQ(usr->source, "/usr");
  EXPECT_FALSE(usr->writable);
  EXPECT_FALSE(usr->noexec);
  EXPECT_EQ(usr->make_first, std::vector<std::string>{"/usr"}) << "the mount point is made in the empty root";
  const auto* data = find(plan, (dir / "data").string());
  ASSERT_NE(data, nullptr);
  EXPECT_FALSE(data->writable);
  EXPECT_TRUE(data->noexec);
  EXPECT_EQ(data->access, sb::FsAccess::read);
  const auto* work = find(plan, (dir / "work").string());
  ASSERT_NE(work, nullptr);
  EXPECT_TRUE(work->writable);
  EXPECT_EQ(static_cast<unsigned>(work->access), rwcr);
  // The policy grants nothing in /tmp: the sandbox's own, empty, read-only.
  const auto* tmp = find(plan, "/tmp");
  ASSERT_NE(tmp, nullptr);
  EXPECT_FALSE(tmp->writable);
  EXPECT_EQ(tmp->access, sb::FsAccess::none);
  EXPECT_EQ(plan.cwd, (dir / "work").string()) << "the policy lets the working directory be read";
  for (const auto& e : plan.entries) EXPECT_NE(e.origin, sb::FsOrigin::command) << e.path;
}

// A policy's file below a --rw folder (what gen writes for an input the job only read) is bound on
// the folder's tree, so the folder is mounted first; the other way round the file's mount point
// would not exist yet in the empty root, and the folder would hide the file's mount.
TEST(FsPlanPolicy, AFolderIsMountedBeforeThePathsBelowIt) {
  TempDir dir;
  fs::create_directories(dir / "work");
  nucleus::test::write_text(dir / "work/in.txt", "x\n");
  sb::IsolationConfig config;
  config.policy = policy_of({{"/usr", rx}, {(dir / "work/in.txt").string(), 1u}});
  config.rw = {{(dir / "work").string(), {}}};
  sb::FsPlan plan = sb::plan_filesystem(config, {"/usr/bin/true"}, at("/"));
  std::ptrdiff_t folder = -1, file = -1;
  for (std::size_t i = 0; i < plan.entries.size(); ++i) {
    if (plan.entries[i].path == (dir / "work").string()) folder = static_cast<std::ptrdiff_t>(i);
    if (plan.entries[i].path == (dir / "work/in.txt").string()) file = static_cast<std::ptrdiff_t>(i);
  }
  ASSERT_GE(folder, 0);
  ASSERT_GE(file, 0);
  EXPECT_LT(folder, file);
  EXPECT_TRUE(plan.entries[static_cast<std::size_t>(file)].make_first.empty()) << "the folder's tree has the file";
}

// A path the host does not have below a fresh tmpfs is the workload's to make: the tmpfs takes its
// access. Elsewhere it is noted and not shown.
TEST(FsPlanPolicy, AbsentPathsWidenOnlyAFreshTmpfs) {
  sb::IsolationConfig config;
  config.policy = policy_of({{"/no-such-dir-for-nucleus", rwcr}, {"/tmp/nucleus-not-there-xyz", rwcr}, {"/usr", rx}});
  sb::FsPlan plan = sb::plan_filesystem(config, {"/usr/bin/true"}, at("/"));
  EXPECT_EQ(find(plan, "/no-such-dir-for-nucleus"), nullptr);
  ASSERT_EQ(plan.notes.size(), 1u);
  EXPECT_NE(plan.notes[0].find("/no-such-dir-for-nucleus does not exist"), std::string::npos);
  const auto* tmp = find(plan, "/tmp");
  ASSERT_NE(tmp, nullptr);
  EXPECT_TRUE(tmp->writable);
  EXPECT_EQ(static_cast<unsigned>(tmp->access), rwcr);
  EXPECT_EQ(plan.cwd_choice, sb::CwdChoice::hidden) << "the policy does not grant /";
}

TEST(FsPlanPolicy, CommandThePolicyDoesNotLetRunIsRefused) {
  sb::IsolationConfig config;
  config.policy = policy_of({{"/usr", 1u}});
  config.policy_source = "app.policy.json";
  std::string message;
  try {
    sb::plan_filesystem(config, {"/usr/bin/true"}, at("/"));
    ADD_FAILURE() << "planned";
  } catch (const core::Error& e) {
    EXPECT_EQ(e.kind(), core::ErrorKind::permission);
    message = std::string(e.what()) + " " + e.hint();
  }
  EXPECT_NE(message.find("not granted execute"), std::string::npos) << message;
  EXPECT_NE(message.find("nucleus-profile add app.policy.json --path"), std::string::npos) << message;
  config.rootfs = "/";
  config.policy = policy_of({{"/usr", rx}});
  EXPECT_EQ(refusal(config, at("/")), core::ErrorKind::usage) << "--policy with --rootfs";
}
