/*
 * normalize.c - Host header / agent URL -> host key (docs/design.md §4).
 *
 * Both registration (agent URL) and lookup (Host header) go through this one
 * function, so any difference between how the two are read would let a
 * tenant be registered under one key and looked up under another. It is
 * also the first thing an attacker-controlled Host header reaches, hence:
 * bounded by @len (never by a NUL), no allocation, no state but the
 * choice of fast path made at load time, and every byte is checked before
 * anything is written to @out.
 *
 * Shape: a fast path (host_key.c) takes what nearly every Host header is
 * (a name of up to 63 bytes, with or without ":port") a vector at a time,
 * and hands anything else, undecided, to scan_host, which makes one pass
 * over the authority in the style of nginx's ngx_http_validate_host,
 * copying the lower-cased name into a stack buffer and starting over at
 * each '@' (the host follows the last one); @out is written only once the
 * whole input is known to be valid.
 * Bracketed IPv6 literals go to normalize_full, the step-by-step parse
 * that also states every rule plainly.
 */
#define _POSIX_C_SOURCE 200809L

#include "tenreg.h"
#include "normalize.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

/* A name key is at most TENREG_HOST_KEY_MAX bytes (the public bound). */
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
    /* Scheme bytes exclude ':', so a scheme ends at the first ':'; a Host
     * header's first ':' starts its port, and memchr finds it fast. */
    const unsigned char *colon = memchr(p, ':', n);
    if (colon == NULL || colon == p || !is_alpha(p[0]))
        return 0;
    size_t i = (size_t)(colon - p);
    if (n - i < 3 || p[i + 1] != '/' || p[i + 2] != '/')
        return 0;
    for (size_t j = 1; j < i; j++) {
        unsigned char c = p[j];
        if (!(is_alpha(c) || is_digit(c) || c == '+' || c == '.' || c == '-'))
            return 0;
    }
    return i + 3;
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
    if (n == 0 || n > TENREG_HOST_KEY_MAX)
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

/*
 * The general parse: every rule of docs/design.md §4 step by step. Used for
 * bracketed IPv6 literals, which the fast scan below hands over; it is
 * also the readable statement of the rules the fast scan must agree with.
 * @s, @n: the trimmed input; @auth: where the authority starts.
 */
static int normalize_full(const unsigned char *s, size_t n, size_t auth, char *out, size_t cap,
                           size_t *out_len)
{
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

/* Byte classes of the fast scan. */
enum {
    K_INVALID = 0, /* <= 0x20, 0x7F: rejected anywhere in the input */
    K_NAME = 1,    /* a-z 0-9 - _ */
    K_UPPER = 2,   /* A-Z: lower-cased */
    K_DOT = 3,
    K_COLON = 4,
    K_AT = 5,
    K_END = 6,     /* / ? #: the authority ends */
    K_BRACKET = 7, /* [ */
    K_OTHER = 8,   /* any other byte: fine in userinfo and path, not in a name */
};

static const unsigned char klass[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 8, 8, 6, 8, 8, 8, 8, 8, 8, 8, 8, 8, 1, 3, 6, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 4, 8, 8, 8, 8, 6,
    5, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 7, 8, 8, 8, 1,
    8, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 8, 8, 8, 8, 0,
    8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8,
    8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8,
    8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8,
    8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8,
};

/* Name bytes (a-z 0-9 - _, and A-Z) mapped to their lower case; 0 for
 * every other byte. */
static const unsigned char name_lower[256] = {
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x2d, 0x00, 0x00,
    0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x6b, 0x6c, 0x6d, 0x6e, 0x6f,
    0x70, 0x71, 0x72, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0x00, 0x00, 0x00, 0x00, 0x5f,
    0x00, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x6b, 0x6c, 0x6d, 0x6e, 0x6f,
    0x70, 0x71, 0x72, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};

#define NEEDS_FULL_PARSE 1
#define KEY_BUF (TENREG_HOST_KEY_MAX + 2) /* a maximal name and one trailing dot */

/*
 * The fast path: one pass over the authority that validates, lower-cases
 * and copies the name while it looks for the port, a '@' (userinfo: start
 * over) and the end of the authority, then one quick check of the rest.
 * Normalization is most of the cost of a lookup: the inner loop handles a
 * run of name bytes with one table load, one store and one compare per
 * byte, and label lengths are checked once per label, not per byte.
 * @p, @n: the authority and what follows (scheme already dropped).
 * Returns 0 with the key in @key, TENREG_EINVAL, or NEEDS_FULL_PARSE for a
 * bracketed IPv6 literal.
 */
static int scan_host(const unsigned char *p, size_t n, char key[KEY_BUF], size_t *key_len)
{
    size_t k = 0, label_start = 0, i = 0;
    unsigned long port = 0;
    int bad = 0, in_port = 0;

    while (i < n) {
        if (!in_port) {
            unsigned char lc;
            while (i < n && k < KEY_BUF && (lc = name_lower[p[i]]) != 0) {
                key[k++] = (char)lc;
                i++;
            }
            if (i == n)
                break;
        }
        unsigned char c = p[i];
        unsigned kc = klass[c];
        if (kc == K_INVALID)
            return TENREG_EINVAL;
        if (kc == K_END)
            break;
        i++;
        if (kc == K_AT) { /* what came before was userinfo */
            k = label_start = 0;
            port = 0;
            bad = in_port = 0;
            continue;
        }
        if (in_port) {
            if (c >= '0' && c <= '9') {
                port = port * 10 + (unsigned long)(c - '0');
                if (port > PORT_MAX) {
                    bad = 1;
                    port = PORT_MAX + 1; /* no overflow on long digit runs */
                }
            } else {
                bad = 1;
            }
            continue;
        }
        switch (kc) {
        case K_DOT:
            /* A leading dot, an empty label or a label over 63 bytes. */
            bad |= k == label_start || k - label_start > LABEL_MAX_LEN;
            if (k < KEY_BUF)
                key[k++] = '.';
            else
                bad = 1;
            label_start = k;
            break;
        case K_COLON:
            in_port = 1;
            break;
        case K_BRACKET:
            if (k == 0)
                return NEEDS_FULL_PARSE;
            bad = 1;
            break;
        default: /* K_OTHER, or a name byte past the longest name */
            bad = 1;
        }
    }
    /* Path, query and fragment are dropped, but a control byte there still
     * refuses the whole value. */
    for (; i < n; i++)
        if (klass[p[i]] == K_INVALID)
            return TENREG_EINVAL;

    if (bad || k == 0 || k - label_start > LABEL_MAX_LEN)
        return TENREG_EINVAL;
    if (key[k - 1] == '.') { /* fold one trailing dot, never two */
        k--;
        if (k == 0 || key[k - 1] == '.')
            return TENREG_EINVAL;
    }
    if (k > TENREG_HOST_KEY_MAX)
        return TENREG_EINVAL;
    *key_len = k;
    return 0;
}

/* A name key into the caller's @out (NUL-terminated), or ENOSPC. */
static int put_key(const char *key, size_t key_len, char *out, size_t cap, size_t *out_len)
{
    if (key_len + 1 > cap)
        return TENREG_ENOSPC;
    memcpy(out, key, key_len);
    out[key_len] = '\0';
    if (out_len)
        *out_len = key_len;
    return 0;
}

/* The general path: blanks, a scheme, userinfo, a path, IPv6. */
int tenreg__normalize_scan(const unsigned char *in, size_t len, char *out, size_t cap,
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

    char key[KEY_BUF];
    size_t key_len = 0;
    int rc = scan_host(s + auth, n - auth, key, &key_len);
    if (rc == NEEDS_FULL_PARSE)
        return normalize_full(s, n, auth, out, cap, out_len);
    if (rc != 0)
        return rc;
    return put_key(key, key_len, out, cap, out_len);
}

static int normalize(const unsigned char *in, size_t len, char *out, size_t cap,
                     size_t *out_len)
{
    char key[KEY_BUF];
    size_t key_len = 0;
    int rc = tenreg__fast_host(in, len, key, &key_len);
    if (rc == TENREG__NEEDS_SCAN)
        return tenreg__normalize_scan(in, len, out, cap, out_len);
    if (rc != 0)
        return rc;
    return put_key(key, key_len, out, cap, out_len);
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
