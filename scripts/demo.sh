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

echo "The demo runs the sample at the default level, --trust-level untrusted: under gVisor, whose own"
echo "record of the syscalls its kernel served is the trace. The last step traces on the host kernel"
echo "(--trust-level trusted: fresh namespaces, Landlock, no network, no capabilities) from its audit records."
step() { printf '\n\033[1m== %s\033[0m\n$ %s\n' "$1" "$2"; }

step "1. trace the sample under gVisor: it asks for its pid and the kernel version" \
     "nucleus-trace -o app.trace -- probe getpid uname"
"$bin/nucleus-trace" -o "$work/app.trace" -- "$probe" getpid uname

step "2. generate the minimal profile from the trace" "nucleus-profile gen app.trace -o app.json"
"$bin/nucleus-profile" gen "$work/app.trace" -o "$work/app.json"
echo "allowed: $(grep -c '^ *"[a-z_0-9]*",\?$' "$work/app.json") syscalls"

step "3. strict mode under gVisor: the same invocation runs as before" \
     "nucleus-run --profile app.json -- probe getpid uname"
"$bin/nucleus-run" --profile "$work/app.json" -- "$probe" getpid uname

step "4. strict mode: an invocation that also opens a network socket is denied, and reported" \
     "nucleus-run --profile app.json -- probe getpid uname socket:2,1,0"
"$bin/nucleus-run" --profile "$work/app.json" -- "$probe" getpid uname socket:2,1,0

step "5. the host path: trace on the host kernel and enforce there" \
     "nucleus-trace --trust-level trusted -o host.trace -- probe getpid uname && nucleus-run --trust-level trusted ..."
"$bin/nucleus-trace" --trust-level trusted -o "$work/host.trace" -- "$probe" getpid uname
"$bin/nucleus-profile" gen "$work/host.trace" -o "$work/host.json"
"$bin/nucleus-run" --trust-level trusted --profile "$work/host.json" -- "$probe" getpid uname socket:2,1,0
