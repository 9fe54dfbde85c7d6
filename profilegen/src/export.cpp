// Exporters. Each one either says everything the profile says, or names what it cannot say.
#include "nucleus/profile/export.hpp"

#include "nucleus/profile/args.hpp"
#include "nucleus/profile/effective.hpp"
#include "nucleus/profile/oci.hpp"
#include "nucleus/core/error.hpp"
#include "nucleus/core/strings.hpp"
#include "nucleus/core/syscalls.hpp"

#include <algorithm>
#include <cerrno>
#include <bit>
#include <cstdio>
#include <map>
#include <set>
#include <sstream>

namespace nucleus::profile {
namespace {

using core::ActionKind;
using core::Error;
using core::ErrorKind;
using core::Policy;

[[noreturn]] void cannot(std::string_view format, const std::string& what, std::string hint = {}) {
  throw Error(ErrorKind::invalid_input, std::string(format) + " cannot express " + what, std::move(hint));
}

std::string entry_label(std::size_t i, const core::Rule& r) {
  std::string names;
  for (std::size_t k = 0; k < r.names.size() && k < 3; ++k) names += (k ? ", " : "") + r.names[k];
  if (r.names.size() > 3) names += ", ...";
  return "syscalls[" + std::to_string(i) + "] (" + names + ")";
}

std::string header_comment(const ExportOptions& o, std::string_view target) {
  return "# " + std::string(target) + (o.source.empty() ? "" : " for " + o.source) +
         ", written by nucleus-profile export\n";
}

// ---- Kubernetes Security Profiles Operator ----

ExportResult to_k8s(const Policy& p, const ExportOptions& o) {
  constexpr std::string_view fmt = "the SeccompProfile resource";
  if (p.default_action.kind == ActionKind::errno_ret && p.default_action.data != 1)
    cannot(fmt, "a default errno other than EPERM (defaultErrnoRet " + std::to_string(p.default_action.data) + ")",
           "use errno EPERM as the default action");
  if (p.default_action.kind == ActionKind::trace && p.default_action.data != 0)
    cannot(fmt, "a default SCMP_ACT_TRACE message");
  std::ostringstream y;
  y << header_comment(o, "Security Profiles Operator SeccompProfile");
  y << "apiVersion: security-profiles-operator.x-k8s.io/v1beta1\n"
    << "kind: SeccompProfile\n"
    << "metadata:\n"
    << "  name: " << o.name << "\n"
    << "spec:\n"
    << "  defaultAction: " << core::action_oci_name(p.default_action.kind) << "\n";
  if (!p.architectures.empty()) {
    y << "  architectures:\n";
    for (auto a : p.architectures) y << "  - " << core::arch_oci_name(a) << "\n";
  }
  if (!p.flags.empty()) {
    y << "  flags:\n";
    for (auto f : p.flags) y << "  - " << core::filter_flag_oci_name(f) << "\n";
  }
  if (!p.rules.empty()) y << "  syscalls:\n";
  for (std::size_t i = 0; i < p.rules.size(); ++i) {
    const auto& r = p.rules[i];
    if (r.action.kind == ActionKind::trace && r.action.data != 0)
      cannot(fmt, "an SCMP_ACT_TRACE message in " + entry_label(i, r));
    if (!r.comment.empty()) y << "  # " << r.comment << "\n";
    y << "  - action: " << core::action_oci_name(r.action.kind) << "\n";
    if (r.action.kind == ActionKind::errno_ret) y << "    errnoRet: " << r.action.data << "\n";
    y << "    names:\n";
    for (const auto& n : r.names) y << "    - " << n << "\n";
    if (!r.args.empty()) {
      y << "    args:\n";
      for (const auto& c : r.args)
        y << "    - index: " << c.index << "\n      value: " << c.value << "\n      valueTwo: " << c.value_two
          << "\n      op: " << core::cmp_op_oci_name(c.op) << "\n";
    }
  }
  return {y.str(), {}};
}

// ---- systemd ----

std::string_view systemd_arch(core::Arch a) {
  static const std::map<std::string_view, std::string_view> names{
      {"x86_64", "x86-64"},
      {"x86", "x86"},
      {"x32", "x32"},
      {"aarch64", "arm64"},
      {"arm", "arm"},
      {"s390x", "s390x"},
      {"s390", "s390"},
      {"ppc64", "ppc64"},
      {"ppc64le", "ppc64-le"},
      {"ppc", "ppc"},
      {"mips", "mips"},
      {"mipsel", "mips-le"},
      {"mips64", "mips64"},
      {"mipsel64", "mips64-le"},
      {"mips64n32", "mips64-n32"},
      {"mipsel64n32", "mips64-le-n32"},
      {"riscv64", "riscv64"},
      {"loongarch64", "loongarch64"},
  };
  auto it = names.find(core::arch_name(a));
  return it == names.end() ? std::string_view{} : it->second;
}

void wrap_list(std::ostringstream& out, std::string_view key, const std::vector<std::string>& names,
               const char* prefix = "") {
  std::string line;
  for (const auto& n : names) {
    if (!line.empty() && line.size() + n.size() > 100) {
      out << key << "=" << prefix << line << "\n";
      line.clear();
    }
    line += (line.empty() ? "" : " ") + n;
  }
  if (!line.empty()) out << key << "=" << prefix << line << "\n";
}

ExportResult to_systemd(const Policy& p, const ExportOptions& o) {
  constexpr std::string_view fmt = "systemd";
  ExportResult res;
  std::ostringstream s;
  s << header_comment(o, "systemd unit settings (systemd.exec(5))");
  const auto def = p.default_action;
  const bool denylist = permits(def);
  auto error_number = [&](const core::Action& a, const std::string& where) -> std::string {
    if (a.kind == ActionKind::errno_ret) return errno_name(a.data);
    if (a.kind == ActionKind::kill_process) return {};
    cannot(fmt, "the action " + core::to_string(a) + " (" + where + ")",
           "systemd denies with an errno (SystemCallErrorNumber=) or by killing the process");
  };
  for (auto f : p.flags) {
    if (f == core::FilterFlag::log)
      res.notes.push_back(
          "SECCOMP_FILTER_FLAG_LOG has no systemd setting: denied calls are not written to the audit log");
    else if (f == core::FilterFlag::tsync)
      res.notes.push_back(
          "SECCOMP_FILTER_FLAG_TSYNC is not needed: systemd installs the filter before the service has threads");
    else cannot(fmt, "the flag " + std::string(core::filter_flag_oci_name(f)));
  }
  std::vector<std::string> arches;
  for (auto a : p.architectures) {
    auto n = systemd_arch(a);
    if (n.empty()) cannot(fmt, "the architecture " + std::string(core::arch_oci_name(a)));
    arches.emplace_back(n);
  }
  if (arches.empty()) arches.emplace_back("native");

  std::set<std::string> listed, logged, widened;
  std::optional<std::string> deny_errno;
  for (std::size_t i = 0; i < p.rules.size(); ++i) {
    const auto& r = p.rules[i];
    if (!r.args.empty()) {
      if (!o.accept_name_only || !permits(r.action))
        cannot(
            fmt,
            "argument conditions: " + entry_label(i, r) + " " + describe_conditions_symbolic(r.names.front(), r.args),
            "systemd filters by syscall name only: --accept-name-only allows such syscalls whatever their "
            "arguments (wider than the profile), or use a target that keeps conditions (oci, docker, k8s, minijail)");
      widened.insert(r.names.begin(), r.names.end());
    }
    if (!denylist && o.accept_name_only && core::is_clone3_fallback(r)) {
      // The C library falls back to clone only on ENOSYS; systemd's one errno would break threads.
      widened.emplace(core::clone3_name);
      listed.emplace(core::clone3_name);
      continue;
    }
    if (denylist) {
      if (permits(r.action)) continue; // the default already lets it run
      auto e = error_number(r.action, entry_label(i, r));
      if (deny_errno && *deny_errno != e)
        cannot(fmt, "denials with different errno values in one profile (" + entry_label(i, r) + ")");
      deny_errno = e;
      listed.insert(r.names.begin(), r.names.end());
    } else {
      if (r.action.kind == ActionKind::allow || r.action.kind == ActionKind::log) {
        listed.insert(r.names.begin(), r.names.end());
        if (r.action.kind == ActionKind::log) logged.insert(r.names.begin(), r.names.end());
      } else if (r.action != def) {
        cannot(fmt,
               "the action " + describe_rule(r.action, {}) + " in " + entry_label(i, r) + " beside the default " +
                   describe_rule(def, {}),
               "systemd has one action for every syscall outside the allow list");
      }
    }
  }
  if (!widened.empty()) {
    std::string names;
    for (const auto& n : widened) names += " " + n;
    res.notes.push_back("allowed by name, whatever their arguments (--accept-name-only; the profile conditions them):" +
                        names);
  }
  s << "[Service]\n";
  s << "SystemCallArchitectures=" <<
      [&] {
        std::string j;
        for (const auto& a : arches) j += (j.empty() ? "" : " ") + a;
        return j;
      }()
    << "\n";
  std::vector<std::string> names(listed.begin(), listed.end());
  if (denylist) {
    if (def.kind == ActionKind::log) cannot(fmt, "a default action of log");
    wrap_list(s, "SystemCallFilter", names, "~");
    if (deny_errno && !deny_errno->empty()) s << "SystemCallErrorNumber=" << *deny_errno << "\n";
  } else {
    if (names.empty()) cannot(fmt, "an empty allow list (systemd reads an empty SystemCallFilter= as a reset)");
    wrap_list(s, "SystemCallFilter", names);
    auto e = error_number(def, "defaultAction");
    if (!e.empty()) s << "SystemCallErrorNumber=" << e << "\n";
    if (!logged.empty()) wrap_list(s, "SystemCallLog", {logged.begin(), logged.end()});
  }
  for (const auto& n : res.notes) s << "# note: " << n << "\n";
  res.text = s.str();
  return res;
}

// ---- minijail ----

std::string minijail_condition(const core::ArgCondition& c, const std::string& where) {
  std::string arg = "arg" + std::to_string(c.index);
  switch (c.op) {
  case core::CmpOp::eq: return arg + " == " + core::hex(c.value);
  case core::CmpOp::ne: return arg + " != " + core::hex(c.value);
  case core::CmpOp::lt: return arg + " < " + core::hex(c.value);
  case core::CmpOp::le: return arg + " <= " + core::hex(c.value);
  case core::CmpOp::gt: return arg + " > " + core::hex(c.value);
  case core::CmpOp::ge: return arg + " >= " + core::hex(c.value);
  case core::CmpOp::masked_eq: {
    if ((c.value_two & ~c.value) != 0) break; // never holds
    // (arg & m) == v: no bit of m outside v is set ("in" allows only the bits given), and each bit of v is.
    std::string out;
    std::uint64_t allowed_bits = ~c.value | c.value_two;
    if (allowed_bits != ~std::uint64_t{0}) out = arg + " in " + core::hex(allowed_bits);
    for (int bit = 0; bit < 64; ++bit) {
      std::uint64_t b = std::uint64_t{1} << bit;
      if ((c.value_two & b) != 0) out += (out.empty() ? "" : " && ") + arg + " & " + core::hex(b);
    }
    if (out.empty()) return "1";
    return out;
  }
  }
  cannot("minijail", "the condition " + describe_conditions({c}) + " (" + where + ")", "the condition can never hold");
}

ExportResult to_minijail(const Policy& p, const ExportOptions& o) {
  constexpr std::string_view fmt = "minijail";
  ExportResult res;
  core::Arch arch;
  if (o.arch) {
    auto eff = p.effective_arches();
    if (std::find(eff.begin(), eff.end(), *o.arch) == eff.end())
      throw Error(ErrorKind::usage, "the profile does not cover " + std::string(core::arch_name(*o.arch)));
    arch = *o.arch;
  } else if (p.architectures.size() > 1) {
    std::string list;
    for (auto a : p.architectures) list += (list.empty() ? "" : ", ") + std::string(core::arch_name(a));
    cannot(fmt, "several architectures in one policy file (" + list + ")",
           "export one file per architecture with --arch NAME");
  } else {
    arch = p.effective_arches().front();
  }
  if (p.default_action.kind != ActionKind::kill_process) {
    if (!o.accept_kill_default)
      cannot(fmt,
             "the default action " + describe_rule(p.default_action, {}) +
                 ": minijail kills the process on any syscall its policy does not list",
             "accept that with --accept-kill-default, or generate with --default-action kill-process");
    res.notes.push_back("syscalls outside the policy kill the process (the profile's default was " +
                        describe_rule(p.default_action, {}) + ")");
  }
  for (auto f : p.flags)
    if (f != core::FilterFlag::tsync && f != core::FilterFlag::log)
      cannot(fmt, "the flag " + std::string(core::filter_flag_oci_name(f)));
  if (p.has_flag(core::FilterFlag::log))
    res.notes.push_back("SECCOMP_FILTER_FLAG_LOG is not part of a policy file: run minijail0 with -L to log denials");

  // Gather each name's entries, in order.
  std::map<std::string, std::vector<std::pair<std::size_t, const core::Rule*>>> by_name;
  for (std::size_t i = 0; i < p.rules.size(); ++i)
    for (const auto& n : p.rules[i].names) by_name[n].emplace_back(i, &p.rules[i]);
  std::ostringstream m;
  m << header_comment(o, "minijail seccomp policy for " + std::string(core::arch_name(arch)));
  for (const auto& n : res.notes) m << "# note: " << n << "\n";
  std::size_t absent = 0;
  for (const auto& [name, entries] : by_name) {
    if (!core::syscall_number(arch, name)) {
      ++absent;
      continue;
    }
    std::vector<std::string> allow_exprs;
    bool allow_all = false;
    std::optional<std::uint32_t> deny_errno;
    for (const auto& [i, r] : entries) {
      std::string where = entry_label(i, *r);
      if (r->action.kind == ActionKind::allow) {
        if (r->args.empty()) allow_all = true;
        std::string expr;
        for (const auto& c : r->args) expr += (expr.empty() ? "" : " && ") + minijail_condition(c, where);
        if (!expr.empty()) allow_exprs.push_back(expr);
      } else if (r->action.kind == ActionKind::errno_ret && r->args.empty()) {
        deny_errno = r->action.data;
      } else if (r->action == p.default_action && r->args.empty()) {
        // Same as not listing it.
      } else {
        cannot(fmt, "the action " + describe_rule(r->action, r->args) + " for " + name + " in " + where,
               "a minijail policy line allows (optionally under conditions) or returns an errno");
      }
    }
    if (allow_all) m << name << ": 1\n";
    else if (!allow_exprs.empty()) {
      m << name << ": ";
      for (std::size_t k = 0; k < allow_exprs.size(); ++k) m << (k ? " || " : "") << allow_exprs[k];
      if (deny_errno) m << "; return " << *deny_errno;
      m << "\n";
    } else if (deny_errno) {
      m << name << ": return " << *deny_errno << "\n";
    }
  }
  if (absent != 0)
    m << "# " << absent << " name(s) of the profile do not exist on " << core::arch_name(arch)
      << " and cannot be called there\n";
  res.text = m.str();
  return res;
}

} // namespace

std::optional<ExportFormat> export_format_from_name(std::string_view name) {
  if (name == "oci") return ExportFormat::oci;
  if (name == "docker") return ExportFormat::docker;
  if (name == "k8s") return ExportFormat::k8s;
  if (name == "systemd") return ExportFormat::systemd;
  if (name == "minijail") return ExportFormat::minijail;
  return std::nullopt;
}

ExportResult export_profile(const Policy& given, ExportFormat format, const ExportOptions& options) {
  // The filter flags change what is logged, never what is allowed; runc before 1.2 refuses a
  // profile that has any ("seccomp flags are not yet supported by runc").
  Policy without_flags;
  std::vector<std::string> notes;
  const bool runtime_format =
      format == ExportFormat::oci || format == ExportFormat::docker || format == ExportFormat::k8s;
  if (runtime_format && !given.flags.empty()) {
    std::string names;
    for (auto f : given.flags) names += (names.empty() ? "" : ", ") + std::string(core::filter_flag_oci_name(f));
    if (options.drop_flags) {
      without_flags = given;
      without_flags.flags.clear();
      notes.push_back("left out the filter flags (" + names +
                      "): the profile allows and denies the same calls, "
                      "but denials are not written to the audit log");
    } else {
      notes.push_back("the profile keeps the filter flags (" + names +
                      "), which runc before 1.2 refuses (\"seccomp "
                      "flags are not yet supported by runc\"): for such a runtime, export with --no-flags");
    }
  }
  const Policy& policy = options.drop_flags && runtime_format ? without_flags : given;
  switch (format) {
  case ExportFormat::oci:
  case ExportFormat::docker: return {to_oci_json(policy), notes}; // Docker reads the OCI object as is
  case ExportFormat::k8s: {
    auto result = to_k8s(policy, options);
    result.notes.insert(result.notes.begin(), notes.begin(), notes.end());
    return result;
  }
  case ExportFormat::systemd: return to_systemd(policy, options);
  case ExportFormat::minijail: return to_minijail(policy, options);
  }
  throw Error(ErrorKind::internal, "unknown export format");
}

} // namespace nucleus::profile
