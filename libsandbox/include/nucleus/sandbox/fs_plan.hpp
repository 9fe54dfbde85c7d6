// The sandbox's file system, decided once: every path the workload sees, where it comes from on
// the host, how it is mounted and what may be done there, the directory the workload starts in and
// where its command is found. Use: plan_filesystem() from the isolation options (prepare() does
// it), then one renderer: natively (libsandbox/src/ns_mount.cpp: mounts below a staging root, and
// the Landlock rules that follow from the entries' access) or for gVisor (libsandbox/src/gvisor.cpp:
// the OCI bundle's root, mounts and process.cwd). A renderer realises what the plan says and
// decides nothing of its own; where its back end cannot realise an entry, it refuses.
#pragma once

#include "nucleus/sandbox/isolation.hpp"

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nucleus::sandbox {

// What may be asked of a path and everything below it (natively: Landlock rights). The same words
// as the files policy's per-path access, so that its paths can become entries of this plan.
enum class FsAccess : unsigned {
  none = 0,
  read = 1U << 0,    // read files, list directories
  write = 1U << 1,   // write and truncate existing files (device nodes included)
  create = 1U << 2,  // make files, directories, links, sockets, FIFOs; rename into
  execute = 1U << 3, // run files
  remove = 1U << 4,  // remove files and directories
  list = 1U << 5,    // list a directory's entries (and those below), read no file: Landlock's READ_DIR
                     // alone; under gVisor a mount cannot show names without contents, so such a
                     // directory is shown empty
};
constexpr FsAccess operator|(FsAccess a, FsAccess b) noexcept {
  return static_cast<FsAccess>(static_cast<unsigned>(a) | static_cast<unsigned>(b));
}
constexpr bool has(FsAccess set, FsAccess bit) noexcept {
  return (static_cast<unsigned>(set) & static_cast<unsigned>(bit)) != 0;
}
inline constexpr FsAccess fs_read_only = FsAccess::read | FsAccess::execute;
inline constexpr FsAccess fs_full = fs_read_only | FsAccess::write | FsAccess::create | FsAccess::remove;

enum class FsKind {
  root,      // `source` (the host's root, or --rootfs) as "/", read-only; with a policy, `source` is
             // empty: an empty read-only tmpfs, in which only the mount points are made
  bind,      // the host file or directory `source` at `path`
  tmpfs,     // an empty memory file system
  proc,      // a fresh /proc: only the sandbox's processes
  dev,       // a minimal /dev: `devices` (natively bound from the host; gVisor serves its own)
  directory, // an empty directory made inside a fresh tmpfs, without a mount of its own
};

// Why an entry is there: the flag a message about it names.
enum class FsOrigin {
  sandbox, // nucleus's own view (/proc, /dev, /tmp, /run, ...)
  rootfs,  // the root, from --rootfs
  ro,
  rw,
  tmpfs,
  command, // the directory of the command, bound read-only where a fresh tmpfs would hide it
  cwd,     // the same for the directory it is started from
  policy,  // a path of the files policy (--policy), with the access it grants
};
// "--ro", "--rw", "--tmpfs", "--rootfs", "--policy" ("--ro" for command and cwd, which are read-only binds);
// empty for the sandbox's own entries.
std::string_view origin_flag(FsOrigin origin) noexcept;

// An --rw directory owned by another uid than the workload's: files owned by owner_uid:owner_gid
// on disk appear as the workload's own, and what it creates there is stored as theirs.
struct FsIdmap {
  std::uint32_t owner_uid = 0;
  std::uint32_t owner_gid = 0;
};

struct FsEntry {
  FsKind kind = FsKind::bind;
  FsOrigin origin = FsOrigin::sandbox;
  std::string path;      // inside the sandbox: absolute, lexically normal
  std::string source;    // root and bind: the host path (absolute, normal); empty otherwise
  bool directory = true; // a bind of a single file: false
  bool writable = false; // the mount itself (a read-only mount refuses every write, Landlock or not)
  bool nosuid = true;
  bool nodev = true;
  bool noexec = false;
  std::string tmpfs_data;                   // tmpfs and dev: the mount data ("mode=1777")
  FsAccess access = fs_read_only;           // what may be done below `path`
  std::vector<std::string> make_first;      // paths made, in order, inside a fresh tmpfs to mount on
                                            // (the last one a file when !directory)
  bool needs_mount_point = false;           // the mount point must already exist in the (read-only) root
  std::optional<FsIdmap> idmap;             // rw bind of another owner's directory
  std::vector<std::string> read_only_below; // proc: the host kernel's knobs, kept read-only by mount
  std::vector<std::string> devices;         // dev: the device nodes, e.g. "null"
  std::string shown_as;                     // the user's own spelling of the source, for messages
  std::string purpose;                      // for --verbose: why the sandbox adds it ("no host sockets")
};

// How the working directory inside was chosen.
enum class CwdChoice {
  caller,  // the caller's own directory, visible at the same path
  rootfs,  // "/": --rootfs shows another tree, where the caller's directory means nothing
  hidden,  // "/": a fresh tmpfs (/tmp, --tmpfs) hides the caller's directory
  unknown, // "/": the caller's directory could not be read
};

// A files policy (IsolationConfig::policy) plugs in here: its paths become entries (binds of the
// host path, access from the policy, writable only where it allows write, create or remove,
// noexec where it does not allow execute), and the root becomes an empty read-only tmpfs instead
// of the host's, so that only the policy's paths are visible: a path it does not grant is absent,
// not merely refused, so nothing of it (existence, size, a socket in it) reaches the workload.
// The sandbox's own /proc, /dev and fresh tmpfs mounts stay; a fresh tmpfs (/tmp, /run, --tmpfs)
// holds nothing of the host, so its access is the policy's for it and for every path below it.
// Natively the Landlock rules then follow each entry's access; gVisor mounts exactly those
// entries, read-only where so.
struct FsPlan {
  std::vector<FsEntry> entries; // in mount order, the root first; a later entry may lie below an earlier one
  std::string cwd;              // the working directory inside
  CwdChoice cwd_choice = CwdChoice::caller;
  std::filesystem::path command; // the command's executable on the host (canonical); empty when not found
  // Kernels without mount_setattr (before 5.12) can make only the top mount of a read-only bind
  // read-only: accepted only with --allow-degraded-security.
  bool partial_read_only_ok = false;
  // Policy paths that could not be shown (absent on the host), for the user.
  std::vector<std::string> notes;

  const FsEntry& root() const { return entries.front(); }
  bool empty_root() const { return entries.front().source.empty(); }
};

// What plan_filesystem() reads of the calling process; tests give their own.
struct FsHost {
  std::filesystem::path cwd; // empty: unknown
  uid_t euid = 0;            // as root (and not --host-root) the workload is host_uid, not the caller
  static FsHost current();
};

// Decides the file system for `config` and `command` (whose first word is the command). Reads the
// host (sources, their owners, the root's runtime directories), never changes it. Throws Error
// (usage, not_found, permission) for a bind the sandbox cannot or must not show.
FsPlan plan_filesystem(const IsolationConfig& config, const std::vector<std::string>& command,
                       const FsHost& host = FsHost::current());

// A policy's access words as the plan's (the same bits).
FsAccess fs_access(core::PathAccessSet access) noexcept;

// The mounts inside the sandbox where files may be made, in the plan's order (for --verbose).
std::vector<std::string> writable_paths(const FsPlan& plan);

} // namespace nucleus::sandbox
