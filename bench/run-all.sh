#!/bin/sh
# run-all.sh BUILD_DIR [OUT_DIR] - run every tenreg benchmark the way
# bench/README.md reports them, saving text and JSON side by side.
#   BUILD_DIR: a build configured with -DCMAKE_BUILD_TYPE=Release -DTENREG_BENCH=ON
#   OUT_DIR:   default ./bench-results
# Prints the load average before each step: measure on a quiet machine.
set -eu
b=${1:?usage: run-all.sh BUILD_DIR [OUT_DIR]}
out=${2:-bench-results}
mkdir -p "$out"
say() { printf '== %s (load: %s)\n' "$1" "$(cut -d' ' -f1-3 /proc/loadavg)" >&2; }
{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "nproc: $(nproc)"
  grep -m1 'model name' /proc/cpuinfo
  echo "uptime: $(uptime)"
} > "$out/machine.txt"
say "tenreg-bench (default run, both flavors)"
"$b/bench/tenreg-bench" > "$out/load.txt"
say "tenreg-bench --json"
"$b/bench/tenreg-bench" --json --quiet > "$out/load.json"
say "tenreg-bench --wildcard (default run + issue 10's wildcard workload)"
"$b/bench/tenreg-bench" --wildcard > "$out/load-wildcard.txt"
"$b/bench/tenreg-bench" --wildcard --json --quiet > "$out/load-wildcard.json"
say "tenreg-cold-wait"
"$b/bench/tenreg-cold-wait" > "$out/cold-wait.txt"
"$b/bench/tenreg-cold-wait" --json > "$out/cold-wait.json"
if [ -x "$b/bench/tenreg-micro" ]; then
  say "tenreg-micro"
  "$b/bench/tenreg-micro" --benchmark_min_time=0.5 --benchmark_out="$out/micro.json" \
    --benchmark_out_format=json > "$out/micro.txt"
fi
echo "uptime at end: $(uptime)" >> "$out/machine.txt"
say "done: $out"
