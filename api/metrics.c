/* The API's metrics (see metrics.h). */
#include "metrics.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "routes.h"
#include "store.h"

/* The statuses counted by name; any other is counted as "other". */
static const int statuses[] = {200, 204, 304, 400, 401, 404, 405,
                               406, 413, 414, 431, 500, 503};
#define STATUS_COUNT (sizeof(statuses) / sizeof(statuses[0]))

/* Upper bounds of the duration histogram's buckets, in seconds. */
static const double bounds[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025,
                                0.005,  0.01,    0.025,  0.05,  0.1,
                                0.25,   0.5,     1,      2.5,   5};
#define BUCKET_COUNT (sizeof(bounds) / sizeof(bounds[0]))

struct route_counts {
    atomic_ullong by_status[STATUS_COUNT + 1];
    atomic_ullong buckets[BUCKET_COUNT + 1]; /* the last: above every bound */
    atomic_ullong micros;                    /* the sum of durations */
};

struct api_metrics {
    size_t routes; /* the routes and "other" */
    struct route_counts *counts;
};

struct api_metrics *api_metrics_create(void)
{
    struct api_metrics *m = calloc(1, sizeof(*m));
    if (m != NULL) {
        m->routes = api_route_count() + 1;
        m->counts = calloc(m->routes, sizeof(*m->counts));
    }
    if (m == NULL || m->counts == NULL) {
        cs_error("metrics allocation failed");
        free(m);
        return NULL;
    }
    return m;
}

void api_metrics_destroy(struct api_metrics *metrics)
{
    if (metrics == NULL)
        return;
    free(metrics->counts);
    free(metrics);
}

void api_metrics_record(struct api_metrics *metrics, size_t route, int status,
                        double seconds)
{
    if (metrics == NULL)
        return;
    struct route_counts *c =
        &metrics->counts[route < metrics->routes ? route : metrics->routes - 1];
    size_t s = 0;
    while (s < STATUS_COUNT && statuses[s] != status)
        s++;
    atomic_fetch_add_explicit(&c->by_status[s], 1, memory_order_relaxed);
    size_t b = 0;
    while (b < BUCKET_COUNT && seconds > bounds[b])
        b++;
    atomic_fetch_add_explicit(&c->buckets[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&c->micros,
                              (unsigned long long)(seconds * 1e6 + 0.5),
                              memory_order_relaxed);
}

static void write_requests(struct api_metrics *m, FILE *out)
{
    fputs("# HELP callstats_api_requests_total Requests answered, by route "
          "template and status.\n"
          "# TYPE callstats_api_requests_total counter\n",
          out);
    for (size_t r = 0; r < m->routes; r++) {
        for (size_t s = 0; s <= STATUS_COUNT; s++) {
            unsigned long long n = atomic_load(&m->counts[r].by_status[s]);
            if (n == 0)
                continue;
            if (s < STATUS_COUNT)
                fprintf(out,
                        "callstats_api_requests_total{route=\"%s\","
                        "status=\"%d\"} %llu\n",
                        api_route_path(r), statuses[s], n);
            else
                fprintf(out,
                        "callstats_api_requests_total{route=\"%s\","
                        "status=\"other\"} %llu\n",
                        api_route_path(r), n);
        }
    }
}

static void write_durations(struct api_metrics *m, FILE *out)
{
    fputs("# HELP callstats_api_request_duration_seconds Time from a "
          "request read to its answer written.\n"
          "# TYPE callstats_api_request_duration_seconds histogram\n",
          out);
    for (size_t r = 0; r < m->routes; r++) {
        struct route_counts *c = &m->counts[r];
        /* Read once: requests counted while this is written must not make
         * a bucket exceed +Inf (and _count). */
        unsigned long long seen[BUCKET_COUNT + 1], total = 0;
        for (size_t b = 0; b <= BUCKET_COUNT; b++)
            total += seen[b] = atomic_load(&c->buckets[b]);
        if (total == 0)
            continue;
        const char *route = api_route_path(r);
        unsigned long long cumulative = 0;
        for (size_t b = 0; b < BUCKET_COUNT; b++) {
            cumulative += seen[b];
            fprintf(
                out,
                "callstats_api_request_duration_seconds_bucket{route=\"%s\","
                "le=\"%g\"} %llu\n",
                route, bounds[b], cumulative);
        }
        fprintf(out,
                "callstats_api_request_duration_seconds_bucket{route=\"%s\","
                "le=\"+Inf\"} %llu\n"
                "callstats_api_request_duration_seconds_sum{route=\"%s\"} "
                "%.6f\n"
                "callstats_api_request_duration_seconds_count{route=\"%s\"} "
                "%llu\n",
                route, total, route, (double)atomic_load(&c->micros) / 1e6,
                route, total);
    }
}

static void gauge(FILE *out, const char *name, const char *help,
                  const char *type, double value)
{
    fprintf(out, "# HELP %s %s\n# TYPE %s %s\n%s %.15g\n", name, help, name,
            type, name, value);
}

void api_metrics_write(struct api_metrics *metrics,
                       const struct api_pool_stats *pool,
                       struct api_cache *cache, FILE *out)
{
    write_requests(metrics, out);
    write_durations(metrics, out);
    gauge(out, "callstats_api_pool_size",
          "Database connections the pool "
          "may open.",
          "gauge", pool->size);
    gauge(out, "callstats_api_pool_in_use",
          "Database connections lent to "
          "requests.",
          "gauge", pool->in_use);
    gauge(out, "callstats_api_pool_waiting",
          "Requests waiting for a "
          "database connection.",
          "gauge", pool->waiting);
    gauge(out, "callstats_api_pool_timeouts_total",
          "Waits for a database "
          "connection that ended in a 503.",
          "counter", (double)pool->timeouts);
    gauge(out, "callstats_api_pool_connect_failures_total",
          "Database "
          "connections that could not be opened.",
          "counter", (double)pool->failures);
    if (cache == NULL)
        return;
    unsigned long long hits, misses, stale;
    size_t bytes;
    api_cache_counts(cache, &hits, &misses, &stale, &bytes);
    gauge(out, "callstats_api_cache_hits_total",
          "Answers served from the "
          "response cache.",
          "counter", (double)hits);
    gauge(out, "callstats_api_cache_misses_total",
          "Cacheable answers built "
          "anew.",
          "counter", (double)misses);
    gauge(out, "callstats_api_cache_stale_total",
          "Cached answers served because the database could not be "
          "reached.",
          "counter", (double)stale);
    gauge(out, "callstats_api_cache_bytes",
          "Memory held by cached "
          "answers.",
          "gauge", (double)bytes);
    gauge(out, "callstats_api_data_version",
          "The data version answers are "
          "cached under; -1 while unknown.",
          "gauge", (double)api_cache_version(cache));
}

/* $1: today as YYYY-MM-DD. Jobs' last successes, then today's sync times
 * by source, as whole seconds since the epoch. */
static const struct api_statement worker_stmt = {
    API_STMT_WORKER_METRICS, "worker_metrics",
    "SELECT 'job', job, floor(extract(epoch FROM last_success_at))::bigint"
    " FROM sync_job_status WHERE last_success_at IS NOT NULL"
    " UNION ALL"
    " SELECT 'today', source, floor(extract(epoch FROM synced_at))::bigint"
    " FROM sync_state WHERE stat_date = $1::date"
    " ORDER BY 1, 2",
    1};

void api_worker_metrics(struct api_pool *pool, cs_day today, time_t now,
                        FILE *out)
{
    char day[CS_DATE_LEN];
    cs_date_format(today, day);
    const char *params[1] = {day};
    struct api_result result;
    enum api_store_failure why;
    bool up = api_store_query(pool, &worker_stmt, params, false, &result, &why);
    gauge(out, "callstats_database_up",
          "1 when the API could read the "
          "worker's tables for this scrape.",
          "gauge", up ? 1 : 0);
    if (!up)
        return;
    PGresult *res = result.rows;
    fputs("# HELP callstats_job_last_success_timestamp_seconds When each "
          "job of the worker last succeeded.\n"
          "# TYPE callstats_job_last_success_timestamp_seconds gauge\n",
          out);
    for (int r = 0; r < PQntuples(res); r++)
        if (strcmp(PQgetvalue(res, r, 0), "job") == 0)
            fprintf(out,
                    "callstats_job_last_success_timestamp_seconds{job=\"%s\"} "
                    "%s\n",
                    PQgetvalue(res, r, 1), PQgetvalue(res, r, 2));
    fputs("# HELP callstats_today_data_age_seconds Seconds since today's "
          "data of each source was synced.\n"
          "# TYPE callstats_today_data_age_seconds gauge\n",
          out);
    for (int r = 0; r < PQntuples(res); r++)
        if (strcmp(PQgetvalue(res, r, 0), "today") == 0)
            fprintf(out,
                    "callstats_today_data_age_seconds{source=\"%s\"} %lld\n",
                    PQgetvalue(res, r, 1),
                    (long long)now - api_store_count(res, r, 2));
    api_result_clear(&result);
}
