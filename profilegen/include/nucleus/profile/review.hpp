// Reviewing a program from its traces: what it did (programs run, files read and written, network
// endpoints, syscalls with their argument values), per executable, and what of that a person must
// look at before letting it run (findings from the rules of review_rules()). Use:
//   auto r = review_traces(traces, options);           // or review_against(old, new, options)
//   format_review_text(r) / review_to_json(r) / review_to_sarif(...) / render_review_html(r);
//   review_exit_code(r, Severity::low).
#pragma once

#include "nucleus/profile/check.hpp"
#include "nucleus/core/trace_log.hpp"

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace nucleus::profile {

struct NamedTrace {
  std::string source; // the file name, as the user gave it
  core::Trace trace;
};

// Where a network endpoint is.
enum class NetScope { loopback, private_net, public_net, local_socket, none };
std::string_view net_scope_name(NetScope scope) noexcept; // "loopback", "private", "public", "unix", ""
NetScope net_scope(const core::TraceNet& net);
// A DNS query: a datagram or connection to port 53.
bool is_dns(const core::TraceNet& net);

// One line of the syscall inventory: a syscall and the argument values it was made with.
struct SyscallUse {
  std::string name;
  std::string arch;
  std::uint64_t count = 0;
  std::vector<std::string> values; // "flags: CLONE_NEWUSER", "domain: AF_INET, AF_UNIX (and more)"
};
struct SyscallGroupUse {
  std::string group; // "@network-io", or "other" for syscalls in no group
  std::vector<SyscallUse> syscalls;
};

// What one executable did.
struct ExeInventory {
  std::string exe;
  std::vector<core::TraceExec> programs; // programs it started
  std::vector<core::TraceFile> reads;    // opened for reading, listed, or only looked up
  std::vector<core::TraceFile> writes;   // written, created, truncated, removed, renamed, chmod, ...
  std::vector<core::TraceNet> network;   // sockets, connections, datagrams, listeners
  std::vector<SyscallGroupUse> syscalls; // each syscall under the first of systemd's groups it is in
};

struct ReviewOptions {
  // Folders the program may write in. Empty: the trace headers' "workspace" (the traced command's
  // working directory and its --rw folders).
  std::vector<std::string> workspace;
};

struct Review {
  std::vector<std::string> sources;      // the traces reviewed
  std::vector<std::string> against;      // the traces of the old version (review --against)
  std::vector<std::string> commands;     // what was run, one per trace
  std::vector<std::string> workspace;    // the folders writes were measured against
  bool behaviour_recorded = true;        // every trace has behaviour records
  std::vector<std::string> incomplete;   // why the inventory is incomplete (loss, dropped records)
  std::vector<ExeInventory> executables; // sorted by exe
  std::vector<Finding> findings;         // most severe first
  std::vector<std::string> notes;
  std::optional<Severity> highest() const;
};

// One documented rule: what triggers it, at which severity (the README's table is this list).
struct ReviewRule {
  std::string_view id;
  Severity severity;
  std::string_view trigger;
  std::string_view reason;
  std::string_view fix;
};
std::span<const ReviewRule> review_rules() noexcept;

// Throws Error(usage) for no traces.
Review review_traces(const std::vector<NamedTrace>& traces, const ReviewOptions& options = {});
// What `after` did that `before` did not: files (path and access), endpoints, programs (path and
// argv), syscalls and argument values new in `after`, whoever made them; findings for those only.
Review review_against(const std::vector<NamedTrace>& before, const std::vector<NamedTrace>& after,
                      const ReviewOptions& options = {});

// Exit status like check's: 0 when no finding reaches `fail_on`, else 3 low ... 6 critical.
int review_exit_code(const Review& review, Severity fail_on);

std::string format_review_text(const Review& review);
std::string review_to_json(const Review& review);
std::string render_review_markdown(const Review& review);
// A whole HTML page, and the sections alone (for report, which includes them).
std::string render_review_html(const Review& review);
std::string review_html_sections(const Review& review);
std::string review_markdown_sections(const Review& review);
// The CSS the review sections need (report's page includes it too).
std::string_view review_css() noexcept;

// Whether an access changes the file (write, create, truncate, append, remove, rename, mkdir,
// chmod, chown, link, symlink, mknod): the inventory's "written" side and the workspace rule's.
bool changes_file(core::FileAccessSet access) noexcept;

// argv as a shell would read it: "sh -c 'echo hi'", with " ..." when the recorder cut it short.
std::string quoted_argv(const std::vector<std::string>& argv, bool truncated);

// Internal steps, exposed for the tests.
// The findings of the rules on a merged trace, against `workspace` (absolute folders); the exec of
// a traced command itself (its argv one of `commands`) is no finding.
std::vector<Finding> review_findings(const core::Trace& trace, const std::vector<std::string>& workspace,
                                     const std::vector<std::vector<std::string>>& commands = {});
// The inventory of a merged trace.
std::vector<ExeInventory> review_inventory(const core::Trace& trace);

} // namespace nucleus::profile
