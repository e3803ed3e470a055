#!/usr/bin/env bash
# backpressure.sh - clients that pipeline requests and never read (issue 15,
# defect 7). 200 of them once took the server from ~21 MB to ~93 MB (a
# quarter MiB of answers buffered for each). Now a connection whose answers
# back up stops being read, and the answers buffered across all connections
# have a budget, so:
#   - /stats' "output" peak stays within the budget (plus at most one
#     answer per connection: a connection with nothing buffered may always
#     answer one request, so nobody is starved);
#   - the RSS grows by less than 24 MiB (not asserted under ASan/TSan,
#     whose allocators keep freed memory and which may be too slow to fill
#     more than the kernel's socket buffers; reported either way);
#   - a reading client is served while they hold on;
#   - once they are gone, nothing stays buffered.
# usage: backpressure.sh path/to/tenreg-front [backend] [path/to/front_clients]
source "$(dirname "$0")/lib.sh"
CLIENTS=${3:-$(dirname "$FRONT_BIN")/front_clients}
N=200
num() { echo "$1" | grep -o "\"$2\":[0-9]*" | head -1 | cut -d: -f2; }
# kernel_kb: the kernel's send queues of the front's connections (ss), KiB.
kernel_kb() {
    command -v ss >/dev/null || { echo "?"; return; }
    ss -tmn "sport = :$FPORT" | grep -o ',w[0-9]*,' | tr -d ',w' | awk '{s += $1} END {print int(s / 1024)}'
}

start_front --tenants "$TENANTS" --threads 2
for i in $(seq 1 20); do front_get sales.acmemedia.example >/dev/null; done
rss0=$(rss_kb "$FRONT_PID")

"$CLIENTS" pipeline "$FPORT" "$N" 30 sales.acmemedia.example >"$WORK/clients.txt" 2>&1 &
cpid=$!
BG_PIDS+=("$cpid")
wait_line "$WORK/clients.txt" '^ready' 20 || fail "the pipelining clients never got ready"
# The clients have stopped sending; the server may still be answering what
# the kernel buffered for it. Measure once it is idle (no CPU used for
# 0.3 s), i.e. with every answer it will buffer buffered (at most 10 s).
last=-1
for i in $(seq 1 33); do
    now=$(cpu_ticks "$FRONT_PID")
    [ "$now" = "$last" ] && break
    last=$now
    sleep 0.3
done
rss1=$(rss_kb "$FRONT_PID")
kern=$(kernel_kb)
expect "a reading client is served meanwhile" '200||{"tenant":"acme-media","health":"healthy"}' \
    "$(front_get sales.acmemedia.example)"
stats=$(admin GET /stats)
out=$(echo "$stats" | grep -o '"output":{[^}]*}')
budget=$(num "$out" budget)
peak=$(num "$out" peak)
kill "$cpid"
wait "$cpid" 2>/dev/null
BG_PIDS=()
sleep 0.5
stats2=$(admin GET /stats)
rss2=$(rss_kb "$FRONT_PID")
echo "== $N clients that never read: $(head -1 "$WORK/clients.txt");" \
     "RSS before $((rss0 / 1024)) MiB, while they hold $((rss1 / 1024)) MiB (+$(((rss1 - rss0) / 1024)) MiB)," \
     "after they left $((rss2 / 1024)) MiB; kernel send queues $kern KiB; output ${out:-(not reported)}"

expect_match "/stats reports the output budget" '^[1-9][0-9]*$' "$budget"
expect_match "/stats reports the peak of buffered output" '^[0-9]+$' "$peak"
if [ -n "$budget" ] && [ -n "$peak" ] && [ "$peak" -le $((budget + N * 1024)) ]; then ok; else
    fail "buffered output peaked at '$peak' bytes, budget '$budget' (+ one answer per connection)"
fi
if sanitized; then
    # Too slow (TSan) to answer more than the kernel's socket buffers hold
    # within the clients' 10 s, and its allocator keeps freed memory.
    echo "(sanitized build: RSS and 'the server had to buffer' not asserted)"
else
    if [ -n "$peak" ] && [ "$peak" -gt 0 ]; then ok; else fail "the clients never made the server buffer"; fi
    if [ $((rss1 - rss0)) -lt $((24 * 1024)) ]; then ok; else
        fail "RSS grew by $(((rss1 - rss0) / 1024)) MiB under $N clients that never read"
    fi
fi
expect "nothing stays buffered once they are gone" 0 \
    "$(num "$(echo "$stats2" | grep -o '"output":{[^}]*}')" buffered)"
expect "still serving" '200||{"tenant":"acme-media","health":"healthy"}' "$(front_get sales.acmemedia.example)"
stop_front
finish
