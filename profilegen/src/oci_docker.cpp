// Docker's extensions, resolved: includes/excludes (caps, arches, minKernel) against a
// ResolveContext, and Docker's spellings of architectures.
#include "oci_internal.hpp"

#include <sys/utsname.h>

#include <cctype>
#include <charconv>

namespace nucleus::profile {
namespace oci_detail {
namespace {

// Docker's spellings in includes/excludes "arches" (Go's GOARCH as libseccomp-golang names it,
// "mips3l64n32" included), mapped to the OCI name.
struct DockerArchName {
  std::string_view docker;
  std::string_view oci;
};
constexpr std::array<DockerArchName, 25> docker_arch_names{{
    {"amd64", "SCMP_ARCH_X86_64"},
    {"x86", "SCMP_ARCH_X86"},
    {"386", "SCMP_ARCH_X86"},
    {"x32", "SCMP_ARCH_X32"},
    {"arm64", "SCMP_ARCH_AARCH64"},
    {"arm", "SCMP_ARCH_ARM"},
    {"mips", "SCMP_ARCH_MIPS"},
    {"mipsle", "SCMP_ARCH_MIPSEL"},
    {"mipsel", "SCMP_ARCH_MIPSEL"},
    {"mips64", "SCMP_ARCH_MIPS64"},
    {"mips64n32", "SCMP_ARCH_MIPS64N32"},
    {"mipsel64", "SCMP_ARCH_MIPSEL64"},
    {"mips64le", "SCMP_ARCH_MIPSEL64"},
    {"mips3l64n32", "SCMP_ARCH_MIPSEL64N32"},
    {"mipsel64n32", "SCMP_ARCH_MIPSEL64N32"},
    {"mips64len32", "SCMP_ARCH_MIPSEL64N32"},
    {"ppc", "SCMP_ARCH_PPC"},
    {"ppc64", "SCMP_ARCH_PPC64"},
    {"ppc64le", "SCMP_ARCH_PPC64LE"},
    {"s390", "SCMP_ARCH_S390"},
    {"s390x", "SCMP_ARCH_S390X"},
    {"riscv64", "SCMP_ARCH_RISCV64"},
    {"loong64", "SCMP_ARCH_LOONGARCH64"},
    {"loongarch64", "SCMP_ARCH_LOONGARCH64"},
    {"m68k", "SCMP_ARCH_M68K"},
}};

// Dotted numbers at the start of a release: "6.1.0-13-amd64" -> {6, 1, 0}.
std::vector<std::uint64_t> version_numbers(std::string_view text) {
  std::vector<std::uint64_t> numbers;
  const char* pos = text.data();
  const char* end = text.data() + text.size();
  while (pos != end && std::isdigit(static_cast<unsigned char>(*pos)) != 0) {
    std::uint64_t number = 0;
    auto [next, ec] = std::from_chars(pos, end, number);
    if (ec != std::errc{}) break;
    numbers.push_back(number);
    pos = next;
    if (pos == end || *pos != '.') break;
    ++pos;
  }
  return numbers;
}

std::string running_kernel_release() {
  utsname names{};
  if (::uname(&names) != 0) return {};
  return names.release;
}

} // namespace

bool is_kernel_version(std::string_view text) {
  if (text.empty() || text.front() == '.' || text.back() == '.') return false;
  bool previous_dot = false;
  for (char c : text) {
    if (c == '.') {
      if (previous_dot) return false;
      previous_dot = true;
    } else if (std::isdigit(static_cast<unsigned char>(c)) != 0) {
      previous_dot = false;
    } else {
      return false;
    }
  }
  return true;
}

std::string normalized_capability(std::string_view name) {
  std::string out;
  for (char c : name) out += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (!out.starts_with("CAP_")) out.insert(0, "CAP_");
  return out;
}

ArchLookup docker_arch(std::string_view spelling) {
  for (const auto& d : docker_arch_names)
    if (d.docker == spelling) return lookup_oci_arch(d.oci);
  if (auto arch = core::arch_from_any(spelling)) return {arch, true};
  return {};
}

DockerResolver::DockerResolver(const ResolveContext& context)
    : context_(context), target_(context.arch.value_or(core::native_arch())) {
  for (const auto& cap : context.capabilities) capabilities_.push_back(normalized_capability(cap));
}

bool DockerResolver::holds(std::string_view cap) const {
  return std::find(capabilities_.begin(), capabilities_.end(), cap) != capabilities_.end();
}

bool DockerResolver::targets(const EntryFilter& filter) const {
  return std::find(filter.arches.begin(), filter.arches.end(), target_) != filter.arches.end();
}

bool DockerResolver::applies(const std::optional<EntryFilter>& includes, const std::optional<EntryFilter>& excludes) {
  if (excludes) {
    if (targets(*excludes)) return false;
    for (const auto& cap : excludes->caps)
      if (holds(cap)) return false;
    if (excludes->min_kernel && kernel_at_least(kernel_release(), *excludes->min_kernel)) return false;
  }
  if (includes) {
    if (includes->has_arches && !targets(*includes)) return false;
    for (const auto& cap : includes->caps)
      if (!holds(cap)) return false;
    if (includes->min_kernel && !kernel_at_least(kernel_release(), *includes->min_kernel)) return false;
  }
  return true;
}

const std::string& DockerResolver::kernel_release() {
  if (!kernel_) kernel_ = context_.kernel_release ? *context_.kernel_release : running_kernel_release();
  return *kernel_;
}

} // namespace oci_detail

bool kernel_at_least(std::string_view release, std::string_view minimum) {
  auto have = oci_detail::version_numbers(release);
  auto want = oci_detail::version_numbers(minimum);
  for (std::size_t i = 0; i < std::max(have.size(), want.size()); ++i) {
    std::uint64_t a = i < have.size() ? have[i] : 0;
    std::uint64_t b = i < want.size() ? want[i] : 0;
    if (a != b) return a > b;
  }
  return true;
}

} // namespace nucleus::profile
