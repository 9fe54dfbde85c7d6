#!/usr/bin/env bash
# Start-up cost of full isolation: `nucleus-run -- /bin/true` (trusted: user, mount, pid, uts, ipc,
# net and cgroup namespaces, read-only root, /proc, /dev, /tmp, Landlock, capabilities, pids
# cgroup) against bubblewrap with the equivalent namespaces and mounts, against `runsc do`, and
# against nucleus-run under gVisor (untrusted), all in one hyperfine run. Ratios are relative to
# bwrap. Needs root, hyperfine, bwrap (Debian package bubblewrap) and runsc.
# Usage: bench/startup.sh [build-dir]
set -euo pipefail
# Absolute: the benchmark runs from a temporary directory.
build=$(realpath -m -- "${1:-build/dev}")
run="$build/tools/nucleus-run"
for need in hyperfine bwrap runsc "$run"; do
  command -v "$need" >/dev/null || { echo "startup.sh: missing $need" >&2; exit 1; }
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo '{"defaultAction":"SCMP_ACT_ALLOW"}' > "$work/allow.json"
cd "$work"
hyperfine -N --warmup 3 --runs "${RUNS:-30}" --export-json "$work/startup.json" \
  -n bwrap "bwrap --unshare-all --die-with-parent --ro-bind / / --proc /proc --dev /dev --tmpfs /tmp --cap-drop ALL /bin/true" \
  -n nucleus-run "$run -q --trust-level trusted --pids 64 --profile $work/allow.json -- /bin/true" \
  -n "runsc do" "runsc --network=none do /bin/true" \
  -n "nucleus-run, defaults" "$run -q --trust-level trusted --profile $work/allow.json -- /bin/true" \
  -n "nucleus-run, no cgroup" "$run -q --trust-level trusted --pids unlimited --memory unlimited --profile $work/allow.json -- /bin/true" \
  -n "nucleus-run gVisor" "$run -q --profile $work/allow.json -- /bin/true" >&2
python3 - "$work/startup.json" <<'PY'
import json, sys
results = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
base = results["bwrap"]["mean"]
print(f"{'command':22} {'mean ms':>9} {'± ms':>7} {'ratio to bwrap':>15}")
for name, r in results.items():
    print(f"{name:22} {r['mean']*1e3:9.1f} {r['stddev']*1e3:7.1f} {r['mean']/base:15.2f}")
PY
