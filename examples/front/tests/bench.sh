#!/usr/bin/env bash
# bench.sh - the README's figures: wrk against tenreg-front with the tenreg
# backend and with the rwlock backend, in the same run, both under admin
# churn (churn.sh), alternating backends (and which one goes first) round by
# round so drift (thermal, neighbours) hits both alike. Set-ups (BENCH_SETUPS, default "shared"):
#   shared  the defaults: --threads = CPUs, wrk -t2 -c64, all on every CPU
#   pinned  server --threads 1 on CPU 0, wrk -t1 -c32 on CPU 1 (churn
#           unpinned); only meaningful on an otherwise idle machine
# Prints one line per run and the median per backend and set-up.
# The churn loop runs a cycle every CHURN_PAUSE s (default 0.05) + its own time.
# usage: bench.sh path/to/tenreg-front [seconds=10] [rounds=3]
source "$(dirname "$0")/lib.sh" "$1" tenreg
SECS=${2:-10}
ROUNDS=${3:-3}
PAUSE=${CHURN_PAUSE:-0.05}  # ~15 cycles/s, ~60 admin calls/s
report() { sed -n "s/^$2 //p" "$1"; }
stat() { echo "$1" | grep -o "\"$2\":[0-9]*" | cut -d: -f2; }

run() {  # run BACKEND SETUP ROUND
    BACKEND=$1
    local threads wrkargs wrkpre=""
    if [ "$2" = pinned ]; then
        FRONT_PREFIX="taskset -c 0"; threads=1; wrkpre="taskset -c 1"; wrkargs="-t1 -c32"
    else
        FRONT_PREFIX=""; threads=$(nproc); wrkargs="-t2 -c64"
    fi
    start_front --tenants "$TENANTS" --factory-delay-ms 20 --threads "$threads"
    rm -f "$WORK/stop"
    bash "$HERE/churn.sh" "$ADMIN" "$WORK" "$PAUSE" &
    BG_PIDS+=($!)
    FRONT_REPORT=$WORK/r.txt $wrkpre wrk $wrkargs -d"${SECS}s" --timeout 5s \
        -s "$HERE/front.lua" "$FRONT/bid" >"$WORK/wrk.txt" 2>&1
    expect "wrk exit status" 0 $?
    local st
    st=$(admin GET /stats)
    touch "$WORK/stop"
    wait "${BG_PIDS[@]}"
    BG_PIDS=()
    expect "socket errors" 0 "$(report "$WORK/r.txt" socket_errors)"
    expect "churn surprises" "" "$(head -3 "$WORK/churn.err")"
    local n503=0 r k
    for r in unserved EPENDING EDISABLED EFACTORY EVALIDATOR; do
        n503=$((n503 + $(stat "$st" "503_$r")))
    done
    for k in 500 501 505; do expect "no $k" 0 "$(stat "$st" "$k")"; done
    stop_front
    printf '%-7s %-7s %5s %9s %8s %8s %7s %6s\n' "$1" "$2" "$3" "$(report "$WORK/r.txt" rps)" \
        "$(report "$WORK/r.txt" p50_us)" "$(report "$WORK/r.txt" p99_us)" "$n503" \
        "$(cat "$WORK/churn.ops")" | tee -a "$WORK/runs.txt"
}

echo "wrk ${SECS}s per run, $ROUNDS rounds, $(nproc) CPUs: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)  (other work on the machine skews every run)"
printf '%-7s %-7s %5s %9s %8s %8s %7s %6s\n' backend setup round req/s p50_us p99_us 503s admin
SETUPS=${BENCH_SETUPS:-shared}
for round in $(seq 1 "$ROUNDS"); do
    for setup in $SETUPS; do
        # Even rounds run rwlock first, so neither backend always goes first.
        order="tenreg rwlock"
        [ $((round % 2)) -eq 0 ] && order="rwlock tenreg"
        for backend in $order; do
            run "$backend" "$setup" "$round"
        done
    done
done
BACKEND="tenreg+rwlock"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "median over $ROUNDS rounds:"
for setup in $SETUPS; do
    for backend in tenreg rwlock; do
        med() { awk -v b="$backend" -v s="$setup" -v c="$1" '$1==b && $2==s {print $c}' "$WORK/runs.txt" |
                sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
        printf '%-7s %-7s req/s %s  p50 %s us  p99 %s us\n' "$backend" "$setup" "$(med 4)" "$(med 5)" "$(med 6)"
    done
done
finish
