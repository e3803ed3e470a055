#!/usr/bin/env bash
# http.sh - every front status code, with curl and raw HTTP/1.1 bytes.
#   200 served, 404 unknown (no body), 503 + Retry-After (pending lazy
#   build, disabled), 400 (missing, repeated or malformed Host), plus the
#   parser's limits (pipelining, 431, 501, 505, obs-fold, bare LF, bodies).
# usage: http.sh path/to/tenreg-front [tenreg|rwlock]
source "$(dirname "$0")/lib.sh"

# The factory takes 1.5 s so "pending" is observable.
start_front --tenants "$TENANTS" --factory-delay-ms 1500 --threads 2

# ---- 200: every Host form of a tenant finds it --------------------------
for h in sales.acmemedia.example SALES.AcmeMedia.Example:443 sales.acmemedia.example. \
         'sales.acmemedia.example:8080' ' sales.acmemedia.example '; do
    expect "200 for Host '$h'" '200||{"tenant":"acme-media","health":"healthy"}' "$(front_get "$h")"
done
expect "200 for IPv6 literal" '200||{"tenant":"v6-seller","health":"healthy"}' \
    "$(front_get '[2001:db8:0::42]:443')"
r=$(curl -s -o /dev/null -w '%{http_code} %{content_type}' -H 'Host: ads.harbor-radio.example' "$FRONT/")
expect "200 is JSON" "200 application/json" "$r"

# ---- 404: unknown host, no body -----------------------------------------
r=$(curl -s -o "$WORK/b" -w '%{http_code} %{size_download}' -H 'Host: unknown-seller.example' "$FRONT/")
expect "404 for an unknown host, empty body" "404 0" "$r"
expect "404 for a sub-domain of a tenant" "404||" "$(front_get www.sales.acmemedia.example)"

# ---- 503: pending lazy tenant, then built --------------------------------
expect "503 while the lazy build runs" \
    '503|1|{"tenant":"delta-streaming","health":"pending","reason":"EPENDING"}' \
    "$(front_get ads.delta-streaming.example)"
expect "still 503 (one build, not one per request)" \
    '503|1|{"tenant":"delta-streaming","health":"pending","reason":"EPENDING"}' \
    "$(front_get ADS.delta-streaming.example:8443)"
wait_for "200 once built" '^200\|\|\{"tenant":"delta-streaming","health":"healthy"\}$' \
    ads.delta-streaming.example

# ---- 503: disabled (eager tenant whose validator fails) -------------------
expect "validator off" 200 "$(admin POST /tenants/cedar-sports/validator '{"valid":false}' | cut -d' ' -f1)"
expect "recheck: healthy -> unverified" '200 {"id":"cedar-sports","health":"unverified","valid":false}' \
    "$(admin POST /tenants/cedar-sports/recheck)"
expect "unverified is still served" '200||{"tenant":"cedar-sports","health":"unverified"}' \
    "$(front_get agent.cedarsports.example)"
expect "recheck: unverified -> disabled" '200 {"id":"cedar-sports","health":"disabled","valid":false}' \
    "$(admin POST /tenants/cedar-sports/recheck)"
expect "503 + Retry-After for a disabled tenant" \
    '503|30|{"tenant":"cedar-sports","health":"disabled","reason":"unserved"}' \
    "$(front_get agent.cedarsports.example)"
admin POST /tenants/cedar-sports/validator '{"valid":true}' >/dev/null
expect "recheck: disabled -> healthy" '200 {"id":"cedar-sports","health":"healthy","valid":true}' \
    "$(admin POST /tenants/cedar-sports/recheck)"
expect "served again" '200||{"tenant":"cedar-sports","health":"healthy"}' \
    "$(front_get agent.cedarsports.example)"

# ---- 503: a lazy build that fails -----------------------------------------
admin POST /tenants/evergreen-podcasts/factory '{"ok":false}' >/dev/null
expect "503 EPENDING: build started" \
    '503|1|{"tenant":"evergreen-podcasts","health":"pending","reason":"EPENDING"}' \
    "$(front_get adcp.evergreen-pods.example)"
wait_for "503 EDISABLED after the factory failed" \
    '^503\|30\|\{"tenant":"evergreen-podcasts","health":"disabled","reason":"EDISABLED"\}$' \
    adcp.evergreen-pods.example

# ---- 400: missing, repeated, malformed Host --------------------------------
r=$(curl -s -o /dev/null -w '%{http_code}' -H 'Host:' "$FRONT/")
expect "400 without Host" 400 "$r"
for h in 'bad host.example' 'a..b.example' 'x%41.example' 'acme.example:99999' \
         'acme.example:12a' '[fe80::1%25eth0]' '2001:db8::42' '/path' 'caf\xc3\xa9.example' \
         'a|b.example'; do
    hv=$(printf '%b' "$h")
    r=$(curl -s -o /dev/null -w '%{http_code}' -H "Host: $hv" "$FRONT/")
    expect "400 for malformed Host '$h'" 400 "$r"
done
expect "400 for a repeated Host" "HTTP/1.1 400 Bad Request" \
    "$(raw 'GET / HTTP/1.1\r\nHost: sales.acmemedia.example\r\nHost: sales.acmemedia.example\r\nConnection: close\r\n\r\n' | head -1)"
expect "400 for HTTP/1.0 without Host" "HTTP/1.1 400 Bad Request" \
    "$(raw 'GET / HTTP/1.0\r\n\r\n' | head -1)"
expect "400 for an empty Host" "HTTP/1.1 400 Bad Request" \
    "$(raw 'GET / HTTP/1.1\r\nHost:\r\nConnection: close\r\n\r\n' | head -1)"

# ---- raw protocol ----------------------------------------------------------
out=$(raw 'GET /1 HTTP/1.1\r\nHost: sales.acmemedia.example\r\n\r\nGET /2 HTTP/1.1\r\nHost: nobody.example\r\n\r\nPOST /3 HTTP/1.1\r\nHost: adcp.bluefin-news.example\r\nContent-Length: 11\r\n\r\nGET / HTTP/GET /4 HTTP/1.1\r\nHost: ads.harbor-radio.example\r\nConnection: close\r\n\r\n')
expect "pipelined: four answers in order" "200 404 200 200" \
    "$(echo "$out" | grep -o 'HTTP/1.1 [0-9]*' | cut -d' ' -f2 | tr '\n' ' ' | sed 's/ $//')"
expect "pipelined: the POST body was skipped, not parsed" \
    '{"tenant":"acme-media","health":"healthy"} {"tenant":"bluefin-news","health":"healthy"} {"tenant":"harbor-radio","health":"healthy"}' \
    "$(echo "$out" | grep -o '{[^}]*}' | tr '\n' ' ' | sed 's/ $//')"
# The same kind of stream, dribbled in 7-byte pieces: heads and bodies that
# straddle reads must be reassembled, not misparsed.
stream=$'GET /1 HTTP/1.1\r\nHost: sales.acmemedia.example\r\n\r\nPOST /2 HTTP/1.1\r\nHost: ads.harbor-radio.example\r\nContent-Length: 9\r\n\r\nGET / X\r\nGET /3 HTTP/1.1\r\nHost: nobody.example\r\nConnection: close\r\n\r\n'
exec 3<>"/dev/tcp/127.0.0.1/$FPORT"
for ((i = 0; i < ${#stream}; i += 7)); do
    printf '%s' "${stream:i:7}" >&3
    sleep 0.005
done
out=$(timeout 5 cat <&3 | tr -d '\r')
exec 3<&-
expect "dribbled pipeline: answers in order" "200 200 404" \
    "$(echo "$out" | grep -o 'HTTP/1.1 [0-9]*' | cut -d' ' -f2 | tr '\n' ' ' | sed 's/ $//')"
expect "dribbled pipeline: tenants" '{"tenant":"acme-media","health":"healthy"} {"tenant":"harbor-radio","health":"healthy"}' \
    "$(echo "$out" | grep -o '{[^}]*}' | tr '\n' ' ' | sed 's/ $//')"
expect "Connection: close is honoured" "Connection: close" "$(echo "$out" | grep '^Connection:' | tail -1)"
expect "absolute-form target names the host" '{"tenant":"bluefin-news","health":"healthy"}' \
    "$(raw 'GET http://adcp.bluefin-news.example/x HTTP/1.1\r\nHost: adcp.bluefin-news.example\r\nConnection: close\r\n\r\n' | tail -1)"
expect "absolute-form target and a Host naming another tenant: 400" 'HTTP/1.1 400 Bad Request' \
    "$(raw 'GET http://adcp.bluefin-news.example/x HTTP/1.1\r\nHost: sales.acmemedia.example\r\nConnection: close\r\n\r\n' | head -1)"
out=$(raw 'HEAD / HTTP/1.1\r\nHost: sales.acmemedia.example\r\nConnection: close\r\n\r\n')
expect "HEAD: status" "HTTP/1.1 200 OK" "$(echo "$out" | head -1)"
expect "HEAD: length of the body it would send" "Content-Length: 42" "$(echo "$out" | grep Content-Length)"
expect "HEAD: no body" "" "$(echo "$out" | sed -n '/^$/,$p' | tr -d '\n')"
expect "HTTP/1.0 closes by default" "Connection: close" \
    "$(raw 'GET / HTTP/1.0\r\nHost: sales.acmemedia.example\r\n\r\n' | grep '^Connection:')"
expect "obs-fold is refused" "HTTP/1.1 400 Bad Request" \
    "$(raw 'GET / HTTP/1.1\r\nHost: sales.acmemedia.example\r\nX-A: 1\r\n  folded\r\n\r\n' | head -1)"
expect "space before colon is refused" "HTTP/1.1 400 Bad Request" \
    "$(raw 'GET / HTTP/1.1\r\nHost : sales.acmemedia.example\r\n\r\n' | head -1)"
expect "bare LF is refused" "HTTP/1.1 400 Bad Request" \
    "$(raw 'GET / HTTP/1.1\r\nHost: sales.acmemedia.example\nX: y\r\n\r\n' | head -1)"
expect "NUL in a header is refused" "HTTP/1.1 400 Bad Request" \
    "$(raw 'GET / HTTP/1.1\r\nHost: sales.acme\x00media.example\r\n\r\n' | head -1)"
expect "chunked bodies are refused (501) and the connection closed" "HTTP/1.1 501 Not Implemented|Connection: close" \
    "$(raw 'POST / HTTP/1.1\r\nHost: sales.acmemedia.example\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n' | grep -E '^(HTTP|Connection)' | tr '\n' '|' | sed 's/|$//')"
expect "conflicting Content-Length is refused" "HTTP/1.1 400 Bad Request" \
    "$(raw 'POST / HTTP/1.1\r\nHost: sales.acmemedia.example\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab' | head -1)"
expect "HTTP/2.0 request line: 505" "HTTP/1.1 505 HTTP Version Not Supported" \
    "$(raw 'GET / HTTP/2.0\r\nHost: sales.acmemedia.example\r\n\r\n' | head -1)"
big=$(head -c 9000 /dev/zero | tr '\0' 'a')
expect "head over 8 KiB: 431" "HTTP/1.1 431 Request Header Fields Too Large" \
    "$(raw "GET / HTTP/1.1\r\nHost: sales.acmemedia.example\r\nX-Big: $big\r\n\r\n" | head -1)"
expect "body over 64 KiB: 413" "HTTP/1.1 413 Content Too Large" \
    "$(raw 'POST / HTTP/1.1\r\nHost: sales.acmemedia.example\r\nContent-Length: 100000\r\n\r\n' | head -1)"
r=$(head -c 30000 /dev/zero | curl -s -o /dev/null -w '%{http_code}' -H 'Host: sales.acmemedia.example' \
    -H 'Content-Type: application/json' --data-binary @- "$FRONT/bid")
expect "a 30 KB bid request body is read and answered" 200 "$r"

# The front is still healthy after all of that.
expect "still serving" '200||{"tenant":"acme-media","health":"healthy"}' "$(front_get sales.acmemedia.example)"
stats=$(admin GET /stats)
expect_match "stats count the 503 reasons" '"503_EPENDING":[1-9].*"503_EDISABLED":[1-9]' "$stats"
expect_match "no 500 was ever sent" '"500":0,' "$stats"

stop_front
finish
