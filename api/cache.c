/* The response cache and the thread that follows the data version (see
 * cache.h). */
#include "cache.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "db.h"
#include "log.h"
#include "routes.h"

/* Answers are kept in a table of SLOTS places, one per key hash (a
 * colliding key replaces the one there), under STRIPES locks. */
#define SLOTS   4096
#define STRIPES 64

/* How often the version is read when no notification came, and how long
 * to wait before connecting again after a failure, in milliseconds. */
#define REFRESH_MS 10000
#define RETRY_MS   1000

#define DEFAULT_MAX_AGE 60

struct entry {
    atomic_int refs; /* the table's reference and each response's */
    uint64_t hash;
    char *key;
    long long version;
    time_t changed_at;
    const char *content_type;
    char disposition[96];
    char *body;
    size_t length;
    size_t bytes; /* what it counts against the limit */
};

struct api_cache {
    pthread_mutex_t locks[STRIPES];
    struct entry *slots[SLOTS];
    size_t max_bytes;
    atomic_size_t bytes;
    atomic_llong version;
    atomic_int max_age;
    atomic_ullong hits, misses, stale;
    long long swept; /* the thread's: answers older were dropped */
    char *conninfo;
    pthread_t thread;
    int wake[2]; /* written to stop the thread */
};

static uint64_t hash_key(const char *key)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)key; *p; p++)
        h = (h ^ *p) * 1099511628211ULL;
    return h;
}

void api_cache_release(void *ptr)
{
    struct entry *e = ptr;
    if (e == NULL || atomic_fetch_sub(&e->refs, 1) != 1)
        return;
    free(e->key);
    free(e->body);
    free(e);
}

/* Takes the entry out of its slot; the caller holds the slot's lock. */
static void drop_slot(struct api_cache *cache, size_t slot)
{
    struct entry *e = cache->slots[slot];
    if (e == NULL)
        return;
    cache->slots[slot] = NULL;
    atomic_fetch_sub(&cache->bytes, e->bytes);
    api_cache_release(e);
}

/* Drops every answer older than version. */
static void sweep(struct api_cache *cache, long long version)
{
    for (size_t s = 0; s < STRIPES; s++) {
        pthread_mutex_lock(&cache->locks[s]);
        for (size_t i = s; i < SLOTS; i += STRIPES)
            if (cache->slots[i] && cache->slots[i]->version != version)
                drop_slot(cache, i);
        pthread_mutex_unlock(&cache->locks[s]);
    }
}

/* Versions only grow: a read that began before a commit must not take
 * the version back below what a request has already seen. Only the
 * thread that follows the version makes it known again (from_unknown):
 * a request's read does not, while the thread has no connection. */
static void raise_version(struct api_cache *cache, long long version,
                          bool from_unknown)
{
    long long known = atomic_load(&cache->version);
    while ((known >= 0 || from_unknown) && known < version &&
           !atomic_compare_exchange_weak(&cache->version, &known, version))
        ;
}

long long api_cache_version(struct api_cache *cache)
{
    return atomic_load(&cache->version);
}

int api_cache_max_age(struct api_cache *cache)
{
    return atomic_load(&cache->max_age);
}

/* Takes a reference to the answer under key at version (any version
 * when version is -1); NULL when there is none. */
static struct entry *take(struct api_cache *cache, const char *key,
                          long long version)
{
    uint64_t h = hash_key(key);
    size_t slot = (size_t)(h & (SLOTS - 1));
    pthread_mutex_t *lock = &cache->locks[slot % STRIPES];
    pthread_mutex_lock(lock);
    struct entry *e = cache->slots[slot];
    bool hit = e != NULL && e->hash == h &&
               (version < 0 || e->version == version) &&
               strcmp(e->key, key) == 0;
    if (hit)
        atomic_fetch_add(&e->refs, 1);
    pthread_mutex_unlock(lock);
    return hit ? e : NULL;
}

static void fill(struct entry *e, struct api_response *resp)
{
    resp->status = 200;
    resp->content_type = e->content_type;
    memcpy(resp->disposition, e->disposition, sizeof(resp->disposition));
    resp->body = e->body;
    resp->length = e->length;
    resp->body_owned = false;
    resp->version = e->version;
    resp->changed_at = e->changed_at;
    resp->cached = e;
}

bool api_cache_get(struct api_cache *cache, const char *key,
                   struct api_response *resp)
{
    long long version = atomic_load(&cache->version);
    if (version < 0 || cache->max_bytes == 0)
        return false;
    struct entry *e = take(cache, key, version);
    if (e == NULL) {
        atomic_fetch_add(&cache->misses, 1);
        return false;
    }
    atomic_fetch_add(&cache->hits, 1);
    fill(e, resp);
    return true;
}

bool api_cache_get_stale(struct api_cache *cache, const char *key,
                         struct api_response *resp)
{
    struct entry *e = cache->max_bytes ? take(cache, key, -1) : NULL;
    if (e == NULL)
        return false;
    atomic_fetch_add(&cache->stale, 1);
    fill(e, resp);
    return true;
}

void api_cache_put(struct api_cache *cache, const char *key,
                   struct api_response *resp)
{
    /* A handler that read a newer version than the thread knows of is
     * ahead of the notification: the version is taken from it. */
    raise_version(cache, resp->version, false);
    size_t bytes = resp->length + strlen(key) + sizeof(struct entry);
    if (cache->max_bytes == 0 || !resp->body_owned ||
        resp->version != atomic_load(&cache->version) ||
        bytes > cache->max_bytes / 8)
        return;
    struct entry *e = calloc(1, sizeof(*e));
    char *copy = strdup(key);
    if (e == NULL || copy == NULL) {
        free(e);
        free(copy);
        return;
    }
    atomic_init(&e->refs, 2); /* the table's and resp's */
    e->hash = hash_key(key);
    e->key = copy;
    e->version = resp->version;
    e->changed_at = resp->changed_at;
    e->content_type = resp->content_type;
    memcpy(e->disposition, resp->disposition, sizeof(e->disposition));
    e->body = resp->body;
    e->length = resp->length;
    e->bytes = bytes;
    resp->body_owned = false;
    resp->cached = e;
    size_t slot = (size_t)(e->hash & (SLOTS - 1));
    pthread_mutex_t *lock = &cache->locks[slot % STRIPES];
    pthread_mutex_lock(lock);
    drop_slot(cache, slot);
    if (atomic_load(&cache->bytes) + bytes <= cache->max_bytes) {
        cache->slots[slot] = e;
        atomic_fetch_add(&cache->bytes, bytes);
    } else {
        atomic_fetch_sub(&e->refs, 1); /* full: resp keeps the only one */
    }
    pthread_mutex_unlock(lock);
}

void api_cache_counts(struct api_cache *cache, unsigned long long *hits,
                      unsigned long long *misses, unsigned long long *stale,
                      size_t *bytes)
{
    *stale = atomic_load(&cache->stale);
    *hits = atomic_load(&cache->hits);
    *misses = atomic_load(&cache->misses);
    *bytes = atomic_load(&cache->bytes);
}

/* Reads the version and the max-age; false when the statement failed. */
static bool refresh(struct api_cache *cache, PGconn *conn)
{
    PGresult *res = PQexec(conn, "SELECT v.version,"
                                 " (SELECT min(interval_seconds) FROM sync_jobs"
                                 "   WHERE first_day <= 0 AND last_day >= 0)"
                                 " FROM data_version v WHERE v.id = 1");
    bool ok = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1;
    if (ok) {
        long long version = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        int max_age = PQgetisnull(res, 0, 1)
                          ? DEFAULT_MAX_AGE
                          : (int)strtol(PQgetvalue(res, 0, 1), NULL, 10);
        atomic_store(&cache->max_age, max_age > 0 ? max_age : DEFAULT_MAX_AGE);
        raise_version(cache, version, true);
        long long now = atomic_load(&cache->version);
        if (now > cache->swept) {
            sweep(cache, now);
            cache->swept = now;
        }
    } else {
        const char *msg = PQerrorMessage(conn);
        char line[256];
        cs_warn("data version not readable error=\"%s\"",
                cs_log_value(msg, line, sizeof(line)));
    }
    PQclear(res);
    return ok;
}

/* Waits up to ms for the connection's socket (fd, or -1 for none) or a
 * stop; true when stopping. */
static bool wait_for(struct api_cache *cache, int fd, int ms, bool *readable)
{
    struct pollfd pfd[2] = {{.fd = cache->wake[0], .events = POLLIN},
                            {.fd = fd, .events = POLLIN}};
    int n = poll(pfd, fd >= 0 ? 2 : 1, ms);
    if (n < 0 && errno != EINTR)
        return true;
    *readable = fd >= 0 && (pfd[1].revents & (POLLIN | POLLHUP | POLLERR));
    return (pfd[0].revents & POLLIN) != 0;
}

/* Follows the version on one connection until it fails or a stop. */
static bool follow(struct api_cache *cache, PGconn *conn)
{
    if (!cs_db_exec(conn, "listen", "LISTEN callstats_data") ||
        !refresh(cache, conn))
        return false;
    for (;;) {
        bool readable = false;
        if (wait_for(cache, PQsocket(conn), REFRESH_MS, &readable))
            return true;
        if (readable && !PQconsumeInput(conn))
            return false;
        PGnotify *n;
        while ((n = PQnotifies(conn)) != NULL)
            PQfreemem(n);
        if (!refresh(cache, conn))
            return false;
    }
}

static void *follow_version(void *arg)
{
    struct api_cache *cache = arg;
    bool was_up = true;
    for (;;) {
        PGconn *conn =
            cs_db_connect(cache->conninfo, "callstats-api cache", true);
        if (conn != NULL && !was_up)
            cs_info("data version followed again");
        bool stop = conn != NULL && follow(cache, conn);
        PQfinish(conn);
        atomic_store(&cache->version, -1);
        cache->swept = -1;
        if (stop)
            break;
        if (was_up)
            cs_warn("data version unknown, answers are not cached until "
                    "the database answers retry_ms=%d",
                    RETRY_MS);
        was_up = false;
        bool readable;
        if (wait_for(cache, -1, RETRY_MS, &readable))
            break;
    }
    return NULL;
}

struct api_cache *api_cache_create(const char *conninfo, size_t max_bytes)
{
    struct api_cache *cache = calloc(1, sizeof(*cache));
    if (cache == NULL || (cache->conninfo = strdup(conninfo)) == NULL ||
        pipe(cache->wake) != 0) {
        cs_error("response cache allocation failed");
        if (cache)
            free(cache->conninfo);
        free(cache);
        return NULL;
    }
    for (size_t i = 0; i < STRIPES; i++)
        pthread_mutex_init(&cache->locks[i], NULL);
    cache->max_bytes = max_bytes;
    atomic_init(&cache->version, -1);
    atomic_init(&cache->max_age, DEFAULT_MAX_AGE);
    cache->swept = -1;
    if (pthread_create(&cache->thread, NULL, follow_version, cache) != 0) {
        cs_error("response cache thread could not start");
        close(cache->wake[0]);
        close(cache->wake[1]);
        free(cache->conninfo);
        free(cache);
        return NULL;
    }
    return cache;
}

void api_cache_destroy(struct api_cache *cache)
{
    if (cache == NULL)
        return;
    if (write(cache->wake[1], "x", 1) != 1)
        cs_warn("response cache thread could not be woken");
    pthread_join(cache->thread, NULL);
    close(cache->wake[0]);
    close(cache->wake[1]);
    for (size_t i = 0; i < SLOTS; i++)
        drop_slot(cache, i);
    for (size_t i = 0; i < STRIPES; i++)
        pthread_mutex_destroy(&cache->locks[i]);
    free(cache->conninfo);
    free(cache);
}
