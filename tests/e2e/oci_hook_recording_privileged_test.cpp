// What the OCI hook's recording holds and how it ends, in real containers run by runc: a recording
// that lost records ends the poststop hook with 125 (the README's promise), and a process that
// `runc exec` starts in a traced container is not part of the container's tree, so it is not
// recorded (an operator's debugging shell does not widen the workload's profile).
#include "oci_hook_support.hpp"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <future>
#include <set>
#include <string>

using namespace nucleus;
namespace fs = std::filesystem;
using test::OciHookPrivileged;

namespace {

std::set<std::string> names_of(const test::TraceFile& trace, const std::string& exe) {
  std::set<std::string> names;
  for (const auto& s : trace.syscalls)
    if (fs::path(s.value("exe", "")).filename() == exe) names.insert(s.value("name", ""));
  return names;
}

// The poststop hook as a runtime calls it once the container has stopped (the state has no pid).
test::RunResult poststop(const fs::path& traces, const std::string& id, const std::string& trace) {
  return test::run({test::tool("nucleus-trace").string(), "--oci-hook", "poststop", "--trace-dir", traces.string()},
                   R"({"id":")" + id + R"(","annotations":{"io.nucleus.trace":")" + trace + R"("}})");
}

} // namespace

// The recorder names 30 executables; a container that runs 40 (copies of true, each its own
// file) makes it lose which of them made which calls. The poststop hook then exits 125 with the
// recorder's reason, and the trace says so; the same container running 10 of them is whole (the
// control: the 125 is the loss's).
TEST_F(OciHookPrivileged, PoststopExits125WhenTheRecordingLostRecords) {
  for (int copies : {40, 10}) {
    SCOPED_TRACE(std::to_string(copies) + " executables");
    const std::string name = "execs" + std::to_string(copies);
    auto config = test::oci_bundle_of(dir_ / name, {}, {"/bin/sh"},
                                      {"/sh", "-c", "for f in /t1*; do \"$f\" || exit 1; done"}, out_);
    for (int i = 0; i < copies; ++i)
      fs::copy_file("/bin/true", dir_ / name / "rootfs" / ("t" + std::to_string(100 + i)));
    config["hooks"] = test::oci_hooks(traces_);
    config["hooks"].erase("poststop"); // run below, for its exit code (runc only logs a hook's failure)
    config["annotations"] = {{"io.nucleus.trace", name + ".trace"}};
    config["linux"]["seccomp"] = test::oci_allow_all;
    test::write_runc_config(dir_ / name, config);
    const std::string id = test::oci_container_id(name);
    auto r = test::run_runc(dir_ / name, id);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto stop = poststop(traces_, id, name + ".trace");
    auto trace = test::read_trace_file(traces_ / (name + ".trace"));
    if (copies > 30) {
      EXPECT_EQ(stop.exit_code, 125) << stop.err;
      EXPECT_NE(stop.err.find("error: the trace is incomplete: "), std::string::npos) << stop.err;
      EXPECT_NE(stop.err.find("more executables ran than the recorder names"), std::string::npos) << stop.err;
      ASSERT_TRUE(trace.summary.contains("loss")) << trace.summary.dump();
      EXPECT_NE(trace.summary["loss"].get<std::string>().find("more executables"), std::string::npos);
    } else {
      EXPECT_EQ(stop.exit_code, 0) << stop.err;
      EXPECT_FALSE(trace.summary.contains("loss")) << trace.summary.dump();
      EXPECT_EQ(trace.summary.value("lost", -1), 0);
    }
  }
}

// The container's init waits on a FIFO while `runc exec` runs the probe in the container; then it
// runs the probe itself. The trace holds the init's probe call (getppid), never the exec'd one's
// (getpriority), which ran: it printed its answer.
TEST_F(OciHookPrivileged, RuncExecIntoATracedContainerIsNotRecorded) {
  const auto fifo = out_ / "go";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  auto config = test::oci_bundle_of(dir_ / "waiting", {"probe"}, {"/bin/sh"},
                                    {"/sh", "-c", "read x < /out/go; /probe getppid"}, out_);
  config["hooks"] = test::oci_hooks(traces_);
  config["annotations"] = {{"io.nucleus.trace", "exec.trace"}};
  config["linux"]["seccomp"] = test::oci_allow_all;
  test::write_runc_config(dir_ / "waiting", config);
  const std::string id = test::oci_container_id("exec");
  const std::string state = (dir_ / "state").string();
  auto container = std::async(std::launch::async, [&] { return test::run_runc(dir_ / "waiting", id); });
  // Running: the prestart hook's recorder counts, and the init has exec'd its process.
  bool running = false;
  for (int i = 0; i < 600 && !running; ++i) {
    if (container.wait_for(std::chrono::milliseconds(50)) == std::future_status::ready) break;
    running = test::run({test::runc_path, "--root", state, "state", id}).out.find("\"running\"") != std::string::npos;
  }
  auto exec = running ? test::run({test::runc_path, "--root", state, "exec", id, "/probe", "getpriority:0,0"}, {}, 60)
                      : test::RunResult{};
  // Let the init go on (also when the exec failed, so that the container ends).
  int go = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
  for (int i = 0; i < 600 && go < 0 && container.wait_for(std::chrono::milliseconds(50)) != std::future_status::ready;
       ++i)
    go = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC); // ENXIO until the init opens its end
  if (go >= 0) {
    EXPECT_EQ(::write(go, "go\n", 3), 3);
    ::close(go);
  }
  auto r = container.get();
  ASSERT_TRUE(running) << "the container never ran: " << r.err;
  ASSERT_EQ(exec.exit_code, 0) << exec.err;
  auto exec_lines = test::probe_lines(exec.out);
  ASSERT_EQ(exec_lines.size(), 1u) << exec.out;
  EXPECT_EQ(exec_lines[0]["errno"], 0) << "the exec'd probe's call ran: " << exec.out;
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto trace = test::read_trace_file(traces_ / "exec.trace");
  const auto probe = names_of(trace, "probe");
  EXPECT_TRUE(probe.count("getppid")) << "the init's own probe is recorded";
  EXPECT_FALSE(probe.count("getpriority")) << "runc exec's probe was recorded";
  EXPECT_EQ(trace.summary.value("lost", -1), 0);
}
