#!/usr/bin/env bash
# Builds the libFuzzer targets with clang and runs each for the given number of seconds, each from
# its seed corpus. A target without seeds is an error: fuzzing from nothing finds little and would
# pass silently.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-30}
shared=${NUCLEUS_SHARED_DIR:-../shared}

# Where each target's seeds come from. The profile reader starts from real profiles: the sample
# profiles and Docker's fixtures (read from the shared test data at run time, never copied into the
# repository), and its own folder for the limits (nesting at and past 64 levels, repeated keys); the
# others from their folders under tests/fuzz/corpus/.
seed_sources() {
  case $1 in
    profile) echo "samples/profiles $shared/testdata/docker-seccomp tests/fuzz/corpus/profile" ;;
    *) echo "tests/fuzz/corpus/$1" ;;
  esac
}

# Copies the seeds of target $1 into directory $2; fails when a source is missing or holds none.
seed() {
  local name=$1 work=$2 source count
  for source in $(seed_sources "$name"); do
    if [[ ! -d $source ]]; then
      echo "fuzz.sh: error: the seed corpus of ${name}_fuzz is missing: $source" >&2
      return 1
    fi
    count=0
    for file in "$source"/*; do
      [[ -f $file ]] || continue
      [[ $name == profile && $file != *.json ]] && continue # LICENSE files are not seeds
      cp "$file" "$work/$(basename "$source")-$(basename "$file")"
      count=$((count + 1))
    done
    if ((count == 0)); then
      echo "fuzz.sh: error: the seed corpus of ${name}_fuzz is empty: $source" >&2
      return 1
    fi
  done
}

targets=()
for source in tests/fuzz/*_fuzz.cpp; do targets+=("$(basename "${source%.cpp}")"); done
# Seeds are checked before the (long) build, so a missing corpus fails at once.
for target in "${targets[@]}"; do
  probe=$(mktemp -d)
  seed "${target%_fuzz}" "$probe" || { rm -rf "$probe"; exit 1; }
  rm -rf "$probe"
done
[[ ${NUCLEUS_FUZZ_CHECK_SEEDS_ONLY:-0} == 1 ]] && exit 0

cmake --preset fuzz >/dev/null
cmake --build --preset fuzz -j "$(nproc)" --target "${targets[@]}"
# The targets run side by side, one per core; each one's summary is printed when all are done, and
# any target that finds a crash (or fails to start) fails the run.
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
pids=() names=()
for target in "${targets[@]/#/build/fuzz/tests/fuzz/}"; do
  while (($(jobs -rp | wc -l) >= $(nproc))); do wait -n || true; done
  name=$(basename "$target")
  work="$logs/$name.corpus"
  mkdir "$work"
  seed "${name%_fuzz}" "$work"
  echo "fuzz: $name for ${seconds}s from $(find "$work" -type f | wc -l) seeds"
  "$target" -max_total_time="$seconds" -print_final_stats=0 "$work" >"$logs/$name.log" 2>&1 &
  pids+=($!) names+=("$name")
done
failed=0
for i in "${!pids[@]}"; do
  status=0
  wait "${pids[$i]}" || status=$?
  echo "fuzz: ${names[$i]}: $( ((status == 0)) && echo ok || echo "FAILED (exit $status)")"
  tail -n 3 "$logs/${names[$i]}.log"
  ((status == 0)) || failed=1
done
exit "$failed"
