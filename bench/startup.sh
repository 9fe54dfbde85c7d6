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
# Docker's default profile, when the shared test data is next to the checkout: a real profile's
# parse and compile (libseccomp takes milliseconds over its 365 rules) on top of the sandbox.
here=$(cd "$(dirname "$0")/.." && pwd)
docker_default="$here/../shared/testdata/docker-seccomp/default.json"
docker_row=()
[ -f "$docker_default" ] && docker_row=(-n "nucleus-run, Docker's profile"
  "$run -q --trust-level trusted --pids 64 --profile $docker_default -- /bin/true")
work=$(mktemp -d)
chmod 0755 "$work" # the workload (uid 65534) starts in it: nucleus-run refuses a folder it cannot enter
trap 'rm -rf "$work"' EXIT
echo '{"defaultAction":"SCMP_ACT_ALLOW"}' > "$work/allow.json"
# `runsc do` gives the descriptors it is handed to its sandbox's user (uid 65534), and hyperfine
# hands every command the host's /dev/null: run that way, it leaves the host's null device owned
# by nobody. So it gets a file of ours on stdin, and hyperfine's pipe (--output=pipe) for stdout and
# stderr.
: > "$work/stdin"
cd "$work"
hyperfine -N --output=pipe --warmup 3 --runs "${RUNS:-30}" --export-json "$work/startup.json" \
  -n bwrap "bwrap --unshare-all --die-with-parent --ro-bind / / --proc /proc --dev /dev --tmpfs /tmp --cap-drop ALL /bin/true" \
  -n nucleus-run "$run -q --trust-level trusted --pids 64 --profile $work/allow.json -- /bin/true" \
  -n "runsc do" "sh -c 'exec runsc --network=none do /bin/true <$work/stdin 2>&1'" \
  -n "nucleus-run, defaults" "$run -q --trust-level trusted --profile $work/allow.json -- /bin/true" \
  -n "nucleus-run, no cgroup" "$run -q --trust-level trusted --pids unlimited --memory unlimited --profile $work/allow.json -- /bin/true" \
  -n "nucleus-run gVisor" "$run -q --profile $work/allow.json -- /bin/true" \
  "${docker_row[@]}" >&2
python3 - "$work/startup.json" <<'PY'
import json, sys
results = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
base = results["bwrap"]["mean"]
print(f"{'command':30} {'mean ms':>9} {'± ms':>7} {'ratio to bwrap':>15}")
for name, r in results.items():
    print(f"{name:30} {r['mean']*1e3:9.1f} {r['stddev']*1e3:7.1f} {r['mean']/base:15.2f}")
PY
if [ "$(stat -c %u:%g /dev/null)" != 0:0 ]; then
  echo "startup.sh: the host's /dev/null changed owner during the benchmark; given back to root" >&2
  chown 0:0 /dev/null
  exit 1
fi
