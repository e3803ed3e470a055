/* admin.c - the admin API (see admin.h). */
#include "admin.h"

#include <stdio.h>
#include <string.h>

#include "demo.h"
#include "json.h"

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
    if (b.failed) {
        r->out->failed = true;
        return;
    }
    http_respond(r->out, status, r->date, extra, "application/json", b.p, b.len,
                 http_reply_flags(r->req));
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
    static const char *const allowed[] = {"id", "agent_url", "lazy", NULL};
    struct json_object o;
    if (!read_body(r, body, &o, allowed))
        return;
    const char *id = get_string(r, &o, "id");
    if (id == NULL)
        return;
    const char *url = get_string(r, &o, "agent_url");
    if (url == NULL)
        return;
    bool lazy;
    if (!get_bool(r, &o, "lazy", false, false, &lazy))
        return;
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
    int code = a->backend->add(a->backend->impl, id, url, lazy, &replaced);
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
    buf_adds(&b, "}");
    if (b.failed)
        send_code(r, TENREG_ENOMEM);
    else
        send_json(r, 200, &b);
    buf_free(&b);
}

/* POST /tenants/{id}/validator and /factory: flip a demo flag. */
static void post_flag(struct admin *a, struct reply *r, const char *id, const char *body,
                      bool validator)
{
    static const char *const v_allowed[] = {"valid", NULL};
    static const char *const f_allowed[] = {"ok", NULL};
    struct json_object o;
    if (!read_body(r, body, &o, validator ? v_allowed : f_allowed))
        return;
    bool v;
    if (!get_bool(r, &o, validator ? "valid" : "ok", false, true, &v))
        return;
    tenreg_health h;
    int code = a->backend->health(a->backend->impl, id, &h);
    if (code != 0) {
        send_code(r, code);
        return;
    }
    bool ok = validator ? demo_set_valid(a->demo, id, v) : demo_set_factory_ok(a->demo, id, v);
    if (!ok) {
        send_code(r, TENREG_ENOMEM);
        return;
    }
    send_tenant(r, 200, id, h,
                validator ? (v ? ",\"valid\":true" : ",\"valid\":false")
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

/*
 * The form tenreg keeps @host in: a host key, or "*." + a normalized name
 * for a pattern. The same rule as the library's (a pattern's NAME is name
 * bytes only), so the answer can say what was stored, and whether it was
 * already there. False when it is neither; tenreg has the last word anyway.
 */
static bool host_form(const char *host, char *out, size_t cap)
{
    size_t n = strlen(host), klen;
    if (n >= 2 && host[0] == '*' && host[1] == '.') {
        for (size_t i = 2; i < n; i++) {
            char c = host[i];
            if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '.' || c == '_'))
                return false;
        }
        if (n == 2 || cap < 3 ||
            tenreg_normalize_host(host + 2, n - 2, out + 2, cap - 2, &klen) != 0)
            return false;
        out[0] = '*';
        out[1] = '.';
        return true;
    }
    return tenreg_normalize_host(host, n, out, cap, &klen) == 0;
}

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
            if (strlen(host) > URL_MAX || !host_form(host, key, sizeof key)) {
                send_host_code(a, r, TENREG_EINVAL, id, host);
                return;
            }
            /* Only this thread changes the registry: the answer holds. */
            struct host_list l = {.find = key};
            bool held = b->foreach_host(b->impl, id, host_list_cb, &l) == 0 && l.found;
            int code = b->add_host(b->impl, id, host);
            if (code != 0) {
                send_host_code(a, r, code, id, key);
                return;
            }
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
    if (!host_form(host, key, sizeof key)) {
        send_host_code(a, r, TENREG_EINVAL, id, host);
        return;
    }
    int code = b->remove_host(b->impl, id, host);
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
        tenreg_health h;
        int code;
        if (is_method(req, "GET") || is_method(req, "HEAD")) {
            code = a->backend->health(a->backend->impl, id, &h);
            if (code == 0)
                send_tenant(r, 200, id, h, NULL);
            else
                send_code(r, code);
        } else if (is_method(req, "DELETE")) {
            code = a->backend->remove(a->backend->impl, id);
            if (code == 0) {
                demo_forget(a->demo, id);
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

static void admin_handle(void *ctx, void *tctx, const struct http_request *req,
                         const char *body, struct buf *out, const char *date)
{
    struct admin *a = ctx;
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
        else
            method_not_allowed(&r, "GET, HEAD, POST");
    } else if (len > 9 && memcmp(path, "/tenants/", 9) == 0) {
        tenant_route(a, &r, path + 9, len - 9, body);
    } else if (len == 6 && memcmp(path, "/stats", 6) == 0) {
        if (is_method(req, "GET") || is_method(req, "HEAD"))
            get_stats(a, &r);
        else
            method_not_allowed(&r, "GET, HEAD");
    } else {
        send_error(&r, 404, "no such path", NULL);
    }
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
        .thread_start = admin_thread_start,
        .thread_stop = admin_thread_stop,
        .handle = admin_handle,
        .json_errors = true,
        .spare_serves = true,
    };
}
