/*
 * fnv_collide.h - private to tenreg's hash-flooding test and benchmark:
 * host names that all share one plain (unkeyed) 32-bit FNV-1a value.
 *
 * FNV-1a folds bytes into a 32-bit state, so two strings that reach the same
 * state from the same start stay equal under any common suffix. Pick, for
 * every block position, a pair of 5-letter blocks that collide from the
 * state the previous blocks leave (a birthday search over ~100k candidates,
 * enumerated in a scrambled order: FNV's low bits are structured, and
 * strings that share a long suffix collide far less than random ones);
 * a name is then one choice per position, and 2^BLOCKS names all hash the
 * same: what an attacker who knows the hash can send as Host headers. Dots
 * every 3 blocks keep labels under 63 bytes, and a fixed suffix makes them
 * look like hosts of one site.
 */
#ifndef TENREG_FNV_COLLIDE_H
#define TENREG_FNV_COLLIDE_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FNV_BLOCK 6
#define FNV_MAX_BLOCKS 18 /* names of up to 127 bytes */
#define FNV_SUFFIX ".flood.example"

static inline uint32_t fnv1a32_step(uint32_t h, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 16777619u;
    }
    return h;
}

static inline uint32_t fnv1a32(const char *s, size_t n)
{
    return fnv1a32_step(2166136261u, s, n);
}

struct fnv_pairs {
    unsigned blocks;
    char block[FNV_MAX_BLOCKS][2][FNV_BLOCK + 1];
};

static inline void fnv_block_text(uint32_t n, char out[FNV_BLOCK + 1])
{
    uint64_t v = (uint64_t)n * 0x9E3779B97F4A7C15ull;
    for (int i = 0; i < FNV_BLOCK; i++) {
        out[i] = (char)('a' + v % 26);
        v /= 26;
    }
    out[FNV_BLOCK] = '\0';
}

/* Open-addressed birthday table: state -> candidate index + 1. */
static inline int fnv_find_pair(uint32_t start, char a[FNV_BLOCK + 1], char b[FNV_BLOCK + 1])
{
    const uint32_t size = 1u << 20;
    uint32_t *st = calloc(size, sizeof(uint32_t));
    uint32_t *ix = calloc(size, sizeof(uint32_t));
    int found = 0;
    if (!st || !ix)
        goto out;
    /* A 32-bit collision is expected after ~82k candidates. */
    for (uint32_t v = 0; v < size / 2 && !found; v++) {
        char t[FNV_BLOCK + 1];
        int dup = 0;
        fnv_block_text(v, t);
        uint32_t h = fnv1a32_step(start, t, FNV_BLOCK);
        uint32_t slot = (h * 2654435761u) >> 12;
        while (ix[slot]) {
            if (st[slot] == h) {
                fnv_block_text(ix[slot] - 1, a);
                if (strcmp(a, t) == 0) { /* the same text twice: no pair */
                    dup = 1;
                    break;
                }
                memcpy(b, t, sizeof(t));
                found = 1;
                break;
            }
            slot = (slot + 1) & (size - 1);
        }
        if (!found && !dup) {
            st[slot] = h;
            ix[slot] = v + 1;
        }
    }
out:
    free(st);
    free(ix);
    return found;
}

/* Where dots go: after blocks 3, 6, 9, ... */
static inline int fnv_dot_after(unsigned i, unsigned blocks)
{
    return (i + 1) % 3 == 0 && i + 1 < blocks;
}

/* Finds @blocks colliding pairs. Returns 0 on success. */
static inline int fnv_pairs_init(struct fnv_pairs *p, unsigned blocks)
{
    if (blocks > FNV_MAX_BLOCKS)
        return -1;
    p->blocks = blocks;
    uint32_t h = 2166136261u;
    for (unsigned i = 0; i < blocks; i++) {
        if (!fnv_find_pair(h, p->block[i][0], p->block[i][1]))
            return -1;
        h = fnv1a32_step(h, p->block[i][0], FNV_BLOCK);
        if (fnv_dot_after(i, blocks))
            h = fnv1a32_step(h, ".", 1);
    }
    return 0;
}

/* The @n-th colliding name (bit i of @n picks block i's member). */
static inline size_t fnv_name(const struct fnv_pairs *p, uint32_t n, char *out)
{
    size_t len = 0;
    for (unsigned i = 0; i < p->blocks; i++) {
        memcpy(out + len, p->block[i][(n >> i) & 1], FNV_BLOCK);
        len += FNV_BLOCK;
        if (fnv_dot_after(i, p->blocks))
            out[len++] = '.';
    }
    memcpy(out + len, FNV_SUFFIX, sizeof(FNV_SUFFIX));
    return len + sizeof(FNV_SUFFIX) - 1;
}

#endif
