// The tools' command lines as users and scripts rely on them: --version everywhere, nucleus's own
// options never taken for the command, and the man pages and completions the build generates from
// the same definitions as --help (rendered by man, loaded by bash, and complete).
#include "e2e_support.hpp"

#include <gtest/gtest.h>

#include <regex>
#include <set>
#include <sstream>

using nucleus::test::run;
using nucleus::test::tool;

namespace {

const std::vector<std::string> tools = {"nucleus-run", "nucleus-trace", "nucleus-profile"};

std::filesystem::path doc(const std::string& kind, const std::string& tool_name) {
  auto d = nucleus::test::binary_dir() / "doc";
  if (kind == "man") return d / "man1" / (tool_name + ".1");
  if (kind == "bash") return d / "bash" / tool_name;
  if (kind == "zsh") return d / "zsh" / ("_" + tool_name);
  return d / "fish" / (tool_name + ".fish");
}

// Every long option --help lists (its option lines, not the examples), for the tool or one
// subcommand of it.
std::set<std::string> help_options(const std::vector<std::string>& argv) {
  auto r = run(argv);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::set<std::string> out;
  std::regex option(R"(^  (-[a-zA-Z],)?(--[a-z][a-z0-9-]*))");
  std::stringstream lines(r.out);
  std::smatch m;
  for (std::string line; std::getline(lines, line);)
    if (std::regex_search(line, m, option)) out.insert(m[2]);
  EXPECT_NE(out.count("--help"), 0u) << r.out;
  return out;
}

std::vector<std::string> profile_subcommands() {
  return {"gen", "validate", "compile", "merge", "diff", "check", "explain", "report", "export", "add", "remove"};
}

std::string allow_all(const nucleus::test::TempDir& dir) {
  auto path = (dir / "allow.json").string();
  nucleus::test::write_text(path, R"({"defaultAction":"SCMP_ACT_ALLOW"})");
  return path;
}

// What bash completes for the words of `line` (the last one being completed), with the tool's
// generated completion loaded.
std::string bash_complete(const std::string& tool_name, const std::vector<std::string>& words) {
  std::string array;
  for (const auto& w : words) array += " '" + w + "'";
  std::string script = "source '" + doc("bash", tool_name).string() + "'\nCOMP_WORDS=(" + array +
                       ")\nCOMP_CWORD=" + std::to_string(words.size() - 1) + "\n" + "f=$(complete -p " + tool_name +
                       " | sed 's/.*-F \\([^ ]*\\) .*/\\1/')\n" + "$f\nprintf '%s\\n' \"${COMPREPLY[@]}\"\n";
  auto r = run({"bash", "--norc", "--noprofile", "-c", script});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  return r.out;
}

} // namespace

TEST(CommandLine, VersionOnEveryTool) {
  for (const auto& t : tools) {
    auto r = run({tool(t).string(), "--version"});
    EXPECT_EQ(r.exit_code, 0) << t << ": " << r.err;
    EXPECT_EQ(r.out, t + " " + NUCLEUS_PROJECT_VERSION + "\n") << t;
    EXPECT_EQ(r.err, "") << t;
  }
}

TEST(CommandLine, OwnOptionsAreNeverTakenForTheCommand) {
  nucleus::test::TempDir dir;
  auto profile = allow_all(dir);
  auto out = (dir / "x").string();
  // --version and --help are nucleus's wherever they come before the command.
  auto r = run({tool("nucleus-trace").string(), "--version"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, std::string("nucleus-trace ") + NUCLEUS_PROJECT_VERSION + "\n");
  r = run({tool("nucleus-trace").string(), "-o", out, "--version"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, std::string("nucleus-trace ") + NUCLEUS_PROJECT_VERSION + "\n");
  EXPECT_FALSE(std::filesystem::exists(out)) << "nothing was traced, so no trace may be written";
  r = run({tool("nucleus-run").string(), "--profile", profile, "--help"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("--profile"), std::string::npos) << r.out;
  r = run({tool("nucleus-run").string(), "-q", "--profile=" + profile, "--trust-level", "trusted", "--version"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, std::string("nucleus-run ") + NUCLEUS_PROJECT_VERSION + "\n");
  // A misspelt option is refused, not run as a program called "--profle".
  r = run({tool("nucleus-run").string(), "--profle", profile, "/bin/true"});
  EXPECT_EQ(r.exit_code, 125);
  EXPECT_NE(r.err.find("--profle"), std::string::npos) << r.err;
  r = run({tool("nucleus-trace").string(), "--bogus", "-o", out, "/bin/true"});
  EXPECT_EQ(r.exit_code, 125);
  EXPECT_NE(r.err.find("--bogus"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(out));
  // Without a command: a usage error naming what is missing.
  r = run({tool("nucleus-run").string(), "--profile", profile});
  EXPECT_EQ(r.exit_code, 125);
  EXPECT_NE(r.err.find("a command to run"), std::string::npos) << r.err;
}

TEST(CommandLine, ACommandsOwnOptionsGoToTheCommand) {
  // The command is found where nucleus's options end, so its --help and --version reach it: here
  // a command that does not exist, which nucleus reports by name (127) instead of printing help.
  nucleus::test::TempDir dir;
  auto profile = allow_all(dir);
  for (std::vector<std::string> argv :
       {std::vector<std::string>{"--profile", profile, "--trust-level", "trusted", "/nonexistent/cmd", "--help"},
        std::vector<std::string>{"--profile", profile, "--trust-level", "trusted", "--", "/nonexistent/cmd",
                                 "--version"},
        std::vector<std::string>{"-p", profile, "--trust-level=trusted", "/nonexistent/cmd", "-p", "--help"}}) {
    argv.insert(argv.begin(), tool("nucleus-run").string());
    auto r = run(argv);
    EXPECT_EQ(r.exit_code, 127) << r.err;
    EXPECT_NE(r.err.find("/nonexistent/cmd"), std::string::npos) << r.err;
    EXPECT_EQ(r.out, "");
  }
}

// Full RELRO: every symbol bound at start (BIND_NOW), after which the GOT is made read-only
// (GNU_RELRO), so that a corrupted pointer cannot be planted there.
TEST(CommandLine, ToolsAreLinkedWithFullRelro) {
  for (const auto& t : tools) {
    auto dynamic = run({"readelf", "-d", tool(t).string()});
    ASSERT_EQ(dynamic.exit_code, 0) << dynamic.err;
    EXPECT_NE(dynamic.out.find("BIND_NOW"), std::string::npos) << t << " binds lazily:\n" << dynamic.out;
    auto segments = run({"readelf", "-lW", tool(t).string()});
    ASSERT_EQ(segments.exit_code, 0) << segments.err;
    EXPECT_NE(segments.out.find("GNU_RELRO"), std::string::npos) << t << " has no read-only relocations segment";
  }
}

TEST(CommandLine, ManPagesRenderWithoutWarningsAndDocumentEveryOption) {
  for (const auto& t : tools) {
    auto page = doc("man", t);
    ASSERT_TRUE(std::filesystem::exists(page)) << page;
    // The installed page is what the tool generates now: it cannot lag behind the options.
    auto generated = run({tool(t).string(), "--generate", "man"});
    ASSERT_EQ(generated.exit_code, 0) << generated.err;
    EXPECT_EQ(nucleus::test::read_text(page), generated.out) << t;
    auto r =
        run({"sh", "-c",
             "MANWIDTH=80 MAN_KEEP_FORMATTING= man --warnings=w -E UTF-8 -l '" + page.string() + "' 2>&1 >/dev/null"});
    EXPECT_EQ(r.exit_code, 0);
    EXPECT_EQ(r.out, "") << t << ": man warns";
    auto text = run({"sh", "-c", "MANWIDTH=200 man -E ascii -l '" + page.string() + "' | col -b"});
    ASSERT_EQ(text.exit_code, 0) << text.err;
    for (const char* section : {"NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "EXAMPLES", "SEE ALSO"})
      EXPECT_NE(text.out.find(std::string("\n") + section + "\n"), std::string::npos) << t << " lacks " << section;
    for (const auto& o : help_options({tool(t).string(), "--help"}))
      EXPECT_NE(text.out.find(o), std::string::npos) << t << ": man page lacks " << o;
    if (t == "nucleus-profile") {
      EXPECT_NE(text.out.find("\nCOMMANDS\n"), std::string::npos);
      for (const auto& sub : profile_subcommands()) {
        EXPECT_NE(text.out.find("\n   " + sub + "\n"), std::string::npos) << "no section for " << sub;
        for (const auto& o : help_options({tool(t).string(), sub, "--help"}))
          EXPECT_NE(text.out.find(o), std::string::npos) << sub << ": man page lacks " << o;
      }
    }
  }
}

TEST(CommandLine, BashCompletionsLoadAndComplete) {
  for (const auto& t : tools) {
    auto script = doc("bash", t).string();
    auto r = run({"bash", "-n", script});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    r = run({"bash", "--norc", "--noprofile", "-c", "source '" + script + "' && complete -p " + t});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.err, "");
    std::string fn = "_" + std::regex_replace(t, std::regex("-"), "_");
    EXPECT_EQ(r.out, "complete -o bashdefault -o default -F " + fn + " " + t + "\n");
    // Every option --help lists is offered.
    auto offered = bash_complete(t, {t, "--"});
    for (const auto& o : help_options({tool(t).string(), "--help"}))
      EXPECT_NE(offered.find(o + "\n"), std::string::npos) << t << ": completion lacks " << o;
  }
  EXPECT_EQ(bash_complete("nucleus-run", {"nucleus-run", "--sou"}), "--source\n");
  EXPECT_EQ(bash_complete("nucleus-run", {"nucleus-run", "--source", ""}), "auto\ngvisor\nnetlink\nkmsg\n");
  EXPECT_EQ(bash_complete("nucleus-trace", {"nucleus-trace", "--trust-level", "t"}), "trusted\n");
  EXPECT_EQ(bash_complete("nucleus-profile", {"nucleus-profile", "ex"}), "explain\nexport\n");
  EXPECT_EQ(bash_complete("nucleus-profile", {"nucleus-profile", "check", "--fail"}), "--fail-on\n");
  EXPECT_EQ(bash_complete("nucleus-profile", {"nucleus-profile", "check", "--format", "s"}), "sarif\n");
  // After the command, nucleus's options are no longer offered.
  EXPECT_EQ(bash_complete("nucleus-run", {"nucleus-run", "-p", "x.json", "/bin/true", "--sou"}).find("--source"),
            std::string::npos);
}

TEST(CommandLine, EveryShellGetsACompletionWithEveryOption) {
  for (const auto& t : tools) {
    for (const char* shell : {"zsh", "fish"}) {
      auto text = nucleus::test::read_text(doc(shell, t));
      auto generated = run({tool(t).string(), "--generate", shell});
      EXPECT_EQ(text, generated.out);
      for (const auto& o : help_options({tool(t).string(), "--help"})) {
        std::string spelt = std::string(shell) == "fish" ? "-l " + o.substr(2) + " " : o;
        EXPECT_NE(text.find(spelt), std::string::npos) << t << " " << shell << " lacks " << o;
      }
    }
  }
}
