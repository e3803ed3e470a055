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

/*
 * A pull reader for the one nested body, PUT /tenants's tenant set
 *   {"tenants":[{"id":"..","agent_url":"..","lazy":true,"hosts":["..",..]},..]}
 * The caller walks the structure it expects; anything else is an error
 * with a reason (r->reason, the first one). Strings follow the flat
 * reader's rules (\u limited to printable ASCII, no control bytes) and are
 * decoded into the caller's arena: a body of LEN bytes never needs more
 * than LEN + 1. Numbers and null are not read at all; nothing recurses.
 */
struct json_reader {
    const char *p, *end;
    char *out, *out_end;        /* decoded strings go here */
    const char *reason;
};

enum json_kind { JSON_K_STRING, JSON_K_BOOL, JSON_K_OBJECT, JSON_K_ARRAY, JSON_K_OTHER,
                 JSON_K_END };

void json_reader_init(struct json_reader *r, const char *in, size_t len, char *arena,
                      size_t cap);
/* What the next value is (whitespace skipped), without reading it. */
enum json_kind json_peek(struct json_reader *r);
/* Reads '{' or '[' (@open). */
bool json_open(struct json_reader *r, char open);
/* Between the members of an object (@close '}') or the elements of an
 * array (']'): set *first = true after json_open, then call before each
 * member; *more false means @close was read. */
bool json_next(struct json_reader *r, char close, bool *first, bool *more);
/* A member name and its ':'. */
bool json_key(struct json_reader *r, const char **key);
bool json_string(struct json_reader *r, const char **s, size_t *len);
bool json_bool(struct json_reader *r, bool *b);
/* Nothing but whitespace left. */
bool json_finish(struct json_reader *r);

#endif
