// Profile generation from traces.
#include "nucleus/profile/generate.hpp"

#include "nucleus/sandbox/error.hpp"
#include "nucleus/sandbox/io.hpp"
#include "nucleus/sandbox/syscalls.hpp"
#include "nucleus/tracer/aggregate.hpp"
#include "nucleus/tracer/record.hpp"
#include "nucleus/tracer/source.hpp"

#include <algorithm>
#include <map>
#include <set>

namespace nucleus::profile {

using sandbox::Error;
using sandbox::ErrorKind;

tracer::Trace trace_from_audit_text(std::string_view text, const RecordSelector& selector,
                                    std::string_view source_name) {
  if (selector.empty())
    throw Error(ErrorKind::usage,
                std::string(source_name) + " is raw audit text, which holds the records of every process",
                "choose the records with --ses (the traced tree's audit session), --pid or --exe");
  tracer::Aggregator aggregator;
  tracer::SeccompRecord record;
  std::uint64_t unparsed = 0;
  tracer::read_text_records(text, [&](std::string_view line, int) {
    auto status = tracer::parse_seccomp_record(line, record);
    if (status == tracer::ParseStatus::malformed) ++unparsed;
    if (status != tracer::ParseStatus::ok) return;
    if (selector.pid && record.pid != *selector.pid) return;
    if (selector.ses && record.ses != *selector.ses) return;
    if (selector.exe && record.exe != *selector.exe) return;
    aggregator.add(record);
  });
  if (aggregator.events() == 0)
    throw Error(ErrorKind::invalid_input, std::string(source_name) + ": no seccomp record matches the selection",
                unparsed != 0 ? std::to_string(unparsed) + " line(s) looked like seccomp records but did not parse"
                              : std::string{});
  tracer::Trace trace;
  trace.header.source = "file";
  trace.syscalls = aggregator.entries();
  trace.summary = tracer::TraceSummary{aggregator.events(), aggregator.distinct(), 0, 0, 0, unparsed};
  return trace;
}

std::vector<tracer::Trace> read_inputs(const std::vector<std::filesystem::path>& inputs,
                                       const RecordSelector& selector) {
  std::vector<tracer::Trace> traces;
  for (const auto& input : inputs) {
    std::string text = sandbox::read_file(input);
    if (tracer::is_trace_log(text)) traces.push_back(tracer::read_trace(text, input.string()));
    else traces.push_back(trace_from_audit_text(text, selector, input.string()));
  }
  return traces;
}

sandbox::Policy generate_profile(const std::vector<tracer::Trace>& traces, const GenerateOptions& options,
                                 std::vector<std::string>* left_out) {
  std::map<sandbox::Arch, std::set<std::string>> by_arch;
  for (const auto& trace : traces) {
    for (const auto& entry : trace.syscalls) {
      // Resolve by (arch, nr): the name in the file is for people, the number is what ran.
      auto name = sandbox::syscall_name(entry.arch, entry.nr);
      if (!name)
        throw Error(ErrorKind::invalid_input,
                    "syscall " + std::to_string(entry.nr) + " on " + std::string(sandbox::arch_name(entry.arch)) +
                        " (\"" + entry.name + "\") is unknown to libseccomp",
                    "the trace is corrupt, or libseccomp is older than the kernel that made it");
      bool io_uring = std::find(std::begin(io_uring_syscalls), std::end(io_uring_syscalls), *name) !=
                      std::end(io_uring_syscalls);
      if (io_uring && !options.allow_io_uring) {
        if (left_out != nullptr && std::find(left_out->begin(), left_out->end(), *name) == left_out->end())
          left_out->push_back(*name);
        continue;
      }
      by_arch[entry.arch].insert(*name);
    }
  }
  if (by_arch.empty()) by_arch[sandbox::native_arch()]; // nothing traced: only the always-allowed set

  sandbox::Policy policy;
  policy.default_action = options.default_action;
  if (options.log_denials && options.default_action.kind != sandbox::ActionKind::log &&
      options.default_action.kind != sandbox::ActionKind::allow)
    policy.flags.push_back(sandbox::FilterFlag::log);
  // The native architecture's group comes first, then its compat ABIs.
  sandbox::Arch native = sandbox::native_arch();
  std::vector<sandbox::Arch> order;
  if (by_arch.count(native) != 0) order.push_back(native);
  for (const auto& [arch, names] : by_arch)
    if (arch != native) order.push_back(arch);
  for (sandbox::Arch arch : order) {
    auto& names = by_arch[arch];
    for (std::string_view always : always_allowed)
      if (sandbox::syscall_number(arch, always)) names.insert(std::string(always));
    policy.architectures.push_back(arch);
    sandbox::Rule rule;
    rule.names.assign(names.begin(), names.end());
    rule.action = sandbox::Action::allow();
    rule.comment = "traced on " + std::string(sandbox::arch_name(arch));
    policy.rules.push_back(std::move(rule));
  }
  return policy;
}

} // namespace nucleus::profile
