// Generating the files and network policy (core/access_policy.hpp) from the traces' behaviour
// records, widened only by the documented rules below, each named in the entry's reason and in what
// `gen` prints. Use: refuse_without_behaviour(traces, names); auto r = generate_access_policy(traces);
// then write_access_policy(r.policy) and print r.widened, r.failed and r.notes.
//
// Rules, in the order a path meets them (the README's table is this list):
//   workspace  a folder of the trace header's "workspace" (the working directory, the --rw folders)
//              that the program used: read (list) where it read, read/write/create/remove where it
//              changed something; never HOME, an ancestor of HOME, "/" or a top-level folder
//   tmp        any change under /tmp: /tmp read/write/create/remove (the sandbox's /tmp is private)
//   system     reads and runs under /usr, /lib*, /bin, /sbin: that folder, read and/or execute as seen
//   own        reads and runs under the folder of a program the trace ran (its install prefix for
//              .../bin): that folder, read and/or execute as seen; never a folder the rules above own
//   exact      everything else: the path seen with the access seen ("list" for a listed directory)
// Failed calls grant nothing; unresolved (relative) paths grant nothing; both are listed.
#pragma once

#include "nucleus/core/access_policy.hpp"
#include "nucleus/core/trace_log.hpp"

#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace nucleus::profile {

struct PolicyGenOptions {
  // The caller's home folders, never widened to (nor anything above them); /root and /home/NAME
  // always count. The tool passes $HOME.
  std::vector<std::string> homes;
  // The dynamic loader of a program that ran, as its ELF header names it and as the file that
  // resolves to: the kernel opens it for exec, and no recorder shows it. Empty: read from this
  // host (host_loader_of); tests pass their own.
  std::function<std::vector<std::string>(const std::string& program)> loader_of;
};

// The PT_INTERP of a 64-bit ELF program on this host, and the file it resolves to when that
// differs; nothing for a static program, a script or a file that cannot be read.
std::vector<std::string> host_loader_of(const std::string& program);

struct PolicyGenResult {
  core::AccessPolicy policy;
  std::vector<std::string> widened; // "rule workspace widened /w/a.txt, /w/b/c.txt to /w"
  std::vector<std::string> failed;  // "openat /x (read) by /usr/bin/app failed: not granted"
  std::vector<std::string> notes;   // unresolved paths, folders not widened to, guessed protocols
};

// Throws Error(invalid_input) naming the first trace that has no behaviour records (its recorder
// did not record them): a policy from it would deny everything the program did.
void refuse_without_behaviour(const std::vector<core::Trace>& traces, const std::vector<std::string>& names);

// The policy allowing what the traces' behaviour records show, widened by the rules above.
PolicyGenResult generate_access_policy(const std::vector<core::Trace>& traces, const PolicyGenOptions& options = {});

// The policy access a file record asks for (read, list, write, create, execute, remove), and the
// access its `target` asks for (a rename's old name: remove). Lookups (O_PATH) ask for nothing.
core::PathAccessSet path_access_of(const core::TraceFile& file);
core::PathAccessSet target_access_of(const core::TraceFile& file);

// Whether `path` is `folder` or below it (both absolute and folded).
bool path_within(std::string_view path, std::string_view folder);
// Folders a rule must never widen to: "/", a top-level folder, a home (/root, /home/NAME, one of
// `homes`) or a folder above one of `homes`.
bool too_wide_to_widen(std::string_view folder, const std::vector<std::string>& homes);

} // namespace nucleus::profile
