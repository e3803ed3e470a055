/*
 * hash.c - keyed hash of host keys and tenant ids.
 *
 * Host headers are chosen by whoever sends the request. With an unkeyed
 * hash an attacker can pick thousands of hosts that share one bucket chain
 * and turn every lookup into a list walk. SipHash-1-3 with a per-registry
 * random key makes bucket collisions unpredictable from outside. Where the
 * key is known (a fixed tenreg_config.hash_seed), the tables bound probe
 * lengths themselves and re-key with fresh kernel randomness (table.c).
 *
 * Why SipHash and not a faster hash: the faster keyed hashes in use
 * (wyhash, xxh3, gxhash) have published collisions that do not depend on
 * the seed, so their key protects nothing against a chosen Host header;
 * SipHash is a PRF with no such attack known. It costs ~142 instructions
 * for a 17-byte key (callgrind, bench/hotpath.c), less than half of what
 * normalization cost before its fast path, and the two together are 243
 * per lookup now (278 with the SSE2 normalizer instead of AVX2's); the
 * one-round SipHash-1-3 rather than 2-4 is the variant Rust's and
 * Python's hash tables chose for the same job.
 */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

static inline uint64_t rotl(uint64_t x, int b)
{
    return (x << b) | (x >> (64 - b));
}

static inline uint64_t load_le64(const unsigned char *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof(v));
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    return v;
}

#define SIPROUND(v0, v1, v2, v3)                                          \
    do {                                                                  \
        v0 += v1; v1 = rotl(v1, 13); v1 ^= v0; v0 = rotl(v0, 32);         \
        v2 += v3; v3 = rotl(v3, 16); v3 ^= v2;                            \
        v0 += v3; v3 = rotl(v3, 21); v3 ^= v0;                            \
        v2 += v1; v1 = rotl(v1, 17); v1 ^= v2; v2 = rotl(v2, 32);         \
    } while (0)

/* One SipHash-1-3 computation in flight. */
struct sip {
    uint64_t v0, v1, v2, v3;
};

static inline __attribute__((always_inline)) struct sip sip_init(const struct tenreg__hash_key *key)
{
    struct sip s = {key->k0 ^ 0x736f6d6570736575ULL, key->k1 ^ 0x646f72616e646f6dULL,
                    key->k0 ^ 0x6c7967656e657261ULL, key->k1 ^ 0x7465646279746573ULL};
    return s;
}

static inline __attribute__((always_inline)) void sip_block(struct sip *s, uint64_t m)
{
    s->v3 ^= m;
    SIPROUND(s->v0, s->v1, s->v2, s->v3);
    s->v0 ^= m;
}

/*
 * The last block of the @len bytes at @data: their len & 7 last bytes and
 * the length. Where there are 8 bytes or more, the input's last 8 bytes
 * shifted down to the tail's (the 1 + (63 - 8r) shift is 64 - 8r without
 * the undefined shift by 64 when r is 0): no branch on the length, whose
 * low bits are all but random from one host to the next, where a switch
 * is an indirect jump mispredicted seven times in eight.
 */
static inline __attribute__((always_inline)) uint64_t sip_last_block(const unsigned char *data,
                                                                     size_t len)
{
    uint64_t b = (uint64_t)len << 56;
    size_t r = len & 7;
    if (TENREG__LIKELY(len >= 8))
        return b | (load_le64(data + len - 8) >> 1 >> (63 - 8 * r));
    const unsigned char *in = data;
    switch (r) {
    case 7: b |= (uint64_t)in[6] << 48; /* fall through */
    case 6: b |= (uint64_t)in[5] << 40; /* fall through */
    case 5: b |= (uint64_t)in[4] << 32; /* fall through */
    case 4: b |= (uint64_t)in[3] << 24; /* fall through */
    case 3: b |= (uint64_t)in[2] << 16; /* fall through */
    case 2: b |= (uint64_t)in[1] << 8;  /* fall through */
    case 1: b |= (uint64_t)in[0];       /* fall through */
    default: break;
    }
    return b;
}

static inline __attribute__((always_inline)) uint64_t sip_finish(struct sip *s)
{
    s->v2 ^= 0xff;
    SIPROUND(s->v0, s->v1, s->v2, s->v3);
    SIPROUND(s->v0, s->v1, s->v2, s->v3);
    SIPROUND(s->v0, s->v1, s->v2, s->v3);
    return s->v0 ^ s->v1 ^ s->v2 ^ s->v3;
}

uint64_t tenreg__hash(const struct tenreg__hash_key *key, const void *data, size_t len)
{
    const unsigned char *in = data;
    const unsigned char *end = in + (len & ~(size_t)7);
    struct sip s = sip_init(key);

    for (; in != end; in += 8)
        sip_block(&s, load_le64(in));
    sip_block(&s, sip_last_block(data, len));
    return sip_finish(&s);
}

/*
 * Each SipHash round depends on the one before, so one hash leaves most of
 * a wide core idle; two independent ones, their rounds interleaved in one
 * instruction stream, run side by side in about the time of one. The
 * values are tenreg__hash's.
 */
void tenreg__hash2(const struct tenreg__hash_key *key, const void *a, size_t alen, const void *b,
                   size_t blen, uint64_t out[2])
{
    const unsigned char *pa = a, *pb = b;
    const unsigned char *ea = pa + (alen & ~(size_t)7), *eb = pb + (blen & ~(size_t)7);
    struct sip sa = sip_init(key), sb = sa;

    while (pa != ea && pb != eb) {
        sip_block(&sa, load_le64(pa));
        sip_block(&sb, load_le64(pb));
        pa += 8;
        pb += 8;
    }
    for (; pa != ea; pa += 8)
        sip_block(&sa, load_le64(pa));
    for (; pb != eb; pb += 8)
        sip_block(&sb, load_le64(pb));
    sip_block(&sa, sip_last_block(a, alen));
    sip_block(&sb, sip_last_block(b, blen));
    sa.v2 ^= 0xff;
    sb.v2 ^= 0xff;
    for (int r = 0; r < 3; r++) {
        SIPROUND(sa.v0, sa.v1, sa.v2, sa.v3);
        SIPROUND(sb.v0, sb.v1, sb.v2, sb.v3);
    }
    out[0] = sa.v0 ^ sa.v1 ^ sa.v2 ^ sa.v3;
    out[1] = sb.v0 ^ sb.v1 ^ sb.v2 ^ sb.v3;
}

static uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Fills @buf from /dev/urandom (kernels without getrandom, or where a
 * seccomp policy refuses the syscall). Returns whether all of it came. */
static bool read_urandom(void *buf, size_t len)
{
    int fd;
    do {
        fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC | O_NOCTTY);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0)
        return false;
    unsigned char *p = buf;
    while (len > 0) {
        ssize_t got = read(fd, p, len);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            break;
        p += got;
        len -= (size_t)got;
    }
    close(fd);
    return len == 0;
}

/* Fills @buf with kernel randomness: getrandom (retried on EINTR and on a
 * short read), else /dev/urandom. There is deliberately no fallback past
 * that: a clock or an address is guessable, and an attacker who can guess
 * the key can flood one probe sequence (docs/design.md §5). */
static bool kernel_random(void *buf, size_t len)
{
    unsigned char *p = buf;
    while (len > 0) {
        ssize_t got = getrandom(p, len, 0);
        if (got < 0) {
            if (errno == EINTR)
                continue;
            return read_urandom(p, len); /* ENOSYS, EPERM (seccomp), ... */
        }
        p += got;
        len -= (size_t)got;
    }
    return true;
}

int tenreg__hash_key_init(struct tenreg__hash_key *key, uint64_t seed)
{
    if (seed == 0) {
        uint64_t rnd[2];
        if (!kernel_random(rnd, sizeof(rnd)))
            return TENREG_ENOMEM;
        key->k0 = rnd[0];
        key->k1 = rnd[1];
        return TENREG_OK;
    }
    uint64_t state = seed;
    key->k0 = splitmix64(&state);
    key->k1 = splitmix64(&state);
    return TENREG_OK;
}
