#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test: the unit tests under AddressSanitizer/UBSan
# and a bounded fuzzing run first, then the whole suite (unit and, as root,
# privileged) last. NUCLEUS_MUST_WORK=1 turns every skip of a privileged test into a failure.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
./scripts/format.sh --check
jobs=$(nproc)

# Sanitizers and fuzzing share one clang build (AddressSanitizer, UBSan and libFuzzer's coverage),
# so the libraries compile once for both: the unit tests, where the parsers of outside input are
# exercised, run under the sanitizers; then each fuzz target runs, bounded, from its seed corpus.
# That build is -O1 with line tables only (what the sanitizers need for their reports): it took a
# third of CI's time at -O2 -g.
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz -j "$jobs" --target core_unit_tests libsandbox_unit_tests tracer_unit_tests profilegen_unit_tests
for suite in core libsandbox tracer profilegen; do
  echo "sanitizers: ${suite}_unit_tests"
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    "build/fuzz/tests/${suite}_unit_tests" --gtest_brief=1
done
./scripts/fuzz.sh "${FUZZ_SECONDS:-20}"

# Everything, as CI and users build it.
cmake --preset dev >/dev/null
cmake --build --preset dev -j "$jobs"
ctest --preset dev -j "$jobs" --timeout 300

# The Debian package as users get it: packaged from the dev build above (the same install rules as
# the release package, without compiling again), installed with dpkg, the installed tools run from
# /usr/bin (--version, man, completion, the demo), and removed. Needs root, like the privileged tests.
echo "package: build, install, run from /usr/bin, remove"
if [[ $(id -u) -ne 0 ]]; then
  echo "package: skipped, installing a package needs root" >&2
  [[ ${NUCLEUS_MUST_WORK:-} != 1 ]] || exit 1
elif dpkg-query -W -f='${Status}' nucleus 2>/dev/null | grep -q "install ok installed"; then
  echo "package: a nucleus package is installed already; not replacing it" >&2
  exit 1
else
  rm -rf build/dev/package
  cpack --config build/dev/CPackConfig.cmake -G DEB -B build/dev/package >/dev/null
  deb=$(echo build/dev/package/nucleus_*.deb)
  dpkg-deb --field "$deb" Package Version Depends Recommends
  trap 'dpkg -r nucleus >/dev/null 2>&1 || true' EXIT
  dpkg -i "$deb" >/dev/null
  /usr/bin/nucleus-run --version
  /usr/bin/nucleus-trace --version
  /usr/bin/nucleus-profile --version
  man -w nucleus-run nucleus-trace nucleus-profile >/dev/null
  bash -c 'source /usr/share/bash-completion/completions/nucleus-run && complete -p nucleus-run' >/dev/null
  grep -q '"path": "/usr/bin/nucleus-trace"' /usr/share/containers/oci/hooks.d/nucleus-trace-prestart.json
  grep -q '"poststop"' /usr/share/containers/oci/hooks.d/nucleus-trace-poststop.json
  NUCLEUS_BIN=/usr/bin NUCLEUS_PROBE=build/dev/samples/probe ./scripts/demo.sh >/dev/null
  dpkg -r nucleus >/dev/null
  trap - EXIT
  if [[ -e /usr/bin/nucleus-run || -e /usr/share/man/man1/nucleus-run.1 ]]; then
    echo "package: files left behind after dpkg -r" >&2
    exit 1
  fi
  echo "package: ok"
fi
