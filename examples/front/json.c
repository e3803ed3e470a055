/* json.c - flat-object JSON reader (see json.h for what it accepts). */
#include "json.h"

#include <string.h>

/* The flat reader and the pull reader share this state (json.h). */
#define reader json_reader

static void skip_ws(struct reader *r)
{
    while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r'))
        r->p++;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static bool put(struct reader *r, char c)
{
    if (r->out >= r->out_end) {
        r->reason = "strings too long";
        return false;
    }
    *r->out++ = c;
    return true;
}

/* Reads a string at r->p (which is '"'); decodes it NUL-terminated. \u
 * escapes are limited to printable ASCII: the fields this API takes (ids,
 * URLs) have no use for anything else, and it keeps NUL and surrogates out. */
static bool read_string(struct reader *r, const char **s, size_t *len)
{
    r->p++;
    char *start = r->out;
    for (;;) {
        if (r->p >= r->end) {
            r->reason = "unterminated string";
            return false;
        }
        unsigned char c = (unsigned char)*r->p++;
        if (c == '"')
            break;
        if (c < 0x20) {
            r->reason = "control character in string";
            return false;
        }
        if (c != '\\') {
            if (!put(r, (char)c))
                return false;
            continue;
        }
        if (r->p >= r->end) {
            r->reason = "unterminated string";
            return false;
        }
        char e = *r->p++;
        char d;
        switch (e) {
        case '"': d = '"'; break;
        case '\\': d = '\\'; break;
        case '/': d = '/'; break;
        case 'b': d = '\b'; break;
        case 'f': d = '\f'; break;
        case 'n': d = '\n'; break;
        case 'r': d = '\r'; break;
        case 't': d = '\t'; break;
        case 'u': {
            if (r->end - r->p < 4) {
                r->reason = "bad \\u escape";
                return false;
            }
            int v = 0;
            for (int i = 0; i < 4; i++) {
                int h = hexval(r->p[i]);
                if (h < 0) {
                    r->reason = "bad \\u escape";
                    return false;
                }
                v = v * 16 + h;
            }
            r->p += 4;
            if (v < 0x20 || v > 0x7e) {
                r->reason = "\\u escape outside printable ASCII";
                return false;
            }
            d = (char)v;
            break;
        }
        default:
            r->reason = "bad escape in string";
            return false;
        }
        if (!put(r, d))
            return false;
    }
    *len = (size_t)(r->out - start);
    if (!put(r, '\0'))
        return false;
    *s = start;
    return true;
}

static bool literal(struct reader *r, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(r->end - r->p) < n || memcmp(r->p, word, n) != 0)
        return false;
    r->p += n;
    return true;
}

bool json_parse_flat(const char *in, size_t len, struct json_object *o, const char **reason)
{
    struct reader r = {in, in + len, o->buf, o->buf + sizeof o->buf, NULL};
    o->n = 0;
    if (len > JSON_MAX_BYTES) {
        *reason = "body too large";
        return false;
    }
    skip_ws(&r);
    if (r.p >= r.end || *r.p != '{') {
        *reason = "body is not a JSON object";
        return false;
    }
    r.p++;
    skip_ws(&r);
    if (r.p < r.end && *r.p == '}') {
        r.p++;
        goto tail;
    }
    for (;;) {
        skip_ws(&r);
        if (r.p >= r.end || *r.p != '"') {
            *reason = "expected a member name";
            return false;
        }
        if (o->n == JSON_MAX_FIELDS) {
            *reason = "too many members";
            return false;
        }
        struct json_field *f = &o->f[o->n];
        size_t klen;
        if (!read_string(&r, &f->key, &klen)) {
            *reason = r.reason;
            return false;
        }
        if (json_get(o, f->key) != NULL) {
            *reason = "duplicate member";
            return false;
        }
        skip_ws(&r);
        if (r.p >= r.end || *r.p != ':') {
            *reason = "expected ':'";
            return false;
        }
        r.p++;
        skip_ws(&r);
        if (r.p < r.end && *r.p == '"') {
            f->type = JSON_STRING;
            if (!read_string(&r, &f->str, &f->len)) {
                *reason = r.reason;
                return false;
            }
        } else if (literal(&r, "true")) {
            f->type = JSON_BOOL;
            f->b = true;
        } else if (literal(&r, "false")) {
            f->type = JSON_BOOL;
            f->b = false;
        } else {
            *reason = "values must be strings or true/false";
            return false;
        }
        o->n++;
        skip_ws(&r);
        if (r.p < r.end && *r.p == ',') {
            r.p++;
            continue;
        }
        if (r.p < r.end && *r.p == '}') {
            r.p++;
            break;
        }
        *reason = "expected ',' or '}'";
        return false;
    }
tail:
    skip_ws(&r);
    if (r.p != r.end) {
        *reason = "trailing bytes after the object";
        return false;
    }
    return true;
}

const struct json_field *json_get(const struct json_object *o, const char *key)
{
    for (size_t i = 0; i < o->n; i++)
        if (strcmp(o->f[i].key, key) == 0)
            return &o->f[i];
    return NULL;
}

/* ---- the pull reader (json.h) ------------------------------------------- */

void json_reader_init(struct json_reader *r, const char *in, size_t len, char *arena, size_t cap)
{
    *r = (struct json_reader){in, in + len, arena, arena + cap, NULL};
}

static bool fail(struct json_reader *r, const char *reason)
{
    if (r->reason == NULL)
        r->reason = reason;
    return false;
}

enum json_kind json_peek(struct json_reader *r)
{
    skip_ws(r);
    if (r->p >= r->end)
        return JSON_K_END;
    switch (*r->p) {
    case '"': return JSON_K_STRING;
    case 't': case 'f': return JSON_K_BOOL;
    case '{': return JSON_K_OBJECT;
    case '[': return JSON_K_ARRAY;
    default: return JSON_K_OTHER;
    }
}

bool json_open(struct json_reader *r, char open)
{
    skip_ws(r);
    if (r->p >= r->end || *r->p != open)
        return fail(r, open == '{' ? "expected an object" : "expected an array");
    r->p++;
    return true;
}

bool json_next(struct json_reader *r, char close, bool *first, bool *more)
{
    skip_ws(r);
    if (r->p < r->end && *r->p == close) {
        r->p++;
        *more = false;
        return true;
    }
    if (!*first) {
        if (r->p >= r->end || *r->p != ',')
            return fail(r, close == '}' ? "expected ',' or '}'" : "expected ',' or ']'");
        r->p++;
        skip_ws(r);
        if (r->p < r->end && *r->p == close)
            return fail(r, "trailing comma");
    }
    if (r->p >= r->end)
        return fail(r, "unexpected end of the body");
    *first = false;
    *more = true;
    return true;
}

bool json_key(struct json_reader *r, const char **key)
{
    size_t len;
    skip_ws(r);
    if (r->p >= r->end || *r->p != '"')
        return fail(r, "expected a member name");
    if (!read_string(r, key, &len))
        return false;
    skip_ws(r);
    if (r->p >= r->end || *r->p != ':')
        return fail(r, "expected ':'");
    r->p++;
    return true;
}

bool json_string(struct json_reader *r, const char **s, size_t *len)
{
    skip_ws(r);
    if (r->p >= r->end || *r->p != '"')
        return fail(r, "expected a string");
    return read_string(r, s, len);
}

bool json_bool(struct json_reader *r, bool *b)
{
    skip_ws(r);
    if (literal(r, "true"))
        *b = true;
    else if (literal(r, "false"))
        *b = false;
    else
        return fail(r, "expected true or false");
    return true;
}

bool json_finish(struct json_reader *r)
{
    skip_ws(r);
    if (r->p != r->end)
        return fail(r, "trailing bytes after the object");
    return true;
}
