#!/usr/bin/env bash
# edges.sh - the small HTTP and admin edges of issue 15, defect 6:
#   a. one empty line before a request line is ignored (RFC 9112 §2.2);
#   b. Expect: 100-continue is answered 100 at once (no client stall);
#   c. an HTTP/1.0 keep-alive response says Connection: keep-alive;
#   d. the admin port's 413, 431 and 501 carry the JSON error body;
#   e. tenant ids "." and ".." are refused (API and tenants file);
#   f. an admin POST without Content-Type: application/json is refused;
#   g. the shutdown line "platforms created N, freed N" goes to stderr.
# usage: edges.sh path/to/tenreg-front [backend]
source "$(dirname "$0")/lib.sh"

start_front --tenants "$TENANTS" --threads 2
H='Host: sales.acmemedia.example'
ACME='{"tenant":"acme-media","health":"healthy"}'
codes() { echo "$1" | grep -o 'HTTP/1\.1 [0-9][0-9][0-9]' | cut -d' ' -f2 | tr '\n' ' ' | sed 's/ $//'; }

# ---- a. one leading empty line ---------------------------------------------
out=$(raw "\r\nGET / HTTP/1.1\r\n$H\r\nConnection: close\r\n\r\n")
expect "a: one empty line before the request line is ignored" "200|$ACME" \
    "$(codes "$out")|$(echo "$out" | tail -1)"
out=$(raw "GET / HTTP/1.1\r\n$H\r\nContent-Length: 2\r\n\r\nab\r\nGET / HTTP/1.1\r\n$H\r\nConnection: close\r\n\r\n")
expect "a: also between pipelined requests (a CRLF after a body)" "200 200" "$(codes "$out")"
expect "a: two empty lines are not a request line" "400" \
    "$(codes "$(raw "\r\n\r\nGET / HTTP/1.1\r\n$H\r\nConnection: close\r\n\r\n")")"

# ---- b. Expect: 100-continue ---------------------------------------------
head -c 3000 /dev/zero | tr '\0' 'x' >"$WORK/bid"
r=$(curl -s -o /dev/null -w '%{http_code} %{time_total}' --expect100-timeout 5 -H "$H" \
    -H 'Expect: 100-continue' -H 'Content-Type: application/json' --data-binary @"$WORK/bid" "$FRONT/bid")
expect "b: front: 200" 200 "${r%% *}"
if awk -v t="${r#* }" 'BEGIN { exit !(t < 2) }'; then ok; else
    fail "b: front: a 100-continue POST took ${r#* } s (the client waited for 100)"; fi
long=$(head -c 1500 /dev/zero | tr '\0' 'p')
r=$(curl -s -o /dev/null -w '%{http_code} %{time_total}' --expect100-timeout 5 \
    -H 'Expect: 100-continue' -H 'Content-Type: application/json' \
    --data-binary "{\"id\":\"expect\",\"agent_url\":\"https://expect.example/$long\"}" "$ADMIN/tenants")
expect "b: admin: 201" 201 "${r%% *}"
if awk -v t="${r#* }" 'BEGIN { exit !(t < 2) }'; then ok; else
    fail "b: admin: a 100-continue POST took ${r#* } s"; fi
# By hand: the 100 comes after the head alone, the final answer after the body.
exec 3<>"/dev/tcp/127.0.0.1/$FPORT"
printf 'POST / HTTP/1.1\r\nHost: sales.acmemedia.example\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n' >&3
IFS= read -r -t 2 line <&3
expect "b: 100 Continue before the body is sent" "HTTP/1.1 100 Continue" "${line%$'\r'}"
IFS= read -r -t 2 line <&3
expect "b: 100 is a bare status line" "" "${line%$'\r'}"
printf 'hello' >&3
IFS= read -r -t 2 line <&3
expect "b: then the final answer" "HTTP/1.1 200 OK" "${line%$'\r'}"
exec 3<&-
# (bash's printf writes line by line; cat sends the file in one write.)
printf "POST / HTTP/1.1\r\n$H\r\nExpect: 100-continue\r\nContent-Length: 2\r\nConnection: close\r\n\r\nab" >"$WORK/one"
exec 3<>"/dev/tcp/127.0.0.1/$FPORT"
cat "$WORK/one" >&3
out=$(timeout 5 cat <&3 | tr -d '\r')
exec 3<&-
expect "b: no 100 when the body came with the head" "200" "$(codes "$out")"
out=$(raw "POST / HTTP/1.0\r\n$H\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nab")
expect "b: no 100 for HTTP/1.0" "200" "$(codes "$out")"

# ---- c. HTTP/1.0 keep-alive --------------------------------------------------
out=$(raw "GET / HTTP/1.0\r\n$H\r\nConnection: keep-alive\r\n\r\nGET / HTTP/1.0\r\n$H\r\n\r\n")
expect "c: two HTTP/1.0 answers" "200 200" "$(codes "$out")"
expect "c: the first says keep-alive, the second close" "Connection: keep-alive|Connection: close" \
    "$(echo "$out" | grep '^Connection:' | tr '\n' '|' | sed 's/|$//')"
out=$(raw "GET / HTTP/1.1\r\n$H\r\nConnection: close\r\n\r\n")
expect "c: HTTP/1.1 needs no keep-alive header" "Connection: close" "$(echo "$out" | grep '^Connection:')"

# ---- d. admin 413/431/501 bodies ------------------------------------------
# json_error NAME STATUS RAW: the admin answer has STATUS, a JSON type and
# a {"error":"..."} body of the length it says.
json_error() {
    local out len body
    out=$(raw_to "$APORT" "$3")
    expect "d: admin $1: status" "$2" "$(codes "$out")"
    expect "d: admin $1: JSON" "Content-Type: application/json" "$(echo "$out" | grep '^Content-Type:')"
    body=$(echo "$out" | sed -n '/^$/,$p' | sed 1d)
    len=$(echo "$out" | sed -n 's/^Content-Length: //p')
    expect_match "d: admin $1: error body" '^\{"error":"[^"]+"\}$' "$body"
    expect "d: admin $1: Content-Length" "${#body}" "$len"
}
HA='Host: 127.0.0.1'
json_error "413" 413 "POST /tenants HTTP/1.1\r\n$HA\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n"
big=$(head -c 9000 /dev/zero | tr '\0' 'a')
json_error "431" 431 "GET /tenants HTTP/1.1\r\n$HA\r\nX-Big: $big\r\n\r\n"
json_error "501 (Transfer-Encoding)" 501 "POST /tenants HTTP/1.1\r\n$HA\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
json_error "501 (unknown method)" 501 "BREW /tenants HTTP/1.1\r\n$HA\r\n\r\n"
json_error "400 (malformed head)" 400 "GET /tenants HTTP/1.1\r\n$HA\r\nX : y\r\n\r\n"
json_error "505" 505 "GET /tenants HTTP/2.0\r\n$HA\r\n\r\n"

# ---- e. ids "." and ".." ------------------------------------------------
for id in . ..; do
    expect "e: POST id '$id': 400" \
        "400 {\"error\":\"'id' must be 1..255 bytes of A-Z a-z 0-9 . _ ~ -, not . or ..\"}" \
        "$(admin POST /tenants "{\"id\":\"$id\",\"agent_url\":\"https://dots.example\"}")"
    r=$(curl -s --path-as-is -o /dev/null -w '%{http_code}' "$ADMIN/tenants/$id")
    expect "e: GET /tenants/$id: 400" 400 "$r"
done
expect "e: dots.example is nobody's" "404||" "$(front_get dots.example)"
expect_match "e: '...' is an ordinary id" '^201 ' \
    "$(admin POST /tenants '{"id":"...","agent_url":"https://dots.example"}')"
printf 'ok,https://ok.example\n..,https://dotdot.example\n' >"$WORK/dots.csv"
rc=0
timeout 10 "$FRONT_BIN" --port 0 --admin-port 0 --tenants "$WORK/dots.csv" >/dev/null 2>"$WORK/dots.err" || rc=$?
expect "e: a tenants file with id '..' is refused" 1 "$rc"
expect_match "e: with its line number" 'dots.csv:2: tenant id must be' "$(cat "$WORK/dots.err")"

# ---- f. admin POSTs need Content-Type: application/json --------------------
r=$(curl -s -o /dev/null -w '%{http_code}' -X POST "$ADMIN/tenants/acme-media/recheck")
expect "f: POST without Content-Type (and no body): 415" 415 "$r"
r=$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/x-www-form-urlencoded' \
    --data-binary '' "$ADMIN/tenants/acme-media/recheck")
expect "f: an empty cross-site form POST: 415" 415 "$r"
r=$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: text/plain' \
    --data-binary '{"valid":false}' "$ADMIN/tenants/acme-media/validator")
expect "f: a text/plain form POST: 415" 415 "$r"
expect "f: the validator flag was not flipped" '200 {"id":"acme-media","health":"healthy","valid":true}' \
    "$(admin POST /tenants/acme-media/recheck)"
r=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json; charset=utf-8' \
    "$ADMIN/tenants/acme-media/recheck")
expect "f: application/json with a parameter is fine" 200 "$r"
r=$(curl -s -o /dev/null -w '%{http_code}' -X DELETE "$ADMIN/tenants/...")
expect "f: DELETE needs no Content-Type" 204 "$r"

stop_front

# ---- g. the shutdown line on stderr -----------------------------------------
rm -f "$WORK/ready"
"$FRONT_BIN" --port 0 --admin-port 0 --ready-file "$WORK/ready" --tenants "$TENANTS" \
    >"$WORK/g.out" 2>"$WORK/g.err" &
FRONT_PID=$!
for i in $(seq 1 200); do [ -s "$WORK/ready" ] && break; sleep 0.05; done
kill -TERM "$FRONT_PID"
rc=0
wait "$FRONT_PID" || rc=$?
FRONT_PID=
expect "g: exit status" 0 "$rc"
expect_match "g: 'platforms created N, freed N' on stderr" 'platforms created ([0-9]+), freed \1$' \
    "$(grep 'platforms created' "$WORK/g.err")"
expect "g: not on stdout" "" "$(grep 'platforms created' "$WORK/g.out")"
expect_match "g: stdout keeps the listening line" '^tenreg-front: backend tenreg, 7 tenants' "$(head -1 "$WORK/g.out")"
finish
