/* http.c - request-head parser and response writer (see http.h). */
#define _GNU_SOURCE
#include "http.h"

#include <string.h>
#include <time.h>

/* RFC 9110 tchar: the bytes allowed in a method and a header name. */
static bool is_tchar(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return true;
    return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

bool http_ieq(const char *a, size_t len, const char *lit)
{
    size_t n = strlen(lit);
    if (n != len)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)a[i];
        if (c >= 'A' && c <= 'Z')
            c = (unsigned char)(c + 32);
        if (c != (unsigned char)lit[i])
            return false;
    }
    return true;
}

/* Does the comma-separated token list @v (Connection) contain @tok? */
static bool has_token(const char *v, size_t len, const char *tok)
{
    size_t i = 0;
    while (i < len) {
        while (i < len && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
            i++;
        size_t s = i;
        while (i < len && v[i] != ',' && v[i] != ' ' && v[i] != '\t')
            i++;
        if (i > s && http_ieq(v + s, i - s, tok))
            return true;
    }
    return false;
}

static long refuse(struct http_request *req, long status, const char *why)
{
    req->error = why;
    return status;
}

/* Parses the request line [p, eol); returns 0 or -status. */
static long parse_request_line(const char *p, const char *eol, struct http_request *req)
{
    const char *s = p;
    while (p < eol && is_tchar((unsigned char)*p))
        p++;
    if (p == s || p - s > 32 || p >= eol || *p != ' ')
        return refuse(req, -400, "malformed request line");
    req->method = s;
    req->method_len = (size_t)(p - s);
    s = ++p;
    while (p < eol && (unsigned char)*p > 0x20 && (unsigned char)*p < 0x7f)
        p++;
    if (p == s || p >= eol || *p != ' ')
        return refuse(req, -400, "malformed request line");
    req->target = s;
    req->target_len = (size_t)(p - s);
    p++;
    if (eol - p != 8 || memcmp(p, "HTTP/", 5) != 0 || p[6] != '.' || p[5] < '0' ||
        p[5] > '9' || p[7] < '0' || p[7] > '9')
        return refuse(req, -400, "malformed request line");
    if (p[5] != '1' || (p[7] != '0' && p[7] != '1'))
        return refuse(req, -505, "only HTTP/1.0 and HTTP/1.1");
    req->minor = p[7] - '0';
    return 0;
}

static long parse_content_length(const char *v, size_t len, struct http_request *req,
                                 bool *seen)
{
    if (len == 0 || len > 18)
        return refuse(req, -400, "bad Content-Length");
    uint64_t n = 0;
    for (size_t i = 0; i < len; i++) {
        if (v[i] < '0' || v[i] > '9')  /* also rejects "1, 1" lists: be strict */
            return refuse(req, -400, "bad Content-Length");
        n = n * 10 + (uint64_t)(v[i] - '0');
    }
    if (*seen && n != req->content_length)
        return refuse(req, -400, "two different Content-Lengths");
    *seen = true;
    req->content_length = n;
    return 0;
}

static enum http_method method_of(const char *m, size_t n)
{
    static const struct {
        const char *name;
        enum http_method id;
    } known[] = {
        {"GET", HTTP_GET}, {"HEAD", HTTP_HEAD}, {"POST", HTTP_POST}, {"PUT", HTTP_PUT},
        {"DELETE", HTTP_DELETE}, {"OPTIONS", HTTP_OPTIONS}, {"TRACE", HTTP_TRACE},
        {"PATCH", HTTP_PATCH}, {"CONNECT", HTTP_CONNECT},
    };
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (strlen(known[i].name) == n && memcmp(known[i].name, m, n) == 0)
            return known[i].id;
    return HTTP_OTHER;
}

/*
 * The verdict on an incomplete head [p, e): -400 (or -431) when no bytes
 * that may follow can make it valid, else 0. It walks the same grammar the
 * complete parse checks, so a prefix of a valid head is never refused, and
 * a bare LF, a bare CR, a byte no method or header may hold (a TLS record
 * starts with 0x16), or a version that is not "HTTP/d.d" is refused as soon
 * as it arrives instead of waiting for a blank line that never comes.
 */
static long incomplete_verdict(const char *p, const char *e, struct http_request *req)
{
    static const char bad_line[] = "malformed request line";
    const char *s = p;
    while (p < e && is_tchar((unsigned char)*p))
        p++;
    if (p - s > 32 || (p < e && (p == s || *p != ' ')))
        return refuse(req, -400, bad_line);
    if (p == e)
        return 0;
    s = ++p;
    while (p < e && (unsigned char)*p > 0x20 && (unsigned char)*p < 0x7f)
        p++;
    if (p < e && (p == s || *p != ' '))
        return refuse(req, -400, bad_line);
    if (p == e)
        return 0;
    p++;
    for (int i = 0; i < 8 && p < e; i++, p++) {
        char c = *p;
        bool ok = i < 5 ? c == "HTTP/"[i] : i == 6 ? c == '.' : c >= '0' && c <= '9';
        if (!ok)
            return refuse(req, -400, bad_line);
    }
    unsigned lines = 0;
    for (;;) {                  /* at the CR ending the previous line */
        if (p == e)
            return 0;
        if (*p != '\r')
            return refuse(req, -400, bad_line);
        if (++p == e)
            return 0;
        if (*p != '\n')
            return refuse(req, -400, "bare CR: lines end in CRLF");
        if (++p == e)
            return 0;
        if (*p == '\r') {       /* the blank line: its LF has not come yet */
            if (p + 1 < e)
                return refuse(req, -400, "bare CR: lines end in CRLF");
            return 0;
        }
        if (++lines > HTTP_MAX_HEADERS)
            return refuse(req, -431, "more than 64 header lines");
        s = p;
        while (p < e && is_tchar((unsigned char)*p))
            p++;
        if (p < e && (p == s || *p != ':'))
            return refuse(req, -400, "malformed header line (bare LF, fold or space before ':'?)");
        for (; p < e && *p != '\r'; p++) {
            unsigned char c = (unsigned char)*p;
            if ((c < 0x20 && c != '\t') || c == 0x7f)
                return refuse(req, -400, "control byte in a header (bare LF?)");
        }
    }
}

long http_parse(const char *buf, size_t len, struct http_request *req)
{
    memset(req, 0, sizeof *req);
    size_t scan = len < HTTP_MAX_HEAD ? len : HTTP_MAX_HEAD;
    size_t skip = 0;
    /* One empty line before a request line is ignored (RFC 9112 2.2):
     * a client may end a POST body with an extra CRLF. */
    if (scan >= 1 && buf[0] == '\r') {
        if (scan == 1)
            return 0;
        if (buf[1] != '\n')
            return refuse(req, -400, "bare CR: lines end in CRLF");
        skip = 2;
    }
    const char *p = buf + skip;
    const char *end = memmem(p, scan - skip, "\r\n\r\n", 4);
    if (end == NULL) {
        long v = incomplete_verdict(p, buf + scan, req);
        if (v != 0)
            return v;
        return len >= HTTP_MAX_HEAD ? refuse(req, -431, "request head over 8192 bytes") : 0;
    }
    const char *eol = memchr(p, '\r', (size_t)(end + 2 - p));
    if (eol == NULL || eol[1] != '\n')
        return refuse(req, -400, "malformed request line");
    long r = parse_request_line(p, eol, req);
    if (r != 0)
        return r;
    bool close = false, keep = false, cl_seen = false;
    unsigned n_headers = 0;
    p = eol + 2;
    while (p < end + 2) {
        eol = memchr(p, '\r', (size_t)(end + 2 - p));
        if (eol == NULL || eol[1] != '\n')
            return refuse(req, -400, "bare CR: lines end in CRLF");
        if (++n_headers > HTTP_MAX_HEADERS)
            return refuse(req, -431, "more than 64 header lines");
        const char *name = p;
        while (p < eol && is_tchar((unsigned char)*p))
            p++;
        /* No name, obs-fold (line starting with space), or space before ':'. */
        if (p == name || p >= eol || *p != ':')
            return refuse(req, -400, "malformed header line (bare LF, fold or space before ':'?)");
        size_t name_len = (size_t)(p - name);
        p++;
        while (p < eol && (*p == ' ' || *p == '\t'))
            p++;
        const char *v = p;
        for (; p < eol; p++) {
            unsigned char c = (unsigned char)*p;
            if ((c < 0x20 && c != '\t') || c == 0x7f)  /* NUL, bare LF, other controls */
                return refuse(req, -400, "control byte in a header (bare LF?)");
        }
        const char *ve = eol;
        while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
            ve--;
        size_t vlen = (size_t)(ve - v);

        if (http_ieq(name, name_len, "host")) {
            if (req->host_count++ == 0) {
                req->host = v;
                req->host_len = vlen;
            }
        } else if (http_ieq(name, name_len, "content-length")) {
            if ((r = parse_content_length(v, vlen, req, &cl_seen)) != 0)
                return r;
        } else if (http_ieq(name, name_len, "transfer-encoding")) {
            /* A front that does not decode chunked bodies must not guess
             * where the next request starts: refuse and close. */
            return refuse(req, -501, "Transfer-Encoding is not supported");
        } else if (http_ieq(name, name_len, "connection")) {
            close |= has_token(v, vlen, "close");
            keep |= has_token(v, vlen, "keep-alive");
        } else if (http_ieq(name, name_len, "content-type")) {
            req->content_type = v;
            req->content_type_len = vlen;
        } else if (http_ieq(name, name_len, "expect")) {
            /* An HTTP/1.0 client's 100-continue must be ignored (RFC 9110 10.1.1). */
            req->expect_continue |= req->minor == 1 && http_ieq(v, vlen, "100-continue");
        }
        p = eol + 2;
    }
    /* Methods are case-sensitive (RFC 9110 9.1): "get" is no GET. */
    req->method_id = method_of(req->method, req->method_len);
    if (req->method_id == HTTP_OTHER)
        return refuse(req, -501, "unknown method");
    if (req->method_id == HTTP_CONNECT)
        return refuse(req, -501, "CONNECT is not supported: this is no proxy");
    req->keep_alive = req->minor == 1 ? !close : (keep && !close);
    req->head = req->method_id == HTTP_HEAD;
    return (long)(end + 4 - buf);
}

static bool is_hex(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

bool http_authority_ok(const char *h, size_t len)
{
    size_t i = 0;
    if (len > 0 && h[0] == '[') {
        /* IP-literal: IPv6 (hex, ':', '.' for an embedded IPv4) or
         * IPvFuture ("v" HEX "." ...); tenreg decides which it takes. */
        for (i = 1; i < len && h[i] != ']'; i++) {
            unsigned char c = (unsigned char)h[i];
            if (!is_hex(c) && c != ':' && c != '.' && c != 'v' && c != 'V')
                return false;
        }
        if (i >= len || i == 1)
            return false;
        i++;
    } else {
        for (; i < len && h[i] != ':'; i++) {
            unsigned char c = (unsigned char)h[i];
            if (c == '%') {     /* pct-encoded */
                if (i + 2 >= len || !is_hex((unsigned char)h[i + 1]) ||
                    !is_hex((unsigned char)h[i + 2]))
                    return false;
                i += 2;
            } else if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                         (c >= '0' && c <= '9') || strchr("-._~!$&'()*+,;=", c) != NULL) ||
                       c == 0) {
                return false;
            }
        }
        if (i == 0)
            return false;
    }
    if (i == len)
        return true;
    if (h[i] != ':')
        return false;
    for (i++; i < len; i++)
        if (h[i] < '0' || h[i] > '9')
            return false;
    return true;
}

unsigned http_reply_flags(const struct http_request *req)
{
    unsigned f = 0;
    if (req->keep_alive)
        f |= HTTP_KEEP_ALIVE;
    if (req->keep_alive && req->minor == 0)
        f |= HTTP_KA_HEADER;
    if (req->head)
        f |= HTTP_HEAD_ONLY;
    return f;
}

/* Reason phrases. http_respond builds the status line from pieces rather
 * than with snprintf, which showed up in profiles of the front. */
const char *http_reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 100: return "Continue";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 413: return "Content Too Large";
    case 415: return "Unsupported Media Type";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 507: return "Insufficient Storage";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
    }
}

void http_respond(struct buf *out, int status, const char *date, const char *extra,
                  const char *ctype, const char *body, size_t body_len, unsigned flags)
{
    buf_adds(out, "HTTP/1.1 ");
    buf_addu(out, (uint64_t)status);
    buf_adds(out, " ");
    buf_adds(out, http_reason(status));
    buf_adds(out, "\r\n");
    if (date != NULL)
        buf_adds(out, date);
    if (extra != NULL)
        buf_adds(out, extra);
    if (ctype != NULL) {
        buf_adds(out, "Content-Type: ");
        buf_adds(out, ctype);
        buf_adds(out, "\r\n");
    }
    /* 204 must not carry Content-Length; everything else says its size so
     * keep-alive clients know where the next response starts. */
    if (status != 204) {
        buf_adds(out, "Content-Length: ");
        buf_addu(out, body_len);
        buf_adds(out, "\r\n");
    }
    if (!(flags & HTTP_KEEP_ALIVE))
        buf_adds(out, "Connection: close\r\n");
    else if (flags & HTTP_KA_HEADER)    /* HTTP/1.0 closes unless told otherwise */
        buf_adds(out, "Connection: keep-alive\r\n");
    buf_adds(out, "\r\n");
    if (!(flags & HTTP_HEAD_ONLY) && body_len > 0)
        buf_add(out, body, body_len);
}

void http_date_line(char *out, size_t cap)
{
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(out, cap, "Date: %a, %d %b %Y %H:%M:%S GMT\r\n", &tm);
}
