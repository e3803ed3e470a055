/*
 * The keyed hash (white-box, src/hash.c): tenreg__hash is SipHash-1-3, the
 * same value as a plain byte-at-a-time reference written from the paper
 * below (itself checked against the paper's SipHash-2-4 values), for
 * every length 0..300 under random keys and at every alignment,
 * its input ending at a PROT_NONE page (its last block is read as the
 * input's last 8 bytes, never past them); tenreg__hash2 gives both of its
 * inputs' tenreg__hash values, for every pair of lengths 0..80.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "internal.h"
#include "test_support.h"

static uint64_t rng = 0x243f6a8885a308d3ULL;

static uint64_t next(void)
{
    return tt_xorshift(&rng);
}

static uint64_t rotl(uint64_t x, int b)
{
    return (x << b) | (x >> (64 - b));
}

static void round_(uint64_t v[4])
{
    v[0] += v[1];
    v[1] = rotl(v[1], 13);
    v[1] ^= v[0];
    v[0] = rotl(v[0], 32);
    v[2] += v[3];
    v[3] = rotl(v[3], 16);
    v[3] ^= v[2];
    v[0] += v[3];
    v[3] = rotl(v[3], 21);
    v[3] ^= v[0];
    v[2] += v[1];
    v[1] = rotl(v[1], 17);
    v[1] ^= v[2];
    v[2] = rotl(v[2], 32);
}

/* SipHash-c-d (Aumasson and Bernstein, "SipHash: a fast short-input PRF",
 * 2012, §2): the message as 64-bit little-endian words, the last one
 * holding the remaining bytes and the length mod 256 in its top byte;
 * built byte by byte, sharing nothing with hash.c. reference_is_siphash
 * checks it against the paper's published SipHash-2-4 values, so a
 * constant or a rotation copied wrong into both would not go unseen. */
static uint64_t reference(int c, int d, uint64_t k0, uint64_t k1, const unsigned char *m,
                          size_t len)
{
    uint64_t v[4] = {k0 ^ 0x736f6d6570736575ULL, k1 ^ 0x646f72616e646f6dULL,
                     k0 ^ 0x6c7967656e657261ULL, k1 ^ 0x7465646279746573ULL};
    for (size_t w = 0; w <= len / 8; w++) {
        uint64_t word = 0;
        for (size_t j = 0; j < 8; j++) {
            size_t i = w * 8 + j;
            uint64_t byte = i < len ? m[i] : 0;
            if (w == len / 8 && j == 7)
                byte = (uint64_t)(len & 0xff);
            word |= byte << (8 * j);
        }
        v[3] ^= word;
        for (int r = 0; r < c; r++)
            round_(v);
        v[0] ^= word;
    }
    v[2] ^= 0xff;
    for (int r = 0; r < d; r++)
        round_(v);
    return v[0] ^ v[1] ^ v[2] ^ v[3];
}

static uint64_t sip13(uint64_t k0, uint64_t k1, const unsigned char *m, size_t len)
{
    return reference(1, 3, k0, k1, m, len);
}

/* @len random bytes ending at the guard page. */
static const unsigned char *at_guard(struct tt_guard *g, size_t len)
{
    unsigned char bytes[320];
    cr_assert_leq(len, sizeof(bytes));
    for (size_t i = 0; i < len; i++)
        bytes[i] = (unsigned char)next();
    return (const unsigned char *)tt_guard_place(g, bytes, len);
}

/* The reference against SipHash-2-4's published values (the paper's
 * Appendix A and its reference code's first vectors): key 00 01 .. 0f,
 * message 00 01 .. (len - 1). */
Test(hash, reference_is_siphash)
{
    const uint64_t k0 = 0x0706050403020100ULL, k1 = 0x0f0e0d0c0b0a0908ULL;
    unsigned char m[15];
    for (size_t i = 0; i < sizeof(m); i++)
        m[i] = (unsigned char)i;
    cr_assert_eq(reference(2, 4, k0, k1, m, 0), 0x726fdb47dd0e0e31ULL);
    cr_assert_eq(reference(2, 4, k0, k1, m, 1), 0x74f839c593dc67fdULL);
    cr_assert_eq(reference(2, 4, k0, k1, m, 15), 0xa129ca6149be45e5ULL);
}

Test(hash, is_siphash_1_3, .timeout = 60)
{
    struct tt_guard g = tt_guard_new();
    for (int k = 0; k < 64; k++) {
        struct tenreg__hash_key key = {next(), next()};
        for (size_t len = 0; len <= 300; len++) {
            const unsigned char *m = at_guard(&g, len);
            uint64_t want = sip13(key.k0, key.k1, m, len);
            cr_assert_eq(tenreg__hash(&key, m, len), want, "key %d, length %zu", k, len);
        }
    }
    /* Every alignment of the same bytes: the loads are unaligned-safe. */
    struct tenreg__hash_key key = {1, 2};
    unsigned char buf[64 + 8];
    for (size_t i = 0; i < sizeof(buf); i++)
        buf[i] = (unsigned char)next();
    for (size_t off = 0; off < 8; off++)
        for (size_t len = 0; len <= 64; len++)
            cr_assert_eq(tenreg__hash(&key, buf + off, len),
                         sip13(key.k0, key.k1, buf + off, len), "offset %zu, length %zu",
                         off, len);
    tt_guard_free(&g);
}

Test(hash, pairs_hash_as_one, .timeout = 60)
{
    struct tt_guard ga = tt_guard_new(), gb = tt_guard_new();
    for (int k = 0; k < 4; k++) {
        struct tenreg__hash_key key = {next(), next()};
        for (size_t la = 0; la <= 80; la++) {
            for (size_t lb = 0; lb <= 80; lb++) {
                const unsigned char *a = at_guard(&ga, la), *b = at_guard(&gb, lb);
                uint64_t h[2] = {0, 0};
                tenreg__hash2(&key, a, la, b, lb, h);
                cr_assert_eq(h[0], tenreg__hash(&key, a, la), "lengths %zu, %zu: first", la, lb);
                cr_assert_eq(h[1], tenreg__hash(&key, b, lb), "lengths %zu, %zu: second", la,
                             lb);
            }
        }
    }
    /* The same input twice, and two equal keys at different addresses. */
    struct tenreg__hash_key key = {7, 9};
    const char *s = "t1234.bid.example";
    uint64_t h[2];
    char copy[32];
    strcpy(copy, s);
    tenreg__hash2(&key, s, strlen(s), copy, strlen(copy), h);
    cr_expect_eq(h[0], h[1]);
    tenreg__hash2(&key, s, strlen(s), s, strlen(s), h);
    cr_expect_eq(h[0], h[1]);
    cr_expect_eq(h[0], sip13(7, 9, (const unsigned char *)s, strlen(s)));
    tt_guard_free(&ga);
    tt_guard_free(&gb);
}
