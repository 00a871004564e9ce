/* Unit tests of the tasks, seats and grades tables and of the sync status:
 * their JSON and CSV built from statement rows made by hand. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <stdlib.h>
#include <string.h>

#include "../../api/report.h"
#include "../../api/status.h"
#include "../../api/tables.h"

#define BOM "\xEF\xBB\xBF"

/* 2025-10-04 20:00:05 and 2025-10-05 00:05:00 in Asia/Shanghai. */
#define EVENING "1759579205"
#define AFTER   "1759593900"
#define N       NULL /* an SQL null */
#define ROWS(...)                                                              \
    (const char *const[])                                                      \
    {                                                                          \
        __VA_ARGS__                                                            \
    }

/* A result of ncols text columns and nrows rows, cells row by row. */
static PGresult *make_result(int ncols, int nrows, const char *const *cells)
{
    PGresult *res = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK);
    PGresAttDesc attrs[32];
    char names[32][16];
    assert_true(ncols <= 32);
    memset(attrs, 0, sizeof(attrs));
    for (int c = 0; c < ncols; c++) {
        snprintf(names[c], sizeof(names[c]), "c%d", c);
        attrs[c].name = names[c];
        attrs[c].typid = 25; /* text */
        attrs[c].typlen = -1;
        attrs[c].atttypmod = -1;
    }
    assert_true(PQsetResultAttrs(res, ncols, attrs));
    for (int r = 0; r < nrows; r++) {
        for (int c = 0; c < ncols; c++) {
            const char *v = cells[r * ncols + c];
            assert_true(
                PQsetvalue(res, r, c, (char *)v, v ? (int)strlen(v) : -1));
        }
    }
    return res;
}

static const char *text_of(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    assert_true(json_is_string(v));
    return json_string_value(v);
}

static void assert_text(json_t *doc, const char *want)
{
    char *text = json_dumps(doc, API_JSON_FLAGS);
    assert_string_equal(text, want);
    free(text);
}

static cs_day oct(int mday)
{
    return cs_date_from_ymd(2025, 10, mday);
}

static PGresult *task_rows(void)
{
    return make_result(
        9, 3,
        ROWS(EVENING, AFTER, "101", "任务101", "29014", "5290", "8", "7",
             "1",                                            /* both */
             EVENING, AFTER, "102", N, "10", "0", "0", N, N, /* stats only */
             EVENING, AFTER, "103", "回访, \"二\"", N, N, N, "2", "0"));
}

static void test_tasks_json(void **state)
{
    (void)state;
    PGresult *res = task_rows();
    json_t *data = api_table_data(API_TABLE_TASKS, oct(4), oct(4), res);
    assert_non_null(data);
    assert_string_equal(text_of(data, "date"), "2025-10-04");
    assert_string_equal(text_of(data, "stats_synced_at"),
                        "2025-10-04T20:00:05+08:00");
    assert_string_equal(text_of(data, "grades_synced_at"),
                        "2025-10-05T00:05:00+08:00");
    json_t *tasks = json_object_get(data, "tasks");
    assert_int_equal(json_array_size(tasks), 3);
    assert_text(json_array_get(tasks, 0),
                "{\"task_id\":\"101\",\"task_name\":\"任务101\","
                "\"calls_dialled\":29014,\"calls_answered\":5290,"
                "\"answer_rate\":18.23,\"success_orders\":8,\"grade_9\":7,"
                "\"grade_1\":1}");
    /* Known to one side only: the other side's figures are null, and a
     * rate over 0 calls too. */
    assert_text(json_array_get(tasks, 1),
                "{\"task_id\":\"102\",\"task_name\":null,"
                "\"calls_dialled\":10,\"calls_answered\":0,"
                "\"answer_rate\":0.0,\"success_orders\":0,\"grade_9\":null,"
                "\"grade_1\":null}");
    assert_text(json_array_get(tasks, 2),
                "{\"task_id\":\"103\",\"task_name\":\"回访, \\\"二\\\"\","
                "\"calls_dialled\":null,\"calls_answered\":null,"
                "\"answer_rate\":null,\"success_orders\":null,\"grade_9\":2,"
                "\"grade_1\":0}");
    json_decref(data);
    PQclear(res);
}

static void test_tasks_csv(void **state)
{
    (void)state;
    PGresult *res = task_rows();
    size_t len = 0;
    char *csv = api_table_csv(API_TABLE_TASKS, res, &len);
    assert_non_null(csv);
    assert_int_equal(len, strlen(csv));
    assert_string_equal(
        csv, BOM "task_id,task_name,calls_dialled,calls_answered,answer_rate,"
                 "success_orders,grade_9,grade_1\r\n"
                 "101,任务101,29014,5290,18.23,8,7,1\r\n"
                 "102,,10,0,0.00,0,,\r\n"
                 "103,\"回访, \"\"二\"\"\",,,,,2,0\r\n");
    free(csv);
    PQclear(res);
}

/* A day never synced: the statement's one row holds no task. */
static void test_day_never_synced(void **state)
{
    (void)state;
    PGresult *res = make_result(9, 1, ROWS(N, N, N, N, N, N, N, N, N));
    json_t *data = api_table_data(API_TABLE_TASKS, oct(20), oct(20), res);
    assert_text(data, "{\"date\":\"2025-10-20\",\"stats_synced_at\":null,"
                      "\"grades_synced_at\":null,\"tasks\":[]}");
    json_decref(data);
    size_t len = 0;
    char *csv = api_table_csv(API_TABLE_SEATS, res, &len);
    assert_string_equal(csv, BOM "username,calls_dialled,calls_answered,"
                                 "answer_rate,success_orders,grade_9,"
                                 "grade_1\r\n");
    free(csv);
    PQclear(res);
}

static void test_seats(void **state)
{
    (void)state;
    PGresult *res = make_result(
        8, 2,
        ROWS(EVENING, N, "坐席01", "500", "120", "2", N, N, /* no calls */
             EVENING, N, "seat,2", "0", "0", "0", N, N));
    json_t *data = api_table_data(API_TABLE_SEATS, oct(4), oct(4), res);
    assert_text(data,
                "{\"date\":\"2025-10-04\","
                "\"stats_synced_at\":\"2025-10-04T20:00:05+08:00\","
                "\"grades_synced_at\":null,\"seats\":["
                "{\"username\":\"坐席01\",\"calls_dialled\":500,"
                "\"calls_answered\":120,\"answer_rate\":24.0,"
                "\"success_orders\":2,\"grade_9\":null,\"grade_1\":null},"
                "{\"username\":\"seat,2\",\"calls_dialled\":0,"
                "\"calls_answered\":0,\"answer_rate\":null,"
                "\"success_orders\":0,\"grade_9\":null,\"grade_1\":null}]}");
    json_decref(data);
    size_t len = 0;
    char *csv = api_table_csv(API_TABLE_SEATS, res, &len);
    assert_string_equal(csv, BOM "username,calls_dialled,calls_answered,"
                                 "answer_rate,success_orders,grade_9,"
                                 "grade_1\r\n"
                                 "坐席01,500,120,24.00,2,,\r\n"
                                 "\"seat,2\",0,0,,0,,\r\n");
    free(csv);
    PQclear(res);
}

static PGresult *grade_rows(void)
{
    return make_result(4, 4,
                       ROWS("2", "", "other", "900",               /* */
                            "2", "AS1 成功单9元", "grade_9", "30", /* */
                            "2", "AS2 成功单1元", "grade_1", "3",  /* */
                            "2", "A,\"quoted\"", "other", "1"));
}

static void test_grades_json(void **state)
{
    (void)state;
    PGresult *res = grade_rows();
    json_t *data = api_table_data(API_TABLE_GRADES, oct(4), oct(5), res);
    assert_text(data,
                "{\"from\":\"2025-10-04\",\"to\":\"2025-10-05\","
                "\"calls_days\":2,\"total_records\":934,\"grades\":["
                "{\"grade\":\"\",\"grade_class\":\"other\",\"records\":900},"
                "{\"grade\":\"AS1 成功单9元\",\"grade_class\":\"grade_9\","
                "\"records\":30},"
                "{\"grade\":\"AS2 成功单1元\",\"grade_class\":\"grade_1\","
                "\"records\":3},"
                "{\"grade\":\"A,\\\"quoted\\\"\",\"grade_class\":\"other\","
                "\"records\":1}]}");
    json_decref(data);
    PQclear(res);

    /* No day of the range synced: no total, not 0. */
    res = make_result(4, 1, ROWS("0", N, N, N));
    data = api_table_data(API_TABLE_GRADES, oct(20), oct(20), res);
    assert_text(data, "{\"from\":\"2025-10-20\",\"to\":\"2025-10-20\","
                      "\"calls_days\":0,\"total_records\":null,"
                      "\"grades\":[]}");
    json_decref(data);
    PQclear(res);
}

/* The label of records without a grade is an empty text, "" in CSV; a
 * label with a comma or a quote is quoted, its quotes doubled. */
static void test_grades_csv(void **state)
{
    (void)state;
    PGresult *res = grade_rows();
    size_t len = 0;
    char *csv = api_table_csv(API_TABLE_GRADES, res, &len);
    assert_int_equal(memcmp(csv, BOM, 3), 0);
    assert_string_equal(csv, BOM "grade,grade_class,records\r\n"
                                 "\"\",other,900\r\n"
                                 "AS1 成功单9元,grade_9,30\r\n"
                                 "AS2 成功单1元,grade_1,3\r\n"
                                 "\"A,\"\"quoted\"\"\",other,1\r\n");
    free(csv);
    PQclear(res);
}

/* The jobs statement's columns: the worker's 8, then the job's 12. */
#define WORKER_ROW                                                             \
    "worker-a", "0.1.0", EVENING, AFTER, "today_calls", "2025-09-01",          \
        "2025-09-03", "3"

static void test_status(void **state)
{
    (void)state;
    PGresult *jobs = make_result(
        20, 2,
        ROWS(WORKER_ROW, "recent", "01:00,10:00", "all", "-3", "-1", N, AFTER,
             "failed", EVENING, AFTER, "HTTP 500", N, /* */
             WORKER_ROW, "today_calls", "every 60s", "calls", "0", "0", "60",
             AFTER, "success", EVENING, EVENING, N, EVENING));
    PGresult *days = make_result(4, 3,
                                 ROWS("2025-10-05", N, N, N, /* never synced */
                                      "2025-10-04", EVENING, AFTER,
                                      "29014", /* calls complete */
                                      "2025-10-03", N, AFTER, "0"));
    json_t *data = api_status_data(jobs, days);
    assert_text(json_object_get(data, "worker"),
                "{\"worker\":\"worker-a\",\"version\":\"0.1.0\","
                "\"leader_since\":\"2025-10-04T20:00:05+08:00\","
                "\"heartbeat_at\":\"2025-10-05T00:05:00+08:00\","
                "\"current_job\":\"today_calls\","
                "\"missing_first\":\"2025-09-01\","
                "\"missing_last\":\"2025-09-03\",\"missing_days\":3}");
    json_t *list = json_object_get(data, "jobs");
    assert_int_equal(json_array_size(list), 2);
    assert_text(json_array_get(list, 0),
                "{\"job\":\"recent\",\"schedule\":\"01:00,10:00\","
                "\"sources\":\"all\",\"first_day\":-3,\"last_day\":-1,"
                "\"interval_seconds\":null,"
                "\"next_run\":\"2025-10-05T00:05:00+08:00\","
                "\"last_status\":\"failed\","
                "\"last_started_at\":\"2025-10-04T20:00:05+08:00\","
                "\"last_finished_at\":\"2025-10-05T00:05:00+08:00\","
                "\"last_error\":\"HTTP 500\",\"last_success_at\":null}");
    assert_int_equal(json_integer_value(json_object_get(json_array_get(list, 1),
                                                        "interval_seconds")),
                     60);
    assert_text(json_object_get(data, "days"),
                "[{\"date\":\"2025-10-05\","
                "\"stats\":{\"synced_at\":null,\"complete\":false},"
                "\"calls\":{\"synced_at\":null,\"complete\":false,"
                "\"records_written\":null}},"
                "{\"date\":\"2025-10-04\","
                "\"stats\":{\"synced_at\":\"2025-10-04T20:00:05+08:00\","
                "\"complete\":false},"
                "\"calls\":{\"synced_at\":\"2025-10-05T00:05:00+08:00\","
                "\"complete\":true,\"records_written\":29014}},"
                "{\"date\":\"2025-10-03\","
                "\"stats\":{\"synced_at\":null,\"complete\":false},"
                "\"calls\":{\"synced_at\":\"2025-10-05T00:05:00+08:00\","
                "\"complete\":true,\"records_written\":0}}]");
    json_decref(data);
    PQclear(jobs);
    PQclear(days);
}

/* A database no worker has led, with no jobs: worker null, no jobs. */
static void test_status_without_worker(void **state)
{
    (void)state;
    const char *cells[20] = {NULL};
    PGresult *jobs = make_result(20, 1, cells);
    PGresult *days = make_result(4, 0, NULL);
    json_t *data = api_status_data(jobs, days);
    assert_text(data, "{\"jobs\":[],\"worker\":null,\"days\":[]}");
    json_decref(data);
    PQclear(jobs);
    PQclear(days);
}

int main(void)
{
    setenv("TZ", "Asia/Shanghai", 1);
    tzset();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tasks_json),
        cmocka_unit_test(test_tasks_csv),
        cmocka_unit_test(test_day_never_synced),
        cmocka_unit_test(test_seats),
        cmocka_unit_test(test_grades_json),
        cmocka_unit_test(test_grades_csv),
        cmocka_unit_test(test_status),
        cmocka_unit_test(test_status_without_worker),
    };
    return cmocka_run_group_tests_name("api_tables", tests, NULL, NULL);
}
