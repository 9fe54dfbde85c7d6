// /proc/PID/stat (the parent and the start time) and /proc/PID/status fields, whatever the command name holds.
#include "nucleus/core/proc.hpp"

#include <gtest/gtest.h>

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

using nucleus::core::parse_process_stat;
using nucleus::core::process_stat;
using nucleus::core::process_status_field;
using nucleus::core::status_field;

namespace {

// A stat line as the kernel writes it, with `name` as the command and the start time given.
std::string stat_line(const std::string& name, int ppid, unsigned long long start) {
  std::string s = "4242 (" + name + ") S " + std::to_string(ppid) +
                  " 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 " + std::to_string(start) +
                  " 2000000 300 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n";
  return s;
}

} // namespace

TEST(ProcessStat, ParentAndStartTime) {
  auto s = parse_process_stat(stat_line("sh", 17, 123456));
  ASSERT_TRUE(s);
  EXPECT_EQ(s->ppid, 17);
  EXPECT_EQ(s->start_time, 123456u);
  EXPECT_EQ(s->state, 'S');
  auto zombie = parse_process_stat("4242 (sh) Z" + stat_line("sh", 17, 1).substr(std::string("4242 (sh) S").size()));
  ASSERT_TRUE(zombie);
  EXPECT_EQ(zombie->state, 'Z');
}

// The workload chooses its name (prctl PR_SET_NAME): spaces, parentheses and digits in it must not
// shift the fields.
TEST(ProcessStat, NameCannotShiftTheFields) {
  for (const std::string name : {"a b", ") 1 2 (", "x) S 99 (", "((", "1 2 3 4 5 6 7 8 9 10 11 12"}) {
    SCOPED_TRACE(name);
    auto s = parse_process_stat(stat_line(name, 17, 987));
    ASSERT_TRUE(s);
    EXPECT_EQ(s->ppid, 17);
    EXPECT_EQ(s->start_time, 987u);
  }
}

TEST(ProcessStat, TruncatedOrMalformedIsNothing) {
  const std::string whole = stat_line("sh", 17, 123456);
  for (std::size_t n = 0; n < whole.find("123456"); ++n) EXPECT_FALSE(parse_process_stat(whole.substr(0, n))) << n;
  EXPECT_FALSE(parse_process_stat("4242 (sh) S x 1 1"));
  EXPECT_FALSE(parse_process_stat("no parenthesis at all"));
}

TEST(ProcessStat, ReadsRealProcesses) {
  auto self = process_stat(::getpid());
  ASSERT_TRUE(self);
  EXPECT_EQ(self->ppid, ::getppid());
  EXPECT_GT(self->start_time, 0u);
  pid_t child = ::fork();
  if (child == 0) {
    ::pause();
    ::_exit(0);
  }
  auto c = process_stat(child);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->ppid, ::getpid());
  EXPECT_GE(c->start_time, self->start_time);
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  EXPECT_FALSE(process_stat(child)) << "a reaped process has no stat";
}

TEST(StatusField, ValueOfALine) {
  const std::string status =
      "Name:\tsh\nUmask:\t0022\nState:\tS (sleeping)\nNSpid:\t4242\t1\nCapEff:\t000001ffffffffff\n"
      "Seccomp_filters:\t2\n";
  EXPECT_EQ(status_field(status, "NSpid"), "4242\t1");
  EXPECT_EQ(status_field(status, "CapEff"), "000001ffffffffff");
  EXPECT_EQ(status_field(status, "Seccomp_filters"), "2");
  EXPECT_EQ(status_field(status, "State"), "S (sleeping)");
  EXPECT_FALSE(status_field(status, "Seccomp"));
  EXPECT_FALSE(status_field(status, "Pid"));
  EXPECT_FALSE(status_field("", "Pid"));
}

// The process names itself like a field (the Name line comes first): the field read is the
// kernel's, not the name.
TEST(StatusField, ANameCannotForgeAField) {
  EXPECT_EQ(status_field("Name:\tNSpid: 1 2 3\nNSpid:\t77\n", "NSpid"), "77");
  int named[2];
  ASSERT_EQ(::pipe(named), 0);
  pid_t child = ::fork();
  if (child == 0) {
    ::prctl(PR_SET_NAME, "NSpid: 1 2 3");
    char c = 1;
    (void)::write(named[1], &c, 1);
    ::pause();
    ::_exit(0);
  }
  ::close(named[1]);
  char c = 0;
  ASSERT_EQ(::read(named[0], &c, 1), 1);
  ::close(named[0]);
  ASSERT_EQ(process_status_field(child, "Name"), "NSpid: 1 2 3") << "the name is set";
  auto nspid = process_status_field(child, "NSpid");
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  ASSERT_TRUE(nspid);
  EXPECT_EQ(nspid->substr(0, nspid->find('\t')), std::to_string(child));
  EXPECT_FALSE(process_status_field(child, "NSpid")) << "a reaped process has no status";
  EXPECT_TRUE(process_status_field(0, "CapEff")) << "0 reads this process";
}
