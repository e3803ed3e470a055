/*
 * host_key.c - the fast paths of host normalization (docs/design.md §4),
 * and tenreg__host_key, the lookups' entry.
 *
 * Nearly every Host header is a name of up to 63 bytes, with or without
 * ":port", and nothing else (the load benchmark's mix:
 * "T1234.Bid.example:443"). A fast path classifies such an input a vector
 * at a time, stores it lower-cased into the key, and keeps three bit masks
 * (name bytes, dots, digits); the rules of §4 then run on the masks
 * (host_rules). Anything else (blanks, a scheme, userinfo, a path,
 * brackets, a longer name, a port of more than five digits, bytes >= 0x80)
 * answers TENREG__NEEDS_SCAN without a verdict, and normalize.c's scalar
 * scan decides; so a fast path only ever accepts what the scan accepts,
 * with the same key, and rejects only names the scan rejects too.
 *
 * Three fast paths, one picked per process (pick_fast_path), the best the
 * CPU has: AVX-512 (BW, VL) on 256-bit vectors with mask registers, AVX2
 * 32 bytes a time (one group for a host of 16..32 bytes, two up to 64),
 * SSE2 16 at a time (part of x86-64 itself). Other targets have the scan
 * only. TENREG_SIMD=avx2|sse2|scalar in the environment picks a lower one
 * (diagnostics, A/B measurements); test_wb_host_key runs every path
 * against the others.
 *
 * No path reads past @n: AVX-512's loads are masked to the input; for the
 * others inputs under 16 bytes are copied first, and a last partial group
 * is the input's last 16 bytes again (AVX2 above 32 bytes: its last 32),
 * which gives the same bits and stores the same bytes.
 */
#define _GNU_SOURCE /* secure_getenv */

#include "internal.h"
#include "normalize.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FAST_MAX 64
#define LABEL_MAX_LEN 63
#define PORT_MAX 65535u

struct classes {
    uint64_t name;  /* [A-Za-z0-9._-] */
    uint64_t dot;   /* '.' */
    uint64_t digit; /* [0-9] */
};

/*
 * The rules of §4 on the masks of @p[0..@n), 0 < @n <= FAST_MAX. Only a
 * port may follow the name: ':' and at most five digits, at most 65535; a
 * name of at most 63 bytes needs no label count; the dots give the
 * empty-label, leading-dot and one-trailing-dot rules.
 */
static inline __attribute__((always_inline)) int host_rules(const unsigned char *p, size_t n,
                                                            const struct classes *c,
                                                            size_t *key_len)
{
    uint64_t valid = n == 64 ? ~(uint64_t)0 : ((uint64_t)1 << n) - 1;
    uint64_t special = ~c->name & valid;
    size_t name_n = n;
    if (special) {
        size_t colon = (size_t)__builtin_ctzll(special);
        size_t port_n = n - colon - 1;
        /* Bits colon+1 .. n-1 (none when the colon is byte 63). */
        uint64_t port = valid & ~(((uint64_t)2 << colon) - 1);
        if (p[colon] != ':' || port_n > 5 || (c->digit & port) != port)
            return TENREG__NEEDS_SCAN; /* a scheme's "//", userinfo, a path */
        if (port_n == 5) { /* only five digits can pass 65535 */
            unsigned v = 0;
            for (size_t i = colon + 1; i < n; i++)
                v = v * 10 + (unsigned)(p[i] - '0');
            if (v > PORT_MAX)
                return TENREG_EINVAL;
        }
        name_n = colon;
    }
    if (name_n == 0)
        return TENREG_EINVAL;
    if (name_n > LABEL_MAX_LEN)
        return TENREG__NEEDS_SCAN; /* its labels need counting */
    uint64_t dots = c->dot & (((uint64_t)1 << name_n) - 1);
    if ((dots >> (name_n - 1)) & 1) { /* fold one trailing dot, never two */
        dots &= ~((uint64_t)1 << --name_n);
        if (name_n == 0 || ((dots >> (name_n - 1)) & 1))
            return TENREG_EINVAL;
    }
    if ((dots & 1) || (dots & (dots >> 1))) /* a leading dot, an empty label */
        return TENREG_EINVAL;
    *key_len = name_n;
    return 0;
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define HAVE_FAST_PATHS 1

/* Signed-compare form of lo <= x <= hi for bytes: x - lo - 128 wraps the
 * range onto -128 .. -128 + (hi - lo), which is < -128 + (hi - lo + 1). */
static inline __m128i in_range16(__m128i x, int lo, int hi)
{
    __m128i t = _mm_add_epi8(x, _mm_set1_epi8((char)(-lo - 128)));
    return _mm_cmplt_epi8(t, _mm_set1_epi8((char)(-128 + (hi - lo + 1))));
}

/* Bytes @p[0..16) at bit @at of @c, lower-cased into @key[0..16). */
static inline void classify16(const unsigned char *p, unsigned char *key, unsigned at,
                              struct classes *c)
{
    __m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
    __m128i case_bit = _mm_set1_epi8(0x20);
    /* A letter of either case is a lower-case letter once 0x20 is set. */
    __m128i alpha = in_range16(_mm_or_si128(x, case_bit), 'a', 'z');
    __m128i digit = in_range16(x, '0', '9');
    __m128i dot = _mm_cmpeq_epi8(x, _mm_set1_epi8('.'));
    __m128i other = _mm_or_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8('-')),
                                 _mm_cmpeq_epi8(x, _mm_set1_epi8('_')));
    __m128i name = _mm_or_si128(_mm_or_si128(alpha, digit), _mm_or_si128(dot, other));
    _mm_storeu_si128((__m128i *)(void *)key, _mm_or_si128(x, _mm_and_si128(alpha, case_bit)));
    c->name |= (uint64_t)(unsigned)_mm_movemask_epi8(name) << at;
    c->dot |= (uint64_t)(unsigned)_mm_movemask_epi8(dot) << at;
    c->digit |= (uint64_t)(unsigned)_mm_movemask_epi8(digit) << at;
}

/* Inputs of 1..15 bytes, for either path: copied to a zeroed group first
 * (out of line: the stack buffer would cost every longer input a frame). */
__attribute__((noinline)) static int fast_host_short(const unsigned char *p, size_t n, char *key,
                                                     size_t *key_len)
{
    struct classes c = {0, 0, 0};
    unsigned char tmp[16] = {0};
    memcpy(tmp, p, n);
    classify16(tmp, (unsigned char *)key, 0, &c);
    return host_rules(p, n, &c, key_len);
}

/* A fast path's inputs go by size: 16..64 bytes to the vector code, which
 * calls nothing (so it needs no stack frame), 1..15 to fast_host_short. */
static inline bool in_vector_range(size_t n)
{
    return n - 16 <= FAST_MAX - 16; /* wraps for n < 16 */
}

/* SSE2, 16 <= @n <= FAST_MAX. @key: room for FAST_MAX bytes; not
 * NUL-terminated. */
static inline __attribute__((always_inline)) int fast_host_sse2(const unsigned char *p, size_t n,
                                                                char *key, size_t *key_len)
{
    struct classes c = {0, 0, 0};
    unsigned char *k = (unsigned char *)key;
    size_t i = 0;
    for (; i + 16 <= n; i += 16)
        classify16(p + i, k + i, (unsigned)i, &c);
    if (i < n) /* the last 16 bytes, overlapping: same bits, same bytes */
        classify16(p + n - 16, k + n - 16, (unsigned)(n - 16), &c);
    return host_rules(p, n, &c, key_len);
}

#define AVX2 __attribute__((target("avx2")))

/* classify32's constants, each byte repeated 32 times. They are read
 * through a pointer the compiler cannot see through (the empty asm in
 * classify32): knowing the values, GCC 12 builds each one on every call
 * from a general register (mov, vmovd, vpbroadcastb), 24 instructions a
 * group where a memory operand costs none. */
enum {
    C_CASE, C_ALPHA_ADD, C_ALPHA_LT, C_DIGIT_ADD, C_DIGIT_LT, C_DOT, C_DASH, C_UNDERSCORE,
    C_LOWER_A, C_26, C_ZERO, C_10, /* AVX-512's unsigned compares: x - lo < hi - lo + 1 */
    C_N
};
#define REP32(b)                                                                                   \
    {b, b, b, b, b, b, b, b, b, b, b, b, b, b, b, b, b, b, b, b, b, b, b, b, b, b, b, b, b, b, b, b}
static const unsigned char consts32[C_N][32] __attribute__((aligned(32))) = {
    [C_CASE] = REP32(0x20),
    [C_ALPHA_ADD] = REP32((unsigned char)(-'a' - 128)),
    [C_ALPHA_LT] = REP32((unsigned char)(-128 + 26)),
    [C_DIGIT_ADD] = REP32((unsigned char)(-'0' - 128)),
    [C_DIGIT_LT] = REP32((unsigned char)(-128 + 10)),
    [C_DOT] = REP32('.'),
    [C_DASH] = REP32('-'),
    [C_UNDERSCORE] = REP32('_'),
    [C_LOWER_A] = REP32('a'),
    [C_26] = REP32(26),
    [C_ZERO] = REP32('0'),
    [C_10] = REP32(10),
};

/* The masks of the 32 bytes @x, which are to go at @key: the same
 * classification as classify16's, 32 bytes at a time. */
struct masks32 {
    uint32_t name, dot, digit;
};

AVX2 static inline struct masks32 classify32(__m256i x, __m256i *lower)
{
    const __m256i *k = (const __m256i *)(const void *)consts32;
    __asm__("" : "+r"(k));
    __m256i case_bit = k[C_CASE];
    /* lo <= x <= hi as in in_range16: x - lo - 128 < -128 + (hi - lo + 1). */
    __m256i folded = _mm256_or_si256(x, case_bit);
    __m256i alpha = _mm256_cmpgt_epi8(k[C_ALPHA_LT], _mm256_add_epi8(folded, k[C_ALPHA_ADD]));
    __m256i digit = _mm256_cmpgt_epi8(k[C_DIGIT_LT], _mm256_add_epi8(x, k[C_DIGIT_ADD]));
    __m256i dot = _mm256_cmpeq_epi8(x, k[C_DOT]);
    __m256i other = _mm256_or_si256(_mm256_cmpeq_epi8(x, k[C_DASH]),
                                    _mm256_cmpeq_epi8(x, k[C_UNDERSCORE]));
    __m256i name = _mm256_or_si256(_mm256_or_si256(alpha, digit), _mm256_or_si256(dot, other));
    *lower = _mm256_or_si256(x, _mm256_and_si256(alpha, case_bit));
    struct masks32 m = {(uint32_t)_mm256_movemask_epi8(name), (uint32_t)_mm256_movemask_epi8(dot),
                        (uint32_t)_mm256_movemask_epi8(digit)};
    return m;
}

/* AVX2. The same contract as fast_host_sse2, 16 <= @n <= FAST_MAX. */
AVX2 static inline __attribute__((always_inline)) int fast_host_avx2(const unsigned char *p,
                                                                     size_t n, char *key,
                                                                     size_t *key_len)
{
    struct classes c;
    __m256i lower;
    if (n <= 32) {
        /* One group: bytes 0..15 in the low half, the last 16 in the high
         * half (the same bytes twice when n < 32). */
        size_t hi_at = n - 16;
        __m256i x = _mm256_setr_m128i(_mm_loadu_si128((const __m128i *)(const void *)p),
                                      _mm_loadu_si128((const __m128i *)(const void *)(p + hi_at)));
        struct masks32 m = classify32(x, &lower);
        _mm_storeu_si128((__m128i *)(void *)key, _mm256_castsi256_si128(lower));
        _mm_storeu_si128((__m128i *)(void *)(key + hi_at), _mm256_extracti128_si256(lower, 1));
        c.name = (m.name & 0xffff) | (uint64_t)(m.name >> 16) << hi_at;
        c.dot = (m.dot & 0xffff) | (uint64_t)(m.dot >> 16) << hi_at;
        c.digit = (m.digit & 0xffff) | (uint64_t)(m.digit >> 16) << hi_at;
    } else {
        /* Bytes 0..31 and the last 32, overlapping. */
        size_t hi_at = n - 32;
        __m256i lower_hi;
        struct masks32 a = classify32(_mm256_loadu_si256((const __m256i *)(const void *)p), &lower);
        struct masks32 b = classify32(
            _mm256_loadu_si256((const __m256i *)(const void *)(p + hi_at)), &lower_hi);
        _mm256_storeu_si256((__m256i *)(void *)key, lower);
        _mm256_storeu_si256((__m256i *)(void *)(key + hi_at), lower_hi);
        c.name = a.name | (uint64_t)b.name << hi_at;
        c.dot = a.dot | (uint64_t)b.dot << hi_at;
        c.digit = a.digit | (uint64_t)b.digit << hi_at;
    }
    return host_rules(p, n, &c, key_len);
}

/* tenreg__fast_host's call into the AVX2 path: a function of another
 * target cannot be inlined into a generic one. */
AVX2 static int fast_host_avx2_call(const unsigned char *p, size_t n, char *key, size_t *key_len)
{
    return fast_host_avx2(p, n, key, key_len);
}

/*
 * AVX-512 (BW and VL) on 256-bit vectors: masked loads read exactly the
 * input's bytes (masked-off bytes are never touched, so no copy for short
 * inputs and no overlapping group), and the compares write mask registers
 * directly. Two groups
 * always, the second empty (mask 0) up to 32 bytes: a branch on the length
 * would be mispredicted half the time on a real Host mix. 256-bit, not
 * 512: on Skylake-SP and its successors any 512-bit instruction lowers
 * the core's clock for every thread on it for a while; 256-bit light
 * instructions do not.
 */
#define AVX512 __attribute__((target("avx2,bmi2,avx512f,avx512bw,avx512vl")))

AVX512 static inline void classify32_k(const unsigned char *p, __mmask32 in, char *key,
                                       const __m256i *k, struct classes *c, unsigned at)
{
    __m256i x = _mm256_maskz_loadu_epi8(in, p);
    __m256i folded = _mm256_or_si256(x, k[C_CASE]); /* a letter of either case, lower */
    __mmask32 alpha = _mm256_cmplt_epu8_mask(_mm256_sub_epi8(folded, k[C_LOWER_A]), k[C_26]);
    __mmask32 digit = _mm256_cmplt_epu8_mask(_mm256_sub_epi8(x, k[C_ZERO]), k[C_10]);
    __mmask32 dot = _mm256_cmpeq_epi8_mask(x, k[C_DOT]);
    __mmask32 other =
        _mm256_cmpeq_epi8_mask(x, k[C_DASH]) | _mm256_cmpeq_epi8_mask(x, k[C_UNDERSCORE]);
    /* All 32 bytes (zeros past the input; @key has room for FAST_MAX):
     * a masked store would not forward to the hash's loads of the key. */
    _mm256_storeu_si256((__m256i *)(void *)key, _mm256_mask_mov_epi8(x, alpha, folded));
    c->name |= (uint64_t)(alpha | digit | dot | other) << at;
    c->dot |= (uint64_t)dot << at;
    c->digit |= (uint64_t)digit << at;
}

/* AVX-512. The same contract as fast_host_sse2, for 1 <= @n <= FAST_MAX. */
AVX512 static inline __attribute__((always_inline)) int fast_host_avx512(const unsigned char *p,
                                                                         size_t n, char *key,
                                                                         size_t *key_len)
{
    const __m256i *k = (const __m256i *)(const void *)consts32;
    __asm__("" : "+r"(k)); /* memory operands: see consts32 */
    uint64_t in = _bzhi_u64(~(uint64_t)0, (unsigned)n);
    struct classes c = {0, 0, 0};
    classify32_k(p, (__mmask32)in, key, k, &c, 0);
    /* Up to 32 bytes the second group's mask is 0 and its address p
     * itself: p + 32 would point past the input. */
    classify32_k(p + (n > 32 ? 32 : 0), (__mmask32)(in >> 32), key + 32, k, &c, 32);
    return host_rules(p, n, &c, key_len);
}

AVX512 static int fast_host_avx512_call(const unsigned char *p, size_t n, char *key,
                                        size_t *key_len)
{
    return fast_host_avx512(p, n, key, key_len);
}
#endif /* x86-64 */

#ifndef HAVE_FAST_PATHS
#define HAVE_FAST_PATHS 0
#endif

/* Which fast path runs; written by pick_fast_path before any lookup and by
 * test_wb_host_key between its cases, so relaxed is enough. */
static _Atomic int fast_path = TENREG__FAST_SCALAR;

static bool cpu_has(int path)
{
#if HAVE_FAST_PATHS
    __builtin_cpu_init();
    /* Every extension the path's target attribute enables. */
    if (path == TENREG__FAST_AVX512)
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
               __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("bmi2") &&
               __builtin_cpu_supports("avx2");
    if (path == TENREG__FAST_AVX2)
        return __builtin_cpu_supports("avx2");
    return path == TENREG__FAST_SSE2 || path == TENREG__FAST_SCALAR;
#else
    return path == TENREG__FAST_SCALAR;
#endif
}

__attribute__((constructor)) static void pick_fast_path(void)
{
    int path = TENREG__FAST_AVX512;
    const char *want = secure_getenv("TENREG_SIMD");
    if (want && strcmp(want, "avx2") == 0)
        path = TENREG__FAST_AVX2;
    else if (want && strcmp(want, "sse2") == 0)
        path = TENREG__FAST_SSE2;
    else if (want && strcmp(want, "scalar") == 0)
        path = TENREG__FAST_SCALAR;
    while (!cpu_has(path))
        path--;
    atomic_store_explicit(&fast_path, path, memory_order_relaxed);
}

int tenreg__fast_path_select(int path)
{
    if (path < TENREG__FAST_SCALAR || path > TENREG__FAST_AVX512 || !cpu_has(path))
        return -1;
    return atomic_exchange_explicit(&fast_path, path, memory_order_relaxed);
}

int tenreg__fast_host(const unsigned char *p, size_t n, char key[FAST_MAX], size_t *key_len)
{
#if HAVE_FAST_PATHS
    int path = atomic_load_explicit(&fast_path, memory_order_relaxed);
    if (path == TENREG__FAST_AVX512)
        return n > 0 && n <= FAST_MAX ? fast_host_avx512_call(p, n, key, key_len)
                                      : TENREG__NEEDS_SCAN;
    if (path != TENREG__FAST_SCALAR) {
        if (!in_vector_range(n))
            return n > 0 && n < 16 ? fast_host_short(p, n, key, key_len) : TENREG__NEEDS_SCAN;
        if (path == TENREG__FAST_AVX2)
            return fast_host_avx2_call(p, n, key, key_len);
        return fast_host_sse2(p, n, key, key_len);
    }
#endif
    (void)p;
    (void)n;
    (void)key;
    (void)key_len;
    return TENREG__NEEDS_SCAN;
}

/* The general path, out of line, and every caller's tail call, so that the
 * fast paths keep no registers across it. */
__attribute__((noinline)) static int host_key_scan(const unsigned char *s, size_t len, char *key,
                                                   size_t *key_len)
{
    int rc = tenreg__normalize_scan(s, len, key, TENREG_HOST_KEY_MAX + 1, key_len);
    return rc == TENREG_ENOSPC ? TENREG_EINVAL : rc;
}

#if HAVE_FAST_PATHS
/* Inputs outside the vector range: the short path, or the scan. */
__attribute__((noinline)) static int host_key_edge(const unsigned char *s, size_t len, char *key,
                                                   size_t *key_len)
{
    if (len > 0 && len < 16) {
        int rc = fast_host_short(s, len, key, key_len);
        if (rc != TENREG__NEEDS_SCAN)
            return rc;
    }
    return host_key_scan(s, len, key, key_len);
}

/* The lookups' entries, one per fast path. */
AVX512 static int host_key_avx512(const unsigned char *s, size_t len, char *key, size_t *key_len)
{
    if (TENREG__UNLIKELY(len - 1 >= FAST_MAX)) /* 0, or over 64 */
        return host_key_scan(s, len, key, key_len);
    int rc = fast_host_avx512(s, len, key, key_len);
    if (TENREG__UNLIKELY(rc == TENREG__NEEDS_SCAN))
        return host_key_scan(s, len, key, key_len);
    return rc;
}

AVX2 static int host_key_avx2(const unsigned char *s, size_t len, char *key, size_t *key_len)
{
    if (TENREG__UNLIKELY(!in_vector_range(len)))
        return host_key_edge(s, len, key, key_len);
    int rc = fast_host_avx2(s, len, key, key_len);
    if (TENREG__UNLIKELY(rc == TENREG__NEEDS_SCAN))
        return host_key_scan(s, len, key, key_len);
    return rc;
}

__attribute__((noinline)) static int host_key_sse2(const unsigned char *s, size_t len, char *key,
                                                   size_t *key_len)
{
    if (TENREG__UNLIKELY(!in_vector_range(len)))
        return host_key_edge(s, len, key, key_len);
    int rc = fast_host_sse2(s, len, key, key_len);
    if (TENREG__UNLIKELY(rc == TENREG__NEEDS_SCAN))
        return host_key_scan(s, len, key, key_len);
    return rc;
}
#endif

int tenreg__host_key(const char *in, size_t len, char key[TENREG_HOST_KEY_MAX + 1], size_t *key_len)
{
    if (in == NULL)
        return TENREG_EINVAL;
    const unsigned char *s = (const unsigned char *)in;
#if HAVE_FAST_PATHS
    switch (atomic_load_explicit(&fast_path, memory_order_relaxed)) {
    case TENREG__FAST_AVX512:
        return host_key_avx512(s, len, key, key_len);
    case TENREG__FAST_AVX2:
        return host_key_avx2(s, len, key, key_len);
    case TENREG__FAST_SSE2:
        return host_key_sse2(s, len, key, key_len);
    default:
        break;
    }
#endif
    return host_key_scan(s, len, key, key_len);
}
