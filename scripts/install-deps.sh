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
  libbpf-dev bpftool                          # the eBPF recorder: its light skeleton (bpftool), ring buffer and maps (libbpf)
  strace                                      # the outside oracle in completeness tests
  python3-minimal xz-utils                    # real programs in the argument-rule round trips (an interpreter, a multi-threaded compressor)
  runsc                                       # gVisor, for --trust-level untrusted
  runc                                        # loads exported OCI profiles in the tests
  podman                                      # runs the OCI hook from its hooks.d files in a test
  chromium                                    # renders the review report in a test
  man-db                                      # renders the generated man pages in a test (man -l)
  dpkg-dev file                               # cpack -G DEB: dpkg-shlibdeps finds the runtime libraries
)
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
