// nucleus-profile add and remove: edit a profile in place.
#include "commands.hpp"
#include "policy.hpp"

#include "cli.hpp"
#include "nucleus/profile/edit.hpp"
#include "nucleus/profile/policy_review.hpp"
#include "nucleus/core/error.hpp"
#include "nucleus/core/io.hpp"

#include <iostream>
#include <memory>

namespace nucleus::profile_tool {
namespace {

void register_edit(CLI::App& app, Action& selected, profile::EditKind kind) {
  struct Options {
    std::string file;
    std::vector<std::string> names;
    PolicyEditOptions policy;
  };
  auto opt = std::make_shared<Options>();
  bool add = kind == profile::EditKind::add;
  auto* cmd = app.add_subcommand(add ? "add" : "remove", add ? "allow more syscalls, editing the profile in place"
                                                             : "stop allowing syscalls, editing the profile in place");
  cmd->footer(add ? R"(Examples:
  nucleus-profile add app.json openat newfstatat
  nucleus-profile add app.json socket:AF_INET6 ioctl:TIOCGWINSZ   # one more argument value
  nucleus-profile add app.json clone:CLONE_NEWUSER mprotect:PROT_EXEC
  nucleus-profile diff app.json new-run.trace    # prints the add command for what a run needed
  nucleus-profile add app.policy.json --path /srv/data --access read,write
  nucleus-profile add app.policy.json --connect tcp:127.0.0.1:8080 --bind tcp:8080 --unix /run/app.sock

Each name must be a syscall on one of the profile's architectures (unknown names are errors with
the closest known names). NAME:VALUE allows one more value of the argument nucleus conditions
(socket/socketpair domain AF_* or type SOCK_*, clone/unshare CLONE_*, ioctl request, prctl PR_*,
personality, mmap/mprotect/pkey_mprotect PROT_*; a number works too, or NAME:argN=VALUE), keeping
the other conditions. The edited profile is compiled, then replaces the file atomically.

A files and network policy (gen --policy) takes --path with --access (read, write, create, execute,
remove, list; a path covers everything below it), --connect and --bind (tcp:ADDRESS:PORT,
udp:[IPv6]:PORT, tcp:PORT for any address) and --unix (a socket path, @name for an abstract one).)"
                  : R"(Examples:
  nucleus-profile remove app.json ptrace personality
  nucleus-profile remove app.json socket:AF_INET6     # one argument value less

Takes each name out of every entry that lets it run; a name the profile does not allow is an error.
The edited profile is compiled, then replaces the file atomically.

  nucleus-profile remove app.policy.json --path /home/u/.ssh/id_ed25519   # the whole entry
  nucleus-profile remove app.policy.json --path /srv/data --access write  # one access less
  nucleus-profile remove app.policy.json --connect tcp:203.0.113.5:443
A policy entry or endpoint it does not hold is an error.)");
  cmd->add_option("profile", opt->file, "OCI seccomp profile (JSON) or files and network policy, edited in place")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("syscalls", opt->names, "syscall names, or NAME:VALUE for one argument value");
  auto& p = opt->policy;
  cmd->add_option("--path", p.paths, "policy: a path (absolute)");
  cmd->add_option("--access", p.access, "policy: the access for each --path: read,write,create,execute,remove,list");
  cmd->add_option("--reason", p.reason, add ? "policy: the reason to record with each new --path" : "ignored");
  cmd->add_option("--connect", p.connect, "policy: an endpoint to connect to: tcp:127.0.0.1:8080, udp:[::1]:53");
  cmd->add_option("--bind", p.bind, "policy: an endpoint to serve: tcp:8080 (any address), tcp:127.0.0.1:8080");
  cmd->add_option("--unix", p.unix_paths, "policy: a Unix socket path (@name: abstract)");
  cmd->callback([opt, kind, &selected] {
    selected = [opt, kind] {
      const bool is_policy = profile::is_policy_text(core::read_file(opt->file));
      if (is_policy && !opt->names.empty())
        throw core::Error(core::ErrorKind::usage,
                          opt->file + " is a files and network policy: syscall names go in the seccomp profile",
                          "use --path/--access, --connect, --bind or --unix");
      if (is_policy) return edit_policy(opt->file, kind == profile::EditKind::add, opt->policy);
      if (opt->policy.any() || !opt->policy.reason.empty())
        throw core::Error(core::ErrorKind::usage,
                          opt->file + " is a seccomp profile: --path, --access, --connect, --bind "
                                      "and --unix edit a files and network policy",
                          "give the syscall names to " +
                              std::string(kind == profile::EditKind::add ? "add" : "remove"));
      if (opt->names.empty())
        throw core::Error(core::ErrorKind::usage, "no syscall given", "e.g. nucleus-profile add app.json openat");
      auto result = profile::edit_profile_file(opt->file, kind, opt->names);
      for (const auto& n : result.unchanged) cli::warn(tool, n + " is already allowed");
      std::cerr << tool << ": " << opt->file << ": " << (kind == profile::EditKind::add ? "added" : "removed");
      for (const auto& n : result.changed) std::cerr << " " << n;
      if (result.changed.empty()) std::cerr << " nothing";
      std::cerr << "\n";
      return 0;
    };
  });
}

} // namespace

void register_add(CLI::App& app, Action& selected) { register_edit(app, selected, profile::EditKind::add); }
void register_remove(CLI::App& app, Action& selected) { register_edit(app, selected, profile::EditKind::remove); }

} // namespace nucleus::profile_tool
