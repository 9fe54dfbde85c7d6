// Capability names come from libcap (cap_from_name), not from a table in this repository.
#include "nucleus/core/error.hpp"
#include "nucleus/sandbox/isolation.hpp"

#include <sys/capability.h>

#include <cctype>
#include <string>

namespace nucleus::sandbox {
using core::Error;
using core::ErrorKind;

int capability_from_name(std::string_view name) {
  std::string lower;
  for (char c : name) lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  if (lower.rfind("cap_", 0) != 0) lower = "cap_" + lower;
  cap_value_t value = 0;
  if (::cap_from_name(lower.c_str(), &value) != 0 || value < 0)
    throw Error(ErrorKind::usage, "--cap-add " + std::string(name) + ": unknown capability",
                "names look like CAP_NET_BIND_SERVICE (see capabilities(7))");
  return value;
}

} // namespace nucleus::sandbox
