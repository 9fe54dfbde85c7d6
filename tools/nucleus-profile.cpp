// nucleus-profile: everything done with profiles after a trace: generate, validate, compile, and
// the review subcommands. Each subcommand lives in tools/profile/.
#include "cli.hpp"
#include "command_line.hpp"
#include "profile/commands.hpp"

#include "nucleus/core/text.hpp"
#include "nucleus/core/error.hpp"

#include <CLI/CLI.hpp>

namespace {

// 1: the input is invalid (or, for diff/check, differs or has findings); 2: trouble.
int profile_exit_code(const nucleus::core::Error& error) noexcept {
  return error.kind() == nucleus::core::ErrorKind::invalid_input ? 1 : 2;
}

} // namespace

int main(int argc, char** argv) {
  // Every message, note and denial line goes out through printable_lines(): a workload's or a
  // file's terminal sequences are shown, never obeyed (see text.hpp).
  nucleus::core::PrintableStream safe_out(std::cout), safe_err(std::cerr);
  using namespace nucleus::profile_tool;
  CLI::App app{"Generate, check and ship seccomp profiles (OCI LinuxSeccomp JSON).", "nucleus-profile"};
  app.footer(R"(Examples:
  nucleus-profile gen app.trace -o app.json
  nucleus-profile validate app.json
  nucleus-profile compile app.json -o app.bpf
  nucleus-profile check app.json && nucleus-profile explain app.json
  nucleus-profile review app.trace -o review.html     # files, network, programs and findings
  nucleus-profile diff app-1.0.json app-1.1.json
  nucleus-profile export app.json --format k8s -o app.yaml
  nucleus-profile import cluster-profiles.yaml --name my-app -o my-app.json

Run 'nucleus-profile SUBCOMMAND --help' for each subcommand's options.)");
  app.require_subcommand(1);
  Action selected;
  register_gen(app, selected);
  register_validate(app, selected);
  register_compile(app, selected);
  register_merge(app, selected);
  register_diff(app, selected);
  register_check(app, selected);
  register_explain(app, selected);
  register_report(app, selected);
  register_review(app, selected);
  register_export(app, selected);
  register_import(app, selected);
  register_add(app, selected);
  register_remove(app, selected);
  nucleus::cli::add_standard_options(app, {"generate, check and ship seccomp profiles", ""});
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  return nucleus::cli::guarded_main(tool, profile_exit_code, selected);
}
