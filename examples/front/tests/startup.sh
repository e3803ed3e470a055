#!/usr/bin/env bash
# startup.sh - what tenreg-front refuses at startup: an admin bind other
# than 127.0.0.1, bad flags, bad tenants files (every bad line reported,
# nothing served). None of these may leave a listener or a process behind.
# usage: startup.sh path/to/tenreg-front
source "$(dirname "$0")/lib.sh"

# run_front ARGS... -> "EXIT_STATUS" with stderr in $WORK/err; bounded by timeout.
run_front() {
    local rc=0
    timeout 10 "$FRONT_BIN" --port 0 --admin-port 0 --ready-file "$WORK/ready" "$@" \
        >"$WORK/out" 2>"$WORK/err" || rc=$?
    echo "$rc"
}

for addr in 0.0.0.0 192.0.2.1 127.0.0.2 localhost ::1; do
    rm -f "$WORK/ready"
    expect "admin bind to '$addr' refused (usage error)" 2 "$(run_front --admin-bind "$addr")"
    expect_match "says why" "refusing to bind the admin API to '$addr': only 127.0.0.1" "$(cat "$WORK/err")"
    expect "never became ready" "no" "$([ -e "$WORK/ready" ] && echo yes || echo no)"
done
expect "unknown backend" 2 "$(run_front --backend memcached)"
expect "bad port" 2 "$(run_front --port 70000)"
expect "zero threads" 2 "$(run_front --threads 0)"
expect "unknown flag" 2 "$(run_front --verbose 1)"
expect "missing tenants file" 1 "$(run_front --tenants "$WORK/none.csv")"
# Issue 11's flags: numbers only, and only with the tenreg backend.
expect "bad --recheck-interval-ms" 2 "$(run_front --recheck-interval-ms 1s)"
expect "negative --build-retry-ms" 2 "$(run_front --build-retry-ms -5)"
expect "--build-retry-ms over 2^32-1" 2 "$(run_front --build-retry-ms 4294967296)"
for f in "--recheck-interval-ms 100" "--build-retry-ms 100" --transient-failures; do
    # shellcheck disable=SC2086 # the flag and its value, split on purpose
    expect "$f with --backend rwlock" 2 "$(run_front --backend rwlock $f)"
    expect_match "$f with rwlock: says why" 'need --backend tenreg' "$(cat "$WORK/err")"
done

cat >"$WORK/bad.csv" <<'CSV'
# comment
good-one, https://good.example
good-one, https://other.example
thief,    https://GOOD.example:443
spaced id, https://spaced.example
nohost,   https:///x
lazyish,  https://lazyish.example, eager
toomany,  https://a.example, lazy, x
lonely
CSV
expect "bad tenants file: exit 1" 1 "$(run_front --tenants "$WORK/bad.csv")"
err=$(cat "$WORK/err")
expect_match "duplicate id reported" "bad.csv:3: tenant id 'good-one' is defined twice" "$err"
expect_match "host collision reported" "bad.csv:4: cannot register 'thief' .*belongs to an earlier tenant" "$err"
expect_match "bad id reported" "bad.csv:5: tenant id must be" "$err"
expect_match "bad URL reported" "bad.csv:6: cannot register 'nohost'" "$err"
expect_match "bad third field reported" "bad.csv:7: unknown field 3 'eager' \(only 'lazy' and 'host=HOST'" "$err"
expect_match "a fourth field that is neither lazy nor host= reported" "bad.csv:8: unknown field 4 'x'" "$err"
expect_match "too few fields reported" "bad.csv:9: expected 'tenant_id,agent_url\[,lazy\]\[,host=HOST\]...', found 1 field$" \
    "$(grep 'bad.csv:9:' "$WORK/err")"
expect "bad lines in line order" "3 4 5 6 7 8 9" "$(grep -o '^[^ ]*bad.csv:[0-9]*:' "$WORK/err" | cut -d: -f2 | tr '\n' ' ' | sed 's/ $//')"
# The file is loaded as one change (tenants_file.h): a bad one registers
# nothing, so no platform is even made.
expect_match "a bad file makes no platform" 'platforms created 0, freed 0$' "$err"

# 5000 tenants: both backends grow their tables past their initial size
# (the rwlock map starts at 2048 buckets) and still find every host.
for i in $(seq 1 5000); do echo "t$i,https://seller-$i.example/adcp"; done >"$WORK/big.csv"
for b in tenreg rwlock; do
    BACKEND=$b
    start_front --tenants "$WORK/big.csv"
    # (front.log has stdout and stderr: the event lines come first.)
    expect_match "5000 tenants loaded ($b)" ' 5000 tenants' \
        "$(grep -m1 '^tenreg-front: backend' "$WORK/front.log")"
    for i in 1 2048 2049 4999 5000; do
        expect "tenant $i found ($b)" "200||{\"tenant\":\"t$i\",\"health\":\"healthy\"}" \
            "$(front_get "SELLER-$i.example:443")"
    done
    expect "GET /tenants lists 5000 ($b)" 5000 "$(admin GET /tenants | grep -o '"id":' | wc -l)"
    expect "DELETE after growth ($b)" "204 " "$(admin DELETE /tenants/t2049)"
    expect "deleted host misses ($b)" "404||" "$(front_get seller-2049.example)"
    stop_front
done
BACKEND=tenreg

# The examples/ file of the tool (if present) loads too: same format.
if [ -f "$HERE/../../tenants.csv" ]; then
    start_front --tenants "$HERE/../../tenants.csv"
    expect_match "the tool's tenants file loads" ' [0-9]+ tenants' \
        "$(grep -m1 '^tenreg-front: backend' "$WORK/front.log")"
    stop_front
fi
finish
