// --version, the command boundary, and the man page and completions written from the CLI11
// definitions themselves.
#include "command_line.hpp"

#include "nucleus/core/strings.hpp"

#include <algorithm>
#include <iostream>
#include <sstream>
#include <string_view>

#if !defined(NUCLEUS_VERSION) || !defined(NUCLEUS_INFORMATION_URI)
#error "NUCLEUS_VERSION and NUCLEUS_INFORMATION_URI are set by tools/CMakeLists.txt"
#endif

namespace nucleus::cli {
namespace {

// ---- what the documents are made of --------------------------------------------------------

bool hidden(const CLI::Option* opt) { return opt->get_group().empty(); }
bool takes_value(const CLI::Option* opt) { return opt->get_items_expected_max() != 0; }
bool repeatable(const CLI::Option* opt) {
  return opt->get_items_expected_max() > 1 || opt->get_multi_option_policy() == CLI::MultiOptionPolicy::TakeAll;
}

std::vector<const CLI::Option*> named_options(const CLI::App& app) {
  return app.get_options([](const CLI::Option* o) { return !o->get_positional() && !hidden(o); });
}
std::vector<const CLI::Option*> positionals(const CLI::App& app) {
  return app.get_options([](const CLI::Option* o) { return o->get_positional(); });
}
std::vector<const CLI::App*> subcommands(const CLI::App& app) {
  return app.get_subcommands([](const CLI::App* s) { return !s->get_name().empty() && !s->get_group().empty(); });
}

// "TEXT:{auto,netlink,kmsg}" -> {"auto", "netlink", "kmsg"}: the values an IsMember check allows.
std::vector<std::string> choices(const CLI::Option* opt) {
  std::string type = opt->get_type_name();
  auto open = type.find('{');
  auto close = type.find('}', open);
  std::vector<std::string> out;
  if (open == std::string::npos || close == std::string::npos) return out;
  std::stringstream list(type.substr(open + 1, close - open - 1));
  for (std::string item; std::getline(list, item, ',');)
    if (!item.empty()) out.push_back(item);
  return out;
}

// The value's placeholder: "FILE" for ExistingFile, "auto|netlink|kmsg" for a choice, else "VALUE".
std::string metavar(const CLI::Option* opt) {
  auto values = choices(opt);
  if (!values.empty()) {
    std::string out;
    for (const auto& v : values) out += (out.empty() ? "" : "|") + v;
    return out;
  }
  std::string type = opt->get_type_name();
  if (type.find("FILE") != std::string::npos) return "FILE";
  if (type.find("DIR") != std::string::npos) return "DIR";
  if (type.rfind("INT", 0) == 0 || type.rfind("UINT", 0) == 0) return "N";
  if (type.rfind("FLOAT", 0) == 0) return "NUMBER";
  return "VALUE";
}

std::vector<std::string> spellings(const CLI::Option* opt) {
  std::vector<std::string> out;
  for (const auto& s : opt->get_snames()) out.push_back("-" + s);
  for (const auto& l : opt->get_lnames()) out.push_back("--" + l);
  return out;
}

std::vector<std::string> paragraphs(const std::string& text) {
  std::vector<std::string> out;
  std::string current;
  std::stringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.find_first_not_of(' ') == std::string::npos) {
      if (!current.empty()) out.push_back(current);
      current.clear();
    } else {
      current += line + "\n";
    }
  }
  if (!current.empty()) out.push_back(current);
  return out;
}

// ---- man page (roff, man macros) -----------------------------------------------------------

// Escapes what roff would interpret: backslashes, and '-' (a hyphen in roff, a minus in options).
std::string roff(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '\\') out += "\\e";
    else if (c == '-') out += "\\-";
    else out += c;
  }
  return out;
}

// Text lines: a leading '.' or '\'' would be read as a request; leading blanks would break the fill.
std::string roff_text(std::string_view text) {
  std::string out;
  std::stringstream in{std::string(text)};
  for (std::string line; std::getline(in, line);) {
    auto first = line.find_first_not_of(' ');
    if (first == std::string::npos) continue;
    line.erase(0, first);
    if (line[0] == '.' || line[0] == '\'') out += "\\&";
    out += roff(line) + "\n";
  }
  return out;
}

std::string roff_option(const CLI::Option* opt) {
  std::string head;
  for (const auto& s : spellings(opt)) head += (head.empty() ? "" : ", ") + ("\\fB" + roff(s) + "\\fR");
  if (takes_value(opt)) head += " \\fI" + roff(metavar(opt)) + "\\fR";
  std::string body = opt->get_description();
  if (!opt->get_default_str().empty()) body += " (default: " + opt->get_default_str() + ")";
  for (const auto* need : opt->get_needs()) body += "; needs " + need->get_name();
  if (opt->get_required()) body += "; required";
  return ".TP\n" + head + "\n" + roff_text(body);
}

std::string roff_options(const CLI::App& app) {
  std::string out;
  for (const auto* p : positionals(app))
    out += ".TP\n\\fI" + roff(p->get_name(true)) + "\\fR\n" + roff_text(p->get_description());
  // Grouped as --help groups them, in the order the groups first appear.
  std::vector<std::string> groups;
  for (const auto* o : named_options(app))
    if (std::find(groups.begin(), groups.end(), o->get_group()) == groups.end()) groups.push_back(o->get_group());
  for (const auto& group : groups) {
    if (group != "Options") out += ".PP\n\\fI" + roff(group) + "\\fR\n";
    for (const auto* o : named_options(app))
      if (o->get_group() == group) out += roff_option(o);
  }
  return out;
}

std::string roff_synopsis(const CLI::App& app, const std::string& path, const std::string& operands) {
  std::string out = ".PP\n\\fB" + roff(path) + "\\fR [\\fIOPTIONS\\fR]";
  for (const auto* p : positionals(app)) {
    std::string name = "\\fI" + roff(p->get_name(true)) + "\\fR" + (repeatable(p) ? "..." : "");
    out += " " + (p->get_required() ? name : "[" + name + "]");
  }
  if (!operands.empty()) out += " " + roff(operands);
  return out + "\n";
}

// A footer: "Examples:" paragraphs become preformatted blocks, the rest filled text. With
// `sections` (the tool's own footer) examples, exit status and the rest get sections of their own.
std::string roff_footer(const std::string& footer, bool sections) {
  std::string out;
  bool notes = false;
  for (const auto& para : paragraphs(footer)) {
    auto first_end = para.find('\n');
    std::string first = para.substr(0, first_end);
    if (first == "Examples:") {
      out += sections ? ".SH EXAMPLES\n" : ".PP\nExamples:\n";
      out += ".PP\n.RS 4\n.nf\n";
      std::stringstream in(para.substr(first_end + 1));
      for (std::string line; std::getline(in, line);) {
        line.erase(0, std::min(line.find_first_not_of(' '), line.size()));
        out += (line.starts_with(".") || line.starts_with("'") ? "\\&" : "") + roff(line) + "\n";
      }
      out += ".fi\n.RE\n";
    } else if (sections && first.starts_with("Exit status")) {
      out += ".SH EXIT STATUS\n" + roff_text(para);
    } else {
      if (sections && !notes) out += ".SH NOTES\n";
      notes = true;
      out += ".PP\n" + roff_text(para);
    }
  }
  return out;
}

std::string upper(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return s;
}

// ---- completions ---------------------------------------------------------------------------

// A short description for the completion menus: the first clause.
std::string short_description(const std::string& text) {
  auto end = text.find_first_of(";\n");
  std::string s = text.substr(0, end);
  while (!s.empty() && (s.back() == ' ' || s.back() == ':' || s.back() == ',')) s.pop_back();
  return s;
}

std::string function_name(const std::string& tool) {
  std::string f = "_" + tool;
  std::replace(f.begin(), f.end(), '-', '_');
  return f;
}

std::vector<std::string> all_spellings(const CLI::App& app) {
  std::vector<std::string> out;
  for (const auto* o : named_options(app))
    for (const auto& s : spellings(o)) out.push_back(s);
  return out;
}

// bash: `case "$prev"` arms for the options that take a value, then the option list.
std::string bash_option_cases(const CLI::App& app, const std::string& indent) {
  std::string out;
  for (const auto* o : named_options(app)) {
    if (!takes_value(o)) continue;
    auto values = choices(o);
    out += indent + core::join(spellings(o), "|") + ")\n";
    if (values.empty()) out += indent + "  return ;; # a file or a value: readline's default completion\n";
    else out += indent + "  COMPREPLY=($(compgen -W '" + core::join(values, " ") + "' -- \"$cur\")); return ;;\n";
  }
  return out;
}

std::string value_pattern(const CLI::App& app) {
  std::vector<std::string> words;
  for (const auto* o : named_options(app))
    if (takes_value(o))
      for (const auto& s : spellings(o)) words.push_back(s);
  return words.empty() ? std::string("--no-value-options--") : core::join(words, "|");
}

std::string bash_completion(const CLI::App& app, const ToolInfo& info) {
  const std::string tool = app.get_name();
  const std::string fn = function_name(tool);
  std::string out =
      "# bash completion for " + tool + "; generated by `" + tool + " --generate bash` from its option definitions.\n";
  out += fn + "() {\n  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]} i\n  COMPREPLY=()\n";
  auto subs = subcommands(app);
  if (!subs.empty()) {
    std::vector<std::string> names;
    for (const auto* s : subs) names.push_back(s->get_name());
    out += "  local sub=\n  for ((i = 1; i < COMP_CWORD; i++)); do\n"
           "    case ${COMP_WORDS[i]} in -*) ;; *) sub=${COMP_WORDS[i]}; break ;; esac\n  done\n";
    out += "  if [[ -z $sub ]]; then\n    COMPREPLY=($(compgen -W '" + core::join(names, " ") + " " +
           core::join(all_spellings(app), " ") + "' -- \"$cur\"))\n    return\n  fi\n  case $sub in\n";
    for (const auto* s : subs) {
      out += "  " + s->get_name() + ")\n    case $prev in\n" + bash_option_cases(*s, "    ") + "    esac\n";
      out += "    [[ $cur == -* ]] && COMPREPLY=($(compgen -W '" + core::join(all_spellings(*s), " ") +
             "' -- \"$cur\"))\n    ;;\n";
    }
    out += "  esac\n}\n";
  } else {
    if (!info.operands.empty()) {
      // Once the command has started, the rest is that command's own command line.
      out += "  local start=\n  for ((i = 1; i < COMP_CWORD; i++)); do\n    case ${COMP_WORDS[i]} in\n"
             "    --) start=$((i + 1)); break ;;\n    " +
             value_pattern(app) + ") ((i++)) ;;\n    -*) ;;\n    *) start=$i; break ;;\n    esac\n  done\n";
      out += "  if [[ -n $start ]]; then\n"
             "    if declare -F _command_offset >/dev/null; then _command_offset \"$start\"; fi\n"
             "    return\n  fi\n";
    }
    out += "  case $prev in\n" + bash_option_cases(app, "  ") + "  esac\n";
    out += "  if [[ $cur == -* ]]; then\n    COMPREPLY=($(compgen -W '" + core::join(all_spellings(app), " ") +
           "' -- \"$cur\"))\n";
    if (!info.operands.empty()) out += "  else\n    COMPREPLY=($(compgen -c -- \"$cur\"))\n";
    out += "  fi\n}\n";
  }
  out += "complete -o bashdefault -o default -F " + fn + " " + tool + "\n";
  return out;
}

std::string zsh_quote(const std::string& text) { // inside '...' and an _arguments [description]
  std::string out;
  for (char c : text) {
    if (c == '\'') out += "'\\''";
    else if (c == '[' || c == ']') out += std::string("\\") + c;
    else out += c;
  }
  return out;
}

std::string zsh_specs(const CLI::App& app, const std::string& indent) {
  std::string out;
  for (const auto* o : named_options(app)) {
    auto names = spellings(o);
    std::string exclusion = names.size() > 1 ? "'(" + core::join(names, " ") + ")'" : "";
    std::string many = repeatable(o) ? "'*'" : "";
    std::string action;
    if (takes_value(o)) {
      auto values = choices(o);
      action = ":" + zsh_quote(metavar(o)) + ":" + (values.empty() ? "_files" : "(" + core::join(values, " ") + ")");
    }
    std::string desc = "[" + zsh_quote(short_description(o->get_description())) + "]" + action;
    if (names.size() == 1) {
      out += indent + many + "'" + names[0] + (takes_value(o) ? "=" : "") + desc + "' \\\n";
    } else {
      std::string braces;
      for (const auto& n : names)
        braces += (braces.empty() ? "" : ",") + n + (takes_value(o) ? (n.size() == 2 ? "+" : "=") : "");
      out += indent + (many.empty() ? exclusion : many) + "{" + braces + "}'" + desc + "' \\\n";
    }
  }
  return out;
}

std::string zsh_completion(const CLI::App& app, const ToolInfo& info) {
  const std::string tool = app.get_name();
  const std::string fn = function_name(tool);
  std::string out = "#compdef " + tool + "\n# zsh completion for " + tool + "; generated by `" + tool +
                    " --generate zsh` from its option definitions.\n";
  auto subs = subcommands(app);
  out += fn + "() {\n";
  if (subs.empty()) {
    out += "  _arguments -s -S \\\n" + zsh_specs(app, "    ");
    out += info.operands.empty() ? "    '*:file:_files'\n" : "    '*::command:_normal'\n";
  } else {
    out += "  local curcontext=$curcontext state line\n  _arguments -C \\\n" + zsh_specs(app, "    ") +
           "    '1:command:->command' '*::argument:->argument'\n  case $state in\n  command)\n"
           "    local -a commands\n    commands=(\n";
    for (const auto* s : subs) {
      std::string desc = short_description(s->get_description());
      std::string escaped;
      for (char c : desc) escaped += c == ':' ? std::string("\\:") : std::string(1, c);
      out += "      '" + s->get_name() + ":" + zsh_quote(escaped) + "'\n";
    }
    out += "    )\n    _describe command commands ;;\n  argument)\n    case $line[1] in\n";
    for (const auto* s : subs) {
      out += "    " + s->get_name() + ")\n      _arguments -s -S \\\n" + zsh_specs(*s, "        ") +
             "        '*:file:_files' ;;\n";
    }
    out += "    esac ;;\n  esac\n";
  }
  out += "}\n" + fn + " \"$@\"\n";
  return out;
}

std::string fish_quote(const std::string& text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'' || c == '\\') out += '\\';
    out += c;
  }
  return out + "'";
}

std::string fish_options(const CLI::App& app, const std::string& tool, const std::string& condition) {
  std::string out;
  for (const auto* o : named_options(app)) {
    std::string line = "complete -c " + tool + condition;
    for (const auto& s : o->get_snames()) line += " -s " + s;
    for (const auto& l : o->get_lnames()) line += " -l " + l;
    if (takes_value(o)) {
      auto values = choices(o);
      line += values.empty() ? " -r -F" : " -x -a " + fish_quote(core::join(values, " "));
    }
    out += line + " -d " + fish_quote(short_description(o->get_description())) + "\n";
  }
  return out;
}

std::string fish_completion(const CLI::App& app) {
  const std::string tool = app.get_name();
  std::string out =
      "# fish completion for " + tool + "; generated by `" + tool + " --generate fish` from its option definitions.\n";
  auto subs = subcommands(app);
  if (subs.empty()) return out + fish_options(app, tool, "");
  std::vector<std::string> names;
  for (const auto* s : subs) names.push_back(s->get_name());
  out += fish_options(app, tool, " -n __fish_use_subcommand");
  for (const auto* s : subs)
    out += "complete -c " + tool + " -n __fish_use_subcommand -f -a " + s->get_name() + " -d " +
           fish_quote(short_description(s->get_description())) + "\n";
  for (const auto* s : subs) out += fish_options(*s, tool, " -n '__fish_seen_subcommand_from " + s->get_name() + "'");
  return out;
}

// ---- the command boundary ------------------------------------------------------------------

const CLI::Option* find_long(const CLI::App& app, std::string_view name) {
  for (const auto* o : app.get_options())
    for (const auto& l : o->get_lnames())
      if (l == name) return o;
  return nullptr;
}

const CLI::Option* find_short(const CLI::App& app, char name) {
  for (const auto* o : app.get_options())
    for (const auto& s : o->get_snames())
      if (s.size() == 1 && s[0] == name) return o;
  return nullptr;
}

// How many words from argv[i] on belong to one option of the app (the option, and its value if
// that is a separate word); 0 when argv[i] is not an option: the command starts there; -1 when it
// looks like an option but is none of ours.
int option_words(const CLI::App& app, std::string_view word) {
  if (word.size() < 2 || word[0] != '-') return 0;
  if (word.starts_with("--")) {
    auto eq = word.find('=');
    const auto* opt = find_long(app, word.substr(2, eq == std::string_view::npos ? eq : eq - 2));
    if (opt == nullptr) return -1;
    if (!takes_value(opt) || eq != std::string_view::npos) return 1;
    return 2;
  }
  for (std::size_t i = 1; i < word.size(); ++i) { // -q, -o FILE, -oFILE, -qo FILE
    const auto* opt = find_short(app, word[i]);
    if (opt == nullptr) return -1;
    if (takes_value(opt)) return i + 1 < word.size() ? 1 : 2;
  }
  return 1;
}

} // namespace

const char* version() noexcept { return NUCLEUS_VERSION; }
const char* information_uri() noexcept { return NUCLEUS_INFORMATION_URI; }

void add_standard_options(CLI::App& app, ToolInfo info) {
  app.set_version_flag("--version", app.get_name() + " " + version(), "print the version and exit");
  CLI::App* self = &app;
  app.add_option_function<std::string>(
         "--generate",
         [self, info](const std::string& what) {
           std::cout << (what == "man" ? man_page(*self, info) : completion(*self, info, what)) << std::flush;
           throw CLI::Success();
         },
         "write the man page or a shell completion script to stdout (used by the build)")
      ->check(CLI::IsMember({"man", "bash", "zsh", "fish"}))
      ->group(""); // hidden: for the build, not for users
}

std::vector<std::string> parse_with_command(CLI::App& app, int argc, char** argv, const std::string& what) {
  int end = 1;
  while (end < argc && std::string_view(argv[end]) != "--") {
    int words = option_words(app, argv[end]);
    if (words == 0) break;
    // Refused before anything else is checked, so that the message names the misspelt option.
    if (words < 0) throw CLI::ExtrasError(std::vector<std::string>{argv[end]});
    end += words;
  }
  end = std::min(end, argc);
  std::vector<const char*> ours(argv, argv + end);
  app.parse(static_cast<int>(ours.size()), ours.data());
  int first = end < argc && std::string_view(argv[end]) == "--" ? end + 1 : end;
  std::vector<std::string> command(argv + first, argv + argc);
  if (command.empty()) throw CLI::RequiredError(what);
  return command;
}

std::string man_page(const CLI::App& app, const ToolInfo& info) {
  const std::string tool = app.get_name();
  std::string out = ".\\\" Generated by `" + roff(tool) + " \\-\\-generate man` from its option definitions.\n";
  out += ".TH " + roff(upper(tool)) + " 1 \"\" \"nucleus " + version() + "\" \"User Commands\"\n";
  out += ".SH NAME\n" + roff(tool) + " \\- " + roff(info.summary) + "\n";
  out += ".SH SYNOPSIS\n";
  auto subs = subcommands(app);
  if (subs.empty()) {
    out += roff_synopsis(app, tool, info.operands);
  } else {
    for (const auto* s : subs) out += roff_synopsis(*s, tool + " " + s->get_name(), "");
  }
  out += ".SH DESCRIPTION\n" + roff_text(app.get_description());
  out += ".SH OPTIONS\n" + roff_options(app);
  if (!subs.empty()) {
    out += ".SH COMMANDS\n";
    for (const auto* s : subs) {
      out += ".SS " + roff(s->get_name()) + "\n" + roff_text(s->get_description());
      out += roff_synopsis(*s, tool + " " + s->get_name(), "") + roff_options(*s) + roff_footer(s->get_footer(), false);
    }
  }
  out += roff_footer(app.get_footer(), true);
  std::vector<std::string> others;
  for (std::string t : {"nucleus-trace", "nucleus-profile", "nucleus-run"})
    if (t != tool) others.push_back("\\fB" + roff(t) + "\\fR(1)");
  out += ".SH SEE ALSO\n" + core::join(others, ", ") + "\n";
  return out;
}

std::string completion(const CLI::App& app, const ToolInfo& info, const std::string& shell) {
  if (shell == "bash") return bash_completion(app, info);
  if (shell == "zsh") return zsh_completion(app, info);
  return fish_completion(app);
}

} // namespace nucleus::cli
