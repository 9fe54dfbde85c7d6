// Helpers for whole-tool tests: building profiles for the probe and reading its JSON lines.
#pragma once

#include "test_support.hpp"

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace nucleus::test {

// Docker's default profile, resolved for no capabilities, as an OCI JSON object.
nlohmann::json docker_default_resolved();

// The probe's JSON lines, one object per call.
std::vector<nlohmann::json> probe_lines(const std::string& out);

// Writes `profile` into `dir` and returns its path.
std::string write_profile(const TempDir& dir, const std::string& name, const nlohmann::json& profile);

// Whether i386 syscalls through int 0x80 work on this machine at all (without any filter).
bool int80_works();

} // namespace nucleus::test
