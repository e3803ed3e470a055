/*
 * http.h - HTTP/1.1 request-head parser and response writer.
 *
 * The parser works on the bytes a connection has buffered and never copies:
 * it answers "incomplete" (read more), "complete, head is N bytes" (the
 * request's fields point into the buffer), or an error status. It is strict
 * where leniency lets requests be smuggled past a front: CRLF line ends
 * only, no obs-fold, no space before ':', one Content-Length value,
 * Transfer-Encoding refused, control bytes refused, methods case-sensitive.
 * Bytes that can never become a request (a bare LF, a TLS ClientHello,
 * binary junk) are refused as soon as they arrive, not once the head is
 * complete or timed out. Sizes are bounded (HTTP_MAX_HEAD,
 * HTTP_MAX_HEADERS) so a client cannot make a worker buffer or scan
 * without limit.
 */
#ifndef FRONT_HTTP_H
#define FRONT_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define HTTP_MAX_HEAD 8192      /* request line + headers + blank line */
#define HTTP_MAX_HEADERS 64

/* The methods RFC 9110 defines. Anything else (also "get": methods are
 * case-sensitive) is refused by the parser with 501, and so is CONNECT:
 * these servers are no proxies, a tunnel is not implemented. */
enum http_method {
    HTTP_GET, HTTP_HEAD, HTTP_POST, HTTP_PUT, HTTP_DELETE, HTTP_OPTIONS, HTTP_TRACE,
    HTTP_PATCH, HTTP_CONNECT, HTTP_OTHER
};

struct http_request {
    const char *method;
    size_t method_len;
    enum http_method method_id;
    const char *target;
    size_t target_len;
    int minor;                  /* HTTP/1.<minor>: 0 or 1 */
    const char *host;           /* first Host value (trimmed), or NULL */
    size_t host_len;
    unsigned host_count;        /* how many Host header lines */
    uint64_t content_length;
    bool keep_alive;
    bool head;                  /* HEAD: answer without a body */
    bool expect_continue;       /* HTTP/1.1 "Expect: 100-continue" */
    const char *content_type;   /* or NULL */
    size_t content_type_len;
    const char *error;          /* when http_parse refuses: why (a static string) */
};

/*
 * http_parse - parse the request head at the start of @buf.
 * One empty line (CRLF) before the request line is ignored (RFC 9112 2.2).
 * Returns the head length (> 0, that CRLF included) when complete; 0 when
 * more bytes are needed and could still make a valid head (a prefix of a
 * valid head always answers 0); or -status (-400, -431, -501, -505) when
 * the request is bad and the connection must be answered with that status
 * and closed, with req->error saying why.
 */
long http_parse(const char *buf, size_t len, struct http_request *req);

/* Case-insensitive compare of @len bytes at @a with NUL-terminated @lit. */
bool http_ieq(const char *a, size_t len, const char *lit);

/*
 * http_authority_ok - is @h exactly uri-host [":" port] (RFC 9110 7.2,
 * RFC 3986 3.2.2)? An IP literal in brackets, or reg-name / IPv4 bytes
 * (unreserved, sub-delims, %XX), then optionally ':' and digits: no
 * userinfo, scheme, path, query or fragment. Syntax only: whether tenreg
 * takes it as a host is still tenreg_normalize_host's call.
 */
bool http_authority_ok(const char *h, size_t len);

const char *http_reason(int status);

/* http_respond flags. */
#define HTTP_KEEP_ALIVE 1u      /* keep the connection ("Connection: close" when absent) */
#define HTTP_HEAD_ONLY  2u      /* HEAD: no body, its Content-Length still sent */
#define HTTP_KA_HEADER  4u      /* HTTP/1.0 client: say "Connection: keep-alive" */

/* The flags an answer to @req needs: keep-alive as the request asked (with
 * the explicit header an HTTP/1.0 client needs), HEAD without a body. */
unsigned http_reply_flags(const struct http_request *req);

/*
 * http_respond - append a complete response.
 * @extra: extra header lines, each ending in "\r\n" (or NULL).
 * @ctype: Content-Type of @body, or NULL when there is no body.
 * @flags: HTTP_KEEP_ALIVE, HTTP_HEAD_ONLY, HTTP_KA_HEADER.
 */
void http_respond(struct buf *out, int status, const char *date, const char *extra,
                  const char *ctype, const char *body, size_t body_len, unsigned flags);

/* Formats the current time as an IMF-fixdate Date header line into @out
 * (at least 48 bytes). */
void http_date_line(char *out, size_t cap);

#endif
