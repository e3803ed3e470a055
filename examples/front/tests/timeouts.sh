#!/usr/bin/env bash
# timeouts.sh - connections the front must not keep forever: a request head
# that never completes, one that trickles in a byte at a time (slowloris,
# timed from its first byte), and an idle keep-alive connection.
# usage: timeouts.sh path/to/tenreg-front [tenreg|rwlock]
source "$(dirname "$0")/lib.sh"

start_front --tenants "$TENANTS" --request-timeout-s 1 --idle-timeout-s 2

# A head that stops half-way: closed without an answer after more than 1 s
# (timestamps are whole seconds and the sweep runs once a second: < 3 s;
# the bounds below leave room for a loaded or sanitized run).
exec 3<>"/dev/tcp/127.0.0.1/$FPORT"
printf 'GET / HTTP/1.1\r\nHost: sales.acme' >&3
t0=$(ms)
out=$(timeout 8 cat <&3)
dt=$(( $(ms) - t0 ))
exec 3<&-
expect "stalled head: no answer" "" "$out"
if [ "$dt" -ge 950 ] && [ "$dt" -le 5000 ]; then ok; else fail "stalled head closed after $dt ms"; fi

# Slowloris: a byte every 200 ms keeps the connection busy but the request
# never completes; it is still cut 1-3 s after its first byte.
exec 3<>"/dev/tcp/127.0.0.1/$FPORT"
t0=$(ms)
(for c in G E T ' ' / ' ' H T T P / 1 . 1 X X X X X X X X X X X X X X X X X X X X X X; do
     printf '%s' "$c" 2>/dev/null || exit 0; sleep 0.2; done) >&3 &
BG_PIDS+=($!)
out=$(timeout 8 cat <&3)
dt=$(( $(ms) - t0 ))
exec 3<&-
expect "slowloris: no answer" "" "$out"
if [ "$dt" -ge 950 ] && [ "$dt" -le 5000 ]; then ok; else fail "slowloris cut after $dt ms"; fi

# Idle keep-alive: answered, then closed 2-4 s later.
exec 3<>"/dev/tcp/127.0.0.1/$FPORT"
printf 'GET / HTTP/1.1\r\nHost: sales.acmemedia.example\r\n\r\n' >&3
t0=$(ms)
out=$(timeout 8 cat <&3 | tr -d '\r')
dt=$(( $(ms) - t0 ))
exec 3<&-
expect "idle: answered first" "HTTP/1.1 200 OK" "$(echo "$out" | head -1)"
if [ "$dt" -ge 1950 ] && [ "$dt" -le 6500 ]; then ok; else fail "idle connection closed after $dt ms"; fi

# A busy pipelining client whose buffer is never empty (each write ends in
# the start of the next request) is making progress: it must not be cut as
# a slow request, however long it goes on (3 s here, timeout 1 s).
exec 3<>"/dev/tcp/127.0.0.1/$FPORT"
req='GET / HTTP/1.1\r\nHost: sales.acmemedia.example\r\n\r\n'
(printf "${req}GET / HT"
 for i in $(seq 1 10); do sleep 0.3; printf "TP/1.1\r\nHost: sales.acmemedia.example\r\n\r\nGET / HT"; done
 sleep 0.3
 printf 'TP/1.1\r\nHost: sales.acmemedia.example\r\nConnection: close\r\n\r\n') >&3 2>/dev/null &
BG_PIDS+=($!)
out=$(timeout 10 cat <&3 | tr -d '\r')
exec 3<&-
expect "busy pipeline: all 12 answered" 12 "$(echo "$out" | grep -o 'HTTP/1.1 200' | wc -l)"

expect "still serving" '200||{"tenant":"acme-media","health":"healthy"}' "$(front_get sales.acmemedia.example)"
stop_front
finish
