#!/usr/bin/env bash
# methods.sh - request methods (issue 15, defect 3). Methods are
# case-sensitive (RFC 9110 §9.1). The front routes GET, HEAD and POST; the
# other methods RFC 9110 defines get 405 with Allow; CONNECT (a tunnel: this
# is no proxy) and an unknown method, `get` included, get 501 and a close,
# on both ports (the admin's with a JSON error body), so a client's next
# bytes are never read as a request.
# usage: methods.sh path/to/tenreg-front [backend]
source "$(dirname "$0")/lib.sh"

start_front --tenants "$TENANTS" --threads 2
H='Host: sales.acmemedia.example'

# status_of RAW_ANSWER -> "STATUS" of the first response
status_of() { echo "$1" | head -1 | cut -d' ' -f2; }

for m in GET POST; do
    out=$(raw "$m / HTTP/1.1\r\n$H\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
    expect "$m is routed" 200 "$(status_of "$out")"
done
expect "HEAD is routed" 200 "$(status_of "$(raw "HEAD / HTTP/1.1\r\n$H\r\nConnection: close\r\n\r\n")")"

out=$(raw "CONNECT sales.acmemedia.example:443 HTTP/1.1\r\nHost: sales.acmemedia.example:443\r\n\r\nGET / HTTP/1.1\r\n$H\r\n\r\n")
expect "CONNECT: 501, and only that" 501 \
    "$(echo "$out" | grep -o 'HTTP/1\.1 [0-9][0-9][0-9]' | cut -d' ' -f2 | tr '\n' ' ' | sed 's/ $//')"
expect "CONNECT: the connection is closed" "Connection: close" "$(echo "$out" | grep '^Connection:')"
expect "CONNECT: no tenant body" "" "$(echo "$out" | grep -o '"tenant"')"

for m in PUT DELETE OPTIONS PATCH TRACE; do
    out=$(raw "$m / HTTP/1.1\r\n$H\r\nConnection: close\r\n\r\n")
    expect "$m: 405" 405 "$(status_of "$out")"
    expect "$m: Allow" "Allow: GET, HEAD, POST" "$(echo "$out" | grep '^Allow:')"
done
# 405 is an answer like any other: a keep-alive connection goes on.
out=$(raw "PUT / HTTP/1.1\r\n$H\r\n\r\nGET / HTTP/1.1\r\n$H\r\nConnection: close\r\n\r\n")
expect "405 keeps the connection: the next request is answered" "405 200" \
    "$(echo "$out" | grep -o 'HTTP/1\.1 [0-9][0-9][0-9]' | cut -d' ' -f2 | tr '\n' ' ' | sed 's/ $//')"

for m in get Get gEt post FOO BREW PROPFIND; do
    out=$(raw "$m / HTTP/1.1\r\n$H\r\n\r\nGET / HTTP/1.1\r\n$H\r\n\r\n")
    expect "'$m': 501, and only that (the connection is closed)" "501" \
        "$(echo "$out" | grep -o 'HTTP/1\.1 [0-9][0-9][0-9]' | cut -d' ' -f2 | tr '\n' ' ' | sed 's/ $//')"
    expect "'$m': no tenant body" "" "$(echo "$out" | grep -o '"tenant"')"
done

stats=$(admin GET /stats)
expect_match "stats count the 405s" '"405":6,' "$stats"
expect_match "stats count the 501s (CONNECT and 7 unknown)" '"501":8,' "$stats"

# ---- the admin port -------------------------------------------------------
HA='Host: 127.0.0.1'
out=$(raw_to "$APORT" "get /tenants HTTP/1.1\r\n$HA\r\n\r\n")
expect "admin: 'get' is not GET: 501" 501 "$(status_of "$out")"
expect "admin: 501 has a JSON error body" '{"error":"unknown method"}' "$(echo "$out" | tail -1)"
out=$(raw_to "$APORT" "FOO /tenants HTTP/1.1\r\n$HA\r\n\r\n")
expect "admin: unknown method: 501" 501 "$(status_of "$out")"
out=$(raw_to "$APORT" "CONNECT 127.0.0.1:1 HTTP/1.1\r\n$HA\r\n\r\n")
expect "admin: CONNECT: 501" 501 "$(status_of "$out")"
expect "admin: CONNECT closes" "Connection: close" "$(echo "$out" | grep '^Connection:')"
expect_match "admin: GET still works" '^200 ' "$(admin GET /tenants)"

stop_front
finish
