// The subcommands of nucleus-profile. Each file in tools/profile/ registers one or a few of them
// on the app; the code that does the work lives in profilegen/.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <string_view>

namespace nucleus::profile_tool {

inline constexpr std::string_view tool = "nucleus-profile";

// A subcommand's action, run by main() inside the error guard; returns the exit code.
using Action = std::function<int()>;

// Each registers its subcommand(s) and sets `selected` when the subcommand is chosen.
void register_gen(CLI::App& app, Action& selected);
void register_validate(CLI::App& app, Action& selected);
void register_compile(CLI::App& app, Action& selected);
void register_merge(CLI::App& app, Action& selected);
void register_diff(CLI::App& app, Action& selected);
void register_check(CLI::App& app, Action& selected);
void register_explain(CLI::App& app, Action& selected);
void register_report(CLI::App& app, Action& selected);
void register_review(CLI::App& app, Action& selected);
void register_export(CLI::App& app, Action& selected);
void register_import(CLI::App& app, Action& selected);
void register_add(CLI::App& app, Action& selected);
void register_remove(CLI::App& app, Action& selected);

} // namespace nucleus::profile_tool
