// What the OCI hook tests share: a runc bundle with the hooks and the annotation, the filter a
// container is traced under, and `runc create` waited for as a runtime's caller waits for it.
#pragma once

#include "e2e_support.hpp"

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

namespace nucleus::test {

// The hooks as a runtime's config.json carries them, and the directory the traces go to.
inline nlohmann::json oci_hooks(const std::filesystem::path& trace_dir, const std::vector<std::string>& extra = {}) {
  auto hook = [&](const std::string& stage) {
    std::vector<std::string> args{"nucleus-trace", "--oci-hook", stage, "--trace-dir", trace_dir.string()};
    args.insert(args.end(), extra.begin(), extra.end());
    return nlohmann::json::array({{{"path", tool("nucleus-trace").string()}, {"args", args}}});
  };
  return {{"prestart", hook("prestart")}, {"poststop", hook("poststop")}};
}

// The filter a container is traced under: it allows everything, and it is in place when the
// runtime makes its last calls before the exec, which the profile must allow too.
inline const nlohmann::json oci_allow_all = {{"defaultAction", "SCMP_ACT_ALLOW"},
                                             {"architectures", {"SCMP_ARCH_X86_64"}}};

// A bundle of `samples` (and `extra` binaries) with a writable /out from the host and a /tmp.
inline nlohmann::json oci_bundle_of(const std::filesystem::path& bundle, const std::vector<std::string>& samples,
                                    const std::vector<std::filesystem::path>& extra,
                                    const std::vector<std::string>& args, const std::filesystem::path& out) {
  std::vector<std::filesystem::path> binaries;
  for (const auto& s : samples) binaries.push_back(sample(s));
  binaries.insert(binaries.end(), extra.begin(), extra.end());
  auto config = make_runc_bundle(bundle, binaries, args);
  std::filesystem::create_directories(bundle / "rootfs/out");
  std::filesystem::create_directories(bundle / "rootfs/tmp");
  config["mounts"].push_back(
      {{"destination", "/out"}, {"type", "bind"}, {"source", out.string()}, {"options", {"rbind", "rw"}}});
  config["mounts"].push_back(
      {{"destination", "/tmp"}, {"type", "tmpfs"}, {"source", "tmpfs"}, {"options", {"nosuid", "nodev"}}});
  return config;
}

inline std::string oci_container_id(const std::string& what) {
  return "nucleus-hook-" + what + "-" + std::to_string(::getpid());
}

// `runc create`, done when runc is: the container's init inherits runc's standard output and
// error and holds them until it runs, so it gets files here, not the pipes run() reads to their
// end (which kept every create waiting out run()'s whole timeout). `err` holds runc's stderr.
inline RunResult runc_create(const std::string& state, const std::filesystem::path& bundle, const std::string& id) {
  const std::filesystem::path err = bundle.parent_path() / (id + ".create.err");
  auto r = run({"/bin/sh", "-c", "exec \"$@\" </dev/null >/dev/null 2>\"$0\"", err.string(), runc_path, "--root", state,
                "create", "--bundle", bundle.string(), id},
               {}, 60);
  r.err += read_text(err);
  std::filesystem::remove(err);
  return r;
}

class OciHookPrivileged : public ::testing::Test {
protected:
  void SetUp() override {
    NUCLEUS_REQUIRE_ROOT();
    if (!std::filesystem::exists(runc_path)) NUCLEUS_SKIP("runc is not installed (Debian package runc)");
    if (!std::filesystem::exists("/usr/bin/strace")) NUCLEUS_SKIP("strace is not installed (Debian package strace)");
    // The hook refuses a trace directory that users other than root could change on the way.
    ASSERT_EQ(::chown(dir_.path().c_str(), 0, 0), 0);
    traces_ = dir_ / "traces";
    std::filesystem::create_directories(traces_);
    std::filesystem::permissions(traces_, std::filesystem::perms::owner_all);
    out_ = dir_ / "out";
    std::filesystem::create_directories(out_);
  }

  // A bundle in dir_/`name` of `samples` running `args`, with the hooks and, unless empty, the
  // annotation asking for `trace`; under the allow-everything filter when `filtered`.
  nlohmann::json hooked_bundle(const std::string& name, const std::vector<std::string>& samples,
                               const std::vector<std::string>& args, const std::string& trace, bool filtered = true,
                               const std::vector<std::string>& hook_args = {}) {
    auto config = oci_bundle_of(dir_ / name, samples, {}, args, out_);
    config["hooks"] = oci_hooks(traces_, hook_args);
    if (!trace.empty()) config["annotations"] = {{"io.nucleus.trace", trace}};
    if (filtered) config["linux"]["seccomp"] = oci_allow_all;
    write_runc_config(dir_ / name, config);
    return config;
  }

  TempDir dir_;
  std::filesystem::path traces_;
  std::filesystem::path out_;
};

} // namespace nucleus::test
