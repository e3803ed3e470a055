/*
 * reload.h - replace the whole tenant set in one change (issue 12).
 *
 * Both ways in - SIGHUP (main.c re-reads the tenants file) and PUT
 * /tenants (admin.c) - end in reloader_apply, which compares the new set
 * with what the last reload loaded and hands the backend one op per
 * tenant (backend.reload, one atomic change):
 *   keep       same id, agent URL, kind (eager/lazy) and extra hosts (as a
 *              set): left exactly as it is - health, platform, a built lazy
 *              platform, hosts;
 *   add hosts  the same, but the new line only adds hosts: the registration
 *              stays (health, platform) and gets the new hosts;
 *   register   new, or anything else changed (a host taken away needs a new
 *              registration: a batch cannot remove one host);
 * and every tenant the set does not name is unregistered.
 *
 * "What the last reload loaded" is only trusted while nothing else has
 * changed the tenant: every admin call that registers, removes or changes
 * a tenant's hosts (POST /tenants, DELETE /tenants/{id}, POST and DELETE
 * .../hosts) calls reloader_forget, so the next reload registers that
 * tenant afresh instead of keeping what it no longer knows.
 *
 * One lock serializes all of it: admin.c holds it for every admin request,
 * main.c for each SIGHUP reload, so a reload never runs beside another or
 * beside a single admin call.
 */
#ifndef FRONT_RELOAD_H
#define FRONT_RELOAD_H

#include <pthread.h>
#include <stdint.h>

#include "backend.h"
#include "tenant_set.h"

struct demo;

struct reload_summary {
    size_t kept, updated, registered, unregistered;
    size_t tenants;             /* in the new set */
};

struct reloader {
    pthread_mutex_t lock;       /* every admin request and every reload */
    struct backend *b;
    struct demo *demo;
    struct tenant_set loaded;   /* sorted by id */
    uint64_t ok, failed;        /* reloads (SIGHUP and PUT), under lock */
};

void reloader_init(struct reloader *r, struct backend *b, struct demo *demo);
void reloader_fini(struct reloader *r);

/* The tenant @id was changed by an admin call: forget how it was loaded.
 * Lock held. */
void reloader_forget(struct reloader *r, const char *id);

/*
 * reloader_apply - make the tenants exactly @set (ids distinct: checked by
 * the caller, tenant_set_dup_ids), lock held. Returns 0: @set is now what
 * was loaded (it is left empty) and *sum says what changed; demo flags of
 * the unregistered tenants are dropped, as DELETE does. Else a tenreg
 * code (backend.reload's) with nothing changed, @set untouched and
 * *failed the entry refused when it was recorded (SIZE_MAX: the set as a
 * whole: EEXIST, ENOSPC, ENOENT, ENOMEM).
 */
int reloader_apply(struct reloader *r, struct tenant_set *set, struct reload_summary *sum,
                   size_t *failed);

/* "7 tenants: 5 kept, 0 updated, 1 registered, 1 unregistered" */
void reload_summary_format(const struct reload_summary *s, char *out, size_t cap);

#endif
