// add/remove: validation, suggestions, in-place atomic edit of a file.
#include "nucleus/profile/edit.hpp"

#include "nucleus/profile/effective.hpp"
#include "nucleus/profile/oci.hpp"
#include "nucleus/core/error.hpp"
#include "test_support.hpp"

#include <gtest/gtest.h>

using namespace nucleus;

namespace {

core::Policy base() {
  core::Policy p;
  p.architectures = {core::native_arch()};
  p.rules.push_back({{"exit_group", "read"}, core::Action::allow(), {}, "traced"});
  return p;
}

} // namespace

TEST(Edit, AddAndRemove) {
  auto p = profile::add_syscalls(base(), {"openat", "read"});
  EXPECT_EQ(p.rules.size(), 1u);
  EXPECT_EQ(p.rules[0].names, (std::vector<std::string>{"exit_group", "openat", "read"}));
  p = profile::remove_syscalls(p, {"read"});
  EXPECT_EQ(profile::access_of(p, "read"), profile::Access::denied);
  EXPECT_EQ(profile::access_of(p, "openat"), profile::Access::allowed);
}

TEST(Edit, AddOverridesAnExplicitDenial) {
  auto p = base();
  p.rules.push_back({{"clone3"}, core::Action::errno_ret(38), {}, ""});
  p = profile::add_syscalls(p, {"clone3"});
  EXPECT_EQ(profile::access_of(p, "clone3"), profile::Access::allowed);
  EXPECT_EQ(p.rules.size(), 1u);
}

TEST(Edit, UnknownNamesSuggestTheClosest) {
  try {
    profile::add_syscalls(base(), {"opnat"});
    FAIL() << "no error";
  } catch (const core::Error& e) {
    EXPECT_EQ(e.kind(), core::ErrorKind::invalid_input);
    EXPECT_NE(std::string(e.what()).find("opnat"), std::string::npos);
    EXPECT_NE(e.hint().find("openat"), std::string::npos) << e.hint();
  }
  EXPECT_THROW(profile::remove_syscalls(base(), {"getpid"}), core::Error); // not allowed: nothing to remove
  auto open = base();
  open.default_action = core::Action::allow();
  EXPECT_THROW(profile::remove_syscalls(open, {"read"}), core::Error);
}

TEST(Edit, FileIsReplacedOnlyWhenTheEditIsValid) {
  test::TempDir dir;
  auto path = dir / "app.json";
  test::write_text(path, profile::to_oci_json(base()));
  auto r = profile::edit_profile_file(path, profile::EditKind::add, {"openat", "read"});
  EXPECT_EQ(r.changed, std::vector<std::string>{"openat"});
  EXPECT_EQ(r.unchanged, std::vector<std::string>{"read"});
  EXPECT_EQ(profile::access_of(profile::load_profile(path).policy, "openat"), profile::Access::allowed);
  auto before = test::read_text(path);
  EXPECT_THROW(profile::edit_profile_file(path, profile::EditKind::add, {"bogus_call"}), core::Error);
  EXPECT_EQ(test::read_text(path), before);
  profile::edit_profile_file(path, profile::EditKind::remove, {"openat"});
  EXPECT_EQ(profile::access_of(profile::load_profile(path).policy, "openat"), profile::Access::denied);
  std::size_t files = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir.path())) ++files;
  EXPECT_EQ(files, 1u); // no temporary left behind
}
