// The files and network policy document: written sorted and stable, read back equal, each wrong
// input refused with where it is, and the coverage of a path by the entries above it.
#include "nucleus/core/access_policy.hpp"
#include "nucleus/core/error.hpp"

#include <gtest/gtest.h>

#include <string>

using namespace nucleus;
using core::PathAccess;

namespace {

core::PathAccessSet set(std::initializer_list<PathAccess> list) {
  core::PathAccessSet out = 0;
  for (auto a : list) out |= static_cast<core::PathAccessSet>(a);
  return out;
}

std::string rejection(const std::string& text) {
  try {
    core::read_access_policy(text, "app.policy.json");
  } catch (const core::Error& e) {
    EXPECT_EQ(e.kind(), core::ErrorKind::invalid_input);
    return e.what();
  }
  return "";
}

const std::string head = R"({"format":"nucleus-policy","version":1,)";

} // namespace

TEST(AccessPolicy, WritesSortedAndReadsBack) {
  core::AccessPolicy p;
  p.files = {{"/var/proj", set({PathAccess::read, PathAccess::write, PathAccess::create}), "the workspace"},
             {"/usr", set({PathAccess::read, PathAccess::execute}), "system files (rule system)"}};
  p.network.connect = {{core::Protocol::tcp, "127.0.0.1", 8080}};
  p.network.bind = {{core::Protocol::udp, "", 0}};
  p.network.unix_paths = {"/run/app.sock", "@bus"};
  const std::string text = core::write_access_policy(p);
  EXPECT_LT(text.find("\"/usr\""), text.find("\"/var/proj\"")) << text;
  EXPECT_NE(text.find(R"("access": [
        "read",
        "execute"
      ])"),
            std::string::npos)
      << text;
  core::AccessPolicy back = core::read_access_policy(text, "p.json");
  std::swap(p.files[0], p.files[1]);
  EXPECT_EQ(back, p);
  EXPECT_EQ(core::write_access_policy(back), text);
}

TEST(AccessPolicy, CoverageFollowsDirectories) {
  core::AccessPolicy p;
  p.files = {{"/home/u/proj", set({PathAccess::read, PathAccess::write})},
             {"/", set({PathAccess::read})},
             {"/usr/bin/python3", set({PathAccess::execute})}};
  EXPECT_EQ(core::access_for(p, "/home/u/proj/a/b.txt"), set({PathAccess::read, PathAccess::write}));
  EXPECT_EQ(core::access_for(p, "/home/u/projshop/x"), set({PathAccess::read})) << "a prefix is not a parent";
  EXPECT_EQ(core::access_for(p, "/usr/bin/python3"), set({PathAccess::read, PathAccess::execute}));
  EXPECT_EQ(core::access_for(p, "/usr/bin/python3.11"), set({PathAccess::read}));
  core::AccessPolicy narrow;
  narrow.files = {{"/etc/hosts", set({PathAccess::read})}};
  EXPECT_EQ(core::access_for(narrow, "/etc/passwd"), 0);
}

// A listed directory is granted "list": its entries' names, not the files below it, so that a
// program that lists HOME is not given the keys in it.
TEST(AccessPolicy, ListIsNotRead) {
  core::AccessPolicy p;
  p.files = {{"/home/u", set({PathAccess::list}), "listed"}};
  const std::string text = core::write_access_policy(p);
  EXPECT_NE(text.find(R"("list")"), std::string::npos) << text;
  EXPECT_EQ(core::read_access_policy(text, "p.json"), p);
  EXPECT_FALSE(core::has(core::access_for(p, "/home/u/.ssh/id_ed25519"), PathAccess::read));
  EXPECT_EQ(core::path_access_names(core::all_path_access),
            (std::vector<std::string>{"read", "write", "create", "execute", "remove", "list"}));
  EXPECT_EQ(core::path_access_from_name("list"), PathAccess::list);
}

TEST(AccessPolicy, RefusesWhatItCannotTrust) {
  EXPECT_EQ(rejection(R"({"format":"nucleus-trace","version":1})"),
            "app.policy.json: format: not a nucleus policy (\"format\" must be \"nucleus-policy\")");
  EXPECT_EQ(rejection(head.substr(0, head.size() - 2) + "9}"),
            "app.policy.json: version: policy format version 9 is newer than this nucleus (1): upgrade nucleus");
  EXPECT_EQ(rejection(head + R"("files":[{"path":"work","access":["read"]}]})"),
            "app.policy.json: files[0].path: must be an absolute path, not \"work\"");
  EXPECT_EQ(
      rejection(head + R"("files":[{"path":"/a/../etc/","access":["read"]}]})"),
      "app.policy.json: files[0].path: \"/a/../etc/\" must be written without \".\", \"..\", \"//\" or a trailing "
      "\"/\": \"/etc\"");
  EXPECT_EQ(rejection(head + R"("files":[{"path":"/a","access":["fly"]}]})"),
            "app.policy.json: files[0].access: unknown access \"fly\" (read, write, create, execute, remove, list)");
  EXPECT_EQ(rejection(head + R"("files":[{"path":"/a","access":[]},{"path":"/a","access":["read"]}]})"),
            "app.policy.json: files[1]: \"/a\" is listed twice: merge the two entries");
  EXPECT_EQ(rejection(head + R"("network":{"connect":[{"protocol":"tcp","port":65536}]}})"),
            "app.policy.json: network.connect[0].port: must be a port 0..65535, not 65536");
  EXPECT_EQ(rejection(head + R"("network":{"bind":[{"protocol":"sctp","port":1}]}})"),
            "app.policy.json: network.bind[0].protocol: unknown protocol \"sctp\" (tcp or udp)");
  EXPECT_NE(rejection("[" + std::string(100, '[')).find("nested deeper"), std::string::npos);
  EXPECT_NE(rejection("{\"format\":"), "");
  // Unknown keys are for newer readers; the least policy is an empty one, which grants nothing.
  const auto empty = core::read_access_policy(head + R"("comment":"x"})", "p");
  EXPECT_TRUE(empty.files.empty());
  EXPECT_TRUE(empty.network.empty());
}
