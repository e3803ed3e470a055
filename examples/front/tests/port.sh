#!/usr/bin/env bash
# port.sh - a second instance must not share the ports (issue 15, defect 2).
# With several workers the front once set SO_REUSEPORT, so a second
# `tenreg-front --port P` bound P too and the kernel split the traffic
# between two processes with different tenants. A second instance on the
# front port or on the admin port must fail at once: "address in use",
# exit status 2, and every request still reaches the first instance.
# usage: port.sh path/to/tenreg-front [backend]
source "$(dirname "$0")/lib.sh"

start_front --tenants "$TENANTS" --threads 2
: >"$WORK/empty.csv"

# second NAME ARGS...: starts a second instance (no tenants: it would answer
# 404) in the background, gives it up to 3 s to exit, sends 40 requests to
# the front port meanwhile, then requires exit status 2 and 40 answers 200.
second() {
    local name=$1
    shift
    rm -f "$WORK/ready2"
    "$FRONT_BIN" --ready-file "$WORK/ready2" --threads 2 --tenants "$WORK/empty.csv" "$@" \
        >"$WORK/out2" 2>"$WORK/err2" &
    local pid=$! i rc=running n200=0
    BG_PIDS+=("$pid")
    for i in $(seq 1 30); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    for i in $(seq 1 40); do
        [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 3 -H 'Host: sales.acmemedia.example' \
              "$FRONT/")" = 200 ] && n200=$((n200 + 1))
    done
    if kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid"
        wait "$pid"
    else
        wait "$pid"
        rc=$?
    fi
    BG_PIDS=()
    expect "$name: the second instance exits with status 2" 2 "$rc"
    expect_match "$name: it says why" 'cannot listen on 127\.0\.0\.1:[0-9]+: address in use' \
        "$(cat "$WORK/err2")"
    expect "$name: it never became ready" no "$([ -e "$WORK/ready2" ] && echo yes || echo no)"
    expect "$name: all 40 requests reached the first instance" 40 "$n200"
}

second "front port" --port "$FPORT" --admin-port 0
second "admin port" --port 0 --admin-port "$APORT"

expect "the first instance still serves" '200||{"tenant":"acme-media","health":"healthy"}' \
    "$(front_get sales.acmemedia.example)"
expect_match "and its admin API answers" '^200 ' "$(admin GET /stats)"
stop_front
finish
