#!/usr/bin/env bash
# fdlimit.sh - running out of file descriptors (issue 15, defect 1).
#   A: the server starts under `prlimit --nofile=256:256` and 300 clients
#      connect and stay: the front holds what its RLIMIT_NOFILE-sized cap
#      allows (256 - 128 - 2 x (threads + 1): the reserve counts each
#      worker's epoll instance and spare descriptor) and refuses (accepts
#      and closes) the rest, counted in /stats.
#   B: the limit is lowered to 128 under a running server (its cap was sized
#      for 20000 and more), so accept itself fails with EMFILE: the server
#      refuses with its spare descriptor instead of spinning.
# In both: the server stays idle (CPU < 30 % of one CPU over 2 s while the
# clients are held), an established keep-alive connection is still served,
# the admin port still answers, and once the clients leave the front serves
# new connections again. Then a clean exit with every platform freed.
# usage: fdlimit.sh path/to/tenreg-front [backend] [path/to/front_clients]
source "$(dirname "$0")/lib.sh"
CLIENTS=${3:-$(dirname "$FRONT_BIN")/front_clients}
TCK=$(getconf CLK_TCK)
stat() { echo "$1" | grep -o "\"$2\":[0-9]*" | head -1 | cut -d: -f2; }

# ka_get FD: one GET on an open keep-alive connection -> its status line.
ka_get() {
    printf 'GET / HTTP/1.1\r\nHost: sales.acmemedia.example\r\n\r\n' >&"$1" 2>/dev/null || {
        echo "write failed"; return; }
    local line status="" len=0 body
    while IFS= read -r -t 3 line <&"$1"; do
        line=${line%$'\r'}
        [ -z "$status" ] && status=$line
        [[ "$line" =~ ^Content-Length:\ ([0-9]+)$ ]] && len=${BASH_REMATCH[1]}
        [ -z "$line" ] && break
    done
    [ "$len" -gt 0 ] && IFS= read -r -t 3 -N "$len" body <&"$1"
    echo "${status:-no answer}"
}

# flood NAME N: holds N idle connections for 4 s; measures the server's CPU
# over 2 s while they are held; checks the established connection (fd 4)
# and the admin port meanwhile; sets STATS to /stats read during the flood.
flood() {
    "$CLIENTS" idle "$FPORT" "$2" 4 >"$WORK/clients-$1.txt" 2>&1 &
    local cpid=$!
    BG_PIDS+=("$cpid")
    if ! wait_line "$WORK/clients-$1.txt" '^ready' 15; then
        fail "$1: the clients never finished connecting"
    fi
    local t0 c0 c1 t1 pct
    t0=$(ms); c0=$(cpu_ticks "$FRONT_PID")
    sleep 2
    c1=$(cpu_ticks "$FRONT_PID"); t1=$(ms)
    pct=$(( (c1 - c0) * 100000 / TCK / (t1 - t0) ))
    echo "== $1: server CPU while $2 clients are held: $pct % of one CPU;" \
         "clients: $(head -1 "$WORK/clients-$1.txt")"
    if [ "$pct" -lt 30 ]; then ok; else fail "$1: server CPU $pct % while the descriptors are exhausted"; fi
    local t a
    t=$(ms)
    a=$(curl -s -o "$WORK/stats" -w '%{http_code}' --max-time 3 "$ADMIN/stats")
    echo "== $1: admin GET /stats answered $a in $(( $(ms) - t )) ms"
    expect "$1: the admin port answers during the flood" 200 "$a"
    STATS=$(cat "$WORK/stats" 2>/dev/null)
    expect "$1: the established connection is still served" "HTTP/1.1 200 OK" "$(ka_get 4)"
    wait "$cpid"
    BG_PIDS=()
    expect_match "$1: the clients were held to the end" '^done closed=[0-9]+$' \
        "$(tail -1 "$WORK/clients-$1.txt")"
    # The clients are gone: new connections are served again.
    local r i
    for i in $(seq 1 20); do
        r=$(curl -s -o /dev/null -w '%{http_code}' --max-time 3 -H 'Host: sales.acmemedia.example' "$FRONT/")
        [ "$r" = 200 ] && break
        sleep 0.1
    done
    expect "$1: new connections are served after the flood" 200 "$r"
}

# ---- A: the cap sized from RLIMIT_NOFILE ---------------------------------
FRONT_PREFIX="prlimit --nofile=256:256"
start_front --tenants "$TENANTS" --threads 2
FRONT_PREFIX=
exec 4<>"/dev/tcp/127.0.0.1/$FPORT"
expect "A: established connection answered" "HTTP/1.1 200 OK" "$(ka_get 4)"
flood A 300
expect_match "A: the clients saw refusals" 'closed=[1-9][0-9]*$' "$(head -1 "$WORK/clients-A.txt")"
limit=$(echo "$STATS" | grep -o '"connections":{[^}]*}' | grep -o '"limit":[0-9]*' | cut -d: -f2)
expect_match "A: /stats gives the front's connection limit" '^[0-9]+$' "$limit"
# 256 less the reserve: 64 admin connections, 64 for the process, and an
# epoll instance and a spare descriptor for each of the 2 front workers and
# the admin worker.
expect "A: the front's connection limit leaves 128 + 2 x (2 + 1) descriptors" \
    $((256 - (128 + 2 * (2 + 1)))) "$limit"
expect_match "A: /stats counts the refusals at the limit" '"refused_limit":[1-9]' "$STATS"
expect "A: the established connection after the flood" "HTTP/1.1 200 OK" "$(ka_get 4)"
exec 4<&-
stop_front

# ---- B: EMFILE itself: the limit lowered under a running server ------------
start_front --tenants "$TENANTS" --threads 2
exec 4<>"/dev/tcp/127.0.0.1/$FPORT"
expect "B: established connection answered" "HTTP/1.1 200 OK" "$(ka_get 4)"
prlimit --pid "$FRONT_PID" --nofile=128:128
flood B 200
expect_match "B: /stats counts the refusals for want of a descriptor" '"refused_no_fd":[1-9]' "$STATS"
expect "B: the established connection after the flood" "HTTP/1.1 200 OK" "$(ka_get 4)"
exec 4<&-
stop_front
finish
