// Profile generation from traces.
#include "nucleus/profile/generate.hpp"

#include "nucleus/profile/args.hpp"

#include "nucleus/core/error.hpp"
#include "nucleus/core/io.hpp"
#include "nucleus/core/syscalls.hpp"
#include "nucleus/core/aggregate.hpp"
#include "nucleus/core/record.hpp"

#include <algorithm>
#include <cerrno>
#include <map>
#include <set>
#include <functional>
#include <tuple>

namespace nucleus::profile {

using core::Error;
using core::ErrorKind;

namespace {

// Conditions are a list a person reviews and entries the filter compiles: one entry per
// combination of the arguments' values (OCI ANDs within an entry), so two arguments of 300 values
// each were 90,000 entries, a filter the kernel refuses after minutes of compiling. Bounded here:
// an argument with more distinct values than max_condition_values is not checked, and while a
// syscall would still need more than max_condition_entries entries, the argument with the most
// values is not checked either. Returns what was left unchecked, for the rules' comment ("" when
// nothing), and says it in a note.
std::string bound_conditions(const std::string& name, Observed& seen, const std::function<void(std::string)>& note) {
  std::map<unsigned, std::size_t> distinct; // by index: the entries the argument's values become
  for (const auto& a : sensitive_args_of(name)) {
    auto it = seen.find(a.index);
    if (it == seen.end() || !it->second.complete) continue;
    if (a.kind == ArgKind::clone_flags || a.kind == ArgKind::prot) continue; // one mask each, whatever the values
    std::set<std::tuple<int, std::uint64_t, std::uint64_t>> conditions;
    for (auto v : it->second.values) {
      auto c = condition_for_value(a, v);
      conditions.emplace(static_cast<int>(c.op), c.value, c.value_two);
    }
    distinct[a.index] = conditions.size();
  }
  std::vector<std::string> unchecked;
  auto leave_unchecked = [&](unsigned index, std::string why) {
    seen[index].complete = false;
    distinct.erase(index);
    std::string label;
    for (const auto& a : sensitive_args_of(name))
      if (a.index == index) label = std::string(a.label);
    unchecked.push_back("arg" + std::to_string(index) + " (" + label + ") not checked: " + why);
  };
  for (auto it = distinct.begin(); it != distinct.end();) {
    auto [index, count] = *it++;
    if (count > max_condition_values)
      leave_unchecked(index, std::to_string(count) + " distinct values traced, more than " +
                                 std::to_string(max_condition_values));
  }
  for (;;) {
    std::size_t entries = 1;
    for (const auto& [index, count] : distinct) entries *= count;
    if (entries <= max_condition_entries) break;
    auto most = std::max_element(distinct.begin(), distinct.end(),
                                 [](const auto& a, const auto& b) { return a.second < b.second; });
    leave_unchecked(most->first, "its " + std::to_string(most->second) +
                                     " values times the other arguments' would be " + std::to_string(entries) +
                                     " entries, more than " + std::to_string(max_condition_entries));
  }
  std::string text;
  for (const auto& u : unchecked) text += (text.empty() ? "" : "; ") + u;
  if (!text.empty()) note(name + ": " + text + " (so that the profile stays reviewable and compiles)");
  return text;
}

} // namespace

core::Trace trace_from_audit_text(std::string_view text, const RecordSelector& selector, std::string_view source_name) {
  if (selector.empty())
    throw Error(ErrorKind::usage,
                std::string(source_name) + " is raw audit text, which holds the records of every process",
                "choose the records with --ses (the traced tree's audit session), --pid or --exe");
  core::Aggregator aggregator;
  core::SeccompRecord record;
  std::uint64_t unparsed = 0;
  core::read_text_records(text, [&](std::string_view line, int) {
    auto status = core::parse_seccomp_record(line, record);
    if (status == core::ParseStatus::malformed) ++unparsed;
    if (status != core::ParseStatus::ok) return;
    if (selector.pid && record.pid != *selector.pid) return;
    if (selector.ses && record.ses != *selector.ses) return;
    if (selector.exe && record.exe != *selector.exe) return;
    aggregator.add(record);
  });
  if (aggregator.events() == 0)
    throw Error(ErrorKind::invalid_input, std::string(source_name) + ": no seccomp record matches the selection",
                unparsed != 0 ? std::to_string(unparsed) + " line(s) looked like seccomp records but did not parse"
                              : std::string{});
  core::Trace trace;
  trace.header.source = "file";
  trace.syscalls = aggregator.entries();
  trace.summary = core::TraceSummary{aggregator.events(), aggregator.distinct(), 0, 0, 0, unparsed};
  return trace;
}

std::vector<core::Trace> read_inputs(const std::vector<std::filesystem::path>& inputs, const RecordSelector& selector) {
  std::vector<core::Trace> traces;
  for (const auto& input : inputs) {
    std::string text = core::read_file(input);
    if (core::is_trace_log(text)) traces.push_back(core::read_trace(text, input.string()));
    else traces.push_back(trace_from_audit_text(text, selector, input.string()));
  }
  return traces;
}

core::Policy generate_profile(const std::vector<core::Trace>& traces, const GenerateOptions& options,
                              std::vector<std::string>* left_out) {
  GenerateResult result = generate(traces, options);
  if (left_out != nullptr) *left_out = std::move(result.left_out);
  return std::move(result.policy);
}

GenerateResult generate(const std::vector<core::Trace>& traces, const GenerateOptions& options,
                        const std::vector<std::string>& sources) {
  GenerateResult result;
  auto note = [&](std::string text) {
    if (std::find(result.notes.begin(), result.notes.end(), text) == result.notes.end())
      result.notes.push_back(std::move(text));
  };
  std::map<core::Arch, std::set<std::string>> by_arch;
  std::map<std::string, Observed> observed; // argument-sensitive names seen with values
  std::set<std::string> name_only;          // ... seen in a trace without values: no condition can hold
  bool any_arguments = false;
  for (std::size_t i = 0; i < traces.size(); ++i) {
    const auto& trace = traces[i];
    std::string source = i < sources.size() ? sources[i] : "trace " + std::to_string(i + 1);
    bool with_args = options.arguments && trace.header.arguments;
    any_arguments = any_arguments || with_args;
    std::set<std::string> unconditioned_here;
    for (const auto& entry : trace.syscalls) {
      // Resolve by (arch, nr): the name in the file is for people, the number is what ran.
      auto name = core::syscall_name(entry.arch, entry.nr);
      if (!name)
        throw Error(ErrorKind::invalid_input,
                    "syscall " + std::to_string(entry.nr) + " on " + std::string(core::arch_name(entry.arch)) + " (\"" +
                        entry.name + "\") is unknown to libseccomp",
                    "the trace is corrupt, or libseccomp is older than the kernel that made it");
      bool io_uring =
          std::find(std::begin(io_uring_syscalls), std::end(io_uring_syscalls), *name) != std::end(io_uring_syscalls);
      if (io_uring && !options.allow_io_uring) {
        if (std::find(result.left_out.begin(), result.left_out.end(), *name) == result.left_out.end())
          result.left_out.push_back(*name);
        continue;
      }
      by_arch[entry.arch].insert(*name);
      auto sensitive = sensitive_args_of(*name);
      if (sensitive.empty()) continue;
      if (!with_args) {
        name_only.insert(*name);
        unconditioned_here.insert(*name);
        continue;
      }
      auto& seen = observed[*name];
      for (const auto& a : sensitive) {
        auto& arg = seen[a.index];
        auto it = std::find_if(entry.args.begin(), entry.args.end(),
                               [&](const core::TraceArgValues& v) { return v.index == static_cast<int>(a.index); });
        std::string which = *name + " arg" + std::to_string(a.index) + " (" + std::string(a.label) + ")";
        if (it == entry.args.end()) {
          arg.complete = false;
          note(source + ": no values of " + which + " were recorded: no condition on it");
          continue;
        }
        arg.values.insert(it->values.begin(), it->values.end());
        if (it->overflow) {
          arg.complete = false;
          note(which + ": more distinct values than the recorder keeps: no condition on it");
        }
      }
    }
    if (options.arguments && !trace.header.arguments) {
      std::string text = source + ": no argument values (source " +
                         (trace.header.source.empty() ? std::string("unknown") : trace.header.source) +
                         " records names only): rules are name-only";
      if (!unconditioned_here.empty()) {
        text += ", including";
        for (const auto& n : unconditioned_here) text += " " + n;
      }
      note(text);
    }
  }
  if (by_arch.empty()) by_arch[core::native_arch()]; // nothing traced: only the always-allowed set

  std::vector<core::Rule> conditioned_entries;
  std::set<std::string> conditioned;
  if (any_arguments) {
    for (auto& [name, seen] : observed) {
      if (name_only.count(name) != 0) continue;
      std::string unchecked = bound_conditions(name, seen, note);
      auto rules = conditioned_rules(name, seen);
      if (rules.empty() && !unchecked.empty()) // every argument left unchecked: allowed by name, said why
        rules.push_back({{name}, core::Action::allow(), {}, "allowed by name: " + unchecked});
      else if (!unchecked.empty())
        for (auto& r : rules) r.comment += "; " + unchecked;
      if (rules.empty()) continue;
      conditioned.insert(name);
      for (auto& r : rules) conditioned_entries.push_back(std::move(r));
    }
    bool clone3_seen = false, clone_seen = false;
    for (const auto& [arch, names] : by_arch) {
      clone3_seen = clone3_seen || names.count("clone3") != 0;
      clone_seen = clone_seen || names.count("clone") != 0;
    }
    if ((clone3_seen || clone_seen) && !options.allow_clone3) {
      if (clone3_seen && !clone_seen) {
        // The fallback must work: clone without the guarded flags, as nothing says which were used.
        Observed none{{0, ObservedArg{{0}, true}}};
        for (auto& r : conditioned_rules("clone", none)) {
          r.comment = "the C library's fallback when clone3 returns ENOSYS; " + r.comment;
          conditioned_entries.push_back(std::move(r));
        }
      }
      if (clone3_seen)
        note("clone3 was traced: it now returns ENOSYS, so the C library falls back to clone, whose flags the "
             "filter checks (--allow-clone3 allows clone3 by name, flags unchecked)");
      for (auto& [arch, names] : by_arch) names.erase("clone3");
      conditioned_entries.push_back(core::clone3_fallback_rule());
    }
  }

  bool container = false;
  for (const auto& t : traces) container = container || t.header.container;
  core::Policy& policy = result.policy;
  policy.default_action = options.default_action;
  if (options.log_denials && options.default_action.kind != core::ActionKind::log &&
      options.default_action.kind != core::ActionKind::allow)
    policy.flags.push_back(core::FilterFlag::log);
  // The native architecture's group comes first, then its compat ABIs.
  core::Arch native = core::native_arch();
  std::vector<core::Arch> order;
  if (by_arch.count(native) != 0) order.push_back(native);
  for (const auto& [arch, names] : by_arch)
    if (arch != native) order.push_back(arch);
  for (core::Arch arch : order) {
    auto& names = by_arch[arch];
    for (std::string_view always : always_allowed)
      if (core::syscall_number(arch, always)) names.insert(std::string(always));
    for (const auto& n : conditioned) names.erase(n);
    policy.architectures.push_back(arch);
    core::Rule rule;
    rule.names.assign(names.begin(), names.end());
    rule.action = core::Action::allow();
    rule.comment = "traced on " + std::string(core::arch_name(arch));
    policy.rules.push_back(std::move(rule));
    if (container && options.runtime_allowance && arch == native) {
      core::Rule runtime;
      for (std::string_view n : container_runtime_allowance)
        if (names.count(std::string(n)) == 0 && conditioned.count(std::string(n)) == 0 && core::syscall_number(arch, n))
          runtime.names.emplace_back(n);
      if (!runtime.names.empty()) {
        std::string list;
        for (const auto& n : runtime.names) list += (list.empty() ? "" : ", ") + n;
        note("the traces are of a container: also allowed " + list +
             ", which its runtime's init may call between installing the filter and the exec on any run (runc's "
             "Go runtime); --no-runtime-allowance leaves them out");
        runtime.action = core::Action::allow();
        runtime.comment = "the container runtime's init, between installing the filter and the exec (not traced)";
        policy.rules.push_back(std::move(runtime));
      }
    }
  }
  for (auto& r : conditioned_entries) policy.rules.push_back(std::move(r));
  return result;
}

} // namespace nucleus::profile
