#!/usr/bin/env bash
# reload.sh - issue 12: the whole tenant set replaced in one change, by
# SIGHUP (the tenants file again) and by PUT /tenants (a JSON set):
#   a. SIGHUP with a changed file: a tenant added, one removed, one with a
#      new URL, one that only gains a host, and unchanged ones whose health
#      (an eager tenant made unverified) and built lazy platform survive;
#   b. a bad file changes nothing: every bad line reported with its line
#      number, as at start; a file the commit refuses (a host for two
#      tenants) names the lines and frees every platform it made;
#   c. PUT /tenants: the same, sharing what SIGHUP loaded; every error
#      case with its JSON body, nothing changed by any of them;
#   d. a single admin call makes the next reload register that tenant
#      again rather than keep what it no longer matches.
# usage: reload.sh path/to/tenreg-front [tenreg|rwlock]
source "$(dirname "$0")/lib.sh"

CSV=$WORK/tenants.csv
T=$BACKEND      # extra hosts (host=, "hosts") are the tenreg backend's
field() { echo "$1" | grep -o "\"$2\":[^,}]*" | head -1 | cut -d: -f2- | tr -d '"'; }
status_of() { admin GET "/tenants/$1" | cut -d' ' -f2-; }
reloads() { admin GET /stats | grep -o '"reloads":{[^}]*}'; }
platforms() { admin GET /stats | grep -o '"platforms":{[^}]*}'; }
# live platforms: created - freed
live() { local p; p=$(platforms); echo $(( $(field "$p" created) - $(field "$p" freed) )); }
ids() { admin GET /tenants | grep -o '"id":"[^"]*"' | cut -d'"' -f4 | sort | tr '\n' ' '; }
events_of() { grep -c "^tenreg-front: event $1 tenant=$2 " "$WORK/front.log"; }

# hup: SIGHUP, then wait until /stats counts one more reload (ok or failed).
hup() {
    local before now n
    before=$(reloads)
    kill -HUP "$FRONT_PID"
    for ((n = 0; n < 200; n++)); do
        now=$(reloads)
        [ "$now" != "$before" ] && return 0
        sleep 0.02
    done
    fail "no reload 4 s after SIGHUP"
}
last_log() { grep "$1" "$WORK/front.log" | tail -1; }

# ---- v1 --------------------------------------------------------------------
{
    echo "# v1"
    echo "keep-eager, https://keep.example/adcp"
    echo "keep-lazy,  https://keep-lazy.example, lazy"
    echo "moving,     https://old.moving.example"
    echo "gone,       https://gone.example"
    if [ "$T" = tenreg ]; then echo "holder,     https://holder.example, host=one.holder.example"; fi
} >"$CSV"
start_front --tenants "$CSV" --threads 2 --factory-delay-ms 50
expect_match "v1 loaded" "^tenreg-front: backend $BACKEND, $([ "$T" = tenreg ] && echo 5 || echo 4) tenants" \
    "$(grep -m1 '^tenreg-front: backend' "$WORK/front.log")"
expect "no reload counted yet" '"reloads":{"ok":0,"failed":0}' "$(reloads)"

# State that a reload must not touch: keep-eager made unverified (invalid
# validator + recheck), keep-lazy built by its first requests.
admin POST /tenants/keep-eager/validator '{"valid":false}' >/dev/null
expect "keep-eager: unverified" '200 {"id":"keep-eager","health":"unverified","valid":false}' \
    "$(admin POST /tenants/keep-eager/recheck)"
wait_for "keep-lazy built" '^200\|\|\{"tenant":"keep-lazy","health":"healthy"\}$' keep-lazy.example
s_eager=$(status_of keep-eager)
s_lazy=$(status_of keep-lazy)
s_holder=$(status_of holder)
expect "keep-lazy: built" true "$(field "$s_lazy" built)"

# ---- a. SIGHUP with a changed file ------------------------------------------
{
    echo "# v2: lines moved around on purpose: only their content counts"
    echo "fresh,      https://fresh.example"
    echo ""
    echo "keep-lazy,  https://keep-lazy.example, lazy"
    echo "moving,     https://new.moving.example"
    echo "keep-eager, https://keep.example/adcp"
    if [ "$T" = tenreg ]; then
        echo "holder,     https://holder.example, host=one.holder.example, host=*.two.holder.example"
    fi
} >"$CSV.new"
mv "$CSV.new" "$CSV"
hup
if [ "$T" = tenreg ]; then
    expect "a: summary line" "tenreg-front: SIGHUP: reloaded $CSV: 5 tenants: 2 kept, 1 updated, 2 registered, 1 unregistered" \
        "$(last_log 'SIGHUP: reloaded')"
else
    expect "a: summary line" "tenreg-front: SIGHUP: reloaded $CSV: 4 tenants: 2 kept, 0 updated, 2 registered, 1 unregistered" \
        "$(last_log 'SIGHUP: reloaded')"
fi
expect "a: counted" '"reloads":{"ok":1,"failed":0}' "$(reloads)"
expect "a: the new set" "$( (echo fresh keep-eager keep-lazy moving; [ "$T" = tenreg ] && echo holder) |
    tr ' ' '\n' | sort | tr '\n' ' ')" "$(ids)"
expect "a: kept eager: health survives (unverified, not re-validated)" "$s_eager" "$(status_of keep-eager)"
expect "a: kept eager: still served as unverified" '200||{"tenant":"keep-eager","health":"unverified"}' \
    "$(front_get keep.example)"
expect "a: kept lazy: its built platform survives (no 503, no new build)" "$s_lazy" "$(status_of keep-lazy)"
expect "a: kept lazy: served at once" '200||{"tenant":"keep-lazy","health":"healthy"}' \
    "$(front_get keep-lazy.example)"
expect "a: moved URL: old host gone" "404||" "$(front_get old.moving.example)"
expect "a: moved URL: new host served, validated" '200||{"tenant":"moving","health":"healthy"}' \
    "$(front_get new.moving.example)"
expect "a: removed tenant: 404 on the front" "404||" "$(front_get gone.example)"
expect "a: removed tenant: unknown to the admin API" '404 {"error":"no such tenant"}' "$(admin GET /tenants/gone)"
expect "a: new tenant: served, validated" '200||{"tenant":"fresh","health":"healthy"}' "$(front_get fresh.example)"
if [ "$T" = tenreg ]; then
    # holder only gained a pattern: same registration (registered_at), new host served
    s=$(status_of holder)
    expect "a: hosts added: the same registration" "$(field "$s_holder" registered_at)" "$(field "$s" registered_at)"
    expect_match "a: hosts added: listed" '"hosts":\["holder.example","one.holder.example","\*.two.holder.example"\]' "$s"
    expect "a: hosts added: served" '200||{"tenant":"holder","health":"healthy"}' "$(front_get x.two.holder.example)"
    expect "a: kept eager: no second registered event" 1 "$(events_of registered keep-eager)"
    expect "a: kept lazy: one build only" 1 "$(events_of built keep-lazy)"
    expect "a: moving: registered again" 2 "$(events_of registered moving)"
    expect "a: gone: unregistered event" 1 "$(events_of unregistered gone)"
fi
v2_ids=$(ids)
v2_live=$(live)

# ---- b. a bad file changes nothing ------------------------------------------
cp "$CSV" "$WORK/v2.csv"
{
    echo "keep-eager, https://keep.example/adcp"
    echo "keep-lazy,  https://keep-lazy.example, lazy"
    echo "bad id!,    https://bad.example"
    echo "fresh,      https://fresh.example"
    echo "fresh,      https://fresh-again.example"
    echo "nohost,     https:///x"
    echo "thief,      https://FRESH.example:443/x"
    echo "toolazy,    https://toolazy.example, lazy, lazy"
} >"$CSV"
cp "$WORK/front.log" "$WORK/before.log"
hup
err=$(diff "$WORK/before.log" "$WORK/front.log" | sed -n 's/^> //p')
expect "b: counted as failed" '"reloads":{"ok":1,"failed":1}' "$(reloads)"
expect_match "b: bad id, line 3" "$CSV:3: tenant id must be" "$err"
expect_match "b: id twice, line 5" "$CSV:5: tenant id 'fresh' is defined twice" "$err"
expect_match "b: bad URL, line 6" "$CSV:6: cannot register 'nohost' \\(https:///x\\): invalid argument" "$err"
expect_match "b: host of an earlier tenant, line 7" "$CSV:7: cannot register 'thief' .*its host 'fresh.example' belongs to an earlier tenant \\('fresh', line 4\\)" "$err"
expect_match "b: lazy twice, line 8" "$CSV:8: 'lazy' is given twice" "$err"
expect "b: bad lines in line order" "3 5 6 7 8" "$(echo "$err" | grep -o "^$CSV:[0-9]*:" | cut -d: -f2 | tr '\n' ' ' | sed 's/ $//')"
expect_match "b: the failure said" "SIGHUP: reload of $CSV failed; nothing changed" "$err"
expect "b: tenants unchanged" "$v2_ids" "$(ids)"
expect "b: kept eager untouched" "$s_eager" "$(status_of keep-eager)"
expect "b: no platform made or freed" "$v2_live" "$(live)"
expect "b: still served" '200||{"tenant":"fresh","health":"healthy"}' "$(front_get fresh.example)"

# A file that parses but that the commit refuses (two tenants, one host):
# the backend's EEXIST, the line named, the batch's platforms freed.
{
    echo "keep-eager, https://keep.example/adcp"
    echo "new-a,      https://shared.example"
    echo "new-b,      https://Shared.example:8443/other"
    echo "new-c,      https://new-c.example"
} >"$CSV"
p0=$(platforms)
cp "$WORK/front.log" "$WORK/before.log"
hup
err=$(diff "$WORK/before.log" "$WORK/front.log" | sed -n 's/^> //p')
p1=$(platforms)
expect_match "b: refused set: the line" "$CSV:3: cannot register 'new-b' .*its host 'shared.example' belongs to an earlier tenant \\('new-a', line 2\\)" "$err"
expect_match "b: refused set: the commit's error" "the tenant set was refused: host already belongs to another tenant \\(TENREG_EEXIST\\)" "$err"
expect "b: refused set: counted" '"reloads":{"ok":1,"failed":2}' "$(reloads)"
expect "b: refused set: tenants unchanged" "$v2_ids" "$(ids)"
expect "b: refused set: the platforms it made were freed" \
    "$(( $(field "$p1" created) - $(field "$p0" created) ))" "$(( $(field "$p1" freed) - $(field "$p0" freed) ))"
expect_match "b: refused set: it did make some (eager new-a, new-b, new-c)" '^[1-9]' \
    "$(( $(field "$p1" created) - $(field "$p0" created) ))"
expect "b: refused set: new-a not registered" '404 {"error":"no such tenant"}' "$(admin GET /tenants/new-a)"
expect "b: refused set: keep-eager untouched" "$s_eager" "$(status_of keep-eager)"
cp "$WORK/v2.csv" "$CSV"

# ---- c. PUT /tenants ---------------------------------------------------------
put() { admin PUT /tenants "$1"; }
V2='{"id":"fresh","agent_url":"https://fresh.example"},{"id":"keep-lazy","agent_url":"https://keep-lazy.example","lazy":true},{"id":"moving","agent_url":"https://new.moving.example"},{"id":"keep-eager","agent_url":"https://keep.example/adcp"}'
H2=',{"id":"holder","agent_url":"https://holder.example","hosts":["one.holder.example","*.two.holder.example"]}'
[ "$T" = tenreg ] || H2=
n2=$(( $([ "$T" = tenreg ] && echo 5 || echo 4) ))
expect "c: PUT what SIGHUP loaded: every tenant kept" \
    "200 {\"kept\":$n2,\"updated\":0,\"registered\":0,\"unregistered\":0,\"tenants\":$n2}" "$(put "{\"tenants\":[$V2$H2]}")"
expect "c: kept eager still untouched" "$s_eager" "$(status_of keep-eager)"
expect "c: kept lazy still built" "$s_lazy" "$(status_of keep-lazy)"
expect_match "c: logged" "PUT /tenants: $n2 tenants: $n2 kept, 0 updated, 0 registered, 0 unregistered" \
    "$(last_log 'PUT /tenants:')"
# Drop fresh and moving, add lazy-new; then SIGHUP the v2 file: the file
# is compared with what PUT loaded (one state for both).
expect "c: PUT a changed set" \
    "200 {\"kept\":$((n2 - 2)),\"updated\":0,\"registered\":1,\"unregistered\":2,\"tenants\":$((n2 - 1))}" \
    "$(put "{\"tenants\":[{\"id\":\"keep-lazy\",\"agent_url\":\"https://keep-lazy.example\",\"lazy\":true},{\"id\":\"keep-eager\",\"agent_url\":\"https://keep.example/adcp\"},{\"id\":\"lazy-new\",\"agent_url\":\"lazy-new.example\",\"lazy\":true}$H2]}")"
expect "c: dropped by PUT" "404||" "$(front_get fresh.example)"
expect "c: lazy-new: pending until its first request" \
    '503|1|{"tenant":"lazy-new","health":"pending","reason":"EPENDING"}' "$(front_get lazy-new.example)"
hup
expect "c: SIGHUP after PUT: compared with what PUT loaded" \
    "tenreg-front: SIGHUP: reloaded $CSV: $n2 tenants: $((n2 - 2)) kept, 0 updated, 2 registered, 1 unregistered" \
    "$(last_log 'SIGHUP: reloaded')"
expect "c: back to v2" "$v2_ids" "$(ids)"
expect "c: kept eager survived both" "$s_eager" "$(status_of keep-eager)"

# Every error: its status and JSON body, and nothing changed.
v2_live=$(live)
perr() {  # perr DESCRIPTION EXPECTED BODY
    expect "c: $1" "$2" "$(put "$3")"
    expect "c: $1: tenants unchanged" "$v2_ids" "$(ids)"
    expect "c: $1: no platform left over" "$v2_live" "$(live)"
}
A='{"id":"a","agent_url":"https://a.example"}'
perr "malformed JSON" '400 {"error":"bad JSON: unexpected end of the body"}' '{"tenants":['
perr "not an object" '400 {"error":"bad JSON: body is not a JSON object"}' "[$A]"
perr "no tenants member" "400 {\"error\":\"'tenants' is missing (an array of tenants)\"}" '{}'
perr "unknown top-level member" "400 {\"error\":\"unknown member 'tenant'\"}" "{\"tenant\":[$A]}"
perr "tenants not an array" "400 {\"error\":\"'tenants' must be an array of tenants\"}" "{\"tenants\":$A}"
perr "trailing comma" '400 {"error":"tenants[0]: bad JSON: trailing comma","index":0}' "{\"tenants\":[$A,]}"
perr "entry not an object" '400 {"error":"tenants[1]: must be an object {\"id\",\"agent_url\",\"lazy\"?,\"hosts\"?}","index":1}' \
    "{\"tenants\":[$A,\"b\"]}"
perr "lazy not boolean" "400 {\"error\":\"tenants[1]: 'lazy' must be true or false\",\"index\":1}" \
    "{\"tenants\":[$A,{\"id\":\"b\",\"agent_url\":\"b.example\",\"lazy\":\"yes\"}]}"
perr "bad id" "400 {\"error\":\"tenants[0]: 'id' must be 1..255 bytes of A-Z a-z 0-9 . _ ~ -, not . or ..\",\"index\":0}" \
    '{"tenants":[{"id":"a b","agent_url":"a.example"}]}'
perr "missing agent_url" "400 {\"error\":\"tenants[0]: 'agent_url' must be a string\",\"index\":0}" \
    '{"tenants":[{"id":"a"}]}'
perr "URL without a host" "400 {\"error\":\"tenants[1]: 'agent_url' has no valid host\",\"index\":1}" \
    "{\"tenants\":[$A,{\"id\":\"b\",\"agent_url\":\"https:///x\"}]}"
perr "unknown member" "400 {\"error\":\"tenants[0]: unknown member 'color'\",\"index\":0}" \
    '{"tenants":[{"id":"a","agent_url":"a.example","color":"red"}]}'
perr "duplicate member" '400 {"error":"tenants[0]: bad JSON: duplicate member","index":0}' \
    '{"tenants":[{"id":"a","id":"b","agent_url":"a.example"}]}'
perr "an id twice" "400 {\"error\":\"tenants[2]: tenant id 'a' is defined twice (also tenants[0])\",\"index\":2}" \
    "{\"tenants\":[$A,{\"id\":\"b\",\"agent_url\":\"b.example\"},{\"id\":\"a\",\"agent_url\":\"a2.example\"}]}"
perr "a host for two tenants (the commit's EEXIST)" \
    "409 {\"error\":\"tenants[1] ('b'): host 'a.example' already belongs to tenants[0] ('a')\",\"index\":1}" \
    "{\"tenants\":[$A,{\"id\":\"b\",\"agent_url\":\"http://A.example:80/b\"}]}"
perr "a host for two tenants, one of them kept" \
    "409 {\"error\":\"tenants[1] ('thief'): host 'keep.example' already belongs to tenants[0] ('keep-eager')\",\"index\":1}" \
    '{"tenants":[{"id":"keep-eager","agent_url":"https://keep.example/adcp"},{"id":"thief","agent_url":"keep.example"}]}'
if [ "$T" = tenreg ]; then
    perr "a bad extra host" "400 {\"error\":\"tenants[0]: hosts[1] 'a..b' must be a host, a URL or a *.NAME pattern\",\"index\":0}" \
        '{"tenants":[{"id":"a","agent_url":"a.example","hosts":["ok.example","a..b"]}]}'
    perr "hosts not strings" "400 {\"error\":\"tenants[0]: 'hosts' must be an array of strings\",\"index\":0}" \
        '{"tenants":[{"id":"a","agent_url":"a.example","hosts":[true]}]}'
    perr "a pattern for two tenants" \
        "409 {\"error\":\"tenants[1] ('b'): host '*.p.example' already belongs to tenants[0] ('a')\",\"index\":1}" \
        '{"tenants":[{"id":"a","agent_url":"a.example","hosts":["*.P.example"]},{"id":"b","agent_url":"b.example","hosts":["*.p.example."]}]}'
    many=$(for i in $(seq 1 64); do printf '"h%d.example",' "$i"; done | sed 's/,$//')
    perr "too many hosts (the commit's ENOSPC)" \
        "409 {\"error\":\"tenants[0] ('big'): 65 hosts and patterns, more than 64 (the limit)\",\"index\":0}" \
        "{\"tenants\":[{\"id\":\"big\",\"agent_url\":\"big.example\",\"hosts\":[$many]}]}"
else
    perr "hosts on the rwlock backend: 501" \
        "501 {\"error\":\"tenants[0]: this backend keeps one host per tenant: 'hosts' needs --backend tenreg\",\"index\":0}" \
        '{"tenants":[{"id":"a","agent_url":"a.example","hosts":["x.example"]}]}'
    printf 'a, https://a.example, host=x.example\n' >"$WORK/hosts.csv"
    rc=0
    timeout 10 "$FRONT_BIN" --backend rwlock --port 0 --admin-port 0 --tenants "$WORK/hosts.csv" \
        >/dev/null 2>"$WORK/hosts.err" || rc=$?
    expect "c: host= on the rwlock backend: exit 1" 1 "$rc"
    expect_match "c: host= on the rwlock backend: the line" "hosts.csv:1: host= needs --backend tenreg" \
        "$(cat "$WORK/hosts.err")"
fi
r=$(curl -s -o /dev/null -w '%{http_code}' -X PUT --data-binary "{\"tenants\":[$A]}" "$ADMIN/tenants")
expect "c: PUT without Content-Type: 415" 415 "$r"
{ printf '{"tenants":[]'; head -c 1100000 /dev/zero | tr '\0' ' '; printf '}'; } >"$WORK/big.json"
r=$(curl -s -o "$WORK/abody" -w '%{http_code}' -X PUT -H 'Content-Type: application/json' \
    --data-binary @"$WORK/big.json" "$ADMIN/tenants")
expect "c: a set over 1 MiB: 413" '413 {"error":"body over 1048576 bytes"}' "$r $(cat "$WORK/abody")"
expect "c: a set over 4 KiB is fine" \
    "200 {\"kept\":$n2,\"updated\":0,\"registered\":0,\"unregistered\":0,\"tenants\":$n2}" \
    "$(put "{\"tenants\":[$V2$H2]$(head -c 6000 /dev/zero | tr '\0' ' ')}")"
expect "c: POST over 4 KiB is still 413" 413 "$(admin POST /tenants "{\"id\":\"$(head -c 5000 /dev/zero | tr '\0' a)\"}" | cut -d' ' -f1)"
expect_match "c: failures counted" '"failed":[1-9][0-9]*\}' "$(reloads)"

# ---- d. single admin calls: the next reload registers that tenant again ----
expect_match "d: POST re-registers keep-eager (now healthy again)" '^200 ' \
    "$(admin POST /tenants '{"id":"keep-eager","agent_url":"https://keep.example/adcp"}')"
admin POST /tenants/keep-eager/validator '{"valid":true}' >/dev/null
expect "d: a tenant changed by an admin call is registered again, not kept" \
    "200 {\"kept\":$((n2 - 1)),\"updated\":0,\"registered\":1,\"unregistered\":0,\"tenants\":$n2}" \
    "$(put "{\"tenants\":[$V2$H2]}")"
expect_match "d: and healthy (validated after the commit)" '^\{"id":"keep-eager","health":"healthy"' \
    "$(status_of keep-eager)"
expect "d: DELETE, then the same set: registered again" "204 " "$(admin DELETE /tenants/fresh)"
expect "d: ... registered" \
    "200 {\"kept\":$((n2 - 1)),\"updated\":0,\"registered\":1,\"unregistered\":0,\"tenants\":$n2}" \
    "$(put "{\"tenants\":[$V2$H2]}")"
expect "d: fresh is back" '200||{"tenant":"fresh","health":"healthy"}' "$(front_get fresh.example)"
expect "d: a tenant only POST added is unregistered by the next reload" 201 \
    "$(admin POST /tenants '{"id":"extra","agent_url":"extra.example"}' | cut -d' ' -f1)"
expect "d: ... unregistered" \
    "200 {\"kept\":$n2,\"updated\":0,\"registered\":0,\"unregistered\":1,\"tenants\":$n2}" \
    "$(put "{\"tenants\":[$V2$H2]}")"
if [ "$T" = tenreg ]; then
    expect "d: a host added by an admin call" 201 \
        "$(admin POST /tenants/holder/hosts '{"host":"three.holder.example"}' | cut -d' ' -f1)"
    expect "d: ... makes the reload register holder again (dropping it)" \
        "200 {\"kept\":$((n2 - 1)),\"updated\":0,\"registered\":1,\"unregistered\":0,\"tenants\":$n2}" \
        "$(put "{\"tenants\":[$V2$H2]}")"
    expect "d: three.holder.example dropped" "404||" "$(front_get three.holder.example)"
fi
expect "d: empty set: everything unregistered" \
    "200 {\"kept\":0,\"updated\":0,\"registered\":0,\"unregistered\":$n2,\"tenants\":0}" "$(put '{"tenants":[]}')"
expect "d: nothing left" "" "$(ids)"
expect "d: SIGHUP after that: all registered" \
    "tenreg-front: SIGHUP: reloaded $CSV: $n2 tenants: 0 kept, 0 updated, $n2 registered, 0 unregistered" \
    "$(hup; last_log 'SIGHUP: reloaded')"
stop_front
finish
