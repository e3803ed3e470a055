/*
 * admin.h - the admin API, served on 127.0.0.1 only, by one thread.
 *
 *   GET    /tenants                 {"tenants":[{"id","health"},...]}
 *   POST   /tenants                 {"id","agent_url","lazy"?,"await"?} -> 201 (new) /
 *                                    200 (replaced); "await": false registers an eager
 *                                    tenant without validating it (pending until checked)
 *   GET    /tenants/{id}            {"id","health","verdict","reason","failures",
 *                                    "checked_at","registered_at","lazy","built",
 *                                    "hosts":[...],"host_count"} (tenreg_status_of; the
 *                                    rwlock backend: id, health, lazy, built, hosts,
 *                                    host_count only)
 *   DELETE /tenants/{id}            204
 *   POST   /tenants/{id}/recheck    {"id","health","valid"}
 *   POST   /tenants/{id}/validator  {"valid":true|false,"check_failed"?,"reason"?}: the demo
 *                                    validator's answer (1, 0, or -1 with check_failed)
 *                                    and what a failing one tells tenreg_set_reason
 *   POST   /tenants/{id}/factory    {"ok":true|false,"reason"?}: the demo factory's outcome
 *   GET    /tenants/{id}/hosts      {"id","hosts":[agent URL's host, extra hosts and
 *                                    "*.NAME" patterns in the order added]}
 *   POST   /tenants/{id}/hosts      {"host":"<Host, URL or *.NAME>"} -> 201 {"id","host"}
 *                                    (host as stored), 200 when already held
 *   DELETE /tenants/{id}/hosts/{host}  204 ({host} may be %-encoded)
 *   PUT    /tenants                 {"tenants":[{"id","agent_url","lazy"?,"hosts"?:[...]},
 *                                    ...]}: the whole tenant set, as one change (reload.h)
 *                                    -> 200 {"kept","updated","registered","unregistered",
 *                                    "tenants"}; errors name the entry: {"error","index"}
 *                                    with 400 (bad JSON or entry, an id twice), 409 (a host
 *                                    for two entries; over TENREG_HOSTS_MAX), 404 (a kept
 *                                    tenant vanished), 501 ("hosts" on the rwlock backend),
 *                                    507 (out of memory); body up to ADMIN_SET_MAX_BYTES
 *   GET    /stats                   front response counters, platforms, connections
 *                                    (open, limit, refusals), buffered output, reloads
 *   GET    /metrics                 the same and tenreg_stats_of's counters in the
 *                                    Prometheus text format 0.0.4
 *
 * Errors are {"error":"<reason>"} with 400 (bad JSON, field, id, URL or
 * host; removing the agent URL's own host), 404 (unknown tenant or path, a
 * host the tenant does not hold), 405, 409 (host of another tenant; a
 * tenant at TENREG_HOSTS_MAX hosts), 415 (a POST or body not
 * application/json), 403 (Host not exactly 127.0.0.1/localhost[:port]),
 * 501 (host endpoints on the rwlock backend), 503 (out of memory); the
 * server's own 400/413/431/501/505 carry the same body. A request that
 * fails changes nothing.
 */
#ifndef FRONT_ADMIN_H
#define FRONT_ADMIN_H

#include "backend.h"
#include "front.h"
#include "server.h"

struct demo;

struct reloader;

/* The largest PUT /tenants body; every other admin body: JSON_MAX_BYTES. */
#define ADMIN_SET_MAX_BYTES (1u << 20)

struct admin {
    struct backend *backend;
    struct reloader *reloader;  /* its lock: held for every request */
    struct demo *demo;
    struct front *front;
    const struct server_counters *front_conns;  /* the two servers' counters */
    const struct server_counters *admin_conns;
};

void admin_handler(struct admin *a, struct server_handler *h);

/* Tenant ids the front admits: 1..255 bytes of [A-Za-z0-9._~-], but not
 * "." or "..", so an id is a URL path segment as is and needs no escaping
 * anywhere. admin_id_rule says so in words, for error messages. */
bool admin_valid_id(const char *id, size_t len);
extern const char admin_id_rule[];

#endif
