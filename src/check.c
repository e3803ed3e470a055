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

tenreg_health tenreg__health_after_check(tenreg_health from, int verdict)
{
    if (verdict > 0)
        return TENREG_HEALTHY;
    return from == TENREG_HEALTHY ? TENREG_UNVERIFIED : TENREG_DISABLED;
}

int tenreg__check(struct tenreg *reg, struct tenreg__tenant *t, struct tenreg__record *rec)
{
    int rc = TENREG_ENOENT;
    bool online = tenreg__rcu_offline_begin();
    tenreg__tenant_enter(t);
    if (!atomic_load(&t->removed)) {
        int verdict = tenreg__validate(reg, t);
        pthread_mutex_lock(&reg->write_lock);
        tenreg__rcu_enter();
        if (!atomic_load(&t->removed)) {
            const struct tenreg__record *cur = t->rec;
            rec->health = (uint8_t)tenreg__health_after_check((tenreg_health)cur->health, verdict);
            rec->platform = cur->platform;
            rec->flags = cur->flags;
            tenreg__tenant_publish(t, rec);
            rec = NULL;
            rc = verdict > 0 ? TENREG_OK : TENREG_EVALIDATOR;
        }
        tenreg__rcu_exit();
        pthread_mutex_unlock(&reg->write_lock);
    }
    tenreg__record_drop(rec); /* NULL when published */
    tenreg__tenant_leave(t);
    tenreg__rcu_offline_end(online);
    return rc;
}
