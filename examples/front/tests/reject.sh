#!/usr/bin/env bash
# reject.sh - bytes that can never become a request are answered 400 at
# once, not left to the request timeout (issue 15, defect 5): bare-LF line
# ends (however far the head got), a TLS ClientHello sent to the plain
# port, and other binary junk. The request timeout here is the default
# (10 s); each answer must come within 2 s, then the connection is closed.
# usage: reject.sh path/to/tenreg-front [backend]
source "$(dirname "$0")/lib.sh"

start_front --tenants "$TENANTS" --threads 2

# quick NAME BYTES: sends BYTES and does not close; requires a 400 and the
# connection closed by the server within 2 s.
quick() {
    exec 3<>"/dev/tcp/127.0.0.1/$FPORT"
    printf '%b' "$2" >&3
    local t0 out dt
    t0=$(ms)
    out=$(timeout 5 cat <&3 | tr -d '\r' | head -1)
    dt=$(( $(ms) - t0 ))
    exec 3<&-
    expect "$1: 400" "HTTP/1.1 400 Bad Request" "$out"
    if [ "$dt" -lt 2000 ]; then ok; else fail "$1: answered and closed after $dt ms"; fi
}

quick "bare LF everywhere" 'GET / HTTP/1.1\nHost: sales.acmemedia.example\n\n'
quick "bare LF after the request line" 'GET / HTTP/1.1\nHost: sales.acmemedia.example\r\n'
quick "bare LF in a header, head unfinished" 'GET / HTTP/1.1\r\nHost: sales.acmemedia.example\nX-A: 1\r\n'
quick "CRLF then a bare LF as the blank line" 'GET / HTTP/1.1\r\nHost: sales.acmemedia.example\r\n\n'
quick "bare CR" 'GET / HTTP/1.1\rHost: sales.acmemedia.example\r\n'
# The first bytes of a TLS 1.2/1.3 ClientHello: record type 0x16, version
# 3.1, length, handshake type 1, ... (a real client then waits for us).
quick "TLS ClientHello" '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\x8a\x1f\x4b\x07\x92\x33\xc0\xde\x55\x10\xaa\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10\x11\x12\x13\x14\x15'
quick "an SSLv2-style hello" '\x80\x2e\x01\x03\x01\x00\x15'
quick "a NUL in the request line" 'GET /\x00 HTTP/1.1\r\n'
quick "a method with a slash" 'GE/T / HTTP/1.1\r\n'
quick "a request line with the version already wrong" 'GET / XTTP/1.1\r\nHost: sales.acmemedia.example\r\n'
quick "a control byte in a header value" 'GET / HTTP/1.1\r\nHost: sales.acme\x01media.example\r\n'

# A request that is merely unfinished is still waited for (the 400s above
# are not guesses): the rest arrives after 0.3 s and is answered 200.
exec 3<>"/dev/tcp/127.0.0.1/$FPORT"
printf 'GET / HTTP/1.1\r\nHost: sales.acme' >&3
sleep 0.3
printf 'media.example\r\nConnection: close\r\n\r\n' >&3
expect "an unfinished request is waited for" "HTTP/1.1 200 OK" "$(timeout 5 cat <&3 | tr -d '\r' | head -1)"
exec 3<&-

stats=$(admin GET /stats)
expect_match "stats count the 400s" '"400":11,' "$stats"
expect "still serving" '200||{"tenant":"acme-media","health":"healthy"}' "$(front_get sales.acmemedia.example)"
stop_front
finish
