#!/usr/bin/env bash
# Trace-mode overhead under gVisor (the default level), by hand, as root: each workload run under
# gVisor untraced (nucleus-run -q with an allow-all profile: gVisor enforces it and no monitoring
# stream is opened), under nucleus-trace (gVisor's monitoring stream and debug log read live), and
# under nucleus-trace without the behaviour points (NUCLEUS_BENCH_GVISOR_NO_BEHAVIOUR=1: syscall
# names and arguments only); ratios against the untraced gVisor run of the same hyperfine session,
# and the behaviour records' cost as the full trace against the names-only one.
#
#   bench/gvisor_trace_overhead.sh [BUILD_DIR]   (default build/release; needs hyperfine, runsc, python3)
#   RUNS=N sets hyperfine's run count (default 10)
#   COUNT=N sets the syscall loop's calls (default 200000)
set -euo pipefail
build=${1:-build/release}
tools=$build/tools
samples=$build/samples
work=$(mktemp -d -p "$build")   # not under /tmp: the sandbox has its own /tmp
chmod 0755 "$work"              # the workload runs as an unprivileged identity and reads the script here
trap 'rm -rf "$work"' EXIT
echo '{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X86_64"],"syscalls":[]}' > "$work/allow.json"

bench() {
  local name=$1
  shift
  local cmd="$*"
  hyperfine -N --warmup 2 --runs "${RUNS:-10}" --export-json "$work/$name.hf.json" \
    -n "gVisor untraced" "$tools/nucleus-run -q --profile $work/allow.json -- $cmd" \
    -n "gVisor nucleus-trace" "$tools/nucleus-trace -q -o $work/out.trace -- $cmd" \
    -n "gVisor trace, names" "env NUCLEUS_BENCH_GVISOR_NO_BEHAVIOUR=1 $tools/nucleus-trace -q -o $work/names.trace -- $cmd" \
    >/dev/null
  python3 - "$work/$name.hf.json" "$name" <<'PY'
import json, sys
results = json.load(open(sys.argv[1]))["results"]
base = next(r for r in results if r["command"] == "gVisor untraced")["mean"]
print(f"\n{sys.argv[2]}: mean wall time, ratio to the untraced gVisor run (same session)")
for r in results:
    print(f"  {r['command']:<22} {r['mean']*1000:9.1f} ms  x{r['mean']/base:6.2f}")
full = next(r for r in results if r["command"] == "gVisor nucleus-trace")["mean"]
names = next(r for r in results if r["command"] == "gVisor trace, names")["mean"]
print(f"  behaviour records: the full trace is x{full/names:.3f} the names-only trace (same session)")
PY
}

echo "import json, email.parser, http.client, sqlite3, decimal" > "$work/imports.py"
bench python-imports /usr/bin/python3 "$work/imports.py"
bench syscall-loop "$samples/burst" --threads 1 --count "${COUNT:-200000}"
