// The review as text, JSON, Markdown and HTML. Everything a workload controls (paths, argv,
// addresses, executable names) passes through core::printable() on its way into any of them, and
// through the Markdown or HTML escapes for those formats: none can steer a terminal, open markup or
// hide text from a reviewer.
#include "nucleus/profile/review.hpp"

#include "nucleus/core/strings.hpp"
#include "nucleus/core/text.hpp"

#include <nlohmann/json.hpp>

#include <array>
#include <cstdio>
#include <sstream>

namespace nucleus::profile {
namespace {

using core::printable;
using ordered = nlohmann::ordered_json;

std::string h(std::string_view s) { return core::html_text(s); }
std::string md(std::string_view s) { return core::markdown_text(s); }

std::string octal(int mode) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0%o", static_cast<unsigned>(mode));
  return buf;
}

std::string result_word(core::Outcome o) {
  return o == core::Outcome::unknown ? std::string() : std::string(core::outcome_name(o));
}

std::string argv_line(const core::TraceExec& e) { return printable(quoted_argv(e.argv, e.argv_truncated)); }

// What one file record says besides its path: "read (openat, ok, 2x)".
std::string file_detail(const core::TraceFile& f) {
  std::string s = core::join(core::file_access_names(f.access), ", ") + " (" + printable(f.syscall);
  if (f.result != core::Outcome::unknown) s += ", " + result_word(f.result);
  if (f.mode >= 0) s += ", mode " + octal(f.mode);
  if (!f.target.empty()) s += ", from/to " + printable(f.target);
  return s + ", " + std::to_string(f.count) + "x)";
}

std::string net_scope_label(const core::TraceNet& n) {
  if (is_dns(n)) return "dns";
  auto scope = net_scope_name(net_scope(n));
  return scope.empty() ? "socket" : std::string(scope);
}

std::string net_line(const core::TraceNet& n) {
  std::string s = printable(n.syscall) + " " + printable(n.family);
  if (!n.socktype.empty()) s += "/" + printable(n.socktype);
  if (!n.address.empty()) {
    s += " " + printable(n.address);
    if (n.port >= 0) s += " port " + std::to_string(n.port);
  }
  if (n.result != core::Outcome::unknown) s += " (" + result_word(n.result) + ")";
  return s + ", " + std::to_string(n.count) + "x";
}

std::string syscall_line(const SyscallUse& u) {
  std::string s = printable(u.name);
  if (!u.values.empty()) s += " [" + printable(core::join(u.values, "; ")) + "]";
  return s;
}

std::string counts_line(const Review& r) {
  std::array<std::size_t, 5> counts{};
  for (const auto& f : r.findings) ++counts[static_cast<std::size_t>(f.severity)];
  std::string s;
  for (std::size_t i = counts.size(); i-- > 0;)
    s +=
        (s.empty() ? "" : " ") + std::to_string(counts[i]) + " " + std::string(severity_name(static_cast<Severity>(i)));
  return s;
}

std::string title(const Review& r) {
  std::string s = "review of " + printable(core::join(r.sources, ", "));
  if (!r.against.empty()) s += " against " + printable(core::join(r.against, ", ")) + " (what is new)";
  return s;
}

ordered file_json(const core::TraceFile& f) {
  ordered j{
      {"path", printable(f.path)}, {"syscall", printable(f.syscall)}, {"access", core::file_access_names(f.access)}};
  if (!f.target.empty()) j["target"] = printable(f.target);
  if (f.mode >= 0) j["mode"] = f.mode;
  if (f.result != core::Outcome::unknown) j["result"] = result_word(f.result);
  j["count"] = f.count;
  return j;
}

std::vector<std::string> printable_all(const std::vector<std::string>& items) {
  std::vector<std::string> out;
  for (const auto& i : items) out.push_back(printable(i));
  return out;
}

ordered inventory_json(const ExeInventory& inv) {
  ordered programs = ordered::array(), reads = ordered::array(), writes = ordered::array(), net = ordered::array(),
          groups = ordered::array();
  for (const auto& e : inv.programs) {
    ordered j{{"path", printable(e.path)}, {"argv", printable_all(e.argv)}, {"argv_truncated", e.argv_truncated}};
    if (e.result != core::Outcome::unknown) j["result"] = result_word(e.result);
    j["count"] = e.count;
    programs.push_back(std::move(j));
  }
  for (const auto& f : inv.reads) reads.push_back(file_json(f));
  for (const auto& f : inv.writes) writes.push_back(file_json(f));
  for (const auto& n : inv.network) {
    ordered j{{"scope", net_scope_label(n)}, {"syscall", printable(n.syscall)}, {"family", printable(n.family)}};
    if (!n.socktype.empty()) j["socktype"] = printable(n.socktype);
    if (!n.address.empty()) j["address"] = printable(n.address);
    if (n.port >= 0) j["port"] = n.port;
    if (n.result != core::Outcome::unknown) j["result"] = result_word(n.result);
    j["count"] = n.count;
    net.push_back(std::move(j));
  }
  for (const auto& g : inv.syscalls) {
    ordered calls = ordered::array();
    for (const auto& u : g.syscalls)
      calls.push_back({{"name", u.name}, {"arch", u.arch}, {"count", u.count}, {"values", printable_all(u.values)}});
    groups.push_back({{"group", g.group}, {"syscalls", std::move(calls)}});
  }
  return {{"exe", printable(inv.exe)}, {"programs", programs}, {"files_read", reads},
          {"files_written", writes},   {"network", net},       {"syscalls", groups}};
}

constexpr const char* css = R"(.review table{table-layout:fixed;width:100%;border-collapse:collapse}
.review td,.review th{overflow-wrap:anywhere;word-break:break-word}
.review code{overflow-wrap:anywhere;word-break:break-all;white-space:pre-wrap}
.review .incomplete{border:2px solid #c92a2a;background:#fff5f5;padding:.4em .8em}
.review .exe{margin-top:1.4em;border-left:4px solid #1c7ed6;padding-left:.8em}
.review ul.records{padding-left:1.2em}.review .scope{font-weight:bold}
.review col.sev{width:6.5em}.review col.rule{width:11em}.review col.subject{width:16%})";

void html_findings(const Review& r, std::ostringstream& o) {
  o << "<section id=\"review-findings\" class=\"review\"><h2>Findings of the review</h2>\n";
  if (r.findings.empty()) o << "<p>No findings.</p>\n";
  else {
    o << "<p>" << h(counts_line(r))
      << "</p>\n<table><colgroup><col class=\"sev\"><col class=\"rule\"><col class=\"subject\">"
         "<col><col><col></colgroup>\n<tr><th>Severity</th><th>Rule</th><th>Subject</th><th>Finding</th>"
         "<th>Why it matters</th><th>Fix</th></tr>\n";
    for (const auto& f : r.findings)
      o << "<tr class=\"finding\" data-id=\"" << h(f.id) << "\" data-severity=\"" << severity_name(f.severity)
        << "\"><td class=\"sev-" << severity_name(f.severity) << "\">" << severity_name(f.severity) << "</td><td>"
        << h(f.id) << "</td><td><code>" << h(f.subject) << "</code></td><td>" << h(f.message) << "</td><td>"
        << h(f.reason) << "</td><td>" << h(f.fix) << "</td></tr>\n";
    o << "</table>\n";
  }
  o << "</section>\n";
}

void html_exe(const ExeInventory& inv, std::ostringstream& o) {
  o << "<div class=\"exe\"><h3><code>" << h(inv.exe.empty() ? "(executable not recorded)" : inv.exe)
    << "</code></h3>\n";
  auto list = [&](const char* cls, const char* heading, auto&& items, auto&& line) {
    if (items.empty()) return;
    o << "<h4>" << heading << "</h4><ul class=\"records " << cls << "\">\n";
    for (const auto& i : items) o << "<li>" << line(i) << "</li>\n";
    o << "</ul>\n";
  };
  list("programs", "Programs run", inv.programs, [](const core::TraceExec& e) {
    return "<code>" + h(e.path) + "</code>: <code>" + h(argv_line(e)) + "</code>" +
           (e.result == core::Outcome::unknown ? "" : " (" + result_word(e.result) + ")") + ", " +
           std::to_string(e.count) + "x";
  });
  list("reads", "Files read", inv.reads,
       [](const core::TraceFile& f) { return "<code>" + h(f.path) + "</code> " + h(file_detail(f)); });
  list("writes", "Files written or created", inv.writes,
       [](const core::TraceFile& f) { return "<code>" + h(f.path) + "</code> " + h(file_detail(f)); });
  list("network", "Network", inv.network, [](const core::TraceNet& n) {
    return "<span class=\"scope\">" + h(net_scope_label(n)) + "</span> " + h(net_line(n));
  });
  list("syscalls", "Syscalls", inv.syscalls, [](const SyscallGroupUse& g) {
    std::string s = "<code>" + h(g.group) + "</code>: ";
    for (std::size_t i = 0; i < g.syscalls.size(); ++i) s += (i ? ", " : "") + h(syscall_line(g.syscalls[i]));
    return s;
  });
  o << "</div>\n";
}

} // namespace

std::string_view review_css() noexcept { return css; }

std::string quoted_argv(const std::vector<std::string>& argv, bool truncated) {
  std::vector<std::string> words;
  for (const auto& a : argv) {
    if (!a.empty() && a.find_first_of(" '\"\t") == std::string::npos) {
      words.push_back(a);
      continue;
    }
    std::string quoted = "'";
    for (char c : a) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
    words.push_back(quoted + "'");
  }
  return core::join(words, " ") + (truncated ? " ..." : "");
}

std::string format_review_text(const Review& r) {
  std::ostringstream o;
  o << title(r) << "\n";
  for (const auto& c : r.commands) o << "command: " << printable(c) << "\n";
  o << "workspace: " << (r.workspace.empty() ? "(none)" : printable(core::join(r.workspace, ", "))) << "\n";
  for (const auto& i : r.incomplete) o << "INCOMPLETE: " << printable(i) << "\n";
  for (const auto& n : r.notes) o << "note: " << printable(n) << "\n";
  o << "\nfindings:\n";
  if (r.findings.empty()) o << "  none\n";
  for (const auto& f : r.findings) {
    o << severity_name(f.severity) << ": " << f.id << ": " << printable(f.subject) << ": " << printable(f.message)
      << "\n";
    o << "  why: " << printable(f.reason) << "\n";
    if (!f.fix.empty()) o << "  fix: " << printable(f.fix) << "\n";
  }
  o << "summary: " << counts_line(r) << "\n\ninventory:\n";
  if (r.executables.empty()) o << "  nothing recorded\n";
  for (const auto& inv : r.executables) {
    o << printable(inv.exe.empty() ? "(executable not recorded)" : inv.exe) << "\n";
    if (!inv.programs.empty()) o << "  programs run:\n";
    for (const auto& e : inv.programs)
      o << "    " << printable(e.path) << ": " << argv_line(e)
        << (e.result == core::Outcome::unknown ? "" : " (" + result_word(e.result) + ")") << ", " << e.count << "x\n";
    if (!inv.reads.empty()) o << "  files read:\n";
    for (const auto& f : inv.reads) o << "    " << printable(f.path) << " " << file_detail(f) << "\n";
    if (!inv.writes.empty()) o << "  files written or created:\n";
    for (const auto& f : inv.writes) o << "    " << printable(f.path) << " " << file_detail(f) << "\n";
    if (!inv.network.empty()) o << "  network:\n";
    for (const auto& n : inv.network) o << "    " << net_scope_label(n) << ": " << net_line(n) << "\n";
    if (!inv.syscalls.empty()) o << "  syscalls:\n";
    for (const auto& g : inv.syscalls) {
      o << "    " << g.group << ":";
      for (std::size_t i = 0; i < g.syscalls.size(); ++i) o << (i ? ", " : " ") << syscall_line(g.syscalls[i]);
      o << "\n";
    }
  }
  return o.str();
}

std::string review_to_json(const Review& r) {
  ordered j;
  j["traces"] = printable_all(r.sources);
  j["against"] = printable_all(r.against);
  j["commands"] = printable_all(r.commands);
  j["workspace"] = printable_all(r.workspace);
  j["behaviour_recorded"] = r.behaviour_recorded;
  j["complete"] = r.incomplete.empty();
  j["incomplete"] = printable_all(r.incomplete);
  j["highest"] = r.highest() ? ordered(severity_name(*r.highest())) : ordered();
  auto& findings = j["findings"] = ordered::array();
  for (const auto& f : r.findings)
    findings.push_back({{"severity", severity_name(f.severity)},
                        {"id", f.id},
                        {"subject", printable(f.subject)},
                        {"arches", f.arches},
                        {"message", printable(f.message)},
                        {"reason", f.reason},
                        {"fix", f.fix},
                        {"exe", printable(f.exe)}});
  auto& inventory = j["inventory"] = ordered::array();
  for (const auto& inv : r.executables) inventory.push_back(inventory_json(inv));
  j["notes"] = printable_all(r.notes);
  return j.dump(2, ' ', true, ordered::error_handler_t::replace) + "\n";
}

std::string review_markdown_sections(const Review& r) {
  std::ostringstream o;
  o << "## What the program did\n\n";
  for (const auto& c : r.commands) o << "- Command: " << md(c) << "\n";
  o << "- Workspace: " << (r.workspace.empty() ? "(none)" : md(core::join(r.workspace, ", "))) << "\n";
  for (const auto& i : r.incomplete) o << "- **Incomplete:** " << md(i) << "\n";
  for (const auto& n : r.notes) o << "- Note: " << md(n) << "\n";
  o << "\n## Findings of the review\n\n";
  if (r.findings.empty()) o << "No findings.\n\n";
  else {
    o << counts_line(r)
      << "\n\n| Severity | Rule | Subject | Finding | Why it matters | Fix |\n|---|---|---|---|---|---|\n";
    for (const auto& f : r.findings)
      o << "| " << severity_name(f.severity) << " | " << md(f.id) << " | " << md(f.subject) << " | " << md(f.message)
        << " | " << md(f.reason) << " | " << md(f.fix) << " |\n";
    o << "\n";
  }
  o << "## Inventory\n\n";
  if (r.executables.empty()) o << "Nothing recorded.\n\n";
  for (const auto& inv : r.executables) {
    o << "### " << md(inv.exe.empty() ? "(executable not recorded)" : inv.exe) << "\n\n";
    auto list = [&](const char* heading, auto&& items, auto&& line) {
      if (items.empty()) return;
      o << heading << ":\n\n";
      for (const auto& i : items) o << "- " << line(i) << "\n";
      o << "\n";
    };
    list("Programs run", inv.programs, [](const core::TraceExec& e) { return md(e.path) + ": " + md(argv_line(e)); });
    list("Files read", inv.reads, [](const core::TraceFile& f) { return md(f.path) + " " + md(file_detail(f)); });
    list("Files written or created", inv.writes,
         [](const core::TraceFile& f) { return md(f.path) + " " + md(file_detail(f)); });
    list("Network", inv.network,
         [](const core::TraceNet& n) { return "**" + net_scope_label(n) + "** " + md(net_line(n)); });
    list("Syscalls", inv.syscalls, [](const SyscallGroupUse& g) {
      std::string s = md(g.group) + ":";
      for (std::size_t i = 0; i < g.syscalls.size(); ++i) s += (i ? ", " : " ") + md(syscall_line(g.syscalls[i]));
      return s;
    });
  }
  return o.str();
}

std::string render_review_markdown(const Review& r) {
  return "# " + md(title(r)) + "\n\n" + review_markdown_sections(r);
}

std::string review_html_sections(const Review& r) {
  std::ostringstream o;
  o << "<section id=\"review-summary\" class=\"review\"><h2>What the program did</h2>\n<ul>\n";
  for (const auto& c : r.commands) o << "<li>Command: <code>" << h(c) << "</code></li>\n";
  o << "<li>Workspace: " << (r.workspace.empty() ? "(none)" : "<code>" + h(core::join(r.workspace, ", ")) + "</code>")
    << "</li>\n";
  auto top = r.highest();
  o << "<li>Findings: " << r.findings.size() << (top ? ", highest severity " + std::string(severity_name(*top)) : "")
    << "</li>\n</ul>\n";
  for (const auto& i : r.incomplete) o << "<p class=\"incomplete\"><strong>Incomplete:</strong> " << h(i) << "</p>\n";
  for (const auto& n : r.notes) o << "<p class=\"muted\">Note: " << h(n) << "</p>\n";
  o << "</section>\n";
  html_findings(r, o);
  o << "<section id=\"review-inventory\" class=\"review\"><h2>Inventory</h2>\n";
  if (r.executables.empty()) o << "<p>Nothing recorded.</p>\n";
  for (const auto& inv : r.executables) html_exe(inv, o);
  o << "</section>\n";
  return o.str();
}

std::string render_review_html(const Review& r) {
  std::ostringstream o;
  o << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
    << "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n"
    << "<title>" << h(title(r)) << "</title>\n<style>"
    << "body{font-family:system-ui,sans-serif;margin:2em auto;max-width:60em;padding:0 1em;color:#1b1b1b;"
       "line-height:1.45;overflow-wrap:anywhere}\n"
       "h1{font-size:1.5em;border-bottom:2px solid #444}h2{font-size:1.25em;margin-top:1.8em;border-bottom:1px solid "
       "#bbb}"
       "h3{font-size:1.05em}h4{font-size:.95em;margin:.6em 0 .2em}\n"
       "td,th{border:1px solid #ccc;padding:.25em .5em;text-align:left;vertical-align:top}th{background:#f0f0f0}\n"
       ".sev-critical{background:#8b0000;color:#fff}.sev-high{background:#d9480f;color:#fff}.sev-medium{background:#"
       "f59f00}"
       ".sev-low{background:#ffe066}.sev-info{background:#e7f5ff}code{background:#f4f4f4;padding:0 "
       ".2em}.muted{color:#666}\n"
    << css << "</style></head><body>\n<h1>" << h(title(r)) << "</h1>\n"
    << review_html_sections(r) << "</body></html>\n";
  return o.str();
}

} // namespace nucleus::profile
