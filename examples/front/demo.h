/*
 * demo.h - the demonstration validator, factory and platform.
 *
 * A real adopter's validator calls the tenant's agent and its factory does
 * an auth handshake; here both are driven by a per-tenant flag table that
 * the admin API flips (POST /tenants/{id}/validator, /factory), so every
 * health transition of docs/design.md §3 can be caused from outside. The
 * factory sleeps --factory-delay-ms first, so "building" (503, EPENDING)
 * is observable. Platforms are counted: at exit every platform created must
 * have been freed exactly once, which the server checks.
 *
 * Callbacks run on admin and builder threads, never on the hot path, so a
 * mutex-protected table is the simple, right tool here.
 */
#ifndef FRONT_DEMO_H
#define FRONT_DEMO_H

#include <stdbool.h>
#include <stdint.h>

struct demo;

struct demo *demo_new(unsigned factory_delay_ms);
void demo_free(struct demo *d);

/* Longest reason the demo keeps (tenreg cuts it to TENREG_REASON_MAX). */
#define DEMO_REASON_MAX 1024

/*
 * Flags of one tenant id; absent ids are valid and build fine.
 * demo_set_valid: the validator answers 1 (@valid), 0 (invalid), or -1
 * (@check_failed: "could not check", a transient failure with
 * TENREG_CFG_TRANSIENT_FAILURES); demo_set_factory_ok: the factory
 * succeeds or fails. @reason (NULL: none) is what a failing validator or
 * factory tells tenreg_set_reason; it is copied. False: out of memory,
 * nothing changed.
 */
bool demo_set_valid(struct demo *d, const char *id, bool valid, bool check_failed,
                    const char *reason);
bool demo_set_factory_ok(struct demo *d, const char *id, bool ok, const char *reason);
void demo_forget(struct demo *d, const char *id);

/* tenreg_validator_fn / tenreg_factory_fn / tenreg_free_fn shapes. */
int demo_validator(void *ctx, const char *tenant_id, const char *agent_url);
int demo_factory(void *ctx, const char *tenant_id, void **platform);
void demo_platform_free(void *ctx, void *platform);
/* The platform an eager tenant is registered with. */
void *demo_platform_new(struct demo *d, const char *tenant_id);

/* Platforms created and freed so far. */
void demo_platform_counts(struct demo *d, uint64_t *created, uint64_t *freed);

#endif
