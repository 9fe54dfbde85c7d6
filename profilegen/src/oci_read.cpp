// Reading seccomp profiles (the OCI LinuxSeccomp object plus Docker's extensions) into a
// core::Policy, with every problem reported as "<source>: <json path>: <problem>".
#include "oci_internal.hpp"

#include "nucleus/core/error.hpp"
#include "nucleus/core/strings.hpp"
#include "nucleus/core/io.hpp"
#include "nucleus/core/json_limits.hpp"

#include <functional>
#include <limits>
#include <memory>
#include <map>
#include <set>
#include <span>
#include <tuple>
#include <utility>

namespace nucleus::profile {
namespace {

using namespace oci_detail;
using core::ErrorKind;

// The kernel keeps 16 bits of SECCOMP_RET_DATA for the errno or the tracer's message, and caps an
// errno at MAX_ERRNO.
constexpr std::uint64_t max_ret_data = 0xffff;
constexpr std::uint64_t max_errno = 4095;
constexpr std::uint64_t max_arg_index = 5;
constexpr std::uint32_t eperm = 1;

constexpr std::array<std::string_view, 9> top_level_keys{"defaultAction",    "defaultErrnoRet", "architectures",
                                                         "archMap",          "flags",           "listenerPath",
                                                         "listenerMetadata", "syscalls",        "comment"};
constexpr std::array<std::string_view, 8> entry_keys{"names", "name",    "action",   "errnoRet",
                                                     "args",  "comment", "includes", "excludes"};
constexpr std::array<std::string_view, 4> arg_keys{"index", "value", "valueTwo", "op"};
constexpr std::array<std::string_view, 2> arch_map_keys{"architecture", "subArchitectures"};
constexpr std::array<std::string_view, 3> filter_keys{"caps", "arches", "minKernel"};

constexpr std::array<ActionKind, 8> all_action_kinds{
    ActionKind::kill_process, ActionKind::kill_thread, ActionKind::trap,  ActionKind::errno_ret,
    ActionKind::trace,        ActionKind::log,         ActionKind::allow, ActionKind::notify};
constexpr std::array<core::CmpOp, 7> all_ops{core::CmpOp::ne, core::CmpOp::lt, core::CmpOp::le,       core::CmpOp::eq,
                                             core::CmpOp::ge, core::CmpOp::gt, core::CmpOp::masked_eq};
constexpr std::array<core::FilterFlag, 4> all_flags{core::FilterFlag::tsync, core::FilterFlag::log,
                                                    core::FilterFlag::spec_allow, core::FilterFlag::wait_killable_recv};

// A short description of a JSON value for messages; never dumps a container, which may be huge
// or deeply nested.
std::string describe(const Json& value) {
  switch (value.type()) {
  case Json::value_t::null: return "null";
  case Json::value_t::object: return "an object";
  case Json::value_t::array: return "an array";
  case Json::value_t::string: return "a string (" + in_quotes(value.get_ref<const std::string&>()) + ")";
  case Json::value_t::boolean: return value.get<bool>() ? "true" : "false";
  default: return value.dump(-1, ' ', false, Json::error_handler_t::replace);
  }
}

std::string arch_list(const std::vector<Arch>& arches) {
  std::vector<std::string> names;
  for (Arch a : arches) names.emplace_back(core::arch_name(a));
  return core::join(names, ", ");
}

// True when leaving `rule` out of the filter would let its syscalls do more than the profile says
// (a deny entry in a permissive profile).
bool narrows_default(const Action& rule, const Action& default_action) {
  return rule != default_action && core::strictness(rule.kind) <= core::strictness(default_action.kind);
}

void append_unique(std::vector<Arch>& arches, Arch arch) {
  if (std::find(arches.begin(), arches.end(), arch) == arches.end()) arches.push_back(arch);
}

// One syscalls[] entry after reading: the rule, where its names came from, and whether Docker's
// conditions keep it in the resolved profile.
struct Entry {
  std::string path;
  core::Rule rule;
  std::vector<std::string> name_paths; // parallel to rule.names
  bool applies = true;
};

class ProfileReader {
public:
  ProfileReader(std::string_view source, const ResolveContext& context)
      : source_(source), context_(context), docker_(context), target_(docker_.target()) {}

  // Problems found before reading (duplicate keys, seen by the JSON parser) come first.
  LoadedProfile read(const Json& root, std::vector<Diagnostic> earlier_errors) {
    errors_ = std::move(earlier_errors);
    LoadedProfile out;
    if (!root.is_object()) {
      attempt([&] { fail("", "a profile is a JSON object (the OCI LinuxSeccomp object), not " + describe(root)); });
      finish();
    }
    bool have_default = attempt([&] {
      if (field(root, "defaultAction") == nullptr)
        fail("defaultAction", "missing; every profile needs a default action, e.g. \"SCMP_ACT_ERRNO\"");
      out.policy.default_action = read_action(root, "", "defaultAction", "defaultErrnoRet");
    });
    check_top_level_keys(root, have_default ? &out.policy.default_action : nullptr);
    bool have_arches = attempt([&] { out.policy.architectures = read_architectures(root); });
    attempt([&] { out.policy.flags = read_flags(root); });
    attempt([&] { read_listener(root); });
    attempt([&] { read_comment(root, ""); });
    auto entries = read_entries(root);
    if (have_default && have_arches) check_names(entries, out.policy);
    if (have_default) check_conflicts(entries);
    finish();
    for (auto& entry : entries)
      if (entry.applies && !entry.rule.names.empty()) out.policy.rules.push_back(std::move(entry.rule));
    out.warnings = std::move(warnings_);
    return out;
  }

private:
  // Thrown by fail() once the problem is recorded: the part being read is given up, and reading
  // goes on with the next one, so that one run reports every problem.
  struct Abandoned {};

  [[noreturn]] void fail(std::string_view path, const std::string& problem) const {
    errors_.push_back({path.empty() ? "(top level)" : std::string(path), problem});
    throw Abandoned{};
  }

  // Runs one part of the reading; false when it failed (the problem is recorded).
  template <class Part>
  bool attempt(Part&& part) {
    try {
      part();
      return true;
    } catch (const Abandoned&) {
      return false;
    }
  }

  // Every error, then every warning, each with its JSON path, in one Error.
  void finish() const {
    if (errors_.empty()) return;
    std::string message;
    for (const auto& e : errors_) message += (message.empty() ? "" : "\n") + source_ + ": " + e.path + ": " + e.message;
    for (const auto& w : warnings_) message += "\n" + source_ + ": " + w.path + ": warning: " + w.message;
    std::string hint;
    if (errors_.size() > 1) hint = std::to_string(errors_.size()) + " errors in this profile, all listed above";
    throw core::Error(ErrorKind::invalid_input, message, hint);
  }

  void warn(std::string path, std::string message) {
    warnings_.push_back({path.empty() ? "(top level)" : std::move(path), std::move(message)});
  }

  // The value of `key`, or nullptr when it is absent or null (Docker writes null for empty lists).
  static const Json* field(const Json& object, std::string_view key) {
    auto it = object.find(std::string(key));
    if (it == object.end() || it->is_null()) return nullptr;
    return &*it;
  }

  template <std::size_t N>
  static std::string did_you_mean(std::string_view key, const std::array<std::string_view, N>& known) {
    auto close = core::closest_names(key, std::vector<std::string_view>(known.begin(), known.end()), 1);
    return close.empty() ? "" : " (did you mean \"" + close.front() + "\"?)";
  }

  template <std::size_t N>
  void warn_unknown_keys(const Json& object, std::string_view path, const std::array<std::string_view, N>& known) {
    for (const auto& item : object.items()) {
      const std::string& key = item.key();
      if (std::find(known.begin(), known.end(), key) != known.end()) continue;
      warn(key_path(path, key), "unknown key, ignored" + did_you_mean(key, known));
    }
  }

  // An unknown top-level key may be a misspelt "syscalls" whose rules would be lost. Under a
  // default that denies, losing them only denies more; under one that lets syscalls run
  // (SCMP_ACT_ALLOW, SCMP_ACT_LOG), it would allow what the rules deny, so it is an error.
  void check_top_level_keys(const Json& root, const Action* default_action) {
    bool widens = default_action != nullptr &&
                  (default_action->kind == ActionKind::allow || default_action->kind == ActionKind::log);
    for (const auto& item : root.items()) {
      const std::string& key = item.key();
      if (std::find(top_level_keys.begin(), top_level_keys.end(), key) != top_level_keys.end()) continue;
      if (!widens) {
        warn(key, "unknown key, ignored" + did_you_mean(key, top_level_keys));
        continue;
      }
      attempt([&] {
        fail(key, "unknown key" + did_you_mean(key, top_level_keys) + "; the default action " +
                      std::string(core::action_oci_name(default_action->kind)) +
                      " lets every syscall run, so ignoring rules this key may hold would allow what they deny");
      });
    }
  }

  const std::string& read_string(const Json& value, std::string_view path) const {
    if (!value.is_string()) fail(path, "must be a string, not " + describe(value));
    return value.get_ref<const std::string&>();
  }

  std::uint64_t read_unsigned(const Json& value, std::string_view path, std::uint64_t max,
                              std::string_view why = {}) const {
    std::string expected = "must be an integer from 0 to " + std::to_string(max);
    if (!why.empty()) expected += " (" + std::string(why) + ")";
    if (value.is_number_unsigned()) {
      auto number = value.get<std::uint64_t>();
      if (number > max) fail(path, expected + ", not " + std::to_string(number));
      return number;
    }
    if (value.is_number_integer() && value.get<std::int64_t>() == 0) return 0; // "-0"
    fail(path, expected + ", not " + describe(value));
  }

  // An array of strings; null counts as empty.
  std::vector<std::string> read_string_list(const Json* value, std::string_view path) const {
    std::vector<std::string> out;
    if (value == nullptr) return out;
    if (!value->is_array()) fail(path, "must be an array of strings, not " + describe(*value));
    for (std::size_t i = 0; i < value->size(); ++i) out.push_back(read_string((*value)[i], index_path(path, i)));
    return out;
  }

  Action read_action(const Json& object, std::string_view parent, std::string_view action_key,
                     std::string_view errno_key) {
    std::string path = key_path(parent, action_key);
    const std::string& name = read_string(*field(object, action_key), path);
    auto kind = core::action_kind_from_oci(name);
    if (!kind) {
      std::vector<std::string> names;
      for (auto k : all_action_kinds) names.emplace_back(core::action_oci_name(k));
      names.emplace_back("SCMP_ACT_KILL");
      fail(path, "unknown action " + in_quotes(name) + " (expected one of " + core::join(names, ", ") + ")");
    }
    Action action{*kind, 0};
    if (carries_data(*kind)) action.data = eperm;
    std::string errno_path = key_path(parent, errno_key);
    if (const Json* ret = field(object, errno_key)) {
      auto value = static_cast<std::uint32_t>(
          read_unsigned(*ret, errno_path, max_ret_data, "the kernel keeps 16 bits of SECCOMP_RET_DATA"));
      if (!carries_data(*kind)) {
        warn(errno_path, "ignored: only SCMP_ACT_ERRNO and SCMP_ACT_TRACE return a value, not " + name);
      } else {
        action.data = value;
        if (*kind == ActionKind::errno_ret && value > max_errno)
          warn(errno_path, std::to_string(value) + " is not an errno value; the kernel returns " +
                               std::to_string(max_errno) + " instead");
      }
    }
    if (*kind == ActionKind::notify)
      warn(path, "SCMP_ACT_NOTIFY: nucleus attaches no listener, so these syscalls fail with ENOSYS");
    return action;
  }

  ArchLookup read_oci_arch(const Json& value, std::string_view path) const {
    const std::string& name = read_string(value, path);
    auto lookup = lookup_oci_arch(name);
    if (!lookup.known) {
      std::vector<std::string> names;
      for (Arch a : core::known_arches()) names.emplace_back(core::arch_oci_name(a));
      fail(path, "unknown architecture " + in_quotes(name) + " (expected one of " + core::join(names, ", ") + ")");
    }
    return lookup;
  }

  Arch read_supported_arch(const Json& value, std::string_view path) const {
    auto lookup = read_oci_arch(value, path);
    if (!lookup.arch)
      fail(path, "architecture " + in_quotes(value.get_ref<const std::string&>()) +
                     " is not supported by the libseccomp nucleus is built with");
    return *lookup.arch;
  }

  std::vector<Arch> read_architectures(const Json& root) {
    std::vector<Arch> listed;
    const Json* list = field(root, "architectures");
    if (list != nullptr) {
      if (!list->is_array()) fail("architectures", "must be an array of SCMP_ARCH_* names, not " + describe(*list));
      for (std::size_t i = 0; i < list->size(); ++i)
        append_unique(listed, read_supported_arch((*list)[i], index_path("architectures", i)));
    }

    // Docker's archMap: the entry for the target architecture and its compat ABIs.
    std::vector<Arch> mapped;
    bool map_given = false;
    const Json* map = field(root, "archMap");
    if (map != nullptr) {
      if (!map->is_array())
        fail("archMap", "must be an array of {architecture, subArchitectures}, not " + describe(*map));
      map_given = !map->empty();
      for (std::size_t i = 0; i < map->size(); ++i) read_arch_map_entry((*map)[i], index_path("archMap", i), mapped);
    }

    if (!listed.empty() && map_given)
      fail("archMap", "both architectures and archMap are given; use one of them (Docker refuses this too)");
    if (!listed.empty()) return listed;
    if (map_given) return mapped.empty() ? std::vector<Arch>{target_} : mapped;
    // Plain OCI without architectures means the native one; a caller resolving for another
    // architecture gets that one, spelled out.
    if (context_.arch && *context_.arch != core::native_arch()) return {target_};
    return {};
  }

  void read_arch_map_entry(const Json& entry, const std::string& path, std::vector<Arch>& mapped) {
    if (!entry.is_object()) fail(path, "must be an object {architecture, subArchitectures}, not " + describe(entry));
    warn_unknown_keys(entry, path, arch_map_keys);
    const Json* main = field(entry, "architecture");
    std::string main_path = key_path(path, "architecture");
    if (main == nullptr) fail(main_path, "missing; an archMap entry names its SCMP_ARCH_* architecture");
    auto main_arch = read_oci_arch(*main, main_path);

    const Json* subs = field(entry, "subArchitectures");
    std::string subs_path = key_path(path, "subArchitectures");
    if (subs != nullptr && !subs->is_array())
      fail(subs_path, "must be an array of SCMP_ARCH_* names, not " + describe(*subs));
    bool selected = main_arch.arch && *main_arch.arch == target_;
    std::vector<Arch> sub_arches;
    for (std::size_t i = 0; subs != nullptr && i < subs->size(); ++i) {
      std::string sub_path = index_path(subs_path, i);
      // Architectures of entries for other machines only need to be spelt right: this build may
      // not filter them, and they do not apply here.
      if (selected) sub_arches.push_back(read_supported_arch((*subs)[i], sub_path));
      else read_oci_arch((*subs)[i], sub_path);
    }
    if (!selected) return;
    append_unique(mapped, *main_arch.arch);
    for (Arch a : sub_arches) append_unique(mapped, a);
  }

  std::vector<core::FilterFlag> read_flags(const Json& root) {
    std::vector<core::FilterFlag> flags;
    const Json* list = field(root, "flags");
    if (list == nullptr) return flags;
    if (!list->is_array()) fail("flags", "must be an array of SECCOMP_FILTER_FLAG_* names, not " + describe(*list));
    for (std::size_t i = 0; i < list->size(); ++i) {
      std::string path = index_path("flags", i);
      const std::string& name = read_string((*list)[i], path);
      auto flag = core::filter_flag_from_oci(name);
      if (!flag) {
        std::vector<std::string> names;
        for (auto f : all_flags) names.emplace_back(core::filter_flag_oci_name(f));
        fail(path, "unknown flag " + in_quotes(name) + " (expected one of " + core::join(names, ", ") + ")");
      }
      if (std::find(flags.begin(), flags.end(), *flag) == flags.end()) flags.push_back(*flag);
    }
    return flags;
  }

  void read_listener(const Json& root) {
    for (std::string_view key : {std::string_view("listenerPath"), std::string_view("listenerMetadata")}) {
      if (const Json* value = field(root, key)) {
        read_string(*value, key);
        warn(std::string(key), "not supported: nucleus does not forward SCMP_ACT_NOTIFY to a listener; ignored");
      }
    }
  }

  std::string read_comment(const Json& object, std::string_view parent) const {
    const Json* comment = field(object, "comment");
    if (comment == nullptr) return {};
    return read_string(*comment, key_path(parent, "comment"));
  }

  std::vector<Entry> read_entries(const Json& root) {
    std::vector<Entry> entries;
    const Json* list = field(root, "syscalls");
    if (list == nullptr) return entries;
    if (!list->is_array()) {
      attempt([&] { fail("syscalls", "must be an array of entries, not " + describe(*list)); });
      return entries;
    }
    for (std::size_t i = 0; i < list->size(); ++i) {
      attempt([&] {
        if (auto entry = read_entry((*list)[i], index_path("syscalls", i))) entries.push_back(std::move(*entry));
      });
    }
    return entries;
  }

  // The entry, or nothing when one of its parts is wrong (each wrong part is recorded).
  std::optional<Entry> read_entry(const Json& object, std::string path) {
    if (!object.is_object()) fail(path, "must be an object {names, action, ...}, not " + describe(object));
    warn_unknown_keys(object, path, entry_keys);
    Entry entry;
    entry.path = std::move(path);
    const std::size_t errors_before = errors_.size();
    attempt([&] { read_names(object, entry); });
    attempt([&] {
      if (field(object, "action") == nullptr)
        fail(key_path(entry.path, "action"), "missing; every entry needs an action, e.g. \"SCMP_ACT_ALLOW\"");
      entry.rule.action = read_action(object, entry.path, "action", "errnoRet");
    });
    if (const Json* args = field(object, "args")) {
      std::string args_path = key_path(entry.path, "args");
      attempt([&] {
        if (!args->is_array())
          fail(args_path, "must be an array of {index, value, valueTwo, op}, not " + describe(*args));
        for (std::size_t i = 0; i < args->size(); ++i)
          attempt([&] { entry.rule.args.push_back(read_arg((*args)[i], index_path(args_path, i))); });
      });
    }
    attempt([&] { entry.rule.comment = read_comment(object, entry.path); });
    std::optional<EntryFilter> includes;
    std::optional<EntryFilter> excludes;
    attempt([&] { includes = read_filter(object, entry.path, "includes"); });
    attempt([&] { excludes = read_filter(object, entry.path, "excludes"); });
    if (errors_.size() != errors_before) return std::nullopt;
    entry.applies = docker_.applies(includes, excludes);
    return entry;
  }

  void read_names(const Json& object, Entry& entry) {
    const Json* names = field(object, "names");
    const Json* name = field(object, "name");
    if (names != nullptr && name != nullptr)
      fail(entry.path, "both name and names are given; use names (Docker refuses this too)");
    if (names == nullptr && name == nullptr)
      fail(key_path(entry.path, "names"), "missing; every entry lists the syscalls it applies to");
    std::vector<std::pair<std::string, std::string>> found; // name, path
    if (name != nullptr) {
      std::string path = key_path(entry.path, "name");
      found.emplace_back(read_string(*name, path), path);
    } else {
      std::string path = key_path(entry.path, "names");
      if (!names->is_array()) fail(path, "must be an array of syscall names, not " + describe(*names));
      if (names->empty()) fail(path, "empty; an entry must name at least one syscall");
      bool all_strings = true;
      for (std::size_t i = 0; i < names->size(); ++i) {
        std::string name_path = index_path(path, i);
        all_strings &= attempt([&] { found.emplace_back(read_string((*names)[i], name_path), name_path); });
      }
      if (!all_strings) throw Abandoned{};
    }
    std::set<std::string> seen;
    bool empty_name = false;
    for (auto& [syscall, path] : found) {
      if (syscall.empty()) {
        empty_name = true;
        const auto& where = path; // clang 14 cannot capture a structured binding
        attempt([&] { fail(where, "empty syscall name"); });
        continue;
      }
      if (!seen.insert(syscall).second) {
        warn(path, in_quotes(syscall) + " is listed twice in this entry; the repeat is dropped");
        continue;
      }
      entry.rule.names.push_back(std::move(syscall));
      entry.name_paths.push_back(std::move(path));
    }
    if (empty_name) throw Abandoned{};
  }

  core::ArgCondition read_arg(const Json& object, const std::string& path) {
    if (!object.is_object()) fail(path, "must be an object {index, value, valueTwo, op}, not " + describe(object));
    warn_unknown_keys(object, path, arg_keys);
    constexpr auto any_value = std::numeric_limits<std::uint64_t>::max();
    auto required = [&](std::string_view key) -> const Json& {
      const Json* value = field(object, key);
      if (value == nullptr) fail(key_path(path, key), "missing (an argument condition needs index, value and op)");
      return *value;
    };
    core::ArgCondition cond;
    cond.index = static_cast<unsigned>(
        read_unsigned(required("index"), key_path(path, "index"), max_arg_index, "a syscall has six arguments"));
    cond.value = read_unsigned(required("value"), key_path(path, "value"), any_value);
    std::string op_path = key_path(path, "op");
    const std::string& op_name = read_string(required("op"), op_path);
    auto op = core::cmp_op_from_oci(op_name);
    if (!op) {
      std::vector<std::string> names;
      for (auto o : all_ops) names.emplace_back(core::cmp_op_oci_name(o));
      fail(op_path, "unknown operator " + in_quotes(op_name) + " (expected one of " + core::join(names, ", ") + ")");
    }
    cond.op = *op;
    // OCI's optional valueTwo defaults to 0; for SCMP_CMP_MASKED_EQ value is the mask and valueTwo
    // the expected result, as libseccomp takes them.
    if (const Json* two = field(object, "valueTwo"))
      cond.value_two = read_unsigned(*two, key_path(path, "valueTwo"), any_value);
    if (cond.op != core::CmpOp::masked_eq && cond.value_two != 0)
      warn(key_path(path, "valueTwo"), "ignored: only SCMP_CMP_MASKED_EQ uses valueTwo");
    if (cond.op == core::CmpOp::masked_eq && (cond.value_two & ~cond.value) != 0)
      warn(path, "never holds: valueTwo has bits that the mask (value) clears");
    return cond;
  }

  std::optional<EntryFilter> read_filter(const Json& entry, std::string_view entry_path, std::string_view key) {
    const Json* object = field(entry, key);
    if (object == nullptr) return std::nullopt;
    std::string path = key_path(entry_path, key);
    if (!object->is_object()) fail(path, "must be an object {caps, arches, minKernel}, not " + describe(*object));
    warn_unknown_keys(*object, path, filter_keys);
    EntryFilter filter;
    for (const auto& cap : read_string_list(field(*object, "caps"), key_path(path, "caps")))
      filter.caps.push_back(normalized_capability(cap));
    const Json* arches = field(*object, "arches");
    std::string arches_path = key_path(path, "arches");
    auto spellings = read_string_list(arches, arches_path);
    filter.has_arches = !spellings.empty();
    for (std::size_t i = 0; i < spellings.size(); ++i) {
      auto lookup = docker_arch(spellings[i]);
      if (lookup.arch) filter.arches.push_back(*lookup.arch);
      else if (!lookup.known)
        warn(index_path(arches_path, i), "unknown architecture " + in_quotes(spellings[i]) + "; it never matches");
    }
    if (const Json* min = field(*object, "minKernel")) {
      std::string min_path = key_path(path, "minKernel");
      const std::string& version = read_string(*min, min_path);
      if (!is_kernel_version(version))
        fail(min_path, "must be a kernel version such as \"4.8\", not " + describe(*min));
      filter.min_kernel = version;
    }
    return filter;
  }

  // A name libseccomp cannot place on any of the profile's architectures can neither allow nor
  // deny anything there, so it is left out, as runc, crun and podman do: Docker's and podman's
  // defaults list names of every architecture at once, and names newer than some libseccomp
  // versions. The names are reported together, one warning per kind (`validate --strict` fails
  // on them). In an entry that denies, the user is told that those syscalls get the default.
  void check_names(std::vector<Entry>& entries, const core::Policy& policy) {
    const auto arches = policy.effective_arches();
    std::vector<std::string> unknown; // "\"sysctl\" (syscalls[3].names[1])"
    std::vector<std::string> elsewhere;
    std::size_t unknown_denied = 0;
    for (auto& entry : entries) {
      if (!entry.applies) continue;
      bool denies = narrows_default(entry.rule.action, policy.default_action);
      std::vector<std::string> names;
      std::vector<std::string> paths;
      for (std::size_t i = 0; i < entry.rule.names.size(); ++i) {
        const std::string& name = entry.rule.names[i];
        const std::string& path = entry.name_paths[i];
        bool here = std::any_of(arches.begin(), arches.end(),
                                [&](Arch a) { return core::syscall_number(a, name).has_value(); });
        if (here) {
          names.push_back(name);
          paths.push_back(path);
          continue;
        }
        bool anywhere = std::any_of(core::known_arches().begin(), core::known_arches().end(),
                                    [&](Arch a) { return core::syscall_number(a, name).has_value(); });
        std::string where = path + (denies ? ", denied" : "");
        if (anywhere) {
          elsewhere.push_back(in_quotes(name) + " (" + where + ")");
        } else {
          auto closest = closest_names(name, arches);
          if (!closest.empty()) where += "; did you mean " + core::join(closest, ", ") + "?";
          unknown.push_back(in_quotes(name) + " (" + where + ")");
          unknown_denied += denies ? 1 : 0;
        }
      }
      entry.rule.names = std::move(names);
      entry.name_paths = std::move(paths);
    }
    auto denied_note = [&](std::size_t denied) {
      if (denied == 0) return std::string();
      return "; " + std::to_string(denied) +
             " of them in entries that deny, so those syscalls get the default action " +
             core::to_string(policy.default_action);
    };
    if (!unknown.empty())
      warn("syscalls", std::to_string(unknown.size()) + " syscall name(s) unknown to this libseccomp " +
                           core::libseccomp_version() + " (newer than it, or misspelt) left out: " +
                           core::join(unknown, ", ") + denied_note(unknown_denied));
    if (!elsewhere.empty())
      warn("syscalls", std::to_string(elsewhere.size()) + " syscall name(s) not on " + arch_list(arches) +
                           " (the profile's architectures, so they cannot be called there) left out: " +
                           core::join(elsewhere, ", "));
  }

  // Suggestions come from the profile's own architectures, whose tables cost a pass each; a
  // profile full of unknown names gets them for the first few only.
  std::vector<std::string> closest_names(std::string_view name, std::span<const Arch> arches) {
    constexpr std::size_t max_suggested_names = 16;
    if (suggested_names_ >= max_suggested_names) return {};
    ++suggested_names_;
    return core::closest_syscall_names(name, arches);
  }

  // The same syscall with the same conditions and two different actions: libseccomp keeps one of
  // them depending on the order, or refuses the second. Podman's own default does this (setns is
  // allowed in its main list and denied unless CAP_SYS_ADMIN), so the stricter action is kept, as
  // the kernel does when several filters disagree, and the user is told. Two actions equally
  // strict (two errnos) have no such order: an error.
  void check_conflicts(std::vector<Entry>& entries) {
    std::map<std::string, std::pair<std::size_t, std::size_t>> seen; // key -> (entry, name index)
    std::vector<std::pair<std::size_t, std::size_t>> dropped;
    std::vector<std::string> resolved;
    for (std::size_t e = 0; e < entries.size(); ++e) {
      const Entry& entry = entries[e];
      if (!entry.applies) continue;
      auto args = entry.rule.args;
      std::sort(args.begin(), args.end(), [](const auto& a, const auto& b) {
        return std::tie(a.index, a.op, a.value, a.value_two) < std::tie(b.index, b.op, b.value, b.value_two);
      });
      std::string conditions;
      for (const auto& c : args)
        conditions += "|" + std::to_string(c.index) + "," + std::to_string(static_cast<int>(c.op)) + "," +
                      std::to_string(c.value) + "," + std::to_string(c.value_two);
      for (std::size_t i = 0; i < entry.rule.names.size(); ++i) {
        auto [it, inserted] = seen.try_emplace(entry.rule.names[i] + conditions, e, i);
        if (inserted) continue;
        // Plain variables: clang 14 cannot capture a structured binding.
        const std::size_t first_entry = it->second.first;
        const std::size_t first_name = it->second.second;
        const Action& before = entries[first_entry].rule.action;
        const Action& here = entry.rule.action;
        if (before == here) continue;
        int a = core::strictness(before.kind);
        int b = core::strictness(here.kind);
        if (a == b) {
          attempt([&] {
            fail(entry.name_paths[i], in_quotes(entry.rule.names[i]) + " is also in " + entries[first_entry].path +
                                          " with the same conditions but action " + core::to_string(before) +
                                          ", here " + core::to_string(here) + "; keep one");
          });
          continue;
        }
        bool keep_here = b < a;
        resolved.push_back(in_quotes(entry.rule.names[i]) + " (" + entries[first_entry].name_paths[first_name] + " " +
                           core::to_string(before) + ", " + entry.name_paths[i] + " " + core::to_string(here) + ": " +
                           core::to_string(keep_here ? here : before) + " kept)");
        if (keep_here) {
          dropped.emplace_back(first_entry, first_name);
          it->second = {e, i};
        } else {
          dropped.emplace_back(e, i);
        }
      }
    }
    if (resolved.empty()) return;
    // Remove from the back so that the indices of the names still to remove stay valid.
    std::sort(dropped.begin(), dropped.end(), std::greater<>());
    for (auto [e, i] : dropped) {
      entries[e].rule.names.erase(entries[e].rule.names.begin() + static_cast<std::ptrdiff_t>(i));
      entries[e].name_paths.erase(entries[e].name_paths.begin() + static_cast<std::ptrdiff_t>(i));
    }
    warn("syscalls", std::to_string(resolved.size()) +
                         " syscall(s) listed with two actions under the same conditions; the stricter is kept, as "
                         "the kernel does for stacked filters: " +
                         core::join(resolved, ", "));
  }

  std::string source_;
  const ResolveContext& context_;
  DockerResolver docker_;
  Arch target_;
  std::size_t suggested_names_ = 0;
  mutable std::vector<Diagnostic> errors_;
  std::vector<Diagnostic> warnings_;
};

std::pair<std::size_t, std::size_t> line_and_column(std::string_view text, std::size_t byte) {
  // nlohmann counts the offending character as read: byte 1 is the first character.
  std::size_t offset = std::min(byte > 0 ? byte - 1 : 0, text.size());
  std::size_t line = 1;
  std::size_t line_start = 0;
  for (std::size_t i = 0; i < offset; ++i) {
    if (text[i] == '\n') {
      ++line;
      line_start = i + 1;
    }
  }
  return {line, offset - line_start + 1};
}

// nlohmann's message without its "[json.exception.parse_error.101] parse error at ...: " prefix.
std::string parser_detail(const std::string& what) {
  auto colon = what.find(": ");
  return colon == std::string::npos ? what : what.substr(colon + 2);
}

// Duplicate keys, found while parsing: nlohmann keeps the last value, other parsers the first, so
// such a profile means different things to different tools. Keeps the open containers' keys and
// indices (memory within the text's size, nesting bounded by the guard) and spells a JSON path
// only for a repeat, of which the first few are named.
class DuplicateKeyFinder {
public:
  bool operator()(int depth, Json::parse_event_t event, Json& parsed) {
    core::json_depth_ok<Json>(depth, event);
    switch (event) {
    case Json::parse_event_t::object_start:
    case Json::parse_event_t::array_start:
      frames_.push_back({event == Json::parse_event_t::array_start, 0, {}, {}});
      break;
    case Json::parse_event_t::key: {
      Frame& top = frames_.back();
      top.key = parsed.get<std::string>();
      if (top.keys.insert(top.key).second) break;
      if (++repeats_ <= max_named)
        duplicates_.push_back({path(), "the key is given twice in this object; JSON parsers differ in which one "
                                       "they keep, so keep one"});
      break;
    }
    case Json::parse_event_t::value:
      if (!frames_.empty() && frames_.back().array) ++frames_.back().index;
      break;
    case Json::parse_event_t::object_end:
    case Json::parse_event_t::array_end:
      frames_.pop_back();
      if (!frames_.empty() && frames_.back().array) ++frames_.back().index;
      break;
    }
    return true;
  }

  std::vector<Diagnostic> take() {
    if (repeats_ > max_named)
      duplicates_.push_back({"(top level)", std::to_string(repeats_ - max_named) +
                                                " more keys given twice in their objects (the first " +
                                                std::to_string(max_named) + " are named above)"});
    return std::move(duplicates_);
  }

private:
  static constexpr std::size_t max_named = 16;

  struct Frame {
    bool array;
    std::size_t index;
    std::string key; // in an object: the key being read
    std::set<std::string> keys;
  };

  // The path of the value being read: each open container's key (a long one cut short, so that
  // the message stays readable) or index.
  std::string path() const {
    constexpr std::size_t shown = 60;
    std::string out;
    for (const Frame& f : frames_) {
      if (f.array) out = index_path(out, f.index);
      else out = key_path(out, f.key.size() <= shown ? f.key : f.key.substr(0, shown) + "...");
    }
    return out;
  }

  std::vector<Frame> frames_;
  std::vector<Diagnostic> duplicates_;
  std::size_t repeats_ = 0;
};

} // namespace

LoadedProfile parse_profile(std::string_view json_text, std::string_view source_name, const ResolveContext& context) {
  Json root;
  // The parser copies its callback; the copy's findings come back through this one.
  auto finder = std::make_shared<DuplicateKeyFinder>();
  try {
    root = Json::parse(
        json_text,
        [finder](int depth, Json::parse_event_t event, Json& parsed) { return (*finder)(depth, event, parsed); },
        /*allow_exceptions=*/true);
  } catch (const Json::parse_error& e) {
    auto [line, column] = line_and_column(json_text, e.byte);
    throw core::Error(ErrorKind::invalid_input, std::string(source_name) + ": line " + std::to_string(line) +
                                                    ", column " + std::to_string(column) +
                                                    ": invalid JSON: " + parser_detail(e.what()));
  } catch (const core::JsonTooDeep& e) {
    throw core::Error(ErrorKind::invalid_input, std::string(source_name) + ": " + e.what(),
                      "a profile is a handful of levels deep (syscalls[].args[].value)");
  } catch (const Json::exception& e) {
    // A number too large for a double, and the like: no position is known.
    throw core::Error(ErrorKind::invalid_input,
                      std::string(source_name) + ": invalid JSON: " + parser_detail(e.what()));
  }
  return ProfileReader(source_name, context).read(root, finder->take());
}

LoadedProfile load_profile(const std::filesystem::path& path, const ResolveContext& context) {
  return parse_profile(core::read_file(path), path.string(), context);
}

} // namespace nucleus::profile
