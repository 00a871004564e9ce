/* One day of one source, fetched whole and written at once (daysync.h). */
#include "daysync.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db.h"
#include "log.h"
#include "migrate.h"
#include "records.h"
#include "signals.h"
#include "stats.h"
#include "store.h"

/* A listing that contradicts itself (short or empty pages, repeated
 * pages, records shifting between pages, a totalCount that falls) is
 * fetched again once before the day fails. */
#define CALLS_ATTEMPTS 2
#define LAST_SECOND    86399
/* No day has this many pages; a guard against an endless listing. */
#define MAX_PAGES 5000

/* Seconds from .. to (0 .. 86399) of the platform's day. */
struct window {
    cs_day day;
    int from, to;
};

const char *daysync_source_name(enum sched_source source)
{
    return source == SCHED_STATS ? "stats" : "calls";
}

/* True when a kept connection still answers: a restarted server has
 * closed it without libpq knowing until the next statement. */
static bool connection_alive(PGconn *conn)
{
    if (conn == NULL || PQstatus(conn) != CONNECTION_OK)
        return false;
    PGresult *res = PQexec(conn, "SELECT 1");
    bool ok = PQresultStatus(res) == PGRES_TUPLES_OK;
    PQclear(res);
    return ok;
}

bool daysync_connect(struct daysync *ds, struct werr *err)
{
    if (connection_alive(ds->conn))
        return true;
    daysync_close(ds);
    ds->conn = cs_db_connect(ds->cfg->database_url, "callstats-worker", false);
    if (ds->conn == NULL)
        return werr_set(err, "database unreachable");
    /* A day's write waits at most this long for a lock: another worker's
     * write of the same day takes seconds. */
    if (!cs_db_exec(ds->conn, "set lock_timeout",
                    "SET lock_timeout = '120s'")) {
        daysync_close(ds);
        return werr_set(err, "database session could not be set up");
    }
    /* Every new connection checks the schema: a database that came up
     * after the worker started may not have been migrated. */
    if (!migrate_check(ds->conn, err) || !store_window_table(ds->conn, err)) {
        daysync_close(ds);
        return false;
    }
    sig_watch_connection(ds->conn);
    return true;
}

void daysync_close(struct daysync *ds)
{
    if (ds->conn != NULL)
        sig_watch_connection(NULL);
    PQfinish(ds->conn);
    ds->conn = NULL;
}

static double elapsed_since(const struct timespec *start)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - start->tv_sec) +
           (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

bool daysync_check_total(int64_t total, int64_t highest, int64_t fetched,
                         int page, struct werr *err)
{
    if (total < 0)
        return werr_set(err,
                        "upstream totalCount is negative page=%d total=%lld",
                        page, (long long)total);
    if (total < highest)
        return werr_set(err,
                        "upstream totalCount fell page=%d from=%lld to=%lld",
                        page, (long long)highest, (long long)total);
    if (fetched > total)
        return werr_set(err,
                        "upstream delivered more records than its totalCount "
                        "page=%d records=%lld total=%lld",
                        page, (long long)fetched, (long long)total);
    return true;
}

/* The platform's day, 00:00:00 to 23:59:59 at UTC+8, as Unix seconds. */
#define PLATFORM_UTC_OFFSET (8 * 3600)

bool daysync_check_day(const struct rec_list *list, size_t from, cs_day day,
                       int page, struct werr *err)
{
    int64_t start = (int64_t)day * 86400 - PLATFORM_UTC_OFFSET;
    for (size_t i = from; i < list->count; i++) {
        int64_t t = list->items[i].call_time;
        if (t != 0 && (t < start || t >= start + 86400))
            return werr_set(err,
                            "upstream record outside the day asked for "
                            "page=%d id=%s call_time=%lld",
                            page, rec_text(&list->items[i], REC_ID),
                            (long long)t);
    }
    return true;
}

/* What a listing came to. */
enum listing {
    LISTING_OK,
    LISTING_FAILED,       /* a request failed: res->err says why */
    LISTING_INCONSISTENT, /* the upstream contradicted itself */
};

/* Checks one page against what its totalCount promised; false with err
 * set when it holds fewer records than it must. */
static bool check_page(size_t count, int64_t fetched, int64_t total, int page,
                       struct werr *err)
{
    int64_t before = fetched - (int64_t)count;
    if (count == 0 && before < total)
        return werr_set(err,
                        "upstream page empty where totalCount promised "
                        "records page=%d fetched=%lld total=%lld",
                        page, (long long)before, (long long)total);
    if (count < UPSTREAM_PAGE_SIZE && fetched < total)
        return werr_set(err,
                        "upstream page shorter than promised page=%d "
                        "records=%zu fetched=%lld total=%lld",
                        page, count, (long long)fetched, (long long)total);
    return true;
}

/* Pages through the window until the fetched count reaches totalCount
 * (read again from every page). */
static enum listing fetch_calls(struct daysync *ds, const struct window *w,
                                struct rec_list *list, int64_t *total,
                                struct daysync_result *res)
{
    int64_t fetched = 0, highest = 0;
    for (int page = 1;; page++) {
        json_t *data = NULL;
        size_t count = 0;
        if (sig_stop_requested()) {
            werr_stopped(&res->err, "the day before writing");
            return LISTING_FAILED;
        }
        if (page > MAX_PAGES) {
            werr_set(&res->err, "more than %d pages", MAX_PAGES);
            return LISTING_FAILED;
        }
        if (!upstream_cdr_page(ds->up, w->day, w->from, w->to, page, &data,
                               &res->err))
            return LISTING_FAILED;
        size_t before = list->count;
        bool ok = rec_parse_page(data, list, total, &count, &res->err);
        json_decref(data);
        if (!ok)
            return LISTING_FAILED;
        res->pages++;
        fetched += (int64_t)count;
        if (!daysync_check_day(list, before, w->day, page, &res->err) ||
            !daysync_check_total(*total, highest, fetched, page, &res->err) ||
            !check_page(count, fetched, *total, page, &res->err))
            return LISTING_INCONSISTENT;
        highest = *total;
        if (fetched >= *total)
            break;
    }
    rec_dedupe(list);
    return LISTING_OK;
}

static bool fetch_window(struct daysync *ds, const struct window *w,
                         struct rec_list *list, int64_t *total,
                         struct daysync_result *res)
{
    char date[CS_DATE_LEN];
    cs_date_format(w->day, date);
    for (int attempt = 1;; attempt++) {
        enum listing got = fetch_calls(ds, w, list, total, res);
        if (got == LISTING_FAILED)
            return false;
        if (got == LISTING_OK && (int64_t)list->count >= *total)
            return true;
        if (got == LISTING_OK)
            werr_set(&res->err,
                     "distinct records %zu fewer than totalCount %lld "
                     "day=%s (a page repeated or records shifted)",
                     list->count, (long long)*total, date);
        if (attempt == CALLS_ATTEMPTS) {
            res->inconsistent = true;
            return false;
        }
        cs_warn("upstream listing inconsistent day=%s attempt=%d: fetching "
                "it again",
                date, attempt);
        werr_clear(&res->err);
        rec_list_free(list);
    }
}

static bool sync_calls(struct daysync *ds, cs_day day,
                       struct daysync_result *res)
{
    struct rec_list list = {0};
    struct window w = {day, 0, LAST_SECOND};
    int64_t total = 0;
    time_t started = time(NULL);
    bool ok = fetch_window(ds, &w, &list, &total, res);
    if (ok && sig_stop_requested())
        ok = werr_stopped(&res->err, "the day before writing");
    if (ok)
        ok = daysync_connect(ds, &res->err) &&
             store_calls_day(ds->conn, ds->cfg, day, &list, total, started,
                             &res->err);
    if (ok)
        res->records = (int64_t)list.count;
    rec_list_free(&list);
    return ok;
}

static bool fetch_stats(struct daysync *ds, cs_day day, int query_type,
                        struct stats_table *table, struct daysync_result *res)
{
    json_t *data = NULL;
    if (sig_stop_requested())
        return werr_stopped(&res->err, "the day before writing");
    if (!upstream_stats(ds->up, day, query_type, &data, &res->err))
        return false;
    bool ok = stats_parse(data, query_type, table, &res->err);
    json_decref(data);
    if (ok)
        res->pages++;
    return ok;
}

static bool sync_stats(struct daysync *ds, cs_day day,
                       struct daysync_result *res)
{
    struct stats_table accounts = {0}, tasks = {0};
    time_t started = time(NULL);
    bool ok = fetch_stats(ds, day, STATS_BY_ACCOUNT, &accounts, res) &&
              fetch_stats(ds, day, STATS_BY_TASK, &tasks, res);
    if (ok && sig_stop_requested())
        ok = werr_stopped(&res->err, "the day before writing");
    if (ok)
        ok = daysync_connect(ds, &res->err) &&
             store_stats_day(ds->conn, day, &accounts, &tasks, started,
                             &res->err);
    if (ok)
        res->records = (int64_t)(accounts.count + tasks.count);
    stats_table_free(&accounts);
    stats_table_free(&tasks);
    return ok;
}

bool daysync_run(struct daysync *ds, cs_day day, enum sched_source source,
                 struct daysync_result *res)
{
    char date[CS_DATE_LEN];
    struct timespec start;
    memset(res, 0, sizeof(*res));
    cs_date_format(day, date);
    clock_gettime(CLOCK_MONOTONIC, &start);
    bool ok = source == SCHED_STATS ? sync_stats(ds, day, res)
                                    : sync_calls(ds, day, res);
    res->seconds = elapsed_since(&start);
    if (ok)
        cs_info("day synced source=%s day=%s pages=%d records=%lld "
                "seconds=%.2f",
                daysync_source_name(source), date, res->pages,
                (long long)res->records, res->seconds);
    else
        cs_warn("day not synced source=%s day=%s pages=%d seconds=%.2f: "
                "the old data stays",
                daysync_source_name(source), date, res->pages, res->seconds);
    return ok;
}

/* The moment as of which today's calls were last synced, or -1. */
static bool last_synced(struct daysync *ds, cs_day day, time_t *at,
                        struct werr *err)
{
    char date[CS_DATE_LEN];
    cs_date_format(day, date);
    const char *p[] = {date};
    PGresult *r = PQexecParams(ds->conn,
                               "SELECT extract(epoch FROM synced_at)::bigint "
                               "FROM sync_state WHERE stat_date = $1::date "
                               "AND source = 'calls'",
                               1, NULL, p, NULL, NULL, 0);
    bool ok = PQresultStatus(r) == PGRES_TUPLES_OK;
    if (!ok) {
        const char *msg = PQerrorMessage(ds->conn);
        werr_set(err,
                 "database statement failed what=last synced "
                 "error=\"%.*s\"",
                 (int)strcspn(msg, "\n"), msg);
    } else {
        *at = PQntuples(r) == 1 ? (time_t)strtoll(PQgetvalue(r, 0, 0), NULL, 10)
                                : (time_t)-1;
    }
    PQclear(r);
    return ok;
}

bool daysync_incremental(struct daysync *ds, cs_day day,
                         struct daysync_result *res)
{
    char date[CS_DATE_LEN];
    struct timespec start;
    time_t synced = (time_t)-1, started = time(NULL);
    memset(res, 0, sizeof(*res));
    cs_date_format(day, date);
    clock_gettime(CLOCK_MONOTONIC, &start);
    if (!daysync_connect(ds, &res->err) ||
        !last_synced(ds, day, &synced, &res->err))
        return false;
    if (synced == (time_t)-1) {
        cs_info("no earlier sync of the day day=%s: fetching it whole", date);
        return daysync_run(ds, day, SCHED_CALLS, res);
    }
    struct window w = {day, 0, LAST_SECOND};
    int64_t day_start = (int64_t)day * 86400 - PLATFORM_UTC_OFFSET;
    int64_t from = (int64_t)synced - ds->cfg->today_lookback - day_start;
    w.from = from < 0 ? 0 : from > LAST_SECOND ? LAST_SECOND : (int)from;
    struct rec_list list = {0};
    int64_t total = 0;
    bool ok = fetch_window(ds, &w, &list, &total, res);
    if (ok && sig_stop_requested())
        ok = werr_stopped(&res->err, "the window before writing");
    if (ok)
        ok = daysync_connect(ds, &res->err) &&
             store_calls_merge(ds->conn, ds->cfg, day, &list, started,
                               &res->err);
    if (ok)
        res->records = (int64_t)list.count;
    rec_list_free(&list);
    res->seconds = elapsed_since(&start);
    if (ok)
        cs_info("window synced source=calls day=%s from=%02d:%02d:%02d "
                "pages=%d records=%lld seconds=%.2f",
                date, w.from / 3600, w.from / 60 % 60, w.from % 60, res->pages,
                (long long)res->records, res->seconds);
    else
        cs_warn("window not synced source=calls day=%s pages=%d "
                "seconds=%.2f: the old data stays",
                date, res->pages, res->seconds);
    return ok;
}
