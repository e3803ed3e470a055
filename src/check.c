/*
 * check.c - validations: the adopter's verdict, the health it leads to, and
 * a recheck or awaited validation of one registration in its turn.
 *
 * The validator runs in the admin thread that asked, outside any read
 * section and outside write_lock (QSBR: offline), after the tenant's
 * earlier checks and builds (the turnstile); its result is published only
 * if the registration it checked still exists.
 */
#include "internal.h"

int tenreg__validate(struct tenreg *reg, const struct tenreg__tenant *t)
{
    if (!reg->cfg.validator) /* principal-token mode: always valid */
        return 1;
    int v = reg->cfg.validator(reg->cfg.validator_ctx, tenreg__tenant_id(t), tenreg__tenant_url(t));
    return v > 0 ? 1 : (v == 0 ? 0 : -1);
}

tenreg_health tenreg__health_after_check(tenreg_health from, int verdict, unsigned flags)
{
    if (verdict > 0)
        return TENREG_HEALTHY;
    if (flags & TENREG_CFG_TRANSIENT_FAILURES) {
        /* §8.2: "could not check now" only demotes a healthy tenant;
         * "invalid" disables from any health. */
        if (verdict == 0)
            return TENREG_DISABLED;
        return from == TENREG_HEALTHY ? TENREG_UNVERIFIED : from;
    }
    return from == TENREG_HEALTHY ? TENREG_UNVERIFIED : TENREG_DISABLED;
}

int tenreg__check(struct tenreg *reg, struct tenreg__tenant *t, struct tenreg__record *rec)
{
    bool online = tenreg__rcu_offline_begin();
    tenreg__tenant_enter(t);
    int rc = tenreg__check_in_turn(reg, t, rec);
    tenreg__tenant_leave(t);
    tenreg__rcu_offline_end(online);
    return rc;
}

int tenreg__check_in_turn(struct tenreg *reg, struct tenreg__tenant *t, struct tenreg__record *rec)
{
    int rc = TENREG_ENOENT;
    if (!atomic_load(&t->removed)) {
        struct tenreg__reason_capture said;
        tenreg__reason_begin(&said);
        int answer = tenreg__validate(reg, t);
        tenreg__reason_end(&said);
        tenreg_verdict v = tenreg__verdict_of(answer);
        char *reason = tenreg__reason_keep(reg, &said, v);
        tenreg__write_lock(reg); /* waits out a batch commit */
        tenreg__rcu_enter();
        reg->counts.checks++;
        reg->counts.checks_failed += v != TENREG_VALID;
        if (!atomic_load(&t->removed)) {
            const struct tenreg__record *cur = t->rec;
            tenreg_health from = (tenreg_health)cur->health;
            tenreg_health to = tenreg__health_after_check(from, answer, reg->cfg.flags);
            rec->health = (uint8_t)to;
            rec->platform = cur->platform;
            rec->flags = cur->flags;
            tenreg__tenant_conclude(t, v, reason);
            reason = NULL;
            tenreg__tenant_publish(t, rec);
            if (from != to)
                tenreg__event(reg, TENREG_EV_HEALTH, t, from, to, v, t->reason);
            rec = NULL;
            rc = answer > 0 ? TENREG_OK : TENREG_EVALIDATOR;
        }
        tenreg__rcu_exit();
        pthread_mutex_unlock(&reg->write_lock);
        tenreg__reason_free(reg, reason); /* NULL when kept */
    }
    tenreg__record_drop(rec); /* NULL when published */
    return rc;
}
