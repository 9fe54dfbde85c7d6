// attack: what a hostile workload tries, one mode per attack class. The tests run each mode under
// nucleus-run and nucleus-trace, at every trust level, and check both that the attack failed and
// that nothing on the host changed. Each mode prints one line "attack MODE: blocked: WHY" or
// "attack MODE: succeeded: WHAT" and exits 0 when blocked, 1 when it succeeded, 2 on a usage error.
//
//   attack MODE [ARG...]
//
// The modes are listed in `modes` below, each with what it tries and its arguments.
#include "sample_io.hpp"

#include <cerrno>
#include <cstring>
#include <string>
#include <string_view>

namespace {

constexpr int exit_blocked = 0;
constexpr int exit_succeeded = 1;
constexpr int exit_usage = 2;

[[maybe_unused]] int blocked(std::string_view mode, const std::string& why) {
  samples::print_line("attack " + std::string(mode) + ": blocked: " + why);
  return exit_blocked;
}

int succeeded(std::string_view mode, const std::string& what) {
  samples::print_line("attack " + std::string(mode) + ": succeeded: " + what);
  return exit_succeeded;
}

[[maybe_unused]] std::string errno_text(int err) { return std::string(::strerrordesc_np(err) ? ::strerrordesc_np(err) : "?"); }

struct Mode {
  std::string_view name;
  std::string_view usage;
  int (*run)(std::string_view name, int argc, char** argv); // argv[0] is the first ARG
};

// Modes, in the order of the attack classes of the threat model (README).
constexpr Mode modes[] = {
    {"none", "does nothing (a control run)", [](std::string_view name, int, char**) { return succeeded(name, "nothing"); }},
};

} // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::string text = "usage: attack MODE [ARG...]\nmodes:\n";
    for (const auto& m : modes) text += "  " + std::string(m.name) + "  " + std::string(m.usage) + "\n";
    (void)!::write(STDERR_FILENO, text.data(), text.size());
    return exit_usage;
  }
  const std::string_view wanted = argv[1];
  for (const auto& m : modes)
    if (m.name == wanted) return m.run(m.name, argc - 2, argv + 2);
  std::string text = "attack: unknown mode " + std::string(wanted) + "\n";
  (void)!::write(STDERR_FILENO, text.data(), text.size());
  return exit_usage;
}
