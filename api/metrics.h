/*
 * The API's own counters for /metrics, in Prometheus' text format:
 * requests by route template and status, their durations, the pool and
 * the cache; and, read from the worker's tables, the last success of
 * each job and the age of today's data. Labels are route templates and
 * job names only, never a date or a raw path.
 */
#ifndef API_METRICS_H
#define API_METRICS_H

#include <stdio.h>
#include <time.h>

#include "cache.h"
#include "date.h"
#include "pool.h"

struct api_metrics;

/* Counters for routes route templates (named by api_route_path) and one
 * more, "other", for paths that are none. NULL when out of memory. */
struct api_metrics *api_metrics_create(void);
void api_metrics_destroy(struct api_metrics *metrics);

/* Counts a request answered: its route's index (api_route_index), its
 * status and how long it took. Lock-free. */
void api_metrics_record(struct api_metrics *metrics, size_t route, int status,
                        double seconds);

/* Writes the API's own figures. */
void api_metrics_write(struct api_metrics *metrics,
                       const struct api_pool_stats *pool,
                       struct api_cache *cache, FILE *out);

/* Writes the figures read from the worker's tables, and
 * callstats_database_up; a database that cannot be reached gives
 * callstats_database_up 0 and nothing else. */
void api_worker_metrics(struct api_pool *pool, cs_day today, time_t now,
                        FILE *out);

#endif
