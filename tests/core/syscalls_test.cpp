// Syscall resolution for each architecture: numbers always come with an explicit architecture.
#include "nucleus/core/syscalls.hpp"

#include <gtest/gtest.h>

#include <algorithm>

using namespace nucleus::core;

namespace {
Arch arch(const char* name) { return *arch_from_name(name); }
} // namespace

TEST(Arch, SpellingsAgree) {
  EXPECT_EQ(arch_from_oci("SCMP_ARCH_X86_64"), arch_from_audit(0xc000003e));
  EXPECT_EQ(arch_from_name("amd64"), arch_from_name("x86_64"));
  EXPECT_EQ(arch_from_name("i386"), arch_from_audit(0x40000003));
  EXPECT_EQ(arch_from_any("c000003e"), arch_from_name("x86_64"));
  EXPECT_EQ(arch_from_any("SCMP_ARCH_AARCH64"), arch_from_name("arm64"));
  EXPECT_EQ(arch_name(*arch_from_audit(0x40000003)), "x86");
  EXPECT_EQ(arch_oci_name(arch("x32")), "SCMP_ARCH_X32");
  EXPECT_FALSE(arch_from_any("sparc"));
  EXPECT_FALSE(arch_from_audit(0x1234));
}

TEST(Arch, CompatArches) {
  auto compat = compat_arches(arch("x86_64"));
  EXPECT_EQ(compat, (std::vector<Arch>{arch("x86"), arch("x32")}));
  EXPECT_EQ(compat_arches(arch("aarch64")), std::vector<Arch>{arch("arm")});
}

TEST(Syscalls, ResolvesPerArchitecture) {
  struct Case {
    const char* arch;
    const char* name;
    int nr;
  } cases[] = {
      {"x86_64", "read", 0},       {"x86_64", "execve", 59},
      {"x86_64", "socket", 41},    {"x86", "read", 3},
      {"x86", "execve", 11},       {"x86", "socketcall", 102},
      {"x32", "read", 0x40000000}, {"x32", "execve", 0x40000000 + 520},
      {"aarch64", "read", 63},     {"aarch64", "execve", 221},
      {"arm", "read", 3},          {"arm", "socket", 281},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(syscall_number(arch(c.arch), c.name), c.nr) << c.arch << " " << c.name;
    EXPECT_EQ(syscall_name(arch(c.arch), c.nr), c.name) << c.arch << " " << c.nr;
  }
}

TEST(Syscalls, DirectSocketCallsOnI386HaveNames) {
  // libseccomp files i386's socket() under socketcall multiplexing, but the kernel's direct
  // number still has a name, which is what decoding an audit record needs.
  EXPECT_EQ(syscall_name(arch("x86"), 359), "socket");
}

TEST(Syscalls, NamesMissingOnAnArchitectureDoNotResolve) {
  EXPECT_FALSE(syscall_number(arch("x86_64"), "chown32"));
  EXPECT_TRUE(syscall_number(arch("x86"), "chown32"));
  EXPECT_FALSE(syscall_number(arch("aarch64"), "open")); // aarch64 only has openat
  EXPECT_FALSE(syscall_number(arch("x86_64"), "no_such_syscall"));
  EXPECT_FALSE(syscall_name(arch("x86_64"), 100000));
  EXPECT_FALSE(syscall_name(arch("x86_64"), -1));
}

TEST(Syscalls, TablesAreComplete) {
  auto table = syscall_table(arch("x86_64"));
  EXPECT_GT(table.size(), 300u);
  EXPECT_TRUE(std::is_sorted(table.begin(), table.end()));
  EXPECT_TRUE(std::binary_search(table.begin(), table.end(), "io_uring_setup"));
  auto x32 = syscall_table(arch("x32"));
  EXPECT_TRUE(std::binary_search(x32.begin(), x32.end(), "read"));
  auto i386 = syscall_table(arch("x86"));
  EXPECT_TRUE(std::binary_search(i386.begin(), i386.end(), "socketcall"));
}

TEST(Syscalls, SuggestsClosestNames) {
  auto near = closest_syscall_names("opneat");
  ASSERT_FALSE(near.empty());
  EXPECT_EQ(near.front(), "openat");
  EXPECT_TRUE(closest_syscall_names("zzzzzzzzzzzzzzzzzzzz").empty());
}

TEST(Syscalls, SuggestsNamesOfTheArchitecturesAskedAbout) {
  // arm_fadvise64_64 exists on 32-bit ARM only.
  const Arch arm[] = {arch("arm")};
  auto on_arm = closest_syscall_names("arm_fadvise64_6", arm);
  ASSERT_FALSE(on_arm.empty());
  EXPECT_EQ(on_arm.front(), "arm_fadvise64_64");
  const Arch x86_64[] = {arch("x86_64")};
  for (const auto& n : closest_syscall_names("arm_fadvise64_6", x86_64)) EXPECT_NE(n, "arm_fadvise64_64");
}
