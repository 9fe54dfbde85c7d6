// Shared by the profile reader (oci_read.cpp), Docker's resolution of includes/excludes
// (oci_docker.cpp) and the writer (oci_write.cpp); not part of the library's interface.
#pragma once

#include "nucleus/profile/oci.hpp"
#include "nucleus/core/syscalls.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nucleus::profile::oci_detail {

using Json = nlohmann::json;
using core::Action;
using core::ActionKind;
using core::Arch;

// Every architecture the OCI runtime spec names. Those missing from core::known_arches() are
// real, but the libseccomp nucleus is built with cannot filter them.
constexpr std::array<std::string_view, 23> oci_arch_names{
    "SCMP_ARCH_X86",         "SCMP_ARCH_X86_64",   "SCMP_ARCH_X32",         "SCMP_ARCH_ARM",    "SCMP_ARCH_AARCH64",
    "SCMP_ARCH_LOONGARCH64", "SCMP_ARCH_M68K",     "SCMP_ARCH_MIPS",        "SCMP_ARCH_MIPS64", "SCMP_ARCH_MIPS64N32",
    "SCMP_ARCH_MIPSEL",      "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC",    "SCMP_ARCH_PPC64",
    "SCMP_ARCH_PPC64LE",     "SCMP_ARCH_S390",     "SCMP_ARCH_S390X",       "SCMP_ARCH_SH",     "SCMP_ARCH_SHEB",
    "SCMP_ARCH_PARISC",      "SCMP_ARCH_PARISC64", "SCMP_ARCH_RISCV64"};

inline std::string key_path(std::string_view parent, std::string_view key) {
  if (parent.empty()) return std::string(key);
  return std::string(parent) + "." + std::string(key);
}

inline std::string index_path(std::string_view parent, std::size_t index) {
  return std::string(parent) + "[" + std::to_string(index) + "]";
}

inline std::string in_quotes(std::string_view text) {
  constexpr std::size_t shown = 60;
  if (text.size() <= shown) return "\"" + std::string(text) + "\"";
  return "\"" + std::string(text.substr(0, shown)) + "...\"";
}

// The errno or tracer message a profile attaches to the action; runc uses EPERM when absent.
inline bool carries_data(ActionKind kind) { return kind == ActionKind::errno_ret || kind == ActionKind::trace; }

// An OCI architecture name, classified.
struct ArchLookup {
  std::optional<Arch> arch; // set when this build can filter it
  bool known = false;       // an architecture the OCI spec names
};

inline ArchLookup lookup_oci_arch(std::string_view name) {
  if (auto arch = core::arch_from_oci(name)) return {arch, true};
  bool known = std::find(oci_arch_names.begin(), oci_arch_names.end(), name) != oci_arch_names.end();
  return {std::nullopt, known};
}

// Docker's includes/excludes, as read.
struct EntryFilter {
  std::vector<std::string> caps; // normalized
  std::vector<Arch> arches;      // the spellings this build knows
  bool has_arches = false;       // arches given, even if none of them is known here
  std::optional<std::string> min_kernel;
};

// Docker's spellings of architectures ("amd64", "arm64", Go's GOARCH), classified.
ArchLookup docker_arch(std::string_view spelling);

// Capabilities compare as Docker writes them ("CAP_SYS_ADMIN"), whatever the caller's spelling.
std::string normalized_capability(std::string_view name);

// "4.8", "5.10.1": what minKernel accepts.
bool is_kernel_version(std::string_view text);

// Decides which Docker entries apply in a ResolveContext (capabilities, kernel, architecture).
class DockerResolver {
public:
  explicit DockerResolver(const ResolveContext& context);

  Arch target() const { return target_; }

  // Docker's rule: kept when every includes condition holds and no excludes condition does.
  bool applies(const std::optional<EntryFilter>& includes, const std::optional<EntryFilter>& excludes);

private:
  bool holds(std::string_view cap) const;
  bool targets(const EntryFilter& filter) const;
  const std::string& kernel_release();

  const ResolveContext& context_;
  Arch target_;
  std::vector<std::string> capabilities_;
  std::optional<std::string> kernel_;
};

} // namespace nucleus::profile::oci_detail
