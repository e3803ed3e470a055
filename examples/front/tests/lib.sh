# lib.sh - shared helpers for examples/front's tests (sourced, bash).
#
# Every test starts the real tenreg-front on 127.0.0.1 with ephemeral ports
# (--port 0 --admin-port 0; the ports come back through --ready-file), talks
# to it with curl or raw bytes over bash's /dev/tcp, stops it with SIGTERM
# and requires a clean exit (status 0 = every platform freed). The EXIT trap
# kills the server (by its pid only) and removes the scratch dir whatever
# happens, so no process is left behind.

FRONT_BIN=${1:?usage: $0 path/to/tenreg-front [backend]}
BACKEND=${2:-tenreg}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TENANTS=$HERE/../tenants.csv
WORK=$(mktemp -d "${TMPDIR:-/tmp}/tenreg-front-test.XXXXXX")
FRONT_PID=
FRONT_PREFIX=${FRONT_PREFIX:-}
BG_PIDS=()
FAILS=0
CHECKS=0

cleanup() {
    local p
    for p in "${BG_PIDS[@]}"; do
        kill "$p" 2>/dev/null
        wait "$p" 2>/dev/null
    done
    if [ -n "$FRONT_PID" ] && kill -0 "$FRONT_PID" 2>/dev/null; then
        kill -KILL "$FRONT_PID" 2>/dev/null
        wait "$FRONT_PID" 2>/dev/null
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ok() { CHECKS=$((CHECKS + 1)); }
fail() {
    CHECKS=$((CHECKS + 1))
    FAILS=$((FAILS + 1))
    echo "FAIL: $*" >&2
}

# expect DESCRIPTION EXPECTED ACTUAL
expect() {
    if [ "$2" == "$3" ]; then ok; else fail "$1: expected '$2', got '$3'"; fi
}

# expect_match DESCRIPTION REGEX ACTUAL
expect_match() {
    if [[ "$3" =~ $2 ]]; then ok; else fail "$1: '$3' does not match /$2/"; fi
}

# start_front [extra flags...]: starts the server, sets FRONT, ADMIN, FPORT, APORT.
start_front() {
    rm -f "$WORK/ready"
    # FRONT_PREFIX: e.g. "taskset -c 0" (word-split on purpose; it execs).
    $FRONT_PREFIX "$FRONT_BIN" --port 0 --admin-port 0 --ready-file "$WORK/ready" --backend "$BACKEND" \
        "$@" >"$WORK/front.log" 2>&1 &
    FRONT_PID=$!
    local i
    for i in $(seq 1 200); do
        [ -s "$WORK/ready" ] && break
        if ! kill -0 "$FRONT_PID" 2>/dev/null; then
            cat "$WORK/front.log" >&2
            echo "tenreg-front exited during startup" >&2
            exit 1
        fi
        sleep 0.05
    done
    if [ ! -s "$WORK/ready" ]; then
        echo "tenreg-front did not become ready" >&2
        exit 1
    fi
    read -r FPORT APORT <"$WORK/ready"
    FRONT=http://127.0.0.1:$FPORT
    ADMIN=http://127.0.0.1:$APORT
}

# stop_front: SIGTERM, then require exit status 0 and balanced platforms.
stop_front() {
    kill -TERM "$FRONT_PID"
    local rc=0
    wait "$FRONT_PID" || rc=$?
    FRONT_PID=
    expect "server exit status after SIGTERM" 0 "$rc"
    local line
    line=$(grep 'platforms created' "$WORK/front.log")
    expect_match "platforms freed at exit" 'created ([0-9]+), freed \1$' "$line"
    if [ "$rc" != 0 ]; then cat "$WORK/front.log" >&2; fi
}

# front_get HOST_HEADER_VALUE -> "STATUS|RETRY_AFTER|BODY"
front_get() {
    curl -s -o "$WORK/body" -D "$WORK/hdr" -H "Host: $1" "$FRONT/bid" >/dev/null
    local status retry
    status=$(head -1 "$WORK/hdr" | cut -d' ' -f2)
    retry=$(tr -d '\r' <"$WORK/hdr" | sed -n 's/^Retry-After: //Ip')
    echo "$status|$retry|$(cat "$WORK/body")"
}

# admin METHOD PATH [JSON] -> "STATUS BODY"
# Every POST says Content-Type: application/json, with or without a body
# (the admin API refuses a POST that does not: a cross-site form).
admin() {
    local args=(-s -o "$WORK/abody" -w '%{http_code}' -X "$1" "$ADMIN$2")
    if [ $# -ge 3 ]; then args+=(--data-binary "$3"); fi
    if [ $# -ge 3 ] || [ "$1" = POST ]; then args+=(-H 'Content-Type: application/json'); fi
    local code
    code=$(curl "${args[@]}")
    echo "$code $(cat "$WORK/abody")"
}

# raw BYTES (printf %b escapes) -> the server's whole answer, CR removed.
# The last request should say "Connection: close" so the server ends it.
raw() { raw_to "$FPORT" "$1"; }

# raw_to PORT BYTES: the same, to any port (the admin port).
raw_to() {
    exec 3<>"/dev/tcp/127.0.0.1/$1"
    printf '%b' "$2" >&3
    timeout 5 cat <&3 | tr -d '\r'
    exec 3<&-
}

ms() { echo $(( $(date +%s%N) / 1000000 )); }

# cpu_ticks PID: user + system time the process has used, in clock ticks.
cpu_ticks() { sed 's/^.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'; }

# rss_kb PID: resident set size in KiB.
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

# sanitized: is the server binary built with ASan or TSan? (Their runtimes
# change RSS and speed; tests that measure those only report there.)
sanitized() { ldd "$FRONT_BIN" 2>/dev/null | grep -qE 'lib(a|t)san'; }

# wait_line FILE REGEX SECONDS: waits until FILE has a line matching REGEX.
wait_line() {
    local i
    for i in $(seq 1 $(($3 * 20))); do
        grep -qE "$2" "$1" 2>/dev/null && return 0
        sleep 0.05
    done
    return 1
}

# wait_for DESCRIPTION EXPECTED_REGEX HOST: polls the front (up to 10 s).
wait_for() {
    local i got
    for i in $(seq 1 100); do
        got=$(front_get "$3")
        [[ "$got" =~ $2 ]] && break
        sleep 0.1
    done
    expect_match "$1" "$2" "$got"
}

finish() {
    echo "$(basename "$0") [$BACKEND]: $((CHECKS - FAILS))/$CHECKS checks passed"
    [ "$FAILS" -eq 0 ]
}
