// Behaviour records: what a traced program did with its syscalls, the files it asked for, the
// programs it started and the network endpoints it used, per executable. The recorders (eBPF on the
// host, gVisor's stream) decode their calls with the functions below, so that both say the same
// thing of the same call, and keep them in a BehaviourSet: distinct records, counted, capped.
// The trace log carries them as "exec", "file" and "net" lines (trace_log.hpp).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

namespace nucleus::core {

// Whether the call succeeded, where the recorder knows it. Written as "result": "ok" or "failed";
// absent when unknown.
enum class Outcome : std::uint8_t { unknown, ok, failed };
std::string_view outcome_name(Outcome outcome); // "", "ok", "failed"
std::optional<Outcome> outcome_from_name(std::string_view name);
// The outcome of `syscall` that ended with `error` (0, or the errno it failed with), the same for
// every recorder: a non-blocking connect in progress (EINPROGRESS) is an attempt the kernel
// accepted, reached as soon as the handshake ends, so it is a use a policy must grant (most
// network clients connect so), not a failure.
Outcome outcome_of_call(std::string_view syscall, int error);

// What a call asked of a file; a set, since one open can ask several (O_WRONLY|O_CREAT|O_TRUNC).
enum class FileAccess : std::uint16_t {
  read = 1u << 0,
  write = 1u << 1,
  create = 1u << 2,
  truncate = 1u << 3,
  append = 1u << 4,
  exec = 1u << 5,   // execve/execveat of the file, or open with O_EXEC semantics (uselib)
  list = 1u << 6,   // a directory opened to be listed (O_DIRECTORY)
  lookup = 1u << 7, // O_PATH: a handle that grants no read or write
  remove = 1u << 8, // unlink, unlinkat, rmdir
  rename = 1u << 9, // the new name of a rename; "target" holds the old one
  mkdir = 1u << 10,
  chmod = 1u << 11,
  chown = 1u << 12,
  link = 1u << 13,    // the new name of a hard link; "target" holds the file linked
  symlink = 1u << 14, // the new symbolic link; "target" holds its content
  mknod = 1u << 15,
};
using FileAccessSet = std::uint16_t;
inline constexpr FileAccessSet operator|(FileAccess a, FileAccess b) {
  return static_cast<FileAccessSet>(static_cast<FileAccessSet>(a) | static_cast<FileAccessSet>(b));
}
inline constexpr bool has(FileAccessSet set, FileAccess a) { return (set & static_cast<FileAccessSet>(a)) != 0; }
// The names of the set in a fixed order ("read", "write", ...), and back; nullopt for an unknown name.
std::vector<std::string> file_access_names(FileAccessSet set);
std::optional<FileAccess> file_access_from_name(std::string_view name);
// What an open(2) flags word asks: O_ACCMODE, O_CREAT, O_TRUNC, O_APPEND, O_DIRECTORY, O_PATH.
FileAccessSet open_flags_access(std::uint64_t flags);

// A program started: execve or execveat. `exe` is the executable that made the call (the parent),
// `path` the program it asked for.
struct TraceExec {
  std::string exe;
  std::string path;
  std::vector<std::string> argv; // at most exec_argv_max arguments of exec_arg_bytes_max bytes each
  bool argv_truncated = false;   // more arguments, or longer ones, than kept
  Outcome result = Outcome::unknown;
  std::uint64_t count = 0;
  friend bool operator==(const TraceExec&, const TraceExec&) = default;
};
inline constexpr std::size_t exec_argv_max = 16;
inline constexpr std::size_t exec_arg_bytes_max = 128;

// A file asked for. `path` is absolute when the recorder could resolve it (against the caller's
// working directory or the directory descriptor it passed), normalised lexically ("." and ".."
// folded, symbolic links not followed); a path that does not start with "/" could not be resolved.
struct TraceFile {
  std::string exe;
  std::string syscall; // "openat", "rename", ...
  std::string path;
  FileAccessSet access = 0;
  std::string target = {}; // rename: the old name; link: the file linked; symlink: the link's content
  Outcome result = Outcome::unknown;
  std::uint64_t count = 0;
  // The mode asked for, where the call carries one: chmod/fchmod/fchmodat's, and open/openat/creat/
  // mkdir/mknod's for a file they create (O_CREAT). The review looks for set-id bits in it.
  // Written as "mode"; -1 (absent) when the call has none or the recorder did not keep it.
  int mode = -1;
  bool resolved() const noexcept { return path.starts_with('/'); }
  friend bool operator==(const TraceFile&, const TraceFile&) = default;
};

// A network call: socket (family and type), connect, bind, listen, sendto, sendmsg (the address).
struct TraceNet {
  std::string exe;
  std::string syscall;
  std::string family;        // "inet", "inet6", "unix", "netlink", "packet", ... or the number
  std::string socktype = {}; // "stream", "dgram", "raw", "seqpacket", ...; empty when the call does not say
  std::string address = {};  // "127.0.0.1", "::1", "/run/x.sock", "@abstract"; empty when the call has none
  int port = -1;             // inet and inet6; -1 when none
  Outcome result = Outcome::unknown;
  std::uint64_t count = 0;
  friend bool operator==(const TraceNet&, const TraceNet&) = default;
};

// Socket vocabulary: AF_* and SOCK_* (the type without SOCK_NONBLOCK/SOCK_CLOEXEC) by name, or the
// number as text when the name is not known.
std::string socket_family_name(int family);
std::string socket_type_name(int type);

// A decoded struct sockaddr. Unix paths: the path; abstract names "@name" (non-printable bytes are
// kept as they are: the trace writer and the readers escape them).
struct SocketAddress {
  std::string family;
  std::string address;
  int port = -1;
};
// nullopt when the bytes are too short for their family.
std::optional<SocketAddress> decode_sockaddr(std::span<const std::uint8_t> bytes);

// `path` made absolute against `base` (the caller's working directory or its directory descriptor's
// path; empty when unknown) and folded lexically. A relative path with no base stays relative.
std::string resolve_path(std::string_view base, std::string_view path);

// The distinct behaviour records of one trace, counted, with at most `cap` distinct records in all;
// a record that would pass the cap is dropped and counted in dropped(), which the trace reports like loss.
class BehaviourSet {
public:
  static constexpr std::size_t default_cap = 8192;
  explicit BehaviourSet(std::size_t cap = default_cap) : cap_(cap) {}

  void add(TraceExec record);
  void add(TraceFile record);
  void add(TraceNet record);

  std::size_t size() const noexcept { return execs_.size() + files_.size() + nets_.size(); }
  std::uint64_t dropped() const noexcept { return dropped_; }
  // Records a reader dropped past its own cap before they reached this set, counted as its own.
  void count_dropped(std::uint64_t n) noexcept { dropped_ += n; }
  // Sorted by exe, then the record's own fields.
  std::vector<TraceExec> execs() const;
  std::vector<TraceFile> files() const;
  std::vector<TraceNet> nets() const;

private:
  using ExecKey = std::tuple<std::string, std::string, std::vector<std::string>, bool, Outcome>;
  using FileKey = std::tuple<std::string, std::string, std::string, FileAccessSet, std::string, Outcome, int>;
  using NetKey = std::tuple<std::string, std::string, std::string, std::string, std::string, int, Outcome>;
  bool admit(bool exists);
  std::size_t cap_;
  std::uint64_t dropped_ = 0;
  std::map<ExecKey, std::uint64_t> execs_;
  std::map<FileKey, std::uint64_t> files_;
  std::map<NetKey, std::uint64_t> nets_;
};

} // namespace nucleus::core
