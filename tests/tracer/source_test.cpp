// The kmsg source's loss detection, fed a real kernel log: kmsg.log was read from /dev/kmsg on a
// machine under an audit burst, with its sequence gaps and printk's "callbacks suppressed" line.
// Replayed one record per read, as /dev/kmsg delivers them.
#include "nucleus/tracer/source.hpp"

#include "test_support.hpp"

#include <gtest/gtest.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <sstream>

using namespace nucleus;

namespace {

std::vector<std::string> kmsg_lines() {
  std::istringstream in(test::read_text(test::source_dir() / "tests/tracer/data/kmsg.log"));
  std::vector<std::string> lines;
  // The file also holds the same records as dmesg prints them; only /dev/kmsg's own form is replayed.
  // That form is "PRIORITY,SEQUENCE,TIMESTAMP,FLAGS;": three decimal fields, then anything up to ';'.
  auto kmsg_form = [](const std::string& line) {
    std::size_t at = 0;
    for (int field = 0; field < 3; ++field) {
      const std::size_t start = at;
      while (at < line.size() && line[at] >= '0' && line[at] <= '9') ++at;
      if (at == start || at >= line.size() || line[at] != ',') return false;
      ++at;
    }
    return line.find(';', at) != std::string::npos;
  };
  for (std::string line; std::getline(in, line);)
    if (kmsg_form(line)) lines.push_back(line);
  return lines;
}

std::uint64_t seq_of(const std::string& line) { return std::strtoull(line.c_str() + line.find(',') + 1, nullptr, 10); }

struct Replayed {
  tracer::LossReport loss;
  std::vector<std::string> texts;
};

Replayed replay(const std::vector<std::string>& lines) {
  int sv[2];
  EXPECT_EQ(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
  core::UniqueFd writer(sv[1]);
  ::fcntl(sv[0], F_SETFL, O_NONBLOCK);
  auto source = tracer::kmsg_source_from(core::UniqueFd(sv[0]));
  for (const auto& l : lines) EXPECT_EQ(::write(writer.get(), l.data(), l.size()), static_cast<ssize_t>(l.size()));
  Replayed r;
  source->drain([&](std::string_view text, int) { r.texts.emplace_back(text); });
  r.loss = source->loss();
  return r;
}

} // namespace

TEST(KmsgSource, SequenceGapsAndSuppressedCallbacksOfARealLogAreCounted) {
  auto lines = kmsg_lines();
  ASSERT_EQ(lines.size(), 4u);
  // Counted here from the file itself: records skipped between consecutive sequence numbers, and
  // the number printk says it suppressed.
  std::uint64_t skipped = 0;
  for (std::size_t i = 1; i < lines.size(); ++i) skipped += seq_of(lines[i]) - seq_of(lines[i - 1]) - 1;
  ASSERT_GT(skipped, 0u);
  ASSERT_NE(lines[0].find("kauditd_printk_skb: 20 callbacks suppressed"), std::string::npos);
  auto r = replay(lines);
  EXPECT_EQ(r.texts.size(), lines.size());
  EXPECT_EQ(r.loss.lost, skipped + 20);
  EXPECT_TRUE(r.loss.any());
  EXPECT_NE(r.loss.detail.find("suppressed 20 audit record(s)"), std::string::npos) << r.loss.detail;
  EXPECT_NE(r.loss.detail.find(std::to_string(skipped) + " kernel log record(s) were skipped (sequence gap)"),
            std::string::npos)
      << r.loss.detail;
}

TEST(KmsgSource, ContiguousRecordsReportNoLoss) {
  // The same real records, renumbered without gaps and without the suppression line: nothing lost.
  auto lines = kmsg_lines();
  std::vector<std::string> contiguous;
  std::uint64_t seq = 1000;
  for (const auto& l : lines) {
    if (l.find("callbacks suppressed") != std::string::npos) continue;
    auto c1 = l.find(','), c2 = l.find(',', c1 + 1);
    contiguous.push_back(l.substr(0, c1 + 1) + std::to_string(seq++) + l.substr(c2));
  }
  auto r = replay(contiguous);
  EXPECT_EQ(r.texts.size(), contiguous.size());
  EXPECT_FALSE(r.loss.any()) << r.loss.detail;
  // One gap of exactly one record is one lost record.
  contiguous.erase(contiguous.begin() + 1);
  auto gap = replay(contiguous);
  EXPECT_EQ(gap.loss.lost, 1u);
  EXPECT_NE(gap.loss.detail.find("1 kernel log record(s) were skipped"), std::string::npos) << gap.loss.detail;
}
