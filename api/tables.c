/* The per-task, per-seat and per-grade tables (see tables.h). */
#include "tables.h"

#include <civetweb.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"
#include "log.h"
#include "params.h"
#include "report.h"
#include "store.h"

/* The sync times of day $1's two sources, in whole seconds since the
 * epoch (null when never synced): one row, whatever the day. */
#define SYNC_TIMES                                                             \
    "(SELECT floor(extract(epoch FROM max(synced_at)"                          \
    "   FILTER (WHERE source = 'stats')))::bigint AS stats_at,"                \
    " floor(extract(epoch FROM max(synced_at)"                                 \
    "   FILTER (WHERE source = 'calls')))::bigint AS calls_at"                 \
    " FROM sync_state WHERE stat_date = $1::date) AS h"

/*
 * $1: the day. A task is a row of task_stats (query_type 20), of
 * day_breakdown (its call records), or of both; the name the records give
 * wins over the statistics' one. The outer join to the sync times keeps
 * them when the day has no task.
 */
static const char tasks_sql[] =
    "SELECT h.stats_at, h.calls_at, t.task_id, t.task_name,"
    " t.calls_dialled, t.calls_answered, t.success_orders, t.grade_9,"
    " t.grade_1"
    " FROM " SYNC_TIMES " LEFT JOIN ("
    "   SELECT coalesce(s.task_id, b.key) AS task_id,"
    "     coalesce(b.name, s.task_name) AS task_name,"
    "     s.calls_dialled, s.calls_answered, s.success_orders,"
    "     b.grade_9, b.grade_1"
    "   FROM (SELECT task_id, task_name, calls_dialled, calls_answered,"
    "       success_orders FROM task_stats WHERE stat_date = $1::date) AS s"
    "   FULL JOIN (SELECT key, name, grade_9, grade_1 FROM day_breakdown"
    "       WHERE stat_date = $1::date AND dimension = 'task') AS b"
    "     ON b.key = s.task_id) AS t ON true"
    " ORDER BY t.calls_dialled DESC NULLS LAST, t.task_id";

/*
 * $1: the day, $2: the internal accounts, comma separated. An account's
 * grades are its call records' (by user_id): 0 when it has none, null
 * when its user_id is unknown or the day's call records were never
 * synced.
 */
static const char seats_sql[] =
    "SELECT h.stats_at, h.calls_at, a.username, a.calls_dialled,"
    " a.calls_answered, a.success_orders,"
    " CASE WHEN a.user_id IS NOT NULL AND h.calls_at IS NOT NULL"
    "   THEN coalesce(b.grade_9, 0) END,"
    " CASE WHEN a.user_id IS NOT NULL AND h.calls_at IS NOT NULL"
    "   THEN coalesce(b.grade_1, 0) END"
    " FROM " SYNC_TIMES " LEFT JOIN account_stats a ON a.stat_date = $1::date"
    "   AND a.username <> ALL (string_to_array($2, ','))"
    " LEFT JOIN day_breakdown b ON b.stat_date = $1::date"
    "   AND b.dimension = 'seat' AND b.key = a.user_id"
    " ORDER BY a.calls_dialled DESC NULLS LAST, a.username";

/*
 * $1, $2: the first and last day. A label is counted per class: a label
 * whose class changed with CALLSTATS_GRADE_9 or _1 between two days of
 * the range has a row for each, so that the classes add up to the days'
 * grade_9 and grade_1.
 */
static const char grades_sql[] =
    "SELECT h.calls_days, g.grade, g.grade_class, g.records"
    " FROM (SELECT count(*) AS calls_days FROM sync_state"
    "   WHERE source = 'calls' AND stat_date BETWEEN $1::date AND $2::date)"
    "   AS h"
    " LEFT JOIN (SELECT grade, grade_class, sum(records)::bigint AS records"
    "   FROM day_grades WHERE stat_date BETWEEN $1::date AND $2::date"
    "   GROUP BY grade, grade_class) AS g ON true"
    " ORDER BY g.records DESC NULLS LAST, g.grade COLLATE \"C\","
    " g.grade_class";

/* The columns every table's statement starts with. */
enum { COL_STATS_AT = 0, COL_CALLS_AT = 1 };
enum { COL_CALLS_DAYS = 0, COL_GRADE = 1, COL_RECORDS = 3 };

enum cell_kind {
    CELL_TEXT,
    CELL_COUNT,
    CELL_RATE, /* col / den as a percentage, 2 decimals */
};

/* A column of the answer: its name in JSON and in the CSV header, and
 * the statement's column (or two) it comes from. */
struct column {
    const char *name;
    enum cell_kind kind;
    int col; /* with CELL_RATE: the numerator */
    int den; /* with CELL_RATE: the denominator */
};

static const struct column task_columns[] = {
    {"task_id", CELL_TEXT, 2, 0},        {"task_name", CELL_TEXT, 3, 0},
    {"calls_dialled", CELL_COUNT, 4, 0}, {"calls_answered", CELL_COUNT, 5, 0},
    {"answer_rate", CELL_RATE, 5, 4},    {"success_orders", CELL_COUNT, 6, 0},
    {"grade_9", CELL_COUNT, 7, 0},       {"grade_1", CELL_COUNT, 8, 0},
};

static const struct column seat_columns[] = {
    {"username", CELL_TEXT, 2, 0},        {"calls_dialled", CELL_COUNT, 3, 0},
    {"calls_answered", CELL_COUNT, 4, 0}, {"answer_rate", CELL_RATE, 4, 3},
    {"success_orders", CELL_COUNT, 5, 0}, {"grade_9", CELL_COUNT, 6, 0},
    {"grade_1", CELL_COUNT, 7, 0},
};

static const struct column grade_columns[] = {
    {"grade", CELL_TEXT, COL_GRADE, 0},
    {"grade_class", CELL_TEXT, 2, 0},
    {"records", CELL_COUNT, COL_RECORDS, 0},
};

struct table {
    const char *name; /* of the rows in JSON, and in the CSV's file name */
    const struct column *columns;
    size_t ncolumns;
    int key; /* null on the statement's row that holds no table row */
    struct api_statement stmt;
};

#define COLUMNS(list) list, sizeof(list) / sizeof(list[0])

static const struct table tables[] = {
    [API_TABLE_TASKS] = {"tasks",
                         COLUMNS(task_columns),
                         2,
                         {API_STMT_TASKS, "tasks", tasks_sql, 1}},
    [API_TABLE_SEATS] = {"seats",
                         COLUMNS(seat_columns),
                         2,
                         {API_STMT_SEATS, "seats", seats_sql, 2}},
    [API_TABLE_GRADES] = {"grades",
                          COLUMNS(grade_columns),
                          COL_GRADE,
                          {API_STMT_GRADES, "grades", grades_sql, 2}},
};

static bool is_row(const struct table *t, const PGresult *res, int row)
{
    return !PQgetisnull(res, row, t->key);
}

/* The rate of a CELL_RATE column in hundredths; false when null. */
static bool cell_rate(const PGresult *res, int row, const struct column *c,
                      long long *hundredths)
{
    return !PQgetisnull(res, row, c->col) && !PQgetisnull(res, row, c->den) &&
           api_rate(api_store_count(res, row, c->col),
                    api_store_count(res, row, c->den), hundredths);
}

static json_t *cell_json(const PGresult *res, int row, const struct column *c)
{
    long long h = 0;
    if (PQgetisnull(res, row, c->col))
        return json_null();
    if (c->kind == CELL_TEXT)
        return json_string(PQgetvalue(res, row, c->col));
    if (c->kind == CELL_COUNT)
        return json_integer(api_store_count(res, row, c->col));
    return cell_rate(res, row, c, &h) ? json_real((double)h / 100.0)
                                      : json_null();
}

static json_t *row_json(const struct table *t, const PGresult *res, int row)
{
    json_t *obj = json_object();
    for (size_t i = 0; obj != NULL && i < t->ncolumns; i++) {
        json_t *cell = cell_json(res, row, &t->columns[i]);
        if (json_object_set_new(obj, t->columns[i].name, cell) != 0) {
            json_decref(obj);
            obj = NULL;
        }
    }
    return obj;
}

/* The table's rows as an array of objects; NULL when out of memory. */
static json_t *rows_json(const struct table *t, const PGresult *res)
{
    json_t *list = json_array();
    for (int r = 0; list != NULL && r < PQntuples(res); r++) {
        if (is_row(t, res, r) &&
            json_array_append_new(list, row_json(t, res, r)) != 0) {
            json_decref(list);
            list = NULL;
        }
    }
    return list;
}

static json_t *date_json(cs_day day)
{
    char text[CS_DATE_LEN];
    cs_date_format(day, text);
    return json_string(text);
}

/* A sync time of the statement's first row, or null. */
static json_t *synced_at_json(const PGresult *res, int col)
{
    char text[40];
    if (PQntuples(res) == 0 || PQgetisnull(res, 0, col))
        return json_null();
    api_format_time((time_t)api_store_count(res, 0, col), text, sizeof(text));
    return json_string(text);
}

static json_t *grades_data(cs_day from, cs_day to, const PGresult *res)
{
    const struct table *t = &tables[API_TABLE_GRADES];
    long long calls_days =
        PQntuples(res) > 0 ? api_store_count(res, 0, COL_CALLS_DAYS) : 0;
    long long total = 0;
    for (int r = 0; r < PQntuples(res); r++)
        if (is_row(t, res, r))
            total += api_store_count(res, r, COL_RECORDS);
    return json_pack("{s:o, s:o, s:I, s:o, s:o}", "from", date_json(from), "to",
                     date_json(to), "calls_days", (json_int_t)calls_days,
                     "total_records",
                     calls_days > 0 ? json_integer(total) : json_null(),
                     t->name, rows_json(t, res));
}

json_t *api_table_data(enum api_table_id id, cs_day from, cs_day to,
                       const PGresult *rows)
{
    if (id == API_TABLE_GRADES)
        return grades_data(from, to, rows);
    const struct table *t = &tables[id];
    return json_pack("{s:o, s:o, s:o, s:o}", "date", date_json(from),
                     "stats_synced_at", synced_at_json(rows, COL_STATS_AT),
                     "grades_synced_at", synced_at_json(rows, COL_CALLS_AT),
                     t->name, rows_json(t, rows));
}

static void put_cell(FILE *out, const PGresult *res, int row,
                     const struct column *c)
{
    long long h = 0;
    if (PQgetisnull(res, row, c->col))
        return;
    const char *text = PQgetvalue(res, row, c->col);
    if (c->kind == CELL_TEXT && text[0] == '\0')
        fputs("\"\"", out); /* an empty text, not a null */
    else if (c->kind == CELL_TEXT)
        api_csv_field(out, text);
    else if (c->kind == CELL_COUNT)
        fprintf(out, "%lld", api_store_count(res, row, c->col));
    else if (cell_rate(res, row, c, &h))
        fprintf(out, "%lld.%02lld", h / 100, h % 100);
}

char *api_table_csv(enum api_table_id id, const PGresult *rows, size_t *len)
{
    const struct table *t = &tables[id];
    char *buf = NULL;
    FILE *out = open_memstream(&buf, len);
    if (out == NULL) {
        cs_error("csv buffer failed what=%s", t->name);
        return NULL;
    }
    fputs(API_CSV_BOM, out);
    for (size_t i = 0; i < t->ncolumns; i++) {
        if (i > 0)
            fputc(',', out);
        api_csv_field(out, t->columns[i].name);
    }
    fputs("\r\n", out);
    for (int r = 0; r < PQntuples(rows); r++) {
        if (!is_row(t, rows, r))
            continue;
        for (size_t i = 0; i < t->ncolumns; i++) {
            if (i > 0)
                fputc(',', out);
            put_cell(out, rows, r, &t->columns[i]);
        }
        fputs("\r\n", out);
    }
    if (fclose(out) != 0) {
        cs_error("csv buffer failed what=%s", t->name);
        free(buf);
        return NULL;
    }
    return buf;
}

/* Runs the table's statement for from..to and answers with its rows in
 * the format asked for. */
static void answer_table(const struct api_context *ctx, enum api_table_id id,
                         cs_day from, cs_day to, struct api_response *resp)
{
    const struct table *t = &tables[id];
    char first[CS_DATE_LEN], last[CS_DATE_LEN];
    cs_date_format(from, first);
    cs_date_format(to, last);
    char *accounts = NULL;
    if (id == API_TABLE_SEATS &&
        (accounts = api_store_accounts(&ctx->cfg->internal_accounts)) == NULL) {
        cs_error("query parameters allocation failed what=%s", t->name);
        api_set_store_failure(resp, API_STORE_FAILED);
        return;
    }
    const char *params[2] = {first, id == API_TABLE_SEATS ? accounts : last};
    struct api_result result;
    enum api_store_failure why;
    bool ok = api_store_query(ctx->pool, &t->stmt, params, true, &result, &why);
    free(accounts);
    if (!ok) {
        api_set_store_failure(resp, why);
        return;
    }
    api_set_version(resp, &result);
    if (resp->format == API_FORMAT_CSV) {
        size_t length = 0;
        char *csv = api_table_csv(id, result.rows, &length);
        if (csv == NULL)
            api_set_store_failure(resp, API_STORE_FAILED);
        else
            api_set_csv(resp, csv, length, t->name, from, to);
    } else {
        api_set_success(resp, api_table_data(id, from, to, result.rows));
    }
    api_result_clear(&result);
}

static void answer_day_table(const struct api_context *ctx, const char *query,
                             enum api_table_id id, struct api_response *resp)
{
    struct api_error err;
    cs_day date;
    if (!api_param_date(query, "date", &date, &err)) {
        api_set_error(resp, &err);
        return;
    }
    answer_table(ctx, id, date, date, resp);
}

void api_handle_tasks(const struct api_context *ctx, const char *query,
                      struct api_response *resp)
{
    answer_day_table(ctx, query, API_TABLE_TASKS, resp);
}

void api_handle_seats(const struct api_context *ctx, const char *query,
                      struct api_response *resp)
{
    answer_day_table(ctx, query, API_TABLE_SEATS, resp);
}

/* True when the query names the parameter, with a value or without. */
static bool has_param(const char *query, const char *name)
{
    char value[64];
    return query != NULL &&
           mg_get_var(query, strlen(query), name, value, sizeof(value)) != -1;
}

/* Reads date, or from and to: exactly one of the two forms. False with
 * err set (400) otherwise. */
static bool grades_range(const char *query, cs_day *from, cs_day *to,
                         struct api_error *err)
{
    bool date = has_param(query, "date");
    bool range = has_param(query, "from") || has_param(query, "to");
    if (date && range) {
        api_error_set(err, 400, "invalid_parameter",
                      "parameter \"%s\" cannot be given with \"date\"; ask "
                      "for one day with date, or for a range with from and to",
                      has_param(query, "from") ? "from" : "to");
        return false;
    }
    if (range)
        return api_param_range(query, from, to, err);
    if (!date) {
        api_error_set(err, 400, "missing_parameter",
                      "missing parameter \"date\"; expected a day as "
                      "YYYY-MM-DD, or a range with from and to");
        return false;
    }
    if (!api_param_date(query, "date", from, err))
        return false;
    *to = *from;
    return true;
}

void api_handle_grades(const struct api_context *ctx, const char *query,
                       struct api_response *resp)
{
    struct api_error err;
    cs_day from, to;
    if (!grades_range(query, &from, &to, &err)) {
        api_set_error(resp, &err);
        return;
    }
    answer_table(ctx, API_TABLE_GRADES, from, to, resp);
}
