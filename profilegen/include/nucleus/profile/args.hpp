// Argument conditions for the argument-sensitive syscalls: which argument of each carries the value
// that matters (socket's domain, clone's flags, ioctl's request, ...), the symbolic names of those
// values (compiled from the system headers, kept here and nowhere else), and how observed values
// become allow entries. Use: conditioned_rules("socket", observed) in gen; describe_allowed(policy,
// "socket") wherever a person reads a profile; parse_value(kind, "AF_INET6") for add/remove.
#pragma once

#include "nucleus/core/policy.hpp"
#include "nucleus/core/sensitive.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace nucleus::profile {

// The argument-sensitive syscalls and their kinds are the core's (nucleus/core/sensitive.hpp):
// the recorders keep values of the same arguments that gen conditions.
using core::ArgKind;
using core::sensitive_args;
using core::sensitive_args_of;
using core::SensitiveArg;

// SOCK_NONBLOCK | SOCK_CLOEXEC: flags on socket's type that change no risk, masked off.
inline constexpr std::uint64_t socket_type_flags = 04000 | 02000000;
// The clone flags denied unless observed: new namespaces, and the ways a child leaves the
// traced process tree or its tracer (CLONE_PARENT, CLONE_UNTRACED).
std::uint64_t clone_guarded_flags() noexcept;

// How a person reads a value: "AF_UNIX", "SOCK_STREAM|SOCK_CLOEXEC", "CLONE_VM|CLONE_FS|0x11",
// "TCGETS", "PROT_READ|PROT_EXEC"; a number in hex where the headers have no name for it.
std::string value_name(ArgKind kind, std::uint64_t value);
// A symbol, several joined with "|" (flag kinds), or a number ("10", "0xa"); nullopt otherwise.
std::optional<std::uint64_t> parse_value(ArgKind kind, std::string_view text);
// Which kind a symbol belongs to among `syscall`'s arguments ("SOCK_DGRAM" -> type); nullopt: none.
std::optional<SensitiveArg> arg_for_symbol(std::string_view syscall, std::string_view text);

// What the traces showed for one argument.
struct ObservedArg {
  std::set<std::uint64_t> values;
  bool complete = true; // false: more values than the recorder kept, or none recorded: no condition
};
using Observed = std::map<unsigned, ObservedArg>; // by argument index

// The allow entries that let `syscall` run with what was observed and nothing riskier. Entries are
// ORed, the conditions of each ANDed (OCI semantics). Empty: nothing to condition (allow by name).
std::vector<core::Rule> conditioned_rules(std::string_view syscall, const Observed& observed);

// What a profile's allow entries let `syscall` do, as people read it: "AF_UNIX, AF_INET only; type
// SOCK_STREAM", "without CLONE_NEWNS, CLONE_NEWUSER, ...", "PROT_EXEC only without PROT_WRITE".
// Empty when the syscall runs without conditions or not at all.
std::string describe_allowed(const core::Policy& policy, std::string_view syscall);
// One entry's conditions with symbols where the argument is known: "domain == AF_UNIX && type
// (without SOCK_NONBLOCK|SOCK_CLOEXEC) == SOCK_STREAM"; the generic form otherwise.
std::string describe_conditions_symbolic(std::string_view syscall, const std::vector<core::ArgCondition>& args);

// The condition one allowed value becomes for value-by-value kinds (socket's type without its
// flags, ioctl's request on 32 bits, equality otherwise).
core::ArgCondition condition_for_value(const SensitiveArg& arg, std::uint64_t value);

// An argument value as add/remove take it: "socket:AF_INET6", "socket:SOCK_DGRAM", "ioctl:0x5401",
// "prctl:arg0=PR_SET_NAME". Throws Error(invalid_input) naming what is unknown.
struct ValueSpec {
  std::string syscall;
  SensitiveArg arg;
  std::uint64_t value = 0;
};
std::optional<ValueSpec> parse_value_spec(std::string_view text); // nullopt: a plain name (no ':')

// describe_rule() with the conditions in symbols: "allow if domain == AF_UNIX".
std::string describe_rule_symbolic(std::string_view syscall, const core::Action& action,
                                   const std::vector<core::ArgCondition>& args);

// The traced values of `syscall`'s argument that the profile's allow entries for it do not let
// through (each value checked against the entries' conditions on that argument), as symbols.
std::vector<std::string> values_outside(const core::Policy& policy, std::string_view syscall, unsigned index,
                                        const std::vector<std::uint64_t>& values);

} // namespace nucleus::profile
