/* front.c - the bidder-facing request handler (see front.h). */
#include "front.h"

#include <stdlib.h>
#include <string.h>

#include "http.h"

const char *const stat_names[ST_COUNT] = {
    "200", "400", "404", "405", "413", "431", "500", "501", "505",
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

/* Do the Host header and an absolute-form target's authority name the
 * same host key? Both must also be exactly uri-host [":" port]; the ports
 * are not compared (tenreg drops them: they cannot route differently). */
static bool same_host(const char *host, size_t host_len, const char *auth, size_t auth_len)
{
    char a[TENREG_HOST_KEY_MAX + 1], b[TENREG_HOST_KEY_MAX + 1];
    return http_authority_ok(host, host_len) &&
           tenreg_normalize_host(host, host_len, a, sizeof a, NULL) == 0 &&
           tenreg_normalize_host(auth, auth_len, b, sizeof b, NULL) == 0 && strcmp(a, b) == 0;
}

/*
 * The host a request names, or false (400). Origin-form ("/path"): the
 * Host header, exactly one (RFC 9112 3.2: without one there is nothing to
 * route by), which must be exactly uri-host [":" port] (RFC 9110 7.2) -
 * userinfo, a scheme, a path, a query or a fragment would let a cache or
 * WAF in front of us and this front disagree about the host.
 * Absolute-form ("http://h/x", RFC 9112 3.2.2): its authority, held to the
 * same rule. That section says to ignore Host then, but a tenant router
 * that routes by the target while a proxy, cache or WAF before it reads
 * Host (which a client must make identical to the authority: RFC 9112
 * 3.2) can be made to send one tenant's traffic to another: a Host that
 * names another host key is a 400 instead. Without a Host header the
 * authority alone decides, for HTTP/1.0 only (HTTP/1.1 requires Host).
 * tenreg itself accepts URLs (agent URLs); the strictness is the front's.
 */
static bool request_host(const struct http_request *req, const char **host, size_t *len)
{
    const char *t = req->target;
    size_t n = req->target_len;
    if (n > 0 && t[0] == '/') {
        *host = req->host;
        *len = req->host_len;
        return req->host_count == 1 && http_authority_ok(req->host, req->host_len);
    }
    size_t scheme = http_ieq(t, n < 7 ? n : 7, "http://") ? 7
                    : http_ieq(t, n < 8 ? n : 8, "https://") ? 8 : 0;
    if (scheme == 0)
        return false;           /* "*" or anything else: not for GET/HEAD/POST */
    size_t i = scheme;
    while (i < n && t[i] != '/' && t[i] != '?' && t[i] != '#')
        i++;
    *host = t + scheme;
    *len = i - scheme;
    if (!http_authority_ok(*host, *len))
        return false;
    if (req->host_count == 0)
        return req->minor == 0;
    return req->host_count == 1 && same_host(req->host, req->host_len, *host, *len);
}

/* Returns false (close once this answer is sent) only for a 500. */
static bool front_handle(void *ctx, void *tctx, const struct http_request *req,
                         const char *body, struct buf *out, const char *date)
{
    struct front *f = ctx;
    struct stats_slot *s = tctx;
    unsigned fl = http_reply_flags(req);

    /* The front routes GET, HEAD and POST (bid requests); the other
     * methods RFC 9110 defines are not for this resource. (CONNECT and
     * unknown methods never get here: the parser answers 501.) */
    if (req->method_id != HTTP_GET && req->method_id != HTTP_HEAD &&
        req->method_id != HTTP_POST) {
        stat_inc(s, ST_405);
        http_respond(out, 405, date, "Allow: GET, HEAD, POST\r\n", NULL, NULL, 0, fl);
        return true;
    }
    const char *host;
    size_t host_len;
    if (!request_host(req, &host, &host_len)) {
        stat_inc(s, ST_400);
        http_respond(out, 400, date, NULL, NULL, NULL, 0, fl);
        return true;
    }

    struct answer a;
    f->backend->resolve(f->backend->impl, host, host_len, &a);
    /* Which host key or "*.NAME" pattern decided, for every answer that
     * names a tenant (tenreg backend; docs/design.md §8.1). */
    char extra[sizeof "X-Tenant-Matched: \r\nRetry-After: 30\r\n" + BACKEND_HOST_MAX];
    size_t xl = 0;
    if (a.code != TENREG_ENOENT && a.code != TENREG_EINVAL && a.matched_len > 0) {
        memcpy(extra, "X-Tenant-Matched: ", 18);
        memcpy(extra + 18, a.matched, a.matched_len);
        memcpy(extra + 18 + a.matched_len, "\r\n", 2);
        xl = 20 + a.matched_len;
    }
    extra[xl] = '\0';

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
            http_respond(out, 200, date, xl ? extra : NULL, "application/json", json, n, fl);
            return true;
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
        http_respond(out, 404, date, NULL, NULL, NULL, 0, fl);
        return true;
    case TENREG_EINVAL:
        stat_inc(s, ST_400);
        http_respond(out, 400, date, NULL, NULL, NULL, 0, fl);
        return true;
    default:
        /* ENOMEM or a code this front does not know: a real server error.
         * The answer says "Connection: close" and the server closes: a
         * client should not keep pipelining into a front in this state. */
        stat_inc(s, ST_500);
        http_respond(out, 500, date, NULL, NULL, NULL, 0, fl & HTTP_HEAD_ONLY);
        return false;
    }
    stat_inc(s, k);
    n = tenant_body(json, sizeof json, &a, reason);
    memcpy(extra + xl, retry, strlen(retry) + 1);
    http_respond(out, 503, date, extra, "application/json", json, n, fl);
    return true;
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
