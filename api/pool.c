/* The connection pool of the API (see pool.h). */
#include "pool.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db.h"
#include "log.h"

#define STATEMENT_TIMEOUT_MS "2000"

/* After a connection could not be opened, requests in the next DOWN_MS
 * milliseconds are answered at once instead of each trying again: a
 * database that is down is not hammered, nor the log filled. */
#define DOWN_MS 250

/* A request waiting for a connection: slots given back go to the
 * longest waiting, so that none starves while others come and go. */
struct waiter {
    pthread_cond_t given; /* signalled when slot is set */
    int slot;             /* -1 until a slot is handed over */
    struct waiter *next;
};

struct api_pool {
    pthread_mutex_t lock;
    struct waiter *first, *last; /* the queue of waiting requests */
    char *conninfo;
    int size;
    int wait_ms;
    PGconn **conns;               /* NULL for a slot not connected yet */
    unsigned long long *prepared; /* per slot: see api_lease */
    bool *busy;
    int in_use, waiting;
    unsigned long long timeouts, failures;
    struct timespec down_until; /* see DOWN_MS */
};

struct api_pool *api_pool_create(const char *conninfo, int size, int wait_ms)
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
    pool->wait_ms = wait_ms;
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

static void add_ms(struct timespec *t, long ms)
{
    t->tv_sec += ms / 1000;
    t->tv_nsec += (ms % 1000) * 1000000L;
    if (t->tv_nsec >= 1000000000L) {
        t->tv_sec++;
        t->tv_nsec -= 1000000000L;
    }
}

static bool before(const struct timespec *a, const struct timespec *b)
{
    return a->tv_sec < b->tv_sec ||
           (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

/* Takes the waiter out of the queue; the caller holds the lock. */
static void leave_queue(struct api_pool *pool, struct waiter *w)
{
    struct waiter **p = &pool->first, *prev = NULL;
    while (*p != NULL && *p != w) {
        prev = *p;
        p = &(*p)->next;
    }
    if (*p == NULL)
        return;
    *p = w->next;
    if (pool->last == w)
        pool->last = prev;
}

/* Takes a free slot, or queues for one up to wait_ms; -1 on time out. A
 * request never takes a free slot ahead of those already queued. */
static int take_slot(struct api_pool *pool, int wait_ms)
{
    pthread_mutex_lock(&pool->lock);
    int slot = pool->first == NULL ? free_slot(pool) : -1;
    if (slot >= 0) {
        pool->busy[slot] = true;
        pool->in_use++;
        pthread_mutex_unlock(&pool->lock);
        return slot;
    }
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    add_ms(&deadline, wait_ms);
    struct waiter w = {.slot = -1, .next = NULL};
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&w.given, &attr);
    pthread_condattr_destroy(&attr);
    if (pool->last != NULL)
        pool->last->next = &w;
    else
        pool->first = &w;
    pool->last = &w;
    pool->waiting++;
    while (w.slot < 0) {
        int rc = pthread_cond_timedwait(&w.given, &pool->lock, &deadline);
        if (rc == ETIMEDOUT && w.slot < 0) {
            leave_queue(pool, &w);
            pool->timeouts++;
            break;
        }
    }
    pool->waiting--;
    pthread_mutex_unlock(&pool->lock);
    pthread_cond_destroy(&w.given);
    return w.slot;
}

/* True while a failed connection asks requests not to try again yet. */
static bool known_down(struct api_pool *pool)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    pthread_mutex_lock(&pool->lock);
    bool down = before(&now, &pool->down_until);
    pthread_mutex_unlock(&pool->lock);
    return down;
}

bool api_pool_acquire_within(struct api_pool *pool, struct api_lease *lease,
                             int wait_ms, enum api_pool_failure *why)
{
    int slot = take_slot(pool, wait_ms);
    if (slot < 0) {
        cs_warn("no free database connection waited=%dms size=%d", wait_ms,
                pool->size);
        *why = API_POOL_BUSY;
        return false;
    }
    /* Only the holder of a busy slot touches its connection. */
    *lease = (struct api_lease){pool, slot, pool->conns[slot],
                                &pool->prepared[slot]};
    if (lease->conn != NULL && PQstatus(lease->conn) == CONNECTION_OK)
        return true;
    if (known_down(pool) || !api_pool_reconnect(lease)) {
        api_pool_release(lease);
        *why = API_POOL_UNAVAILABLE;
        return false;
    }
    return true;
}

bool api_pool_acquire(struct api_pool *pool, struct api_lease *lease,
                      enum api_pool_failure *why)
{
    return api_pool_acquire_within(pool, lease, pool->wait_ms, why);
}

bool api_pool_reconnect(struct api_lease *lease)
{
    struct api_pool *pool = lease->pool;
    PQfinish(lease->conn);
    *lease->prepared = 0;
    /* The slot's pointer in the pool is updated at release, under lock. */
    lease->conn = cs_db_connect(pool->conninfo, "callstats-api", true);
    /* A request never waits on a lock (a migration) for ever. */
    if (lease->conn != NULL &&
        !cs_db_exec(lease->conn, "set_statement_timeout",
                    "SET statement_timeout = " STATEMENT_TIMEOUT_MS)) {
        PQfinish(lease->conn);
        lease->conn = NULL;
    }
    if (lease->conn == NULL) {
        pthread_mutex_lock(&pool->lock);
        pool->failures++;
        clock_gettime(CLOCK_MONOTONIC, &pool->down_until);
        add_ms(&pool->down_until, DOWN_MS);
        pthread_mutex_unlock(&pool->lock);
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
    struct waiter *w = pool->first;
    if (w != NULL) {
        /* Handed over as it is, still busy and in use. */
        pool->first = w->next;
        if (pool->last == w)
            pool->last = NULL;
        w->slot = lease->slot;
        pthread_cond_signal(&w->given);
    } else {
        pool->busy[lease->slot] = false;
        pool->in_use--;
    }
    pthread_mutex_unlock(&pool->lock);
    lease->conn = NULL;
}

void api_pool_stats(struct api_pool *pool, struct api_pool_stats *stats)
{
    pthread_mutex_lock(&pool->lock);
    *stats = (struct api_pool_stats){pool->size, pool->in_use, pool->waiting,
                                     pool->timeouts, pool->failures};
    pthread_mutex_unlock(&pool->lock);
}
