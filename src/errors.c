/*
 * errors.c - names and messages of return codes and health states, and the
 * other small pure functions of the public API.
 */
#include "internal.h"

TENREG_API const char *tenreg_strerror(int err)
{
    switch (err) {
    case TENREG_OK:
        return "success";
#define TENREG_STRERROR_CASE_(name, value, msg) \
    case TENREG_##name:                          \
        return msg;
        TENREG_ERRNO_MAP(TENREG_STRERROR_CASE_)
#undef TENREG_STRERROR_CASE_
    default:
        return "unknown error";
    }
}

TENREG_API const char *tenreg_err_name(int err)
{
    switch (err) {
    case TENREG_OK:
        return "TENREG_OK";
#define TENREG_ERR_NAME_CASE_(name, value, msg) \
    case TENREG_##name:                          \
        return "TENREG_" #name;
        TENREG_ERRNO_MAP(TENREG_ERR_NAME_CASE_)
#undef TENREG_ERR_NAME_CASE_
    default:
        return "TENREG_EUNKNOWN";
    }
}

TENREG_API const char *tenreg_health_name(tenreg_health h)
{
    switch (h) {
    case TENREG_PENDING:
        return "pending";
    case TENREG_HEALTHY:
        return "healthy";
    case TENREG_UNVERIFIED:
        return "unverified";
    case TENREG_DISABLED:
        return "disabled";
    }
    return "unknown";
}

TENREG_API int tenreg_serves(tenreg_health h, unsigned serve_states)
{
    if ((unsigned)h > TENREG_DISABLED)
        return 0;
    return (serve_states & TENREG_SERVE(h)) != 0;
}

TENREG_API unsigned tenreg_version(void)
{
    return TENREG_VERSION_NUMBER;
}

TENREG_API const char *tenreg_version_string(void)
{
    return TENREG_VERSION_STRING;
}
