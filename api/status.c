/* The sync status of the worker and of the recent days (see status.h). */
#include "status.h"

#include <stdbool.h>
#include <stdio.h>

#include "date.h"
#include "log.h"
#include "report.h"
#include "store.h"

/* The worker's columns on every row (null without a worker), then a job
 * per row, in the order of their names. Times come as whole seconds since
 * the epoch. */
static const char jobs_sql[] =
    "SELECT w.worker, w.version,"
    " floor(extract(epoch FROM w.leader_since))::bigint,"
    " floor(extract(epoch FROM w.heartbeat_at))::bigint,"
    " w.current_job, w.missing_first::text, w.missing_last::text,"
    " w.missing_days,"
    " j.job, j.schedule, j.sources, j.first_day, j.last_day,"
    " j.interval_seconds, floor(extract(epoch FROM j.next_run))::bigint,"
    " r.last_status, floor(extract(epoch FROM r.last_started_at))::bigint,"
    " floor(extract(epoch FROM r.last_finished_at))::bigint, r.last_error,"
    " floor(extract(epoch FROM r.last_success_at))::bigint"
    " FROM (SELECT 1) AS one"
    " LEFT JOIN worker_state w ON w.id = 1"
    " LEFT JOIN (sync_jobs j LEFT JOIN sync_job_status r ON r.job = j.job)"
    "   ON true"
    " ORDER BY j.job";

/* $1, $2: the first and last day; a row per day, the latest first. */
static const char days_sql[] =
    "SELECT d.day::date::text,"
    " floor(extract(epoch FROM s.synced_at))::bigint,"
    " floor(extract(epoch FROM c.synced_at))::bigint, c.records_written"
    " FROM generate_series($1::date, $2::date, interval '1 day') AS d(day)"
    " LEFT JOIN sync_state s ON s.stat_date = d.day::date"
    "   AND s.source = 'stats'"
    " LEFT JOIN sync_state c ON c.stat_date = d.day::date"
    "   AND c.source = 'calls'"
    " ORDER BY d.day DESC";

static const struct api_statement jobs_stmt = {API_STMT_SYNC_JOBS, "sync_jobs",
                                               jobs_sql, 0};
static const struct api_statement days_stmt = {API_STMT_SYNC_DAYS, "sync_days",
                                               days_sql, 2};

enum field_kind { FIELD_TEXT, FIELD_INT, FIELD_TIME };

struct field {
    const char *name;
    enum field_kind kind;
};

static const struct field worker_fields[] = {
    {"worker", FIELD_TEXT},       {"version", FIELD_TEXT},
    {"leader_since", FIELD_TIME}, {"heartbeat_at", FIELD_TIME},
    {"current_job", FIELD_TEXT},  {"missing_first", FIELD_TEXT},
    {"missing_last", FIELD_TEXT}, {"missing_days", FIELD_INT},
};
#define N_WORKER_FIELDS (int)(sizeof(worker_fields) / sizeof(worker_fields[0]))

static const struct field job_fields[] = {
    {"job", FIELD_TEXT},
    {"schedule", FIELD_TEXT},
    {"sources", FIELD_TEXT},
    {"first_day", FIELD_INT},
    {"last_day", FIELD_INT},
    {"interval_seconds", FIELD_INT},
    {"next_run", FIELD_TIME},
    {"last_status", FIELD_TEXT},
    {"last_started_at", FIELD_TIME},
    {"last_finished_at", FIELD_TIME},
    {"last_error", FIELD_TEXT},
    {"last_success_at", FIELD_TIME},
};
#define N_JOB_FIELDS (int)(sizeof(job_fields) / sizeof(job_fields[0]))

/* The columns of the days statement. */
enum { DAY_DATE, DAY_STATS_AT, DAY_CALLS_AT, DAY_RECORDS };

/* A time in seconds since the epoch as ISO 8601 in the business zone. */
static json_t *time_json(long long t)
{
    char text[40];
    api_format_time((time_t)t, text, sizeof(text));
    return json_string(text);
}

static json_t *field_json(const PGresult *res, int row, int col,
                          enum field_kind kind)
{
    if (PQgetisnull(res, row, col))
        return json_null();
    if (kind == FIELD_TEXT)
        return json_string(PQgetvalue(res, row, col));
    if (kind == FIELD_INT)
        return json_integer(api_store_count(res, row, col));
    return time_json(api_store_count(res, row, col));
}

/* The n fields from column first of a row as an object; NULL when out of
 * memory. */
static json_t *object_of(const PGresult *res, int row, int first,
                         const struct field *fields, int n)
{
    json_t *obj = json_object();
    for (int i = 0; obj != NULL && i < n; i++) {
        json_t *v = field_json(res, row, first + i, fields[i].kind);
        if (json_object_set_new(obj, fields[i].name, v) != 0) {
            json_decref(obj);
            obj = NULL;
        }
    }
    return obj;
}

static json_t *worker_json(const PGresult *jobs)
{
    /* worker_state.worker is never null: a null tells no row. */
    if (PQntuples(jobs) == 0 || PQgetisnull(jobs, 0, 0))
        return json_null();
    return object_of(jobs, 0, 0, worker_fields, N_WORKER_FIELDS);
}

static json_t *jobs_json(const PGresult *jobs)
{
    json_t *list = json_array();
    for (int r = 0; list != NULL && r < PQntuples(jobs); r++) {
        if (PQgetisnull(jobs, r, N_WORKER_FIELDS))
            continue; /* the one row of a database without jobs */
        json_t *job =
            object_of(jobs, r, N_WORKER_FIELDS, job_fields, N_JOB_FIELDS);
        if (json_array_append_new(list, job) != 0) {
            json_decref(list);
            list = NULL;
        }
    }
    return list;
}

/* A source of a day: when it was synced, and whether after the day's end
 * (it can no longer change then). */
static json_t *source_json(const PGresult *res, int row, int col, cs_day day)
{
    if (PQgetisnull(res, row, col))
        return json_pack("{s:n, s:b}", "synced_at", "complete", false);
    long long at = api_store_count(res, row, col);
    return json_pack("{s:o, s:b}", "synced_at", time_json(at), "complete",
                     api_source_complete(day, (time_t)at));
}

static json_t *day_json(const PGresult *res, int row)
{
    cs_day day;
    const char *date = PQgetvalue(res, row, DAY_DATE);
    if (!cs_date_parse(date, &day)) {
        cs_error("statement returned an unexpected date what=%s date=%s",
                 days_stmt.name, date);
        return NULL;
    }
    json_t *calls = source_json(res, row, DAY_CALLS_AT, day);
    if (calls != NULL && json_object_set_new(calls, "records_written",
                                             field_json(res, row, DAY_RECORDS,
                                                        FIELD_INT)) != 0) {
        json_decref(calls);
        calls = NULL;
    }
    return json_pack("{s:s, s:o, s:o}", "date", date, "stats",
                     source_json(res, row, DAY_STATS_AT, day), "calls", calls);
}

static json_t *days_json(const PGresult *days)
{
    json_t *list = json_array();
    for (int r = 0; list != NULL && r < PQntuples(days); r++) {
        if (json_array_append_new(list, day_json(days, r)) != 0) {
            json_decref(list);
            list = NULL;
        }
    }
    return list;
}

json_t *api_status_data(const PGresult *jobs, const PGresult *days)
{
    return json_pack("{s:o, s:o, s:o}", "jobs", jobs_json(jobs), "worker",
                     worker_json(jobs), "days", days_json(days));
}

void api_handle_sync_status(const struct api_context *ctx, const char *query,
                            struct api_response *resp)
{
    (void)query;
    cs_day today = ctx->today ? ctx->today() : cs_today();
    char first[CS_DATE_LEN], last[CS_DATE_LEN];
    cs_date_format(today - (API_STATUS_DAYS - 1), first);
    cs_date_format(today, last);
    const char *params[2] = {first, last};
    struct api_result jobs, days;
    enum api_store_failure why;
    /* Two statements: a job's run and a day's sync may differ by the
     * moment between them, which a status page can bear. */
    if (!api_store_query(ctx->pool, &jobs_stmt, NULL, false, &jobs, &why)) {
        api_set_store_failure(resp, why);
        return;
    }
    if (!api_store_query(ctx->pool, &days_stmt, params, false, &days, &why)) {
        api_result_clear(&jobs);
        api_set_store_failure(resp, why);
        return;
    }
    api_set_success(resp, api_status_data(jobs.rows, days.rows));
    api_result_clear(&jobs);
    api_result_clear(&days);
}
