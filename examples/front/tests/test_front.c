/*
 * test_front.c - unit tests of the front's request handler, without
 * sockets: front.c behind a stub backend that records the host it is asked
 * for and answers with a chosen code. Covers what no shell test can reach:
 * a backend failure (500), and exactly which host the handler routes by
 * for absolute-form targets (RFC 9112 3.2.2) beside a Host header.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../front.h"
#include "../http.h"

static int failures;

#define CHECK(cond, ...)                                                   \
    do {                                                                   \
        if (!(cond)) {                                                     \
            failures++;                                                    \
            fprintf(stderr, "%s:%d: ", __FILE__, __LINE__);               \
            fprintf(stderr, __VA_ARGS__);                                  \
            fputc('\n', stderr);                                           \
        }                                                                  \
    } while (0)

/* The stub: answers stub_code (a healthy "t" for TENREG_OK) and keeps the
 * host it was asked for. */
static int stub_code;
static char stub_host[512];
static int stub_calls;

static void stub_resolve(void *impl, const char *host, size_t len, struct answer *out)
{
    (void)impl;
    stub_calls++;
    snprintf(stub_host, sizeof stub_host, "%.*s", (int)len, host);
    memset(out, 0, sizeof *out);
    out->code = stub_code;
    out->health = TENREG_HEALTHY;
    memcpy(out->tenant, "t", 2);
    out->tenant_len = 1;
}

static void stub_thread(void *impl) { (void)impl; }

struct run {
    bool keep;          /* the handler's verdict: keep the connection */
    int status;
    char out[1024];     /* the response, NUL-terminated */
};

/* Parses @raw (one complete request) and hands it to the handler. */
static struct run handle(struct server_handler *h, const char *raw)
{
    struct run r = {0};
    struct http_request req;
    long n = http_parse(raw, strlen(raw), &req);
    CHECK(n > 0, "test request does not parse: %s", raw);
    if (n <= 0)
        return r;
    struct buf out = {0};
    void *tctx = h->thread_start(h->ctx, 0);
    r.keep = h->handle(h->ctx, tctx, &req, raw + n, &out, "Date: x\r\n");
    h->thread_stop(h->ctx, tctx);
    CHECK(!out.failed, "response buffer failed");
    snprintf(r.out, sizeof r.out, "%.*s", (int)out.len, out.p ? out.p : "");
    sscanf(r.out, "HTTP/1.1 %d", &r.status);
    buf_free(&out);
    return r;
}

/* Absolute-form: the authority routes; a Host beside it must name the same
 * host key (else 400, and the backend is not asked); without a Host only
 * HTTP/1.0 is routed. */
static void test_absolute_form(struct server_handler *h)
{
    static const struct {
        const char *req;
        int status;
        const char *routed;     /* the host the backend was asked, or NULL */
    } cases[] = {
        {"GET / HTTP/1.1\r\nHost: a.example\r\n\r\n", 200, "a.example"},
        {"GET http://a.example/x HTTP/1.1\r\nHost: a.example\r\n\r\n", 200, "a.example"},
        {"GET http://a.example:80/x HTTP/1.1\r\nHost: A.Example.:8080\r\n\r\n", 200,
         "a.example:80"},
        {"GET https://[2001:db8::1]:443/ HTTP/1.1\r\nHost: [2001:DB8:0::1]\r\n\r\n", 200,
         "[2001:db8::1]:443"},
        {"GET http://a.example/ HTTP/1.0\r\n\r\n", 200, "a.example"},
        {"GET http://a.example/ HTTP/1.1\r\nHost: b.example\r\n\r\n", 400, NULL},
        {"GET http://a.example/ HTTP/1.1\r\nHost: a.example.evil\r\n\r\n", 400, NULL},
        {"GET http://a.example/ HTTP/1.1\r\nHost: evil@a.example\r\n\r\n", 400, NULL},
        {"GET http://a.example/ HTTP/1.1\r\nHost: http://a.example/\r\n\r\n", 400, NULL},
        {"GET http://a.example/ HTTP/1.1\r\nHost: \r\n\r\n", 400, NULL},
        {"GET http://a.example/ HTTP/1.0\r\nHost: b.example\r\n\r\n", 400, NULL},
        {"GET http://a.example/ HTTP/1.1\r\n\r\n", 400, NULL},
        {"GET http://a.example/ HTTP/1.1\r\nHost: a.example\r\nHost: a.example\r\n\r\n", 400,
         NULL},
        {"GET / HTTP/1.0\r\n\r\n", 400, NULL},
    };
    stub_code = TENREG_OK;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        stub_calls = 0;
        stub_host[0] = '\0';
        struct run r = handle(h, cases[i].req);
        CHECK(r.status == cases[i].status, "case %zu: status %d, want %d", i, r.status,
              cases[i].status);
        if (cases[i].routed != NULL)
            CHECK(stub_calls == 1 && strcmp(stub_host, cases[i].routed) == 0,
                  "case %zu: routed by '%s', want '%s'", i, stub_host, cases[i].routed);
        else
            CHECK(stub_calls == 0, "case %zu: the backend was asked ('%s')", i, stub_host);
        CHECK(r.keep, "case %zu: the handler asked to close", i);
    }
}

/* A backend failure is a 500 that closes the connection: the answer says
 * so and the handler tells the server, even to a keep-alive request. */
static void test_500_closes(struct front *f, struct server_handler *h)
{
    stub_code = TENREG_ENOMEM;
    uint64_t before = front_stat(f, ST_500);
    struct run r = handle(h, "GET / HTTP/1.1\r\nHost: a.example\r\n\r\n");
    CHECK(r.status == 500, "ENOMEM: status %d", r.status);
    CHECK(strstr(r.out, "\r\nConnection: close\r\n") != NULL, "500 says Connection: close");
    CHECK(!r.keep, "after a 500 the server must close the connection");
    CHECK(front_stat(f, ST_500) == before + 1, "the 500 is counted");
    r = handle(h, "HEAD / HTTP/1.0\r\nHost: a.example\r\nConnection: keep-alive\r\n\r\n");
    CHECK(r.status == 500 && !r.keep, "HEAD, HTTP/1.0 keep-alive: 500 and close");
    stub_code = TENREG_OK;
    r = handle(h, "GET / HTTP/1.1\r\nHost: a.example\r\n\r\n");
    CHECK(r.status == 200 && r.keep && strstr(r.out, "Connection: close") == NULL,
          "a 200 keeps the connection");
}

int main(void)
{
    struct backend b = {
        .name = "stub",
        .thread_start = stub_thread,
        .thread_stop = stub_thread,
        .resolve = stub_resolve,
    };
    struct front f;
    struct server_handler h;
    if (front_init(&f, &b, 1, &h) != 0) {
        fputs("test_front: out of memory\n", stderr);
        return 1;
    }
    test_absolute_form(&h);
    test_500_closes(&f, &h);
    front_fini(&f);
    if (failures != 0) {
        fprintf(stderr, "test_front: %d failures\n", failures);
        return 1;
    }
    puts("test_front: all checks passed");
    return 0;
}
