/*
 * tool.h - what the parts of the `tenreg` command-line tool share.
 *
 *   main.c            usage text, command dispatch, exit status
 *   util.c            error messages, escaping, hex, option parsing
 *   normalize_cmd.c   tenreg normalize
 *   resolve_cmd.c     tenreg resolve
 *   tenants_file.c    the tenants CSV loader
 *   demo.c            the demo platform, factory and validator
 *
 * The tool uses include/tenreg.h only, like any adopter, so it doubles as a
 * check that the public header is enough to write a real consumer.
 */
#ifndef TENREG_TOOL_H
#define TENREG_TOOL_H

#define _POSIX_C_SOURCE 200809L /* getline, nanosleep, strdup */

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h> /* ssize_t */

#include "tenreg.h"

enum {
    EXIT_OK = 0,
    EXIT_BAD_FILE = 1, /* the tenants file has bad lines or cannot be read */
    EXIT_USAGE = 2,
    EXIT_RUNTIME = 3   /* out of memory, I/O error, library broke its contract */
};

/* Lets the compiler check the printf-style helpers' arguments. */
#if defined(__GNUC__)
#  define PRINTF_LIKE(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#  define PRINTF_LIKE(fmt, args)
#endif

#define FACTORY_DELAY_MAX_MS 600000L
/* Longest part of a user string quoted in a message; the rest is "...". */
#define QUOTE_MAX_BYTES 64
#define QUOTE_CAP (QUOTE_MAX_BYTES * 4 + sizeof "...")

/* ---- util.c ---- */

/* Print "tenreg: ..." on stderr; return EXIT_USAGE / EXIT_RUNTIME. */
PRINTF_LIKE(1, 2) int usage_error(const char *fmt, ...);
PRINTF_LIKE(1, 2) int runtime_error(const char *fmt, ...);
/* "EINVAL" for TENREG_EINVAL. */
const char *code_name(int err);
/* Echo user bytes with '\' and non-printable bytes as \xHH. */
void put_escaped(FILE *out, const char *s, size_t len);
/* As put_escaped into @dst (QUOTE_CAP bytes), cut after QUOTE_MAX_BYTES. */
const char *quote(char *dst, const char *s, size_t len);
/* Hex digits -> bytes (out may equal in); -1 on odd length or a non-digit. */
long hex_decode(const char *in, size_t len, char *out);
/* Length of a getline() line without its '\n'. */
size_t line_length(const char *line, ssize_t n);
/* "--name VALUE" / "--name=VALUE": 1 (value set), 0 (other option), -1 (missing). */
int option_value(int argc, char **argv, int *i, const char *name, const char **value);

/* ---- demo.c ---- */

/*
 * Shared by the demo callbacks, which run on the registry's builder threads
 * and on liburcu's call_rcu thread: hence the atomic counters. It outlives
 * the registry (tenreg_free runs the last frees).
 */
struct demo_env {
    long factory_delay_ms;
    bool factory_fails;
    bool validator_says_valid;
    atomic_long made;
    atomic_long freed;
};

/* A platform that knows its tenant, so that every answer can be checked. */
struct demo_platform {
    unsigned long serial; /* order of creation, for a debugger */
    char tenant_id[];
};

struct demo_platform *demo_platform_new(struct demo_env *env, const char *tenant_id);
void demo_platform_free(void *ctx, void *platform);               /* tenreg_free_fn */
int demo_factory(void *ctx, const char *tenant_id, void **platform); /* tenreg_factory_fn */
int demo_validator(void *ctx, const char *tenant_id, const char *agent_url);

/* ---- tenants_file.c ---- */

/* Registers every tenant of @path, reporting each bad line on stderr.
 * Returns EXIT_OK, EXIT_BAD_FILE or EXIT_RUNTIME. */
int load_tenants(tenreg_t *reg, struct demo_env *env, const char *path);

/* ---- commands ---- */

int cmd_normalize(int argc, char **argv);
int cmd_resolve(int argc, char **argv);

#endif
