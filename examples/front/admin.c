/* admin.c - the admin API (see admin.h). */
#include "admin.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "demo.h"
#include "json.h"
#include "reload.h"
#include "tenant_set.h"

#define URL_MAX 2048

const char admin_id_rule[] = "1..255 bytes of A-Z a-z 0-9 . _ ~ -, not . or ..";

bool admin_valid_id(const char *id, size_t len)
{
    if (len == 0 || len > TENREG_ID_MAX)
        return false;
    /* "." and ".." are path segments every URL library rewrites
     * (/tenants/.. is /): such a tenant could not be named in a URL. */
    if ((len == 1 && id[0] == '.') || (len == 2 && id[0] == '.' && id[1] == '.'))
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = id[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '~' || c == '-'))
            return false;
    }
    return true;
}

struct reply {
    struct buf *out;
    const char *date;
    const struct http_request *req;
};

static void send_json(struct reply *r, int status, const struct buf *body)
{
    http_respond(r->out, status, r->date, NULL, "application/json", body->p, body->len,
                 http_reply_flags(r->req));
}

static void send_error(struct reply *r, int status, const char *reason, const char *extra)
{
    struct buf b = {0};
    buf_adds(&b, "{\"error\":\"");
    buf_add_json_str(&b, reason, strlen(reason));
    buf_adds(&b, "\"}");
    if (b.failed)
        r->out->failed = true;  /* b may hold a first allocation: freed below */
    else
        http_respond(r->out, status, r->date, extra, "application/json", b.p, b.len,
                     http_reply_flags(r->req));
    buf_free(&b);
}

/* {"error":"<reason>","index":N}: a PUT /tenants entry (index < 0: none). */
static void send_error_at(struct reply *r, int status, const char *reason, long index)
{
    if (index < 0) {
        send_error(r, status, reason, NULL);
        return;
    }
    struct buf b = {0};
    buf_adds(&b, "{\"error\":\"");
    buf_add_json_str(&b, reason, strlen(reason));
    buf_adds(&b, "\",\"index\":");
    buf_addu(&b, (uint64_t)index);
    buf_adds(&b, "}");
    if (b.failed)
        r->out->failed = true;
    else
        send_json(r, status, &b);
    buf_free(&b);
}

static void send_code(struct reply *r, int code)
{
    switch (code) {
    case TENREG_ENOENT: send_error(r, 404, "no such tenant", NULL); break;
    case TENREG_EINVAL: send_error(r, 400, tenreg_strerror(code), NULL); break;
    case TENREG_EEXIST: send_error(r, 409, tenreg_strerror(code), NULL); break;
    case TENREG_ENOMEM: send_error(r, 503, tenreg_strerror(code), "Retry-After: 1\r\n"); break;
    default: send_error(r, 500, tenreg_strerror(code), NULL); break;
    }
}

/* {"id":"<id>","health":"<h>"<extra>} */
static void send_tenant(struct reply *r, int status, const char *id, tenreg_health h,
                        const char *extra)
{
    struct buf b = {0};
    buf_adds(&b, "{\"id\":\"");
    buf_add_json_str(&b, id, strlen(id));
    buf_adds(&b, "\",\"health\":\"");
    buf_adds(&b, tenreg_health_name(h));
    buf_adds(&b, "\"");
    if (extra != NULL)
        buf_adds(&b, extra);
    buf_adds(&b, "}");
    if (b.failed)
        r->out->failed = true;
    else
        send_json(r, status, &b);
    buf_free(&b);
}

/* Parses the body as a flat object whose members are all in @allowed
 * (NULL-terminated); answers 400 with the reason and returns false if not. */
static bool read_body(struct reply *r, const char *body, struct json_object *o,
                      const char *const *allowed)
{
    const char *reason;
    if (!json_parse_flat(body, (size_t)r->req->content_length, o, &reason)) {
        char msg[128];
        snprintf(msg, sizeof msg, "bad JSON: %s", reason);
        send_error(r, 400, msg, NULL);
        return false;
    }
    for (size_t i = 0; i < o->n; i++) {
        bool ok = false;
        for (const char *const *a = allowed; *a != NULL && !ok; a++)
            ok = strcmp(o->f[i].key, *a) == 0;
        if (!ok) {
            char msg[96];
            snprintf(msg, sizeof msg, "unknown member '%.40s'", o->f[i].key);
            send_error(r, 400, msg, NULL);
            return false;
        }
    }
    return true;
}

/* Fetches a boolean member; answers 400 when it is missing or not boolean. */
static bool get_bool(struct reply *r, const struct json_object *o, const char *key, bool dflt,
                     bool required, bool *out)
{
    const struct json_field *f = json_get(o, key);
    char msg[96];
    if (f == NULL && !required) {
        *out = dflt;
        return true;
    }
    if (f == NULL || f->type != JSON_BOOL) {
        snprintf(msg, sizeof msg, f == NULL ? "'%s' is missing (true or false)"
                                            : "'%s' must be true or false", key);
        send_error(r, 400, msg, NULL);
        return false;
    }
    *out = f->b;
    return true;
}

static const char *get_string(struct reply *r, const struct json_object *o, const char *key)
{
    const struct json_field *f = json_get(o, key);
    if (f == NULL || f->type != JSON_STRING) {
        char msg[96];
        snprintf(msg, sizeof msg, "'%s' must be a string", key);
        send_error(r, 400, msg, NULL);
        return NULL;
    }
    return f->str;
}

static void post_tenants(struct admin *a, struct reply *r, const char *body)
{
    static const char *const allowed[] = {"id", "agent_url", "lazy", "await", NULL};
    struct json_object o;
    if (!read_body(r, body, &o, allowed))
        return;
    const char *id = get_string(r, &o, "id");
    if (id == NULL)
        return;
    const char *url = get_string(r, &o, "agent_url");
    if (url == NULL)
        return;
    bool lazy, await;
    if (!get_bool(r, &o, "lazy", false, false, &lazy) ||
        !get_bool(r, &o, "await", !lazy, false, &await))
        return;
    if (lazy && await) {
        send_error(r, 400, "'await' is for eager tenants: a lazy one is built on its first "
                           "request", NULL);
        return;
    }
    if (!admin_valid_id(id, strlen(id))) {
        char msg[96];
        snprintf(msg, sizeof msg, "'id' must be %s", admin_id_rule);
        send_error(r, 400, msg, NULL);
        return;
    }
    char key[TENREG_HOST_KEY_MAX + 1];
    if (strlen(url) > URL_MAX ||
        tenreg_normalize_host(url, strlen(url), key, sizeof key, NULL) != 0) {
        send_error(r, 400, "'agent_url' has no valid host", NULL);
        return;
    }
    bool replaced = false;
    int code = a->backend->add(a->backend->impl, id, url, lazy, await, &replaced);
    if (code == TENREG_EEXIST) {
        char msg[TENREG_HOST_KEY_MAX + 64];
        snprintf(msg, sizeof msg, "host '%s' already belongs to another tenant", key);
        send_error(r, 409, msg, NULL);
        return;
    }
    if (code != 0) {
        send_code(r, code);
        return;
    }
    reloader_forget(a->reloader, id);   /* no longer as the last reload left it */
    tenreg_health h = TENREG_PENDING;
    a->backend->health(a->backend->impl, id, &h);
    send_tenant(r, replaced ? 200 : 201, id, h, lazy ? ",\"lazy\":true" : ",\"lazy\":false");
}

static void list_tenants_cb_add(struct buf *b, const char *id, tenreg_health h)
{
    if (b->len > 1)
        buf_adds(b, ",");
    buf_adds(b, "{\"id\":\"");
    buf_add_json_str(b, id, strlen(id));
    buf_adds(b, "\",\"health\":\"");
    buf_adds(b, tenreg_health_name(h));
    buf_adds(b, "\"}");
}

static int list_tenants_cb(void *ctx, const char *id, tenreg_health h)
{
    list_tenants_cb_add(ctx, id, h);
    return 0;
}

static void get_tenants(struct admin *a, struct reply *r)
{
    struct buf list = {0};
    buf_adds(&list, "[");
    int code = a->backend->foreach(a->backend->impl, list_tenants_cb, &list);
    buf_adds(&list, "]");
    if (code != 0 || list.failed) {
        buf_free(&list);
        send_code(r, TENREG_ENOMEM);
        return;
    }
    struct buf b = {0};
    buf_adds(&b, "{\"tenants\":");
    buf_add(&b, list.p, list.len);
    buf_adds(&b, "}");
    buf_free(&list);
    if (b.failed)
        send_code(r, TENREG_ENOMEM);
    else
        send_json(r, 200, &b);
    buf_free(&b);
}

static uint64_t ld(const atomic_uint_fast64_t *v)
{
    return atomic_load_explicit(v, memory_order_relaxed);
}

/* {"open":N,"limit":N,"refused_limit":N,"refused_no_fd":N,"listen_pauses":N} */
static void add_conn_stats(struct buf *b, const struct server_counters *k)
{
    buf_adds(b, "{\"open\":");
    buf_addu(b, ld(&k->open));
    buf_adds(b, ",\"limit\":");
    buf_addu(b, k->limit);
    buf_adds(b, ",\"refused_limit\":");
    buf_addu(b, ld(&k->refused_limit));
    buf_adds(b, ",\"refused_no_fd\":");
    buf_addu(b, ld(&k->refused_no_fd));
    buf_adds(b, ",\"listen_pauses\":");
    buf_addu(b, ld(&k->listen_pauses));
    buf_adds(b, "}");
}

/* {"buffered":N,"peak":N,"budget":N}: answer bytes not yet sent */
static void add_output_stats(struct buf *b, const struct server_counters *k)
{
    buf_adds(b, "{\"buffered\":");
    buf_addu(b, ld(&k->out_buffered));
    buf_adds(b, ",\"peak\":");
    buf_addu(b, ld(&k->out_peak));
    buf_adds(b, ",\"budget\":");
    buf_addu(b, k->budget);
    buf_adds(b, "}");
}

static void get_stats(struct admin *a, struct reply *r)
{
    struct buf b = {0};
    uint64_t created, freed;
    demo_platform_counts(a->demo, &created, &freed);
    buf_adds(&b, "{\"backend\":\"");
    buf_adds(&b, a->backend->name);
    buf_adds(&b, "\",\"responses\":{");
    for (int k = 0; k < ST_COUNT; k++) {
        buf_adds(&b, k ? ",\"" : "\"");
        buf_adds(&b, stat_names[k]);
        buf_adds(&b, "\":");
        buf_addu(&b, front_stat(a->front, (enum stat)k));
    }
    buf_adds(&b, "},\"platforms\":{\"created\":");
    buf_addu(&b, created);
    buf_adds(&b, ",\"freed\":");
    buf_addu(&b, freed);
    buf_adds(&b, "},\"connections\":");
    add_conn_stats(&b, a->front_conns);
    buf_adds(&b, ",\"output\":");
    add_output_stats(&b, a->front_conns);
    buf_adds(&b, ",\"admin\":");
    add_conn_stats(&b, a->admin_conns);
    buf_adds(&b, ",\"reloads\":{\"ok\":");
    buf_addu(&b, a->reloader->ok);
    buf_adds(&b, ",\"failed\":");
    buf_addu(&b, a->reloader->failed);
    buf_adds(&b, "}}");
    if (b.failed)
        send_code(r, TENREG_ENOMEM);
    else
        send_json(r, 200, &b);
    buf_free(&b);
}

/* ---- GET /metrics: the Prometheus text exposition format, 0.0.4 ------- */

static void metric_family(struct buf *b, const char *name, const char *type, const char *help)
{
    buf_adds(b, "# HELP ");
    buf_adds(b, name);
    buf_adds(b, " ");
    buf_adds(b, help);
    buf_adds(b, "\n# TYPE ");
    buf_adds(b, name);
    buf_adds(b, " ");
    buf_adds(b, type);
    buf_adds(b, "\n");
}

/* name{labels} value; @labels without braces, NULL for none. */
static void metric_value(struct buf *b, const char *name, const char *labels, uint64_t v)
{
    buf_adds(b, name);
    if (labels != NULL) {
        buf_adds(b, "{");
        buf_adds(b, labels);
        buf_adds(b, "}");
    }
    buf_adds(b, " ");
    buf_addu(b, v);
    buf_adds(b, "\n");
}

static void metric_one(struct buf *b, const char *name, const char *type, const char *help,
                       uint64_t v)
{
    metric_family(b, name, type, help);
    metric_value(b, name, NULL, v);
}

/* The registry's counters (tenreg_stats_of, docs/design.md §8.7). */
static void registry_metrics(struct buf *b, const tenreg_stats *st)
{
    metric_one(b, "tenreg_tenants", "gauge", "Registered tenants.", st->tenants);
    metric_family(b, "tenreg_tenants_by_health", "gauge", "Registered tenants per health.");
    for (size_t h = 0; h < sizeof st->health / sizeof st->health[0]; h++) {
        char l[32];
        snprintf(l, sizeof l, "health=\"%s\"", tenreg_health_name((tenreg_health)h));
        metric_value(b, "tenreg_tenants_by_health", l, st->health[h]);
    }
    metric_one(b, "tenreg_hosts", "gauge",
               "Exact host keys, the agent URLs' hosts included.", st->hosts);
    metric_one(b, "tenreg_patterns", "gauge", "Wildcard host patterns (*.NAME).", st->patterns);
    metric_one(b, "tenreg_lazy_unbuilt_tenants", "gauge",
               "Lazy tenants without a platform.", st->lazy_unbuilt);
    metric_one(b, "tenreg_checks_total", "counter", "Validator calls that ended.", st->checks);
    metric_one(b, "tenreg_checks_failed_total", "counter",
               "Validator calls that ended with an answer other than valid.", st->checks_failed);
    metric_one(b, "tenreg_builds_total", "counter", "Lazy builds (factory calls) that ended.",
               st->builds);
    metric_one(b, "tenreg_builds_failed_total", "counter",
               "Lazy builds that failed (factory or validation).", st->builds_failed);
    metric_one(b, "tenreg_events_total", "counter", "Events delivered or queued.", st->events);
    metric_one(b, "tenreg_events_dropped_total", "counter",
               "Events dropped for want of memory (the changes stood).", st->events_dropped);
    metric_one(b, "tenreg_deferred_objects", "gauge",
               "Retired objects waiting for a grace period.", st->deferred);
    metric_one(b, "tenreg_memory_bytes", "gauge", "The registry's own memory.", st->bytes);
}

static void server_metrics(struct buf *b, const struct server_counters *f,
                           const struct server_counters *a)
{
    const struct server_counters *k[2] = {f, a};
    static const char *const lab[2] = {"server=\"front\"", "server=\"admin\""};
    metric_family(b, "tenreg_front_connections", "gauge", "Open connections.");
    for (int i = 0; i < 2; i++)
        metric_value(b, "tenreg_front_connections", lab[i], ld(&k[i]->open));
    metric_family(b, "tenreg_front_connections_limit", "gauge",
                  "Connections the server takes at once.");
    for (int i = 0; i < 2; i++)
        metric_value(b, "tenreg_front_connections_limit", lab[i], k[i]->limit);
    metric_family(b, "tenreg_front_connections_refused_total", "counter",
                  "Connections accepted and closed at once: at the connection limit, or "
                  "accepted on the spare descriptor when out of descriptors.");
    for (int i = 0; i < 2; i++) {
        char l[64];
        snprintf(l, sizeof l, "%s,reason=\"limit\"", lab[i]);
        metric_value(b, "tenreg_front_connections_refused_total", l, ld(&k[i]->refused_limit));
        snprintf(l, sizeof l, "%s,reason=\"no_fd\"", lab[i]);
        metric_value(b, "tenreg_front_connections_refused_total", l, ld(&k[i]->refused_no_fd));
    }
    metric_family(b, "tenreg_front_listen_pauses_total", "counter",
                  "Times accepting paused for 100 ms: no descriptor, not even the spare.");
    for (int i = 0; i < 2; i++)
        metric_value(b, "tenreg_front_listen_pauses_total", lab[i], ld(&k[i]->listen_pauses));
    metric_one(b, "tenreg_front_output_buffered_bytes", "gauge",
               "Answer bytes buffered and not yet sent (front port).", ld(&f->out_buffered));
    metric_one(b, "tenreg_front_output_buffered_peak_bytes", "gauge",
               "The most answer bytes ever buffered at once (front port).", ld(&f->out_peak));
    metric_one(b, "tenreg_front_output_budget_bytes", "gauge",
               "Answer bytes the front port buffers before it answers one request at a time.",
               f->budget);
}

/*
 * The front's own counters (per-worker slots, summed here: no shared
 * counter on the hot path), its servers' connection counters, the demo's
 * platforms and, with the tenreg backend, the registry's counters.
 */
static void get_metrics(struct admin *a, struct reply *r)
{
    struct buf b = {0};
    tenreg_stats st;
    if (a->backend->stats != NULL && a->backend->stats(a->backend->impl, &st) != 0) {
        send_code(r, TENREG_ENOMEM);
        return;
    }
    char l[64];
    snprintf(l, sizeof l, "backend=\"%s\"", a->backend->name);
    metric_family(&b, "tenreg_front_info", "gauge", "The front's lookup backend.");
    metric_value(&b, "tenreg_front_info", l, 1);
    if (a->backend->stats != NULL)
        registry_metrics(&b, &st);
    metric_family(&b, "tenreg_front_responses_total", "counter",
                  "Answers on the front port by status code (503s by reason), counted by "
                  "each worker and summed when scraped.");
    for (int k = 0; k < ST_COUNT; k++) {
        if (k < ST_503_UNSERVED)
            snprintf(l, sizeof l, "code=\"%s\"", stat_names[k]);
        else                    /* "503_EPENDING" */
            snprintf(l, sizeof l, "code=\"503\",reason=\"%s\"", stat_names[k] + 4);
        metric_value(&b, "tenreg_front_responses_total", l, front_stat(a->front, (enum stat)k));
    }
    server_metrics(&b, a->front_conns, a->admin_conns);
    uint64_t created, freed;
    demo_platform_counts(a->demo, &created, &freed);
    metric_one(&b, "tenreg_front_platforms_created_total", "counter",
               "Demo platforms created.", created);
    metric_one(&b, "tenreg_front_platforms_freed_total", "counter",
               "Demo platforms freed.", freed);
    if (b.failed)
        send_code(r, TENREG_ENOMEM);
    else
        http_respond(r->out, 200, r->date, NULL, "text/plain; version=0.0.4; charset=utf-8",
                     b.p, b.len, http_reply_flags(r->req));
    buf_free(&b);
}

/* POST /tenants/{id}/validator and /factory: flip a demo flag. */
static void post_flag(struct admin *a, struct reply *r, const char *id, const char *body,
                      bool validator)
{
    static const char *const v_allowed[] = {"valid", "check_failed", "reason", NULL};
    static const char *const f_allowed[] = {"ok", "reason", NULL};
    struct json_object o;
    if (!read_body(r, body, &o, validator ? v_allowed : f_allowed))
        return;
    bool v, check_failed = false;
    if (!get_bool(r, &o, validator ? "valid" : "ok", false, true, &v) ||
        (validator && !get_bool(r, &o, "check_failed", false, false, &check_failed)))
        return;
    const char *reason = NULL;
    if (json_get(&o, "reason") != NULL && (reason = get_string(r, &o, "reason")) == NULL)
        return;
    if (v && (check_failed || reason != NULL)) {
        send_error(r, 400, check_failed ? "'check_failed' needs \"valid\": false"
                           : validator ? "'reason' is for a failing validator (\"valid\": false)"
                                       : "'reason' is for a failing factory (\"ok\": false)",
                   NULL);
        return;
    }
    if (reason != NULL && strlen(reason) > DEMO_REASON_MAX) {
        char msg[64];
        snprintf(msg, sizeof msg, "'reason' is over %d bytes", DEMO_REASON_MAX);
        send_error(r, 400, msg, NULL);
        return;
    }
    tenreg_health h;
    int code = a->backend->health(a->backend->impl, id, &h);
    if (code != 0) {
        send_code(r, code);
        return;
    }
    bool ok = validator ? demo_set_valid(a->demo, id, v, check_failed, reason)
                        : demo_set_factory_ok(a->demo, id, v, reason);
    if (!ok) {
        send_code(r, TENREG_ENOMEM);
        return;
    }
    send_tenant(r, 200, id, h,
                validator ? (v ? ",\"valid\":true"
                               : check_failed ? ",\"valid\":false,\"check_failed\":true"
                                              : ",\"valid\":false")
                          : (v ? ",\"factory_ok\":true" : ",\"factory_ok\":false"));
}

static void method_not_allowed(struct reply *r, const char *allow)
{
    char hdr[64];
    snprintf(hdr, sizeof hdr, "Allow: %s\r\n", allow);
    send_error(r, 405, "method not allowed", hdr);
}

static bool is_method(const struct http_request *req, const char *m)
{
    return req->method_len == strlen(m) && memcmp(req->method, m, req->method_len) == 0;
}

/* ---- a tenant's hosts and patterns (docs/design.md §8.1) ----------------- */

struct host_list {
    struct buf *b;
    size_t n;
    const char *find;           /* set: is this host listed? */
    bool found;
    char first[BACKEND_HOST_MAX + 1];   /* the agent URL's host */
};

static int host_list_cb(void *ctx, const char *h)
{
    struct host_list *l = ctx;
    if (l->n == 0)
        snprintf(l->first, sizeof l->first, "%s", h);
    if (l->find != NULL && strcmp(h, l->find) == 0)
        l->found = true;
    if (l->b != NULL) {
        buf_adds(l->b, l->n ? ",\"" : "\"");
        buf_add_json_str(l->b, h, strlen(h));
        buf_adds(l->b, "\"");
    }
    l->n++;
    return 0;
}

static void send_host_code(struct admin *a, struct reply *r, int code, const char *id,
                           const char *key)
{
    char msg[TENREG_HOST_KEY_MAX + TENREG_ID_MAX + 96];
    tenreg_health h;
    switch (code) {
    case TENREG_EEXIST:
        snprintf(msg, sizeof msg, "host '%s' already belongs to another tenant", key);
        send_error(r, 409, msg, NULL);
        return;
    case TENREG_ENOSPC:
        snprintf(msg, sizeof msg, "tenant '%s' already holds %d hosts and patterns (the limit)",
                 id, TENREG_HOSTS_MAX);
        send_error(r, 409, msg, NULL);
        return;
    case TENREG_ENOENT:
        if (a->backend->health(a->backend->impl, id, &h) != 0) {
            send_error(r, 404, "no such tenant", NULL);
        } else {
            snprintf(msg, sizeof msg, "tenant '%s' does not hold '%s'", id, key);
            send_error(r, 404, msg, NULL);
        }
        return;
    case TENREG_EINVAL:
        send_error(r, 400, "'host' must be a host, a URL or a *.NAME pattern", NULL);
        return;
    default:
        send_code(r, code);
    }
}

/* %XX in a path segment (an IPv6 literal's brackets, say); false for a
 * bad escape, a NUL or more than @cap - 1 bytes. */
static bool path_decode(const char *in, size_t len, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        char c = in[i];
        if (c == '%') {
            unsigned v = 0;
            for (int k = 1; k <= 2; k++) {
                char d = i + (size_t)k < len ? in[i + (size_t)k] : '\0';
                int x = d >= '0' && d <= '9' ? d - '0' : d >= 'a' && d <= 'f' ? d - 'a' + 10
                      : d >= 'A' && d <= 'F' ? d - 'A' + 10 : -1;
                if (x < 0)
                    return false;
                v = v * 16 + (unsigned)x;
            }
            c = (char)v;
            i += 2;
        }
        if (c == '\0' || o + 1 >= cap)
            return false;
        out[o++] = c;
    }
    out[o] = '\0';
    return o > 0;
}

/* /tenants/{id}/hosts[/{host}] (@rest: what follows "hosts") */
static void hosts_route(struct admin *a, struct reply *r, const char *id, const char *rest,
                        size_t len, const char *body)
{
    const struct http_request *req = r->req;
    struct backend *b = a->backend;
    if (b->add_host == NULL) {
        send_error(r, 501, "this backend keeps one host per tenant: the host endpoints need "
                           "--backend tenreg", NULL);
        return;
    }
    char key[BACKEND_HOST_MAX + 1];
    if (len == 0) {
        if (is_method(req, "GET") || is_method(req, "HEAD")) {
            struct buf list = {0};
            struct host_list l = {.b = &list};
            int code = b->foreach_host(b->impl, id, host_list_cb, &l);
            if (code != 0 || list.failed) {
                buf_free(&list);
                send_host_code(a, r, code ? code : TENREG_ENOMEM, id, "");
                return;
            }
            struct buf out = {0};
            buf_adds(&out, "{\"id\":\"");
            buf_add_json_str(&out, id, strlen(id));
            buf_adds(&out, "\",\"hosts\":[");
            if (list.len)
                buf_add(&out, list.p, list.len);
            buf_adds(&out, "]}");
            buf_free(&list);
            if (out.failed)
                send_code(r, TENREG_ENOMEM);
            else
                send_json(r, 200, &out);
            buf_free(&out);
        } else if (is_method(req, "POST")) {
            static const char *const allowed[] = {"host", NULL};
            struct json_object o;
            if (!read_body(r, body, &o, allowed))
                return;
            const char *host = get_string(r, &o, "host");
            if (host == NULL)
                return;
            if (strlen(host) > URL_MAX || !tenant_host_form(host, key, sizeof key)) {
                send_host_code(a, r, TENREG_EINVAL, id, host);
                return;
            }
            /* Only admin requests and reloads change the registry, one at a
             * time (the reloader's lock, held here): the answer holds. */
            struct host_list l = {.find = key};
            bool held = b->foreach_host(b->impl, id, host_list_cb, &l) == 0 && l.found;
            int code = b->add_host(b->impl, id, host);
            if (code != 0) {
                send_host_code(a, r, code, id, key);
                return;
            }
            if (!held)
                reloader_forget(a->reloader, id);
            struct buf out = {0};
            buf_adds(&out, "{\"id\":\"");
            buf_add_json_str(&out, id, strlen(id));
            buf_adds(&out, "\",\"host\":\"");
            buf_add_json_str(&out, key, strlen(key));
            buf_adds(&out, "\"}");
            if (out.failed)
                send_code(r, TENREG_ENOMEM);
            else
                send_json(r, held ? 200 : 201, &out);
            buf_free(&out);
        } else {
            method_not_allowed(r, "GET, HEAD, POST");
        }
        return;
    }
    char host[URL_MAX + 1];
    if (rest[0] != '/' || memchr(rest + 1, '/', len - 1) != NULL) {
        send_error(r, 404, "no such path", NULL);
        return;
    }
    if (!path_decode(rest + 1, len - 1, host, sizeof host)) {
        send_host_code(a, r, TENREG_EINVAL, id, "");
        return;
    }
    if (!is_method(req, "DELETE")) {
        method_not_allowed(r, "DELETE");
        return;
    }
    if (!tenant_host_form(host, key, sizeof key)) {
        send_host_code(a, r, TENREG_EINVAL, id, host);
        return;
    }
    int code = b->remove_host(b->impl, id, host);
    if (code == 0)
        reloader_forget(a->reloader, id);
    if (code == TENREG_EINVAL) {
        /* The host is well formed: it is the agent URL's own. */
        struct host_list l = {0};
        if (b->foreach_host(b->impl, id, host_list_cb, &l) == 0 && strcmp(l.first, key) == 0) {
            char msg[TENREG_HOST_KEY_MAX + 96];
            snprintf(msg, sizeof msg,
                     "'%s' is the host of the tenant's agent URL: re-register to move it", key);
            send_error(r, 400, msg, NULL);
            return;
        }
    }
    if (code != 0) {
        send_host_code(a, r, code, id, key);
        return;
    }
    http_respond(r->out, 204, r->date, NULL, NULL, NULL, 0,
                 http_reply_flags(req) | HTTP_HEAD_ONLY);
}

static void add_time(struct buf *b, int64_t ns)
{
    char t[BACKEND_TIME_MAX];
    if (ns == 0) {
        buf_adds(b, "null");
        return;
    }
    backend_format_time(ns, t, sizeof t);
    buf_adds(b, "\"");
    buf_adds(b, t);
    buf_adds(b, "\"");
}

/*
 * GET /tenants/{id}: the tenant's status (tenreg_status_of) and hosts,
 *   {"id","health","verdict","reason","failures","checked_at","registered_at",
 *    "lazy","built","hosts":[...],"host_count"}
 * times as ISO 8601 UTC with nanoseconds, checked_at null before the first
 * check or build ended. The rwlock backend keeps no verdict, reason,
 * failures or times: its answer has only id, health, lazy, built, hosts
 * and host_count.
 */
static void get_tenant(struct admin *a, struct reply *r, const char *id)
{
    struct backend *be = a->backend;
    tenreg_status st;
    int code = be->status(be->impl, id, &st);
    if (code != 0) {
        send_code(r, code);
        return;
    }
    /* Only admin requests and reloads change hosts and registrations,
     * under the reloader's lock (held here): the list and the
     * status describe the same registration. */
    struct buf list = {0};
    struct host_list l = {.b = &list};
    code = be->foreach_host(be->impl, id, host_list_cb, &l);
    if (code != 0 || list.failed) {
        buf_free(&list);
        send_code(r, code ? code : TENREG_ENOMEM);
        return;
    }
    struct buf b = {0};
    buf_adds(&b, "{\"id\":\"");
    buf_add_json_str(&b, id, strlen(id));
    buf_adds(&b, "\",\"health\":\"");
    buf_adds(&b, tenreg_health_name(st.health));
    buf_adds(&b, "\"");
    if (be->full_status) {
        buf_adds(&b, ",\"verdict\":\"");
        buf_adds(&b, backend_verdict_name(st.verdict));
        buf_adds(&b, "\",\"reason\":\"");
        buf_add_json_str(&b, st.reason, strlen(st.reason));
        buf_adds(&b, "\",\"failures\":");
        buf_addu(&b, st.failures);
        buf_adds(&b, ",\"checked_at\":");
        add_time(&b, st.checked_at_ns);
        buf_adds(&b, ",\"registered_at\":");
        add_time(&b, st.registered_at_ns);
    }
    buf_adds(&b, st.lazy ? ",\"lazy\":true" : ",\"lazy\":false");
    buf_adds(&b, st.built ? ",\"built\":true" : ",\"built\":false");
    buf_adds(&b, ",\"hosts\":[");
    if (list.len)
        buf_add(&b, list.p, list.len);
    buf_adds(&b, "],\"host_count\":");
    buf_addu(&b, st.hosts);
    buf_adds(&b, "}");
    buf_free(&list);
    if (b.failed)
        send_code(r, TENREG_ENOMEM);
    else
        send_json(r, 200, &b);
    buf_free(&b);
}

/* /tenants/{id}[/{action}] */
static void tenant_route(struct admin *a, struct reply *r, const char *rest, size_t len,
                         const char *body)
{
    const char *slash = memchr(rest, '/', len);
    size_t id_len = slash ? (size_t)(slash - rest) : len;
    if (!admin_valid_id(rest, id_len)) {
        char msg[96];
        snprintf(msg, sizeof msg, "tenant id must be %s", admin_id_rule);
        send_error(r, 400, msg, NULL);
        return;
    }
    char id[TENREG_ID_MAX + 1];
    memcpy(id, rest, id_len);
    id[id_len] = '\0';
    const char *action = slash ? slash + 1 : NULL;
    size_t action_len = slash ? len - id_len - 1 : 0;
    const struct http_request *req = r->req;

    if (action == NULL) {
        int code;
        if (is_method(req, "GET") || is_method(req, "HEAD")) {
            get_tenant(a, r, id);
        } else if (is_method(req, "DELETE")) {
            code = a->backend->remove(a->backend->impl, id);
            if (code == 0) {
                demo_forget(a->demo, id);
                reloader_forget(a->reloader, id);
                http_respond(r->out, 204, r->date, NULL, NULL, NULL, 0,
                             http_reply_flags(req) | HTTP_HEAD_ONLY);
            } else {
                send_code(r, code);
            }
        } else {
            method_not_allowed(r, "GET, HEAD, DELETE");
        }
        return;
    }
    if (action_len >= 5 && memcmp(action, "hosts", 5) == 0 &&
        (action_len == 5 || action[5] == '/')) {
        hosts_route(a, r, id, action + 5, action_len - 5, body);
        return;
    }
    bool recheck = action_len == 7 && memcmp(action, "recheck", 7) == 0;
    bool validator = action_len == 9 && memcmp(action, "validator", 9) == 0;
    bool factory = action_len == 7 && memcmp(action, "factory", 7) == 0;
    if (!recheck && !validator && !factory) {
        send_error(r, 404, "no such path", NULL);
        return;
    }
    if (!is_method(req, "POST")) {
        method_not_allowed(r, "POST");
        return;
    }
    if (!recheck) {
        post_flag(a, r, id, body, validator);
        return;
    }
    int code = a->backend->recheck(a->backend->impl, id);
    if (code != 0 && code != TENREG_EVALIDATOR) {
        send_code(r, code);
        return;
    }
    bool valid = code == 0;
    tenreg_health h;
    code = a->backend->health(a->backend->impl, id, &h);
    if (code != 0) {            /* unregistered meanwhile: only admin does that, but be exact */
        send_code(r, code);
        return;
    }
    send_tenant(r, 200, id, h, valid ? ",\"valid\":true" : ",\"valid\":false");
}

/* ---- PUT /tenants: the whole tenant set, one change (reload.h) ---------- */

/* Where a PUT /tenants body went wrong: the HTTP status, the reason, and
 * the entry (-1: the body as a whole). */
struct set_error {
    int status;
    long index;
    char msg[TENREG_ID_MAX + 2 * URL_MAX + 160];
};

static bool set_fail(struct set_error *e, int status, long index, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static bool set_fail(struct set_error *e, int status, long index, const char *fmt, ...)
{
    char reason[sizeof e->msg - 32];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    e->status = status;
    e->index = index;
    if (index >= 0)     /* "tenants[3]: why", or "tenants[3] ('id'): why" */
        snprintf(e->msg, sizeof e->msg, "tenants[%ld]%s%s", index, reason[0] == '(' ? " " : ": ",
                 reason);
    else
        snprintf(e->msg, sizeof e->msg, "%s", reason);
    return false;
}

static bool bad_json(struct set_error *e, struct json_reader *jr, long index)
{
    return set_fail(e, 400, index, "bad JSON: %s", jr->reason ? jr->reason : "malformed");
}

/* A growable array of the entry's host strings (they live in the arena). */
struct str_list {
    const char **v;
    size_t n, cap;
};

static bool str_push(struct str_list *l, const char *s)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 8;
        const char **v = realloc(l->v, cap * sizeof *v);
        if (v == NULL)
            return false;
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = s;
    return true;
}

/* One element of "tenants": {"id","agent_url","lazy"?,"hosts"?}. */
static bool parse_entry(struct json_reader *jr, long i, bool extra_hosts, struct tenant_set *set,
                        struct str_list *hosts, struct set_error *e)
{
    const char *id = NULL, *url = NULL;
    bool lazy = false, have_lazy = false, have_hosts = false, first = true, more;
    size_t len;
    hosts->n = 0;
    if (json_peek(jr) != JSON_K_OBJECT)
        return set_fail(e, 400, i, "must be an object {\"id\",\"agent_url\",\"lazy\"?,\"hosts\"?}");
    if (!json_open(jr, '{'))
        return bad_json(e, jr, i);
    for (;;) {
        const char *k;
        if (!json_next(jr, '}', &first, &more) || (more && !json_key(jr, &k)))
            return bad_json(e, jr, i);
        if (!more)
            break;
        bool is_id = strcmp(k, "id") == 0, is_url = strcmp(k, "agent_url") == 0;
        if (is_id || is_url) {
            if ((is_id && id != NULL) || (is_url && url != NULL))
                return set_fail(e, 400, i, "bad JSON: duplicate member");
            if (json_peek(jr) != JSON_K_STRING)
                return set_fail(e, 400, i, "'%s' must be a string", k);
            if (!json_string(jr, is_id ? &id : &url, &len))
                return bad_json(e, jr, i);
        } else if (strcmp(k, "lazy") == 0) {
            if (have_lazy)
                return set_fail(e, 400, i, "bad JSON: duplicate member");
            if (json_peek(jr) != JSON_K_BOOL)
                return set_fail(e, 400, i, "'lazy' must be true or false");
            if (!json_bool(jr, &lazy))
                return bad_json(e, jr, i);
            have_lazy = true;
        } else if (strcmp(k, "hosts") == 0) {
            if (have_hosts)
                return set_fail(e, 400, i, "bad JSON: duplicate member");
            have_hosts = true;
            if (json_peek(jr) != JSON_K_ARRAY)
                return set_fail(e, 400, i, "'hosts' must be an array of strings");
            bool hfirst = true, hmore;
            if (!json_open(jr, '['))
                return bad_json(e, jr, i);
            for (;;) {
                const char *h;
                if (!json_next(jr, ']', &hfirst, &hmore))
                    return bad_json(e, jr, i);
                if (!hmore)
                    break;
                if (json_peek(jr) != JSON_K_STRING)
                    return set_fail(e, 400, i, "'hosts' must be an array of strings");
                if (!json_string(jr, &h, &len))
                    return bad_json(e, jr, i);
                if (!str_push(hosts, h))
                    return set_fail(e, 507, i, "%s", tenreg_strerror(TENREG_ENOMEM));
            }
        } else {
            return set_fail(e, 400, i, "unknown member '%.40s'", k);
        }
    }
    if (id == NULL)
        return set_fail(e, 400, i, "'id' must be a string");
    if (url == NULL)
        return set_fail(e, 400, i, "'agent_url' must be a string");
    if (!admin_valid_id(id, strlen(id)))
        return set_fail(e, 400, i, "'id' must be %s", admin_id_rule);
    if (strlen(url) > URL_MAX)
        return set_fail(e, 400, i, "'agent_url' has no valid host");
    if (hosts->n > 0 && !extra_hosts)
        return set_fail(e, 501, i, "this backend keeps one host per tenant: 'hosts' needs "
                                   "--backend tenreg");
    for (size_t h = 0; h < hosts->n; h++)
        if (strlen(hosts->v[h]) > URL_MAX)
            return set_fail(e, 400, i, "hosts[%zu] must be a host, a URL or a *.NAME pattern", h);
    size_t bad;
    int code = tenant_set_add(set, id, url, lazy, hosts->v, hosts->n, (unsigned long)i, &bad);
    if (code == TENREG_EINVAL && bad == SIZE_MAX)
        return set_fail(e, 400, i, "'agent_url' has no valid host");
    if (code == TENREG_EINVAL)
        return set_fail(e, 400, i, "hosts[%zu] '%s' must be a host, a URL or a *.NAME pattern",
                        bad, hosts->v[bad]);
    if (code != 0)
        return set_fail(e, 507, i, "%s", tenreg_strerror(code));
    return true;
}

/* {"tenants":[entry,...]} into @set. */
static bool parse_set(struct json_reader *jr, bool extra_hosts, struct tenant_set *set,
                      struct set_error *e)
{
    struct str_list hosts = {0};
    bool seen = false, first = true, more, ok = true;
    if (json_peek(jr) != JSON_K_OBJECT) {
        set_fail(e, 400, -1, "bad JSON: body is not a JSON object");
        return false;
    }
    json_open(jr, '{');
    while (ok) {
        const char *k;
        if (!json_next(jr, '}', &first, &more) || (more && !json_key(jr, &k))) {
            ok = bad_json(e, jr, -1);
            break;
        }
        if (!more)
            break;
        if (strcmp(k, "tenants") != 0) {
            ok = set_fail(e, 400, -1, "unknown member '%.40s'", k);
        } else if (seen) {
            ok = set_fail(e, 400, -1, "bad JSON: duplicate member");
        } else if (json_peek(jr) != JSON_K_ARRAY) {
            ok = set_fail(e, 400, -1, "'tenants' must be an array of tenants");
        } else {
            seen = true;
            bool tfirst = true, tmore;
            json_open(jr, '[');
            for (long i = 0; ok; i++) {
                if (!json_next(jr, ']', &tfirst, &tmore)) {
                    ok = bad_json(e, jr, i > 0 ? i - 1 : -1);
                    break;
                }
                if (!tmore)
                    break;
                ok = parse_entry(jr, i, extra_hosts, set, &hosts, e);
            }
        }
    }
    free(hosts.v);
    if (ok && !json_finish(jr))
        ok = bad_json(e, jr, -1);
    if (ok && !seen)
        ok = set_fail(e, 400, -1, "'tenants' is missing (an array of tenants)");
    return ok;
}

/* The first problem the set shows (tenant_set_dup_ids / _conflicts). */
static void first_problem(void *ctx, const struct set_problem *p)
{
    struct set_problem *first = ctx;
    if (first->code == -1)
        *first = *p;
}

static bool set_problem_error(const struct tenant_set *set, const struct set_problem *p,
                              struct set_error *e)
{
    const struct tenant_spec *t = &set->v[p->entry], *o = &set->v[p->other];
    long i = (long)t->where;
    if (p->code == 0)
        return set_fail(e, 400, i, "tenant id '%s' is defined twice (also tenants[%lu])", t->id,
                        o->where);
    if (p->code == TENREG_EEXIST)
        return set_fail(e, 409, i, "('%s'): host '%s' already belongs to tenants[%lu] ('%s')",
                        t->id, p->key, o->where, o->id);
    return set_fail(e, 409, i, "('%s'): %zu hosts and patterns, more than %d (the limit)", t->id,
                    p->count, TENREG_HOSTS_MAX);
}

static void put_tenants(struct admin *a, struct reply *r, const char *body)
{
    struct backend *b = a->backend;
    struct set_error e = {0};
    struct tenant_set set = {0};
    struct reload_summary sum;
    size_t len = (size_t)r->req->content_length;
    char *arena = NULL;
    bool ok;
    if (b->reload == NULL) {
        ok = set_fail(&e, 501, -1, "this backend cannot replace the tenant set");
        goto out;
    }
    if ((arena = malloc(len + 1)) == NULL) {
        ok = set_fail(&e, 507, -1, "%s", tenreg_strerror(TENREG_ENOMEM));
        goto out;
    }
    struct json_reader jr;
    json_reader_init(&jr, body, len, arena, len + 1);
    if (!(ok = parse_set(&jr, b->add_host != NULL, &set, &e)))
        goto out;
    struct set_problem p = {.code = -1};
    long dups = tenant_set_dup_ids(&set, first_problem, &p);
    if (dups < 0) {
        ok = set_fail(&e, 507, -1, "%s", tenreg_strerror(TENREG_ENOMEM));
        goto out;
    }
    if (dups > 0) {
        ok = set_problem_error(&set, &p, &e);
        goto out;
    }
    size_t failed;
    int code = reloader_apply(a->reloader, &set, &sum, &failed);
    if ((ok = code == 0))
        goto out;
    if (failed != SIZE_MAX) {
        set_fail(&e, code == TENREG_ENOMEM ? 507 : 400, (long)set.v[failed].where, "%s",
                 tenreg_strerror(code));
    } else if (code == TENREG_EEXIST || code == TENREG_ENOSPC) {
        /* The backend refused the set: name the entry. */
        p.code = -1;
        if (tenant_set_conflicts(&set, first_problem, &p) > 0)
            set_problem_error(&set, &p, &e);
        else
            set_fail(&e, 409, -1, "%s", tenreg_strerror(code));
    } else if (code == TENREG_ENOENT) {
        /* A tenant kept from the last reload is gone: only a change this
         * front did not see can do that. Forget what was loaded, so the
         * next reload registers every tenant afresh. */
        tenant_set_free(&a->reloader->loaded);
        set_fail(&e, 404, -1, "a tenant the last reload loaded is no longer registered; "
                              "nothing changed (retry: every tenant will be registered again)");
    } else if (code == TENREG_ENOMEM) {
        set_fail(&e, 507, -1, "%s", tenreg_strerror(code));
    } else {
        set_fail(&e, 500, -1, "%s (%s)", tenreg_strerror(code), tenreg_err_name(code));
    }
out:
    free(arena);
    tenant_set_free(&set);
    if (ok) {
        a->reloader->ok++;
        char line[160];
        reload_summary_format(&sum, line, sizeof line);
        fprintf(stderr, "tenreg-front: PUT /tenants: %s\n", line);
        struct buf out = {0};
        buf_adds(&out, "{\"kept\":");
        buf_addu(&out, sum.kept);
        buf_adds(&out, ",\"updated\":");
        buf_addu(&out, sum.updated);
        buf_adds(&out, ",\"registered\":");
        buf_addu(&out, sum.registered);
        buf_adds(&out, ",\"unregistered\":");
        buf_addu(&out, sum.unregistered);
        buf_adds(&out, ",\"tenants\":");
        buf_addu(&out, sum.tenants);
        buf_adds(&out, "}");
        if (out.failed)
            r->out->failed = true;
        else
            send_json(r, 200, &out);
        buf_free(&out);
        return;
    }
    a->reloader->failed++;
    fprintf(stderr, "tenreg-front: PUT /tenants refused (%d): %s; nothing changed\n", e.status,
            e.msg);
    send_error_at(r, e.status, e.msg, e.index);
}


static void admin_route(struct admin *a, const struct http_request *req, const char *body,
                        struct buf *out, const char *date)
{
    struct reply r = {out, date, req};

    /* A web page can make a browser send requests to 127.0.0.1. A page
     * served from another name that resolves to 127.0.0.1 (DNS rebinding)
     * has the wrong Host - and Host must be only that (no "evil@127.0.0.1",
     * which tenreg, taking URLs, would read as 127.0.0.1). A cross-site
     * form can POST (even with no body) but cannot send application/json
     * without a CORS preflight this API never grants: every POST, and any
     * body, must say application/json. */
    char key[TENREG_HOST_KEY_MAX + 1];
    if (req->host_count != 1 || !http_authority_ok(req->host, req->host_len) ||
        tenreg_normalize_host(req->host, req->host_len, key, sizeof key, NULL) != 0 ||
        (strcmp(key, "127.0.0.1") != 0 && strcmp(key, "localhost") != 0)) {
        send_error(&r, 403, "Host must be 127.0.0.1 or localhost", NULL);
        return;
    }
    if ((req->content_length > 0 || req->method_id == HTTP_POST) &&
        (req->content_type == NULL || req->content_type_len < 16 ||
         !http_ieq(req->content_type, 16, "application/json") ||
         (req->content_type_len > 16 && req->content_type[16] != ';' &&
          req->content_type[16] != ' '))) {
        send_error(&r, 415,
                   req->content_length > 0 ? "body must be application/json"
                                           : "a POST must say Content-Type: application/json",
                   NULL);
        return;
    }

    const char *path = req->target;
    size_t len = req->target_len;
    const char *q = memchr(path, '?', len);
    if (q != NULL)
        len = (size_t)(q - path);

    if (len == 8 && memcmp(path, "/tenants", 8) == 0) {
        if (is_method(req, "GET") || is_method(req, "HEAD"))
            get_tenants(a, &r);
        else if (is_method(req, "POST"))
            post_tenants(a, &r, body);
        else if (is_method(req, "PUT"))
            put_tenants(a, &r, body);
        else
            method_not_allowed(&r, "GET, HEAD, POST, PUT");
    } else if (len > 9 && memcmp(path, "/tenants/", 9) == 0) {
        tenant_route(a, &r, path + 9, len - 9, body);
    } else if (len == 8 && memcmp(path, "/metrics", 8) == 0) {
        if (is_method(req, "GET") || is_method(req, "HEAD"))
            get_metrics(a, &r);
        else
            method_not_allowed(&r, "GET, HEAD");
    } else if (len == 6 && memcmp(path, "/stats", 6) == 0) {
        if (is_method(req, "GET") || is_method(req, "HEAD"))
            get_stats(a, &r);
        else
            method_not_allowed(&r, "GET, HEAD");
    } else {
        send_error(&r, 404, "no such path", NULL);
    }
}

/* Every answer keeps the connection as the request asked: true. The
 * reloader's lock makes every admin request and every reload (SIGHUP's
 * too, main.c) one at a time. */
static bool admin_handle(void *ctx, void *tctx, const struct http_request *req,
                         const char *body, struct buf *out, const char *date)
{
    struct admin *a = ctx;
    pthread_mutex_lock(&a->reloader->lock);
    admin_route(a, req, body, out, date);
    pthread_mutex_unlock(&a->reloader->lock);
    return true;
}

/* PUT /tenants takes a whole tenant set; every other body is a small object. */
static size_t admin_body_limit(void *ctx, const struct http_request *req)
{
    size_t len = req->target_len;
    const char *q = memchr(req->target, '?', len);
    if (q != NULL)
        len = (size_t)(q - req->target);
    if (req->method_id == HTTP_PUT && len == 8 && memcmp(req->target, "/tenants", 8) == 0)
        return ADMIN_SET_MAX_BYTES;
    return JSON_MAX_BYTES;
}

static void *admin_thread_start(void *ctx, unsigned index)
{
    struct admin *a = ctx;
    /* health_of and foreach are fine outside read sections; registering
     * makes the thread's RCU state explicit and undone at exit. */
    a->backend->thread_start(a->backend->impl);
    return NULL;
}

static void admin_thread_stop(void *ctx, void *tctx)
{
    struct admin *a = ctx;
    a->backend->thread_stop(a->backend->impl);
}

void admin_handler(struct admin *a, struct server_handler *h)
{
    *h = (struct server_handler){
        .ctx = a,
        .max_body = JSON_MAX_BYTES,
        .body_limit = admin_body_limit,
        .thread_start = admin_thread_start,
        .thread_stop = admin_thread_stop,
        .handle = admin_handle,
        .json_errors = true,
        .spare_serves = true,
    };
}
