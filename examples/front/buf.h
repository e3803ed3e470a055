/*
 * buf.h - a growable byte buffer for responses.
 *
 * Every response (front and admin) is appended into a connection's output
 * buffer; appending never fails silently: an allocation failure marks the
 * buffer broken and the connection is closed instead of sending a truncated
 * response.
 */
#ifndef FRONT_BUF_H
#define FRONT_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct buf {
    char *p;
    size_t len, cap;
    bool failed;        /* an allocation failed: contents are not sendable */
    bool fixed;         /* p is caller-owned storage: never realloc'd */
};

bool buf_reserve(struct buf *b, size_t extra);
void buf_add(struct buf *b, const void *data, size_t len);
void buf_adds(struct buf *b, const char *s);
void buf_addu(struct buf *b, uint64_t v);
/* Appends @s as the inside of a JSON string (quotes not included); bytes
 * that are not well-formed UTF-8 become \ufffd: the result is always JSON. */
void buf_add_json_str(struct buf *b, const char *s, size_t len);
void buf_free(struct buf *b);

#endif
