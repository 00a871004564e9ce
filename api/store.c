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
    " floor(extract(epoch FROM s.stats_synced_at))::bigint,"
    " floor(extract(epoch FROM s.calls_synced_at))::bigint,"
    " s.calls_dialled, s.calls_answered, s.success_orders,"
    " s.active_accounts - coalesce(i.accounts, 0),"
    " s.grade_9, s.grade_1, s.records"
    " FROM unnest($1::date[]) WITH ORDINALITY AS d(day, n)"
    " LEFT JOIN day_summary s ON s.stat_date = d.day"
    " LEFT JOIN (SELECT stat_date, count(*) AS accounts FROM account_stats"
    "   WHERE stat_date = ANY ($1::date[]) AND calls_dialled > 0"
    "     AND username = ANY (string_to_array($2, ','))"
    "   GROUP BY stat_date) i ON i.stat_date = d.day"
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

char *api_store_accounts(const struct cs_list *internal)
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

long long api_store_count(const PGresult *res, int row, int col)
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
        d->stats_synced_at = (time_t)api_store_count(res, r, COL_STATS_AT);
        d->grades_synced_at = (time_t)api_store_count(res, r, COL_CALLS_AT);
        d->calls_dialled = api_store_count(res, r, COL_DIALLED);
        d->calls_answered = api_store_count(res, r, COL_ANSWERED);
        d->success_orders = api_store_count(res, r, COL_SUCCESS);
        d->active_seats = api_store_count(res, r, COL_SEATS);
        d->grade_9 = api_store_count(res, r, COL_GRADE_9);
        d->grade_1 = api_store_count(res, r, COL_GRADE_1);
        d->records = api_store_count(res, r, COL_RECORDS);
    }
    return true;
}

/* How long a statement may take before its connection is given up: the
 * server's statement_timeout (2 s) plus time for its answer to arrive. A
 * server that does not answer at all (a frozen host) is not waited for. */
#define QUERY_DEADLINE_MS 3000

static const struct api_statement version_stmt = {
    API_STMT_VERSION, "version",
    "SELECT version, floor(extract(epoch FROM changed_at))::bigint"
    " FROM data_version WHERE id = 1",
    0};

static long ms_since(const struct timespec *start)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (now.tv_sec - start->tv_sec) * 1000L +
           (now.tv_nsec - start->tv_nsec) / 1000000L;
}

/* The next result of the connection, waiting for it up to the deadline;
 * past it the connection is shut, so that it reads as broken and is
 * reopened. NULL at the end of a statement's results or on failure. */
struct deadline {
    struct timespec start;
    long ms;
};

static PGresult *next_result(PGconn *conn, const struct deadline *start,
                             bool *timed_out)
{
    while (PQisBusy(conn)) {
        long left = start->ms - ms_since(&start->start);
        if (left <= 0) {
            *timed_out = true;
            shutdown(PQsocket(conn), SHUT_RDWR);
            return NULL;
        }
        struct pollfd pfd = {.fd = PQsocket(conn), .events = POLLIN};
        if ((poll(&pfd, 1, (int)left) < 0 && errno != EINTR) ||
            !PQconsumeInput(conn))
            return NULL;
    }
    return PQgetResult(conn);
}

/* Prepares stmt on the lease's connection unless it already is. */
static bool prepare(struct api_lease *lease, const struct api_statement *stmt)
{
    unsigned long long bit = 1ULL << stmt->id;
    if (*lease->prepared & bit)
        return true;
    PGresult *res =
        PQprepare(lease->conn, stmt->name, stmt->sql, stmt->nparams, NULL);
    bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    PQclear(res);
    if (ok)
        *lease->prepared |= bit;
    return ok;
}

/* Reads the results of one statement of the pipeline: the last one that
 * is not NULL, which must hold rows. */
static PGresult *statement_rows(PGconn *conn, const struct deadline *start,
                                bool *timed_out)
{
    PGresult *res, *last = NULL;
    while ((res = next_result(conn, start, timed_out)) != NULL) {
        PQclear(last);
        last = res;
    }
    if (PQresultStatus(last) == PGRES_TUPLES_OK)
        return last;
    PQclear(last);
    return NULL;
}

/* Sends the version statement (when asked) and stmt in one pipeline and
 * reads both; false on any failure, for the caller to log. */
static bool run_once(struct api_lease *lease, const struct api_statement *stmt,
                     const char *const *params, bool versioned,
                     struct api_result *out, long deadline_ms, bool *timed_out)
{
    PGconn *conn = lease->conn;
    if ((versioned && !prepare(lease, &version_stmt)) || !prepare(lease, stmt))
        return false;
    struct deadline start = {.ms = deadline_ms};
    clock_gettime(CLOCK_MONOTONIC, &start.start);
    if (!PQenterPipelineMode(conn))
        return false;
    bool sent = (!versioned || PQsendQueryPrepared(conn, version_stmt.name, 0,
                                                   NULL, NULL, NULL, 0)) &&
                PQsendQueryPrepared(conn, stmt->name, stmt->nparams, params,
                                    NULL, NULL, 0) &&
                PQpipelineSync(conn);
    PGresult *version = NULL, *rows = NULL;
    if (sent) {
        version = versioned ? statement_rows(conn, &start, timed_out) : NULL;
        rows = statement_rows(conn, &start, timed_out);
    }
    /* Whatever happened, read up to the pipeline's end so that the
     * connection can leave pipeline mode, unless it is broken. */
    PGresult *res;
    while (!*timed_out && PQstatus(conn) == CONNECTION_OK &&
           (res = next_result(conn, &start, timed_out)) != NULL) {
        bool end = PQresultStatus(res) == PGRES_PIPELINE_SYNC;
        PQclear(res);
        if (end)
            break;
    }
    if (!PQexitPipelineMode(conn) && PQstatus(conn) == CONNECTION_OK)
        shutdown(PQsocket(conn), SHUT_RDWR); /* never reuse it half read */
    bool ok = sent && rows != NULL && (!versioned || version != NULL);
    if (ok && versioned && PQntuples(version) == 1) {
        out->version = api_store_count(version, 0, 0);
        out->changed_at = (time_t)api_store_count(version, 0, 1);
    } else if (ok && versioned) {
        ok = false; /* no data_version row: a database not migrated */
    }
    PQclear(version);
    if (ok)
        out->rows = rows;
    else
        PQclear(rows);
    return ok;
}

static void log_failure(PGconn *conn, enum cs_log_level level, const char *what,
                        const char *statement)
{
    const char *msg = PQerrorMessage(conn);
    char line[256];
    cs_log(level, "%s what=%s error=\"%s\"", what, statement,
           cs_log_value(msg[0] ? msg : "the statement returned no rows", line,
                        sizeof(line)));
}

/* api_store_query with a wait for a connection (-1: the pool's) and a
 * deadline for the answer. */
static bool query_within(struct api_pool *pool,
                         const struct api_statement *stmt,
                         const char *const *params, bool versioned,
                         struct api_result *out, int wait_ms, long deadline_ms,
                         enum api_store_failure *why)
{
    *out = (struct api_result){.rows = NULL, .version = -1, .changed_at = 0};
    enum api_pool_failure pool_why;
    struct api_lease lease;
    if (!(wait_ms < 0
              ? api_pool_acquire(pool, &lease, &pool_why)
              : api_pool_acquire_within(pool, &lease, wait_ms, &pool_why))) {
        *why =
            pool_why == API_POOL_BUSY ? API_STORE_BUSY : API_STORE_UNAVAILABLE;
        return false;
    }
    bool timed_out = false;
    bool ok =
        run_once(&lease, stmt, params, versioned, out, deadline_ms, &timed_out);
    /* A restarted server closes every connection: try once on a new one. */
    if (!ok && !timed_out && PQstatus(lease.conn) != CONNECTION_OK) {
        log_failure(lease.conn, CS_LOG_WARN,
                    "database connection lost, reconnecting", stmt->name);
        if (!api_pool_reconnect(&lease)) {
            *why = API_STORE_UNAVAILABLE;
            api_pool_release(&lease);
            return false;
        }
        ok = run_once(&lease, stmt, params, versioned, out, deadline_ms,
                      &timed_out);
    }
    if (timed_out) {
        cs_error("database did not answer within %ld ms what=%s", deadline_ms,
                 stmt->name);
        *why = API_STORE_UNAVAILABLE;
    } else if (!ok) {
        log_failure(lease.conn, CS_LOG_ERROR, "statement failed", stmt->name);
        bool lost = PQstatus(lease.conn) != CONNECTION_OK;
        *why = lost ? API_STORE_UNAVAILABLE : API_STORE_FAILED;
    }
    api_pool_release(&lease);
    return ok;
}

bool api_store_query(struct api_pool *pool, const struct api_statement *stmt,
                     const char *const *params, bool versioned,
                     struct api_result *out, enum api_store_failure *why)
{
    return query_within(pool, stmt, params, versioned, out, -1,
                        QUERY_DEADLINE_MS, why);
}

bool api_store_ping(struct api_pool *pool, int within_ms,
                    enum api_store_failure *why)
{
    static const struct api_statement ping = {API_STMT_READY, "ready",
                                              "SELECT 1", 0};
    struct api_result result;
    /* Half the time for a connection, the rest for its answer. */
    if (!query_within(pool, &ping, NULL, false, &result, within_ms / 2,
                      within_ms / 2, why))
        return false;
    api_result_clear(&result);
    return true;
}

void api_result_clear(struct api_result *result)
{
    PQclear(result->rows);
    result->rows = NULL;
}

static const struct api_statement days_stmt = {API_STMT_DAYS, "read_days",
                                               read_days_sql, 2};

bool api_store_read_days(struct api_pool *pool, const cs_day *dates, size_t n,
                         const struct cs_list *internal, struct api_day *out,
                         struct api_result *version,
                         enum api_store_failure *why)
{
    char *dates_text = dates_literal(dates, n);
    char *accounts = api_store_accounts(internal);
    bool ok = false;
    *version = (struct api_result){.rows = NULL, .version = -1};
    if (dates_text == NULL || accounts == NULL) {
        cs_error("query parameters allocation failed what=read_days "
                 "days=%zu",
                 n);
        *why = API_STORE_FAILED;
    } else {
        const char *params[2] = {dates_text, accounts};
        ok = api_store_query(pool, &days_stmt, params, true, version, why);
    }
    if (ok) {
        ok = fill_days(version->rows, dates, n, out);
        if (!ok)
            *why = API_STORE_FAILED;
        api_result_clear(version);
    }
    free(dates_text);
    free(accounts);
    return ok;
}
