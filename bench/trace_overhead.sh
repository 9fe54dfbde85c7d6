#!/usr/bin/env bash
# Trace-mode overhead, by hand, as root: each workload untraced (the baseline), under nucleus-trace,
# under nucleus-trace --baseline (a profile of the same workload, so nothing new is logged), and
# under strace -f -o /dev/null; ratios against the untraced run of the same hyperfine session.
#
#   bench/trace_overhead.sh [BUILD_DIR]      (default build/release; needs hyperfine, strace, python3)
#   ONLY_PYTHON=1 bench/trace_overhead.sh    the Python workload alone; RUNS=N sets hyperfine's run count
set -euo pipefail
build=${1:-build/release}
tools=$build/tools
samples=$build/samples
work=$(mktemp -d -p "$build")   # not under /tmp: the sandbox has its own /tmp
trap 'rm -rf "$work"' EXIT
trust=()
"$tools/nucleus-run" --help | grep -q -- '--trust-level' && trust=(--trust-level trusted)

bench() {
  local name=$1
  shift
  local cmd="$*"
  # A baseline profile of the workload itself, for the --baseline row.
  "$tools/nucleus-trace" "${trust[@]}" -q -o "$work/$name.trace" -- "$@"
  "$tools/nucleus-trace" "${trust[@]}" -q -o "$work/$name.2.trace" -- "$@"
  "$tools/nucleus-profile" gen "$work/$name.trace" "$work/$name.2.trace" -o "$work/$name.json"
  hyperfine -N --warmup 2 --runs "${RUNS:-10}" --export-json "$work/$name.hf.json" \
    -n untraced "$cmd" \
    -n nucleus-trace "$tools/nucleus-trace ${trust[*]} -q -o $work/out.trace -- $cmd" \
    -n "nucleus-trace --baseline" "$tools/nucleus-trace ${trust[*]} -q --baseline $work/$name.json -o $work/out.trace -- $cmd" \
    -n "strace -f" "strace -f -o /dev/null $cmd" >/dev/null
  python3 - "$work/$name.hf.json" "$name" <<'PY'
import json, sys
results = json.load(open(sys.argv[1]))["results"]
base = next(r for r in results if r["command"] == "untraced")["mean"]
print(f"\n{sys.argv[2]}: mean wall time, ratio to untraced (same run)")
for r in results:
    print(f"  {r['command']:<26} {r['mean']*1000:9.1f} ms  x{r['mean']/base:6.2f}")
PY
}

[[ -z ${ONLY_PYTHON:-} ]] && bench syscall-loop "$samples/burst" --threads 1 --count 200000
# (a script file: hyperfine splits command strings on spaces)
echo "import json, email.parser, http.client, sqlite3, decimal" > "$work/imports.py"
bench python-imports /usr/bin/python3 "$work/imports.py"

# Records per second the tracer parses and attributes: a burst, its record count over the wall time.
"$tools/nucleus-trace" "${trust[@]}" -o "$work/rate.trace" -- "$samples/burst" --threads 2 --count 400000 2>&1 | tail -n 3
