#!/usr/bin/env bash
# Trace-mode overhead, by hand, as root: each workload untraced (the baseline), under nucleus-trace
# with the eBPF recorder (with behaviour records, the default, and names only, --no-behaviour: the
# ratio of the two is what behaviour records cost) and with the audit netlink recorder, each also
# with --baseline (a profile of the same workload, so nothing new is recorded), under nucleus-run
# with the same sandbox and an allow-all profile (what the sandbox costs without a recorder), and
# under strace -f -o /dev/null; ratios against the untraced run of the same hyperfine session.
#
#   bench/trace_overhead.sh [BUILD_DIR]      (default build/release; needs hyperfine, strace, python3)
#   ONLY_PYTHON=1 bench/trace_overhead.sh    the Python workload alone; RUNS=N sets hyperfine's run count,
#                                            PAIRS=N the alternating pairs of the behaviour ratio (30)
set -euo pipefail
build=${1:-build/release}
tools=$build/tools
samples=$build/samples
work=$(mktemp -d -p "$build")   # not under /tmp: the sandbox has its own /tmp
chmod 0755 "$work"              # the workload runs as an unprivileged identity and reads from here
trap 'rm -rf "$work"' EXIT
echo '{"defaultAction": "SCMP_ACT_ALLOW"}' > "$work/allow-all.json"
trust=()
# Not grep -q: it may close the pipe before the help is written, and pipefail then takes the
# tool's SIGPIPE for "no such option" (the workloads then ran under gVisor, and --source ebpf failed).
"$tools/nucleus-run" --help | grep -- '--trust-level' >/dev/null && trust=(--trust-level trusted)

bench() {
  local name=$1
  shift
  local cmd="$*"
  # A baseline profile of the workload itself, for the --baseline row: names only (--no-args),
  # since the eBPF recorder does not take a baseline with argument conditions.
  "$tools/nucleus-trace" "${trust[@]}" -q -o "$work/$name.trace" -- "$@"
  "$tools/nucleus-trace" "${trust[@]}" -q -o "$work/$name.2.trace" -- "$@"
  "$tools/nucleus-profile" gen --no-args "$work/$name.trace" "$work/$name.2.trace" -o "$work/$name.json"
  local t="$tools/nucleus-trace ${trust[*]} -q -o $work/out.trace"
  local r="$tools/nucleus-run ${trust[*]} -q --profile $work/allow-all.json"
  hyperfine -N --warmup 2 --runs "${RUNS:-10}" --export-json "$work/$name.hf.json" \
    -n untraced "$cmd" \
    -n "nucleus-trace (ebpf)" "$t --source ebpf -- $cmd" \
    -n "nucleus-trace (ebpf) --no-behaviour" "$t --source ebpf --no-behaviour -- $cmd" \
    -n "nucleus-trace (ebpf) --baseline" "$t --source ebpf --baseline $work/$name.json -- $cmd" \
    -n "nucleus-trace (netlink)" "$t --source netlink -- $cmd" \
    -n "nucleus-trace (netlink) --baseline" "$t --source netlink --baseline $work/$name.json -- $cmd" \
    -n "nucleus-run (same sandbox, allow all)" "$r -- $cmd" \
    -n "strace -f" "strace -f -o /dev/null $cmd" >/dev/null
  python3 - "$work/$name.hf.json" "$name" <<'PY'
import json, sys
results = json.load(open(sys.argv[1]))["results"]
base = next(r for r in results if r["command"] == "untraced")["mean"]
print(f"\n{sys.argv[2]}: mean wall time, ratio to untraced (same run)")
for r in results:
    print(f"  {r['command']:<38} {r['mean']*1000:9.1f} ms  x{r['mean']/base:6.2f}")
mean = {r["command"]: r["mean"] for r in results}
names_only = mean["nucleus-trace (ebpf) --no-behaviour"]
print(f"  behaviour records against names only (eBPF, same run): x{mean['nucleus-trace (ebpf)']/names_only:.3f}")
PY
  # The same ratio from pairs run one after the other (with and without behaviour records, the
  # order alternating), median against median: hyperfine runs each command's runs in a block, so a
  # drift of this VM between two blocks shows in the ratio as if one of them cost it.
  python3 - "${PAIRS:-30}" "$tools/nucleus-trace" "$work/out.trace" "${trust[@]}" -- "$@" <<'PY'
import statistics, subprocess, sys, time
pairs, tool, out = int(sys.argv[1]), sys.argv[2], sys.argv[3]
rest = sys.argv[4:]
split = rest.index("--")
trust, cmd = rest[:split], rest[split + 1:]
def run(extra):
    started = time.perf_counter()
    subprocess.run([tool, *trust, "-q", "-o", out, "--source", "ebpf", *extra, "--", *cmd], check=True,
                   stdout=subprocess.DEVNULL)
    return time.perf_counter() - started
full, names = [], []
for i in range(pairs + 2):
    a, b = (full, names) if i % 2 == 0 else (names, full)
    first, second = ([], ["--no-behaviour"]) if i % 2 == 0 else (["--no-behaviour"], [])
    ta, tb = run(first), run(second)
    if i >= 2:  # two pairs of warm-up
        a.append(ta)
        b.append(tb)
f, n = statistics.median(full), statistics.median(names)
print(f"  behaviour records against names only, {pairs} alternating pairs: {f*1000:.1f} against {n*1000:.1f} ms,"
      f" x{f/n:.3f} (medians)")
PY
}

[[ -z ${ONLY_PYTHON:-} ]] && bench syscall-loop "$samples/burst" --threads 1 --count 200000
# What a trace costs before and after the workload (loading the program, writing the trace): a
# command that does next to nothing, so that the two workloads' ratios can be read apart.
[[ -z ${ONLY_PYTHON:-} ]] && bench start-up /bin/true
# (a script file: hyperfine splits command strings on spaces)
echo "import json, email.parser, http.client, sqlite3, decimal" > "$work/imports.py"
bench python-imports /usr/bin/python3 "$work/imports.py"

# Syscalls per second each recorder counts, end to end: a burst, its count over the wall time
# (nucleus-trace prints both; the eBPF line also says how long loading and attaching took).
for source in ebpf netlink; do
  "$tools/nucleus-trace" "${trust[@]}" --source $source -o "$work/rate.trace" -- "$samples/burst" --threads 2 \
    --count "$([[ $source == ebpf ]] && echo 20000000 || echo 400000)" 2>&1 | grep 'events,'
done
