#!/usr/bin/env bash
# hosts.sh - the admin API's host endpoints (issue 10; docs/design.md §8.1),
# driven with curl, and what the front then answers for those hosts:
#   GET    /tenants/{id}/hosts         the agent URL's host, then the others
#   POST   /tenants/{id}/hosts         {"host": Host value, URL or "*.NAME"}
#   DELETE /tenants/{id}/hosts/{host}
# 201 new / 200 already held / 204 removed; 409 for a host or pattern of
# another tenant and for a tenant at TENREG_HOSTS_MAX; 404 unknown tenant or
# a host not held; 400 bad host or pattern, or the agent URL's own host.
# With the rwlock backend (one host per tenant) every host endpoint is 501.
# usage: hosts.sh path/to/tenreg-front [tenreg|rwlock]
source "$(dirname "$0")/lib.sh"

start_front --tenants "$TENANTS" --threads 2 --factory-delay-ms 300

# matched HOST -> "STATUS|X-Tenant-Matched|tenant"
matched() {
    curl -s -o "$WORK/mb" -D "$WORK/mh" -H "Host: $1" "$FRONT/bid" >/dev/null
    echo "$(head -1 "$WORK/mh" | cut -d' ' -f2)|$(tr -d '\r' <"$WORK/mh" | sed -n 's/^X-Tenant-Matched: //Ip')|$(grep -o '"tenant":"[^"]*"' "$WORK/mb" | cut -d'"' -f4)"
}
hosts_of() { admin GET "/tenants/$1/hosts"; }

if [ "$BACKEND" = rwlock ]; then
    msg='{"error":"this backend keeps one host per tenant: the host endpoints need --backend tenreg"}'
    expect "rwlock: GET hosts: 501" "501 $msg" "$(hosts_of acme-media)"
    expect "rwlock: POST hosts: 501" "501 $msg" "$(admin POST /tenants/acme-media/hosts '{"host":"x.example"}')"
    expect "rwlock: DELETE host: 501" "501 $msg" "$(admin DELETE /tenants/acme-media/hosts/x.example)"
    expect "rwlock: x.example was not added" "404||" "$(front_get x.example)"
    expect "rwlock: no X-Tenant-Matched" "200||acme-media" "$(matched sales.acmemedia.example)"
    stop_front
    finish
    exit
fi

# ---- list, add, idempotence, what the front answers -------------------------
expect "GET hosts: the agent URL's host" '200 {"id":"acme-media","hosts":["sales.acmemedia.example"]}' \
    "$(hosts_of acme-media)"
expect "the front says what matched" "200|sales.acmemedia.example|acme-media" \
    "$(matched SALES.AcmeMedia.example:443)"
expect "POST a host: 201, stored normalized" '201 {"id":"acme-media","host":"ads.acmemedia.example"}' \
    "$(admin POST /tenants/acme-media/hosts '{"host":"Ads.AcmeMedia.example:443"}')"
expect "POST it again: 200 (idempotent)" '200 {"id":"acme-media","host":"ads.acmemedia.example"}' \
    "$(admin POST /tenants/acme-media/hosts '{"host":"ads.acmemedia.example."}')"
expect "POST a URL: its host" '201 {"id":"acme-media","host":"ads2.acmemedia.example"}' \
    "$(admin POST /tenants/acme-media/hosts '{"host":"https://Ads2.AcmeMedia.example/adcp?x=1"}')"
expect "POST a pattern" '201 {"id":"acme-media","host":"*.acme.example"}' \
    "$(admin POST /tenants/acme-media/hosts '{"host":"*.Acme.Example."}')"
expect "GET hosts: in the order added" \
    '200 {"id":"acme-media","hosts":["sales.acmemedia.example","ads.acmemedia.example","ads2.acmemedia.example","*.acme.example"]}' \
    "$(hosts_of acme-media)"
expect "an extra host is served" "200|ads.acmemedia.example|acme-media" "$(matched ads.acmemedia.example)"
expect "a subdomain under the pattern" "200|*.acme.example|acme-media" "$(matched a.acme.example)"
expect "two labels under the pattern" "200|*.acme.example|acme-media" "$(matched A.B.acme.example:8443)"
expect "the pattern's own name is not under it" "404||" "$(matched acme.example)"

# ---- precedence: longest suffix, exact beats pattern ------------------------
expect "a nested pattern for another tenant" '201 {"id":"bluefin-news","host":"*.b.acme.example"}' \
    "$(admin POST /tenants/bluefin-news/hosts '{"host":"*.b.acme.example"}')"
expect "the longest suffix wins" "200|*.b.acme.example|bluefin-news" "$(matched x.b.acme.example)"
expect "the shorter one still serves the rest" "200|*.acme.example|acme-media" "$(matched x.c.acme.example)"
expect "an exact host under another tenant's pattern" '201 {"id":"cedar-sports","host":"special.acme.example"}' \
    "$(admin POST /tenants/cedar-sports/hosts '{"host":"special.acme.example"}')"
expect "the exact host wins" "200|special.acme.example|cedar-sports" "$(matched special.acme.example)"

# ---- 409: collisions change nothing -------------------------------------
before_a=$(hosts_of acme-media)
before_b=$(hosts_of bluefin-news)
expect "409: another tenant's extra host" \
    "409 {\"error\":\"host 'ads.acmemedia.example' already belongs to another tenant\"}" \
    "$(admin POST /tenants/bluefin-news/hosts '{"host":"ADS.acmemedia.example"}')"
expect "409: another tenant's agent URL host" \
    "409 {\"error\":\"host 'sales.acmemedia.example' already belongs to another tenant\"}" \
    "$(admin POST /tenants/bluefin-news/hosts '{"host":"http://sales.acmemedia.example:80/x"}')"
expect "409: another tenant's pattern" \
    "409 {\"error\":\"host '*.acme.example' already belongs to another tenant\"}" \
    "$(admin POST /tenants/bluefin-news/hosts '{"host":"*.acme.example"}')"
expect "409: the owner's hosts unchanged" "$before_a" "$(hosts_of acme-media)"
expect "409: the other's hosts unchanged" "$before_b" "$(hosts_of bluefin-news)"
expect "409: still the owner's" "200|ads.acmemedia.example|acme-media" "$(matched ads.acmemedia.example)"
expect "409 on registering a tenant onto an extra host" 409 \
    "$(admin POST /tenants '{"id":"thief","agent_url":"https://ads.acmemedia.example"}' | cut -d' ' -f1)"

# ---- 400 and 404 ---------------------------------------------------------
for h in '*' '**.a.example' 'a.*.example' '*a.example' '*.' '*.a.example:443' '*.https://a.example' \
         '*.[2001:db8::1]' '*.a..example' 'bad host.example' '' 'https:///x'; do
    expect "400 for '$h'" "400 {\"error\":\"'host' must be a host, a URL or a *.NAME pattern\"}" \
        "$(admin POST /tenants/acme-media/hosts "{\"host\":\"$h\"}")"
done
expect "400: a member other than host" "400 {\"error\":\"unknown member 'hostname'\"}" \
    "$(admin POST /tenants/acme-media/hosts '{"hostname":"x.example"}')"
expect "400: host missing" "400 {\"error\":\"'host' must be a string\"}" \
    "$(admin POST /tenants/acme-media/hosts '{}')"
expect "400: not JSON" "400 {\"error\":\"bad JSON: values must be strings or true/false\"}" \
    "$(admin POST /tenants/acme-media/hosts '{"host":1}')"
expect "after the 400s nothing changed" "$before_a" "$(hosts_of acme-media)"
expect "404: unknown tenant (GET)" '404 {"error":"no such tenant"}' "$(hosts_of nobody)"
expect "404: unknown tenant (POST)" '404 {"error":"no such tenant"}' \
    "$(admin POST /tenants/nobody/hosts '{"host":"nobody.example"}')"
expect "404: unknown tenant (DELETE)" '404 {"error":"no such tenant"}' \
    "$(admin DELETE /tenants/nobody/hosts/nobody.example)"
r=$(curl -s -o /dev/null -w '%{http_code}' -X POST --data-binary '{"host":"form.example"}' \
    -H 'Content-Type: text/plain' "$ADMIN/tenants/acme-media/hosts")
expect "415: not JSON" 415 "$r"
expect_match "405 with Allow (hosts)" 'Allow: GET, HEAD, POST' \
    "$(curl -s -i -X PUT "$ADMIN/tenants/acme-media/hosts" | tr -d '\r')"
expect_match "405 with Allow (one host)" 'Allow: DELETE' \
    "$(curl -s -i "$ADMIN/tenants/acme-media/hosts/ads.acmemedia.example" | tr -d '\r')"
expect "404: a path below a host" '404 {"error":"no such path"}' \
    "$(admin DELETE /tenants/acme-media/hosts/ads.acmemedia.example/x)"

# ---- DELETE ----------------------------------------------------------------
expect "DELETE an extra host: 204" "204 " "$(admin DELETE /tenants/acme-media/hosts/ADS2.acmemedia.example)"
expect "DELETE it again: 404" "404 {\"error\":\"tenant 'acme-media' does not hold 'ads2.acmemedia.example'\"}" \
    "$(admin DELETE /tenants/acme-media/hosts/ads2.acmemedia.example)"
expect "the removed host is nobody's now (it is under no pattern)" \
    "404||" "$(matched ads2.acmemedia.example)"
expect "DELETE the agent URL's host: 400" \
    "400 {\"error\":\"'sales.acmemedia.example' is the host of the tenant's agent URL: re-register to move it\"}" \
    "$(admin DELETE /tenants/acme-media/hosts/sales.acmemedia.example)"
expect "DELETE a host another tenant holds: 404" \
    "404 {\"error\":\"tenant 'bluefin-news' does not hold 'special.acme.example'\"}" \
    "$(admin DELETE /tenants/bluefin-news/hosts/special.acme.example)"
expect "DELETE the nested pattern (%-encoded)" "204 " "$(admin DELETE /tenants/bluefin-news/hosts/%2A.b.acme.example)"
expect "its subdomains fall back to the shorter pattern" "200|*.acme.example|acme-media" "$(matched x.b.acme.example)"
expect "DELETE with a bad %-escape: 400" "400 {\"error\":\"'host' must be a host, a URL or a *.NAME pattern\"}" \
    "$(admin DELETE /tenants/acme-media/hosts/%zz.example)"

# ---- a lazy tenant's extra host answers what the tenant does ----------------
expect "a host for a lazy tenant" '201 {"id":"delta-streaming","host":"alt.delta-streaming.example"}' \
    "$(admin POST /tenants/delta-streaming/hosts '{"host":"alt.delta-streaming.example"}')"
expect "its first request starts the build" \
    '503|1|{"tenant":"delta-streaming","health":"pending","reason":"EPENDING"}' \
    "$(front_get alt.delta-streaming.example)"
wait_for "then it is served" '^200\|\|\{"tenant":"delta-streaming","health":"healthy"\}$' alt.delta-streaming.example
expect "and so is its own host (one build)" '200||{"tenant":"delta-streaming","health":"healthy"}' \
    "$(front_get ads.delta-streaming.example)"

# ---- the per-tenant limit: TENREG_HOSTS_MAX (64) hosts and patterns ---------
admin POST /tenants '{"id":"filler","agent_url":"https://filler.example"}' >/dev/null
n201=0
for i in $(seq 1 63); do
    [ "$(admin POST /tenants/filler/hosts "{\"host\":\"h$i.filler.example\"}" | cut -d' ' -f1)" = 201 ] &&
        n201=$((n201 + 1))
done
expect "63 extra hosts fit beside the agent URL's" 63 "$n201"
expect "the 65th: 409, the limit" \
    "409 {\"error\":\"tenant 'filler' already holds 64 hosts and patterns (the limit)\"}" \
    "$(admin POST /tenants/filler/hosts '{"host":"h64.filler.example"}')"
expect "an already held one is still 200 at the limit" '200 {"id":"filler","host":"h63.filler.example"}' \
    "$(admin POST /tenants/filler/hosts '{"host":"h63.filler.example"}')"
expect "GET lists 64" 64 "$(hosts_of filler | grep -o '"[a-z0-9.*]*filler.example"' | wc -l)"

# ---- re-registration and unregistration drop the extra hosts ---------------
expect "re-register acme-media" 200 \
    "$(admin POST /tenants '{"id":"acme-media","agent_url":"https://Sales.AcmeMedia.example:443/adcp"}' | cut -d' ' -f1)"
expect "only its agent URL's host is left" '200 {"id":"acme-media","hosts":["sales.acmemedia.example"]}' \
    "$(hosts_of acme-media)"
expect "its pattern is gone" "404||" "$(matched x.c.acme.example)"
expect "its extra host is gone" "404||" "$(matched ads.acmemedia.example)"
expect "cedar's exact host under the old pattern stays" "200|special.acme.example|cedar-sports" \
    "$(matched special.acme.example)"
expect "DELETE cedar-sports" "204 " "$(admin DELETE /tenants/cedar-sports)"
expect "its extra host went with it" "404||" "$(matched special.acme.example)"
expect "and is free for another tenant" '201 {"id":"bluefin-news","host":"special.acme.example"}' \
    "$(admin POST /tenants/bluefin-news/hosts '{"host":"special.acme.example"}')"

stats=$(admin GET /stats)
expect_match "no 500 was sent" '"500":0,' "$stats"
stop_front
finish
