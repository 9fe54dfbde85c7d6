// The review document for a profile: what was run and when, which syscalls and how often (a chart),
// the lint findings, the comparison with Docker's default, and the diff to a previous profile.
// Self-contained: the HTML has its CSS and SVG inline and loads nothing. Use: render_report_html(input).
#pragma once

#include "nucleus/profile/effective.hpp"
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
  std::string generated_at; // RFC 3339; the caller's clock, so that tests can fix it
  std::size_t chart_limit = 30; // bars in the chart
};

std::string render_report_html(const ReportInput& input);
std::string render_report_markdown(const ReportInput& input);

} // namespace nucleus::profile
