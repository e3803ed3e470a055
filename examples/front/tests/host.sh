#!/usr/bin/env bash
# host.sh - a Host header is `uri-host [":" port]` and nothing more (RFC 9110
# §7.2; issue 15, defect 4). Userinfo, a scheme, a path, a query or a
# fragment in it gets 400 before tenreg is asked (tenreg itself accepts
# URLs, as its contract says, for agent URLs). An absolute-form target
# names the host by its authority, which must be as strict, and a Host
# header beside it must name the same host key (else 400); and the admin
# API's DNS-rebinding check cannot be passed with `evil.example@127.0.0.1`.
# usage: host.sh path/to/tenreg-front [backend]
source "$(dirname "$0")/lib.sh"

start_front --tenants "$TENANTS" --threads 2
ACME='200||{"tenant":"acme-media","health":"healthy"}'

for h in 'evil.example@sales.acmemedia.example' '@sales.acmemedia.example' \
         'user:pw@sales.acmemedia.example' 'http://sales.acmemedia.example/x' \
         'https://sales.acmemedia.example' 'sales.acmemedia.example/' \
         'sales.acmemedia.example/x' 'sales.acmemedia.example:443/x' \
         'sales.acmemedia.example?x=1' 'sales.acmemedia.example#frag' \
         'sales.acmemedia.example:443?x' '[2001:db8::42]:9443/x' 'u@[2001:db8::42]' \
         'sales.acmemedia.example:443:443' 'sales.acmemedia.example\' '[2001:db8::42]x'; do
    expect "400 for Host '$h'" '400||' "$(front_get "$h")"
done
for h in sales.acmemedia.example SALES.AcmeMedia.example. 'sales.acmemedia.example:443' \
         'sales.acmemedia.example:'; do
    expect "still 200 for Host '$h'" "$ACME" "$(front_get "$h")"
done
expect "still 200 for an IPv6 literal with a port" '200||{"tenant":"v6-seller","health":"healthy"}' \
    "$(front_get '[2001:db8::42]:9443')"

# absolute-form: the authority decides; it is held to the same rule, and a
# Host beside it must name the same host key (a proxy before us may route
# by Host: RFC 9112 §3.2.2 says to ignore it, the front refuses instead).
body() { raw "$1" | tail -1; }
status() { raw "$1" | head -1; }
expect "absolute-form with a port, path and query" '{"tenant":"acme-media","health":"healthy"}' \
    "$(body 'GET http://sales.acmemedia.example:443/x?y=1 HTTP/1.1\r\nHost: sales.acmemedia.example:443\r\nConnection: close\r\n\r\n')"
expect "absolute-form, https, upper-case scheme; Host of another case, port, trailing dot" \
    '{"tenant":"acme-media","health":"healthy"}' \
    "$(body 'GET HTTPS://sales.acmemedia.example HTTP/1.1\r\nHost: SALES.acmemedia.example.:8443\r\nConnection: close\r\n\r\n')"
expect "absolute-form, HTTP/1.0 without Host: the authority alone" '{"tenant":"acme-media","health":"healthy"}' \
    "$(body 'GET http://sales.acmemedia.example/x HTTP/1.0\r\n\r\n')"
for h in x.example adcp.bluefin-news.example 'evil@sales.acmemedia.example' '' \
         'sales.acmemedia.example/x'; do
    expect "absolute-form with Host '$h' beside it: 400" 'HTTP/1.1 400 Bad Request' \
        "$(status "GET http://sales.acmemedia.example/x HTTP/1.1\r\nHost: $h\r\nConnection: close\r\n\r\n")"
done
expect "absolute-form, HTTP/1.1 without Host: 400" 'HTTP/1.1 400 Bad Request' \
    "$(status 'GET http://sales.acmemedia.example/x HTTP/1.1\r\nConnection: close\r\n\r\n')"
expect "absolute-form with two Hosts, both its own: 400" 'HTTP/1.1 400 Bad Request' \
    "$(status 'GET http://sales.acmemedia.example/x HTTP/1.1\r\nHost: sales.acmemedia.example\r\nHost: sales.acmemedia.example\r\nConnection: close\r\n\r\n')"
expect "absolute-form with userinfo: 400" 'HTTP/1.1 400 Bad Request' \
    "$(status 'GET http://evil@sales.acmemedia.example/ HTTP/1.1\r\nHost: sales.acmemedia.example\r\nConnection: close\r\n\r\n')"
expect "absolute-form of another scheme: 400" 'HTTP/1.1 400 Bad Request' \
    "$(status 'GET ftp://sales.acmemedia.example/ HTTP/1.1\r\nHost: sales.acmemedia.example\r\nConnection: close\r\n\r\n')"
expect "a target that is neither a path nor a URL: 400" 'HTTP/1.1 400 Bad Request' \
    "$(status 'GET sales.acmemedia.example/x HTTP/1.1\r\nHost: sales.acmemedia.example\r\nConnection: close\r\n\r\n')"

# ---- the admin API's DNS-rebinding guard ----------------------------------
for h in 'evil.example@127.0.0.1' '127.0.0.1/x' 'http://127.0.0.1' 'localhost?x' 'a@localhost:1'; do
    r=$(curl -s -o /dev/null -w '%{http_code}' -H "Host: $h" "$ADMIN/tenants")
    expect "admin: 403 for Host '$h'" 403 "$r"
done
for h in 127.0.0.1 "127.0.0.1:$APORT" localhost LOCALHOST.; do
    r=$(curl -s -o /dev/null -w '%{http_code}' -H "Host: $h" "$ADMIN/tenants")
    expect "admin: 200 for Host '$h'" 200 "$r"
done

stop_front
finish
