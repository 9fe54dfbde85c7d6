// Action and operator names: OCI spellings, command-line spellings, kernel return values.
#include "nucleus/core/action.hpp"
#include "nucleus/core/policy.hpp"

#include <gtest/gtest.h>
#include <linux/seccomp.h>
#include <seccomp.h>

#include <cerrno>

using namespace nucleus::core;

TEST(Action, ParsesOciNames) {
  struct Case {
    const char* oci;
    ActionKind kind;
  } cases[] = {
      {"SCMP_ACT_KILL_PROCESS", ActionKind::kill_process},
      {"SCMP_ACT_KILL_THREAD", ActionKind::kill_thread},
      {"SCMP_ACT_KILL", ActionKind::kill_thread},
      {"SCMP_ACT_TRAP", ActionKind::trap},
      {"SCMP_ACT_ERRNO", ActionKind::errno_ret},
      {"SCMP_ACT_TRACE", ActionKind::trace},
      {"SCMP_ACT_LOG", ActionKind::log},
      {"SCMP_ACT_ALLOW", ActionKind::allow},
      {"SCMP_ACT_NOTIFY", ActionKind::notify},
  };
  for (const auto& c : cases) {
    auto kind = action_kind_from_oci(c.oci);
    ASSERT_TRUE(kind) << c.oci;
    EXPECT_EQ(*kind, c.kind) << c.oci;
  }
  EXPECT_FALSE(action_kind_from_oci("SCMP_ACT_ALLOWED"));
  EXPECT_FALSE(action_kind_from_oci("allow"));
  EXPECT_FALSE(action_kind_from_oci(""));
}

TEST(Action, ParsesCommandLineNames) {
  EXPECT_EQ(parse_action("errno"), Action::errno_ret(EPERM));
  EXPECT_EQ(parse_action("errno:13"), Action::errno_ret(13));
  EXPECT_EQ(parse_action("errno:EACCES"), Action::errno_ret(EACCES));
  EXPECT_EQ(parse_action("kill-process"), Action::kill_process());
  EXPECT_EQ(parse_action("log"), Action::log());
  EXPECT_EQ(parse_action("trace:7"), (Action{ActionKind::trace, 7}));
  EXPECT_EQ(parse_action("SCMP_ACT_TRAP"), (Action{ActionKind::trap, 0}));
  EXPECT_FALSE(parse_action("errno:"));
  EXPECT_FALSE(parse_action("errno:99999"));
  EXPECT_FALSE(parse_action("errno:x1"));
  EXPECT_FALSE(parse_action("allow:1"));
  EXPECT_FALSE(parse_action("deny"));
}

TEST(Action, NamesRoundTrip) {
  for (auto kind : {ActionKind::kill_process, ActionKind::kill_thread, ActionKind::trap, ActionKind::errno_ret,
                    ActionKind::trace, ActionKind::log, ActionKind::allow, ActionKind::notify}) {
    EXPECT_EQ(action_kind_from_oci(action_oci_name(kind)), kind);
    EXPECT_EQ(parse_action(action_short_name(kind))->kind, kind);
  }
  EXPECT_EQ(to_string(Action::errno_ret(EPERM)), "errno(EPERM)");
  EXPECT_EQ(to_string(Action::errno_ret(77)), "errno(77)");
}

TEST(Action, DecodesAuditCodes) {
  EXPECT_EQ(action_from_seccomp_ret(0x7ffc0000), Action::log());
  EXPECT_EQ(action_from_seccomp_ret(0x00050001), Action::errno_ret(1));
  EXPECT_EQ(action_from_seccomp_ret(0x80000000), Action::kill_process());
  EXPECT_EQ(action_from_seccomp_ret(0x00000000).kind, ActionKind::kill_thread);
  EXPECT_EQ(action_from_seccomp_ret(0x7fff0000), Action::allow());
  EXPECT_EQ(action_from_seccomp_ret(0x7fc00000).kind, ActionKind::notify);
}

TEST(Action, MapsToLibseccompValues) {
  EXPECT_EQ(to_scmp(Action::errno_ret(13)), SCMP_ACT_ERRNO(13));
  EXPECT_EQ(to_scmp(Action::kill_process()), SCMP_ACT_KILL_PROCESS);
  EXPECT_EQ(to_scmp(Action::log()), SCMP_ACT_LOG);
  EXPECT_EQ(to_scmp(Action{ActionKind::trace, 3}), SCMP_ACT_TRACE(3));
  // The audit code of an action is the value the filter returns.
  EXPECT_EQ(action_from_seccomp_ret(to_scmp(Action::errno_ret(13))), Action::errno_ret(13));
}

TEST(Action, StrictnessFollowsKernelPrecedence) {
  EXPECT_LT(strictness(ActionKind::kill_process), strictness(ActionKind::errno_ret));
  EXPECT_LT(strictness(ActionKind::errno_ret), strictness(ActionKind::log));
  EXPECT_LT(strictness(ActionKind::log), strictness(ActionKind::allow));
}

TEST(CmpOp, ParsesEveryOperator) {
  for (const char* name : {"SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT",
                           "SCMP_CMP_MASKED_EQ"}) {
    auto op = cmp_op_from_oci(name);
    ASSERT_TRUE(op) << name;
    EXPECT_EQ(cmp_op_oci_name(*op), name);
  }
  EXPECT_FALSE(cmp_op_from_oci("SCMP_CMP_FOO"));
  EXPECT_FALSE(cmp_op_from_oci("eq"));
}

TEST(CmpOp, MatchesFollowOciSemantics) {
  EXPECT_TRUE(matches({0, CmpOp::masked_eq, 0xff, 0x01}, 0x301));
  EXPECT_FALSE(matches({0, CmpOp::masked_eq, 0xff, 0x01}, 0x302));
  EXPECT_TRUE(matches({0, CmpOp::le, 5, 0}, 5));
  EXPECT_FALSE(matches({0, CmpOp::lt, 5, 0}, 5));
  EXPECT_TRUE(matches({0, CmpOp::ne, 5, 0}, 6));
}

TEST(FilterFlag, ParsesOciNames) {
  EXPECT_EQ(filter_flag_from_oci("SECCOMP_FILTER_FLAG_LOG"), FilterFlag::log);
  EXPECT_EQ(static_cast<unsigned>(FilterFlag::log), unsigned{SECCOMP_FILTER_FLAG_LOG});
  EXPECT_EQ(static_cast<unsigned>(FilterFlag::tsync), unsigned{SECCOMP_FILTER_FLAG_TSYNC});
  EXPECT_EQ(static_cast<unsigned>(FilterFlag::spec_allow), unsigned{SECCOMP_FILTER_FLAG_SPEC_ALLOW});
  EXPECT_FALSE(filter_flag_from_oci("SECCOMP_FILTER_FLAG_NOPE"));
}

TEST(Policy, ActionForASyscallWhateverItsArguments) {
  Policy p;
  p.default_action = Action::errno_ret(1);
  p.rules.push_back({{"read", "write"}, Action::allow(), {}, ""});
  p.rules.push_back({{"clone3"}, Action::errno_ret(38), {}, ""});
  p.rules.push_back({{"socket"}, Action::allow(), {{0, CmpOp::eq, 1, 0}}, ""});
  EXPECT_EQ(action_for(p, "write"), Action::allow());
  EXPECT_EQ(action_for(p, "clone3"), Action::errno_ret(38));
  EXPECT_EQ(action_for(p, "unshare"), Action::errno_ret(1)); // not named: the default
  EXPECT_FALSE(action_for(p, "socket"));                     // depends on the arguments
}
