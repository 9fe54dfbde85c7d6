// Architecture tokens and their spellings (kernel/audit name, OCI name, Docker name).
#include "nucleus/core/arch.hpp"

#include <seccomp.h>

#include <array>
#include <charconv>

namespace nucleus::core {
namespace {

struct ArchNames {
  std::uint32_t token;
  std::string_view name;  // as uname/audit userspace spells it
  std::string_view oci;   // SCMP_ARCH_*
  std::string_view alias; // Docker/Go spelling, or another common one
};

constexpr std::array<ArchNames, 17> arch_table{{
    {SCMP_ARCH_X86_64, "x86_64", "SCMP_ARCH_X86_64", "amd64"},
    {SCMP_ARCH_X86, "x86", "SCMP_ARCH_X86", "i386"},
    {SCMP_ARCH_X32, "x32", "SCMP_ARCH_X32", "x32"},
    {SCMP_ARCH_AARCH64, "aarch64", "SCMP_ARCH_AARCH64", "arm64"},
    {SCMP_ARCH_ARM, "arm", "SCMP_ARCH_ARM", "arm"},
    {SCMP_ARCH_MIPS, "mips", "SCMP_ARCH_MIPS", "mips"},
    {SCMP_ARCH_MIPS64, "mips64", "SCMP_ARCH_MIPS64", "mips64"},
    {SCMP_ARCH_MIPS64N32, "mips64n32", "SCMP_ARCH_MIPS64N32", "mips64n32"},
    {SCMP_ARCH_MIPSEL, "mipsel", "SCMP_ARCH_MIPSEL", "mipsle"},
    {SCMP_ARCH_MIPSEL64, "mipsel64", "SCMP_ARCH_MIPSEL64", "mips64le"},
    {SCMP_ARCH_MIPSEL64N32, "mipsel64n32", "SCMP_ARCH_MIPSEL64N32", "mips64len32"},
    {SCMP_ARCH_PPC, "ppc", "SCMP_ARCH_PPC", "ppc"},
    {SCMP_ARCH_PPC64, "ppc64", "SCMP_ARCH_PPC64", "ppc64"},
    {SCMP_ARCH_PPC64LE, "ppc64le", "SCMP_ARCH_PPC64LE", "ppc64le"},
    {SCMP_ARCH_S390, "s390", "SCMP_ARCH_S390", "s390"},
    {SCMP_ARCH_S390X, "s390x", "SCMP_ARCH_S390X", "s390x"},
    {SCMP_ARCH_RISCV64, "riscv64", "SCMP_ARCH_RISCV64", "riscv64"},
}};

constexpr std::array<Arch, arch_table.size()> make_arch_list() {
  std::array<Arch, arch_table.size()> out{};
  for (std::size_t i = 0; i < arch_table.size(); ++i) out[i] = Arch{arch_table[i].token};
  return out;
}
constexpr auto arch_list = make_arch_list();

const ArchNames* find(Arch arch) {
  for (const auto& a : arch_table)
    if (a.token == arch.token) return &a;
  return nullptr;
}

} // namespace

std::span<const Arch> known_arches() noexcept { return arch_list; }

Arch native_arch() noexcept { return Arch{seccomp_arch_native()}; }

std::vector<Arch> compat_arches(Arch arch) {
  switch (arch.token) {
  case SCMP_ARCH_X86_64: return {Arch{SCMP_ARCH_X86}, Arch{SCMP_ARCH_X32}};
  case SCMP_ARCH_AARCH64: return {Arch{SCMP_ARCH_ARM}};
  case SCMP_ARCH_S390X: return {Arch{SCMP_ARCH_S390}};
  case SCMP_ARCH_PPC64: return {Arch{SCMP_ARCH_PPC}};
  case SCMP_ARCH_MIPS64: return {Arch{SCMP_ARCH_MIPS}, Arch{SCMP_ARCH_MIPS64N32}};
  case SCMP_ARCH_MIPSEL64: return {Arch{SCMP_ARCH_MIPSEL}, Arch{SCMP_ARCH_MIPSEL64N32}};
  default: return {};
  }
}

std::optional<Arch> arch_from_oci(std::string_view oci_name) {
  for (const auto& a : arch_table)
    if (a.oci == oci_name) return Arch{a.token};
  return std::nullopt;
}

std::optional<Arch> arch_from_name(std::string_view name) {
  if (name == "i386" || name == "i686" || name == "x86") return Arch{SCMP_ARCH_X86};
  for (const auto& a : arch_table)
    if (a.name == name || a.alias == name) return Arch{a.token};
  return std::nullopt;
}

std::optional<Arch> arch_from_audit(std::uint32_t audit_arch) {
  if (find(Arch{audit_arch}) != nullptr) return Arch{audit_arch};
  return std::nullopt;
}

std::optional<Arch> arch_from_any(std::string_view text) {
  if (auto a = arch_from_oci(text)) return a;
  if (auto a = arch_from_name(text)) return a;
  std::string_view hex = text;
  if (hex.starts_with("0x") || hex.starts_with("0X")) hex.remove_prefix(2);
  std::uint32_t token = 0;
  auto [end, ec] = std::from_chars(hex.data(), hex.data() + hex.size(), token, 16);
  if (ec == std::errc{} && end == hex.data() + hex.size() && !hex.empty()) return arch_from_audit(token);
  return std::nullopt;
}

std::string_view arch_name(Arch arch) noexcept {
  const auto* a = find(arch);
  return a != nullptr ? a->name : "unknown";
}

std::string_view arch_oci_name(Arch arch) noexcept {
  const auto* a = find(arch);
  return a != nullptr ? a->oci : "SCMP_ARCH_UNKNOWN";
}

} // namespace nucleus::core
