/* Unit tests of the day writer: COPY text escaping and the call_records
 * line; and writing days into the scratch database that
 * CALLSTATS_TEST_DATABASE_URL names (tests/run-unit.sh starts one):
 * replace, zero days, rollback, grades, the day's breakdown by task and
 * seat, the data's version. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "db.h"
#include "grades.h"
#include "../../worker/migrate.h"
#include "../../worker/store.h"

static struct cs_config cfg;

static int setup(void **state)
{
    (void)state;
    memset(&cfg, 0, sizeof(cfg));
    cs_list_parse(CS_GRADE_9_DEFAULT, &cfg.grade_9);
    cs_list_parse(CS_GRADE_1_DEFAULT, &cfg.grade_1);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    cs_list_free(&cfg.grade_9);
    cs_list_free(&cfg.grade_1);
    return 0;
}

static void copy_field_escaping(void **state)
{
    (void)state;
    struct buf b = {0};
    assert_true(store_copy_field(&b, NULL));
    assert_string_equal(b.data, "\\N");
    buf_reset(&b);
    assert_true(store_copy_field(&b, "a\tb\nc\\d\re"));
    assert_string_equal(b.data, "a\\tb\\nc\\\\d\\re");
    buf_reset(&b);
    assert_true(store_copy_field(&b, "\\N"));
    assert_string_equal(b.data, "\\\\N");
    buf_reset(&b);
    assert_true(store_copy_field(&b, ""));
    assert_string_equal(b.data, "");
    buf_reset(&b);
    assert_true(store_copy_field(&b, "成功单9元"));
    assert_string_equal(b.data, "成功单9元");
    buf_free(&b);
}

static json_t *load(const char *text)
{
    json_error_t jerr;
    json_t *v = json_loads(text, 0, &jerr);
    assert_non_null(v);
    return v;
}

static void parse_into(struct rec_list *list, const char *page)
{
    json_t *data = load(page);
    struct werr err = {{0}};
    int64_t total;
    size_t count;
    assert_true(rec_parse_page(data, list, &total, &count, &err));
    json_decref(data);
}

static void copy_record_line(void **state)
{
    (void)state;
    struct rec_list list = {0};
    parse_into(&list, "{\"totalCount\": 1, \"data\": [{\"id\": 42,"
                      " \"callTime\": 1759540530, \"taskName\": \"a\\tb\","
                      " \"duration\": 12, \"isCall\": 1,"
                      " \"grade\": \"AS2 成功单1元\"}]}");
    struct buf b = {0};
    assert_true(store_copy_record(&b, &cfg, "2025-10-04", &list.items[0]));
    assert_string_equal(b.data, "2025-10-04\t42\t2025-10-04 01:15:30+00\t\\N"
                                "\t\\N\ta\\tb\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N"
                                "\t12\t1\t\\N\tAS2 成功单1元\tgrade_1\t\\N"
                                "\t\\N\t\\N\n");
    buf_free(&b);
    rec_list_free(&list);
}

static PGconn *test_db(void)
{
    const char *url = getenv("CALLSTATS_TEST_DATABASE_URL");
    if (url == NULL || url[0] == '\0')
        fail_msg("CALLSTATS_TEST_DATABASE_URL is not set; run the unit "
                 "tests through tests/run-unit.sh");
    PGconn *conn = cs_db_connect(url, "test_worker_store", false);
    assert_non_null(conn);
    struct werr err = {{0}};
    assert_true(migrate_apply(conn, stdout, &err));
    return conn;
}

static long long query_int(PGconn *conn, const char *sql)
{
    PGresult *res = PQexec(conn, sql);
    assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
    long long v = PQgetisnull(res, 0, 0) ? -1 : atoll(PQgetvalue(res, 0, 0));
    PQclear(res);
    return v;
}

/* Leaves the scratch database without the test's day. */
static void forget_day(PGconn *conn, const char *date)
{
    const char *tables[] = {"call_records", "day_grades", "account_stats",
                            "day_totals",   "task_stats", "sync_state",
                            "day_breakdown"};
    for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
        char sql[128];
        snprintf(sql, sizeof(sql), "DELETE FROM %s WHERE stat_date = '%s'",
                 tables[i], date);
        assert_true(cs_db_exec(conn, tables[i], sql));
    }
}

static void calls_day_is_replaced_whole(void **state)
{
    (void)state;
    PGconn *conn = test_db();
    cs_day day = cs_date_from_ymd(2001, 2, 3);
    struct rec_list list = {0};
    struct werr err = {{0}};
    parse_into(&list,
               "{\"totalCount\": 4, \"data\": ["
               "{\"id\": 1, \"grade\": \"AS1 成功单9元\","
               " \"duration\": 30, \"taskId\": 7, \"TaskName\": \"t7\","
               " \"userId\": 10001},"
               "{\"id\": 2, \"grade\": \"19元\", \"duration\": 5,"
               " \"taskId\": 7, \"userId\": 10001},"
               "{\"id\": 3, \"grade\": null, \"taskName\": \"x\\\\y\\nz\"},"
               "{\"id\": 4, \"grade\": \"\", \"duration\": \"0\"}]}");
    long long version = query_int(conn, "SELECT version FROM data_version");
    assert_true(store_calls_day(conn, &cfg, day, &list, 4, time(NULL), &err));
    assert_int_equal(query_int(conn, "SELECT version FROM data_version"),
                     version + 1);
    /* By task and by seat; records without the field count under ''. */
    assert_int_equal(query_int(conn, "SELECT count(*) FROM day_breakdown "
                                     "WHERE stat_date = '2001-02-03' AND "
                                     "dimension = 'task' AND key = '7' AND "
                                     "name = 't7' AND grade_9 = 1 AND "
                                     "grade_1 = 0 AND records = 2"),
                     1);
    assert_int_equal(query_int(conn, "SELECT count(*) FROM day_breakdown "
                                     "WHERE stat_date = '2001-02-03' AND "
                                     "dimension = 'task' AND key = '' AND "
                                     "name = E'x\\\\y\\nz' AND records = 2"),
                     1);
    assert_int_equal(query_int(conn, "SELECT count(*) FROM day_breakdown "
                                     "WHERE stat_date = '2001-02-03' AND "
                                     "dimension = 'seat' AND name IS NULL AND "
                                     "((key = '10001' AND records = 2) OR "
                                     "(key = '' AND records = 2))"),
                     2);
    assert_int_equal(query_int(conn, "SELECT count(*) FROM call_records "
                                     "WHERE stat_date = '2001-02-03'"),
                     4);
    assert_int_equal(query_int(conn, "SELECT records FROM day_grades WHERE "
                                     "stat_date = '2001-02-03' AND grade = ''"),
                     2);
    assert_int_equal(query_int(conn, "SELECT count(*) FROM day_grades WHERE "
                                     "stat_date = '2001-02-03' AND "
                                     "grade_class = 'grade_9'"),
                     1);
    assert_int_equal(query_int(conn, "SELECT count(*) FROM call_records "
                                     "WHERE task_name = E'x\\\\y\\nz'"),
                     1);
    /* A day with no calls replaces it with zeros, still synced. */
    struct rec_list none = {0};
    assert_true(store_calls_day(conn, &cfg, day, &none, 0, time(NULL), &err));
    assert_int_equal(query_int(conn, "SELECT count(*) FROM call_records "
                                     "WHERE stat_date = '2001-02-03'"),
                     0);
    assert_int_equal(query_int(conn, "SELECT records_written FROM sync_state"
                                     " WHERE stat_date = '2001-02-03' AND "
                                     "source = 'calls'"),
                     0);
    assert_int_equal(query_int(conn, "SELECT count(*) FROM day_breakdown "
                                     "WHERE stat_date = '2001-02-03'"),
                     0);
    rec_list_free(&list);
    forget_day(conn, "2001-02-03");
    PQfinish(conn);
}

static void failed_stats_day_keeps_the_old_one(void **state)
{
    (void)state;
    PGconn *conn = test_db();
    cs_day day = cs_date_from_ymd(2001, 2, 4);
    struct stats_row row = {"seat01", 100, 20, 2, 3, 0, "10001", NULL};
    struct stats_row task = {"t1", 100, 20, 2, 20, 0, NULL, "任务1"};
    struct stats_table accounts = {
        &row, 1, true, {NULL, 100, 20, 2, 0, 0, NULL, NULL}};
    struct stats_table tasks = {&task, 1, false, {0}};
    struct werr err = {{0}};
    long long version = query_int(conn, "SELECT version FROM data_version");
    assert_true(
        store_stats_day(conn, day, &accounts, &tasks, time(NULL), &err));
    assert_int_equal(query_int(conn, "SELECT version FROM data_version"),
                     version + 1);
    assert_int_equal(query_int(conn, "SELECT count(*) FROM account_stats "
                                     "WHERE stat_date = '2001-02-04' AND "
                                     "user_id = '10001'"),
                     1);
    assert_int_equal(query_int(conn, "SELECT count(*) FROM task_stats "
                                     "WHERE stat_date = '2001-02-04' AND "
                                     "task_name = '任务1'"),
                     1);
    /* Two task rows of one key violate the key: the day must stay. */
    struct stats_row twice[] = {{"t1", 1, 1, 0, 1, 0, NULL, NULL},
                                {"t1", 1, 1, 0, 1, 0, NULL, NULL}};
    struct stats_table bad = {twice, 2, false, {0}};
    accounts.total.calls_dialled = 999;
    assert_false(store_stats_day(conn, day, &accounts, &bad, time(NULL), &err));
    assert_non_null(strstr(err.msg, "insert task_stats"));
    /* A day rolled back leaves the version as it was. */
    assert_int_equal(query_int(conn, "SELECT version FROM data_version"),
                     version + 1);
    assert_int_equal(query_int(conn, "SELECT calls_dialled FROM day_totals "
                                     "WHERE stat_date = '2001-02-04'"),
                     100);
    assert_int_equal(query_int(conn, "SELECT count(*) FROM account_stats "
                                     "WHERE stat_date = '2001-02-04'"),
                     1);
    forget_day(conn, "2001-02-04");
    PQfinish(conn);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(copy_field_escaping),
        cmocka_unit_test(copy_record_line),
        cmocka_unit_test(calls_day_is_replaced_whole),
        cmocka_unit_test(failed_stats_day_keeps_the_old_one),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
