/*
 * Reading the tables the worker fills: each statement prepared once per
 * connection and run with the data version read just before it, so that
 * a response can be cached under the version it is at least as new as.
 */
#ifndef API_STORE_H
#define API_STORE_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "config.h"
#include "pool.h"
#include "report.h"

/* Why a statement could not be run. */
enum api_store_failure {
    API_STORE_BUSY,        /* no database connection free in time */
    API_STORE_UNAVAILABLE, /* the database cannot be reached */
    API_STORE_FAILED,      /* the statement failed (logged) */
};

/* Every statement the API runs: the bit of a connection's prepared set. */
enum api_statement_id {
    API_STMT_VERSION,
    API_STMT_DAYS,
    API_STMT_TASKS,
    API_STMT_SEATS,
    API_STMT_GRADES,
    API_STMT_SYNC_JOBS,
    API_STMT_SYNC_DAYS,
    API_STMT_WORKER_METRICS,
    API_STMT_READY,
    API_STMT_COUNT
};

struct api_statement {
    enum api_statement_id id;
    const char *name; /* the prepared statement's name, and for the log */
    const char *sql;
    int nparams; /* text parameters $1..$n */
};

/* A statement's rows, and the data version read in the same round trip
 * just before them (the rows are at least that new). */
struct api_result {
    PGresult *rows;
    long long version; /* -1 when not asked for */
    time_t changed_at; /* when that version was written */
};

/*
 * Runs stmt with params (n of stmt->nparams, NULL for SQL null) on a
 * pooled connection, preparing it first if that connection has not. With
 * versioned, out->version and out->changed_at come from data_version. A
 * connection found broken is reopened and the statement run once more.
 * False with *why set otherwise; free out with api_result_clear.
 */
__attribute__((warn_unused_result)) bool
api_store_query(struct api_pool *pool, const struct api_statement *stmt,
                const char *const *params, bool versioned,
                struct api_result *out, enum api_store_failure *why);

void api_result_clear(struct api_result *result);

/* True when a pooled connection answers a trivial statement, the wait for
 * it and its answer within within_ms together. */
__attribute__((warn_unused_result)) bool
api_store_ping(struct api_pool *pool, int within_ms,
               enum api_store_failure *why);

/* A column as a count: 0 when null. */
long long api_store_count(const PGresult *res, int row, int col);

/*
 * Fills out[i] for dates[i], i < n, in one statement: each day's sync
 * state of both sources, totals, active seats (the accounts with calls,
 * less internal) and grade counts; *version as of api_store_query.
 */
__attribute__((warn_unused_result)) bool
api_store_read_days(struct api_pool *pool, const cs_day *dates, size_t n,
                    const struct cs_list *internal, struct api_day *out,
                    struct api_result *version, enum api_store_failure *why);

/* The internal accounts joined by commas, the form statements take them
 * in ($n, split by string_to_array); the caller frees it. NULL when out of
 * memory. */
char *api_store_accounts(const struct cs_list *internal);

#endif
