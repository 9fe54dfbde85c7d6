// Escaping others' text for terminals, log lines and Markdown (see text.hpp for the rules).
#include "nucleus/core/text.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdio>

namespace nucleus::core {
namespace {

// The length of the UTF-8 sequence at s[i] and its code point, or 0 when it is not well formed
// (overlong forms, surrogates and values past U+10FFFF included).
std::size_t decode_utf8(std::string_view s, std::size_t i, char32_t& cp) {
  auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[i + k]); };
  unsigned char c = b(0);
  std::size_t len = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
  if (len == 0 || i + len > s.size()) return 0;
  if (len == 1) {
    cp = c;
    return 1;
  }
  cp = c & (0x7F >> len);
  for (std::size_t k = 1; k < len; ++k) {
    if ((b(k) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b(k) & 0x3F);
  }
  static constexpr char32_t least[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < least[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return len;
}

// Code points that change how the text around them is shown without being seen themselves, or
// are not seen at all: Unicode's format characters (category Cf), its separators and fillers that
// render as nothing, and the C1 controls. Two paths that differ only in these look the same.
bool hides_or_reorders(char32_t cp) {
  struct Range {
    char32_t first, last;
  };
  static constexpr Range ranges[] = {
      {0x0080, 0x009F},   // C1 controls (CSI is U+009B)
      {0x00AD, 0x00AD},   // soft hyphen
      {0x034F, 0x034F},   // combining grapheme joiner
      {0x061C, 0x061C},   // Arabic letter mark
      {0x115F, 0x1160},   // Hangul fillers
      {0x17B4, 0x17B5},   // Khmer inherent vowels
      {0x180B, 0x180F},   // Mongolian variation selectors and vowel separator
      {0x200B, 0x200F},   // zero-width space, joiners, LRM, RLM
      {0x2028, 0x202E},   // line and paragraph separators, bidi embeddings and overrides
      {0x2060, 0x206F},   // word joiner, invisible operators, bidi isolates, deprecated format controls
      {0x3164, 0x3164},   // Hangul filler
      {0xFE00, 0xFE0F},   // variation selectors
      {0xFEFF, 0xFEFF},   // zero-width no-break space
      {0xFFA0, 0xFFA0},   // halfwidth Hangul filler
      {0xFFF9, 0xFFFB},   // interlinear annotation controls
      {0x1BCA0, 0x1BCA3}, // shorthand format controls
      {0x1D173, 0x1D17A}, // musical format controls
      {0xE0000, 0xE007F}, // tag characters (text hidden from the reader, seen by a program)
      {0xE0100, 0xE01EF}, // variation selectors supplement
  };
  for (const auto& r : ranges)
    if (cp >= r.first && cp <= r.last) return true;
  return false;
}

void append_byte(std::string& out, unsigned char c) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "\\x%02x", c);
  out += buf;
}

std::string escape(std::string_view s, bool keep_lines) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    char32_t cp = 0;
    std::size_t len = decode_utf8(s, i, cp);
    if (len == 0) {
      append_byte(out, static_cast<unsigned char>(s[i]));
      ++i;
      continue;
    }
    if (len == 1 && (cp < 0x20 || cp == 0x7F) && !(keep_lines && (cp == '\n' || cp == '\t'))) {
      append_byte(out, static_cast<unsigned char>(cp));
    } else if (hides_or_reorders(cp)) {
      char buf[16];
      std::snprintf(buf, sizeof buf, "\\u{%04x}", static_cast<unsigned>(cp));
      out += buf;
    } else {
      out.append(s.substr(i, len));
    }
    i += len;
  }
  return out;
}

} // namespace

std::string printable(std::string_view text) { return escape(text, false); }

std::string printable_lines(std::string_view text) { return escape(text, true); }

std::string html_text(std::string_view text) {
  std::string out;
  for (char c : printable(text)) {
    switch (c) {
    case '&': out += "&amp;"; break;
    case '<': out += "&lt;"; break;
    case '>': out += "&gt;"; break;
    case '"': out += "&quot;"; break;
    case '\'': out += "&#39;"; break;
    default: out += c;
    }
  }
  return out;
}

std::string markdown_text(std::string_view text) {
  std::string safe = printable(text);
  std::string out;
  out.reserve(safe.size() + safe.size() / 4);
  for (char c : safe) {
    // Already escaped: a backslash that printable() wrote stays a backslash, shown as one.
    if (c >= 0x21 && c <= 0x7E && !((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')))
      out += '\\';
    out += c;
  }
  return out;
}

std::string markdown_code_block(std::string_view text) {
  std::string safe = printable_lines(text);
  std::size_t longest = 0, run = 0;
  for (char c : safe) {
    run = c == '`' ? run + 1 : 0;
    longest = std::max(longest, run);
  }
  std::string fence(std::max<std::size_t>(3, longest + 1), '`');
  if (!safe.empty() && safe.back() != '\n') safe += '\n';
  return fence + "\n" + safe + fence + "\n";
}

PrintableStream::PrintableStream(std::ostream& stream) : stream_(stream) {
  stream_.flush();
  buf_.raw = stream_.rdbuf(&buf_);
}

PrintableStream::~PrintableStream() {
  buf_.drain(true);
  stream_.rdbuf(buf_.raw);
}

// Whole lines go out as soon as they are complete; the rest on a flush (std::cerr flushes after
// every insertion) or once it is large, so nothing waits long and nothing unescaped goes out.
void PrintableStream::Buf::drain(bool everything) {
  std::size_t end = pending.rfind('\n') + 1; // 0 when there is none: npos + 1
  if (everything) {
    end = pending.size();
  } else if (end == 0 && pending.size() >= 4096) {
    // A long line goes out in parts, each cut before a character that is not complete yet.
    end = pending.size();
    for (std::size_t back = 1; back <= 3 && back <= end; ++back) {
      unsigned char c = static_cast<unsigned char>(pending[end - back]);
      if ((c & 0xC0) != 0x80) {
        std::size_t need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
        if (need > back) end -= back;
        break;
      }
    }
  }
  if (end == 0) return;
  std::string out = printable_lines(std::string_view(pending).substr(0, end));
  raw->sputn(out.data(), static_cast<std::streamsize>(out.size()));
  pending.erase(0, end);
}

PrintableStream::Buf::int_type PrintableStream::Buf::overflow(int_type c) {
  if (traits_type::eq_int_type(c, traits_type::eof())) return traits_type::not_eof(c);
  pending += traits_type::to_char_type(c);
  if (c == '\n') drain(false);
  return c;
}

std::streamsize PrintableStream::Buf::xsputn(const char* s, std::streamsize n) {
  pending.append(s, static_cast<std::size_t>(n));
  drain(false);
  return n;
}

int PrintableStream::Buf::sync() {
  drain(true);
  return raw->pubsync();
}

} // namespace nucleus::core
