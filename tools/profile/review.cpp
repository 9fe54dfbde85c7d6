// nucleus-profile review: what a program did (files, network, programs, syscalls) and what of it
// needs a person's attention, from its traces; --against: what a new version does that the old did not.
#include "commands.hpp"

#include "cli.hpp"
#include "command_line.hpp"
#include "nucleus/profile/review.hpp"
#include "nucleus/profile/sarif.hpp"
#include "nucleus/core/error.hpp"
#include "nucleus/core/io.hpp"

#include <filesystem>
#include <memory>

namespace nucleus::profile_tool {
namespace {

std::vector<profile::NamedTrace> read_traces(const std::vector<std::string>& paths) {
  std::vector<profile::NamedTrace> out;
  for (const auto& path : paths) {
    std::string text = core::read_file(path);
    if (!core::is_trace_log(text))
      throw core::Error(core::ErrorKind::invalid_input, path + ": not a nucleus trace log",
                        "review reads the *.trace files nucleus-trace writes; raw audit records carry no behaviour");
    out.push_back({path, core::read_trace(text, path)});
  }
  return out;
}

// The format from --format, else from the output's extension, else text.
std::string format_for(const std::string& format, const std::string& output) {
  if (!format.empty()) return format;
  auto ext = std::filesystem::path(output).extension().string();
  if (ext == ".html" || ext == ".htm") return "html";
  if (ext == ".md" || ext == ".markdown") return "md";
  if (ext == ".json") return "json";
  if (ext == ".sarif") return "sarif";
  return "text";
}

} // namespace

void register_review(CLI::App& app, Action& selected) {
  struct Options {
    std::vector<std::string> traces;
    std::vector<std::string> against;
    std::vector<std::string> workspace;
    std::string format;
    std::string fail_on = "low";
    std::string output = "-";
  };
  auto opt = std::make_shared<Options>();
  auto* cmd = app.add_subcommand(
      "review", "what a program did (files, network, programs, syscalls) and what of it needs attention");
  cmd->footer(R"(Examples:
  nucleus-profile review tool.trace
  nucleus-profile review tool.trace --workspace ~/src/project --fail-on high
  nucleus-profile review tool.trace -o review.html              # also: .md, .json, .sarif
  nucleus-profile review --against tool-1.0.trace tool-1.1.trace   # what 1.1 does that 1.0 did not

The inventory lists, per executable, the programs it ran (with argv), the files it read and those it
wrote or created, its network endpoints (loopback, private, public; DNS named as such) and its
syscalls by systemd group with their argument values. Findings come from the rules in the README
(credentials read, persistence, writes outside the workspace, network egress, shells and
downloaders started, namespaces, mount, ptrace, bpf, kernel modules, set-id modes), each with a
severity, the reason and the fix. The workspace is --workspace, or else the trace's own (the traced
command's working directory and its --rw folders). A trace from a recorder without behaviour records
(audit) is reviewed on its syscalls alone, and says so; a trace that lost events or dropped behaviour
records says its inventory is incomplete, in every format.
Exit status: 0 when no finding reaches --fail-on (default low); otherwise by the highest severity:
3 low, 4 medium, 5 high, 6 critical. 1: a trace is invalid; 2: trouble (unreadable file, bad flags).)");
  cmd->add_option("traces", opt->traces, "trace logs of the program (nucleus-trace's *.trace)")
      ->required()
      ->check(CLI::ExistingFile);
  // One value per --against and --workspace: the words after it are the traces under review.
  cmd->add_option("--against", opt->against, "a trace log of the old version: show only what is new (repeatable)")
      ->check(CLI::ExistingFile)
      ->allow_extra_args(false);
  cmd->add_option("--workspace", opt->workspace, "a folder the program may write in (repeatable; default: the trace's)")
      ->allow_extra_args(false);
  cmd->add_option("--format", opt->format, "text, json, sarif, html or md (default: from -o's extension, else text)")
      ->check(CLI::IsMember({"text", "json", "sarif", "html", "md"}));
  cmd->add_option("--fail-on", opt->fail_on,
                  "lowest severity that makes the exit status non-zero: info, low, medium, high, critical")
      ->capture_default_str()
      ->check(CLI::IsMember({"info", "low", "medium", "high", "critical"}));
  cmd->add_option("-o,--output", opt->output, "file to write; - for standard output")->capture_default_str();
  cmd->callback([opt, &selected] {
    selected = [opt] {
      profile::ReviewOptions options;
      for (const auto& w : opt->workspace)
        options.workspace.push_back(std::filesystem::absolute(w).lexically_normal().string());
      auto traces = read_traces(opt->traces);
      auto review = opt->against.empty() ? profile::review_traces(traces, options)
                                         : profile::review_against(read_traces(opt->against), traces, options);
      const std::string format = format_for(opt->format, opt->output);
      std::string out;
      if (format == "json") out = profile::review_to_json(review);
      else if (format == "sarif")
        out = profile::review_to_sarif(review, {std::string(tool), cli::version(), cli::information_uri()});
      else if (format == "html") out = profile::render_review_html(review);
      else if (format == "md") out = profile::render_review_markdown(review);
      else out = profile::format_review_text(review);
      core::write_file_atomic(opt->output, out);
      for (const auto& i : review.incomplete) cli::warn(tool, "the inventory is incomplete: " + i);
      return profile::review_exit_code(review, *profile::severity_from_name(opt->fail_on));
    };
  });
}

} // namespace nucleus::profile_tool
