/*
 * server.h - the epoll HTTP/1.1 loop shared by the front and the admin API.
 *
 * A server is N worker threads; each owns one epoll instance and one
 * listening socket (SO_REUSEPORT when N > 1, so the kernel spreads
 * connections across workers and no accept lock or cross-thread handoff
 * exists). A connection lives on one worker for its whole life, so its
 * buffers are never shared. The handler runs in the worker thread for each
 * complete request (head and body), in arrival order, and appends the whole
 * response to the connection's output buffer: pipelined requests are
 * answered in order, and one write() flushes a batch.
 */
#ifndef FRONT_SERVER_H
#define FRONT_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "http.h"

struct server_handler {
    void *ctx;
    size_t max_body;            /* larger Content-Length: 413 and close */
    unsigned idle_timeout_s;    /* keep-alive connection with nothing to do; 0 = 30 */
    unsigned request_timeout_s; /* a request still incomplete this long after its
                                   first byte (slowloris); 0 = 10 */
    /* Run in each worker thread before its loop; returns the thread's
     * context (passed to handle), e.g. after tenreg_thread_register(). */
    void *(*thread_start)(void *ctx, unsigned index);
    void (*thread_stop)(void *ctx, void *tctx);
    /* One complete request; @date is the current "Date: ...\r\n" line.
     * Must append exactly one complete response to @out. */
    void (*handle)(void *ctx, void *tctx, const struct http_request *req, const char *body,
                   struct buf *out, const char *date);
    /* Optional: a request the server itself refused (400, 413, 431, 501,
     * 505) - for statistics. */
    void (*rejected)(void *ctx, void *tctx, int status);
};

struct server;

/*
 * server_start - bind @ip:@port (port 0: an ephemeral port, shared by all
 * workers) and start @threads workers. On success *bound_port is the port.
 * Returns 0, or -1 with a message in @err.
 */
int server_start(const char *ip, uint16_t port, unsigned threads,
                 const struct server_handler *h, struct server **out, uint16_t *bound_port,
                 char *err, size_t err_cap);

/* Stops accepting, closes every connection, joins the workers, frees. */
void server_stop(struct server *s);

#endif
