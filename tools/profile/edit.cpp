// nucleus-profile add and remove: edit a profile in place.
#include "commands.hpp"

#include "cli.hpp"
#include "nucleus/profile/edit.hpp"

#include <iostream>
#include <memory>

namespace nucleus::profile_tool {
namespace {

void register_edit(CLI::App& app, Action& selected, profile::EditKind kind) {
  struct Options {
    std::string file;
    std::vector<std::string> names;
  };
  auto opt = std::make_shared<Options>();
  bool add = kind == profile::EditKind::add;
  auto* cmd = app.add_subcommand(add ? "add" : "remove",
                                 add ? "allow more syscalls, editing the profile in place"
                                     : "stop allowing syscalls, editing the profile in place");
  cmd->footer(add ? R"(Examples:
  nucleus-profile add app.json openat newfstatat
  nucleus-profile add app.json socket:AF_INET6 ioctl:TIOCGWINSZ   # one more argument value
  nucleus-profile add app.json clone:CLONE_NEWUSER mprotect:PROT_EXEC
  nucleus-profile diff app.json new-run.trace    # prints the add command for what a run needed

Each name must be a syscall on one of the profile's architectures (unknown names are errors with
the closest known names). NAME:VALUE allows one more value of the argument nucleus conditions
(socket/socketpair domain AF_* or type SOCK_*, clone/unshare CLONE_*, ioctl request, prctl PR_*,
personality, mmap/mprotect/pkey_mprotect PROT_*; a number works too, or NAME:argN=VALUE), keeping
the other conditions. The edited profile is compiled, then replaces the file atomically.)"
                  : R"(Examples:
  nucleus-profile remove app.json ptrace personality
  nucleus-profile remove app.json socket:AF_INET6     # one argument value less

Takes each name out of every entry that lets it run; a name the profile does not allow is an error.
The edited profile is compiled, then replaces the file atomically.)");
  cmd->add_option("profile", opt->file, "OCI seccomp profile (JSON), edited in place")->required()->check(CLI::ExistingFile);
  cmd->add_option("syscalls", opt->names, "syscall names, or NAME:VALUE for one argument value")->required();
  cmd->callback([opt, kind, &selected] {
    selected = [opt, kind] {
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
