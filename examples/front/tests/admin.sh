#!/usr/bin/env bash
# admin.sh - every admin call and error, and every health transition of
# docs/design.md §3 driven from outside through the admin API, observed both in
# the admin answers and in what the front serves.
# usage: admin.sh path/to/tenreg-front [tenreg|rwlock]
source "$(dirname "$0")/lib.sh"

start_front --tenants "$TENANTS" --factory-delay-ms 300 --threads 2

count_tenants() { admin GET /tenants | grep -o '"id":' | wc -l; }

# ---- GET /tenants: what the CSV loaded -------------------------------------
list=$(admin GET /tenants)
expect_match "GET /tenants: 200" '^200 \{"tenants":\[' "$list"
expect "GET /tenants lists the 7 CSV tenants" 7 "$(count_tenants)"
expect_match "eager tenants start healthy" '\{"id":"acme-media","health":"healthy"\}' "$list"
expect_match "lazy tenants start pending" '\{"id":"delta-streaming","health":"pending"\}' "$list"
# (The whole status is front_status's; here: it starts with id and health.)
expect_match "GET /tenants/{id}" '^200 \{"id":"bluefin-news","health":"healthy",' \
    "$(admin GET /tenants/bluefin-news)"
expect "GET unknown tenant" '404 {"error":"no such tenant"}' "$(admin GET /tenants/nobody)"

# ---- POST /tenants: eager, register -> PENDING -> (awaited) HEALTHY --------
expect "POST eager: 201, validated" '201 {"id":"orca","health":"healthy","lazy":false}' \
    "$(admin POST /tenants '{"id":"orca","agent_url":"https://Orca.example/adcp"}')"
expect "front serves the new tenant" '200||{"tenant":"orca","health":"healthy"}' "$(front_get orca.example)"

# re-register with a new URL moves the host
expect "POST same id: 200, replaced" '200 {"id":"orca","health":"healthy","lazy":false}' \
    "$(admin POST /tenants '{"id":"orca","agent_url":"https://orca2.example","lazy":false}')"
expect "old host is gone" "404||" "$(front_get orca.example)"
expect "new host is served" '200||{"tenant":"orca","health":"healthy"}' "$(front_get orca2.example)"

# register with the validator saying invalid: PENDING -> DISABLED (awaited)
admin POST /tenants/orca/validator '{"valid":false}' >/dev/null
expect "re-register while invalid: disabled" '200 {"id":"orca","health":"disabled","lazy":false}' \
    "$(admin POST /tenants '{"id":"orca","agent_url":"https://orca2.example"}')"
expect "disabled is not served" '503|30|{"tenant":"orca","health":"disabled","reason":"unserved"}' \
    "$(front_get orca2.example)"
expect "recheck, still invalid: disabled stays disabled" \
    '200 {"id":"orca","health":"disabled","valid":false}' "$(admin POST /tenants/orca/recheck)"
admin POST /tenants/orca/validator '{"valid":true}' >/dev/null
expect "recheck valid: disabled -> healthy" '200 {"id":"orca","health":"healthy","valid":true}' \
    "$(admin POST /tenants/orca/recheck)"

# ---- 409: a host that belongs to another tenant -----------------------------
n=$(count_tenants)
expect "409 on host collision" \
    "409 {\"error\":\"host 'sales.acmemedia.example' already belongs to another tenant\"}" \
    "$(admin POST /tenants '{"id":"thief","agent_url":"http://SALES.acmemedia.example:80/x"}')"
expect "409: nothing registered" '404 {"error":"no such tenant"}' "$(admin GET /tenants/thief)"
expect "409: owner untouched" '200||{"tenant":"acme-media","health":"healthy"}' \
    "$(front_get sales.acmemedia.example)"
expect "409 when an existing tenant moves onto another's host" 409 \
    "$(admin POST /tenants '{"id":"orca","agent_url":"https://sales.acmemedia.example"}' | cut -d' ' -f1)"
expect "409: orca kept its host" '200||{"tenant":"orca","health":"healthy"}' "$(front_get orca2.example)"

# ---- 400 with a reason: bad JSON or fields; nothing half-registered --------
bad() {  # bad DESCRIPTION BODY REASON_REGEX
    local r
    r=$(admin POST /tenants "$2")
    expect_match "400 for $1" "^400 \{\"error\":\"$3\"\}$" "$r"
}
bad "empty body"           ''                                              'bad JSON: body is not a JSON object'
bad "not an object"        '["x"]'                                         'bad JSON: body is not a JSON object'
bad "truncated object"     '{"id":"x1","agent_url":"https://x1.example"'  "bad JSON: expected ',' or '}'"
bad "trailing bytes"       '{"id":"x1","agent_url":"https://x1.example"}x' 'bad JSON: trailing bytes after the object'
bad "number value"         '{"id":1,"agent_url":"https://x1.example"}'     'bad JSON: values must be strings or true/false'
bad "nested object"        '{"id":"x1","agent_url":{"a":"b"}}'             'bad JSON: values must be strings or true/false'
bad "null value"           '{"id":"x1","agent_url":null}'                  'bad JSON: values must be strings or true/false'
bad "duplicate member"     '{"id":"x1","id":"x2","agent_url":"https://x1.example"}' 'bad JSON: duplicate member'
bad "control byte"         $'{"id":"x\t1","agent_url":"https://x1.example"}' 'bad JSON: control character in string'
bad "NUL escape"           '{"id":"x\u00001","agent_url":"https://x1.example"}' 'bad JSON: \\\\u escape outside printable ASCII'
bad "bad escape"           '{"id":"x\q","agent_url":"https://x1.example"}' 'bad JSON: bad escape in string'
bad "unknown member"       '{"id":"x1","agent_url":"https://x1.example","color":"red"}' "unknown member 'color'"
bad "missing id"           '{"agent_url":"https://x1.example"}'            "'id' must be a string"
bad "missing agent_url"    '{"id":"x1"}'                                   "'agent_url' must be a string"
bad "lazy not boolean"     '{"id":"x1","agent_url":"https://x1.example","lazy":"yes"}' "'lazy' must be true or false"
bad "id with a slash"      '{"id":"x/1","agent_url":"https://x1.example"}' "'id' must be 1..255 bytes of A-Z a-z 0-9 . _ ~ -, not . or .."
bad "empty id"             '{"id":"","agent_url":"https://x1.example"}'    "'id' must be 1..255 bytes of A-Z a-z 0-9 . _ ~ -, not . or .."
long=$(head -c 256 /dev/zero | tr '\0' 'i')
bad "256-byte id"          "{\"id\":\"$long\",\"agent_url\":\"https://x1.example\"}" "'id' must be 1..255 bytes of A-Z a-z 0-9 . _ ~ -, not . or .."
bad "URL without a host"   '{"id":"x1","agent_url":"https:///path"}'       "'agent_url' has no valid host"
bad "URL with a bad port"  '{"id":"x1","agent_url":"https://x1.example:70000"}' "'agent_url' has no valid host"
bad "URL with a space"     '{"id":"x1","agent_url":"https://x1 .example"}' "'agent_url' has no valid host"
expect "after every 400, no tenant was added" "$n" "$(count_tenants)"
expect "x1 never registered" '404 {"error":"no such tenant"}' "$(admin GET /tenants/x1)"

r=$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: text/plain' \
    --data-binary '{"id":"x1","agent_url":"https://x1.example"}' "$ADMIN/tenants")
expect "415 for a non-JSON content type" 415 "$r"
r=$(curl -s -o /dev/null -w '%{http_code}' -H 'Host: evil.example' "$ADMIN/tenants")
expect "403 for a foreign Host (DNS rebinding guard)" 403 "$r"
r=$(curl -s -o /dev/null -w '%{http_code}' -H 'Host: localhost' "$ADMIN/tenants")
expect "Host localhost is fine" 200 "$r"
big=$(head -c 5000 /dev/zero | tr '\0' 'a')
r=$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
    --data-binary "{\"id\":\"$big\"}" "$ADMIN/tenants")
expect "413 for a body over 4 KiB" 413 "$r"
expect_match "405 with Allow" '^405 ' "$(admin PATCH /tenants '{}')"
expect_match "Allow header lists methods" 'Allow: GET, HEAD, POST, PUT' \
    "$(curl -s -i -X PATCH "$ADMIN/tenants" | tr -d '\r')"
expect "404 for an unknown path" '404 {"error":"no such path"}' "$(admin GET /nope)"
expect "404 for an unknown action" '404 {"error":"no such path"}' "$(admin POST /tenants/orca/explode '{}')"
expect_match "400 for a bad id in the path" '^400 ' "$(admin DELETE '/tenants/a%2Fb')"

# ---- lazy: register_lazy -> PENDING; first resolve builds -> HEALTHY ------
expect "POST lazy: 201 pending" '201 {"id":"lark","health":"pending","lazy":true}' \
    "$(admin POST /tenants '{"id":"lark","agent_url":"lark.example","lazy":true}')"
expect "first request: 503 EPENDING" '503|1|{"tenant":"lark","health":"pending","reason":"EPENDING"}' \
    "$(front_get lark.example)"
wait_for "built: 200 healthy" '^200\|\|\{"tenant":"lark","health":"healthy"\}$' lark.example

# lazy, validator invalid at first build: PENDING -> DISABLED, EDISABLED later
admin POST /tenants '{"id":"wren","agent_url":"wren.example","lazy":true}' >/dev/null
admin POST /tenants/wren/validator '{"valid":false}' >/dev/null
expect "build starts" '503|1|{"tenant":"wren","health":"pending","reason":"EPENDING"}' "$(front_get wren.example)"
wait_for "invalid build: disabled" '^503\|30\|\{"tenant":"wren","health":"disabled","reason":"EDISABLED"\}$' wren.example
expect "a recheck cannot build it: still 503" "503" "$(admin POST /tenants/wren/validator '{"valid":true}' >/dev/null; admin POST /tenants/wren/recheck >/dev/null; front_get wren.example | cut -d'|' -f1)"
expect "re-register lazy: pending again" '200 {"id":"wren","health":"pending","lazy":true}' \
    "$(admin POST /tenants '{"id":"wren","agent_url":"wren.example","lazy":true}')"
front_get wren.example >/dev/null
wait_for "rebuilt: healthy" '^200\|\|\{"tenant":"wren","health":"healthy"\}$' wren.example

# lazy, recheck before the first build: PENDING -> DISABLED, still built later
admin POST /tenants '{"id":"tern","agent_url":"tern.example","lazy":true}' >/dev/null
admin POST /tenants/tern/validator '{"valid":false}' >/dev/null
expect "recheck of an unbuilt lazy tenant: pending -> disabled" \
    '200 {"id":"tern","health":"disabled","valid":false}' "$(admin POST /tenants/tern/recheck)"
admin POST /tenants/tern/validator '{"valid":true}' >/dev/null
expect "first request still starts the build" '503|1|{"tenant":"tern","health":"disabled","reason":"EPENDING"}' \
    "$(front_get tern.example)"
wait_for "built after all: healthy" '^200\|\|\{"tenant":"tern","health":"healthy"\}$' tern.example

# factory failure: PENDING -> DISABLED
admin POST /tenants '{"id":"kite","agent_url":"kite.example","lazy":true}' >/dev/null
expect "factory flag" '200 {"id":"kite","health":"pending","factory_ok":false}' \
    "$(admin POST /tenants/kite/factory '{"ok":false}')"
front_get kite.example >/dev/null
wait_for "factory failed: disabled" '^503\|30\|\{"tenant":"kite","health":"disabled","reason":"EDISABLED"\}$' kite.example
expect_match "GET /tenants/kite" '^200 \{"id":"kite","health":"disabled",' "$(admin GET /tenants/kite)"

# eager <-> lazy switch by re-registering
expect "lazy -> eager" '200 {"id":"kite","health":"healthy","lazy":false}' \
    "$(admin POST /tenants '{"id":"kite","agent_url":"kite.example"}')"
expect "eager kite served" '200||{"tenant":"kite","health":"healthy"}' "$(front_get kite.example)"

# ---- flags and recheck on unknown tenants, bad flag bodies --------------
expect "validator flip: unknown tenant" '404 {"error":"no such tenant"}' \
    "$(admin POST /tenants/nobody/validator '{"valid":false}')"
expect "recheck: unknown tenant" '404 {"error":"no such tenant"}' "$(admin POST /tenants/nobody/recheck)"
expect "validator flip without 'valid'" "400 {\"error\":\"'valid' is missing (true or false)\"}" \
    "$(admin POST /tenants/orca/validator '{}')"
expect "validator flip with a string" "400 {\"error\":\"'valid' must be true or false\"}" \
    "$(admin POST /tenants/orca/validator '{"valid":"no"}')"
expect "factory flip with an unknown member" "400 {\"error\":\"unknown member 'valid'\"}" \
    "$(admin POST /tenants/orca/factory '{"valid":true}')"

# ---- DELETE: gone --------------------------------------------------------
expect "DELETE: 204" "204 " "$(admin DELETE /tenants/orca)"
expect "deleted host: 404" "404||" "$(front_get orca2.example)"
expect "DELETE again: 404" '404 {"error":"no such tenant"}' "$(admin DELETE /tenants/orca)"
expect "recheck deleted: 404" '404 {"error":"no such tenant"}' "$(admin POST /tenants/orca/recheck)"
expect "its host is free for another tenant" 201 \
    "$(admin POST /tenants '{"id":"orca-2","agent_url":"orca2.example"}' | cut -d' ' -f1)"

expect_match "GET /stats" "^200 \\{\"backend\":\"$BACKEND\",\"responses\":\\{\"200\":[0-9]+," "$(admin GET /stats)"

stop_front
finish
