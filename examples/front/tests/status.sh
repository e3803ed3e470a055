#!/usr/bin/env bash
# status.sh - issue 11's front part, with curl:
#   a. GET /tenants/{id}: the whole status (tenreg_status_of) and hosts, before
#      and after rechecks, with the demo validator's and factory's reasons
#      (tenreg_set_reason: kept, cut at 127 bytes, control bytes replaced,
#      cleared by a valid check);
#   b. the event log: one line per event on stderr, in order;
#   c. GET /metrics: Content-Type 0.0.4, `promtool check metrics` clean, the
#      registry's counters and the front's per-status counters moving by
#      exactly the requests sent (a 200 and a 404 counted);
#   d. --recheck-interval-ms: a tenant registered without awaiting becomes
#      healthy with no admin call; --transient-failures: a validator that
#      cannot check moves healthy to unverified, never further; invalid
#      disables; --build-retry-ms: a failed lazy build is retried by a
#      request once its time is up. Every wait is bounded (a few seconds).
# With --backend rwlock: the fields that backend keeps, no registry metrics,
# no events.
# usage: status.sh path/to/tenreg-front [tenreg|rwlock] path/to/promtool
source "$(dirname "$0")/lib.sh"
PROMTOOL=${3:-}

# promtool is required: a missing one fails the test, it never skips it.
if [ -z "$PROMTOOL" ] || ! "$PROMTOOL" --version >/dev/null 2>&1; then
    echo "FAIL: promtool '${PROMTOOL}' does not run: install the Debian package prometheus" \
         "(scripts/install-deps.sh)" >&2
    exit 1
fi

ISO='"20[0-9]{2}-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9]\.[0-9]{9}Z"'

# field JSON NAME: the raw value of a top-level member (string with quotes).
field() { grep -oE "\"$2\":(\"([^\"\\\\]|\\\\.)*\"|[^,}]*)" <<<"$1" | head -1 | cut -d: -f2-; }

status_of() { admin GET "/tenants/$1" | cut -d' ' -f2-; }

# scrape: GET /metrics into $WORK/metrics (headers in $WORK/mhdr), checked
# with promtool each time.
scrape() {
    local code
    code=$(curl -s -o "$WORK/metrics" -D "$WORK/mhdr" -w '%{http_code}' "$ADMIN/metrics")
    expect "GET /metrics $1: 200" 200 "$code"
    if "$PROMTOOL" check metrics <"$WORK/metrics" >"$WORK/promtool.txt" 2>&1; then
        ok
    else
        fail "promtool check metrics $1: $(cat "$WORK/promtool.txt")"
    fi
}
# metric 'NAME{LABELS}': its value in the last scrape ("" if absent).
metric() { grep -F "$1 " "$WORK/metrics" | grep -vF '#' | awk -v n="$1" '$1 == n {print $2}'; }

# wait_status DESC ID ERE: polls GET /tenants/ID until it matches (5 s).
wait_status() {
    local n got
    for ((n = 0; n < 100; n++)); do
        got=$(status_of "$2")
        [[ "$got" =~ $3 ]] && break
        sleep 0.05
    done
    expect_match "$1" "$3" "$got"
}

# events TENANT: the event lines of one tenant, without the prefix and time.
events() {
    grep "^tenreg-front: event [a-z_]* tenant=$1 " "$WORK/front.log" |
        sed -e 's/^tenreg-front: event //' -e 's/ at=[^ ]*$//'
}

hits() {  # hits N HOST: N requests on the front, answers discarded
    local n
    for ((n = 0; n < $1; n++)); do curl -s -o /dev/null -H "Host: $2" "$FRONT/bid"; done
}

if [ "$BACKEND" = rwlock ]; then
    start_front --tenants "$TENANTS" --threads 2 --factory-delay-ms 50
    expect "rwlock: the fields it keeps" \
        '{"id":"bluefin-news","health":"healthy","lazy":false,"built":true,"hosts":["adcp.bluefin-news.example"],"host_count":1}' \
        "$(status_of bluefin-news)"
    expect "rwlock: lazy, unbuilt" \
        '{"id":"delta-streaming","health":"pending","lazy":true,"built":false,"hosts":["ads.delta-streaming.example"],"host_count":1}' \
        "$(status_of delta-streaming)"
    expect "rwlock: unknown tenant" '404 {"error":"no such tenant"}' "$(admin GET /tenants/nobody)"
    admin POST /tenants/bluefin-news/validator '{"valid":false,"reason":"kept nowhere"}' >/dev/null
    admin POST /tenants/bluefin-news/recheck >/dev/null
    expect "rwlock: recheck seen, no verdict or reason" \
        '{"id":"bluefin-news","health":"unverified","lazy":false,"built":true,"hosts":["adcp.bluefin-news.example"],"host_count":1}' \
        "$(status_of bluefin-news)"
    expect "rwlock: eager without awaiting stays pending" '201 {"id":"drift","health":"pending","lazy":false}' \
        "$(admin POST /tenants '{"id":"drift","agent_url":"drift.example","await":false}')"
    admin POST /tenants/drift/recheck >/dev/null
    expect_match "rwlock: its recheck validates it" '^\{"id":"drift","health":"healthy",' "$(status_of drift)"
    scrape "(rwlock, first)"
    expect_match "rwlock: Content-Type 0.0.4" 'Content-Type: text/plain; version=0\.0\.4' \
        "$(tr -d '\r' <"$WORK/mhdr")"
    expect "rwlock: backend named" 1 "$(metric 'tenreg_front_info{backend="rwlock"}')"
    expect "rwlock: no registry counters" "" "$(grep -E '^tenreg_(tenants|checks_total)' "$WORK/metrics")"
    c200=$(metric 'tenreg_front_responses_total{code="200"}')
    c404=$(metric 'tenreg_front_responses_total{code="404"}')
    hits 3 sales.acmemedia.example
    hits 2 nobody.example
    scrape "(rwlock, after 5 requests)"
    expect "rwlock: 3 more 200s" $((c200 + 3)) "$(metric 'tenreg_front_responses_total{code="200"}')"
    expect "rwlock: 2 more 404s" $((c404 + 2)) "$(metric 'tenreg_front_responses_total{code="404"}')"
    expect "rwlock: no event lines" 0 "$(grep -c '^tenreg-front: event ' "$WORK/front.log")"
    stop_front
    finish
    exit
fi

# ==== a-c: no background rechecks: every change below is an admin call's ====
start_front --tenants "$TENANTS" --threads 2 --factory-delay-ms 50

s=$(status_of bluefin-news)
expect_match "eager, awaited: valid, no reason, no failures" \
    "^\\{\"id\":\"bluefin-news\",\"health\":\"healthy\",\"verdict\":\"valid\",\"reason\":\"\",\"failures\":0,\"checked_at\":$ISO,\"registered_at\":$ISO,\"lazy\":false,\"built\":true,\"hosts\":\\[\"adcp.bluefin-news.example\"\\],\"host_count\":1\\}$" \
    "$s"
checked0=$(field "$s" checked_at)
registered0=$(field "$s" registered_at)
expect "checked after registered" yes "$([[ "$checked0" > "$registered0" || "$checked0" == "$registered0" ]] && echo yes)"
expect_match "lazy, not built: unchecked, checked_at null" \
    '^\{"id":"delta-streaming","health":"pending","verdict":"unchecked","reason":"","failures":0,"checked_at":null,"registered_at":"[^"]+","lazy":true,"built":false,"hosts":\["ads.delta-streaming.example"\],"host_count":1\}$' \
    "$(status_of delta-streaming)"
expect "unknown tenant" '404 {"error":"no such tenant"}' "$(admin GET /tenants/nobody)"
expect "bad id" 400 "$(admin GET '/tenants/a%20b' | cut -d' ' -f1)"
expect "HEAD /tenants/{id}" 200 "$(curl -s -I -o /dev/null -w '%{http_code}' "$ADMIN/tenants/bluefin-news")"

# hosts: the list the hosts endpoint gives, and the count
admin POST /tenants/acme-media/hosts '{"host":"Ads.AcmeMedia.example:443"}' >/dev/null
admin POST /tenants/acme-media/hosts '{"host":"*.acme.example"}' >/dev/null
expect_match "hosts as GET .../hosts lists them, and their count" \
    '"hosts":\["sales.acmemedia.example","ads.acmemedia.example","\*.acme.example"\],"host_count":3\}$' \
    "$(status_of acme-media)"
expect "the hosts endpoint agrees" \
    '200 {"id":"acme-media","hosts":["sales.acmemedia.example","ads.acmemedia.example","*.acme.example"]}' \
    "$(admin GET /tenants/acme-media/hosts)"

# before/after a recheck: invalid, with the validator's reason
expect "validator: invalid with a reason" '200 {"id":"bluefin-news","health":"healthy","valid":false}' \
    "$(admin POST /tenants/bluefin-news/validator '{"valid":false,"reason":"agent said 403 \"forbidden\""}')"
expect "recheck: invalid" '200 {"id":"bluefin-news","health":"unverified","valid":false}' \
    "$(admin POST /tenants/bluefin-news/recheck)"
s=$(status_of bluefin-news)
expect_match "after the recheck: unverified, invalid, the reason, 1 failure" \
    "^\\{\"id\":\"bluefin-news\",\"health\":\"unverified\",\"verdict\":\"invalid\",\"reason\":\"agent said 403 \\\\\"forbidden\\\\\"\",\"failures\":1,\"checked_at\":$ISO," \
    "$s"
checked1=$(field "$s" checked_at)
expect "checked_at moved" yes "$([[ "$checked1" > "$checked0" ]] && echo yes)"
expect "registered_at did not" "$registered0" "$(field "$s" registered_at)"
expect "unverified is still served" '200||{"tenant":"bluefin-news","health":"unverified"}' \
    "$(front_get adcp.bluefin-news.example)"

# a validator that cannot check, without --transient-failures: the seed's rules
expect "validator: check failed" \
    '200 {"id":"bluefin-news","health":"unverified","valid":false,"check_failed":true}' \
    "$(admin POST /tenants/bluefin-news/validator \
        '{"valid":false,"check_failed":true,"reason":"line one\nline\ttwo"}')"
admin POST /tenants/bluefin-news/recheck >/dev/null
expect_match "check failed: disabled (no transient rules), 2 failures, control bytes replaced" \
    '^\{"id":"bluefin-news","health":"disabled","verdict":"check_failed","reason":"line one\?line\?two","failures":2,' \
    "$(status_of bluefin-news)"

# a reason is cut at 127 bytes, never inside a UTF-8 sequence
long=$(printf 'r%.0s' $(seq 1 126))
admin POST /tenants/bluefin-news/validator "{\"valid\":false,\"reason\":\"${long}é and more\"}" >/dev/null
admin POST /tenants/bluefin-news/recheck >/dev/null
expect "a long reason is cut before the 2-byte é" "\"$long\"" "$(field "$(status_of bluefin-news)" reason)"

# a reason that is not UTF-8 (a stray \xff, a truncated sequence, an
# overlong '/', an encoded surrogate) is still valid JSON: each maximal
# ill-formed part is \ufffd, the valid é and € pass unchanged. python3's
# json (strict UTF-8 on bytes) must parse it; it fails, never skips.
bad=$(printf 'x \xff y \xe2\x82 z \xc0\xaf w \xed\xa0\x80 v \xc3\xa9\xe2\x82\xac')
admin POST /tenants/bluefin-news/validator "{\"valid\":false,\"reason\":\"$bad\"}" >/dev/null
admin POST /tenants/bluefin-news/recheck >/dev/null
curl -s -o "$WORK/bad.json" "$ADMIN/tenants/bluefin-news"
expect "invalid UTF-8 in a reason: \\ufffd each" \
    '"x \ufffd y \ufffd z \ufffd\ufffd w \ufffd\ufffd\ufffd v é€"' "$(field "$(cat "$WORK/bad.json")" reason)"
PY=$(command -v python3 || echo /usr/bin/python3)
expect "invalid UTF-8 in a reason: the status parses as strict UTF-8 JSON" \
    'x \ufffd y \ufffd z \ufffd\ufffd w \ufffd\ufffd\ufffd v \u00e9\u20ac' \
    "$("$PY" -c 'import json, sys; print(json.dumps(json.loads(sys.stdin.buffer.read())["reason"])[1:-1])' \
        <"$WORK/bad.json" 2>&1)"

# valid again: healthy, the reason cleared, failures reset
admin POST /tenants/bluefin-news/validator '{"valid":true}' >/dev/null
admin POST /tenants/bluefin-news/recheck >/dev/null
expect_match "valid again: reason cleared, failures 0" \
    '^\{"id":"bluefin-news","health":"healthy","verdict":"valid","reason":"","failures":0,' \
    "$(status_of bluefin-news)"

# a lazy build that fails, with the factory's reason
admin POST /tenants '{"id":"kite","agent_url":"kite.example","lazy":true}' >/dev/null
expect "factory: fails with a reason" '200 {"id":"kite","health":"pending","factory_ok":false}' \
    "$(admin POST /tenants/kite/factory '{"ok":false,"reason":"auth handshake failed"}')"
expect "first request: the build starts" '503|1|{"tenant":"kite","health":"pending","reason":"EPENDING"}' \
    "$(front_get kite.example)"
wait_for "the build failed" '^503\|30\|\{"tenant":"kite","health":"disabled","reason":"EDISABLED"\}$' kite.example
expect_match "build failed: its verdict and reason, not built" \
    '^\{"id":"kite","health":"disabled","verdict":"build_failed","reason":"auth handshake failed","failures":1,"checked_at":"[^"]+","registered_at":"[^"]+","lazy":true,"built":false,' \
    "$(status_of kite)"

# eager without awaiting: pending until a check
expect "await false: 201 pending" '201 {"id":"drift","health":"pending","lazy":false}' \
    "$(admin POST /tenants '{"id":"drift","agent_url":"drift.example","await":false}')"
expect_match "not awaited: unchecked, but built" \
    '^\{"id":"drift","health":"pending","verdict":"unchecked","reason":"","failures":0,"checked_at":null,.*"lazy":false,"built":true,' \
    "$(status_of drift)"
expect "not awaited: not served yet" '503|30|{"tenant":"drift","health":"pending","reason":"unserved"}' \
    "$(front_get drift.example)"

# refusals of the new members, each changing nothing
expect "lazy and await" \
    "400 {\"error\":\"'await' is for eager tenants: a lazy one is built on its first request\"}" \
    "$(admin POST /tenants '{"id":"owl","agent_url":"owl.example","lazy":true,"await":true}')"
expect "owl not registered" 404 "$(admin GET /tenants/owl | cut -d' ' -f1)"
expect "await not boolean" "400 {\"error\":\"'await' must be true or false\"}" \
    "$(admin POST /tenants '{"id":"owl","agent_url":"owl.example","await":"no"}')"
expect "check_failed with valid true" "400 {\"error\":\"'check_failed' needs \\\"valid\\\": false\"}" \
    "$(admin POST /tenants/drift/validator '{"valid":true,"check_failed":true}')"
expect "a reason with valid true" \
    "400 {\"error\":\"'reason' is for a failing validator (\\\"valid\\\": false)\"}" \
    "$(admin POST /tenants/drift/validator '{"valid":true,"reason":"x"}')"
expect "a reason with ok true" "400 {\"error\":\"'reason' is for a failing factory (\\\"ok\\\": false)\"}" \
    "$(admin POST /tenants/kite/factory '{"ok":true,"reason":"x"}')"
expect "a reason not a string" "400 {\"error\":\"'reason' must be a string\"}" \
    "$(admin POST /tenants/drift/validator '{"valid":false,"reason":true}')"
expect "check_failed not boolean" "400 {\"error\":\"'check_failed' must be true or false\"}" \
    "$(admin POST /tenants/drift/validator '{"valid":false,"check_failed":"yes"}')"
admin POST /tenants/drift/recheck >/dev/null
expect_match "after the refusals drift's validator still says valid" '^\{"id":"drift","health":"healthy","verdict":"valid",' \
    "$(status_of drift)"

# ---- c. /metrics ------------------------------------------------------------
scrape "(first)"
expect_match "Content-Type: the text format 0.0.4" \
    $'Content-Type: text/plain; version=0\\.0\\.4; charset=utf-8' "$(tr -d '\r' <"$WORK/mhdr")"
expect_match "# HELP and # TYPE for a counter" \
    $'# HELP tenreg_checks_total [^\n]+\n# TYPE tenreg_checks_total counter\ntenreg_checks_total [0-9]+' \
    "$(cat "$WORK/metrics")"
expect "backend named" 1 "$(metric 'tenreg_front_info{backend="tenreg"}')"
ntenants=$(admin GET /tenants | grep -o '"id":' | wc -l)
expect "tenreg_tenants = GET /tenants" "$ntenants" "$(metric tenreg_tenants)"
sum=0
for h in pending healthy unverified disabled; do
    v=$(metric "tenreg_tenants_by_health{health=\"$h\"}")
    sum=$((sum + ${v:-0}))
done
expect "tenants by health add up" "$ntenants" "$sum"
expect "disabled: kite" 1 "$(metric 'tenreg_tenants_by_health{health="disabled"}')"
expect "hosts: 9 tenants' + acme's extra one" $((ntenants + 1)) "$(metric tenreg_hosts)"
expect "patterns: acme's" 1 "$(metric tenreg_patterns)"
expect "a failed build counted" 1 "$(metric tenreg_builds_failed_total)"
expect_match "bytes, a gauge" '^[1-9][0-9]*$' "$(metric tenreg_memory_bytes)"
for m in tenreg_lazy_unbuilt_tenants tenreg_events_total tenreg_events_dropped_total \
         tenreg_deferred_objects 'tenreg_front_connections{server="front"}' \
         'tenreg_front_connections_refused_total{server="front",reason="limit"}' \
         'tenreg_front_listen_pauses_total{server="admin"}' tenreg_front_output_budget_bytes \
         tenreg_front_platforms_created_total; do
    expect_match "$m present" '^[0-9]+$' "$(metric "$m")"
done
checks=$(metric tenreg_checks_total)
failed=$(metric tenreg_checks_failed_total)
c200=$(metric 'tenreg_front_responses_total{code="200"}')
c404=$(metric 'tenreg_front_responses_total{code="404"}')
c503=$(metric 'tenreg_front_responses_total{code="503",reason="EDISABLED"}')
expect_match "kite's 503s counted by reason" '^[1-9][0-9]*$' "$c503"
# Separate connections: the two workers both answer, each counts its own.
hits 3 sales.acmemedia.example
hits 2 nobody.example
front_get kite.example >/dev/null
admin POST /tenants/bluefin-news/validator '{"valid":false}' >/dev/null
admin POST /tenants/bluefin-news/recheck >/dev/null
scrape "(after requests)"
expect "3 more 200s" $((c200 + 3)) "$(metric 'tenreg_front_responses_total{code="200"}')"
expect "2 more 404s" $((c404 + 2)) "$(metric 'tenreg_front_responses_total{code="404"}')"
expect "1 more 503 EDISABLED" $((c503 + 1)) \
    "$(metric 'tenreg_front_responses_total{code="503",reason="EDISABLED"}')"
expect "a recheck: 1 more check" $((checks + 1)) "$(metric tenreg_checks_total)"
expect "... and 1 more failed check" $((failed + 1)) "$(metric tenreg_checks_failed_total)"
expect "HEAD /metrics" 200 "$(curl -s -I -o /dev/null -w '%{http_code}' "$ADMIN/metrics")"
expect_match "POST /metrics: 405" '^405 ' "$(admin POST /metrics)"

# ---- b. the event log (front.log: stdout and stderr) -----------------------
expect "events of bluefin-news, in order" \
"registered tenant=bluefin-news from=pending to=pending verdict=unchecked reason=\"\"
health tenant=bluefin-news from=pending to=healthy verdict=valid reason=\"\"
health tenant=bluefin-news from=healthy to=unverified verdict=invalid reason=\"agent said 403 \\\"forbidden\\\"\"
health tenant=bluefin-news from=unverified to=disabled verdict=check_failed reason=\"line one?line?two\"
health tenant=bluefin-news from=disabled to=healthy verdict=valid reason=\"\"
health tenant=bluefin-news from=healthy to=unverified verdict=invalid reason=\"\"" "$(events bluefin-news)"
expect "events of kite: build_failed, then health" \
"registered tenant=kite from=pending to=pending verdict=unchecked reason=\"\"
build_failed tenant=kite from=pending to=disabled verdict=build_failed reason=\"auth handshake failed\"
health tenant=kite from=pending to=disabled verdict=build_failed reason=\"auth handshake failed\"" "$(events kite)"
expect_match "an event line's time is ISO 8601 UTC" \
    "^tenreg-front: event registered tenant=kite from=pending to=pending verdict=unchecked reason=\"\" at=${ISO//\"/}$" \
    "$(grep -m1 '^tenreg-front: event registered tenant=kite ' "$WORK/front.log")"
admin DELETE /tenants/kite >/dev/null
stop_front
expect "unregistered, delivered by the exit at the latest" \
    'unregistered tenant=kite from=disabled to=disabled verdict=unchecked reason=""' \
    "$(events kite | tail -1)"

# ==== d. background rechecks, transient failures, build retries ==============
start_front --tenants "$TENANTS" --threads 2 --factory-delay-ms 50 \
    --recheck-interval-ms 300 --transient-failures --build-retry-ms 300
# (The first background check falls at a random point of the first 300 ms:
# it may even come before the POST's answer reads the health back. Part a
# showed that nothing else checks a tenant registered without awaiting,
# and the event log shows the way it went.)
expect_match "not awaited: 201" '^201 \{"id":"drift","health":"(pending|healthy)","lazy":false\}$' \
    "$(admin POST /tenants '{"id":"drift","agent_url":"drift.example","await":false}')"
wait_status "healthy with no admin call (background check)" drift \
    '^\{"id":"drift","health":"healthy","verdict":"valid","reason":"","failures":0,"checked_at":"'
expect "served" '200||{"tenant":"drift","health":"healthy"}' "$(front_get drift.example)"
expect "drift's events: registered, then pending -> healthy" \
"registered tenant=drift from=pending to=pending verdict=unchecked reason=\"\"
health tenant=drift from=pending to=healthy verdict=valid reason=\"\"" "$(events drift)"
scrape "(background checks, first)"
checks=$(metric tenreg_checks_total)
sleep 1
scrape "(background checks, 1 s later)"
# 6 eager tenants, one check each about every 300 ms: ~20 in a second;
# at least one round (6) whatever the machine's load.
expect "background checks counted" yes "$([ "$(metric tenreg_checks_total)" -ge $((checks + 6)) ] && echo yes)"

# transient rules: could not check -> unverified, and no further
admin POST /tenants/bluefin-news/validator '{"valid":false,"check_failed":true,"reason":"agent timed out"}' >/dev/null
wait_status "could not check: healthy -> unverified (transient)" bluefin-news \
    '^\{"id":"bluefin-news","health":"unverified","verdict":"check_failed","reason":"agent timed out","failures":[1-9]'
wait_status "more failed checks: still unverified" bluefin-news \
    '^\{"id":"bluefin-news","health":"unverified","verdict":"check_failed","reason":"agent timed out","failures":[3-9]'
expect "served while unverified" '200||{"tenant":"bluefin-news","health":"unverified"}' \
    "$(front_get adcp.bluefin-news.example)"
admin POST /tenants/bluefin-news/validator '{"valid":false,"reason":"agent says no"}' >/dev/null
wait_status "invalid: disabled" bluefin-news \
    '^\{"id":"bluefin-news","health":"disabled","verdict":"invalid","reason":"agent says no",'
admin POST /tenants/bluefin-news/validator '{"valid":true}' >/dev/null
wait_status "valid: healthy again, by itself" bluefin-news \
    '^\{"id":"bluefin-news","health":"healthy","verdict":"valid","reason":"","failures":0,'
expect "bluefin-news's health events (each a real change)" \
"health tenant=bluefin-news from=pending to=healthy verdict=valid reason=\"\"
health tenant=bluefin-news from=healthy to=unverified verdict=check_failed reason=\"agent timed out\"
health tenant=bluefin-news from=unverified to=disabled verdict=invalid reason=\"agent says no\"
health tenant=bluefin-news from=disabled to=healthy verdict=valid reason=\"\"" \
    "$(events bluefin-news | grep '^health ')"

# build retries: the first attempt fails, a request after 300 ms retries.
# (Its status may not show the failure for long: a background check of the
# unbuilt tenant that finds it valid makes it healthy - before the build,
# or after the failure, when it stays EDISABLED on the front until the
# retry; the event log has the whole story.)
admin POST /tenants '{"id":"kite","agent_url":"kite.example","lazy":true}' >/dev/null
admin POST /tenants/kite/factory '{"ok":false,"reason":"auth handshake failed"}' >/dev/null
front_get kite.example >/dev/null
if wait_line "$WORK/front.log" '^tenreg-front: event build_failed tenant=kite ' 5; then ok; else
    fail "no build_failed event for kite in 5 s"; fi
admin POST /tenants/kite/factory '{"ok":true}' >/dev/null
wait_for "a request after the retry time builds it" '^200\|\|\{"tenant":"kite","health":"healthy"\}$' kite.example
expect_match "built: valid, failures 0" \
    '^\{"id":"kite","health":"healthy","verdict":"valid","reason":"","failures":0,.*"lazy":true,"built":true,' \
    "$(status_of kite)"
expect_match "kite's events: a failed build, then (later) a built one" \
    $'\nbuild_failed tenant=kite from=[a-z]+ to=disabled verdict=build_failed reason="auth handshake failed"\nhealth tenant=kite from=[a-z]+ to=disabled [^\n]*\n(.*\n)?built tenant=kite from=[a-z]+ to=healthy verdict=valid reason=""' \
    "$(events kite)"
scrape "(background checks, last)"
stop_front
finish
