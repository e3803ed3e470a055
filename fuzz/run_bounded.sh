#!/bin/sh
# fuzz/run_bounded.sh - bounded libFuzzer runs for CI.
#
# If clang is present: configures a clang build with -DTENREG_FUZZ=ON, then
# runs every fuzz target for FUZZ_SECONDS (default 60) over a scratch copy
# of its seed corpus (fuzz/corpus/<target>/, never modified) with its
# dictionary. A crash, sanitizer report, leak or timeout fails the script,
# and each crashing input is printed as hex. Without clang it fails: CI
# (scripts/test.sh) must not report "bounded fuzzing passed" for runs that
# never happened (scripts/install-deps.sh installs clang). A target that
# executed no input fails too. The gcc corpus replays are ordinary ctests
# (label "fuzz") and run without clang.
#
# Environment:
#   FUZZ_SECONDS    seconds per target (default 60)
#   FUZZ_TARGETS    space-separated subset (default: normalize registry_ops concurrent)
#   FUZZ_BUILD_DIR  build directory (default: <repo>/build/ci-fuzz; findings go to
#                   its findings/<target>/)
#   CC              clang to use (default: clang)
#   JOBS            build parallelism (default: nproc)
set -u

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
seconds=${FUZZ_SECONDS:-60}
targets=${FUZZ_TARGETS:-"normalize registry_ops concurrent"}
build=${FUZZ_BUILD_DIR:-"$repo/build/ci-fuzz"}
cc=${CC:-clang}
case "$cc" in *clang*) ;; *) cc=clang ;; esac
jobs=${JOBS:-$(nproc 2>/dev/null || echo 2)}

if ! command -v "$cc" >/dev/null 2>&1; then
    echo "run_bounded: $cc not found: no libFuzzer run is possible (install clang:" \
         "scripts/install-deps.sh); FAILED" >&2
    exit 1
fi

hexdump_file() {
    if command -v xxd >/dev/null 2>&1; then
        xxd "$1"
    else
        od -A x -t x1z -v "$1"
    fi
}

mkdir -p "$(dirname "$build")"
echo "run_bounded: configuring $build with $cc"
CC="$cc" cmake -S "$repo" -B "$build" -DTENREG_FUZZ=ON -DTENREG_BUILD_TESTS=OFF \
    -DTENREG_EXAMPLES=OFF -DTENREG_BUILD_TOOLS=OFF -DTENREG_BENCH=OFF \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$build.configure.log" 2>&1 || {
    cat "$build.configure.log"
    echo "run_bounded: configure failed"
    exit 1
}
build_targets=""
for t in $targets; do
    build_targets="$build_targets fuzz_$t"
done
# shellcheck disable=SC2086
cmake --build "$build" -j "$jobs" --target $build_targets || {
    echo "run_bounded: build failed"
    exit 1
}

status=0
summary=""
for t in $targets; do
    bin="$build/fuzz/fuzz_$t"
    findings="$build/findings/fuzz_$t"
    work=$(mktemp -d "${TMPDIR:-/tmp}/tenreg-fuzz-$t.XXXXXX")
    rm -rf "$findings"
    mkdir -p "$findings"
    cp "$repo/fuzz/corpus/fuzz_$t/"* "$work/"
    dict="$repo/fuzz/fuzz_$t.dict"
    log="$findings/fuzz.log"
    echo "run_bounded: fuzz_$t for ${seconds}s (corpus copy in $work, findings in $findings)"
    "$bin" -max_total_time="$seconds" -timeout=30 -rss_limit_mb=4096 \
        -dict="$dict" -artifact_prefix="$findings/" -print_final_stats=1 \
        "$work" >"$log" 2>&1
    rc=$?
    # The last status line and the final statistics.
    grep -E '^#[0-9]+' "$log" | tail -n 1
    grep -E '^stat::(number_of_executed_units|average_exec_per_sec|new_units_added|peak_rss_mb)' "$log"
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
    cov=$(grep -E '^#[0-9]+' "$log" | tail -n 1 | sed -n 's/.*\(cov: [0-9]*\) \(ft: [0-9]*\).*/\1 \2/p')
    crashes=$(find "$findings" -type f ! -name fuzz.log | wc -l)
    if [ "$rc" -eq 0 ] && [ "$crashes" -eq 0 ] && [ "${execs:-0}" -eq 0 ] 2>/dev/null; then
        echo "run_bounded: fuzz_$t executed no input (no final statistics); FAILED"
        rc=1
    fi
    if [ "$rc" -ne 0 ] || [ "$crashes" -ne 0 ]; then
        status=1
        echo "run_bounded: fuzz_$t FAILED (exit $rc); log tail:"
        tail -n 60 "$log"
        for f in "$findings"/*; do
            [ "$f" = "$log" ] && continue
            echo "run_bounded: failing input $f ($(wc -c <"$f") bytes):"
            hexdump_file "$f"
        done
        summary="$summary
fuzz_$t: FAILED exit $rc, $crashes input(s) in $findings"
    else
        summary="$summary
fuzz_$t: OK ${seconds}s, ${execs:-?} execs, ${rate:-?} exec/s, ${cov:-cov ?}"
    fi
    rm -rf "$work"
done

ran=0
for t in $targets; do ran=$((ran + 1)); done
if [ "$ran" -eq 0 ]; then
    echo "run_bounded: no target to run (FUZZ_TARGETS is empty); FAILED"
    status=1
fi
echo "run_bounded: summary ($ran targets):$summary"
exit $status
