/*
 * A day's figures per dialling task and per seat, and the grade labels of
 * a range of days: /api/stats/tasks, /api/stats/seats and
 * /api/stats/grades, each as JSON or as CSV, from one statement.
 */
#ifndef API_TABLES_H
#define API_TABLES_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stddef.h>

#include "date.h"
#include "routes.h"

enum api_table_id {
    /* Rows of: stats synced_at, calls synced_at (epoch seconds or null),
     * task_id, task_name, calls_dialled, calls_answered, success_orders,
     * grade_9, grade_1; the first row is there even without tasks, its
     * task_id then null. */
    API_TABLE_TASKS,
    /* The same, with username instead of task_id and task_name. */
    API_TABLE_SEATS,
    /* Rows of: calls_days, grade, grade_class, records; the first row is
     * there even without grades, its grade then null. */
    API_TABLE_GRADES,
};

/*
 * The data object of a table's JSON answer from its statement's rows:
 * for tasks and seats (from == to) the date, the sync times of the day's
 * two sources and the rows under "tasks" or "seats"; for grades from, to,
 * calls_days, total_records and the rows under "grades". NULL when out of
 * memory.
 */
json_t *api_table_data(enum api_table_id id, cs_day from, cs_day to,
                       const PGresult *rows);

/*
 * The CSV document of a table's rows: the UTF-8 byte order mark, a header
 * of the JSON field names, a CRLF line per row; a null is an empty cell,
 * an empty text "". In a buffer of *len bytes the caller frees; NULL
 * (logged) when out of memory.
 */
char *api_table_csv(enum api_table_id id, const PGresult *rows, size_t *len);

/* GET /api/stats/tasks?date=D */
void api_handle_tasks(const struct api_context *ctx, const char *query,
                      struct api_response *resp);

/* GET /api/stats/seats?date=D */
void api_handle_seats(const struct api_context *ctx, const char *query,
                      struct api_response *resp);

/* GET /api/stats/grades?date=D or ?from=D1&to=D2 */
void api_handle_grades(const struct api_context *ctx, const char *query,
                       struct api_response *resp);

#endif
