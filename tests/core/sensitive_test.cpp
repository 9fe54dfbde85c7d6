// The one table of argument-sensitive syscalls: every entry is a real syscall, and the argument
// masks the recorders apply follow it, with i386's old_mmap left out.
#include "nucleus/core/sensitive.hpp"
#include "nucleus/core/syscalls.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace core = nucleus::core;

TEST(Sensitive, EveryEntryNamesASyscallOfAnAbiTheRecordersDecode) {
  // A typo would record nothing and condition nothing.
  for (const auto& a : core::sensitive_args()) {
    bool known = false;
    for (auto arch : {"x86_64", "x86", "x32"})
      known = known || core::syscall_number(*core::arch_from_name(arch), a.syscall).has_value();
    EXPECT_TRUE(known) << a.syscall;
    EXPECT_LT(a.index, 6u) << a.syscall;
  }
}

TEST(Sensitive, MasksFollowTheTable) {
  const auto x86_64 = *core::arch_from_name("x86_64");
  const auto i386 = *core::arch_from_name("x86");
  EXPECT_EQ(core::sensitive_arg_mask(x86_64, "socket"), 0b11);
  EXPECT_EQ(core::sensitive_arg_mask(x86_64, "ioctl"), 0b10);
  EXPECT_EQ(core::sensitive_arg_mask(x86_64, "mmap"), 0b100);
  EXPECT_EQ(core::sensitive_arg_mask(i386, "mmap2"), 0b100);
  EXPECT_EQ(core::sensitive_arg_mask(i386, "mmap"), 0) << "old_mmap takes a pointer to its arguments";
  EXPECT_EQ(core::sensitive_arg_mask(x86_64, "read"), 0);
  std::set<std::string> names;
  for (const auto& a : core::sensitive_args()) {
    names.insert(std::string(a.syscall));
    EXPECT_NE(core::sensitive_arg_mask(x86_64, a.syscall) & (1u << a.index), 0u) << a.syscall;
  }
  // The syscalls whose values the host recorder keeps and gen conditions, mmap2 (i386) included.
  EXPECT_EQ(names, (std::set<std::string>{"clone", "ioctl", "mmap", "mmap2", "mprotect", "personality", "pkey_mprotect",
                                          "prctl", "socket", "socketpair", "unshare"}));
  EXPECT_EQ(core::sensitive_args_of("socket").size(), 2u);
  EXPECT_TRUE(core::sensitive_args_of("read").empty());
}
