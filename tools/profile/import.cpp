// nucleus-profile import: a Kubernetes SeccompProfile (Security Profiles Operator) back to OCI JSON.
#include "commands.hpp"

#include "cli.hpp"
#include "nucleus/profile/import.hpp"
#include "nucleus/profile/oci.hpp"
#include "nucleus/core/error.hpp"
#include "nucleus/core/io.hpp"

#include <iostream>
#include <iterator>
#include <memory>

namespace nucleus::profile_tool {

void register_import(CLI::App& app, Action& selected) {
  struct Options {
    std::string file;
    std::string output = "-";
    std::string name;
    bool list = false;
  };
  auto opt = std::make_shared<Options>();
  auto* cmd = app.add_subcommand("import", "read a Kubernetes SeccompProfile (YAML or JSON) into an OCI profile");
  cmd->footer(R"(Examples:
  nucleus-profile import app.yaml -o app.json                  # one SeccompProfile in the file
  nucleus-profile import cluster.yaml --list                   # the names of every SeccompProfile
  nucleus-profile import cluster.yaml --name my-app -o my-app.json
  kubectl get seccompprofile my-app -o yaml | nucleus-profile import - -o my-app.json

A file with several documents ('---') needs --name when it holds more than one SeccompProfile;
documents of other kinds are skipped. The profile is validated as 'validate' does, and written as
nucleus writes OCI JSON, so 'export --format k8s' followed by 'import' gives the profile back.
spec.baseProfileName is an error: only the operator can merge the base profile in.)");
  cmd->add_option("file", opt->file, "SeccompProfile YAML or JSON; - for standard input")->required();
  cmd->add_option("-o,--output", opt->output, "file to write; - for standard output")->capture_default_str();
  cmd->add_option("--name", opt->name, "the SeccompProfile to import (metadata.name), when the file holds several");
  cmd->add_flag("--list", opt->list, "list the SeccompProfile names in the file and stop");
  cmd->callback([opt, &selected] {
    selected = [opt] {
      std::string text =
          opt->file == "-" ? std::string(std::istreambuf_iterator<char>(std::cin), {}) : core::read_file(opt->file);
      auto profiles = profile::read_k8s_profiles(text, opt->file == "-" ? "(standard input)" : opt->file);
      if (opt->list) {
        for (const auto& p : profiles) std::cout << p.name << "\n";
        return 0;
      }
      std::string names;
      for (const auto& p : profiles) names += (names.empty() ? "" : ", ") + p.name;
      const profile::ImportedProfile* chosen = nullptr;
      if (!opt->name.empty()) {
        for (const auto& p : profiles)
          if (p.name == opt->name) chosen = &p;
        if (chosen == nullptr)
          throw core::Error(core::ErrorKind::invalid_input,
                            opt->file + ": no SeccompProfile named \"" + opt->name + "\" (it holds: " + names + ")");
      } else if (profiles.size() > 1) {
        throw core::Error(core::ErrorKind::usage,
                          opt->file + " holds " + std::to_string(profiles.size()) + " SeccompProfiles: " + names,
                          "pick one with --name NAME");
      } else {
        chosen = &profiles.front();
      }
      auto loaded = profile::parse_profile(chosen->oci_json, chosen->source);
      for (const auto& w : loaded.warnings) cli::warn(tool, chosen->source + ": spec." + w.path + ": " + w.message);
      core::write_file_atomic(opt->output, profile::to_oci_json(loaded.policy));
      return 0;
    };
  });
}

} // namespace nucleus::profile_tool
