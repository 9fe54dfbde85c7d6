#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test: unit and privileged (as root), then the
# parsers under AddressSanitizer/UBSan and a bounded fuzzing run. NUCLEUS_MUST_WORK=1 turns every
# skip of a privileged test into a failure.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
jobs=$(nproc)

cmake --preset dev >/dev/null
cmake --build --preset dev -j "$jobs"
ctest --preset dev -j "$jobs" --timeout 300

# Sanitizers: the unit tests (the parsers of outside input live there).
cmake --preset asan-ubsan >/dev/null
cmake --build --preset asan-ubsan -j "$jobs" --target libsandbox_unit_tests tracer_unit_tests profilegen_unit_tests
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1 ctest --preset asan-ubsan -L unit -j "$jobs" --timeout 300

# Fuzzing, bounded: each target runs from its seed corpus for FUZZ_SECONDS.
./scripts/fuzz.sh "${FUZZ_SECONDS:-30}"
