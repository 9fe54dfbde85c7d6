// Escaping others' text: what reaches a terminal or a Markdown file cannot steer it.
#include "nucleus/core/text.hpp"

#include <gtest/gtest.h>

#include <sstream>

namespace core = nucleus::core;

namespace {

bool has_raw_control(const std::string& s, bool lines_allowed) {
  for (unsigned char c : s)
    if ((c < 0x20 && !(lines_allowed && (c == '\n' || c == '\t'))) || c == 0x7F) return true;
  return false;
}

} // namespace

TEST(Text, TerminalSequencesAreShownNotObeyed) {
  std::string attack = "/tmp/x\r\x1b[2K\x1b[1A\x1b[8mnothing would have been denied";
  auto out = core::printable(attack);
  EXPECT_FALSE(has_raw_control(out, false)) << out;
  EXPECT_EQ(out, "/tmp/x\\x0d\\x1b[2K\\x1b[1A\\x1b[8mnothing would have been denied");
}

TEST(Text, NewlinesAndTabsAreEscapedInALineAndKeptInLines) {
  EXPECT_EQ(core::printable("a\nb\tc\x7f"), "a\\x0ab\\x09c\\x7f");
  EXPECT_EQ(core::printable_lines("a\nb\tc\x7f\x07"), "a\nb\tc\\x7f\\x07");
}

TEST(Text, C1ControlsAndInvisibleMarksAreEscaped) {
  // U+009B is a one-character CSI on terminals that read C1 controls; U+202E reverses the text
  // after it; U+2066 opens an isolate; U+200B is invisible.
  EXPECT_EQ(core::printable("a\xc2\x9b"
                            "2Kb"),
            "a\\u{009b}2Kb");
  EXPECT_EQ(core::printable("evil\xe2\x80\xaegpj.exe"), "evil\\u{202e}gpj.exe");
  EXPECT_EQ(core::printable("x\xe2\x81\xa6y\xe2\x80\x8bz"), "x\\u{2066}y\\u{200b}z");
}

TEST(Text, InvalidUtf8IsShownByteByByte) {
  EXPECT_EQ(core::printable("a\xff\xfe"), "a\\xff\\xfe");
  EXPECT_EQ(core::printable("\xc0\x9b"), "\\xc0\\x9b");          // overlong form of ESC
  EXPECT_EQ(core::printable("\xed\xa0\x80"), "\\xed\\xa0\\x80"); // a surrogate
  EXPECT_EQ(core::printable("cut\xe2\x82"), "cut\\xe2\\x82");    // truncated sequence
}

TEST(Text, OtherLanguagesAndPlainTextStay) {
  std::string text = "/home/\xc3\xa9t\xc3\xa9/\xe6\x96\x87\xe4\xbb\xb6 \xf0\x9f\x94\x92 [pid 42]: errno EPERM";
  EXPECT_EQ(core::printable(text), text);
}

TEST(Text, PrintableIsIdempotent) {
  for (std::string s : {"a\x1b[8mb\r", "x\xc2\x9b", "\xff", "ok", "a\\x1bb"}) {
    auto once = core::printable(s);
    EXPECT_EQ(core::printable(once), once);
    EXPECT_EQ(core::printable_lines(once), once);
  }
}

TEST(Text, MarkdownTextCannotOpenStructure) {
  auto out = core::markdown_text("`x` <!-- a\n# No findings\n![i](http://e/x.png) | <b>");
  EXPECT_EQ(out.find('\n'), std::string::npos);
  // Every markup character is preceded by a backslash, which CommonMark reads as the character.
  for (std::size_t i = 0; i < out.size(); ++i) {
    char c = out[i];
    if (c == '`' || c == '<' || c == '#' || c == '!' || c == '[' || c == '|' || c == '(') {
      ASSERT_GT(i, 0u);
      EXPECT_EQ(out[i - 1], '\\') << "unescaped '" << c << "' at " << i << " in " << out;
    }
  }
  EXPECT_EQ(core::markdown_text("a_b*c"), "a\\_b\\*c");
}

TEST(Text, MarkdownCodeBlockCannotBeClosedFromInside) {
  auto block = core::markdown_code_block("read\n````\n# injected\n");
  EXPECT_EQ(block.substr(0, 6), "`````\n");
  EXPECT_EQ(block.substr(block.size() - 6), "`````\n");
  auto plain = core::markdown_code_block("a\x1b[2Kb");
  EXPECT_EQ(plain, "```\na\\x1b[2Kb\n```\n");
}

TEST(Text, AStreamGuardEscapesWhateverIsWrittenThroughIt) {
  std::ostringstream sink;
  {
    core::PrintableStream guard(sink);
    sink << "denied socket in /tmp/x\r\x1b[2K" << std::flush;
    sink << " [pid 7]\n"
         << "second\tline\x1b[8m";
    sink.write("\n", 1);
    // The tool's own sequence goes past the guard.
    guard.raw()->sputn("\r\x1b[K", 4);
  }
  EXPECT_EQ(sink.str(), "denied socket in /tmp/x\\x0d\\x1b[2K [pid 7]\nsecond\tline\\x1b[8m\n\r\x1b[K");
  sink << "\x1b"; // restored: the guard is gone
  EXPECT_EQ(sink.str().back(), '\x1b');
}

TEST(Text, FormatCharactersThatRenderAsNothingAreEscaped) {
  // A tag character (hidden text a program reads and a person does not), a variation selector,
  // a soft hyphen and a Hangul filler: each makes two different paths look alike.
  EXPECT_EQ(core::printable("a\xf3\xa0\x81\x81"
                            "b"),
            "a\\u{e0041}b");
  EXPECT_EQ(core::printable("a\xef\xb8\x8f"
                            "b\xc2\xad"
                            "c\xe3\x85\xa4"),
            "a\\u{fe0f}b\\u{00ad}c\\u{3164}");
}

TEST(Text, ALongLineIsNotCutInsideACharacter) {
  std::ostringstream sink;
  {
    core::PrintableStream guard(sink);
    std::string line(4095, 'a');
    line += "\xc3\xa9"; // the cut at 4096 bytes falls inside this character
    sink.write(line.data(), static_cast<std::streamsize>(line.size()));
    sink.write("\n", 1);
  }
  EXPECT_EQ(sink.str(), std::string(4095, 'a') + "\xc3\xa9\n");
}

TEST(Text, HtmlTextCannotOpenMarkup) {
  EXPECT_EQ(core::html_text("<script>a&b</script>"), "&lt;script&gt;a&amp;b&lt;/script&gt;");
  EXPECT_EQ(core::html_text("x\" onload='y'"), "x&quot; onload=&#39;y&#39;");
  EXPECT_EQ(core::html_text("a\nb\x1b[2J"), "a\\x0ab\\x1b[2J"); // one line, the terminal sequence shown
  EXPECT_EQ(core::html_text("caf\xc3\xa9"), "caf\xc3\xa9");
}
