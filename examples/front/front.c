/* front.c - the bidder-facing request handler (see front.h). */
#include "front.h"

#include <stdlib.h>
#include <string.h>

#include "http.h"

const char *const stat_names[ST_COUNT] = {
    "200", "400", "404", "413", "431", "500", "501", "505",
    "503_unserved", "503_EPENDING", "503_EDISABLED", "503_EFACTORY", "503_EVALIDATOR",
};

static void *front_thread_start(void *ctx, unsigned index)
{
    struct front *f = ctx;
    f->backend->thread_start(f->backend->impl);
    return &f->slots[index];
}

static void front_thread_stop(void *ctx, void *tctx)
{
    struct front *f = ctx;
    f->backend->thread_stop(f->backend->impl);
}

static void front_rejected(void *ctx, void *tctx, int status)
{
    struct stats_slot *s = tctx;
    switch (status) {
    case 400: stat_inc(s, ST_400); break;
    case 413: stat_inc(s, ST_413); break;
    case 431: stat_inc(s, ST_431); break;
    case 501: stat_inc(s, ST_501); break;
    default: stat_inc(s, ST_505); break;
    }
}

/* {"tenant":"<id>","health":"<h>"[,"reason":"<r>"]} into @out (cap 2048):
 * ids are at most 255 bytes, 6 bytes each escaped, so it always fits; a
 * fixed buffer fails rather than overflow if that ever stopped being true. */
static size_t tenant_body(char *out, size_t cap, const struct answer *a, const char *reason)
{
    struct buf b = {.p = out, .cap = cap, .fixed = true};
    /* The front only admits ids of [A-Za-z0-9._~-], but the escaping costs
     * nothing and keeps the body JSON whatever a backend returns. */
    buf_adds(&b, "{\"tenant\":\"");
    buf_add_json_str(&b, a->tenant, a->tenant_len);
    buf_adds(&b, "\",\"health\":\"");
    buf_adds(&b, tenreg_health_name(a->health));
    if (reason != NULL) {
        buf_adds(&b, "\",\"reason\":\"");
        buf_adds(&b, reason);
    }
    buf_adds(&b, "\"}");
    return b.failed ? 0 : b.len;
}

static void front_handle(void *ctx, void *tctx, const struct http_request *req,
                         const char *body, struct buf *out, const char *date)
{
    struct front *f = ctx;
    struct stats_slot *s = tctx;
    bool ka = req->keep_alive, head = req->head;

    /* HTTP/1.1 requires exactly one Host (RFC 9112 3.2); without one there
     * is nothing to route by. */
    if (req->host_count != 1) {
        stat_inc(s, ST_400);
        http_respond(out, 400, date, NULL, NULL, NULL, 0, ka, head);
        return;
    }
    /* An absolute-form target ("GET http://h/ HTTP/1.1") names the host
     * that counts (RFC 9112 3.2.2); tenreg accepts a full URL as is. */
    const char *host = req->host;
    size_t host_len = req->host_len;
    if (req->target_len > 0 && req->target[0] != '/' && req->target[0] != '*' &&
        memchr(req->target, ':', req->target_len) != NULL &&
        !http_ieq(req->method, req->method_len, "connect")) {
        host = req->target;
        host_len = req->target_len;
    }

    struct answer a;
    f->backend->resolve(f->backend->impl, host, host_len, &a);

    char json[2048];
    size_t n;
    enum stat k;
    const char *retry = "Retry-After: 30\r\n";
    const char *reason;
    switch (a.code) {
    case TENREG_OK:
        if (tenreg_serves(a.health, TENREG_SERVE_DEFAULT)) {
            stat_inc(s, ST_200);
            n = tenant_body(json, sizeof json, &a, NULL);
            http_respond(out, 200, date, NULL, "application/json", json, n, ka, head);
            return;
        }
        k = ST_503_UNSERVED;
        reason = "unserved";
        break;
    case TENREG_EPENDING:
        /* A build is (or is now) under way: worth retrying soon. */
        k = ST_503_EPENDING;
        reason = "EPENDING";
        retry = "Retry-After: 1\r\n";
        break;
    case TENREG_EDISABLED: k = ST_503_EDISABLED; reason = "EDISABLED"; break;
    case TENREG_EFACTORY: k = ST_503_EFACTORY; reason = "EFACTORY"; break;
    case TENREG_EVALIDATOR: k = ST_503_EVALIDATOR; reason = "EVALIDATOR"; break;
    case TENREG_ENOENT:
        stat_inc(s, ST_404);
        http_respond(out, 404, date, NULL, NULL, NULL, 0, ka, head);
        return;
    case TENREG_EINVAL:
        stat_inc(s, ST_400);
        http_respond(out, 400, date, NULL, NULL, NULL, 0, ka, head);
        return;
    default:
        /* ENOMEM or a code this front does not know: a real server error. */
        stat_inc(s, ST_500);
        http_respond(out, 500, date, NULL, NULL, NULL, 0, false, head);
        return;
    }
    stat_inc(s, k);
    n = tenant_body(json, sizeof json, &a, reason);
    http_respond(out, 503, date, retry, "application/json", json, n, ka, head);
}

int front_init(struct front *f, struct backend *b, unsigned threads, struct server_handler *h)
{
    f->backend = b;
    f->n_slots = threads;
    f->slots = aligned_alloc(_Alignof(struct stats_slot), threads * sizeof *f->slots);
    if (f->slots == NULL)
        return -1;
    memset(f->slots, 0, threads * sizeof *f->slots);
    *h = (struct server_handler){
        .ctx = f,
        /* Bid requests carry bodies; the front routes by Host only, but
         * must read them to find the next pipelined request. */
        .max_body = 64 * 1024,
        .thread_start = front_thread_start,
        .thread_stop = front_thread_stop,
        .handle = front_handle,
        .rejected = front_rejected,
    };
    return 0;
}

void front_fini(struct front *f)
{
    free(f->slots);
}

uint64_t front_stat(const struct front *f, enum stat k)
{
    uint64_t sum = 0;
    for (unsigned i = 0; i < f->n_slots; i++)
        sum += atomic_load_explicit(&f->slots[i].n[k], memory_order_relaxed);
    return sum;
}
