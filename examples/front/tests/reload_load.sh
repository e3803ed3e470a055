#!/usr/bin/env bash
# reload_load.sh - issue 12 under load: wrk runs while the test reloads the
# tenant set over and over, SIGHUP and PUT /tenants alternating, each
# reload one change. Version k of the set:
#   core-0..5 (eager), core-lazy (lazy, built before the run): the same in
#       every version, so every reload keeps them;
#   movers: hosts that belong to a different tenant in each version -
#       tenreg: mv-0..2.example and the pattern *.mvp.example are extra hosts
#       of hold-(k%3): each reload takes them from one holder (which is
#       registered again: a batch cannot remove a host) and adds them to the
#       next one (hosts added: its registration, health and platform stay);
#       rwlock (one host per tenant): mv-0.example is the agent URL of
#       hold-(k%3), the others have their own URLs;
#   churn-0..3 (come and go: in every other version, two of them lazy) and
#       url-flip (its URL changes every version).
# wrk A hits only hosts that are in every version (core and movers) and must
# see nothing but 200 healthy from the right tenants: no 404, no 5xx, no
# socket error. wrk B hits the rest (the holders' own hosts, churn-*,
# url-flip) beside it, where 404s and 503s are intended (a tenant absent;
# registered and not validated or built yet) and only counted.
# usage: reload_load.sh path/to/tenreg-front [tenreg|rwlock] [seconds=10]
source "$(dirname "$0")/lib.sh"
SECS=${3:-10}
PAUSE=${RELOAD_PAUSE:-0.02}  # between reloads
CSV=$WORK/tenants.csv
report() { sed -n "s/^$2 //p" "$1"; }

# line ID URL [FIELDS...] in CSV, and the same entry in JSON (into $J)
gen() {  # gen K: writes $CSV.new and $WORK/set.json for version K
    local k=$1 i h=$(($1 % 3)) lines=() json=()
    add() {  # add ID URL LAZY HOSTS...
        local id=$1 url=$2 lazy=$3 l j hs=""
        shift 3
        l="$id, $url"
        [ "$lazy" = true ] && l="$l, lazy"
        for x in "$@"; do l="$l, host=$x"; hs="$hs${hs:+,}\"$x\""; done
        j="{\"id\":\"$id\",\"agent_url\":\"$url\",\"lazy\":$lazy"
        [ -n "$hs" ] && j="$j,\"hosts\":[$hs]"
        lines+=("$l")
        json+=("$j}")
    }
    for i in 0 1 2 3 4 5; do add "core-$i" "https://core-$i.example/adcp" false; done
    add core-lazy https://core-lazy.example true
    for i in 0 1 2; do
        if [ "$BACKEND" = tenreg ]; then
            if [ "$i" = "$h" ]; then
                add "hold-$i" "https://hold-$i.example" false mv-0.example mv-1.example mv-2.example '*.mvp.example'
            else
                add "hold-$i" "https://hold-$i.example" false
            fi
        else
            if [ "$i" = "$h" ]; then add "hold-$i" https://mv-0.example false
            else add "hold-$i" "https://hold-$i.example" false; fi
        fi
    done
    for i in 0 1 2 3; do
        [ $(((k + i) % 2)) -eq 0 ] || continue
        add "churn-$i" "https://churn-$i.example" "$([ $((i % 2)) -eq 1 ] && echo true || echo false)"
    done
    add url-flip "https://url-flip-$((k % 2)).example" false
    printf '%s\n' "# version $k" "${lines[@]}" >"$CSV.new"
    local IFS=,
    echo "{\"tenants\":[${json[*]}]}" >"$WORK/set.json"
}

reloads_ok() { admin GET /stats | grep -o '"reloads":{"ok":[0-9]*' | grep -o '[0-9]*$'; }

gen 0
mv "$CSV.new" "$CSV"
start_front --tenants "$CSV" --factory-delay-ms 20 --threads 2
wait_for "core-lazy built before the run" '^200\|\|\{"tenant":"core-lazy","health":"healthy"\}$' core-lazy.example

ALWAYS="core-0.example core-1.example Core-2.example:443 core-3.example core-4.example core-5.example core-lazy.example"
if [ "$BACKEND" = tenreg ]; then
    ALWAYS="$ALWAYS mv-0.example mv-1.example MV-2.example:8443 a.mvp.example b.c.mvp.example"
else
    ALWAYS="$ALWAYS mv-0.example MV-0.example:8443"
fi
OTHERS="hold-0.example hold-1.example hold-2.example churn-0.example churn-1.example churn-2.example churn-3.example url-flip-0.example url-flip-1.example"
ALLOWED="core-0 core-1 core-2 core-3 core-4 core-5 core-lazy hold-0 hold-1 hold-2"

RELOAD_HOSTS=$ALWAYS RELOAD_TENANTS=$ALLOWED RELOAD_REPORT=$WORK/a.txt \
    wrk -t1 -c8 -d"${SECS}s" --timeout 5s -s "$HERE/reload.lua" "$FRONT/bid" >"$WORK/wrk_a.txt" 2>&1 &
WRK_A=$!
BG_PIDS+=("$WRK_A")
RELOAD_HOSTS=$OTHERS RELOAD_REPORT=$WORK/b.txt \
    wrk -t1 -c4 -d"${SECS}s" --timeout 5s -s "$HERE/reload.lua" "$FRONT/bid" >"$WORK/wrk_b.txt" 2>&1 &
WRK_B=$!
BG_PIDS+=("$WRK_B")
sleep 0.3   # wrk connected

k=0 hups=0 puts=0 bad=0
while kill -0 "$WRK_A" 2>/dev/null; do
    k=$((k + 1))
    gen "$k"
    if [ $((k % 2)) -eq 1 ]; then
        before=$(reloads_ok)
        mv "$CSV.new" "$CSV"
        kill -HUP "$FRONT_PID"
        for ((n = 0; n < 250; n++)); do
            [ "$(reloads_ok)" != "$before" ] && break
            sleep 0.02
        done
        if [ "$(reloads_ok)" = "$before" ]; then
            bad=$((bad + 1))
            echo "reload $k (SIGHUP) did not succeed" >&2
        fi
        hups=$((hups + 1))
    else
        r=$(curl -s -o "$WORK/put.txt" -w '%{http_code}' --max-time 10 -X PUT \
            -H 'Content-Type: application/json' --data-binary @"$WORK/set.json" "$ADMIN/tenants")
        if [ "$r" != 200 ]; then
            bad=$((bad + 1))
            echo "reload $k (PUT): $r $(cat "$WORK/put.txt")" >&2
        fi
        puts=$((puts + 1))
    fi
    sleep "$PAUSE"
done
wait "$WRK_A"
expect "wrk A exit status" 0 $?
wait "$WRK_B"
expect "wrk B exit status" 0 $?
BG_PIDS=()
reloads=$((hups + puts))
expect "every reload succeeded" 0 "$bad"
# (A sanitizer's runtime slows everything down: fewer reloads fit there.)
min=50
sanitized && min=10
expect "reloads: at least $min during the run" yes "$([ "$reloads" -ge "$min" ] && echo yes || echo "no ($reloads)")"

a_req=$(report "$WORK/a.txt" requests)
a_200=$(report "$WORK/a.txt" 200)
a_404=$(report "$WORK/a.txt" 404)
a_bad=$(report "$WORK/a.txt" 200_bad)
a_5xx=$(awk '$1 ~ /^5/ {n += $2} END {print n + 0}' "$WORK/a.txt")
a_other=$(awk '$1 != "200" && $1 != "requests" && $1 != "socket_errors" && $1 != "p99_us" {n += $2} END {print n + 0}' "$WORK/a.txt")
expect "wrk A: answers counted" yes "$([ "${a_req:-0}" -gt 0 ] && echo yes)"
expect "wrk A: no socket errors" 0 "$(report "$WORK/a.txt" socket_errors)"
expect "wrk A: no 404 on a host every version has" 0 "${a_404:-0}"
expect "wrk A: no 5xx" 0 "$a_5xx"
expect "wrk A: no 200 from a wrong tenant or health" 0 "${a_bad:-0}"
expect "wrk A: nothing but 200" 0 "$a_other"

b_req=$(report "$WORK/b.txt" requests)
expect "wrk B: no socket errors" 0 "$(report "$WORK/b.txt" socket_errors)"
b_unexpected=$(awk '$1 !~ /^(200|404|503_.*|requests|socket_errors|p99_us)$/ {n += $2} END {print n + 0}' "$WORK/b.txt")
expect "wrk B: nothing but 200, 404, 503" 0 "$b_unexpected"
b_500=$(awk '$1 ~ /^50[0-2]$/ || $1 == "504" || $1 == "505" {n += $2} END {print n + 0}' "$WORK/b.txt")
expect "wrk B: no 500s" 0 "$b_500"
b_503=$(awk '$1 ~ /^503_/ {printf "%s%s %s", sep, substr($1, 5), $2; sep=", "}' "$WORK/b.txt")

st=$(admin GET /stats)
expect "no 500 at all" 0 "$(echo "$st" | grep -o '"500":[0-9]*' | cut -d: -f2)"
expect_match "the server counted the reloads" "\"reloads\":\\{\"ok\":$((reloads + 0))," "$st"
stop_front
echo "reload_load [$BACKEND]: ${SECS} s, $reloads reloads ($hups SIGHUP, $puts PUT), one change each"
echo "reload_load [$BACKEND]: hosts in every version (wrk A): ${a_req:-0} requests: 200 ${a_200:-0}, 404 ${a_404:-0}, 5xx $a_5xx, wrong tenant ${a_bad:-0}, p99 $(report "$WORK/a.txt" p99_us) us"
echo "reload_load [$BACKEND]: hosts that come, go or are re-registered (wrk B, not asserted): ${b_req:-0} requests: 200 $(report "$WORK/b.txt" 200), 404 $(report "$WORK/b.txt" 404), 503 ${b_503:-none}"
finish
