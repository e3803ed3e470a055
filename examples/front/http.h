/*
 * http.h - HTTP/1.1 request-head parser and response writer.
 *
 * The parser works on the bytes a connection has buffered and never copies:
 * it answers "incomplete" (read more), "complete, head is N bytes" (the
 * request's fields point into the buffer), or an error status. It is strict
 * where leniency lets requests be smuggled past a front: CRLF line ends
 * only, no obs-fold, no space before ':', one Content-Length value,
 * Transfer-Encoding refused, control bytes refused. Sizes are bounded
 * (HTTP_MAX_HEAD, HTTP_MAX_HEADERS) so a client cannot make a worker
 * buffer or scan without limit.
 */
#ifndef FRONT_HTTP_H
#define FRONT_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define HTTP_MAX_HEAD 8192      /* request line + headers + blank line */
#define HTTP_MAX_HEADERS 64

struct http_request {
    const char *method;
    size_t method_len;
    const char *target;
    size_t target_len;
    int minor;                  /* HTTP/1.<minor>: 0 or 1 */
    const char *host;           /* first Host value (trimmed), or NULL */
    size_t host_len;
    unsigned host_count;        /* how many Host header lines */
    uint64_t content_length;
    bool keep_alive;
    bool head;                  /* HEAD: answer without a body */
    const char *content_type;   /* or NULL */
    size_t content_type_len;
};

/*
 * http_parse - parse the request head at the start of @buf.
 * Returns the head length (> 0) when complete, 0 when more bytes are
 * needed, or -status (-400, -431, -501, -505) when the request is bad and
 * the connection must be answered with that status and closed.
 */
long http_parse(const char *buf, size_t len, struct http_request *req);

/* Case-insensitive compare of @len bytes at @a with NUL-terminated @lit. */
bool http_ieq(const char *a, size_t len, const char *lit);

const char *http_reason(int status);

/*
 * http_respond - append a complete response.
 * @extra: extra header lines, each ending in "\r\n" (or NULL).
 * @ctype: Content-Type of @body, or NULL when there is no body.
 * The body is left out when @head is set (Content-Length still tells its
 * size, as HEAD requires). "Connection: close" is sent when !@keep_alive.
 */
void http_respond(struct buf *out, int status, const char *date, const char *extra,
                  const char *ctype, const char *body, size_t body_len, bool keep_alive,
                  bool head);

/* Formats the current time as an IMF-fixdate Date header line into @out
 * (at least 48 bytes). */
void http_date_line(char *out, size_t cap);

#endif
