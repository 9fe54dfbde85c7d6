// Rendering the review report, from the same data `check`, `explain` and `diff` print.
#include "nucleus/profile/report.hpp"

#include "nucleus/profile/check.hpp"
#include "nucleus/profile/diff.hpp"
#include "nucleus/profile/explain.hpp"
#include "nucleus/profile/review.hpp"
#include "nucleus/core/syscalls.hpp"
#include "nucleus/core/strings.hpp"
#include "nucleus/core/text.hpp"

#include <algorithm>
#include <map>
#include <sstream>

namespace nucleus::profile {
namespace {

struct Count {
  std::string arch;
  std::string name;
  std::uint64_t count = 0;
};

// Every trace's calls, summed per (arch, name), most frequent first.
std::vector<Count> call_counts(const std::vector<ReportTrace>& traces) {
  std::map<std::pair<std::string, std::string>, std::uint64_t> sums;
  for (const auto& t : traces)
    for (const auto& s : t.trace.syscalls) {
      auto name = core::syscall_name(s.arch, s.nr);
      sums[{std::string(core::arch_name(s.arch)), name ? *name : s.name}] += s.count;
    }
  std::vector<Count> out;
  for (const auto& [k, v] : sums) out.push_back({k.first, k.second, v});
  std::stable_sort(out.begin(), out.end(), [](const Count& a, const Count& b) { return a.count > b.count; });
  return out;
}

std::uint64_t total_calls(const std::vector<Count>& counts) {
  std::uint64_t t = 0;
  for (const auto& c : counts) t += c.count;
  return t;
}

// HTML-escaped, after printable(): controls and the marks that hide or reorder text are shown.
std::string esc(std::string_view raw) {
  std::string safe = core::printable_lines(raw);
  std::string_view s = safe;
  std::string out;
  for (char c : s) {
    switch (c) {
    case '&': out += "&amp;"; break;
    case '<': out += "&lt;"; break;
    case '>': out += "&gt;"; break;
    case '"': out += "&quot;"; break;
    default: out += c;
    }
  }
  return out;
}

// Everything in the Markdown report that came from a trace, a profile or a file name is inline
// text with its markup characters escaped (core::markdown_text), or a fenced block
// (core::markdown_code_block): neither can open a heading, a comment, HTML, a link or a cell.
std::string md_esc(std::string_view s) { return core::markdown_text(s); }

std::string percent(std::size_t part, std::size_t whole) {
  return whole == 0 ? "0 %" : std::to_string((part * 100 + whole / 2) / whole) + " %";
}

std::string arch_sentence(const ArchCount& c, const std::string& reference_label) {
  std::string s = std::string(core::arch_name(c.arch)) + ": allows " + std::to_string(c.permitted()) + " of " +
                  std::to_string(c.total) + " syscalls (" + percent(c.permitted(), c.total) + ")";
  if (c.conditional != 0) s += ", " + std::to_string(c.conditional) + " only under argument conditions";
  if (c.reference) s += "; " + reference_label + " allows " + std::to_string(*c.reference);
  return s;
}

std::string command_of(const core::Trace& t) {
  if (!t.header.command.empty()) return core::join(t.header.command, " ");
  return t.header.target.empty() ? std::string("(not recorded)") : "(" + t.header.target + ")"; // --pid / --cgroup
}

constexpr const char* css =
    R"(body{font-family:system-ui,sans-serif;margin:2em auto;max-width:60em;color:#1b1b1b;line-height:1.45}
h1{font-size:1.6em;border-bottom:2px solid #444}h2{font-size:1.25em;margin-top:1.8em;border-bottom:1px solid #bbb}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:.25em .6em;text-align:left;vertical-align:top}
th{background:#f0f0f0}.sev-critical{background:#8b0000;color:#fff}.sev-high{background:#d9480f;color:#fff}
.sev-medium{background:#f59f00}.sev-low{background:#ffe066}.sev-info{background:#e7f5ff}
code{background:#f4f4f4;padding:0 .2em}.muted{color:#666}svg text{font-size:12px;font-family:monospace}
.bar{fill:#1c7ed6}.added{color:#2b8a3e}.removed{color:#c92a2a}
body{padding:0 1em;overflow-wrap:anywhere}td,code{overflow-wrap:anywhere}table{max-width:100%}
th,table.findings td:nth-child(-n+2),table.findings td:nth-child(-n+2) code{overflow-wrap:normal}
svg{max-width:100%;height:auto})";

// The traces carry behaviour records (or say they were recorded): the report then includes the
// review's inventory and findings.
bool has_behaviour(const std::vector<ReportTrace>& traces) {
  return std::any_of(traces.begin(), traces.end(), [](const ReportTrace& t) {
    return t.trace.header.behaviour || !t.trace.execs.empty() || !t.trace.files.empty() || !t.trace.nets.empty();
  });
}

std::optional<Review> review_of(const std::vector<ReportTrace>& traces) {
  if (!has_behaviour(traces)) return std::nullopt;
  std::vector<NamedTrace> named;
  for (const auto& t : traces) named.push_back({t.source, t.trace});
  return review_traces(named);
}

} // namespace

std::string render_report_html(const ReportInput& in) {
  auto counts = call_counts(in.traces);
  auto explanation = explain_profile(in.policy, in.docker_default);
  CheckOptions copts;
  copts.docker_default = in.docker_default;
  auto check = check_profile(in.policy, copts);
  std::ostringstream h;
  h << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
    << "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n"
    << "<title>Seccomp profile review: " << esc(in.profile_name) << "</title>\n<style>" << css << "\n"
    << review_css() << "</style></head><body>\n";
  h << "<h1>Seccomp profile review: <code>" << esc(in.profile_name) << "</code></h1>\n";
  h << "<p class=\"muted\">Written by nucleus-profile report on " << esc(in.generated_at) << ".</p>\n";

  h << "<section id=\"summary\"><h2>Summary</h2>\n<ul>\n";
  h << "<li>Default action: <code>" << esc(explanation.default_action) << "</code>";
  if (!explanation.flags.empty()) h << ", flags <code>" << esc(core::join(explanation.flags, " ")) << "</code>";
  h << "</li>\n";
  for (const auto& c : explanation.arches)
    h << "<li class=\"arch-count\" data-arch=\"" << core::arch_name(c.arch) << "\" data-allowed=\"" << c.permitted()
      << "\" data-total=\"" << c.total << "\">" << esc(arch_sentence(c, explanation.reference_label)) << "</li>\n";
  for (const auto& [name, text] : explanation.conditions)
    h << "<li class=\"arg-condition\" data-syscall=\"" << esc(name) << "\"><code>" << esc(name)
      << "</code>: " << esc(text) << "</li>\n";
  auto top = check.highest();
  h << "<li>Findings: " << check.findings.size()
    << (top ? ", highest severity " + std::string(severity_name(*top)) : std::string()) << "</li>\n</ul></section>\n";

  h << "<section id=\"run\"><h2>What was run</h2>\n";
  if (in.traces.empty()) h << "<p>No trace was given.</p>\n";
  else {
    h << "<table><tr><th>Trace</th><th>Command</th><th>Started</th><th>Kernel</th><th>Source</th><th>Events</th>"
         "<th>Distinct</th><th>Lost</th><th>Exit code</th><th>Duration</th></tr>\n";
    for (const auto& t : in.traces) {
      const auto& hd = t.trace.header;
      h << "<tr><td>" << esc(t.source) << "</td><td><code>" << esc(command_of(t.trace)) << "</code></td><td>"
        << esc(hd.started_at) << "</td><td>" << esc(hd.kernel) << "</td><td>" << esc(hd.source) << "</td>";
      if (const auto& s = t.trace.summary)
        h << "<td>" << s->events << "</td><td>" << s->distinct << "</td><td>" << s->lost << "</td><td>" << s->exit_code
          << "</td><td>" << s->duration_ms << " ms</td>";
      else h << "<td colspan=\"5\">no summary: the tracer did not finish</td>";
      h << "</tr>\n";
    }
    h << "</table>\n";
    for (const auto& t : in.traces)
      for (const auto& w : t.trace.header.warnings)
        h << "<p class=\"sev-medium\">Warning from " << esc(t.source) << ": " << esc(w) << "</p>\n";
  }
  h << "</section>\n";

  h << "<section id=\"syscalls\"><h2>Syscalls made</h2>\n";
  if (counts.empty()) h << "<p>No traced calls.</p>\n";
  else {
    std::size_t bars = std::min(counts.size(), in.chart_limit);
    h << "<p>" << counts.size() << " distinct syscalls, " << total_calls(counts) << " calls";
    if (bars < counts.size()) h << "; the chart shows the " << bars << " most frequent";
    h << ".</p>\n";
    const int row = 18, label_w = 220, bar_w = 420;
    std::uint64_t max = counts.front().count;
    h << "<svg id=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" width=\"" << label_w + bar_w + 90 << "\" height=\""
      << bars * row + 4 << "\" role=\"img\" aria-label=\"calls per syscall\">\n";
    for (std::size_t i = 0; i < bars; ++i) {
      const auto& c = counts[i];
      auto w = max == 0 ? 0 : static_cast<int>((static_cast<double>(c.count) / static_cast<double>(max)) * bar_w);
      auto y = static_cast<int>(i) * row;
      h << "<text x=\"0\" y=\"" << y + 13 << "\">" << esc(c.name) << " (" << esc(c.arch) << ")</text>"
        << "<rect class=\"bar\" data-name=\"" << esc(c.name) << "\" data-count=\"" << c.count << "\" x=\"" << label_w
        << "\" y=\"" << y + 2 << "\" width=\"" << std::max(w, 1) << "\" height=\"" << row - 4 << "\"/>"
        << "<text x=\"" << label_w + std::max(w, 1) + 4 << "\" y=\"" << y + 13 << "\">" << c.count << "</text>\n";
    }
    h << "</svg>\n<details><summary>All " << counts.size()
      << " syscalls</summary><table><tr><th>Syscall</th><th>Arch</th><th>Calls</th></tr>\n";
    for (const auto& c : counts)
      h << "<tr><td>" << esc(c.name) << "</td><td>" << esc(c.arch) << "</td><td>" << c.count << "</td></tr>\n";
    h << "</table></details>\n";
  }
  h << "</section>\n";

  h << "<section id=\"findings\"><h2>Findings</h2>\n";
  if (check.findings.empty()) h << "<p>No findings.</p>\n";
  else {
    h << "<table class=\"findings\"><tr><th>Severity</th><th>Subject</th><th>Finding</th><th>Why it "
         "matters</th><th>Fix</th></tr>\n";
    for (const auto& f : check.findings)
      h << "<tr class=\"finding\"><td class=\"sev-" << severity_name(f.severity) << "\">" << severity_name(f.severity)
        << "</td><td><code>" << esc(f.subject) << "</code></td><td>" << esc(f.message) << "</td><td>" << esc(f.reason)
        << "</td><td>" << esc(f.fix) << "</td></tr>\n";
    h << "</table>\n";
  }
  for (const auto& n : check.notes) h << "<p class=\"muted\">Note: " << esc(n) << "</p>\n";
  h << "</section>\n";
  if (auto review = review_of(in.traces)) h << review_html_sections(*review);

  h << "<section id=\"docker\"><h2>Compared with Docker's default</h2>\n";
  if (in.docker_default == nullptr)
    h << "<p>Not compared: Docker's default profile was not given (--docker-default FILE).</p>\n";
  else {
    h << "<ul>\n";
    for (const auto& c : explanation.arches)
      h << "<li>" << esc(arch_sentence(c, explanation.reference_label)) << "</li>\n";
    h << "</ul>\n";
    bool beyond = false;
    for (const auto& f : check.findings)
      if (f.id == "beyond-docker-default") {
        h << "<p>" << esc(f.message) << "</p>\n";
        beyond = true;
      }
    if (!beyond) h << "<p>Everything the profile allows, Docker's default allows too.</p>\n";
  }
  h << "</section>\n";

  h << "<section id=\"groups\"><h2>Allowed syscalls by group</h2>\n<p>systemd's syscall groups, on "
    << core::arch_name(explanation.group_arch) << "; ? marks a syscall allowed only under argument conditions.</p>\n"
    << "<table><tr><th>Group</th><th>Allowed</th><th>Syscalls</th></tr>\n";
  for (const auto& g : explanation.groups) {
    if (g.allowed.empty()) continue;
    h << "<tr><td><code>" << esc(g.name) << "</code><br><span class=\"muted\">" << esc(g.description)
      << "</span></td><td>" << g.allowed.size() << " of " << g.size << "</td><td>" << esc(core::join(g.allowed, " "))
      << "</td></tr>\n";
  }
  h << "<tr><td>in no group</td><td>" << explanation.ungrouped.size() << "</td><td>"
    << esc(core::join(explanation.ungrouped, " ")) << "</td></tr>\n</table></section>\n";

  if (in.previous) {
    auto d = diff_profiles(*in.previous, in.policy);
    std::string prev = in.previous_name.value_or("previous profile");
    h << "<section id=\"previous\"><h2>Changes since " << esc(prev) << "</h2>\n";
    if (d.same()) h << "<p>No difference in what the profiles allow.</p>\n";
    else {
      h << "<ul>\n";
      if (d.default_action)
        h << "<li>Default action: " << esc(d.default_action->first) << " &rarr; " << esc(d.default_action->second)
          << "</li>\n";
      if (!d.arches_added.empty() || !d.arches_removed.empty())
        h << "<li>Architectures: added " << esc(core::join(d.arches_added, ", ")) << "; removed "
          << esc(core::join(d.arches_removed, ", ")) << "</li>\n";
      for (const auto& [arch, c] : d.by_arch) {
        h << "<li>" << esc(arch) << ": <span class=\"added\">" << c.added.size() << " added</span>";
        if (!c.added.empty()) h << " (" << esc(core::join(c.added, ", ")) << ")";
        h << ", <span class=\"removed\">" << c.removed.size() << " removed</span>";
        if (!c.removed.empty()) h << " (" << esc(core::join(c.removed, ", ")) << ")";
        h << "</li>\n";
      }
      for (const auto& c : d.changed)
        h << "<li>Changed <code>" << esc(c.name) << "</code>: " << esc(core::join(c.before, "; ")) << " &rarr; "
          << esc(core::join(c.after, "; ")) << "</li>\n";
      h << "</ul>\n";
    }
    h << "</section>\n";
  }
  h << access_policy_section_html(in, esc);
  h << "</body></html>\n";
  return h.str();
}

std::string render_report_markdown(const ReportInput& in) {
  auto counts = call_counts(in.traces);
  auto explanation = explain_profile(in.policy, in.docker_default);
  CheckOptions copts;
  copts.docker_default = in.docker_default;
  auto check = check_profile(in.policy, copts);
  std::ostringstream m;
  m << "# Seccomp profile review: " << md_esc(in.profile_name) << "\n\n";
  m << "Written by nucleus-profile report on " << md_esc(in.generated_at) << ".\n\n";
  m << "## Summary\n\n";
  m << "- Default action: " << md_esc(explanation.default_action);
  if (!explanation.flags.empty()) m << ", flags " << md_esc(core::join(explanation.flags, " "));
  m << "\n";
  for (const auto& c : explanation.arches) m << "- " << md_esc(arch_sentence(c, explanation.reference_label)) << "\n";
  for (const auto& [name, text] : explanation.conditions) m << "- " << md_esc(name) << ": " << md_esc(text) << "\n";
  auto top = check.highest();
  m << "- Findings: " << check.findings.size()
    << (top ? ", highest severity " + std::string(severity_name(*top)) : std::string()) << "\n\n";

  m << "## What was run\n\n";
  if (in.traces.empty()) m << "No trace was given.\n\n";
  else {
    m << "| Trace | Command | Started | Kernel | Events | Distinct | Lost | Exit code | Duration "
         "|\n|---|---|---|---|---|---|---|---|---|\n";
    for (const auto& t : in.traces) {
      const auto& hd = t.trace.header;
      m << "| " << md_esc(t.source) << " | " << md_esc(command_of(t.trace)) << " | " << md_esc(hd.started_at) << " | "
        << md_esc(hd.kernel) << " | ";
      if (const auto& s = t.trace.summary)
        m << s->events << " | " << s->distinct << " | " << s->lost << " | " << s->exit_code << " | " << s->duration_ms
          << " ms |\n";
      else m << "no summary | | | | |\n";
    }
    m << "\n";
    for (const auto& t : in.traces)
      for (const auto& w : t.trace.header.warnings)
        m << "**Warning** from " << md_esc(t.source) << ": " << md_esc(w) << "\n\n";
  }

  m << "## Syscalls made\n\n";
  if (counts.empty()) m << "No traced calls.\n\n";
  else {
    m << counts.size() << " distinct syscalls, " << total_calls(counts) << " calls.\n\n";
    std::ostringstream chart;
    std::size_t bars = std::min(counts.size(), in.chart_limit);
    std::size_t width = 0;
    for (std::size_t i = 0; i < bars; ++i) width = std::max(width, counts[i].name.size() + counts[i].arch.size() + 3);
    for (std::size_t i = 0; i < bars; ++i) {
      const auto& c = counts[i];
      std::string label = c.name + " (" + c.arch + ")";
      auto len = counts.front().count == 0 ? 0
                                           : static_cast<std::size_t>(40.0 * static_cast<double>(c.count) /
                                                                      static_cast<double>(counts.front().count));
      chart << label << std::string(width - label.size() + 1, ' ') << std::string(std::max<std::size_t>(len, 1), '#')
            << " " << c.count << "\n";
    }
    m << core::markdown_code_block(chart.str()) << "\n";
  }

  m << "## Findings\n\n";
  if (check.findings.empty()) m << "No findings.\n\n";
  else {
    m << "| Severity | Subject | Finding | Why it matters | Fix |\n|---|---|---|---|---|\n";
    for (const auto& f : check.findings)
      m << "| " << severity_name(f.severity) << " | " << md_esc(f.subject) << " | " << md_esc(f.message) << " | "
        << md_esc(f.reason) << " | " << md_esc(f.fix) << " |\n";
    m << "\n";
  }
  for (const auto& n : check.notes) m << "Note: " << md_esc(n) << "\n\n";
  if (auto review = review_of(in.traces)) m << review_markdown_sections(*review);

  m << "## Compared with Docker's default\n\n";
  if (in.docker_default == nullptr)
    m << "Not compared: Docker's default profile was not given (--docker-default FILE).\n\n";
  else {
    for (const auto& c : explanation.arches) m << "- " << md_esc(arch_sentence(c, explanation.reference_label)) << "\n";
    m << "\n";
    for (const auto& f : check.findings)
      if (f.id == "beyond-docker-default") m << md_esc(f.message) << "\n\n";
  }

  m << "## Allowed syscalls by group\n\nsystemd's syscall groups, on " << core::arch_name(explanation.group_arch)
    << "; ? marks a syscall allowed only under argument conditions.\n\n| Group | Allowed | Syscalls |\n|---|---|---|\n";
  for (const auto& g : explanation.groups)
    if (!g.allowed.empty())
      m << "| " << md_esc(g.name) << " | " << g.allowed.size() << " of " << g.size << " | "
        << md_esc(core::join(g.allowed, " ")) << " |\n";
  m << "| in no group | " << explanation.ungrouped.size() << " | " << md_esc(core::join(explanation.ungrouped, " "))
    << " |\n\n";

  if (in.previous) {
    auto d = diff_profiles(*in.previous, in.policy);
    m << "## Changes since " << md_esc(in.previous_name.value_or("previous profile")) << "\n\n"
      << core::markdown_code_block(format_diff_text(d, in.previous_name.value_or("previous"), in.profile_name));
  }
  m << access_policy_section_markdown(in);
  return m.str();
}

} // namespace nucleus::profile
