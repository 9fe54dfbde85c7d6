// nucleus-profile report: the self-contained review document.
#include "commands.hpp"

#include "cli.hpp"
#include "nucleus/profile/generate.hpp"
#include "nucleus/profile/oci.hpp"
#include "nucleus/profile/report.hpp"
#include "nucleus/core/error.hpp"
#include "nucleus/core/io.hpp"

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <memory>

namespace nucleus::profile_tool {
namespace {

std::string now_rfc3339() {
  std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

} // namespace

void register_report(CLI::App& app, Action& selected) {
  struct Options {
    std::string file;
    std::vector<std::string> traces;
    std::string output;
    std::string format;
    std::string previous;
    std::string docker_default;
    std::string date;
    std::string policy;
  };
  auto opt = std::make_shared<Options>();
  auto* cmd = app.add_subcommand("report", "write a review document (HTML or Markdown) for a profile and its traces");
  cmd->footer(R"(Examples:
  nucleus-profile report app.json app.trace -o review.html
  nucleus-profile report app.json app.trace --docker-default default.json --previous app-1.0.json -o review.md
  nucleus-profile report app.json app.trace --policy app.policy.json -o review.html

The report shows what was run and when, how often each syscall was made (a chart), the findings of
'check', the comparison with Docker's default and the changes since --previous; with --policy,
the files and network policy's entries and check's findings on it. The HTML file is
self-contained: inline CSS and SVG, nothing fetched from the network.)");
  cmd->add_option("profile", opt->file, "OCI or Docker seccomp profile (JSON)")->required();
  cmd->add_option("traces", opt->traces, "trace logs the profile was made from")->check(CLI::ExistingFile);
  cmd->add_option("-o,--output", opt->output, "FILE.html or FILE.md; - for standard output (with --format)")
      ->required();
  cmd->add_option("--format", opt->format, "html or md (default: from the output's extension)")
      ->check(CLI::IsMember({"html", "md"}));
  cmd->add_option("--previous", opt->previous, "an earlier profile to show the changes since")
      ->check(CLI::ExistingFile);
  cmd->add_option("--docker-default", opt->docker_default, "Docker's default profile to compare with")
      ->check(CLI::ExistingFile);
  cmd->add_option("--date", opt->date, "the date to print (RFC 3339; default: now)");
  cmd->add_option("--policy", opt->policy, "the files and network policy (gen --policy) to include")
      ->check(CLI::ExistingFile);
  cmd->callback([opt, &selected] {
    selected = [opt] {
      std::string format = opt->format;
      if (format.empty()) {
        auto ext = std::filesystem::path(opt->output).extension().string();
        if (ext == ".html" || ext == ".htm") format = "html";
        else if (ext == ".md" || ext == ".markdown") format = "md";
        else
          throw core::Error(core::ErrorKind::usage, "cannot tell the report format from \"" + opt->output + "\"",
                            "name the output FILE.html or FILE.md, or pass --format html|md");
      }
      profile::ReportInput in;
      in.profile_name = opt->file;
      in.policy = profile::load_profile(opt->file).policy;
      std::vector<std::filesystem::path> paths(opt->traces.begin(), opt->traces.end());
      auto traces = profile::read_inputs(paths, {});
      for (std::size_t i = 0; i < traces.size(); ++i) in.traces.push_back({opt->traces[i], std::move(traces[i])});
      if (!opt->previous.empty()) {
        in.previous_name = opt->previous;
        in.previous = profile::load_profile(opt->previous).policy;
      }
      std::optional<profile::Reference> docker;
      if (!opt->docker_default.empty())
        docker = profile::load_reference(opt->docker_default, in.policy.effective_arches());
      in.docker_default = docker ? &*docker : nullptr;
      in.generated_at = opt->date.empty() ? now_rfc3339() : opt->date;
      std::optional<core::AccessPolicy> access_policy;
      if (!opt->policy.empty()) {
        access_policy = core::read_access_policy(core::read_file(opt->policy), opt->policy);
        in.access_policy = &*access_policy;
        in.access_policy_name = opt->policy;
        if (const char* home = std::getenv("HOME"); home != nullptr && *home == '/') in.homes = {home};
      }
      core::write_file_atomic(opt->output,
                              format == "html" ? profile::render_report_html(in) : profile::render_report_markdown(in));
      return 0;
    };
  });
}

} // namespace nucleus::profile_tool
