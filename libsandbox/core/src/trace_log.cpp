// The trace log: written with ordered JSON objects so that keys appear in the documented order,
// read back line by line with every required key and its type checked, so that a damaged or
// foreign file fails with its name, the line and what is wrong instead of a bare JSON exception.
#include "nucleus/core/trace_log.hpp"

#include "nucleus/core/error.hpp"
#include "nucleus/core/json_limits.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <limits>

namespace nucleus::core {
namespace {

using nlohmann::json;

constexpr std::string_view trace_format_name = "nucleus-trace";

// Dumps without throwing: a path may hold bytes that are not UTF-8, which JSON cannot carry. In
// ASCII (the rest as JSON escapes), so a trace shown on a terminal (-o -) carries none of the workload's controls.
std::string dump_line(const nlohmann::ordered_json& object) {
  return object.dump(-1, ' ', true, nlohmann::ordered_json::error_handler_t::replace) + '\n';
}

// Where a problem is: every error names the file and the line.
struct LineRef {
  std::string_view source;
  std::size_t number;

  [[noreturn]] void fail(const std::string& problem) const {
    throw Error(ErrorKind::invalid_input, std::string(source) + ":" + std::to_string(number) + ": " + problem);
  }
};

// A short rendering of a wrong value for a message.
std::string describe_value(const json& value) {
  constexpr std::size_t max_length = 40;
  std::string text = value.dump(-1, ' ', false, json::error_handler_t::replace);
  if (text.size() > max_length) text = text.substr(0, max_length) + "...";
  return text;
}

// Reads the keys of one line; `kind` ("header", "syscall", "summary", or empty before the type is
// known) names the line in messages.
class Fields {
public:
  Fields(const json& object, std::string_view kind, const LineRef& at) : object_(object), kind_(kind), at_(at) {}

  const json* find(const char* key) const {
    auto it = object_.find(key);
    return it == object_.end() ? nullptr : &*it;
  }

  const json& require(const char* key) const {
    const json* value = find(key);
    if (value == nullptr) at_.fail("missing key \"" + std::string(key) + "\"" + in_line());
    return *value;
  }

  std::string string(const char* key) const { return as_string(key, require(key)); }

  std::string optional_string(const char* key) const {
    const json* value = find(key);
    return value == nullptr ? std::string{} : as_string(key, *value);
  }

  std::vector<std::string> strings(const char* key) const {
    const json& value = require(key);
    if (!value.is_array()) wrong_type(key, "an array of strings", value);
    std::vector<std::string> out;
    out.reserve(value.size());
    for (const auto& item : value) {
      if (!item.is_string()) wrong_type(key, "an array of strings", value);
      out.push_back(item.get<std::string>());
    }
    return out;
  }

  std::uint64_t unsigned_number(const char* key) const { return as_unsigned(key, require(key)); }

  bool optional_bool(const char* key) const {
    const json* value = find(key);
    if (value == nullptr) return false;
    if (!value->is_boolean()) wrong_type(key, "true or false", *value);
    return value->get<bool>();
  }

  std::uint64_t optional_unsigned_number(const char* key) const {
    const json* value = find(key);
    return value == nullptr ? 0 : as_unsigned(key, *value);
  }

  int int_number(const char* key) const {
    const json& value = require(key);
    if (value.is_number_unsigned()) {
      auto v = value.get<std::uint64_t>();
      if (v <= static_cast<std::uint64_t>(std::numeric_limits<int>::max())) return static_cast<int>(v);
    } else if (value.is_number_integer()) {
      auto v = value.get<std::int64_t>();
      if (v >= std::numeric_limits<int>::min() && v <= std::numeric_limits<int>::max()) return static_cast<int>(v);
    }
    wrong_type(key, "an integer", value);
  }

  [[noreturn]] void wrong_type(const char* key, std::string_view expected, const json& value) const {
    at_.fail("key \"" + std::string(key) + "\"" + in_line() + " must be " + std::string(expected) + ", not " +
             describe_value(value));
  }

private:
  std::string in_line() const { return kind_.empty() ? std::string{} : " in the " + std::string(kind_) + " line"; }

  std::string as_string(const char* key, const json& value) const {
    if (!value.is_string()) wrong_type(key, "a string", value);
    return value.get<std::string>();
  }

  std::uint64_t as_unsigned(const char* key, const json& value) const {
    if (!value.is_number_unsigned()) wrong_type(key, "an unsigned integer", value);
    return value.get<std::uint64_t>();
  }

  const json& object_;
  std::string_view kind_;
  const LineRef& at_;
};

// Format first: a file of another format need not have our version key.
TraceHeader read_header(const Fields& fields, const LineRef& at) {
  const std::string format = fields.string("format");
  if (format != trace_format_name) at.fail("not a nucleus trace: format is \"" + format + "\"");
  const json& version = fields.require("version");
  if (!version.is_number_integer()) fields.wrong_type("version", "an integer", version);
  if (version.is_number_unsigned() && version.get<std::uint64_t>() > static_cast<std::uint64_t>(trace_format_version))
    at.fail("trace format version " + version.dump() + " is newer than this nucleus (" +
            std::to_string(trace_format_version) + "): upgrade nucleus");
  if (version.get<std::int64_t>() < 1) at.fail("trace format version " + version.dump() + " is not a valid version");

  TraceHeader header;
  header.command = fields.strings("command");
  header.source = fields.string("source");
  header.kernel = fields.string("kernel");
  header.started_at = fields.string("started_at");
  header.baseline = fields.optional_string("baseline");
  header.runtime = fields.optional_string("runtime");
  header.target = fields.optional_string("target");
  if (fields.find("warnings")) header.warnings = fields.strings("warnings");
  if (const json* c = fields.find("container")) {
    if (!c->is_boolean()) fields.wrong_type("container", "true or false", *c);
    header.container = c->get<bool>();
  }
  header.arguments = fields.optional_bool("arguments");
  header.behaviour = fields.optional_bool("behaviour");
  if (fields.find("workspace")) header.workspace = fields.strings("workspace");
  return header;
}

std::vector<TraceArgValues> read_arg_values(const Fields& fields, const json& args, const LineRef& at) {
  constexpr std::string_view expected = "an array of {\"index\": 0..5, \"values\": [unsigned integers]}";
  if (!args.is_array()) fields.wrong_type("args", expected, args);
  std::vector<TraceArgValues> out;
  for (const auto& item : args) {
    if (!item.is_object()) fields.wrong_type("args", expected, args);
    const Fields arg(item, "syscall", at);
    TraceArgValues values;
    const std::uint64_t index = arg.unsigned_number("index");
    if (index > 5) arg.wrong_type("index", "an argument index 0..5", item.at("index"));
    values.index = static_cast<int>(index);
    const json& list = arg.require("values");
    if (!list.is_array()) arg.wrong_type("values", "an array of unsigned integers", list);
    for (const auto& v : list) {
      if (!v.is_number_unsigned()) arg.wrong_type("values", "an array of unsigned integers", list);
      values.values.push_back(v.get<std::uint64_t>());
    }
    std::sort(values.values.begin(), values.values.end());
    values.values.erase(std::unique(values.values.begin(), values.values.end()), values.values.end());
    if (const json* overflow = arg.find("overflow")) {
      if (!overflow->is_boolean()) arg.wrong_type("overflow", "true or false", *overflow);
      values.overflow = overflow->get<bool>();
    }
    for (const auto& seen : out)
      if (seen.index == values.index) at.fail("argument " + std::to_string(index) + " is listed twice in \"args\"");
    out.push_back(std::move(values));
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.index < b.index; });
  return out;
}

TraceSyscall read_syscall(const Fields& fields, const LineRef& at) {
  TraceSyscall entry;
  const std::string arch_name = fields.string("arch");
  auto arch = arch_from_name(arch_name);
  if (!arch) at.fail("unknown architecture \"" + arch_name + "\"");
  entry.arch = *arch;
  entry.nr = fields.int_number("nr");
  if (entry.nr < 0) fields.wrong_type("nr", "a syscall number (0 or more)", fields.require("nr"));
  entry.name = fields.string("name");
  entry.count = fields.unsigned_number("count");
  entry.exe = fields.string("exe");
  if (const json* args = fields.find("args")) entry.args = read_arg_values(fields, *args, at);
  return entry;
}

TraceSummary read_summary(const Fields& fields) {
  TraceSummary summary;
  summary.events = fields.unsigned_number("events");
  summary.distinct = fields.unsigned_number("distinct");
  summary.lost = fields.unsigned_number("lost");
  summary.exit_code = fields.int_number("exit_code");
  summary.duration_ms = fields.unsigned_number("duration_ms");
  summary.unparsed = fields.optional_unsigned_number("unparsed"); // later than the first writers
  summary.loss = fields.optional_string("loss");
  summary.behaviour_dropped = fields.optional_unsigned_number("behaviour_dropped");
  return summary;
}

Outcome read_outcome(const Fields& fields) {
  const json* value = fields.find("result");
  if (value == nullptr) return Outcome::unknown;
  const std::optional<Outcome> outcome =
      value->is_string() ? outcome_from_name(value->get<std::string>()) : std::nullopt;
  if (!outcome) fields.wrong_type("result", "\"ok\" or \"failed\"", *value);
  return *outcome;
}

TraceExec read_exec(const Fields& fields) {
  TraceExec exec;
  exec.exe = fields.string("exe");
  exec.path = fields.string("path");
  exec.argv = fields.strings("argv");
  exec.argv_truncated = fields.optional_bool("argv_truncated");
  exec.result = read_outcome(fields);
  exec.count = fields.unsigned_number("count");
  return exec;
}

TraceFile read_file(const Fields& fields) {
  TraceFile file;
  file.exe = fields.string("exe");
  file.syscall = fields.string("syscall");
  file.path = fields.string("path");
  for (const auto& name : fields.strings("access")) {
    const std::optional<FileAccess> access = file_access_from_name(name);
    if (!access) fields.wrong_type("access", "a list of file accesses (read, write, create, ...)", json(name));
    file.access |= static_cast<FileAccessSet>(*access);
  }
  file.target = fields.optional_string("target");
  file.result = read_outcome(fields);
  file.count = fields.unsigned_number("count");
  if (fields.find("mode")) {
    const std::uint64_t mode = fields.unsigned_number("mode");
    if (mode > 07777) fields.wrong_type("mode", "a file mode 0..07777", fields.require("mode"));
    file.mode = static_cast<int>(mode);
  }
  return file;
}

TraceNet read_net(const Fields& fields) {
  TraceNet net;
  net.exe = fields.string("exe");
  net.syscall = fields.string("syscall");
  net.family = fields.string("family");
  net.socktype = fields.optional_string("socktype");
  net.address = fields.optional_string("address");
  if (fields.find("port")) {
    const std::uint64_t port = fields.unsigned_number("port");
    if (port > 65535) fields.wrong_type("port", "a port 0..65535", fields.require("port"));
    net.port = static_cast<int>(port);
  }
  net.result = read_outcome(fields);
  net.count = fields.unsigned_number("count");
  return net;
}

bool is_blank(std::string_view line) { return line.find_first_not_of(" \t\r") == std::string_view::npos; }

// Calls `each(line, number)` for every line, numbered from 1, without its "\r\n" or "\n".
template <class Each>
void for_each_line(std::string_view text, Each&& each) {
  std::size_t number = 0;
  while (!text.empty()) {
    ++number;
    const std::size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    if (line.ends_with('\r')) line.remove_suffix(1);
    each(line, number);
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
}

// "invalid JSON at column 19: syntax error ...": nlohmann's "[json.exception.parse_error.101] parse
// error at line 1, " is noise for a user, and the line is already in our message.
std::string json_problem(const json::exception& e) {
  std::string_view what = e.what();
  if (auto bracket = what.find("] "); what.starts_with("[json.exception") && bracket != std::string_view::npos)
    what.remove_prefix(bracket + 2);
  constexpr std::string_view position = "parse error at line 1, ";
  if (what.starts_with(position)) return "invalid JSON at " + std::string(what.substr(position.size()));
  return "invalid JSON: " + std::string(what);
}

void put_result(nlohmann::ordered_json& line, Outcome result) {
  if (result != Outcome::unknown) line["result"] = outcome_name(result);
}

// The "exec", "file" and "net" lines, after the syscall lines.
void write_behaviour(const Trace& trace, std::string& out) {
  using ordered = nlohmann::ordered_json;
  for (const auto& e : trace.execs) {
    ordered line{{"type", "exec"}, {"exe", e.exe}, {"path", e.path}, {"argv", e.argv}};
    if (e.argv_truncated) line["argv_truncated"] = true;
    put_result(line, e.result);
    line["count"] = e.count;
    out += dump_line(line);
  }
  for (const auto& f : trace.files) {
    ordered line{{"type", "file"},
                 {"exe", f.exe},
                 {"syscall", f.syscall},
                 {"path", f.path},
                 {"access", file_access_names(f.access)}};
    if (!f.target.empty()) line["target"] = f.target;
    put_result(line, f.result);
    line["count"] = f.count;
    if (f.mode >= 0) line["mode"] = f.mode;
    out += dump_line(line);
  }
  for (const auto& n : trace.nets) {
    ordered line{{"type", "net"}, {"exe", n.exe}, {"syscall", n.syscall}, {"family", n.family}};
    if (!n.socktype.empty()) line["socktype"] = n.socktype;
    if (!n.address.empty()) line["address"] = n.address;
    if (n.port >= 0) line["port"] = n.port;
    put_result(line, n.result);
    line["count"] = n.count;
    out += dump_line(line);
  }
}

} // namespace

Trace read_trace(std::string_view text, std::string_view source_name) {
  Trace trace;
  bool have_header = false;
  for_each_line(text, [&](std::string_view line, std::size_t number) {
    if (is_blank(line)) return;
    const LineRef at{source_name, number};
    json object;
    try {
      object = json::parse(line.begin(), line.end(), json_depth_guard<json>());
    } catch (const JsonTooDeep& e) {
      at.fail(e.what());
    } catch (const json::exception& e) { // parse_error, and out_of_range for a number like 1e999
      at.fail(json_problem(e));
    }
    if (!object.is_object()) at.fail("expected a JSON object, not " + describe_value(object));
    const Fields fields(object, "", at);
    const std::string type = fields.string("type");
    if (type == "header") {
      if (have_header) at.fail("a second header line: a trace holds one run");
      trace.header = read_header(Fields(object, type, at), at);
      have_header = true;
    } else if (type == "syscall") {
      if (!have_header) at.fail("a syscall line before the header line");
      trace.syscalls.push_back(read_syscall(Fields(object, type, at), at));
    } else if (type == "exec" || type == "file" || type == "net") {
      if (!have_header) at.fail("a " + type + " line before the header line");
      const Fields record(object, type, at);
      if (type == "exec") trace.execs.push_back(read_exec(record));
      if (type == "file") trace.files.push_back(read_file(record));
      if (type == "net") trace.nets.push_back(read_net(record));
    } else if (type == "summary") {
      if (!have_header) at.fail("a summary line before the header line");
      if (trace.summary) at.fail("a second summary line: a trace holds one run");
      trace.summary = read_summary(Fields(object, type, at));
    }
    // Other types are for newer readers: ignored, like unknown keys.
  });
  if (!have_header) LineRef{source_name, 1}.fail("no header line: not a nucleus trace");
  return trace;
}

std::string write_trace(const Trace& trace) {
  using ordered = nlohmann::ordered_json;
  std::string out;
  const TraceHeader& h = trace.header;
  ordered header = {{"type", "header"},          {"format", trace_format_name}, {"version", trace_format_version},
                    {"command", h.command},      {"source", h.source},          {"kernel", h.kernel},
                    {"started_at", h.started_at}};
  if (!h.baseline.empty()) header["baseline"] = h.baseline;
  if (!h.runtime.empty()) header["runtime"] = h.runtime;
  if (!h.target.empty()) header["target"] = h.target;
  if (!h.warnings.empty()) header["warnings"] = h.warnings;
  if (h.container) header["container"] = true;
  if (h.arguments) header["arguments"] = true;
  if (h.behaviour) header["behaviour"] = true;
  if (!h.workspace.empty()) header["workspace"] = h.workspace;
  out += dump_line(header);
  for (const auto& s : trace.syscalls) {
    ordered line{{"type", "syscall"}, {"arch", arch_name(s.arch)}, {"nr", s.nr},
                 {"name", s.name},    {"count", s.count},          {"exe", s.exe}};
    if (!s.args.empty()) {
      ordered args = ordered::array();
      for (const auto& a : s.args) {
        ordered arg{{"index", a.index}, {"values", a.values}};
        if (a.overflow) arg["overflow"] = true;
        args.push_back(std::move(arg));
      }
      line["args"] = std::move(args);
    }
    out += dump_line(line);
  }
  write_behaviour(trace, out);
  if (const auto& s = trace.summary) {
    ordered summary{{"type", "summary"},      {"events", s->events},       {"distinct", s->distinct},
                    {"lost", s->lost},        {"exit_code", s->exit_code}, {"duration_ms", s->duration_ms},
                    {"unparsed", s->unparsed}};
    if (!s->loss.empty()) summary["loss"] = s->loss;
    if (s->behaviour_dropped != 0) summary["behaviour_dropped"] = s->behaviour_dropped;
    out += dump_line(summary);
  }
  return out;
}

bool is_trace_log(std::string_view text) {
  // Raw audit text never starts with "{": anything that does is read as a trace, so that a damaged
  // trace gets read_trace's precise message rather than being taken for audit records.
  const std::size_t start = text.find_first_not_of(" \t\r\n");
  return start != std::string_view::npos && text[start] == '{';
}

} // namespace nucleus::core
