/* buf.c - growable byte buffer (see buf.h). */
#include "buf.h"

#include <stdlib.h>
#include <string.h>

bool buf_reserve(struct buf *b, size_t extra)
{
    if (b->failed)
        return false;
    if (b->cap - b->len >= extra)
        return true;
    if (b->fixed) {
        b->failed = true;
        return false;
    }
    size_t cap = b->cap ? b->cap : 256;
    while (cap - b->len < extra) {
        if (cap > SIZE_MAX / 2) {
            b->failed = true;
            return false;
        }
        cap *= 2;
    }
    char *p = realloc(b->p, cap);
    if (p == NULL) {
        b->failed = true;
        return false;
    }
    b->p = p;
    b->cap = cap;
    return true;
}

void buf_add(struct buf *b, const void *data, size_t len)
{
    if (!buf_reserve(b, len))
        return;
    memcpy(b->p + b->len, data, len);
    b->len += len;
}

void buf_adds(struct buf *b, const char *s)
{
    buf_add(b, s, strlen(s));
}

void buf_addu(struct buf *b, uint64_t v)
{
    char tmp[24];
    size_t n = sizeof tmp;
    do {
        tmp[--n] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    buf_add(b, tmp + n, sizeof tmp - n);
}

/*
 * The length of the well-formed UTF-8 sequence at @s (RFC 3629, Unicode
 * Table 3-7: no overlong forms, no surrogates, nothing past U+10FFFF), or
 * 0 when there is none; then *@bad is the length of its maximal ill-formed
 * prefix (at least 1), which one U+FFFD replaces, as the Unicode standard
 * recommends (and Python, browsers and ICU do). @s[0] is >= 0x80.
 */
static size_t utf8_seq(const unsigned char *s, size_t len, size_t *bad)
{
    unsigned char c = s[0], lo = 0x80, hi = 0xbf;
    size_t need;
    if (c >= 0xc2 && c <= 0xdf)
        need = 1;
    else if (c >= 0xe0 && c <= 0xef) {
        need = 2;
        if (c == 0xe0)
            lo = 0xa0;          /* overlong below U+0800 */
        else if (c == 0xed)
            hi = 0x9f;          /* U+D800..U+DFFF: surrogates */
    } else if (c >= 0xf0 && c <= 0xf4) {
        need = 3;
        if (c == 0xf0)
            lo = 0x90;          /* overlong below U+10000 */
        else if (c == 0xf4)
            hi = 0x8f;          /* past U+10FFFF */
    } else {
        *bad = 1;               /* a continuation byte, C0, C1, F5..FF */
        return 0;
    }
    size_t k = 1;
    for (; k <= need && k < len; k++) {
        if (s[k] < lo || s[k] > hi)
            break;
        lo = 0x80;
        hi = 0xbf;
    }
    if (k == need + 1)
        return k;
    *bad = k;
    return 0;
}

/*
 * Invalid UTF-8 (a tenant's reason is whatever its validator said) becomes
 * \ufffd, so the output is always valid JSON (RFC 8259 8.1) that a strict
 * client can parse; well-formed multi-byte characters pass unchanged.
 */
void buf_add_json_str(struct buf *b, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    /* Worst case every byte becomes \u00XX or \ufffd. */
    if (!buf_reserve(b, len * 6))
        return;
    const unsigned char *u = (const unsigned char *)s;
    char *o = b->p + b->len;
    for (size_t i = 0; i < len;) {
        unsigned char c = u[i];
        if (c >= 0x80) {
            size_t bad, n = utf8_seq(u + i, len - i, &bad);
            if (n > 0) {
                memcpy(o, u + i, n);
                o += n;
                i += n;
            } else {
                memcpy(o, "\\ufffd", 6);
                o += 6;
                i += bad;
            }
            continue;
        }
        if (c == '"' || c == '\\') {
            *o++ = '\\';
            *o++ = (char)c;
        } else if (c < 0x20 || c == 0x7f) {
            *o++ = '\\';
            *o++ = 'u';
            *o++ = '0';
            *o++ = '0';
            *o++ = hex[c >> 4];
            *o++ = hex[c & 15];
        } else {
            *o++ = (char)c;
        }
        i++;
    }
    b->len = (size_t)(o - b->p);
}

void buf_free(struct buf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
    b->failed = false;
}
