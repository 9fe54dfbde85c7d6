#!/usr/bin/env bash
# Start-up cost of a files and network policy: the same command under nucleus-run without and with
# --policy, side by side in one hyperfine run, at the trusted level (the policy adds an empty root,
# one bind per policy path and their Landlock path and port rules) and under gVisor (the policy's
# binds in the OCI bundle). Ratios are relative to the run without the policy at the same level.
# Needs root, hyperfine and, for the gVisor rows, runsc.
# Usage: bench/policy_startup.sh [build-dir]
set -euo pipefail
build=$(realpath -m -- "${1:-build/dev}")
run="$build/tools/nucleus-run"
for need in hyperfine "$run"; do
  command -v "$need" >/dev/null || { echo "policy_startup.sh: missing $need" >&2; exit 1; }
done
work=$(mktemp -d)
chmod 0755 "$work" # the workload (uid 65534) starts in it
trap 'rm -rf "$work"' EXIT
echo '{"defaultAction":"SCMP_ACT_ALLOW"}' > "$work/allow.json"
mkdir "$work/workspace"
chown 65534:65534 "$work/workspace"
# What a generated policy for a small tool holds: the system read-only and executable, /etc
# readable, a workspace writable, one TCP port.
cat > "$work/app.policy.json" <<JSON
{"format":"nucleus-policy","version":1,
 "files":[{"path":"/etc","access":["read"]},{"path":"/lib","access":["read","execute"]},
          {"path":"/lib64","access":["read","execute"]},{"path":"/usr","access":["read","execute"]},
          {"path":"$work/workspace","access":["read","write","create","remove"]}],
 "network":{"connect":[{"protocol":"tcp","address":"127.0.0.1","port":8080}]}}
JSON
cd "$work"
gvisor_rows=()
if command -v runsc >/dev/null; then
  gvisor_rows=(-n "gVisor" "$run -q --profile $work/allow.json -- /usr/bin/true"
               -n "gVisor, --policy" "$run -q --profile $work/allow.json --policy $work/app.policy.json --accept-unenforced-network -- /usr/bin/true")
fi
hyperfine -N --output=pipe --warmup 3 --runs "${RUNS:-30}" --export-json "$work/policy.json" \
  -n "trusted" "$run -q --trust-level trusted --profile $work/allow.json -- /usr/bin/true" \
  -n "trusted, --policy" "$run -q --trust-level trusted --profile $work/allow.json --policy $work/app.policy.json -- /usr/bin/true" \
  "${gvisor_rows[@]}" >&2
python3 - "$work/policy.json" <<'PY'
import json, sys
results = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
# The median too: on a shared machine a few slow runs move the mean.
print(f"{'command':20} {'mean ms':>9} {'± ms':>7} {'ratio':>7} {'median ms':>10} {'ratio':>7}")
for name, r in results.items():
    base = results[name.split(",")[0]]
    print(f"{name:20} {r['mean']*1e3:9.1f} {r['stddev']*1e3:7.1f} {r['mean']/base['mean']:7.2f} "
          f"{r['median']*1e3:10.1f} {r['median']/base['median']:7.2f}")
PY
