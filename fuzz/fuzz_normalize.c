/*
 * fuzz_normalize.c - properties of tenreg_normalize_host (docs/design.md §4).
 *
 * The whole input is one Host header value or URL. Checked on every input:
 *   - a key is 1..253 bytes of [a-z0-9-._:], NUL-terminated, *out_len right;
 *     a name key (no ':') has no empty label and labels of at most 63
 *     bytes; an IPv6 key (':') is inet_ntop's own canonical text;
 *   - normalizing a name key gives the same key; an IPv6 key k gives k back
 *     as "[k]";
 *   - a name key is the input's name lower-cased, so it occurs in the input
 *     ignoring ASCII case;
 *   - the answer does not depend on the bytes past len (an exact-size heap
 *     copy lets ASan catch an overread; a second call sees garbage after);
 *   - ENOSPC exactly when cap <= key length (cap 0, 1, len, len + 1, 254),
 *     the same key when it fits, nothing ever written at or past cap;
 *   - a byte <= 0x20 or 0x7F inside the trimmed input is always EINVAL;
 *   - metamorphic: extra surrounding space/tab, ASCII upper- or lower-
 *     casing, and a "user@" prefix (for inputs without "://" and without
 *     leading blanks) do not change the answer;
 *   - differential: the answer equals that of ref_normalize() below, a
 *     second, deliberately naive implementation of the rules of §4 written
 *     from the text (several passes, no shared code with src/normalize.c).
 */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_helpers.h"
#include "tenreg.h"

#define KEY_CAP (TENREG_HOST_KEY_MAX + 1)
#define CANARY 0xA5
#define CANARY_LEN 32
/* Longer inputs add nothing but slow the copies; the limit is far above
 * anything normalize accepts (it refuses authorities over a few hundred
 * bytes), so the interesting rejections are still reached. */
#define MAX_INPUT 4096

struct answer {
    int rc;
    size_t len;
    char key[KEY_CAP];
};

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    FUZZ_ASSERT_MSG(p != NULL, "out of memory");
    return p;
}

/* Normalizes @len bytes held in an exact-size heap buffer, into a buffer of
 * @cap bytes followed by a canary, and checks the canary. */
static struct answer normalize_cap(const uint8_t *in, size_t len, size_t cap)
{
    struct answer a;
    uint8_t *copy = xmalloc(len);
    if (len)
        memcpy(copy, in, len);
    uint8_t *out = xmalloc(cap + CANARY_LEN);
    memset(out, CANARY, cap + CANARY_LEN);
    a.len = (size_t)-1;
    a.rc = tenreg_normalize_host((const char *)copy, len, (char *)out, cap, &a.len);
    for (size_t i = cap; i < cap + CANARY_LEN; i++)
        FUZZ_ASSERT_MSG(out[i] == CANARY, "byte %zu written, cap %zu, rc %d", i, cap, a.rc);
    FUZZ_ASSERT_MSG(a.rc == TENREG_OK || a.rc == TENREG_EINVAL || a.rc == TENREG_ENOSPC,
                    "unexpected rc %d", a.rc);
    memset(a.key, 0, sizeof(a.key));
    if (a.rc == TENREG_OK) {
        FUZZ_ASSERT_MSG(a.len >= 1 && a.len <= TENREG_HOST_KEY_MAX, "key length %zu", a.len);
        FUZZ_ASSERT_MSG(a.len < cap, "key length %zu with cap %zu", a.len, cap);
        FUZZ_ASSERT_MSG(out[a.len] == '\0', "key not NUL-terminated");
        memcpy(a.key, out, a.len + 1);
    }
    free(out);
    free(copy);
    return a;
}

static struct answer normalize(const uint8_t *in, size_t len)
{
    return normalize_cap(in, len, KEY_CAP);
}

static void assert_same(const struct answer *a, const struct answer *b, const char *what)
{
    FUZZ_ASSERT_MSG(a->rc == b->rc, "%s: rc %d vs %d", what, a->rc, b->rc);
    if (a->rc == TENREG_OK) {
        FUZZ_ASSERT_MSG(a->len == b->len && memcmp(a->key, b->key, a->len) == 0,
                        "%s: key \"%s\" vs \"%s\"", what, a->key, b->key);
    }
}

static int is_blank(uint8_t c)
{
    return c == ' ' || c == '\t';
}

static uint8_t ascii_lower(uint8_t c)
{
    return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + 32) : c;
}

static uint8_t ascii_upper(uint8_t c)
{
    return (c >= 'a' && c <= 'z') ? (uint8_t)(c - 32) : c;
}

/* ---- reference: docs/design.md §4, rule by rule -------------------------------- */

static int ref_alpha(uint8_t c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int ref_digit(uint8_t c)
{
    return c >= '0' && c <= '9';
}

/* Rule 7 on in[b, e): writes the lower-cased name. */
static int ref_name(const uint8_t *in, size_t b, size_t e, struct answer *a)
{
    if (e > b && in[e - 1] == '.')
        e--; /* fold one trailing dot */
    if (e == b || e - b > 253)
        return TENREG_EINVAL;
    size_t label = 0;
    for (size_t i = b; i < e; i++) {
        uint8_t c = in[i];
        if (c == '.') {
            if (label == 0)
                return TENREG_EINVAL;
            label = 0;
            continue;
        }
        if (!(ref_alpha(c) || ref_digit(c) || c == '-' || c == '_'))
            return TENREG_EINVAL;
        if (++label > 63)
            return TENREG_EINVAL;
    }
    if (label == 0)
        return TENREG_EINVAL;
    a->len = e - b;
    for (size_t i = b; i < e; i++)
        a->key[i - b] = (char)ascii_lower(in[i]);
    a->key[a->len] = '\0';
    return TENREG_OK;
}

/* Rule 6: empty, or digits with value <= 65535 (leading zeros allowed). */
static int ref_port(const uint8_t *in, size_t b, size_t e)
{
    unsigned long v = 0;
    for (size_t i = b; i < e; i++) {
        if (!ref_digit(in[i]))
            return TENREG_EINVAL;
        v = v * 10 + (in[i] - '0');
        if (v > 65535)
            return TENREG_EINVAL;
    }
    return TENREG_OK;
}

static struct answer ref_normalize(const uint8_t *in, size_t len)
{
    struct answer a;
    memset(&a, 0, sizeof(a));
    a.rc = TENREG_EINVAL;
    /* 1. trim space and tab */
    size_t b = 0, e = len;
    while (b < e && is_blank(in[b]))
        b++;
    while (e > b && is_blank(in[e - 1]))
        e--;
    /* 2. empty, or any byte <= 0x20 or 0x7F left */
    if (b == e)
        return a;
    for (size_t i = b; i < e; i++)
        if (in[i] <= 0x20 || in[i] == 0x7F)
            return a;
    /* 3. scheme, then the authority up to the first '/', '?' or '#' */
    if (ref_alpha(in[b])) {
        size_t j = b + 1;
        while (j < e && (ref_alpha(in[j]) || ref_digit(in[j]) || in[j] == '+' || in[j] == '.' ||
                         in[j] == '-'))
            j++;
        if (e - j >= 3 && memcmp(in + j, "://", 3) == 0)
            b = j + 3;
    }
    size_t end = b;
    while (end < e && in[end] != '/' && in[end] != '?' && in[end] != '#')
        end++;
    /* 4. userinfo: up to the last '@' */
    for (size_t i = b; i < end; i++)
        if (in[i] == '@')
            b = i + 1;
    /* 5. bracketed IPv6 */
    if (b < end && in[b] == '[') {
        size_t close = b + 1;
        while (close < end && in[close] != ']')
            close++;
        if (close == end)
            return a;
        if (close + 1 < end && (in[close + 1] != ':' || ref_port(in, close + 2, end)))
            return a;
        char text[64];
        size_t n = close - (b + 1);
        if (n >= sizeof(text))
            return a;
        memcpy(text, in + b + 1, n);
        text[n] = '\0';
        if (memchr(text, '%', n))
            return a; /* zone id */
        struct in6_addr addr;
        if (inet_pton(AF_INET6, text, &addr) != 1)
            return a;
        FUZZ_ASSERT(inet_ntop(AF_INET6, &addr, a.key, sizeof(a.key)) != NULL);
        a.len = strlen(a.key);
        a.rc = TENREG_OK;
        return a;
    }
    /* 6. the port starts at the first ':' */
    size_t colon = b;
    while (colon < end && in[colon] != ':')
        colon++;
    if (colon < end && ref_port(in, colon + 1, end))
        return a;
    /* 7. the name */
    a.rc = ref_name(in, b, colon, &a);
    return a;
}

static void check_key_shape(const struct answer *a)
{
    const char *k = a->key;
    size_t n = a->len;
    FUZZ_ASSERT_MSG(strlen(k) == n, "key \"%s\" has a NUL inside (len %zu)", k, n);
    int colon = 0;
    for (size_t i = 0; i < n; i++) {
        char c = k[i];
        int ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
                 c == '_' || c == ':';
        FUZZ_ASSERT_MSG(ok, "key \"%s\" has byte 0x%02x", k, (unsigned)(unsigned char)c);
        colon |= c == ':';
    }
    if (colon) {
        /* IPv6: the key must be inet_ntop's canonical form of itself. */
        struct in6_addr addr;
        char text[INET6_ADDRSTRLEN];
        FUZZ_ASSERT_MSG(inet_pton(AF_INET6, k, &addr) == 1, "IPv6 key \"%s\" does not parse", k);
        FUZZ_ASSERT(inet_ntop(AF_INET6, &addr, text, sizeof(text)) != NULL);
        FUZZ_ASSERT_MSG(strcmp(text, k) == 0, "IPv6 key \"%s\" is not canonical (\"%s\")", k,
                        text);
        return;
    }
    /* Name: labels of 1..63 bytes, no leading, trailing or double dot. */
    size_t label = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i == n || k[i] == '.') {
            FUZZ_ASSERT_MSG(label >= 1 && label <= 63, "key \"%s\": label of %zu bytes", k,
                            label);
            label = 0;
        } else {
            label++;
        }
    }
}

/* A name key is the input's name lower-cased: it occurs in the input. */
static void check_key_in_input(const struct answer *a, const uint8_t *in, size_t len)
{
    if (strchr(a->key, ':'))
        return;
    for (size_t i = 0; i + a->len <= len; i++) {
        size_t j = 0;
        while (j < a->len && ascii_lower(in[i + j]) == (uint8_t)a->key[j])
            j++;
        if (j == a->len)
            return;
    }
    FUZZ_ASSERT_MSG(0, "key \"%s\" does not occur in the input", a->key);
}

static void check_idempotent(const struct answer *a)
{
    char buf[KEY_CAP + 2];
    size_t n = a->len;
    struct answer again;
    if (strchr(a->key, ':')) {
        buf[0] = '[';
        memcpy(buf + 1, a->key, n);
        buf[n + 1] = ']';
        again = normalize((const uint8_t *)buf, n + 2);
    } else {
        again = normalize((const uint8_t *)a->key, n);
    }
    FUZZ_ASSERT_MSG(again.rc == TENREG_OK, "key \"%s\" does not normalize again (rc %d)",
                    a->key, again.rc);
    FUZZ_ASSERT_MSG(again.len == n && memcmp(again.key, a->key, n) == 0,
                    "key \"%s\" normalizes to \"%s\"", a->key, again.key);
}

static void check_caps(const struct answer *a, const uint8_t *in, size_t len)
{
    if (a->rc != TENREG_OK) {
        /* No key at all: no buffer size turns that into ENOSPC or 0. */
        static const size_t caps[] = {0, 1, 2, KEY_CAP + 100};
        for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
            struct answer b = normalize_cap(in, len, caps[i]);
            FUZZ_ASSERT_MSG(b.rc == a->rc, "cap %zu: rc %d, with room rc %d", caps[i], b.rc,
                            a->rc);
        }
        return;
    }
    const size_t caps[] = {0, 1, a->len, a->len + 1, KEY_CAP, KEY_CAP + 100};
    for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
        struct answer b = normalize_cap(in, len, caps[i]);
        if (caps[i] <= a->len) {
            FUZZ_ASSERT_MSG(b.rc == TENREG_ENOSPC, "cap %zu, key length %zu: rc %d", caps[i],
                            a->len, b.rc);
        } else {
            assert_same(a, &b, "larger cap");
        }
    }
    /* *out_len is optional. */
    char out[KEY_CAP];
    uint8_t *copy = xmalloc(len);
    if (len)
        memcpy(copy, in, len);
    int rc = tenreg_normalize_host((const char *)copy, len, out, sizeof(out), NULL);
    free(copy);
    FUZZ_ASSERT_MSG(rc == TENREG_OK && strcmp(out, a->key) == 0, "out_len NULL: rc %d", rc);
}

/* Bytes past len must not matter: same call with garbage behind the input. */
static void check_bounded(const struct answer *a, const uint8_t *in, size_t len)
{
    static const char tails[][12] = {"x.y:80/", "\0", "]:1@a.b", ". \t", "%41", "Q"};
    for (size_t t = 0; t < sizeof(tails) / sizeof(tails[0]); t++) {
        size_t tl = t == 1 ? 1 : strlen(tails[t]);
        uint8_t *buf = xmalloc(len + tl);
        if (len)
            memcpy(buf, in, len);
        memcpy(buf + len, tails[t], tl);
        char out[KEY_CAP];
        size_t olen = 0;
        int rc = tenreg_normalize_host((const char *)buf, len, out, sizeof(out), &olen);
        free(buf);
        FUZZ_ASSERT_MSG(rc == a->rc, "tail %zu changes rc %d -> %d", t, a->rc, rc);
        if (rc == TENREG_OK)
            FUZZ_ASSERT_MSG(olen == a->len && strcmp(out, a->key) == 0,
                            "tail %zu changes key \"%s\" -> \"%s\"", t, a->key, out);
    }
}

/* CR, LF, NUL, other controls, DEL and inner blanks never get through. */
static void check_smuggling(const struct answer *a, const uint8_t *in, size_t len)
{
    size_t b = 0, e = len;
    while (b < e && is_blank(in[b]))
        b++;
    while (e > b && is_blank(in[e - 1]))
        e--;
    if (b == e) {
        FUZZ_ASSERT_MSG(a->rc == TENREG_EINVAL, "blank input gave rc %d", a->rc);
        return;
    }
    for (size_t i = b; i < e; i++) {
        if (in[i] <= 0x20 || in[i] == 0x7F) {
            FUZZ_ASSERT_MSG(a->rc == TENREG_EINVAL, "byte 0x%02x at %zu accepted as \"%s\"",
                            in[i], i, a->key);
            return;
        }
    }
}

static void check_metamorphic(const struct answer *a, const uint8_t *in, size_t len)
{
    uint8_t *buf = xmalloc(len + 8);

    /* More surrounding blanks are trimmed the same way. */
    memcpy(buf, " \t ", 3);
    if (len)
        memcpy(buf + 3, in, len);
    memcpy(buf + 3 + len, "\t ", 2);
    struct answer b = normalize(buf, len + 5);
    assert_same(a, &b, "surrounding blanks");

    /* Scheme, IPv6 hex, port digits, dropped parts: all case-blind. */
    for (size_t i = 0; i < len; i++)
        buf[i] = ascii_upper(in[i]);
    b = normalize(buf, len);
    assert_same(a, &b, "upper-cased");
    for (size_t i = 0; i < len; i++)
        buf[i] = ascii_lower(in[i]);
    b = normalize(buf, len);
    assert_same(a, &b, "lower-cased");

    /* A userinfo in front changes nothing when there is no scheme: the host
     * still starts after the last '@' of the authority. */
    int scheme = 0;
    for (size_t i = 0; i + 3 <= len; i++)
        if (memcmp(in + i, "://", 3) == 0)
            scheme = 1;
    if (!scheme && len > 0 && !is_blank(in[0])) {
        memcpy(buf, "u:p@", 4);
        memcpy(buf + 4, in, len);
        b = normalize(buf, len + 4);
        assert_same(a, &b, "\"u:p@\" prefix");
    }
    free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > MAX_INPUT)
        return 0;
    struct answer a = normalize(data, size);
    FUZZ_ASSERT_MSG(a.rc != TENREG_ENOSPC, "ENOSPC with a %d-byte buffer", KEY_CAP);
    struct answer r = ref_normalize(data, size);
    FUZZ_ASSERT_MSG(a.rc == r.rc && (a.rc != TENREG_OK || strcmp(a.key, r.key) == 0),
                    "tenreg: %s \"%s\"; docs/design.md §4 reference: %s \"%s\"",
                    tenreg_err_name(a.rc), a.key, tenreg_err_name(r.rc), r.key);
    check_smuggling(&a, data, size);
    if (a.rc == TENREG_OK) {
        check_key_shape(&a);
        check_key_in_input(&a, data, size);
        check_idempotent(&a);
    }
    check_caps(&a, data, size);
    check_bounded(&a, data, size);
    check_metamorphic(&a, data, size);

    /* NULL arguments are EINVAL, never a crash. */
    char out[KEY_CAP];
    FUZZ_ASSERT_EQ(tenreg_normalize_host(NULL, size, out, sizeof(out), NULL), TENREG_EINVAL);
    return 0;
}
