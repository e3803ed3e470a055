/*
 * Names and messages: tenreg_err_name and tenreg_strerror against the
 * header's own error list (TENREG_ERRNO_MAP), so that a code added to the
 * list without its table entries, a copy-pasted entry or a lost fallback
 * fails here; and the health names.
 */
#include <criterion/criterion.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "tenreg.h"

struct code {
    int value;
    const char *name; /* "TENREG_" #name */
    const char *msg;
};

static const struct code codes[] = {
#define TT_CODE_(name, value, msg) {TENREG_##name, "TENREG_" #name, msg},
    TENREG_ERRNO_MAP(TT_CODE_)
#undef TT_CODE_
};
#define NCODES (sizeof(codes) / sizeof(codes[0]))

static const char *const fallback_msg = "unknown error";
static const char *const fallback_name = "TENREG_EUNKNOWN";

TestSuite(errors, .timeout = 30);

Test(errors, every_code_has_its_own_name_and_message)
{
    cr_assert_geq(NCODES, 9, "the error list lost entries");
    for (size_t i = 0; i < NCODES; i++) {
        const struct code *c = &codes[i];
        const char *name = tenreg_err_name(c->value), *msg = tenreg_strerror(c->value);
        cr_assert_not_null(name);
        cr_assert_not_null(msg);
        cr_assert_lt(c->value, 0, "%s: codes are negative", c->name);
        cr_assert_str_eq(name, c->name, "tenreg_err_name(%d)", c->value);
        cr_assert_str_eq(msg, c->msg, "tenreg_strerror(%d) (%s)", c->value, c->name);
        cr_assert_str_neq(name, fallback_name, "%s", c->name);
        cr_assert_str_neq(msg, fallback_msg, "%s", c->name);
        cr_assert_str_neq(msg, "", "%s has an empty message", c->name);
        for (size_t j = 0; j < i; j++) {
            cr_assert_neq(c->value, codes[j].value, "%s and %s share a value", c->name,
                          codes[j].name);
            cr_assert_str_neq(name, tenreg_err_name(codes[j].value), "%s and %s share a name",
                              c->name, codes[j].name);
            cr_assert_str_neq(msg, tenreg_strerror(codes[j].value),
                              "%s and %s share a message", c->name, codes[j].name);
        }
    }
}

Test(errors, pinned_values)
{
    /* The values never change between releases (tenreg.h). */
    cr_assert_eq(TENREG_OK, 0);
    cr_assert_eq(TENREG_ENOENT, -1);
    cr_assert_eq(TENREG_EINVAL, -2);
    cr_assert_eq(TENREG_ENOMEM, -3);
    cr_assert_eq(TENREG_EPENDING, -4);
    cr_assert_eq(TENREG_EVALIDATOR, -5);
    cr_assert_eq(TENREG_EFACTORY, -6);
    cr_assert_eq(TENREG_EDISABLED, -7);
    cr_assert_eq(TENREG_ENOSPC, -8);
    cr_assert_eq(TENREG_EEXIST, -9);
}

Test(errors, success_has_a_name_and_message)
{
    cr_assert_str_eq(tenreg_err_name(TENREG_OK), "TENREG_OK");
    const char *ok = tenreg_strerror(TENREG_OK);
    cr_assert_not_null(ok);
    cr_assert_str_neq(ok, fallback_msg);
    for (size_t i = 0; i < NCODES; i++)
        cr_assert_str_neq(ok, tenreg_strerror(codes[i].value), "success reads like %s",
                          codes[i].name);
}

Test(errors, unknown_codes_get_the_fallback)
{
    int unknown[] = {1, 2, 5, 100, -10, -11, -100, -1000, INT_MIN, INT_MAX, INT_MIN + 1};
    for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
        bool listed = false;
        for (size_t j = 0; j < NCODES; j++)
            listed |= codes[j].value == unknown[i];
        if (listed)
            continue; /* a code added to the list since */
        cr_assert_str_eq(tenreg_err_name(unknown[i]), fallback_name, "tenreg_err_name(%d)",
                         unknown[i]);
        cr_assert_str_eq(tenreg_strerror(unknown[i]), fallback_msg, "tenreg_strerror(%d)",
                         unknown[i]);
    }
}

Test(errors, health_names)
{
    static const char *const want[] = {"pending", "healthy", "unverified", "disabled"};
    tenreg_health all[] = {TENREG_PENDING, TENREG_HEALTHY, TENREG_UNVERIFIED, TENREG_DISABLED};
    for (int i = 0; i < 4; i++) {
        cr_assert_eq((int)all[i], i, "health values are pinned");
        cr_assert_str_eq(tenreg_health_name(all[i]), want[i]);
        for (int j = 0; j < i; j++)
            cr_assert_str_neq(tenreg_health_name(all[i]), tenreg_health_name(all[j]));
    }
    int unknown[] = {4, 5, 100, -1, INT_MAX, INT_MIN};
    for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++)
        cr_assert_str_eq(tenreg_health_name((tenreg_health)unknown[i]), "unknown", "health %d",
                         unknown[i]);
}

Test(errors, serves_ignores_unknown_healths)
{
    for (int h = 0; h < 4; h++) {
        cr_assert_eq(tenreg_serves((tenreg_health)h, TENREG_SERVE((tenreg_health)h)), 1);
        cr_assert_eq(tenreg_serves((tenreg_health)h, ~TENREG_SERVE((tenreg_health)h)), 0);
    }
    int unknown[] = {4, 31, 32, 100, -1, INT_MAX, INT_MIN};
    for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++)
        cr_assert_eq(tenreg_serves((tenreg_health)unknown[i], ~0u), 0, "health %d", unknown[i]);
}
