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

/* Parses the request line [p, eol); returns 0 or -status. */
static long parse_request_line(const char *p, const char *eol, struct http_request *req)
{
    const char *s = p;
    while (p < eol && is_tchar((unsigned char)*p))
        p++;
    if (p == s || p - s > 32 || p >= eol || *p != ' ')
        return -400;
    req->method = s;
    req->method_len = (size_t)(p - s);
    s = ++p;
    while (p < eol && (unsigned char)*p > 0x20 && (unsigned char)*p < 0x7f)
        p++;
    if (p == s || p >= eol || *p != ' ')
        return -400;
    req->target = s;
    req->target_len = (size_t)(p - s);
    p++;
    if (eol - p != 8 || memcmp(p, "HTTP/", 5) != 0 || p[6] != '.' || p[5] < '0' ||
        p[5] > '9' || p[7] < '0' || p[7] > '9')
        return -400;
    if (p[5] != '1' || (p[7] != '0' && p[7] != '1'))
        return -505;
    req->minor = p[7] - '0';
    return 0;
}

static long parse_content_length(const char *v, size_t len, struct http_request *req,
                                 bool *seen)
{
    if (len == 0 || len > 18)
        return -400;
    uint64_t n = 0;
    for (size_t i = 0; i < len; i++) {
        if (v[i] < '0' || v[i] > '9')
            return -400;        /* also rejects "1, 1" lists: be strict */
        n = n * 10 + (uint64_t)(v[i] - '0');
    }
    if (*seen && n != req->content_length)
        return -400;
    *seen = true;
    req->content_length = n;
    return 0;
}

long http_parse(const char *buf, size_t len, struct http_request *req)
{
    size_t scan = len < HTTP_MAX_HEAD ? len : HTTP_MAX_HEAD;
    const char *end = memmem(buf, scan, "\r\n\r\n", 4);
    if (end == NULL) {
        return len >= HTTP_MAX_HEAD ? -431 : 0;
    }
    memset(req, 0, sizeof *req);
    const char *p = buf;
    const char *eol = memchr(p, '\r', (size_t)(end + 2 - p));
    if (eol == NULL || eol[1] != '\n')
        return -400;
    long r = parse_request_line(p, eol, req);
    if (r != 0)
        return r;
    bool close = false, keep = false, cl_seen = false;
    unsigned n_headers = 0;
    p = eol + 2;
    while (p < end + 2) {
        eol = memchr(p, '\r', (size_t)(end + 2 - p));
        if (eol == NULL || eol[1] != '\n')
            return -400;
        if (++n_headers > HTTP_MAX_HEADERS)
            return -431;
        const char *name = p;
        while (p < eol && is_tchar((unsigned char)*p))
            p++;
        /* No name, obs-fold (line starting with space), or space before ':'. */
        if (p == name || p >= eol || *p != ':')
            return -400;
        size_t name_len = (size_t)(p - name);
        p++;
        while (p < eol && (*p == ' ' || *p == '\t'))
            p++;
        const char *v = p;
        for (; p < eol; p++) {
            unsigned char c = (unsigned char)*p;
            if ((c < 0x20 && c != '\t') || c == 0x7f)
                return -400;    /* NUL, bare LF, other controls */
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
            return -501;
        } else if (http_ieq(name, name_len, "connection")) {
            close |= has_token(v, vlen, "close");
            keep |= has_token(v, vlen, "keep-alive");
        } else if (http_ieq(name, name_len, "content-type")) {
            req->content_type = v;
            req->content_type_len = vlen;
        }
        p = eol + 2;
    }
    req->keep_alive = req->minor == 1 ? !close : (keep && !close);
    /* Methods are case-sensitive (RFC 9110 9.1). */
    req->head = req->method_len == 4 && memcmp(req->method, "HEAD", 4) == 0;
    return (long)(end + 4 - buf);
}

/* Reason phrases. http_respond builds the status line from pieces rather
 * than with snprintf, which showed up in profiles of the front. */
const char *http_reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
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
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
    }
}

void http_respond(struct buf *out, int status, const char *date, const char *extra,
                  const char *ctype, const char *body, size_t body_len, bool keep_alive,
                  bool head)
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
    if (!keep_alive)
        buf_adds(out, "Connection: close\r\n");
    buf_adds(out, "\r\n");
    if (!head && body_len > 0)
        buf_add(out, body, body_len);
}

void http_date_line(char *out, size_t cap)
{
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(out, cap, "Date: %a, %d %b %Y %H:%M:%S GMT\r\n", &tm);
}
