/*
 * alias.c - the objects behind a tenant's extra hosts and patterns
 * (struct tenreg__alias in internal.h).
 *
 * An alias is the table entry of one host key or pattern that is not the
 * tenant's agent URL host. It holds the text readers compare and report
 * (resolution.matched) and a pointer to the tenant's current record, so a
 * lookup through it costs one more dependent load than a lookup of the
 * agent URL's host, and answers the same.
 */
#include "internal.h"

static size_t alias_size(size_t len)
{
    return sizeof(struct tenreg__alias) + len + 1;
}

static unsigned labels_of(const char *name, size_t len)
{
    unsigned n = 1;
    for (size_t i = 0; i < len; i++)
        n += name[i] == '.';
    return n;
}

struct tenreg__alias *tenreg__alias_new(struct tenreg *reg, const char *text, size_t len,
                                        bool pattern, struct tenreg__record *rec)
{
    struct tenreg__alias *al = tenreg__alloc(reg, alias_size(len));
    if (!al)
        return NULL;
    al->reg = reg;
    al->pattern = pattern;
    al->key_len = (uint8_t)(pattern ? len - 2 : len);
    al->labels = pattern ? (uint8_t)labels_of(text + 2, len - 2) : 0;
    memcpy(al->text, text, len);
    al->text[len] = '\0';
    /* Relaxed: the alias reaches readers only through the release store of
     * its table slot, which publishes this store with the rest. */
    atomic_init(&al->rec, rec);
    return al;
}

void tenreg__alias_drop(struct tenreg__alias *al)
{
    size_t len = al->key_len + (al->pattern ? 2u : 0u);
    tenreg__dealloc(al->reg, al, alias_size(len));
}

static void alias_free_cb(struct rcu_head *head)
{
    tenreg__rcu_cb_begin(head);
    struct tenreg__alias *al = caa_container_of(head, struct tenreg__alias, rcu);
    TENREG__DEFERRED(al->reg, -1);
    tenreg__alias_drop(al);
    tenreg__rcu_cb_end();
}

void tenreg__alias_retire(struct tenreg__alias *al)
{
    TENREG__DEFERRED(al->reg, 1);
    tenreg__call_rcu(&al->rcu, alias_free_cb);
}
