// The policy for files and network (`--policy FILE`): nucleus's own JSON document beside the OCI
// seccomp profile, which stays plain OCI. `nucleus-profile gen --policy` writes it from a trace's
// behaviour records; `nucleus-run --policy` enforces it; check, explain, diff, merge, add and remove
// read and edit it. Both the profile library and the sandbox speak it, so it lives here.
//
//   {"format":"nucleus-policy","version":1,
//    "files":[{"path":"/usr","access":["read","execute"],"reason":"system files (rule system)"},
//             {"path":"/home/u/proj","access":["read","write","create","remove"],"reason":"the workspace"}],
//    "network":{"connect":[{"protocol":"tcp","address":"127.0.0.1","port":8080}],
//               "bind":[{"protocol":"tcp","port":8080}],
//               "unix":["/run/app.sock"]}}
//
// A path entry covers the path and, for a directory, everything below it ("list" only the names of
// the entries below it). What no entry grants is
// denied. An empty or absent "network" allows no endpoint.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nucleus::core {

inline constexpr int access_policy_version = 1;

// What a path entry allows.
enum class PathAccess : std::uint8_t {
  read = 1u << 0,    // read files, list directories
  write = 1u << 1,   // write and truncate existing files
  create = 1u << 2,  // make files, directories, links, sockets and FIFOs (never devices)
  execute = 1u << 3, // run files as programs
  remove = 1u << 4,  // unlink files and remove directories (and rename away from here)
  // List a directory's entries (and those of the directories below it), without reading any file
  // in it: what a listed directory needs, since "read" on a directory covers every file below it.
  list = 1u << 5,
};
using PathAccessSet = std::uint8_t;
inline constexpr PathAccessSet all_path_access = 0x3f;
inline constexpr bool has(PathAccessSet set, PathAccess a) { return (set & static_cast<PathAccessSet>(a)) != 0; }
std::vector<std::string> path_access_names(PathAccessSet set); // "read", "write", ..., "list" in that order
std::optional<PathAccess> path_access_from_name(std::string_view name);

struct PathRule {
  std::string path; // absolute, folded: no ".", "..", "//" or trailing "/"
  PathAccessSet access = 0;
  std::string reason = {}; // why gen granted it (the rule that widened it), or the user's note
  friend bool operator==(const PathRule&, const PathRule&) = default;
};

enum class Protocol : std::uint8_t { tcp, udp };
std::string_view protocol_name(Protocol protocol);

// An endpoint the program may reach (connect) or serve (bind). An empty address means any address.
struct Endpoint {
  Protocol protocol = Protocol::tcp;
  std::string address = {};
  int port = 0; // 0..65535; 0 with bind: an ephemeral port
  friend bool operator==(const Endpoint&, const Endpoint&) = default;
};

struct NetworkRules {
  std::vector<Endpoint> connect;
  std::vector<Endpoint> bind;
  std::vector<std::string> unix_paths; // Unix sockets by path ("@name" for an abstract one)
  bool empty() const noexcept { return connect.empty() && bind.empty() && unix_paths.empty(); }
  friend bool operator==(const NetworkRules&, const NetworkRules&) = default;
};

struct AccessPolicy {
  std::vector<PathRule> files; // sorted by path, one entry per path
  NetworkRules network;
  friend bool operator==(const AccessPolicy&, const AccessPolicy&) = default;
};

// Throws Error(invalid_input) "<source>: <where>: <problem>" for anything but a valid policy:
// another format, a newer version, a relative or unfolded path, a path listed twice, an unknown
// access, protocol or key type, a port out of range. Unknown keys are ignored, as in the trace log.
AccessPolicy read_access_policy(std::string_view text, std::string_view source_name);
// Pretty-printed JSON (two-space indent), ASCII only, paths sorted; ends with a newline.
std::string write_access_policy(const AccessPolicy& policy);

// The entries that cover `path` (the path itself or a directory above it), and the union of their
// access. `path` must be absolute and folded.
PathAccessSet access_for(const AccessPolicy& policy, std::string_view path);

} // namespace nucleus::core
