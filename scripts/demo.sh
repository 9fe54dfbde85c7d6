#!/usr/bin/env bash
# The whole loop on a sample: trace it, generate its profile, run it in strict mode, then run a
# different invocation of the same sample and watch the denial being reported.
set -euo pipefail
# With NUCLEUS_BIN=/usr/bin NUCLEUS_PROBE=build/dev/samples/probe it runs the installed tools
# instead (scripts/test.sh does so with the Debian package installed).
cd "$(dirname "$0")/.."
if [[ -n ${NUCLEUS_BIN:-} ]]; then
  bin=$NUCLEUS_BIN
  probe=${NUCLEUS_PROBE:?NUCLEUS_PROBE must name the built probe sample}
else
  ./scripts/install-deps.sh
  cmake --preset release >/dev/null
  cmake --build --preset release -j "$(nproc)" --target nucleus-trace nucleus-profile nucleus-run sample-probe >/dev/null
  bin=build/release/tools
  probe=build/release/samples/probe
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
trust=(--trust-level trusted)

echo "The demo runs the sample with --trust-level trusted: on the host kernel (tracing reads its audit"
echo "records), inside fresh namespaces with Landlock, no network and no capabilities. The default,"
echo "untrusted, would run it under gVisor, where host audit records do not exist."
step() { printf '\n\033[1m== %s\033[0m\n$ %s\n' "$1" "$2"; }

step "1. trace the sample: it asks for its pid and the kernel version" \
     "nucleus-trace ${trust[*]} -o app.trace -- probe getpid uname"
"$bin/nucleus-trace" "${trust[@]}" -o "$work/app.trace" -- "$probe" getpid uname

step "2. generate the minimal profile from the trace" "nucleus-profile gen app.trace -o app.json"
"$bin/nucleus-profile" gen "$work/app.trace" -o "$work/app.json"
echo "allowed: $(grep -c '^ *"[a-z_0-9]*",\?$' "$work/app.json") syscalls"

step "3. strict mode: the same invocation runs as before" \
     "nucleus-run ${trust[*]} --profile app.json -- probe getpid uname"
"$bin/nucleus-run" "${trust[@]}" --profile "$work/app.json" -- "$probe" getpid uname

step "4. strict mode: an invocation that also opens a network socket is denied, and reported" \
     "nucleus-run ${trust[*]} --profile app.json -- probe getpid uname socket:2,1,0"
"$bin/nucleus-run" "${trust[@]}" --profile "$work/app.json" -- "$probe" getpid uname socket:2,1,0
