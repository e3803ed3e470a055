/*
 * fuzz_helpers.h - private to tenreg's fuzz targets.
 *
 * FUZZ_ASSERT is always on (it does not depend on NDEBUG): a fuzz target
 * that stops checking in release builds finds nothing. It prints where and
 * why, then abort()s, which libFuzzer, AFL++ and the ctest replays all
 * treat as a crash.
 *
 * fuzz_producer hands out the input's bytes as small integers. Operation
 * streams are read from the front; fixed parameters (configuration) are
 * taken from the end, as zstd's data producer does, so that mutations of
 * the operation bytes do not also reshuffle the configuration. Once the
 * bytes run out every read returns 0: decoding never fails.
 */
#ifndef TENREG_FUZZ_HELPERS_H
#define TENREG_FUZZ_HELPERS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_ASSERT_MSG(cond, ...)                                                  \
    do {                                                                            \
        if (!(cond)) {                                                              \
            fprintf(stderr, "%s:%d: FUZZ_ASSERT(%s) failed: ", __FILE__, __LINE__,  \
                    #cond);                                                         \
            fprintf(stderr, __VA_ARGS__);                                           \
            fputc('\n', stderr);                                                    \
            fflush(stderr);                                                         \
            abort();                                                                \
        }                                                                           \
    } while (0)

#define FUZZ_ASSERT(cond) FUZZ_ASSERT_MSG(cond, "%s", "")

/* Asserts that two ints are equal and prints both when they are not. */
#define FUZZ_ASSERT_EQ(a, b)                                                        \
    do {                                                                            \
        long long fuzz_a_ = (long long)(a), fuzz_b_ = (long long)(b);               \
        FUZZ_ASSERT_MSG(fuzz_a_ == fuzz_b_, "%s = %lld, %s = %lld", #a, fuzz_a_,    \
                        #b, fuzz_b_);                                               \
    } while (0)

typedef struct fuzz_producer {
    const uint8_t *data;
    size_t size; /* bytes not consumed yet, front and back together */
} fuzz_producer;

static inline void fuzz_producer_init(fuzz_producer *p, const uint8_t *data, size_t size)
{
    p->data = data;
    p->size = size;
}

static inline size_t fuzz_producer_remaining(const fuzz_producer *p)
{
    return p->size;
}

/* One byte from the front, or 0 when empty. */
static inline uint8_t fuzz_u8(fuzz_producer *p)
{
    if (p->size == 0)
        return 0;
    uint8_t v = p->data[0];
    p->data++;
    p->size--;
    return v;
}

/* One byte from the back, or 0 when empty. */
static inline uint8_t fuzz_u8_back(fuzz_producer *p)
{
    if (p->size == 0)
        return 0;
    p->size--;
    return p->data[p->size];
}

/* A value in [0, n) from one front byte; n must be 1..256. */
static inline unsigned fuzz_range(fuzz_producer *p, unsigned n)
{
    return n <= 1 ? 0 : fuzz_u8(p) % n;
}

/* A value in [0, n) from one back byte; n must be 1..256. */
static inline unsigned fuzz_range_back(fuzz_producer *p, unsigned n)
{
    return n <= 1 ? 0 : fuzz_u8_back(p) % n;
}

/* Up to @max front bytes, at most what is left: points into the input. */
static inline const uint8_t *fuzz_bytes(fuzz_producer *p, size_t want, size_t *got)
{
    *got = want < p->size ? want : p->size;
    const uint8_t *v = p->data;
    p->data += *got;
    p->size -= *got;
    return v;
}

#endif
