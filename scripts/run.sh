#!/usr/bin/env bash
# run.sh - builds tenreg (Release) and runs the main job.
#
# The main job is the load benchmark `tenreg-bench` (bench/, built with
# -DTENREG_BENCH=ON), run with no arguments. While a checkout has no bench/
# yet, it is the `tenreg` tool resolving the hosts of examples/hosts.txt
# against the tenants of examples/tenants.csv.
# Missing Debian packages are installed first (scripts/install-deps.sh).
# Arguments are passed to tenreg-bench.
#
# Environment: TENREG_JOBS (parallel build jobs, default 2).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

# shellcheck source=install-deps.sh
source scripts/install-deps.sh
tenreg_install_deps

jobs=${TENREG_JOBS:-2}
dir=$root/build/release
stage=$dir/stage

echo "=== configure + build (Release) in $dir"
cmake -S "$root" -B "$dir" -DCMAKE_BUILD_TYPE=Release -DTENREG_BENCH=ON -DBUILD_TESTING=OFF >/dev/null
cmake --build "$dir" -j "$jobs"

# Does the build have a tenreg-bench target? (bench/ may not exist yet.)
# (Captured first: grep -q would close the pipe early and, with pipefail,
# turn a match into a failure.)
targets=$(cmake --build "$dir" --target help)
if grep -qE '(^|[ .:])tenreg-bench($|[ :])' <<<"$targets"; then
  bench=$(find "$dir" -type f -name tenreg-bench -perm -u+x | head -n 1)
  if [ -z "$bench" ]; then
    echo "run.sh: target tenreg-bench exists but its executable was not found under $dir" >&2
    exit 1
  fi
  echo "=== $bench $*"
  exec "$bench" "$@"
fi

# Fallback: the tool, installed the way an adopter installs it.
echo "=== no tenreg-bench target; running the tenreg tool"
cmake --install "$dir" --prefix "$stage" >/dev/null
tool=$stage/bin/tenreg
if [ ! -x "$tool" ]; then
  echo "run.sh: $tool was not built (tools/ missing?)" >&2
  exit 1
fi
tenants=examples/tenants.csv
if [ -f examples/hosts.txt ]; then
  hosts=$(cat examples/hosts.txt)
else
  # One Host form per tenant, plus an unknown and an invalid host.
  hosts=$(awk -F, '!/^[[:space:]]*(#|$)/ && NF >= 2 { gsub(/[[:space:]]/, "", $2); print $2 }' "$tenants")
  hosts+=$'\nunknown-seller.example\nbad host'
fi
echo "=== $tool resolve --tenants $tenants"
printf '%s\n' "$hosts" | "$tool" resolve --tenants "$tenants"
