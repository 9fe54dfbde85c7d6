// The Kubernetes Security Profiles Operator's SeccompProfile, read back into OCI JSON with
// yaml-cpp. Its spec is the OCI LinuxSeccomp object with the operator's own fields added, so the
// conversion is YAML -> JSON; parse_profile then validates the result like any other profile.
#include "nucleus/profile/import.hpp"

#include "nucleus/core/error.hpp"
#include "nucleus/core/json_limits.hpp"

#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include <charconv>

namespace nucleus::profile {
namespace {

// Keys sorted, not in the file's order: the result is read again by parse_profile, and an ordered
// object looks a key up by a linear search, which a mapping of many keys made quadratic.
using Json = nlohmann::json;
using core::ErrorKind;

// Aliases share nodes, so a small file can stand for an exponentially large tree ("billion
// laughs"); no real profile comes near this many values.
constexpr std::size_t max_values = 1'000'000;

[[noreturn]] void fail(const std::string& where, const std::string& problem) {
  throw core::Error(ErrorKind::invalid_input, where + ": " + problem);
}

std::string location(const std::string& source, const YAML::Mark& mark) {
  if (mark.is_null()) return source;
  return source + ": line " + std::to_string(mark.line + 1) + ", column " + std::to_string(mark.column + 1);
}

// A plain (unquoted) scalar is typed as YAML 1.2's core schema does it for the values a profile
// holds: integers (decimal, 0x, 0o), booleans and null; a quoted one is always a string.
Json scalar(const YAML::Node& node) {
  const std::string& text = node.Scalar();
  if (node.Tag() == "!") return text; // quoted
  if (text.empty() || text == "~" || text == "null" || text == "Null" || text == "NULL") return nullptr;
  if (text == "true" || text == "True" || text == "TRUE") return true;
  if (text == "false" || text == "False" || text == "FALSE") return false;
  std::string_view digits = text;
  bool negative = false;
  if (digits.front() == '-' || digits.front() == '+') {
    negative = digits.front() == '-';
    digits.remove_prefix(1);
  }
  int base = 10;
  if (digits.starts_with("0x")) base = 16;
  else if (digits.starts_with("0o")) base = 8;
  if (base != 10) digits.remove_prefix(2);
  if (!digits.empty()) {
    std::uint64_t value = 0;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value, base);
    if (ec == std::errc{} && end == digits.data() + digits.size()) {
      // A negative number stays one, so that the profile reader rejects it with its own message.
      if (negative) return value == 0 ? Json(0) : Json(-static_cast<double>(value));
      return value;
    }
  }
  return text;
}

Json to_json(const YAML::Node& node, const std::string& source, std::size_t& values, int depth = 0) {
  if (++values > max_values)
    fail(location(source, node.Mark()),
         "more than " + std::to_string(max_values) + " values (aliases expanded); refused");
  // The limit of the JSON readers, the profile's own among them, so that the YAML fails here with
  // its line rather than later as JSON.
  if ((node.IsSequence() || node.IsMap()) && depth >= core::max_json_depth)
    fail(location(source, node.Mark()),
         "sequences and mappings nested deeper than " + std::to_string(core::max_json_depth) +
             " levels; a profile needs a handful (spec.syscalls[].args[].value), so this is refused");
  switch (node.Type()) {
  case YAML::NodeType::Null:
  case YAML::NodeType::Undefined: return nullptr;
  case YAML::NodeType::Scalar: return scalar(node);
  case YAML::NodeType::Sequence: {
    Json out = Json::array();
    for (const auto& item : node) out.push_back(to_json(item, source, values, depth + 1));
    return out;
  }
  case YAML::NodeType::Map: {
    Json out = Json::object();
    for (const auto& item : node) {
      if (!item.first.IsScalar()) fail(location(source, item.first.Mark()), "a mapping key must be a plain string");
      const std::string& key = item.first.Scalar();
      if (out.contains(key))
        fail(location(source, item.first.Mark()), "duplicate key \"" + key + "\"; which one counts is undefined");
      out[key] = to_json(item.second, source, values, depth + 1);
    }
    return out;
  }
  }
  return nullptr;
}

std::string string_field(const Json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string{};
}

} // namespace

std::vector<ImportedProfile> read_k8s_profiles(std::string_view text, std::string_view source_name) {
  const std::string source(source_name);
  std::vector<YAML::Node> documents;
  try {
    documents = YAML::LoadAll(std::string(text));
  } catch (const YAML::Exception& e) {
    fail(location(source, e.mark), "invalid YAML: " + e.msg);
  }
  std::vector<ImportedProfile> out;
  std::size_t values = 0;
  for (std::size_t i = 0; i < documents.size(); ++i) {
    std::string where = source + ": document " + std::to_string(i + 1);
    if (documents[i].IsNull()) continue; // "---" at the end, or a comment-only document
    Json doc = to_json(documents[i], source, values);
    if (!doc.is_object()) fail(where, "a Kubernetes object is a mapping with apiVersion, kind, metadata and spec");
    std::string kind = string_field(doc, "kind");
    std::string api = string_field(doc, "apiVersion");
    if (kind != "SeccompProfile") continue;
    if (!api.starts_with("security-profiles-operator.x-k8s.io/"))
      fail(where, "apiVersion \"" + api +
                      "\" is not the Security Profiles Operator's (security-profiles-operator.x-k8s.io/...)");
    std::string name;
    if (auto meta = doc.find("metadata"); meta != doc.end() && meta->is_object()) name = string_field(*meta, "name");
    if (name.empty()) fail(where, "metadata.name: missing; every SeccompProfile has a name");
    where += " (" + name + ")";
    auto spec = doc.find("spec");
    if (spec == doc.end() || !spec->is_object()) fail(where, "spec: missing; the profile is the object under spec");
    if (auto base = spec->find("baseProfileName"); base != spec->end() && !base->is_null())
      fail(where, "spec.baseProfileName: the operator merges the base profile in, and nucleus cannot: import the "
                  "base profile too and combine them with nucleus-profile merge");
    // The operator's switch for not installing the profile says nothing about what it allows.
    spec->erase("disabled");
    out.push_back({name, where, spec->dump(2) + "\n"});
  }
  if (out.empty()) fail(source, "no SeccompProfile object (kind: SeccompProfile) in this file");
  return out;
}

} // namespace nucleus::profile
