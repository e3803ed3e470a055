/*
 * tenant_set.h - a whole set of tenants, as a tenants file or a PUT
 * /tenants body gives it, and what only the whole set can show: an id
 * given twice, a host two entries claim, a tenant with too many hosts.
 *
 * Each entry keeps its extra hosts in the form tenreg stores them (a host
 * key, or "*." + a normalized name: tenant_host_form), first occurrence
 * only and without the agent URL's own host, in the order given; and a
 * sorted copy for comparing two versions of a tenant as sets.
 */
#ifndef FRONT_TENANT_SET_H
#define FRONT_TENANT_SET_H

#include <stdbool.h>
#include <stddef.h>

#include "backend.h"

struct tenant_spec {
    char *id, *url;
    bool lazy;
    bool skip;                  /* left out of the set checks (an id given twice) */
    char **keys;                /* extra hosts and patterns, stored form, as given */
    size_t nkeys;
    char **sorted;              /* the same strings, sorted (strcmp) */
    char key[TENREG_HOST_KEY_MAX + 1];  /* the agent URL's host */
    unsigned long where;        /* the file's line, or the index in the PUT array */
};

struct tenant_set {
    struct tenant_spec *v;
    size_t n, cap;
};

/* The form tenreg keeps @host in (a host key; "*." + a normalized name for
 * a pattern: NAME of name bytes only, as the library's rule). False when
 * it is neither; tenreg has the last word anyway. */
bool tenant_host_form(const char *host, char *out, size_t cap);

/*
 * tenant_set_add - append one entry (everything copied). The caller has
 * checked the id. Returns 0; TENREG_EINVAL when the URL has no host
 * (*bad_host = SIZE_MAX) or hosts[*bad_host] is not a host, URL or
 * pattern; TENREG_ENOMEM. Nothing is appended on failure.
 */
int tenant_set_add(struct tenant_set *s, const char *id, const char *url, bool lazy,
                   const char *const *hosts, size_t nhosts, unsigned long where,
                   size_t *bad_host);
void tenant_set_free(struct tenant_set *s);
/* One entry's strings (not the entry itself). */
void tenant_spec_free(struct tenant_spec *t);

/* One entry the whole set refuses. */
struct set_problem {
    size_t entry;               /* index in the set */
    int code;                   /* 0: the id of @other again; TENREG_EEXIST: @key is
                                   also @other's; TENREG_ENOSPC: @count hosts */
    size_t other;
    const char *key;
    size_t count;
};
typedef void (*set_problem_fn)(void *ctx, const struct set_problem *p);

/* Each entry whose id an earlier one has (code 0), in set order; marks it
 * skip. Returns how many, or -1 out of memory. */
long tenant_set_dup_ids(struct tenant_set *s, set_problem_fn fn, void *ctx);

/* Each entry (skip ones left out) that claims a host or pattern an earlier
 * entry holds (EEXIST: the tenant would get another's host), or that would
 * hold more than TENREG_HOSTS_MAX hosts and patterns (ENOSPC); one problem
 * per entry, in set order. Returns how many, or -1 out of memory. */
long tenant_set_conflicts(const struct tenant_set *s, set_problem_fn fn, void *ctx);

#endif
