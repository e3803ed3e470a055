/*
 * normalize.c - Host header / agent URL -> host key (DESIGN.md §4).
 *
 * Both registration (agent URL) and lookup (Host header) go through this one
 * function, so any difference between how the two are read would let a
 * tenant be registered under one key and looked up under another. It is
 * also the first thing an attacker-controlled Host header reaches, hence:
 * bounded by @len (never by a NUL), no allocation, no global state, and
 * every byte is checked before anything is written to @out.
 *
 * Shape: one scan over the input checks every byte and finds the end of the
 * authority and its last '@'; then the host part (at most a few hundred
 * bytes, or the request is rejected) is validated and only then copied,
 * lower-cased, to @out. A strictly single pass in the style of nginx's
 * ngx_http_validate_host does not fit here, because the host only starts
 * after the *last* '@', which is not known until the authority ends.
 */
#define _POSIX_C_SOURCE 200809L

#include "tenreg.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>

#define NAME_MAX_LEN 253
#define LABEL_MAX_LEN 63
#define PORT_MAX 65535u

static int is_alpha(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

/* The name alphabet of rule 7, dot excluded (dots are label separators). */
static int is_name_byte(unsigned char c)
{
    return is_alpha(c) || is_digit(c) || c == '-' || c == '_';
}

/*
 * Length of a leading "scheme://" ([A-Za-z][A-Za-z0-9+.-]*://), or 0.
 * Anything else is read as a bare Host value from its first byte, so
 * "localhost:8080" stays a host with a port, not a scheme.
 */
static size_t scheme_len(const unsigned char *p, size_t n)
{
    size_t i = 0;

    if (n == 0 || !is_alpha(p[0]))
        return 0;
    for (i = 1; i < n; i++) {
        unsigned char c = p[i];
        if (!(is_alpha(c) || is_digit(c) || c == '+' || c == '.' || c == '-'))
            break;
    }
    if (n - i >= 3 && p[i] == ':' && p[i + 1] == '/' && p[i + 2] == '/')
        return i + 3;
    return 0;
}

/*
 * A port is empty or decimal digits <= 65535. Leading zeros are accepted
 * (WHATWG does too); the value check runs digit by digit so an arbitrarily
 * long run of zeros can neither overflow nor be mistaken for a big port.
 */
static int port_ok(const unsigned char *p, size_t n)
{
    unsigned long v = 0;

    for (size_t i = 0; i < n; i++) {
        if (!is_digit(p[i]))
            return 0;
        v = v * 10 + (unsigned long)(p[i] - '0');
        if (v > PORT_MAX)
            return 0;
    }
    return 1;
}

/*
 * Bracketed IPv6 literal at p[0] == '['. Writes inet_ntop's text to @key
 * (INET6_ADDRSTRLEN bytes) and its length to *key_len.
 */
static int parse_ipv6(const unsigned char *p, size_t n, char *key, size_t *key_len)
{
    /* The longest text inet_pton accepts is 45 bytes (INET6_ADDRSTRLEN
     * with its NUL); anything longer is not an address, so the copy below
     * stays on a small stack buffer. */
    char buf[INET6_ADDRSTRLEN];
    struct in6_addr addr;
    size_t rb = 1;

    while (rb < n && p[rb] != ']')
        rb++;
    if (rb == n)
        return TENREG_EINVAL; /* unterminated "[v6" */

    size_t inner = rb - 1;
    if (inner == 0 || inner >= sizeof(buf))
        return TENREG_EINVAL;
    /* Zone ids name an interface of *this* host and IPvFuture has no
     * canonical form: neither can identify a tenant. inet_pton rejects both
     * on glibc, but the rule should not hang on one libc's leniency. */
    if (p[1] == 'v' || p[1] == 'V' || memchr(p + 1, '%', inner) != NULL)
        return TENREG_EINVAL;

    if (rb + 1 < n) {
        if (p[rb + 1] != ':')
            return TENREG_EINVAL;
        if (!port_ok(p + rb + 2, n - rb - 2))
            return TENREG_EINVAL;
    }

    /* inet_pton needs a C string and the input has no NUL to offer. */
    memcpy(buf, p + 1, inner);
    buf[inner] = '\0';
    if (inet_pton(AF_INET6, buf, &addr) != 1)
        return TENREG_EINVAL;
    if (inet_ntop(AF_INET6, &addr, key, INET6_ADDRSTRLEN) == NULL)
        return TENREG_EINVAL;
    *key_len = strlen(key);
    return 0;
}

/*
 * Checks a name (after the port is cut off) and returns its length with one
 * trailing dot folded, or 0 when it is not a valid name.
 */
static size_t check_name(const unsigned char *p, size_t n)
{
    size_t label = 0;

    /* One dot only: "host." is the same host (absolute form), "host.." is
     * not a name at all. */
    if (n > 0 && p[n - 1] == '.')
        n--;
    if (n == 0 || n > NAME_MAX_LEN)
        return 0;

    for (size_t i = 0; i < n; i++) {
        if (p[i] == '.') {
            if (label == 0)
                return 0;
            label = 0;
        } else if (is_name_byte(p[i])) {
            if (++label > LABEL_MAX_LEN)
                return 0;
        } else {
            return 0;
        }
    }
    return label == 0 ? 0 : n;
}

static int normalize(const unsigned char *in, size_t len, char *out, size_t cap,
                     size_t *out_len)
{
    size_t b = 0, e = len;

    while (b < e && (in[b] == ' ' || in[b] == '\t'))
        b++;
    while (e > b && (in[e - 1] == ' ' || in[e - 1] == '\t'))
        e--;
    if (b == e)
        return TENREG_EINVAL;

    const unsigned char *s = in + b;
    size_t n = e - b;
    size_t auth = scheme_len(s, n);
    size_t auth_end = n;
    size_t host = auth;

    /* Every byte up to the end of the input is checked, not just the
     * authority: a CR/LF or NUL in the path is a smuggling attempt, and the
     * whole value must be refused, not quietly cut. (scheme_len's alphabet
     * already excludes them from the scheme.) */
    for (size_t i = auth; i < n; i++) {
        unsigned char c = s[i];
        if (c <= 0x20 || c == 0x7F)
            return TENREG_EINVAL;
        if (auth_end == n) {
            if (c == '/' || c == '?' || c == '#')
                auth_end = i;
            else if (c == '@')
                host = i + 1;
        }
    }

    const unsigned char *h = s + host;
    size_t hn = auth_end - host;
    if (hn == 0)
        return TENREG_EINVAL;

    if (h[0] == '[') {
        char key[INET6_ADDRSTRLEN];
        size_t key_len = 0;
        int rc = parse_ipv6(h, hn, key, &key_len);
        if (rc != 0)
            return rc;
        if (key_len + 1 > cap)
            return TENREG_ENOSPC;
        memcpy(out, key, key_len + 1);
        if (out_len)
            *out_len = key_len;
        return 0;
    }

    const unsigned char *colon = memchr(h, ':', hn);
    size_t name_n = hn;
    if (colon != NULL) {
        name_n = (size_t)(colon - h);
        if (!port_ok(colon + 1, hn - name_n - 1))
            return TENREG_EINVAL;
    }

    size_t key_len = check_name(h, name_n);
    if (key_len == 0)
        return TENREG_EINVAL;
    if (key_len + 1 > cap)
        return TENREG_ENOSPC;
    for (size_t i = 0; i < key_len; i++) {
        unsigned char c = h[i];
        out[i] = (char)((c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c);
    }
    out[key_len] = '\0';
    if (out_len)
        *out_len = key_len;
    return 0;
}

/*
 * Failure contract: @out is written only on success. On any failure with a
 * usable buffer, out[0] becomes NUL and nothing else in @out changes, so a
 * caller that ignores the return code sees an empty string, never a partial
 * key. *out_len is written only on success.
 */
TENREG_API int tenreg_normalize_host(const char *in, size_t len, char *out, size_t cap,
                                     size_t *out_len)
{
    if (out == NULL)
        return TENREG_EINVAL;

    int rc = TENREG_EINVAL;
    if (in != NULL)
        rc = normalize((const unsigned char *)in, len, out, cap, out_len);
    if (rc != 0 && cap > 0)
        out[0] = '\0';
    return rc;
}
