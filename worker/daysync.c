/* One day of one source, fetched whole and written at once (daysync.h). */
#include "daysync.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db.h"
#include "log.h"
#include "migrate.h"
#include "idset.h"
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
    ds->conn =
        cs_db_connect(ds->cfg->database_url,
                      ds->app_name ? ds->app_name : "callstats-worker", false);
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
    /* Room to sort a day's staged records in memory. */
    if (!migrate_check(ds->conn, err) || !store_stage_table(ds->conn, err) ||
        !cs_db_exec(ds->conn, "set work_mem", "SET work_mem = '64MB'")) {
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

/* A listing as its pages come in. */
struct listing_state {
    bool merge;          /* into today's records, else replacing the day */
    int64_t first_total; /* page 1's totalCount: later ones never fall below */
    int64_t highest;     /* the highest totalCount seen */
    int64_t fetched;     /* records received */
    int wanted;          /* pages asked for */
    struct idset ids;    /* the distinct records, written once each */
    int gen;             /* the generation the rows are written as */
};

/* The records page `page` must hold when the listing has total in all. */
static int64_t page_should_hold(int page, int64_t total)
{
    int64_t before = (int64_t)(page - 1) * UPSTREAM_PAGE_SIZE;
    int64_t left = total - before;
    return left <= 0                   ? 0
           : left < UPSTREAM_PAGE_SIZE ? left
                                       : UPSTREAM_PAGE_SIZE;
}

/* Checks one page against its own totalCount; false with err set when it
 * holds fewer (or more) records than that promises. */
static bool check_page(size_t count, int page, int64_t total, struct werr *err)
{
    int64_t want = page_should_hold(page, total);
    if ((int64_t)count == want)
        return true;
    return werr_set(err,
                    "upstream page %s than promised page=%d records=%zu "
                    "expected=%lld total=%lld",
                    count == 0              ? "empty, shorter"
                    : (int64_t)count < want ? "shorter"
                                            : "longer",
                    page, count, (long long)want, (long long)total);
}

/* Drops from list the records whose id came before (a page repeated,
 * records shifted): each id is written once, and the set counts them. */
static bool keep_new(struct rec_list *list, struct idset *ids, struct werr *err)
{
    size_t kept = 0;
    for (size_t i = 0; i < list->count; i++) {
        bool added;
        if (!idset_add(ids, rec_text(&list->items[i], REC_ID), &added))
            return werr_set(err, "out of memory counting record ids");
        if (added)
            list->items[kept++] = list->items[i];
        else
            rec_record_free(&list->items[i]);
    }
    list->count = kept;
    return true;
}

/* One page: checked and written into the day's transaction. */
static enum listing take_page(struct daysync *ds, const struct window *w,
                              const char *date, int page, struct rec_list *list,
                              int64_t total, size_t count,
                              struct listing_state *ls,
                              struct daysync_result *res)
{
    if (!daysync_check_day(list, 0, w->day, page, &res->err) ||
        !daysync_check_total(total, ls->first_total, 0, page, &res->err) ||
        !check_page(count, page, total, &res->err))
        return LISTING_INCONSISTENT;
    if (!keep_new(list, &ls->ids, &res->err) ||
        !store_calls_put(ds->conn, ds->cfg, date, ls->gen, list, &res->err))
        return LISTING_FAILED;
    res->pages++;
    if (ds->on_page != NULL && !ds->on_page(ds->ctx)) {
        werr_set(&res->err, "the worker stopped leading during the day");
        return LISTING_FAILED;
    }
    ls->fetched += (int64_t)count;
    if (page == 1)
        ls->first_total = total;
    if (total > ls->highest)
        ls->highest = total;
    return LISTING_OK;
}

/* Asks for the pages that the highest totalCount seen calls for. */
static enum listing want_pages(struct upstream_pager *pager,
                               struct listing_state *ls, struct werr *err)
{
    int64_t need = (ls->highest + UPSTREAM_PAGE_SIZE - 1) / UPSTREAM_PAGE_SIZE;
    if (need > MAX_PAGES) {
        werr_set(err, "more than %d pages", MAX_PAGES);
        return LISTING_FAILED;
    }
    while (ls->wanted < need) {
        if (!upstream_pager_want(pager, ++ls->wanted)) {
            werr_set(err, "out of memory asking for page %d", ls->wanted);
            return LISTING_FAILED;
        }
    }
    return LISTING_OK;
}

/* Fetches every page of the window into the stage, several at once. */
static enum listing fetch_calls(struct daysync *ds, const struct window *w,
                                struct listing_state *ls,
                                struct daysync_result *res)
{
    char date[CS_DATE_LEN];
    cs_date_format(w->day, date);
    bool merge = ls->merge;
    idset_clear(&ls->ids);
    struct idset ids = ls->ids;
    memset(ls, 0, sizeof(*ls));
    ls->merge = merge;
    ls->ids = ids;
    struct upstream_pager *pager = upstream_pager_new(
        ds->up, w->day, w->from, w->to, ds->cfg->pages_in_flight);
    if (pager == NULL) {
        werr_set(&res->err, "libcurl could not start a pager");
        return LISTING_FAILED;
    }
    enum listing got = LISTING_OK;
    if (!daysync_connect(ds, &res->err) ||
        !store_calls_begin(ds->conn, w->day, merge, &ls->gen, &res->err))
        got = LISTING_FAILED;
    ls->wanted = 1;
    if (got == LISTING_OK && !upstream_pager_want(pager, 1))
        got = LISTING_FAILED;
    while (got == LISTING_OK) {
        struct rec_list list = {0};
        int64_t total = 0;
        size_t count = 0;
        int page = upstream_pager_next(pager, &list, &total, &count, &res->err);
        if (page <= 0) {
            got = page == 0 ? LISTING_OK : LISTING_FAILED;
            break;
        }
        got = take_page(ds, w, date, page, &list, total, count, ls, res);
        rec_list_free(&list);
        if (got == LISTING_OK)
            got = want_pages(pager, ls, &res->err);
    }
    upstream_pager_free(pager);
    if (got == LISTING_OK && ls->fetched > ls->highest) {
        werr_set(&res->err,
                 "upstream delivered more records than its totalCount "
                 "records=%lld total=%lld",
                 (long long)ls->fetched, (long long)ls->highest);
        got = LISTING_INCONSISTENT;
    }
    return got;
}

/*
 * Fetches the window into the day's transaction and commits it, once more
 * if the upstream contradicted itself. False with res->err (and
 * res->inconsistent) set; the day's old data then stays.
 */
static bool fetch_window(struct daysync *ds, const struct window *w, bool merge,
                         struct daysync_result *res)
{
    char date[CS_DATE_LEN];
    cs_date_format(w->day, date);
    struct listing_state ls = {.merge = merge};
    time_t started = time(NULL);
    bool ok = false;
    for (int attempt = 1;; attempt++) {
        enum listing got = fetch_calls(ds, w, &ls, res);
        int64_t distinct = (int64_t)ls.ids.count;
        if (got == LISTING_OK && distinct < ls.highest) {
            werr_set(&res->err,
                     "distinct records %lld fewer than totalCount %lld "
                     "day=%s (a page repeated or records shifted)",
                     (long long)distinct, (long long)ls.highest, date);
            got = LISTING_INCONSISTENT;
        }
        if (got == LISTING_OK && sig_stop_requested()) {
            werr_stopped(&res->err, "the day before writing");
            got = LISTING_FAILED;
        }
        if (got == LISTING_OK) {
            int64_t day_records = 0;
            ok = store_calls_commit(ds->conn, w->day, merge, ls.gen, ls.highest,
                                    started, &day_records, &res->err);
            /* A window counts what it fetched, a whole day what it holds. */
            res->records = merge ? distinct : day_records;
            break;
        }
        if (ds->conn != NULL)
            store_calls_abandon(ds->conn);
        if (got == LISTING_FAILED)
            break;
        if (attempt == CALLS_ATTEMPTS) {
            res->inconsistent = true;
            break;
        }
        cs_warn("upstream listing inconsistent day=%s attempt=%d: fetching "
                "it again",
                date, attempt);
        werr_clear(&res->err);
        started = time(NULL);
    }
    idset_free(&ls.ids);
    return ok;
}

static bool sync_calls(struct daysync *ds, cs_day day,
                       struct daysync_result *res)
{
    struct window w = {day, 0, LAST_SECOND};
    return fetch_window(ds, &w, false, res);
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
        char line[256];
        werr_set(err,
                 "database statement failed what=last synced "
                 "error=\"%s\"",
                 cs_log_value(msg, line, sizeof(line)));
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
    time_t synced = (time_t)-1;
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
    bool ok = fetch_window(ds, &w, true, res);
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
