/*
 * demo.c - the demo platform, factory and validator the tool registers, so
 * that lazy builds and health changes can be seen from the shell.
 */

#include "tool.h" /* first: it sets _POSIX_C_SOURCE */

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct demo_platform *demo_platform_new(struct demo_env *env, const char *tenant_id)
{
    size_t len = strlen(tenant_id);
    struct demo_platform *p = malloc(sizeof *p + len + 1);
    if (p == NULL)
        return NULL;
    memcpy(p->tenant_id, tenant_id, len + 1);
    p->serial = (unsigned long)atomic_fetch_add(&env->made, 1) + 1;
    return p;
}

/* tenreg_free_fn; also used for a platform the registry refused. */
void demo_platform_free(void *ctx, void *platform)
{
    struct demo_env *env = ctx;
    atomic_fetch_add(&env->freed, 1);
    free(platform);
}

static void sleep_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* tenreg_factory_fn: stands in for an adopter's slow handshake. */
int demo_factory(void *ctx, const char *tenant_id, void **platform)
{
    struct demo_env *env = ctx;
    if (env->factory_delay_ms > 0)
        sleep_ms(env->factory_delay_ms);
    if (env->factory_fails)
        return -1;
    struct demo_platform *p = demo_platform_new(env, tenant_id);
    if (p == NULL)
        return -1;
    *platform = p;
    return 0;
}

/* tenreg_validator_fn, installed only with --validator. */
int demo_validator(void *ctx, const char *tenant_id, const char *agent_url)
{
    const struct demo_env *env = ctx;
    (void)tenant_id;
    (void)agent_url;
    return env->validator_says_valid ? 1 : 0;
}
