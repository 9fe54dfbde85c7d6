// Aggregation of records and the user-facing denial lines.
#include "nucleus/core/aggregate.hpp"
#include "nucleus/tracer/report.hpp"
#include "nucleus/core/sensitive.hpp"

#include <gtest/gtest.h>

using namespace nucleus;

namespace {
core::SeccompRecord rec(const char* arch, int nr, const char* exe, std::uint32_t code = 0x7ffc0000) {
  core::SeccompRecord r;
  r.arch = *core::arch_from_name(arch);
  r.syscall = nr;
  r.exe = exe;
  r.comm = "app";
  r.pid = 42;
  r.code = code;
  return r;
}
} // namespace

TEST(Aggregator, CountsByArchSyscallAndExe) {
  core::Aggregator agg;
  for (int i = 0; i < 3; ++i) agg.add(rec("x86_64", 0, "/bin/a"));
  agg.add(rec("x86_64", 0, "/bin/b"));
  agg.add(rec("x86", 3, "/bin/a"));          // read on i386
  agg.add(rec("x32", 0x40000000, "/bin/a")); // read on x32
  EXPECT_EQ(agg.events(), 6u);
  EXPECT_EQ(agg.distinct(), 3u);
  auto entries = agg.entries();
  ASSERT_EQ(entries.size(), 4u);
  for (const auto& e : entries) EXPECT_EQ(e.name, "read") << core::arch_name(e.arch);
  auto top = agg.most_frequent(1);
  ASSERT_EQ(top.size(), 1u);
  EXPECT_EQ(top[0].first, "read (x86_64)");
  EXPECT_EQ(top[0].second, 4u);
}

TEST(Aggregator, UnknownNumbersKeepTheirNumber) {
  core::Aggregator agg;
  agg.add(rec("x86_64", 4000, "/bin/a"));
  EXPECT_EQ(agg.entries().at(0).name, "syscall_4000");
}

// Records that carry their arguments (the gVisor recorder's) keep the values the eBPF recorder
// keeps: the sensitive arguments only, distinct and sorted, at most 32, then "overflow".
TEST(Aggregator, RecordsWithArgumentsKeepTheSensitiveValues) {
  core::Aggregator agg;
  auto socket = rec("x86_64", 41, "/bin/a");
  std::array<std::uint64_t, 6> args{10, 0x80801, 0, 7, 7, 7};
  socket.args = &args;
  agg.add(socket);
  args = {1, 1, 0, 0, 0, 0};
  agg.add(socket);
  agg.add(socket);
  auto read = rec("x86_64", 0, "/bin/a");
  read.args = &args;
  agg.add(read);
  agg.add(rec("x86_64", 41, "/bin/b")); // no arguments: nothing kept
  auto entries = agg.entries();
  ASSERT_EQ(entries.size(), 3u);
  EXPECT_TRUE(entries[0].args.empty()) << entries[0].name; // read
  ASSERT_EQ(entries[1].exe, "/bin/a");
  ASSERT_EQ(entries[1].count, 3u);
  EXPECT_EQ(entries[1].args, (std::vector<core::TraceArgValues>{{0, {1, 10}, false}, {1, {1, 0x80801}, false}}));
  EXPECT_TRUE(entries[2].args.empty());

  core::Aggregator many;
  auto mmap = rec("x86_64", 9, "/bin/a");
  mmap.args = &args;
  for (std::uint64_t prot = 0; prot < core::arg_values_max; ++prot) {
    args = {0, 4096, prot, 0x22, 0, 0};
    many.add(mmap);
  }
  ASSERT_EQ(many.entries().at(0).args.size(), 1u);
  EXPECT_FALSE(many.entries()[0].args[0].overflow);
  args[2] = 5; // seen before: no overflow
  many.add(mmap);
  EXPECT_FALSE(many.entries()[0].args[0].overflow);
  args[2] = 1000;
  many.add(mmap);
  EXPECT_TRUE(many.entries()[0].args[0].overflow);
  EXPECT_EQ(many.entries()[0].args[0].values.size(), core::arg_values_max);
}

TEST(Report, DenialLineNamesEverythingAUserNeeds) {
  auto r = rec("x86_64", 41, "/usr/bin/curl", 0x00050001);
  r.pid = 812;
  EXPECT_EQ(tracer::describe_denial(r, "app.json"),
            "denied socket (x86_64) in /usr/bin/curl [pid 812]: errno; to allow it: nucleus-profile add "
            "app.json socket");
  // What the profile says fills in the errno the record lacks, when the two agree.
  EXPECT_NE(tracer::describe_denial(r, "app.json", core::Action::errno_ret(13)).find("]: errno(EACCES);"),
            std::string::npos);
  EXPECT_NE(tracer::describe_denial(r, "app.json", core::Action::kill_process()).find("]: errno;"), std::string::npos);
  auto kill = rec("x86", 20, "/usr/bin/old", 0x80000000);
  EXPECT_NE(tracer::describe_denial(kill, "p.json").find("denied getpid (x86) in /usr/bin/old"), std::string::npos);
  EXPECT_NE(tracer::describe_denial(kill, "p.json").find("kill-process"), std::string::npos);
}

TEST(Report, TallyIsMostFrequentFirst) {
  tracer::DenialTally tally;
  tally.add(rec("x86_64", 41, "/bin/a"));
  for (int i = 0; i < 3; ++i) tally.add(rec("x86_64", 42, "/bin/a"));
  auto text = tally.render();
  const auto connect = text.find("connect (x86_64) by /bin/a: 3 time(s)");
  const auto socket = text.find("socket (x86_64) by /bin/a: 1 time(s)");
  ASSERT_NE(connect, std::string::npos) << text;
  ASSERT_NE(socket, std::string::npos) << text;
  EXPECT_LT(connect, socket) << text;
}
