#!/usr/bin/env bash
# load.sh - wrk against the real front while churn.sh drives the admin API.
#   phase A (40% of the time): wrk -t2 -c2 checks every single answer
#            (front.lua FRONT_CHECK=1): hits 200 + right tenant, misses 404,
#            bad Hosts 400, lazy 200 or 503 EPENDING, churned tenants 200,
#            404 or an intended 503 (counted by reason and health).
#   phase B (60%): wrk -t2 -c64, full speed, with the same Host mix.
# Then: zero unexpected answers, zero socket errors, zero 5xx other than
# intended 503s (the server's own counters), zero churn surprises, the
# server still up, and a clean exit with every platform freed.
# usage: load.sh path/to/tenreg-front [tenreg|rwlock]    (LOAD_SECONDS=10)
source "$(dirname "$0")/lib.sh"
DUR=${LOAD_SECONDS:-10}
A=$((DUR * 4 / 10)); [ "$A" -ge 1 ] || A=1
B=$((DUR - A)); [ "$B" -ge 1 ] || B=1

start_front --tenants "$TENANTS" --factory-delay-ms 20
bash "$HERE/churn.sh" "$ADMIN" "$WORK" &
BG_PIDS+=($!)

report() { sed -n "s/^$2 //p" "$1"; }
stat() { echo "$1" | grep -o "\"$2\":[0-9]*" | cut -d: -f2; }

FRONT_CHECK=1 FRONT_REPORT=$WORK/a.txt wrk -t2 -c2 -d"${A}s" --timeout 5s \
    -s "$HERE/front.lua" "$FRONT/bid" >"$WORK/wrk-a.txt" 2>&1
expect "phase A: wrk exit status" 0 $?
before=$(admin GET /stats)
FRONT_REPORT=$WORK/b.txt wrk -t2 -c64 -d"${B}s" --timeout 5s --latency \
    -s "$HERE/front.lua" "$FRONT/bid" >"$WORK/wrk-b.txt" 2>&1
expect "phase B: wrk exit status" 0 $?
after=$(admin GET /stats)
touch "$WORK/stop"
wait "${BG_PIDS[@]}"
BG_PIDS=()

# ---- phase A: every answer checked ----------------------------------------
expect "phase A: unexpected answers" 0 "$(report "$WORK/a.txt" errors)"
expect "phase A: socket errors" 0 "$(report "$WORK/a.txt" socket_errors)"
grep -q '^unexpected' "$WORK/wrk-a.txt" && sed -n '/^unexpected/,$p' "$WORK/wrk-a.txt" | head -20 >&2
for cat in hit_200 miss_404 bad_400 churn_200; do
    n=$(report "$WORK/a.txt" "$cat")
    expect_match "phase A: saw $cat answers" '^[1-9][0-9]*$' "${n:-0}"
done
# ---- phase B: full speed ----------------------------------------------------
expect "phase B: socket errors" 0 "$(report "$WORK/b.txt" socket_errors)"
expect_match "phase B: requests served" '^[1-9][0-9]{3,}$' "$(report "$WORK/b.txt" requests)"
for k in 500 501 505 413 431; do
    expect "no $k over the whole run" 0 "$(stat "$after" "$k")"
done
n503=0
for r in unserved EPENDING EDISABLED EFACTORY EVALIDATOR; do
    n503=$((n503 + $(stat "$after" "503_$r") - $(stat "$before" "503_$r")))
done
non200=$(( $(stat "$after" 404) - $(stat "$before" 404) + $(stat "$after" 400) - $(stat "$before" 400) + n503 ))
wrk_non2xx=$(report "$WORK/b.txt" non2xx)
# wrk stops counting at its deadline while the server has counted answers
# still in flight: at most one per connection more.
if [ "$wrk_non2xx" -le "$non200" ] && [ $((non200 - wrk_non2xx)) -le 64 ]; then ok; else
    fail "phase B: wrk saw $wrk_non2xx non-2xx, the server sent $non200 (404+400+503)"
fi
# ---- churn -------------------------------------------------------------------
expect "churn: unexpected admin answers" "" "$(head -5 "$WORK/churn.err")"
expect_match "churn: admin calls made" '^[1-9][0-9]+$' "$(cat "$WORK/churn.ops" 2>/dev/null)"
expect "server alive after the run" yes "$(kill -0 "$FRONT_PID" 2>/dev/null && echo yes || echo no)"

echo "== $BACKEND: phase A (checked, -c2): $(report "$WORK/a.txt" requests) requests; 503 by reason_health:" \
     "$(grep '^503_' "$WORK/a.txt" | tr '\n' ' ')"
echo "== $BACKEND: phase B (-t2 -c64, ${B}s): $(report "$WORK/b.txt" rps) req/s," \
     "p50 $(report "$WORK/b.txt" p50_us) us, p99 $(report "$WORK/b.txt" p99_us) us;" \
     "server 503s: $(for r in unserved EPENDING EDISABLED EFACTORY EVALIDATOR; do
        printf '%s=%s ' "$r" $(( $(stat "$after" "503_$r") - $(stat "$before" "503_$r") )); done)" \
     "admin calls: $(cat "$WORK/churn.ops")"
stop_front
finish
