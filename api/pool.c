/* The connection pool of the API (see pool.h). */
#include "pool.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db.h"
#include "log.h"

#define STATEMENT_TIMEOUT_MS "5000"

struct api_pool {
    pthread_mutex_t lock;
    pthread_cond_t freed; /* signalled when a slot is given back */
    char *conninfo;
    int size;
    int wait_seconds;
    PGconn **conns;               /* NULL for a slot not connected yet */
    unsigned long long *prepared; /* per slot: see api_lease */
    bool *busy;
};

struct api_pool *api_pool_create(const char *conninfo, int size,
                                 int wait_seconds)
{
    struct api_pool *pool = calloc(1, sizeof(*pool));
    if (pool == NULL)
        goto fail;
    pool->conninfo = strdup(conninfo);
    pool->conns = calloc((size_t)size, sizeof(PGconn *));
    pool->busy = calloc((size_t)size, sizeof(bool));
    pool->prepared = calloc((size_t)size, sizeof(*pool->prepared));
    if (pool->conninfo == NULL || pool->conns == NULL || pool->busy == NULL ||
        pool->prepared == NULL)
        goto fail;
    pool->size = size;
    pool->wait_seconds = wait_seconds;
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&pool->freed, &attr);
    pthread_condattr_destroy(&attr);
    pthread_mutex_init(&pool->lock, NULL);
    return pool;
fail:
    cs_error("connection pool allocation failed size=%d", size);
    if (pool) {
        free(pool->conninfo);
        free(pool->conns);
        free(pool->busy);
        free(pool->prepared);
        free(pool);
    }
    return NULL;
}

void api_pool_destroy(struct api_pool *pool)
{
    if (pool == NULL)
        return;
    for (int i = 0; i < pool->size; i++)
        PQfinish(pool->conns[i]);
    pthread_cond_destroy(&pool->freed);
    pthread_mutex_destroy(&pool->lock);
    free(pool->conninfo);
    free(pool->conns);
    free(pool->busy);
    free(pool->prepared);
    free(pool);
}

/* Index of a free slot, preferring one already connected; -1 if none. */
static int free_slot(const struct api_pool *pool)
{
    int found = -1;
    for (int i = 0; i < pool->size; i++) {
        if (pool->busy[i])
            continue;
        if (pool->conns[i] != NULL)
            return i;
        if (found < 0)
            found = i;
    }
    return found;
}

/* Takes a free slot, waiting up to the pool's limit; -1 on time out. */
static int take_slot(struct api_pool *pool)
{
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += pool->wait_seconds;
    pthread_mutex_lock(&pool->lock);
    int slot = free_slot(pool);
    while (slot < 0) {
        int rc = pthread_cond_timedwait(&pool->freed, &pool->lock, &deadline);
        slot = free_slot(pool);
        if (rc == ETIMEDOUT)
            break;
    }
    if (slot >= 0)
        pool->busy[slot] = true;
    pthread_mutex_unlock(&pool->lock);
    return slot;
}

bool api_pool_acquire(struct api_pool *pool, struct api_lease *lease,
                      enum api_pool_failure *why)
{
    int slot = take_slot(pool);
    if (slot < 0) {
        cs_warn("no free database connection waited=%ds size=%d",
                pool->wait_seconds, pool->size);
        *why = API_POOL_BUSY;
        return false;
    }
    /* Only the holder of a busy slot touches its connection. */
    *lease = (struct api_lease){pool, slot, pool->conns[slot],
                                &pool->prepared[slot]};
    if (lease->conn != NULL && PQstatus(lease->conn) == CONNECTION_OK)
        return true;
    if (!api_pool_reconnect(lease)) {
        api_pool_release(lease);
        *why = API_POOL_UNAVAILABLE;
        return false;
    }
    return true;
}

bool api_pool_reconnect(struct api_lease *lease)
{
    struct api_pool *pool = lease->pool;
    PQfinish(lease->conn);
    *lease->prepared = 0;
    /* The slot's pointer in the pool is updated at release, under lock. */
    lease->conn = cs_db_connect(pool->conninfo, "callstats-api", true);
    if (lease->conn == NULL)
        return false;
    /* A request never waits on a lock (a migration) for ever. */
    if (!cs_db_exec(lease->conn, "set_statement_timeout",
                    "SET statement_timeout = " STATEMENT_TIMEOUT_MS)) {
        PQfinish(lease->conn);
        lease->conn = NULL;
        return false;
    }
    cs_debug("database connection opened slot=%d", lease->slot);
    return true;
}

void api_pool_release(struct api_lease *lease)
{
    struct api_pool *pool = lease->pool;
    if (lease->conn != NULL && PQstatus(lease->conn) != CONNECTION_OK) {
        PQfinish(lease->conn);
        lease->conn = NULL;
    }
    pthread_mutex_lock(&pool->lock);
    pool->conns[lease->slot] = lease->conn;
    pool->busy[lease->slot] = false;
    pthread_cond_signal(&pool->freed);
    pthread_mutex_unlock(&pool->lock);
    lease->conn = NULL;
}
