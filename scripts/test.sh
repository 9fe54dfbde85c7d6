#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test: the parsers of outside input under
# AddressSanitizer/UBSan and a bounded fuzzing run first, then the whole suite (unit and, as root,
# privileged) last. NUCLEUS_MUST_WORK=1 turns every skip of a privileged test into a failure.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
jobs=$(nproc)

# Sanitizers: the unit tests, where the parsers of outside input are exercised.
cmake --preset asan-ubsan >/dev/null
cmake --build --preset asan-ubsan -j "$jobs" --target libsandbox_unit_tests tracer_unit_tests profilegen_unit_tests
for suite in libsandbox tracer profilegen; do
  echo "asan-ubsan: ${suite}_unit_tests"
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    "build/asan-ubsan/tests/${suite}_unit_tests" --gtest_brief=1
done

# Fuzzing, bounded: each target runs from its seed corpus for FUZZ_SECONDS.
./scripts/fuzz.sh "${FUZZ_SECONDS:-30}"

# Everything, as CI and users build it.
cmake --preset dev >/dev/null
cmake --build --preset dev -j "$jobs"
ctest --preset dev -j "$jobs" --timeout 300
