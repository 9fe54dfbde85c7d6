// The review document for a profile: what was run and when, which syscalls and how often (a chart),
// the lint findings, the comparison with Docker's default, and the diff to a previous profile.
// With a files and network policy, its entries and findings too. Self-contained: the HTML has its
// CSS and SVG inline and loads nothing. Use: render_report_html(input).
#pragma once

#include "nucleus/profile/effective.hpp"
#include "nucleus/core/access_policy.hpp"
#include "nucleus/core/policy.hpp"
#include "nucleus/core/trace_log.hpp"

#include <optional>
#include <string>
#include <vector>

namespace nucleus::profile {

struct ReportTrace {
  std::string source; // file name
  core::Trace trace;
};

struct ReportInput {
  std::string profile_name;
  core::Policy policy;
  std::vector<ReportTrace> traces;
  std::optional<std::string> previous_name;
  std::optional<core::Policy> previous;
  const Reference* docker_default = nullptr;
  std::string generated_at;     // RFC 3339; the caller's clock, so that tests can fix it
  std::size_t chart_limit = 30; // bars in the chart
  // The files and network policy (report --policy): a section with its entries and check's findings.
  const core::AccessPolicy* access_policy = nullptr;
  std::string access_policy_name = {};
  std::vector<std::string> homes = {}; // the caller's home folders, for the policy's check
};

std::string render_report_html(const ReportInput& input);
std::string render_report_markdown(const ReportInput& input);
// The policy's section alone (empty without one); `esc` is the page's HTML escape.
std::string access_policy_section_html(const ReportInput& input, std::string (*esc)(std::string_view));
std::string access_policy_section_markdown(const ReportInput& input);

} // namespace nucleus::profile
