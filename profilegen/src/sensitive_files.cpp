#include "sensitive_files.hpp"

#include <fnmatch.h>

#include <iterator>

namespace nucleus::profile::sensitive {
namespace {

constexpr std::string_view credential_list[] = {".ssh/id_*",
                                                ".ssh/*.pem",
                                                ".ssh/*.key",
                                                ".gnupg/private-keys-v1.d/**",
                                                ".gnupg/secring.gpg",
                                                ".aws/credentials",
                                                ".aws/sso/**",
                                                ".config/gcloud/**",
                                                ".azure/**",
                                                ".kube/config",
                                                ".docker/config.json",
                                                ".npmrc",
                                                ".pypirc",
                                                ".cargo/credentials",
                                                ".cargo/credentials.toml",
                                                ".gem/credentials",
                                                ".config/gh/hosts.yml",
                                                ".netrc",
                                                ".git-credentials",
                                                ".config/git/credentials",
                                                ".password-store/**",
                                                ".vault-token",
                                                ".mozilla/firefox/**",
                                                ".config/google-chrome/**",
                                                ".config/chromium/**",
                                                ".config/BraveSoftware/**",
                                                "/etc/shadow",
                                                "/etc/shadow-",
                                                "/etc/gshadow",
                                                "/etc/gshadow-",
                                                "/etc/ssh/ssh_host_*_key"};
constexpr std::string_view persistence_list[] = {".bashrc",
                                                 ".bash_profile",
                                                 ".bash_login",
                                                 ".bash_logout",
                                                 ".profile",
                                                 ".zshrc",
                                                 ".zshenv",
                                                 ".zprofile",
                                                 ".zlogin",
                                                 ".pam_environment",
                                                 ".xinitrc",
                                                 ".xprofile",
                                                 ".config/fish/config.fish",
                                                 ".config/fish/conf.d/**",
                                                 ".config/autostart/**",
                                                 ".config/systemd/user/**",
                                                 ".config/environment.d/**",
                                                 ".ssh/authorized_keys",
                                                 ".ssh/authorized_keys2",
                                                 ".ssh/rc",
                                                 ".git/hooks/**",
                                                 "/etc/profile",
                                                 "/etc/profile.d/**",
                                                 "/etc/bash.bashrc",
                                                 "/etc/environment",
                                                 "/etc/zsh/**",
                                                 "/etc/crontab",
                                                 "/etc/cron.*/**",
                                                 "/etc/anacrontab",
                                                 "/var/spool/cron/**",
                                                 "/etc/systemd/**",
                                                 "/lib/systemd/**",
                                                 "/usr/lib/systemd/**",
                                                 "/etc/xdg/autostart/**",
                                                 "/etc/init.d/**",
                                                 "/etc/rc.local",
                                                 "/etc/ld.so.preload",
                                                 "/etc/sudoers",
                                                 "/etc/sudoers.d/**",
                                                 "/etc/pam.d/**",
                                                 "/etc/udev/rules.d/**",
                                                 "/etc/passwd",
                                                 "/etc/shadow",
                                                 "/etc/group"};
bool glob(const std::string& pattern, const std::string& name) {
  return ::fnmatch(pattern.c_str(), name.c_str(), FNM_PERIOD) == 0 || (pattern == name);
}

} // namespace

std::span<const std::string_view> credentials() { return credential_list; }
std::span<const std::string_view> persistence() { return persistence_list; }

std::vector<std::string> components(std::string_view path) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= path.size()) {
    auto slash = path.find('/', start);
    if (slash == std::string_view::npos) slash = path.size();
    if (slash > start) out.emplace_back(path.substr(start, slash - start));
    start = slash + 1;
  }
  return out;
}

// Patterns: "/etc/shadow" (the whole path), ".ssh/id_*" (the path's last components, at any depth),
// "/etc/profile.d/**" or ".mozilla/firefox/**" (anything below, the prefix anchored or at any depth).
bool path_matches(std::string_view pattern, std::string_view path) {
  const bool anchored = pattern.starts_with('/');
  bool subtree = pattern.ends_with("/**");
  if (subtree) pattern.remove_suffix(3);
  const auto want = components(pattern);
  const auto have = components(path);
  if (want.empty() || have.size() < want.size() + (subtree ? 1 : 0)) return false;
  auto match_at = [&](std::size_t at) {
    for (std::size_t i = 0; i < want.size(); ++i)
      if (!glob(want[i], have[at + i])) return false;
    return true;
  };
  if (anchored) return (subtree || have.size() == want.size()) && match_at(0);
  if (!subtree) return match_at(have.size() - want.size());
  for (std::size_t at = 0; at + want.size() < have.size(); ++at)
    if (match_at(at)) return true;
  return false;
}

bool reaches(std::string_view granted, std::string_view pattern) {
  const bool subtree = pattern.ends_with("/**");
  if (subtree) pattern.remove_suffix(3);
  const auto want = components(pattern);
  const auto have = components(granted);
  for (std::size_t i = 0; i < have.size(); ++i) {
    if (i >= want.size()) return subtree; // inside the subtree; below a file there is nothing
    if (!glob(want[i], have[i])) return false;
  }
  return true; // the file itself, the subtree's top, or a folder on the way
}

} // namespace nucleus::profile::sensitive
