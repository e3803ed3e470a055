/*
 * front.h - the bidder-facing handler: Host header -> tenant -> HTTP status.
 *
 *   200  tenant served (health in TENREG_SERVE_DEFAULT): {"tenant","health"}
 *   404  no tenant has this host (no body)
 *   503  tenant known but not served: pending, building, disabled; with
 *        Retry-After and a body naming the tenant, its health and the reason
 *   400  Host missing, repeated, not exactly uri-host [":" port] (userinfo,
 *        scheme, path, query or fragment: RFC 9110 7.2), or not a host
 *        (tenreg says EINVAL); an absolute-form target's authority likewise,
 *        and a Host beside it that names another host key
 *   405  PUT, DELETE, OPTIONS, TRACE, PATCH (Allow: GET, HEAD, POST);
 *        CONNECT and unknown methods never get here (the parser's 501)
 * 200 and 503 name the host key or pattern that decided in
 * X-Tenant-Matched, when the backend tells it (tenreg).
 */
#ifndef FRONT_FRONT_H
#define FRONT_FRONT_H

#include "backend.h"
#include "server.h"
#include "stats.h"

struct front {
    struct backend *backend;
    unsigned n_slots;
    struct stats_slot *slots;   /* one per worker */
};

/* Fills @h for server_start; @f must outlive the server. */
int front_init(struct front *f, struct backend *b, unsigned threads, struct server_handler *h);
void front_fini(struct front *f);
/* Sum of every worker's counter @k. */
uint64_t front_stat(const struct front *f, enum stat k);

#endif
