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
 * The days of two ranges, [$1, $2] and [$3, $4], that are synced (a day
 * without a row never was); $5: the internal accounts, comma separated
 * (names never hold a comma: the setting is split at commas). Days come
 * as numbers since 1970-01-01, sync times as whole seconds since the
 * epoch. Ranges rather than a list of days: a month is an index range.
 */
static const char read_days_sql[] =
    "SELECT s.stat_date - date '1970-01-01',"
    " floor(extract(epoch FROM s.stats_synced_at))::bigint,"
    " floor(extract(epoch FROM s.calls_synced_at))::bigint,"
    " s.calls_dialled, s.calls_answered, s.success_orders,"
    " s.active_accounts - coalesce(i.accounts, 0),"
    " s.grade_9, s.grade_1, s.records"
    " FROM day_summary s"
    " LEFT JOIN (SELECT stat_date, count(*) AS accounts FROM account_stats"
    "   WHERE (stat_date BETWEEN $1::date AND $2::date"
    "       OR stat_date BETWEEN $3::date AND $4::date)"
    "     AND calls_dialled > 0"
    "     AND username = ANY (string_to_array($5, ','))"
    "   GROUP BY stat_date) i USING (stat_date)"
    " WHERE s.stat_date BETWEEN $1::date AND $2::date"
    "    OR s.stat_date BETWEEN $3::date AND $4::date";

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

/* Sets a day's figures from row r of the statement's result. */
static void fill_day(const PGresult *res, int r, struct api_day *d)
{
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

/* Fills out[i] for dates[i] (the first `run` of them consecutive days)
 * from the rows of the days synced; a day without a row reads as never
 * synced, and a day asked twice is filled twice. False (logged) when the
 * rows do not have the columns expected. */
static bool fill_days(const PGresult *res, const cs_day *dates, size_t n,
                      size_t run, struct api_day *out)
{
    if (PQnfields(res) != COL_COUNT) {
        cs_error("statement returned unexpected columns what=read_days "
                 "columns=%d expected=%d",
                 PQnfields(res), COL_COUNT);
        return false;
    }
    for (size_t i = 0; i < n; i++)
        out[i] = (struct api_day){.date = dates[i]};
    for (int r = 0; r < PQntuples(res); r++) {
        cs_day day = (cs_day)api_store_count(res, r, COL_DATE);
        if (day >= dates[0] && day < dates[0] + (cs_day)run)
            fill_day(res, r, &out[day - dates[0]]);
        for (size_t i = run; i < n; i++)
            if (dates[i] == day)
                fill_day(res, r, &out[i]);
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

/* The first error the server sent for a pipeline: its SQLSTATE and
 * message, for the log and for what the request is answered. */
struct failure {
    char sqlstate[6];
    char message[200];
};

/* A query cancelled (SQLSTATE 57014): statement_timeout, a lock held
 * longer than that. The database is busy, not the request wrong. */
#define QUERY_CANCELED "57014"

static void note_failure(const PGresult *res, struct failure *failure)
{
    if (failure->message[0] != '\0' || PQresultStatus(res) != PGRES_FATAL_ERROR)
        return;
    const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    snprintf(failure->sqlstate, sizeof(failure->sqlstate), "%s",
             state ? state : "");
    snprintf(failure->message, sizeof(failure->message), "%s",
             PQresultErrorMessage(res));
}

/* Prepares stmt on the lease's connection unless it already is. */
static bool prepare(struct api_lease *lease, const struct api_statement *stmt,
                    struct failure *failure)
{
    unsigned long long bit = 1ULL << stmt->id;
    if (*lease->prepared & bit)
        return true;
    PGresult *res =
        PQprepare(lease->conn, stmt->name, stmt->sql, stmt->nparams, NULL);
    bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    if (!ok)
        note_failure(res, failure);
    PQclear(res);
    if (ok)
        *lease->prepared |= bit;
    return ok;
}

/* Reads the results of one statement of the pipeline: the last one that
 * is not NULL, which must hold rows. */
static PGresult *statement_rows(PGconn *conn, const struct deadline *start,
                                bool *timed_out, struct failure *failure)
{
    PGresult *res, *last = NULL;
    while ((res = next_result(conn, start, timed_out)) != NULL) {
        PQclear(last);
        last = res;
    }
    if (PQresultStatus(last) == PGRES_TUPLES_OK)
        return last;
    note_failure(last, failure);
    PQclear(last);
    return NULL;
}

/* Sends the version statement (when asked) and stmt in one pipeline and
 * reads both; false on any failure, for the caller to log. */
static bool run_once(struct api_lease *lease, const struct api_statement *stmt,
                     const char *const *params, bool versioned,
                     struct api_result *out, long deadline_ms, bool *timed_out,
                     struct failure *failure)
{
    PGconn *conn = lease->conn;
    if ((versioned && !prepare(lease, &version_stmt, failure)) ||
        !prepare(lease, stmt, failure))
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
        version =
            versioned ? statement_rows(conn, &start, timed_out, failure) : NULL;
        rows = statement_rows(conn, &start, timed_out, failure);
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

static void log_failure(PGconn *conn, const struct failure *failure,
                        enum cs_log_level level, const char *what,
                        const char *statement)
{
    const char *msg =
        failure->message[0] ? failure->message : PQerrorMessage(conn);
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
    struct failure failure = {{0}, {0}};
    bool ok = run_once(&lease, stmt, params, versioned, out, deadline_ms,
                       &timed_out, &failure);
    /* A restarted server closes every connection: try once on a new one. */
    if (!ok && !timed_out && PQstatus(lease.conn) != CONNECTION_OK) {
        log_failure(lease.conn, &failure, CS_LOG_WARN,
                    "database connection lost, reconnecting", stmt->name);
        failure = (struct failure){{0}, {0}};
        if (!api_pool_reconnect(&lease)) {
            *why = API_STORE_UNAVAILABLE;
            api_pool_release(&lease);
            return false;
        }
        ok = run_once(&lease, stmt, params, versioned, out, deadline_ms,
                      &timed_out, &failure);
    }
    if (timed_out) {
        cs_error("database did not answer within %ld ms what=%s", deadline_ms,
                 stmt->name);
        *why = API_STORE_UNAVAILABLE;
    } else if (!ok) {
        bool lost = PQstatus(lease.conn) != CONNECTION_OK;
        bool cancelled = strcmp(failure.sqlstate, QUERY_CANCELED) == 0;
        log_failure(lease.conn, &failure,
                    cancelled ? CS_LOG_WARN : CS_LOG_ERROR, "statement failed",
                    stmt->name);
        *why = lost        ? API_STORE_UNAVAILABLE
               : cancelled ? API_STORE_BUSY
                           : API_STORE_FAILED;
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
                                               read_days_sql, 5};

/* The length of the run of consecutive days that dates begins with. */
static size_t leading_run(const cs_day *dates, size_t n)
{
    size_t run = n > 0;
    while (run < n && dates[run] == dates[0] + (cs_day)run)
        run++;
    return run;
}

bool api_store_read_days(struct api_pool *pool, const cs_day *dates, size_t n,
                         const struct cs_list *internal, struct api_day *out,
                         struct api_result *version,
                         enum api_store_failure *why)
{
    *version = (struct api_result){.rows = NULL, .version = -1};
    if (n == 0) {
        *why = API_STORE_FAILED;
        return false;
    }
    /* The first range is the days' leading run; the second spans the
     * others (today and yesterday after a month), or repeats the first. */
    size_t run = leading_run(dates, n);
    cs_day lo = dates[0] + (cs_day)run - 1, hi = lo, first = dates[0];
    if (run < n) {
        lo = hi = dates[run];
        for (size_t i = run; i < n; i++) {
            lo = dates[i] < lo ? dates[i] : lo;
            hi = dates[i] > hi ? dates[i] : hi;
        }
    } else {
        lo = first;
    }
    char a[CS_DATE_LEN], b[CS_DATE_LEN], c[CS_DATE_LEN], d[CS_DATE_LEN];
    cs_date_format(first, a);
    cs_date_format(first + (cs_day)run - 1, b);
    cs_date_format(lo, c);
    cs_date_format(hi, d);
    char *accounts = api_store_accounts(internal);
    if (accounts == NULL) {
        cs_error("query parameters allocation failed what=read_days");
        *why = API_STORE_FAILED;
        return false;
    }
    const char *params[5] = {a, b, c, d, accounts};
    bool ok = api_store_query(pool, &days_stmt, params, true, version, why);
    if (ok) {
        ok = fill_days(version->rows, dates, n, run, out);
        if (!ok)
            *why = API_STORE_FAILED;
        api_result_clear(version);
    }
    free(accounts);
    return ok;
}
