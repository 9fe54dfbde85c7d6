// The policy's review and editing: check's findings (credentials high, HOME, system folders,
// start-up files, endpoints), add/remove, merge, diff with a policy and with traces, endpoints
// parsed and refused, and a policy told from a profile or a trace.
#include "nucleus/profile/policy_review.hpp"

#include "nucleus/profile/policy_gen.hpp"
#include "nucleus/profile/report.hpp"
#include "nucleus/core/error.hpp"
#include "nucleus/core/strings.hpp"

#include <gtest/gtest.h>

#include <algorithm>

using namespace nucleus;
using core::PathAccess;
using core::Protocol;

namespace {

constexpr core::PathAccessSet r = static_cast<core::PathAccessSet>(PathAccess::read);
constexpr core::PathAccessSet w = static_cast<core::PathAccessSet>(PathAccess::write);
constexpr core::PathAccessSet x = static_cast<core::PathAccessSet>(PathAccess::execute);
constexpr core::PathAccessSet l = static_cast<core::PathAccessSet>(PathAccess::list);

core::AccessPolicy with_path(std::string path, core::PathAccessSet access) {
  core::AccessPolicy p;
  p.files.push_back({std::move(path), access, ""});
  return p;
}

// The (severity, id) of each finding.
std::vector<std::string> findings(const core::AccessPolicy& p) {
  std::vector<std::string> out;
  for (const auto& f : profile::check_access_policy(p, {{"/home/u"}}).findings)
    out.push_back(std::string(profile::severity_name(f.severity)) + " " + f.id);
  return out;
}

using Lines = std::vector<std::string>;

} // namespace

TEST(PolicyCheck, ACredentialReadIsHigh) {
  EXPECT_EQ(findings(with_path("/home/u/.ssh/id_ed25519", r)), Lines{"high policy-credentials"});
  EXPECT_EQ(profile::check_exit_code(profile::check_access_policy(with_path("/home/u/.ssh/id_ed25519", r)),
                                     profile::Severity::low),
            5);
  EXPECT_EQ(findings(with_path("/home/u/.ssh", r)), Lines{"high policy-credentials"});
  EXPECT_EQ(findings(with_path("/home/v/.aws/credentials", r)), Lines{"high policy-credentials"});
  EXPECT_EQ(findings(with_path("/etc/shadow", r)), Lines{"high policy-credentials"});
  EXPECT_TRUE(findings(with_path("/home/u/.ssh/id_ed25519.pub", r)).empty());
  EXPECT_TRUE(findings(with_path("/home/u/.ssh/known_hosts", r)).empty());
  EXPECT_TRUE(findings(with_path("/home/u/proj", r | w)).empty());
}

// check judges the files review judges (one list): browser profiles, git's credential store, a
// folder on the way to a key; and the start-up files review names, sudoers and PAM among them.
TEST(PolicyCheck, NamesTheFilesTheReviewNames) {
  EXPECT_EQ(findings(with_path("/home/u/.mozilla/firefox", r)), Lines{"high policy-credentials"});
  EXPECT_EQ(findings(with_path("/home/u/.mozilla", r)), Lines{"high policy-credentials"});
  EXPECT_EQ(findings(with_path("/home/u/.config/git/credentials", r)), Lines{"high policy-credentials"});
  EXPECT_EQ(findings(with_path("/home/u/.ssh/deploy.pem", r)), Lines{"high policy-credentials"});
  EXPECT_EQ(findings(with_path("/etc/ssh/ssh_host_ed25519_key", r)), Lines{"high policy-credentials"});
  EXPECT_TRUE(findings(with_path("/etc/ssh/ssh_host_ed25519_key.pub", r)).empty());
  EXPECT_TRUE(findings(with_path("/home/u/.aws/config", r)).empty()); // settings, not the credentials file
  EXPECT_TRUE(findings(with_path("/home/u/.mozilla-notes", r)).empty());
  EXPECT_EQ(findings(with_path("/home/u/.config/systemd/user", w)), Lines{"high policy-startup-write"});
  EXPECT_EQ(findings(with_path("/home/u/.config/fish/config.fish", w)), Lines{"high policy-startup-write"});
  EXPECT_EQ(findings(with_path("/home/u/.zlogin", w)), Lines{"high policy-startup-write"});
  EXPECT_TRUE(findings(with_path("/home/u/.config/fish/functions", w)).empty());
}

TEST(PolicyCheck, HomeWideAccessIsHighListingLow) {
  EXPECT_EQ(findings(with_path("/home/u", r)), (Lines{"high policy-home-wide", "high policy-credentials"}));
  EXPECT_EQ(findings(with_path("/", r)), (Lines{"high policy-home-wide", "high policy-credentials"}));
  EXPECT_EQ(findings(with_path("/home/u", l)), Lines{"low policy-home-listed"});
}

TEST(PolicyCheck, ChangesInSystemFoldersAndStartUpFilesAreHigh) {
  EXPECT_EQ(findings(with_path("/usr/lib/libc.so.6", w)), Lines{"high policy-write-system"});
  EXPECT_EQ(findings(with_path("/etc", w)), (Lines{"high policy-write-system", "high policy-startup-write"}));
  EXPECT_TRUE(findings(with_path("/usr", r | x)).empty());
  EXPECT_EQ(findings(with_path("/home/u/.bashrc", w)), Lines{"high policy-startup-write"});
  EXPECT_EQ(findings(with_path("/home/u/.ssh/authorized_keys", w)), Lines{"high policy-startup-write"});
}

TEST(PolicyCheck, EndpointsBeyondLoopback) {
  core::AccessPolicy p;
  p.network.connect = {{Protocol::tcp, "127.0.0.1", 8080}, {Protocol::tcp, "::1", 8080}};
  p.network.bind = {{Protocol::tcp, "127.0.0.1", 9000}};
  EXPECT_TRUE(findings(p).empty());
  auto one = [](core::Endpoint e, bool connect) {
    core::AccessPolicy q;
    (connect ? q.network.connect : q.network.bind).push_back(std::move(e));
    return findings(q);
  };
  EXPECT_EQ(one({Protocol::tcp, "203.0.113.5", 443}, true), Lines{"medium policy-network-public"});
  EXPECT_EQ(one({Protocol::tcp, "", 443}, true), Lines{"high policy-network-any"});
  EXPECT_EQ(one({Protocol::tcp, "10.1.2.3", 5432}, true), Lines{"medium policy-network-private"});
  EXPECT_EQ(one({Protocol::tcp, "169.254.169.254", 80}, true), Lines{"high policy-cloud-metadata"});
  EXPECT_EQ(one({Protocol::tcp, "", 8080}, false), Lines{"medium policy-network-listen"});
  core::AccessPolicy engine;
  engine.network.unix_paths = {"/run/docker.sock"};
  EXPECT_EQ(findings(engine), Lines{"critical policy-container-socket"});
}

TEST(PolicyEndpoint, ParsesTheDocumentedForms) {
  EXPECT_EQ(profile::parse_endpoint("tcp:127.0.0.1:8080"), (core::Endpoint{Protocol::tcp, "127.0.0.1", 8080}));
  EXPECT_EQ(profile::parse_endpoint("udp:[::1]:53"), (core::Endpoint{Protocol::udp, "::1", 53}));
  EXPECT_EQ(profile::parse_endpoint("tcp:8080"), (core::Endpoint{Protocol::tcp, "", 8080}));
  EXPECT_EQ(profile::parse_endpoint("8080"), (core::Endpoint{Protocol::tcp, "", 8080}));
  for (const char* bad :
       {"", "tcp:", "tcp:65536", "tcp:1.2.3.4:x", "udp:::1:53", "tcp::80", "tcp:[::1]80", "sctp:1:2"}) {
    try {
      profile::parse_endpoint(bad);
      ADD_FAILURE() << bad << " accepted";
    } catch (const core::Error& e) {
      EXPECT_EQ(e.kind(), core::ErrorKind::usage) << bad;
    }
  }
  EXPECT_EQ(profile::endpoint_text({Protocol::udp, "::1", 53}), "udp [::1]:53");
  EXPECT_EQ(profile::parse_path_access("read,write"), r | w);
  EXPECT_THROW(profile::parse_path_access("read,fly"), core::Error);
}

TEST(PolicyEdit, AddAndRemovePathsAndEndpoints) {
  core::AccessPolicy p = with_path("/srv/data", r);
  std::vector<std::string> changed, unchanged;
  profile::PolicyEdit add;
  add.paths = {{"/srv/data", r | w, ""}, {"/srv/logs/", r, "for the logs"}, {"/srv/data", r, ""}};
  add.connect = {profile::parse_endpoint("tcp:127.0.0.1:8080")};
  add.bind = {profile::parse_endpoint("tcp:8080")};
  add.unix_paths = {"/run/app.sock"};
  p = profile::add_to_policy(p, add, changed, unchanged);
  EXPECT_EQ(core::access_for(p, "/srv/data/x"), r | w);
  ASSERT_EQ(p.files.size(), 2u);
  EXPECT_EQ(p.files[1].path, "/srv/logs");
  EXPECT_EQ(p.files[1].reason, "for the logs");
  EXPECT_EQ(unchanged, Lines{"/srv/data read"});
  EXPECT_EQ(p.network.connect.size(), 1u);

  profile::PolicyEdit less;
  less.paths = {{"/srv/data", w, ""}, {"/srv/logs", 0, ""}};
  less.connect = add.connect;
  changed.clear();
  p = profile::remove_from_policy(p, less, changed);
  EXPECT_EQ(core::access_for(p, "/srv/data/x"), r);
  EXPECT_EQ(core::access_for(p, "/srv/logs/x"), 0);
  EXPECT_TRUE(p.network.connect.empty());
  EXPECT_EQ(changed, (Lines{"/srv/data write", "/srv/logs", "connect tcp 127.0.0.1:8080"}));

  profile::PolicyEdit typo;
  typo.paths = {{"/srv/dta", 0, ""}};
  EXPECT_THROW(profile::remove_from_policy(p, typo, changed), core::Error);
  typo.paths = {{"relative", r, ""}};
  EXPECT_THROW(profile::add_to_policy(p, typo, changed, unchanged), core::Error);
}

TEST(PolicyMerge, UnionOfPathsAndEndpoints) {
  auto a = with_path("/srv", r);
  a.files[0].reason = "from a";
  a.network.connect = {{Protocol::tcp, "127.0.0.1", 80}};
  auto b = with_path("/srv", w);
  b.files[0].reason = "from b";
  b.files.push_back({"/opt", x, ""});
  b.network.connect = {{Protocol::tcp, "127.0.0.1", 80}, {Protocol::udp, "::1", 53}};
  const auto m = profile::merge_access_policies({a, b});
  ASSERT_EQ(m.files.size(), 2u);
  EXPECT_EQ(m.files[1].access, r | w);
  EXPECT_EQ(m.files[1].reason, "from a; from b");
  EXPECT_EQ(m.network.connect.size(), 2u);
  EXPECT_TRUE(profile::diff_access_policies(m, profile::merge_access_policies({m, a})).same());
}

TEST(PolicyDiff, TwoPolicies) {
  auto a = with_path("/srv", r);
  auto b = with_path("/srv", r | w);
  b.files.push_back({"/opt", x, ""});
  b.network.bind = {{Protocol::tcp, "", 8080}};
  const auto d = profile::diff_access_policies(a, b);
  EXPECT_EQ(d.added, (Lines{"/opt execute", "bind tcp *:8080"}));
  EXPECT_EQ(d.changed, Lines{"/srv read -> read,write"});
  EXPECT_TRUE(d.removed.empty());
  EXPECT_TRUE(profile::diff_access_policies(a, a).same());
}

TEST(PolicyDiff, WhatATraceDidBeyondThePolicy) {
  core::Trace t;
  t.header.behaviour = true;
  t.header.workspace = {"/home/u/proj"};
  t.files.push_back({"/usr/bin/app", "openat", "/home/u/proj/a",
                     static_cast<core::FileAccessSet>(core::FileAccess::read), "", core::Outcome::ok, 1});
  t.nets.push_back({"/usr/bin/app", "connect", "inet", "stream", "127.0.0.1", 8080, core::Outcome::ok, 1});
  const auto generated = profile::generate_access_policy({t}).policy;
  EXPECT_TRUE(profile::diff_access_policy_trace(generated, {t}, "app.policy.json").same());

  t.files.push_back({"/usr/bin/app", "openat", "/home/u/.ssh/id_ed25519",
                     static_cast<core::FileAccessSet>(core::FileAccess::read), "", core::Outcome::ok, 1});
  t.files.push_back({"/usr/bin/app", "openat", "/etc/shadow", static_cast<core::FileAccessSet>(core::FileAccess::read),
                     "", core::Outcome::failed, 1});
  t.nets.push_back({"/usr/bin/app", "connect", "inet", "stream", "203.0.113.5", 443, core::Outcome::ok, 1});
  const auto d = profile::diff_access_policy_trace(generated, {t}, "app.policy.json");
  EXPECT_EQ(d.denied, (Lines{"connect tcp 203.0.113.5:443", "read /home/u/.ssh/id_ed25519 by /usr/bin/app (openat)"}));
  EXPECT_EQ(d.commands, (Lines{"nucleus-profile add app.policy.json --connect tcp:203.0.113.5:443",
                               "nucleus-profile add app.policy.json --path /home/u/.ssh/id_ed25519 --access read"}));
}

TEST(PolicyText, ToldFromProfilesAndTraces) {
  EXPECT_TRUE(profile::is_policy_text(core::write_access_policy({})));
  EXPECT_FALSE(profile::is_policy_text(R"({"defaultAction":"SCMP_ACT_ERRNO","syscalls":[]})"));
  EXPECT_FALSE(profile::is_policy_text(R"({"type":"header","format":"nucleus-trace","version":1})"));
  EXPECT_FALSE(profile::is_policy_text("not json"));
  EXPECT_FALSE(profile::is_policy_text(std::string(100000, '[')));
}

// report --policy: the policy's entries, endpoints and findings are in both renderings, with the
// policy's text escaped like the rest of the report.
TEST(PolicyReport, TheSectionListsEntriesAndFindings) {
  auto p = with_path("/home/u/.ssh/id_ed25519", r);
  p.files.push_back({"/srv/<b>", r, "as seen (rule exact)"});
  p.network.connect = {{Protocol::tcp, "127.0.0.1", 8080}};
  profile::ReportInput in;
  in.profile_name = "app.json";
  in.generated_at = "2026-11-28T09:00:00Z";
  in.access_policy = &p;
  in.access_policy_name = "app.policy.json";
  const auto md = profile::render_report_markdown(in);
  EXPECT_NE(md.find(R"(## Files and network: app\.policy\.json)"), std::string::npos) << md;
  EXPECT_NE(md.find(R"(| high | \/home\/u\/\.ssh\/id\_ed25519 |)"), std::string::npos) << md;
  EXPECT_NE(md.find(R"(| \/srv\/\<b\> | read |)"), std::string::npos) << md;
  EXPECT_NE(md.find(R"(| connect | tcp 127\.0\.0\.1\:8080 | loopback |)"), std::string::npos) << md;
  const auto html = profile::render_report_html(in);
  EXPECT_NE(html.find("<section id=\"policy\">"), std::string::npos);
  EXPECT_NE(html.find("<code>/srv/&lt;b&gt;</code>"), std::string::npos);
  EXPECT_EQ(html.find("<b>"), std::string::npos);
  in.access_policy = nullptr;
  EXPECT_EQ(profile::render_report_markdown(in).find("Files and network"), std::string::npos);
}
