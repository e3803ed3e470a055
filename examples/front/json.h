/*
 * json.h - a deliberately tiny JSON reader for the admin API.
 *
 * The admin bodies are flat objects of strings and booleans, e.g.
 *   {"id": "acme", "agent_url": "https://acme.example", "lazy": true}
 * so this reader accepts exactly that: one object, at most JSON_MAX_FIELDS
 * members, unique keys, values that are strings or true/false. Numbers,
 * null, arrays and nested objects are rejected with a reason, as are
 * control bytes, bad escapes and trailing bytes. Sizes are bounded, so an
 * admin client cannot make the server allocate.
 */
#ifndef FRONT_JSON_H
#define FRONT_JSON_H

#include <stdbool.h>
#include <stddef.h>

#define JSON_MAX_FIELDS 8
#define JSON_MAX_BYTES 4096     /* whole body, and decoded strings together */

enum json_type { JSON_STRING, JSON_BOOL };

struct json_field {
    const char *key;            /* NUL-terminated, in json_object.buf */
    enum json_type type;
    const char *str;            /* JSON_STRING: NUL-terminated, no NUL inside */
    size_t len;
    bool b;                     /* JSON_BOOL */
};

struct json_object {
    struct json_field f[JSON_MAX_FIELDS];
    size_t n;
    char buf[JSON_MAX_BYTES + 2 * JSON_MAX_FIELDS];
};

/* Parses @in; returns true, or false with *reason set to a static message. */
bool json_parse_flat(const char *in, size_t len, struct json_object *out, const char **reason);

/* The field named @key, or NULL. */
const struct json_field *json_get(const struct json_object *o, const char *key);

#endif
