/*
 * workload.c - tenants and the Host stream.
 *
 * Host names look like seller subdomains ("rtb.northwind-media-3k7q.co.uk"),
 * 20..45 bytes, unique by construction: the last hyphen of the middle label
 * is followed by the tenant index in base 36. Unknown hosts come from the
 * same generator with indices past the registered ones, so they share the
 * shape (and the hash and normalization cost) of real ones.
 */
#include "bench.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

uint64_t bench_rng(uint64_t *s)
{
    /* splitmix64: fast, good enough for workload draws */
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static double rng_unit(uint64_t *s)
{
    return (double)(bench_rng(s) >> 11) * (1.0 / 9007199254740992.0);
}

double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

double bench_thread_cpu(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void bench_thread_csw(long *vol, long *invol)
{
    struct rusage ru;
    if (getrusage(RUSAGE_THREAD, &ru) != 0) {
        *vol = *invol = 0;
        return;
    }
    *vol = ru.ru_nvcsw;
    *invol = ru.ru_nivcsw;
}

static const char *const subs[] = {"ads", "rtb", "bid", "sellers", "ssp", "pub", "www", "m",
                                   "app", "prebid", "openrtb", "exchange", "delivery", "media",
                                   "s2s", "hb"};
static const char *const words[] = {
    "northwind", "acme", "globex", "initech", "umbrella", "stark", "wayne", "wonka",
    "hooli", "pied", "piper", "vandelay", "kramerica", "soylent", "tyrell", "cyberdyne",
    "oscorp", "dunder", "mifflin", "gringotts", "monarch", "aperture", "blackmesa", "zorg",
    "media", "news", "daily", "sports", "weather", "games", "recipes", "travel",
    "auto", "finance", "tech", "music", "video", "kids", "health", "style",
    "local", "metro", "coast", "river", "valley", "summit", "harbor", "pixel"};
static const char *const tlds[] = {"com", "net", "io", "co.uk", "tv", "media", "de", "fr",
                                   "com.au", "org"};
#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static size_t base36(uint64_t v, char *out)
{
    char tmp[16];
    size_t n = 0;
    do {
        unsigned d = (unsigned)(v % 36);
        tmp[n++] = (char)(d < 10 ? '0' + d : 'a' + d - 10);
        v /= 36;
    } while (v);
    for (size_t i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    return n;
}

/* Host name of index @i: "<sub>.<words...>-<base36(i)>.<tld>", 20..45 bytes. */
static size_t gen_host(uint64_t seed, uint64_t i, char *out)
{
    uint64_t s = seed ^ (i * 0xd1342543de82ef95ULL);
    size_t target = 20 + (size_t)(bench_rng(&s) % 26); /* 20..45 */
    const char *sub = subs[bench_rng(&s) % NELEM(subs)];
    const char *tld = tlds[bench_rng(&s) % NELEM(tlds)];
    char tok[16];
    size_t tokn = base36(i, tok);
    size_t fixed = strlen(sub) + 1 + 1 + tokn + 1 + strlen(tld); /* sub . - tok . tld */
    size_t room = target > fixed + 1 ? target - fixed : 1;      /* letters of the middle label */

    size_t n = 0;
    memcpy(out, sub, strlen(sub));
    n += strlen(sub);
    out[n++] = '.';
    size_t mid = 0;
    while (mid < room) {
        const char *w = words[bench_rng(&s) % NELEM(words)];
        size_t wl = strlen(w);
        if (mid > 0 && mid + 1 < room) {
            out[n++] = '-';
            mid++;
        }
        for (size_t j = 0; j < wl && mid < room; j++, mid++)
            out[n++] = w[j];
    }
    if (out[n - 1] == '-')
        out[n - 1] = 'x';
    out[n++] = '-';
    memcpy(out + n, tok, tokn);
    n += tokn;
    out[n++] = '.';
    memcpy(out + n, tld, strlen(tld));
    n += strlen(tld);
    out[n] = '\0';
    return n;
}

struct tset *tset_new(size_t n, size_t n_unknown, double lazy_frac, uint64_t seed)
{
    struct tset *ts = calloc(1, sizeof(*ts));
    size_t nh = n + n_unknown;
    size_t cap = nh * 48 + n * (16 + 64) + 64;
    ts->n = n;
    ts->n_unknown = n_unknown;
    ts->buf = malloc(cap);
    ts->host_off = malloc(nh * sizeof(uint32_t));
    ts->host_len = malloc(nh);
    ts->id_off = malloc(n * sizeof(uint32_t));
    ts->id_len = malloc(n);
    ts->url_off = malloc(n * sizeof(uint32_t));
    ts->url_len = malloc(n);
    ts->lazy = malloc(n);
    ts->platforms = malloc(n + 1);
    if (!ts->buf || !ts->host_off || !ts->host_len || !ts->id_off || !ts->id_len ||
        !ts->url_off || !ts->url_len || !ts->lazy || !ts->platforms) {
        fprintf(stderr, "tenreg-bench: out of memory for the workload\n");
        exit(1);
    }
    static const char *const paths[] = {"/a2a", "/mcp/", "/adcp/v1", "/"};
    uint64_t rs = seed ^ 0x5eed5eed;
    size_t off = 0;
    for (size_t i = 0; i < nh; i++) {
        ts->host_off[i] = (uint32_t)off;
        size_t hl = gen_host(seed, i, ts->buf + off);
        ts->host_len[i] = (uint8_t)hl;
        off += hl + 1;
        if (i >= n)
            continue;
        ts->id_off[i] = (uint32_t)off;
        int il = sprintf(ts->buf + off, "seller-%07zu", i);
        ts->id_len[i] = (uint8_t)il;
        off += (size_t)il + 1;
        ts->url_off[i] = (uint32_t)off;
        const char *path = paths[bench_rng(&rs) % NELEM(paths)];
        char *u = ts->buf + off;
        memcpy(u, "https://", 8);
        memcpy(u + 8, ts_host(ts, i), hl);
        memcpy(u + 8 + hl, path, strlen(path) + 1);
        int ul = (int)(8 + hl + strlen(path));
        ts->url_len[i] = (uint8_t)ul;
        off += (size_t)ul + 1;
        ts->lazy[i] = rng_unit(&rs) < lazy_frac;
    }
    return ts;
}

void tset_free(struct tset *ts)
{
    if (!ts)
        return;
    free(ts->buf);
    free(ts->host_off);
    free(ts->host_len);
    free(ts->id_off);
    free(ts->id_len);
    free(ts->url_off);
    free(ts->url_len);
    free(ts->lazy);
    free(ts->platforms);
    free(ts);
}

/* Zipf(s) over ranks 1..n: cumulative table, binary search per draw. */
static double *zipf_cdf(size_t n, double s)
{
    double *cdf = malloc(n * sizeof(double));
    double sum = 0;
    for (size_t k = 0; k < n; k++) {
        sum += pow((double)(k + 1), -s);
        cdf[k] = sum;
    }
    for (size_t k = 0; k < n; k++)
        cdf[k] /= sum;
    return cdf;
}

static size_t zipf_draw(const double *cdf, size_t n, double u)
{
    size_t lo = 0, hi = n - 1;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (cdf[mid] < u)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

size_t ts_pattern(const struct tset *ts, size_t i, char *out)
{
    const char *h = ts_host(ts, i);
    const char *name = strchr(h, '.') + 1; /* every generated host has 3+ labels */
    size_t nl = (size_t)(h + ts->host_len[i] - name);
    out[0] = '*';
    out[1] = '.';
    memcpy(out + 2, name, nl + 1);
    return nl + 2;
}

static size_t labels_of(const char *h, size_t len)
{
    size_t n = 1;
    for (size_t i = 0; i < len; i++)
        n += h[i] == '.';
    return n;
}

struct stream *stream_new(const struct tset *ts, size_t domain, double zipf_s,
                          const struct bench_cfg *cfg, uint64_t seed)
{
    struct stream_mix mix = {.unknown = cfg->unknown};
    return stream_new_mix(ts, domain, zipf_s, cfg, &mix, seed);
}

struct stream *stream_new_mix(const struct tset *ts, size_t domain, double zipf_s,
                              const struct bench_cfg *cfg, const struct stream_mix *mix,
                              uint64_t seed)
{
    struct stream *st = calloc(1, sizeof(*st));
    size_t n = 1;
    while (n < cfg->stream_len)
        n <<= 1;
    st->n = n;
    st->mask = n - 1;
    st->e = malloc(n * sizeof(*st->e));
    st->buf = malloc(n * 96);
    uint8_t *seen = calloc(domain, 1);
    if (!st->e || !st->buf || !seen) {
        fprintf(stderr, "tenreg-bench: out of memory for the stream\n");
        exit(1);
    }

    uint64_t rs = seed;
    double *cdf = NULL;
    uint32_t *perm = NULL;
    if (zipf_s > 0) {
        cdf = zipf_cdf(domain, zipf_s);
        /* rank -> tenant: a fixed shuffle, so hot tenants are spread over
         * the registration order (and over memory). */
        perm = malloc(domain * sizeof(uint32_t));
        for (size_t i = 0; i < domain; i++)
            perm[i] = (uint32_t)i;
        for (size_t i = domain - 1; i > 0; i--) {
            size_t j = bench_rng(&rs) % (i + 1);
            uint32_t t = perm[i];
            perm[i] = perm[j];
            perm[j] = t;
        }
    }

    /* miss4: the unknown hosts of exactly 4 labels (2-label TLDs) */
    uint32_t *pool4 = NULL;
    size_t npool4 = 0;
    if (mix->miss4) {
        pool4 = malloc((ts->n_unknown ? ts->n_unknown : 1) * sizeof(uint32_t));
        for (size_t u = ts->n; u < ts->n + ts->n_unknown; u++)
            if (labels_of(ts_host(ts, u), ts->host_len[u]) == 4)
                pool4[npool4++] = (uint32_t)u;
        if (!npool4) {
            fprintf(stderr, "tenreg-bench: no 4-label unknown host in the pool\n");
            exit(1);
        }
    }

    size_t off = 0;
    for (size_t i = 0; i < n; i++) {
        struct stream_entry *e = &st->e[i];
        const char *h;
        size_t hl;
        unsigned kind = 0;
        char under[TENREG_HOST_KEY_MAX + 8];
        /* One draw picks the entry's kind; with no pattern share it is the
         * same draw and comparison as always, so the hot and cold streams
         * do not change. */
        double pick = mix->miss4 ? 1.0 : rng_unit(&rs);
        if (mix->miss4) {
            size_t u = pool4[bench_rng(&rs) % npool4];
            h = ts_host(ts, u);
            hl = ts->host_len[u];
            e->tenant = STREAM_UNKNOWN;
            st->n_unknown++;
        } else if (pick >= mix->pattern && pick < mix->pattern + mix->unknown &&
                   ts->n_unknown > 0) {
            size_t u = ts->n + bench_rng(&rs) % ts->n_unknown;
            h = ts_host(ts, u);
            hl = ts->host_len[u];
            e->tenant = STREAM_UNKNOWN;
            st->n_unknown++;
        } else {
            bool pattern = pick < mix->pattern;
            size_t t;
            do {
                t = cdf ? perm[zipf_draw(cdf, domain, rng_unit(&rs))]
                        : (size_t)(bench_rng(&rs) % domain);
            } while (pattern && !wild_holds(t, mix->holders));
            if (pattern) {
                /* "x<k>.NAME", one label under the tenant's "*.NAME" */
                char pat[TENREG_HOST_KEY_MAX + 3];
                size_t pl = ts_pattern(ts, t, pat);
                under[0] = 'x';
                size_t kl = base36(bench_rng(&rs) % 1296, under + 1);
                memcpy(under + 1 + kl, pat + 1, pl); /* ".NAME" and its NUL */
                h = under;
                hl = kl + pl;
                kind |= 8;
                st->n_pattern++;
            } else {
                h = ts_host(ts, t);
                hl = ts->host_len[t];
            }
            e->tenant = (uint32_t)t;
            if (!seen[t]) {
                seen[t] = 1;
                st->distinct++;
            }
        }
        char *o = st->buf + off;
        size_t len = 0;
        bool url = rng_unit(&rs) < cfg->urls;
        if (url) {
            memcpy(o, "https://", 8);
            len = 8;
            kind |= 4;
            st->n_url++;
        }
        memcpy(o + len, h, hl);
        if (rng_unit(&rs) < cfg->mixed_case) {
            bool changed = false;
            for (size_t j = 0; j < hl; j++) {
                char c = o[len + j];
                if (c >= 'a' && c <= 'z' && (bench_rng(&rs) & 1)) {
                    o[len + j] = (char)(c - 'a' + 'A');
                    changed = true;
                }
            }
            if (!changed && o[len] >= 'a' && o[len] <= 'z')
                o[len] = (char)(o[len] - 'a' + 'A');
            kind |= 1;
            st->n_mixed++;
        }
        len += hl;
        if (rng_unit(&rs) < cfg->port443) {
            memcpy(o + len, ":443", 4);
            len += 4;
            kind |= 2;
            st->n_port++;
        }
        if (url) {
            static const char *const tails[] = {"/openrtb2/auction", "/bid?src=hb&v=2",
                                                "/a2a/tasks", "/"};
            const char *tl = tails[bench_rng(&rs) % NELEM(tails)];
            memcpy(o + len, tl, strlen(tl));
            len += strlen(tl);
        }
        e->off = (uint32_t)off;
        e->len = (uint16_t)len;
        e->kind = (uint16_t)kind;
        off += len;
    }
    free(cdf);
    free(perm);
    free(seen);
    free(pool4);
    return st;
}

void stream_free(struct stream *st)
{
    if (!st)
        return;
    free(st->e);
    free(st->buf);
    free(st);
}

size_t bench_key_of(const char *url, char *key)
{
    size_t klen;
    if (tenreg_normalize_host(url, strlen(url), key, TENREG_HOST_KEY_MAX + 1, &klen) != 0) {
        fprintf(stderr, "tenreg-bench: generated URL does not normalize: %s\n", url);
        abort();
    }
    return klen;
}

struct churn *churn_new(size_t nchurn, uint64_t seed)
{
    struct churn *c = calloc(1, sizeof(*c));
    c->nchurn = nchurn;
    c->registered = malloc(nchurn ? nchurn : 1);
    memset(c->registered, 1, nchurn ? nchurn : 1);
    c->rng = seed;
    return c;
}

void churn_free(struct churn *c)
{
    if (!c)
        return;
    free(c->registered);
    free(c);
}
