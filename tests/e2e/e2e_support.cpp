// Whole-tool test helpers.
#include "e2e_support.hpp"

#include "nucleus/profile/oci.hpp"

#include <fstream>
#include <sstream>

namespace nucleus::test {

nlohmann::json docker_default_resolved() {
  auto loaded = profile::load_profile(shared_dir() / "testdata/docker-seccomp/default.json");
  return nlohmann::json::parse(profile::to_oci_json(loaded.policy));
}

std::vector<nlohmann::json> probe_lines(const std::string& out) {
  std::vector<nlohmann::json> lines;
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line.front() != '{') continue;
    lines.push_back(nlohmann::json::parse(line));
  }
  return lines;
}

std::string write_profile(const TempDir& dir, const std::string& name, const nlohmann::json& profile) {
  auto path = dir / name;
  write_text(path, profile.dump(2));
  return path.string();
}

bool int80_works() {
  auto r = run({sample("probe").string(), "i386/getpid"});
  auto lines = probe_lines(r.out);
  return !lines.empty() && lines[0].value("status", "") != "not_applicable";
}

TraceFile read_trace_file(const std::filesystem::path& path) {
  TraceFile t;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    auto j = nlohmann::json::parse(line);
    if (j["type"] == "header") t.header = j;
    else if (j["type"] == "syscall") t.syscalls.push_back(j);
    else if (j["type"] == "summary") t.summary = j;
  }
  return t;
}

} // namespace nucleus::test
