// Writing a Policy back as the OCI JSON that runc, crun, podman, Docker and Kubernetes load.
#include "oci_internal.hpp"

#include "nucleus/core/error.hpp"

namespace nucleus::profile {

using core::Arch;
using core::ErrorKind;
using oci_detail::carries_data;

std::string to_oci_json(const core::Policy& policy) {
  using Ordered = nlohmann::ordered_json;
  Ordered out = Ordered::object();
  out["defaultAction"] = core::action_oci_name(policy.default_action.kind);
  if (carries_data(policy.default_action.kind)) out["defaultErrnoRet"] = policy.default_action.data;
  if (!policy.architectures.empty()) {
    Ordered arches = Ordered::array();
    for (Arch arch : policy.architectures) {
      if (!core::arch_from_oci(core::arch_oci_name(arch)))
        throw core::Error(ErrorKind::internal, "architecture token " + std::to_string(arch.token) + " has no OCI name");
      arches.push_back(core::arch_oci_name(arch));
    }
    out["architectures"] = std::move(arches);
  }
  if (!policy.flags.empty()) {
    Ordered flags = Ordered::array();
    for (auto flag : policy.flags) {
      auto name = core::filter_flag_oci_name(flag);
      if (name.empty())
        throw core::Error(ErrorKind::internal,
                          "filter flag " + std::to_string(static_cast<unsigned>(flag)) + " has no OCI name");
      flags.push_back(name);
    }
    out["flags"] = std::move(flags);
  }
  Ordered syscalls = Ordered::array();
  for (const auto& rule : policy.rules) {
    Ordered entry = Ordered::object();
    entry["names"] = rule.names;
    entry["action"] = core::action_oci_name(rule.action.kind);
    if (carries_data(rule.action.kind)) entry["errnoRet"] = rule.action.data;
    if (!rule.args.empty()) {
      Ordered args = Ordered::array();
      for (const auto& c : rule.args) {
        Ordered arg = Ordered::object();
        arg["index"] = c.index;
        arg["value"] = c.value;
        if (c.op == core::CmpOp::masked_eq || c.value_two != 0) arg["valueTwo"] = c.value_two;
        arg["op"] = core::cmp_op_oci_name(c.op);
        args.push_back(std::move(arg));
      }
      entry["args"] = std::move(args);
    }
    if (!rule.comment.empty()) entry["comment"] = rule.comment;
    syscalls.push_back(std::move(entry));
  }
  out["syscalls"] = std::move(syscalls);
  return out.dump(2, ' ', true, Ordered::error_handler_t::replace) + "\n"; // ASCII: safe on a terminal
}

} // namespace nucleus::profile
