/*
 * admin.h - the admin API, served on 127.0.0.1 only, by one thread.
 *
 *   GET    /tenants                 {"tenants":[{"id","health"},...]}
 *   POST   /tenants                 {"id","agent_url","lazy"?} -> 201 (new) / 200 (replaced)
 *   GET    /tenants/{id}            {"id","health"}
 *   DELETE /tenants/{id}            204
 *   POST   /tenants/{id}/recheck    {"id","health","valid"}
 *   POST   /tenants/{id}/validator  {"valid":true|false}: the demo validator's answer
 *   POST   /tenants/{id}/factory    {"ok":true|false}: the demo factory's outcome
 *   GET    /stats                   front response counters, platforms, tenants
 *
 * Errors are {"error":"<reason>"} with 400 (bad JSON, field, id or URL),
 * 404 (unknown tenant or path), 405, 409 (host of another tenant), 415
 * (not application/json), 403 (Host not 127.0.0.1/localhost), 503 (out of
 * memory). A request that fails changes nothing.
 */
#ifndef FRONT_ADMIN_H
#define FRONT_ADMIN_H

#include "backend.h"
#include "front.h"
#include "server.h"

struct demo;

struct admin {
    struct backend *backend;
    struct demo *demo;
    struct front *front;
};

void admin_handler(struct admin *a, struct server_handler *h);

/* Tenant ids the front admits: 1..255 bytes of [A-Za-z0-9._~-], so an id
 * is a URL path segment as is and needs no escaping anywhere. */
bool admin_valid_id(const char *id, size_t len);

#endif
