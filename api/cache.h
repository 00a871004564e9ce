/*
 * The response cache: answers kept in memory by request and by the data
 * version they were read at. A thread LISTENs for the worker's
 * callstats_data notifications and reads data_version, so that a cached
 * answer is served only while no day was written since; while that
 * thread cannot reach the database nothing is served from the cache.
 */
#ifndef API_CACHE_H
#define API_CACHE_H

#include <stdbool.h>
#include <stddef.h>

struct api_cache;
struct api_response;

/*
 * A cache of at most max_bytes of answers (0: none kept, the version is
 * still followed), following the version through its own connection to
 * conninfo. NULL (logged) when out of memory or the thread cannot start.
 */
struct api_cache *api_cache_create(const char *conninfo, size_t max_bytes);

/* Stops the thread and frees every answer; none may be in use. */
void api_cache_destroy(struct api_cache *cache);

/* The data version last read, -1 while unknown. */
long long api_cache_version(struct api_cache *cache);

/* Seconds a client may keep an answer: the shortest interval of the jobs
 * that sync today (sync_jobs), 60 when none says. */
int api_cache_max_age(struct api_cache *cache);

/* Fills resp with the answer kept under key at the current version; the
 * body stays the cache's until api_response_free. False when none. */
bool api_cache_get(struct api_cache *cache, const char *key,
                   struct api_response *resp);

/* Fills resp with the last answer kept under key, whatever its version:
 * for when the database cannot be reached to build a new one. False when
 * none is kept. */
bool api_cache_get_stale(struct api_cache *cache, const char *key,
                         struct api_response *resp);

/* Keeps resp's answer under key if it was read at the current version
 * and fits; resp's body then belongs to the cache (resp->cached). */
void api_cache_put(struct api_cache *cache, const char *key,
                   struct api_response *resp);

/* Gives back an answer taken by api_cache_get or api_cache_put. */
void api_cache_release(void *entry);

/* Answers served from the cache, built anew, served stale; the memory
 * held. For the metrics. */
void api_cache_counts(struct api_cache *cache, unsigned long long *hits,
                      unsigned long long *misses, unsigned long long *stale,
                      size_t *bytes);

#endif
