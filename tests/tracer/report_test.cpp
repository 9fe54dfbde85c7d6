// The live line for a policy's denial: what was denied, to whom, and the command that allows it.
#include "nucleus/tracer/report.hpp"

#include <gtest/gtest.h>

namespace core = nucleus::core;
namespace tracer = nucleus::tracer;

namespace {

core::SyscallRecord cat_process() {
  core::SyscallRecord p;
  p.pid = 812;
  p.exe = "/usr/bin/cat";
  return p;
}

} // namespace

TEST(LandlockDenial, FileReadNamesThePathAndTheAddCommand) {
  core::LandlockRecord r;
  r.domain = "1";
  r.blockers = "fs.read_file";
  r.path = "/home/u/.ssh/id_ed25519";
  EXPECT_EQ(tracer::describe_landlock_denial(r, cat_process(), "app.policy.json"),
            "policy denied read of /home/u/.ssh/id_ed25519 (Landlock: fs.read_file) in /usr/bin/cat [pid 812]; "
            "to allow it: nucleus-profile add app.policy.json --path /home/u/.ssh/id_ed25519 --access read");
}

TEST(LandlockDenial, SeveralBlockersBecomeOneAccessList) {
  core::LandlockRecord r;
  r.domain = "1";
  r.blockers = "fs.write_file,fs.truncate,fs.make_reg";
  r.path = "/w/f";
  std::string line = tracer::describe_landlock_denial(r, cat_process(), "p.json");
  EXPECT_NE(line.find("policy denied write,create of /w/f"), std::string::npos) << line;
  EXPECT_NE(line.find("--access write,create"), std::string::npos) << line;
}

TEST(LandlockDenial, PortsAndRightsNoPolicyGrants) {
  core::LandlockRecord r;
  r.domain = "1";
  r.blockers = "net.connect_tcp";
  r.address = "127.0.0.1";
  r.port = 9;
  EXPECT_EQ(tracer::describe_landlock_denial(r, cat_process(), "p.json"),
            "policy denied connect to 127.0.0.1:9 (Landlock: net.connect_tcp) in /usr/bin/cat [pid 812]; "
            "to allow it: nucleus-profile add p.json --connect tcp:127.0.0.1:9");
  r.blockers = "net.bind_tcp";
  r.address.clear();
  r.port = 8080;
  EXPECT_NE(tracer::describe_landlock_denial(r, cat_process(), "p.json").find("--bind tcp:8080"), std::string::npos);
  r.blockers = "scope.signal";
  EXPECT_NE(tracer::describe_landlock_denial(r, cat_process(), "p.json").find("no policy rule allows this"),
            std::string::npos);
}
