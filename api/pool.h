/*
 * A fixed pool of read-only PostgreSQL connections shared by the request
 * threads: opened when first needed, reopened when found broken.
 */
#ifndef API_POOL_H
#define API_POOL_H

#include <libpq-fe.h>
#include <stdbool.h>

struct api_pool;

/* Why a connection could not be had. */
enum api_pool_failure {
    API_POOL_BUSY,        /* every connection stayed in use too long */
    API_POOL_UNAVAILABLE, /* the database could not be reached */
};

/* A connection lent to one request until api_pool_release. */
struct api_lease {
    struct api_pool *pool;
    int slot;
    PGconn *conn;
    unsigned long long *prepared; /* statements prepared on conn, by bit */
};

/* A pool of size connections to conninfo; a request waits up to wait_ms
 * for a free one. NULL (logged) when out of memory. */
struct api_pool *api_pool_create(const char *conninfo, int size, int wait_ms);

/* Closes every connection; no lease may be outstanding. */
void api_pool_destroy(struct api_pool *pool);

/*
 * Lends a connection, opening it if the slot has none or its connection
 * is broken. False with *why set when none is free in time or the
 * database cannot be reached (the connection error is logged).
 */
__attribute__((warn_unused_result)) bool
api_pool_acquire(struct api_pool *pool, struct api_lease *lease,
                 enum api_pool_failure *why);

/* Replaces the lease's connection by a new one, after it broke during a
 * statement. False (logged) when the database cannot be reached. */
__attribute__((warn_unused_result)) bool
api_pool_reconnect(struct api_lease *lease);

/* Gives the connection back; a broken one is closed, to be reopened by
 * the next request that takes its slot. */
void api_pool_release(struct api_lease *lease);

/* As api_pool_acquire, waiting at most wait_ms for a free connection. */
__attribute__((warn_unused_result)) bool
api_pool_acquire_within(struct api_pool *pool, struct api_lease *lease,
                        int wait_ms, enum api_pool_failure *why);

/* The pool's state, for the metrics. */
struct api_pool_stats {
    int size;
    int in_use;
    int waiting;                 /* requests waiting for a connection */
    unsigned long long timeouts; /* waits that ended in a 503 */
    unsigned long long failures; /* connections that could not be opened */
};

void api_pool_stats(struct api_pool *pool, struct api_pool_stats *stats);

#endif
