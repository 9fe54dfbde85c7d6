// Architectures as the kernel and libseccomp name them. An Arch is the AUDIT_ARCH_* token, which is
// also libseccomp's SCMP_ARCH_* value and the `arch=` field of an audit record.
// Use: arch_from_oci("SCMP_ARCH_X86_64"), arch_from_audit(0xc000003e), arch_name(a) -> "x86_64".
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

namespace nucleus::core {

struct Arch {
  std::uint32_t token = 0; // AUDIT_ARCH_* == SCMP_ARCH_*
  friend constexpr bool operator==(Arch, Arch) = default;
  friend constexpr auto operator<=>(Arch, Arch) = default;
};

// Every architecture nucleus knows (the ones libseccomp supports).
std::span<const Arch> known_arches() noexcept;

Arch native_arch() noexcept;
// The ABIs a process of `arch` can also enter the kernel with: x86_64 -> {x86, x32}, aarch64 -> {arm}.
std::vector<Arch> compat_arches(Arch arch);

std::optional<Arch> arch_from_oci(std::string_view oci_name);  // "SCMP_ARCH_X86_64"
std::optional<Arch> arch_from_name(std::string_view name);     // "x86_64", "x86"/"i386", "x32", "aarch64"
std::optional<Arch> arch_from_audit(std::uint32_t audit_arch); // 0xc000003e
std::optional<Arch> arch_from_any(std::string_view text);      // any of the above spellings, or hex token

std::string_view arch_name(Arch arch) noexcept;     // "x86_64"; "unknown" for a token we do not know
std::string_view arch_oci_name(Arch arch) noexcept; // "SCMP_ARCH_X86_64"

} // namespace nucleus::core
