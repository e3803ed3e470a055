/*
 * test_http.c - unit tests of the request-head parser and the admin JSON
 * reader: a table of inputs with their verdicts, and the property the
 * server relies on for pipelining: feeding a stream of requests in any
 * split gives the same requests as feeding it whole ("incomplete" until the
 * last byte of a head, never a wrong verdict early).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../http.h"
#include "../json.h"

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

struct parse_case {
    const char *in;
    long want;              /* head length, 0 incomplete, -status */
    const char *host;       /* expected Host value when complete */
};

static void test_table(void)
{
    static const struct parse_case cases[] = {
        {"GET / HTTP/1.1\r\nHost: a.example\r\n\r\n", 35, "a.example"},
        {"GET / HTTP/1.1\r\nHost:   a.example  \r\n\r\n", 39, "a.example"},
        {"GET / HTTP/1.1\r\nhOsT: a.example\r\n\r\n", 35, "a.example"},
        {"GET / HTTP/1.1\r\nHost: a.example\r\n", 0, NULL},
        {"GET / HTTP/1.1\r\nHost: a.example\r\n\r", 0, NULL},
        {"GET / HTTP/1.1\r\n\r\n", 18, NULL},
        {"GET / HTTP/1.0\r\n\r\n", 18, NULL},
        {"GET / HTTP/2.0\r\n\r\n", -505, NULL},
        {"GET / HTTP/1.2\r\n\r\n", -505, NULL},
        {"GET / HTTP/1.1 \r\n\r\n", -400, NULL},
        {"GET  / HTTP/1.1\r\n\r\n", -400, NULL},
        {"GET /\x01 HTTP/1.1\r\n\r\n", -400, NULL},
        {"G(T / HTTP/1.1\r\n\r\n", -400, NULL},
        {"GET / HTTP/1.1\r\nHost : a\r\n\r\n", -400, NULL},
        {"GET / HTTP/1.1\r\n Host: a\r\n\r\n", -400, NULL},
        {"GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n", -400, NULL},
        {"GET / HTTP/1.1\r\nX: a\nHost: b\r\n\r\n", -400, NULL},
        {"GET / HTTP/1.1\r\nX: a\rb\r\n\r\n", -400, NULL},
        {"GET / HTTP/1.1\r\nX: a\x7f\r\n\r\n", -400, NULL},
        {"GET / HTTP/1.1\r\nContent-Length: 12x\r\n\r\n", -400, NULL},
        {"GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", -400, NULL},
        {"GET / HTTP/1.1\r\nContent-Length: 1, 1\r\n\r\n", -400, NULL},
        {"GET / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n", -400, NULL},
        {"GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", -501, NULL},
        {"GET / HTTP/1.1\r\n: v\r\n\r\n", -400, NULL},
        /* One empty line before the request line is ignored, not two. */
        {"\r\nGET / HTTP/1.1\r\nHost: a.example\r\n\r\n", 37, "a.example"},
        {"\r\n\r\nGET / HTTP/1.1\r\nHost: a.example\r\n\r\n", -400, NULL},
        {"\r", 0, NULL},
        {"\r\n", 0, NULL},
        {"\rGET / HTTP/1.1\r\n\r\n", -400, NULL},
        {"\nGET / HTTP/1.1\r\n\r\n", -400, NULL},
        /* Incomplete heads that can never become valid: refused at once. */
        {"GET / HTTP/1.1\nHost: a.example\n\n", -400, NULL},
        {"GET / HTTP/1.1\nHost", -400, NULL},
        {"GET / HTTP/1.1\r\nHost: a.example\nX: y\r\n", -400, NULL},
        {"GET / HTTP/1.1\r\nHost: a.example\r\n\n", -400, NULL},
        {"GET / HTTP/1.1\r\nHost: a.example\r\n\rX", -400, NULL},
        {"GET / HTTP/1.1\rHost", -400, NULL},
        {"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", -400, NULL},
        {"\x80\x2e\x01\x03\x01", -400, NULL},
        {"GET / XTTP/1.1\r\n", -400, NULL},
        {"GET / HTTP/x", -400, NULL},
        {"GET / HTTP/1.1x", -400, NULL},
        {"GET /\x7f", -400, NULL},
        {"GE/T", -400, NULL},
        {" GET", -400, NULL},
        {"GET  /", -400, NULL},
        {"GET / HTTP/1.1\r\n X", -400, NULL},
        {"GET / HTTP/1.1\r\nHost : a", -400, NULL},
        {"GET / HTTP/1.1\r\nHost: a\x01", -400, NULL},
        {"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", -400, NULL},
        /* ... and prefixes that still can: wait for more. */
        {"G", 0, NULL},
        {"GET / HTTP/1.", 0, NULL},
        {"GET / HTTP/1.1\r", 0, NULL},
        {"GET / HTTP/9.9\r\n", 0, NULL},
        {"GET / HTTP/1.1\r\nHost: a\r\n\r", 0, NULL},
        /* Methods: case-sensitive; unknown ones and CONNECT are 501. */
        {"get / HTTP/1.1\r\n\r\n", -501, NULL},
        {"Get / HTTP/1.1\r\n\r\n", -501, NULL},
        {"FOO / HTTP/1.1\r\n\r\n", -501, NULL},
        {"CONNECT a.example:443 HTTP/1.1\r\nHost: a.example:443\r\n\r\n", -501, NULL},
        {"PUT / HTTP/1.1\r\n\r\n", 18, NULL},
        {"OPTIONS * HTTP/1.1\r\n\r\n", 22, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct parse_case *c = &cases[i];
        struct http_request req;
        long r = http_parse(c->in, strlen(c->in), &req);
        CHECK(r == c->want, "case %zu: got %ld, want %ld", i, r, c->want);
        if (r > 0 && c->host != NULL)
            CHECK(req.host_count == 1 && req.host_len == strlen(c->host) &&
                      memcmp(req.host, c->host, req.host_len) == 0,
                  "case %zu: host", i);
        if (r > 0 && c->host == NULL)
            CHECK(req.host_count == 0, "case %zu: no host", i);
        if (r < 0)
            CHECK(req.error != NULL && req.error[0] != '\0', "case %zu: a refusal says why", i);
        /* Every proper prefix of a complete head is incomplete, never refused. */
        for (size_t cut = 0; r > 0 && cut < (size_t)r; cut++) {
            long pr = http_parse(c->in, cut, &req);
            CHECK(pr == 0, "case %zu: prefix of %zu bytes: got %ld", i, cut, pr);
        }
    }

    struct http_request req;
    const char *two = "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n";
    CHECK(http_parse(two, strlen(two), &req) > 0 && req.host_count == 2 &&
              req.host_len == 1 && req.host[0] == 'a',
          "two Hosts: counted, first kept");
    const char *ka10 = "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n";
    CHECK(http_parse(ka10, strlen(ka10), &req) > 0 && req.keep_alive, "1.0 keep-alive");
    const char *close11 = "GET / HTTP/1.1\r\nConnection: foo, close\r\n\r\n";
    CHECK(http_parse(close11, strlen(close11), &req) > 0 && !req.keep_alive, "1.1 close");
    const char *head = "HEAD / HTTP/1.1\r\n\r\n", *lhead = "head / HTTP/1.1\r\n\r\n";
    CHECK(http_parse(head, strlen(head), &req) > 0 && req.head, "HEAD");
    CHECK(http_parse(lhead, strlen(lhead), &req) == -501 && !req.head,
          "methods are case-sensitive: 'head' is an unknown method");
    static const struct {
        const char *in;
        enum http_method m;
    } methods[] = {
        {"GET / HTTP/1.1\r\n\r\n", HTTP_GET}, {"HEAD / HTTP/1.1\r\n\r\n", HTTP_HEAD},
        {"POST / HTTP/1.1\r\n\r\n", HTTP_POST}, {"PUT / HTTP/1.1\r\n\r\n", HTTP_PUT},
        {"DELETE / HTTP/1.1\r\n\r\n", HTTP_DELETE}, {"OPTIONS * HTTP/1.1\r\n\r\n", HTTP_OPTIONS},
        {"TRACE / HTTP/1.1\r\n\r\n", HTTP_TRACE}, {"PATCH / HTTP/1.1\r\n\r\n", HTTP_PATCH},
    };
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++)
        CHECK(http_parse(methods[i].in, strlen(methods[i].in), &req) > 0 &&
                  req.method_id == methods[i].m,
              "method %zu", i);
    const char *e11 = "POST / HTTP/1.1\r\nExpect: 100-Continue\r\nContent-Length: 1\r\n\r\n";
    const char *e10 = "POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n";
    const char *e2 = "POST / HTTP/1.1\r\nExpect: 200-ok\r\nContent-Length: 1\r\n\r\n";
    CHECK(http_parse(e11, strlen(e11), &req) > 0 && req.expect_continue, "Expect: 100-continue");
    CHECK(http_parse(e10, strlen(e10), &req) > 0 && !req.expect_continue,
          "HTTP/1.0 100-continue is ignored");
    CHECK(http_parse(e2, strlen(e2), &req) > 0 && !req.expect_continue, "other expectations");
    const char *cl = "POST / HTTP/1.1\r\nContent-Length: 007\r\n\r\n";
    CHECK(http_parse(cl, strlen(cl), &req) > 0 && req.content_length == 7, "Content-Length");

    /* Size limits. */
    char big[HTTP_MAX_HEAD + 64];
    memset(big, 'a', sizeof big);
    memcpy(big, "GET / HTTP/1.1\r\nX: ", 19);
    CHECK(http_parse(big, HTTP_MAX_HEAD - 1, &req) == 0, "under the limit: incomplete");
    CHECK(http_parse(big, HTTP_MAX_HEAD, &req) == -431, "at the limit: 431");
    char many[HTTP_MAX_HEADERS * 8 + 64];
    size_t n = (size_t)sprintf(many, "GET / HTTP/1.1\r\n");
    for (int i = 0; i <= HTTP_MAX_HEADERS; i++)
        n += (size_t)sprintf(many + n, "X: %d\r\n", i % 10);
    n += (size_t)sprintf(many + n, "\r\n");
    CHECK(http_parse(many, n, &req) == -431, "too many headers: 431");
}

/* Every split point of a two-request stream: incomplete before each head
 * ends, then exactly the same heads as parsing the whole stream. */
static void test_splits(void)
{
    const char *stream = "POST /a HTTP/1.1\r\nHost: one.example\r\nContent-Length: 5\r\n\r\n"
                         "hello"
                         "GET /b HTTP/1.1\r\nHost: two.example\r\nConnection: close\r\n\r\n";
    size_t len = strlen(stream);
    struct http_request whole;
    long h1 = http_parse(stream, len, &whole);
    CHECK(h1 > 0 && whole.content_length == 5, "whole stream: first head");
    size_t second = (size_t)h1 + 5;
    long h2 = http_parse(stream + second, len - second, &whole);
    CHECK(h2 > 0 && second + (size_t)h2 == len && !whole.keep_alive, "whole stream: second head");

    for (size_t cut = 0; cut <= len; cut++) {
        struct http_request req;
        long r = http_parse(stream, cut, &req);
        if (cut < (size_t)h1)
            CHECK(r == 0, "cut %zu: first head incomplete, got %ld", cut, r);
        else
            CHECK(r == h1, "cut %zu: first head complete", cut);
        if (cut >= second) {
            r = http_parse(stream + second, cut - second, &req);
            if (cut < len)
                CHECK(r == 0, "cut %zu: second head incomplete, got %ld", cut, r);
            else
                CHECK(r == h2 && req.host_len == 11 && memcmp(req.host, "two.example", 11) == 0,
                      "cut %zu: second head", cut);
        }
    }
}

static void test_json(void)
{
    static const char *const good[] = {
        "{}", " { \"a\" : \"b\" } ", "{\"id\":\"x\",\"lazy\":true,\"f\":false}",
        "{\"s\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u0041\"}",
    };
    static const char *const bad[] = {
        "", "[]", "{", "{\"a\"}", "{\"a\":}", "{\"a\":1}", "{\"a\":null}", "{\"a\":{}}",
        "{\"a\":[]}", "{\"a\":\"b\",}", "{\"a\":\"b\"} x", "{\"a\":\"b\",\"a\":\"c\"}",
        "{\"a\":\"\\u0000\"}", "{\"a\":\"\\u00e9\"}", "{\"a\":\"\\x\"}", "{\"a\":\"b\x01\"}",
        "{\"a\":\"b}", "{a:\"b\"}", "{\"a\":tru}", "{\"1\":true,\"2\":true,\"3\":true,"
        "\"4\":true,\"5\":true,\"6\":true,\"7\":true,\"8\":true,\"9\":true}",
    };
    struct json_object o;
    const char *reason;
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        CHECK(json_parse_flat(good[i], strlen(good[i]), &o, &reason), "good json %zu", i);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        reason = NULL;
        CHECK(!json_parse_flat(bad[i], strlen(bad[i]), &o, &reason) && reason != NULL,
              "bad json %zu accepted", i);
    }
    const char *in = "{\"id\":\"a\\\"b\",\"lazy\":false}";
    CHECK(json_parse_flat(in, strlen(in), &o, &reason), "parse");
    const struct json_field *f = json_get(&o, "id");
    CHECK(f != NULL && f->type == JSON_STRING && f->len == 3 && strcmp(f->str, "a\"b") == 0,
          "decoded string");
    f = json_get(&o, "lazy");
    CHECK(f != NULL && f->type == JSON_BOOL && !f->b, "bool");
    CHECK(json_get(&o, "nope") == NULL, "absent member");
    char huge[JSON_MAX_BYTES + 2];
    memset(huge, ' ', sizeof huge);
    huge[0] = '{';
    huge[sizeof huge - 1] = '}';
    CHECK(!json_parse_flat(huge, sizeof huge, &o, &reason), "over the size limit");
}

static void test_authority(void)
{
    static const char *const good[] = {
        "a.example", "A.Example:443", "a.example:", "127.0.0.1", "127.0.0.1:8081", "[::1]",
        "[2001:db8::42]:9443", "x%41.example", "a-b_c~d.example", "a!$&'()*+,;=b",
    };
    static const char *const bad[] = {
        "", ":443", "evil@a.example", "@a.example", "u:p@a.example", "http://a.example",
        "a.example/", "a.example/x", "a.example?x", "a.example#f", "a.example:443/",
        "a.example:44a", "a.example:443:443", "[::1", "[]", "[::1]x", "[::1]:x", "u@[::1]",
        "[fe80::1%25eth0]", "a b", "a\\b", "a|b", "a\"b", "x%4", "x%zz.example", "a<b",
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        CHECK(http_authority_ok(good[i], strlen(good[i])), "authority '%s' refused", good[i]);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK(!http_authority_ok(bad[i], strlen(bad[i])), "authority '%s' accepted", bad[i]);
    CHECK(!http_authority_ok("a\0b", 3), "authority with a NUL");
}

static void test_respond(void)
{
    struct http_request req;
    const char *ka10 = "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n";
    const char *plain10 = "GET / HTTP/1.0\r\n\r\n";
    const char *ka11 = "HEAD / HTTP/1.1\r\n\r\n";
    struct buf b = {0};
    CHECK(http_parse(ka10, strlen(ka10), &req) > 0, "parse");
    http_respond(&b, 200, NULL, NULL, "text/plain", "hi", 2, http_reply_flags(&req));
    CHECK(b.len > 0 && memmem(b.p, b.len, "\r\nConnection: keep-alive\r\n", 26) != NULL,
          "HTTP/1.0 keep-alive is said");
    b.len = 0;
    CHECK(http_parse(plain10, strlen(plain10), &req) > 0, "parse");
    http_respond(&b, 200, NULL, NULL, "text/plain", "hi", 2, http_reply_flags(&req));
    CHECK(memmem(b.p, b.len, "\r\nConnection: close\r\n", 21) != NULL, "HTTP/1.0 closes");
    b.len = 0;
    CHECK(http_parse(ka11, strlen(ka11), &req) > 0, "parse");
    http_respond(&b, 200, NULL, NULL, "text/plain", "hi", 2, http_reply_flags(&req));
    CHECK(memmem(b.p, b.len, "Connection:", 11) == NULL, "HTTP/1.1 keep-alive says nothing");
    CHECK(b.len > 2 && memcmp(b.p + b.len - 4, "\r\n\r\n", 4) == 0 &&
              memmem(b.p, b.len, "Content-Length: 2\r\n", 19) != NULL,
          "HEAD: length, no body");
    buf_free(&b);
}

static void test_escape(void)
{
    struct buf b = {0};
    buf_add_json_str(&b, "a\"\\\n\x01z", 6);
    CHECK(b.len == 18 && memcmp(b.p, "a\\\"\\\\\\u000a\\u0001z", 18) == 0, "json escape");
    buf_free(&b);

    /* Invalid UTF-8 becomes \ufffd, one per maximal ill-formed subpart (as
     * Python's errors="replace" does); valid sequences pass unchanged. */
    static const struct {
        const char *in, *want;
    } utf8[] = {
        {"\xff", "\\ufffd"},
        {"a\xff" "b", "a\\ufffdb"},  /* (split: \xffb would be one escape) */
        {"\xc3\xa9", "\xc3\xa9"},                           /* e-acute */
        {"\xe2\x82\xac", "\xe2\x82\xac"},                   /* euro sign */
        {"\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80"},           /* U+1F600 */
        {"\xf4\x8f\xbf\xbf", "\xf4\x8f\xbf\xbf"},           /* U+10FFFF */
        {"\xef\xbf\xbd", "\xef\xbf\xbd"},                   /* U+FFFD itself */
        {"\xe2\x82", "\\ufffd"},                            /* truncated at the end */
        {"\xe2\x82z", "\\ufffdz"},                          /* truncated mid-string */
        {"\xf0\x9f\x98", "\\ufffd"},
        {"\xc3", "\\ufffd"},
        {"\x80", "\\ufffd"},                                /* lone continuation */
        {"\xbf\xbf", "\\ufffd\\ufffd"},
        {"\xc0\xaf", "\\ufffd\\ufffd"},                      /* overlong '/' */
        {"\xc1\xbf", "\\ufffd\\ufffd"},
        {"\xe0\x80\xaf", "\\ufffd\\ufffd\\ufffd"},            /* overlong, 3 bytes */
        {"\xf0\x80\x80\xaf", "\\ufffd\\ufffd\\ufffd\\ufffd"},    /* overlong, 4 bytes */
        {"\xed\xa0\x80", "\\ufffd\\ufffd\\ufffd"},            /* surrogate U+D800 */
        {"\xed\xbf\xbf", "\\ufffd\\ufffd\\ufffd"},            /* surrogate U+DFFF */
        {"\xed\x9f\xbf", "\xed\x9f\xbf"},                   /* U+D7FF: valid */
        {"\xf4\x90\x80\x80", "\\ufffd\\ufffd\\ufffd\\ufffd"},    /* past U+10FFFF */
        {"\xf5\x80", "\\ufffd\\ufffd"},
        {"\xc3\"", "\\ufffd\\\""},                          /* the quote still escaped */
        {"\xe2\x82\x01", "\\ufffd\\u0001"},
    };
    for (size_t i = 0; i < sizeof utf8 / sizeof utf8[0]; i++) {
        struct buf u = {0};
        buf_add_json_str(&u, utf8[i].in, strlen(utf8[i].in));
        CHECK(!u.failed && u.len == strlen(utf8[i].want) &&
                  memcmp(u.p, utf8[i].want, u.len) == 0,
              "json escape of invalid UTF-8, case %zu: got '%.*s'", i, (int)u.len, u.p);
        buf_free(&u);
    }
    /* Bad bytes still cost at most the 6 bytes each that it reserves. */
    char fix[6 * 3];
    struct buf w = {.p = fix, .cap = sizeof fix, .fixed = true};
    buf_add_json_str(&w, "\xff\x80\x01", 3);
    CHECK(!w.failed && w.len == 18, "3 bad bytes fit 18 bytes");

    char small[4];
    struct buf f = {.p = small, .cap = sizeof small, .fixed = true};
    buf_adds(&f, "12345");
    CHECK(f.failed && f.p == small, "a fixed buffer fails instead of growing");
}

int main(void)
{
    test_table();
    test_splits();
    test_json();
    test_authority();
    test_respond();
    test_escape();
    if (failures != 0) {
        fprintf(stderr, "test_http: %d failures\n", failures);
        return 1;
    }
    puts("test_http: all checks passed");
    return 0;
}
