// Reading JSON from outside (profiles, trace logs, an OCI runtime's state, gVisor's log): nesting is
// bounded while the parser runs, so that a file of brackets costs no more memory or time than its
// size. Use: Json::parse(text, json_depth_guard<Json>()), catching JsonTooDeep for the message.
#pragma once

#include <stdexcept>
#include <string>

namespace nucleus::core {

// Arrays and objects inside each other. A profile needs four (syscalls[].args[].value), a trace
// line three; anything near this is made to exhaust a reader, not to describe a program.
inline constexpr int max_json_depth = 64;

// Thrown by the guard from inside the parser, which stops there (what it built so far is freed).
class JsonTooDeep : public std::runtime_error {
public:
  JsonTooDeep()
      : std::runtime_error("arrays and objects nested deeper than " + std::to_string(max_json_depth) +
                           " levels; nothing nucleus reads needs that many, so the input is refused") {}
};

// A parser callback for nlohmann's parse(): keeps every value and throws JsonTooDeep when an
// array or object opens below max_json_depth levels of them. The parser passes the number of
// containers already open, so the top-level value is at depth 0.
template <class Json>
bool json_depth_ok(int depth, typename Json::parse_event_t event) {
  const bool opens = event == Json::parse_event_t::object_start || event == Json::parse_event_t::array_start;
  if (opens && depth >= max_json_depth) throw JsonTooDeep();
  return true;
}

template <class Json>
auto json_depth_guard() {
  return
      [](int depth, typename Json::parse_event_t event, Json& /*parsed*/) { return json_depth_ok<Json>(depth, event); };
}

} // namespace nucleus::core
