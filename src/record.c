/*
 * record.c - the immutable (health, platform) pair a reader sees.
 *
 * A record is never modified once a reader can reach it: a change of health
 * or platform publishes a new record with one pointer store, and the old one
 * is freed by call_rcu after every reader that could hold it has finished.
 */
#include "internal.h"

struct tenreg__record *tenreg__record_new(struct tenreg *reg, tenreg_health health,
                                          void *platform, unsigned flags)
{
    struct tenreg__record *rec = tenreg__alloc(reg, sizeof(*rec));
    if (!rec)
        return NULL;
    rec->platform = platform;
    rec->health = (uint8_t)health;
    rec->flags = (uint8_t)flags;
    rec->reg = reg;
    return rec;
}

void tenreg__record_drop(struct tenreg__record *rec)
{
    if (rec)
        tenreg__dealloc(rec->reg, rec, sizeof(*rec));
}

static void record_free_cb(struct rcu_head *head)
{
    tenreg__rcu_cb_begin(head);
    tenreg__record_drop(caa_container_of(head, struct tenreg__record, rcu));
    tenreg__rcu_cb_end();
}

void tenreg__record_retire(struct tenreg__record *rec)
{
    tenreg__call_rcu(&rec->rcu, record_free_cb);
}
