#!/usr/bin/env bash
# churn.sh ADMIN_URL OUT_DIR [PAUSE_S] - admin churn during a load run, until
# OUT_DIR/stop exists. Cycles churn-0..3 through register (eager or lazy),
# validator flips, rechecks, factory failures, host collisions and deletes.
# Only this loop touches those ids, so every answer is known in advance; a
# different one is appended to OUT_DIR/churn.err. OUT_DIR/churn.ops counts calls.
# PAUSE_S (default 0) sleeps between cycles, so a benchmark churns at a
# steady rate instead of "as fast as curl forks", which would vary by run.
ADMIN=$1
OUT=$2
PAUSE=${3:-0}
declare -A present
ops=0
: >"$OUT/churn.err"

call() {  # call EXPECTED_STATUS METHOD PATH [JSON]
    local args=(-s -o /dev/null -w '%{http_code}' --max-time 5 -X "$2" "$ADMIN$3")
    [ $# -ge 4 ] && args+=(--data-binary "$4")
    # Every admin POST says application/json, with a body or without.
    [ "$2" = POST ] && args+=(-H 'Content-Type: application/json')
    local code
    code=$(curl "${args[@]}")
    ops=$((ops + 1))
    [ "$code" == "$1" ] || echo "$2 $3 ${4:-}: expected $1, got $code" >>"$OUT/churn.err"
}

i=0
while [ ! -e "$OUT/stop" ]; do
    k=$((i % 4))
    id=churn-$k
    lazy=false
    [ $(((i / 4) % 2)) -eq 0 ] && lazy=true
    if [ "${present[$id]:-0}" = 1 ]; then want=200; else want=201; fi
    call $want POST /tenants "{\"id\":\"$id\",\"agent_url\":\"https://Churn-$k.example/adcp\",\"lazy\":$lazy}"
    present[$id]=1
    if [ $((i % 3)) -eq 0 ]; then
        call 200 POST "/tenants/$id/validator" '{"valid":false}'
        call 200 POST "/tenants/$id/recheck"
        call 200 POST "/tenants/$id/validator" '{"valid":true}'
    fi
    [ $((i % 5)) -eq 0 ] && call 200 POST "/tenants/$id/factory" '{"ok":false}'
    [ $((i % 5)) -eq 2 ] && call 200 POST "/tenants/$id/factory" '{"ok":true}'
    call 200 POST "/tenants/$id/recheck"
    [ $((i % 7)) -eq 0 ] && call 409 POST /tenants "{\"id\":\"$id\",\"agent_url\":\"sales.acmemedia.example\"}"
    [ $((i % 11)) -eq 0 ] && call 200 GET /tenants
    if [ $((i % 3)) -eq 1 ]; then
        call 204 DELETE "/tenants/$id"
        present[$id]=0
    fi
    echo "$ops" >"$OUT/churn.ops"
    i=$((i + 1))
    [ "$PAUSE" = 0 ] || sleep "$PAUSE"
done
