// Whole-tool test helpers.
#include "e2e_support.hpp"

#include "nucleus/profile/oci.hpp"

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

} // namespace nucleus::test
