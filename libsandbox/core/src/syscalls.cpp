// Syscall name <-> number through libseccomp, for an explicit architecture.
#include "nucleus/core/syscalls.hpp"

#include <seccomp.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <mutex>
#include <set>

namespace nucleus::core {
namespace {

// Kernel syscall numbers stay below this on every architecture libseccomp supports, apart from
// the ABI offsets added below (x32's 0x40000000, MIPS' 4000/5000/6000).
constexpr int max_plain_nr = 1024;

int abi_offset(Arch arch) {
  switch (arch.token) {
  case SCMP_ARCH_X32: return 0x40000000;
  case SCMP_ARCH_MIPS:
  case SCMP_ARCH_MIPSEL: return 4000;
  case SCMP_ARCH_MIPS64:
  case SCMP_ARCH_MIPSEL64: return 5000;
  case SCMP_ARCH_MIPS64N32:
  case SCMP_ARCH_MIPSEL64N32: return 6000;
  default: return 0;
  }
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diag = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

} // namespace

std::optional<int> syscall_number(Arch arch, std::string_view name) {
  std::string n(name);
  int nr = seccomp_syscall_resolve_name_arch(arch.token, n.c_str());
  if (nr < 0) return std::nullopt; // __NR_SCMP_ERROR or a pseudo number: not on this arch
  return nr;
}

std::optional<std::string> syscall_name(Arch arch, int nr) {
  if (nr < 0) return std::nullopt;
  char* name = seccomp_syscall_resolve_num_arch(arch.token, nr);
  if (name == nullptr) return std::nullopt;
  std::string out(name);
  std::free(name);
  return out;
}

std::vector<std::string> syscall_table(Arch arch) {
  std::set<std::string> names;
  int offset = abi_offset(arch);
  for (int nr = 0; nr < max_plain_nr; ++nr) {
    if (auto name = syscall_name(arch, offset + nr)) names.insert(*name);
  }
  // x32 also runs a few syscalls with the x86_64 numbers 512..547 offset; they are covered above.
  return {names.begin(), names.end()};
}

std::vector<std::string> closest_names(std::string_view name, const std::vector<std::string_view>& candidates,
                                       std::size_t limit) {
  std::vector<std::pair<std::size_t, std::string_view>> scored;
  for (auto candidate : candidates) scored.emplace_back(edit_distance(name, candidate), candidate);
  std::sort(scored.begin(), scored.end());
  std::vector<std::string> out;
  std::size_t cutoff = std::max<std::size_t>(2, name.size() / 3);
  for (auto& [dist, candidate] : scored) {
    if (out.size() >= limit || dist > cutoff) break;
    out.emplace_back(candidate);
  }
  return out;
}

std::vector<std::string> closest_syscall_names(std::string_view name, std::span<const Arch> arches, std::size_t limit) {
  std::vector<Arch> wanted(arches.begin(), arches.end());
  if (wanted.empty()) {
    wanted.push_back(native_arch());
    for (Arch a : compat_arches(native_arch())) wanted.push_back(a);
  }
  // libseccomp looks a number up by walking its whole table, so one ABI's table costs about
  // half a millisecond and every ABI's (17) several: each is built once per process, and only for
  // the ABIs asked about (a profile's own, or this machine's).
  static std::mutex mutex;
  static std::map<std::uint32_t, std::vector<std::string>> tables;
  std::set<std::string_view> names;
  std::lock_guard lock(mutex);
  for (Arch a : wanted) {
    auto it = tables.find(a.token);
    if (it == tables.end()) it = tables.emplace(a.token, syscall_table(a)).first;
    names.insert(it->second.begin(), it->second.end());
  }
  return closest_names(name, std::vector<std::string_view>(names.begin(), names.end()), limit);
}

std::string libseccomp_version() {
  const scmp_version* v = seccomp_version();
  if (v == nullptr) return "(unknown version)";
  return std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->micro);
}

} // namespace nucleus::core
