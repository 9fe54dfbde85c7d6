#!/usr/bin/env bash
# Installs what building, testing and demonstrating nucleus needs on Debian 12 (as root).
set -euo pipefail
packages=(
  cmake ninja-build g++ pkg-config            # build
  libseccomp-dev                              # BPF compilation, syscall tables
  libboost-dev                                # Boost.Asio event loop
  nlohmann-json3-dev                          # JSON profiles and trace logs
  libcli11-dev                                # command-line parsing
  libyaml-cpp-dev                             # reading Kubernetes SeccompProfile YAML (import)
  libcap-dev                                  # capability names and sets (isolation)
  nettle-dev                                  # SHA-256 for profile pinning
  googletest libgtest-dev libbenchmark-dev    # tests and benchmarks
  clang libclang-rt-14-dev                    # fuzz targets (libFuzzer); compiles the eBPF recorder
  clang-format                                # the sources' layout (scripts/format.sh --check, .clang-format)
  libbpf-dev bpftool                          # the eBPF recorder: its light skeleton (bpftool), ring buffer and maps (libbpf)
  strace                                      # the outside oracle in completeness tests
  python3-minimal xz-utils                    # real programs in the argument-rule round trips (an interpreter, a multi-threaded compressor)
  git                                         # an everyday tool in the default level's corpus test (init, add, commit, log, status, diff)
  curl python3-pip                            # real programs the review is checked on (a download from a local server, pip from a local folder)
  runc                                        # loads exported OCI profiles in the tests
  podman                                      # runs the OCI hook from its hooks.d files in a test
  chromium                                    # renders the review report in a test
  man-db                                      # renders the generated man pages in a test (man -l)
  dpkg-dev file                               # cpack -G DEB: dpkg-shlibdeps finds the runtime libraries
)
# gVisor (runsc) for the default level comes from Debian's own bookworm-backports suite: the release
# in bookworm's main suite (0.0~20221219) refuses the statx flags coreutils passes (ls, stat fail).
# The suite is added if missing and pinned so that only runsc (and nothing else) is taken from it.
runsc_min=0.0~20240729
backports_list=/etc/apt/sources.list.d/nucleus-bookworm-backports.sources
backports_pin=/etc/apt/preferences.d/nucleus-runsc-backports
runsc_ok() {
  local v
  v=$(dpkg-query -W -f='${Version}' runsc 2>/dev/null) || return 1
  dpkg --compare-versions "$v" ge "$runsc_min"
}
install_runsc() {
  runsc_ok && return 0
  if [[ $(id -u) -ne 0 ]]; then
    echo "install-deps: runsc >= $runsc_min is missing; as root this script takes it from bookworm-backports" >&2
    exit 1
  fi
  if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
    cat >"$backports_list" <<'SOURCES'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
  fi
  # Nothing but runsc is taken from backports, whatever else it has newer.
  cat >"$backports_pin" <<'PIN'
Package: *
Pin: release n=bookworm-backports
Pin-Priority: 100

Package: runsc
Pin: release n=bookworm-backports
Pin-Priority: 990
PIN
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq -t bookworm-backports runsc >/dev/null
  runsc_ok || { echo "install-deps: runsc from bookworm-backports is older than $runsc_min" >&2; exit 1; }
}
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "install-deps: missing packages: ${missing[*]}; run as root or: sudo apt-get install ${missing[*]}" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
fi
install_runsc
