// Syscall names and numbers, always for an explicit architecture, always from libseccomp.
#pragma once

#include "nucleus/core/arch.hpp"

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace nucleus::core {

// The kernel number of `name` on `arch`; nullopt when the syscall does not exist there (or when
// libseccomp only knows it through a multiplexer, like socket() through socketcall on i386).
std::optional<int> syscall_number(Arch arch, std::string_view name);
// The name of syscall `nr` on `arch` (x32 numbers include bit 0x40000000); nullopt when unknown.
std::optional<std::string> syscall_name(Arch arch, int nr);
// Every syscall libseccomp knows for `arch`, sorted by name.
std::vector<std::string> syscall_table(Arch arch);
// Up to `limit` names closest to `name` (edit distance) among the syscalls of `arches` (none
// given: this machine's native ABI and its compat ABIs), for "did you mean" hints. Each ABI's
// table is built once per process.
std::vector<std::string> closest_syscall_names(std::string_view name, std::span<const Arch> arches = {},
                                               std::size_t limit = 3);
// Up to `limit` of `candidates` close enough to `name` to be what was meant (a misspelt key, a
// misspelt name), closest first: the one suggester every "did you mean" uses.
std::vector<std::string> closest_names(std::string_view name, const std::vector<std::string_view>& candidates,
                                       std::size_t limit = 3);
// "2.5.4": the libseccomp this process runs with (its tables decide which names are known).
std::string libseccomp_version();

} // namespace nucleus::core
