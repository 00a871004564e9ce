/* The API's one query over the worker's tables (see store.h). */
#include "store.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "log.h"

/*
 * $1: the days as a date array literal, $2: the internal accounts, comma
 * separated (names never hold a comma: the setting is split at commas).
 * Sync times come as whole seconds since the epoch.
 */
static const char read_days_sql[] =
    "SELECT d.day::text,"
    " floor(extract(epoch FROM s.synced_at))::bigint,"
    " floor(extract(epoch FROM c.synced_at))::bigint,"
    " coalesce(t.calls_dialled, 0), coalesce(t.calls_answered, 0),"
    " coalesce(t.success_orders, 0),"
    " (SELECT count(*) FROM account_stats a"
    "   WHERE a.stat_date = d.day AND a.calls_dialled > 0"
    "     AND a.username <> ALL (string_to_array($2, ','))),"
    " g.grade_9, g.grade_1, g.records"
    " FROM unnest($1::date[]) WITH ORDINALITY AS d(day, n)"
    " LEFT JOIN sync_state s ON s.stat_date = d.day AND s.source = 'stats'"
    " LEFT JOIN sync_state c ON c.stat_date = d.day AND c.source = 'calls'"
    " LEFT JOIN day_totals t ON t.stat_date = d.day"
    " CROSS JOIN LATERAL (SELECT"
    "   coalesce(sum(records) FILTER (WHERE grade_class = 'grade_9'), 0)"
    "     AS grade_9,"
    "   coalesce(sum(records) FILTER (WHERE grade_class = 'grade_1'), 0)"
    "     AS grade_1,"
    "   coalesce(sum(records), 0) AS records"
    "   FROM day_grades WHERE day_grades.stat_date = d.day) g"
    " ORDER BY d.n";

enum {
    COL_DATE,
    COL_STATS_AT,
    COL_CALLS_AT,
    COL_DIALLED,
    COL_ANSWERED,
    COL_SUCCESS,
    COL_SEATS,
    COL_GRADE_9,
    COL_GRADE_1,
    COL_RECORDS,
    COL_COUNT
};

/* "{2025-10-01,2025-10-02}"; the caller frees it. NULL when out of
 * memory. */
static char *dates_literal(const cs_day *dates, size_t n)
{
    char *text = malloc(n * CS_DATE_LEN + 3);
    if (text == NULL)
        return NULL;
    size_t len = 0;
    text[len++] = '{';
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            text[len++] = ',';
        cs_date_format(dates[i], text + len);
        len += CS_DATE_LEN - 1;
    }
    text[len++] = '}';
    text[len] = '\0';
    return text;
}

/* The internal accounts joined by commas; the caller frees it. */
static char *accounts_text(const struct cs_list *internal)
{
    size_t len = 1;
    for (size_t i = 0; i < internal->count; i++)
        len += strlen(internal->items[i]) + 1;
    char *text = calloc(1, len);
    if (text == NULL)
        return NULL;
    for (size_t i = 0; i < internal->count; i++) {
        if (i > 0)
            strcat(text, ",");
        strcat(text, internal->items[i]);
    }
    return text;
}

static long long get_count(const PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col)
               ? 0
               : strtoll(PQgetvalue(res, row, col), NULL, 10);
}

/* Copies the result's rows into out; false (logged) when they do not
 * match the days asked for. */
static bool fill_days(const PGresult *res, const cs_day *dates, size_t n,
                      struct api_day *out)
{
    if ((size_t)PQntuples(res) != n || PQnfields(res) != COL_COUNT) {
        cs_error("statement returned unexpected rows what=read_days "
                 "rows=%d expected=%zu",
                 PQntuples(res), n);
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        int r = (int)i;
        struct api_day *d = &out[i];
        *d = (struct api_day){.date = dates[i]};
        d->stats_synced = !PQgetisnull(res, r, COL_STATS_AT);
        d->calls_synced = !PQgetisnull(res, r, COL_CALLS_AT);
        d->stats_synced_at = (time_t)get_count(res, r, COL_STATS_AT);
        d->grades_synced_at = (time_t)get_count(res, r, COL_CALLS_AT);
        d->calls_dialled = get_count(res, r, COL_DIALLED);
        d->calls_answered = get_count(res, r, COL_ANSWERED);
        d->success_orders = get_count(res, r, COL_SUCCESS);
        d->active_seats = get_count(res, r, COL_SEATS);
        d->grade_9 = get_count(res, r, COL_GRADE_9);
        d->grade_1 = get_count(res, r, COL_GRADE_1);
        d->records = get_count(res, r, COL_RECORDS);
    }
    return true;
}

/* How long a statement may take before its connection is given up: the
 * server's statement_timeout (5 s) plus time for its answer to arrive. A
 * server that does not answer at all (a frozen host) is not waited for. */
#define QUERY_DEADLINE_MS 7000

static long ms_since(const struct timespec *start)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (now.tv_sec - start->tv_sec) * 1000L +
           (now.tv_nsec - start->tv_nsec) / 1000000L;
}

/* Waits for the answer of a statement sent; past the deadline the
 * connection is shut, so that it reads as broken and is reopened. */
static void await_answer(PGconn *conn, bool *timed_out)
{
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    while (PQisBusy(conn)) {
        long left = QUERY_DEADLINE_MS - ms_since(&start);
        if (left <= 0) {
            *timed_out = true;
            shutdown(PQsocket(conn), SHUT_RDWR);
            return;
        }
        struct pollfd pfd = {.fd = PQsocket(conn), .events = POLLIN};
        if ((poll(&pfd, 1, (int)left) < 0 && errno != EINTR) ||
            !PQconsumeInput(conn))
            return;
    }
}

/* Runs the statement; NULL on failure, for the caller to log. */
static PGresult *run_read_days(PGconn *conn, const char *dates,
                               const char *accounts, bool *timed_out)
{
    const char *params[2] = {dates, accounts};
    if (!PQsendQueryParams(conn, read_days_sql, 2, NULL, params, NULL, NULL, 0))
        return NULL;
    await_answer(conn, timed_out);
    PGresult *res, *last = NULL;
    while ((res = PQgetResult(conn)) != NULL) {
        PQclear(last);
        last = res;
    }
    if (PQresultStatus(last) == PGRES_TUPLES_OK)
        return last;
    PQclear(last);
    return NULL;
}

static void log_failure(PGconn *conn, enum cs_log_level level, const char *what)
{
    const char *msg = PQerrorMessage(conn);
    char line[256];
    cs_log(level, "%s what=read_days error=\"%s\"", what,
           cs_log_value(msg, line, sizeof(line)));
}

/* Runs the statement on a lease, once more on a new connection if the
 * first one turned out broken (a restarted server closes them all). */
static bool query_days(struct api_lease *lease, const char *dates,
                       const char *accounts, const cs_day *days, size_t n,
                       struct api_day *out, enum api_store_failure *why)
{
    bool timed_out = false;
    PGresult *res = run_read_days(lease->conn, dates, accounts, &timed_out);
    if (timed_out) {
        cs_error("database did not answer within %d ms what=read_days",
                 QUERY_DEADLINE_MS);
        *why = API_STORE_UNAVAILABLE;
        return false;
    }
    if (res == NULL && PQstatus(lease->conn) != CONNECTION_OK) {
        log_failure(lease->conn, CS_LOG_WARN,
                    "database connection lost, reconnecting");
        if (!api_pool_reconnect(lease)) {
            *why = API_STORE_UNAVAILABLE;
            return false;
        }
        res = run_read_days(lease->conn, dates, accounts, &timed_out);
    }
    if (res == NULL) {
        log_failure(lease->conn, CS_LOG_ERROR, "statement failed");
        bool lost = PQstatus(lease->conn) != CONNECTION_OK;
        *why = lost ? API_STORE_UNAVAILABLE : API_STORE_FAILED;
        return false;
    }
    bool ok = fill_days(res, days, n, out);
    PQclear(res);
    if (!ok)
        *why = API_STORE_FAILED;
    return ok;
}

bool api_store_read_days(struct api_pool *pool, const cs_day *dates, size_t n,
                         const struct cs_list *internal, struct api_day *out,
                         enum api_store_failure *why)
{
    enum api_pool_failure pool_why;
    struct api_lease lease;
    if (!api_pool_acquire(pool, &lease, &pool_why)) {
        *why =
            pool_why == API_POOL_BUSY ? API_STORE_BUSY : API_STORE_UNAVAILABLE;
        return false;
    }
    char *dates_text = dates_literal(dates, n);
    char *accounts = accounts_text(internal);
    bool ok = false;
    if (dates_text == NULL || accounts == NULL) {
        cs_error("query parameters allocation failed what=read_days "
                 "days=%zu",
                 n);
        *why = API_STORE_FAILED;
    } else {
        ok = query_days(&lease, dates_text, accounts, dates, n, out, why);
    }
    free(dates_text);
    free(accounts);
    api_pool_release(&lease);
    return ok;
}
