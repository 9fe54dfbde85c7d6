// Text from a workload, a trace or a profile, made safe for where nucleus shows it. A path, a
// command or a syscall name written by someone else must not move the cursor, erase a line, hide
// text or reorder what a reviewer reads; so every such string passes through one of these on its
// way to a terminal, a log line or a Markdown file. printable() and printable_lines() are
// idempotent (safe text comes back unchanged), so a string may pass through more than one choke
// point on its way out; the Markdown ones are applied once, where the document is written.
#pragma once

#include <ostream>
#include <streambuf>
#include <string>
#include <string_view>

namespace nucleus::core {

// For a terminal or a log line: C0 controls (newline and tab included), DEL, C1 controls, the
// Unicode marks that reorder or hide text (bidi embeddings, overrides and isolates, zero-width
// characters, line and paragraph separators) and bytes that are not UTF-8 are shown as `\xNN`
// (a byte) or `\u{NNNN}` (a code point); everything else, other languages' text included, stays.
std::string printable(std::string_view text);

// The same for a block of nucleus's own lines with others' strings in them: newline and tab are
// kept, everything else as printable().
std::string printable_lines(std::string_view text);

// For inline Markdown (a table cell, a list item, a heading): printable(), then every ASCII
// punctuation character backslash-escaped, which CommonMark and GitHub's tables read as the
// character itself; so no heading, emphasis, link, image, HTML, comment, code span or table
// column can start inside it.
std::string markdown_text(std::string_view text);

// For HTML text and attribute values: printable(), then &, <, >, " and ' as character references,
// so that nothing in it can open a tag, an attribute or an entity.
std::string html_text(std::string_view text);

// A fenced Markdown code block holding `text` (printable_lines()): the fence is longer than any
// run of backticks inside, so the block cannot be closed early.
std::string markdown_code_block(std::string_view text);

// While it lives, everything written to `stream` passes through printable_lines(): the tools
// install one on std::cout and std::cerr at the top of main, so no message, note or denial line
// of theirs (nor a library's) can carry a workload's terminal sequences, whichever code wrote it.
// The workload's own output does not pass through it: it writes to the descriptors, not here.
// A tool's own control sequences go to raw(), the stream's buffer from before.
class PrintableStream {
public:
  explicit PrintableStream(std::ostream& stream);
  ~PrintableStream();
  PrintableStream(const PrintableStream&) = delete;
  PrintableStream& operator=(const PrintableStream&) = delete;
  std::streambuf* raw() const noexcept { return buf_.raw; }

private:
  struct Buf : std::streambuf {
    std::streambuf* raw = nullptr;
    std::string pending;
    int_type overflow(int_type c) override;
    std::streamsize xsputn(const char* s, std::streamsize n) override;
    int sync() override;
    void drain(bool everything);
  };
  std::ostream& stream_;
  Buf buf_;
};

} // namespace nucleus::core
