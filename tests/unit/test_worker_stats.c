/* Unit tests of the worker's statistics parsing: summary rows skipped,
 * numbers as strings, the day's totals required by account, each row's
 * name beside its key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../worker/stats.h"

static json_t *load(const char *text)
{
    json_error_t jerr;
    json_t *v = json_loads(text, 0, &jerr);
    assert_non_null(v);
    return v;
}

static void accounts_skip_total_and_average_rows(void **state)
{
    (void)state;
    json_t *data = load(
        "{\"content\": ["
        " {\"username\": \"seat01\", \"user_id\": 10001,"
        "  \"callout_number\": 1520,"
        "  \"called_number\": \"231\", \"connected_rate\": \"15.20%\","
        "  \"success_number\": \"3\", \"intention_number\": 4,"
        "  \"intention_number2\": \"1\"},"
        " {\"username\": \"总计\", \"callout_number\": 1520,"
        "  \"called_number\": 231, \"success_number\": 3},"
        " {\"username\": \"admin\", \"callout_number\": 0,"
        "  \"called_number\": 0, \"success_number\": 0},"
        " {\"username\": \"平均\", \"callout_number\": \"760.5\","
        "  \"called_number\": 115.5, \"success_number\": 1.5}],"
        " \"total\": {\"callout_number\": \"1520\", \"called_number\": 231,"
        "  \"success_number\": 3},"
        " \"average\": {\"callout_number\": 760.5}}");
    struct stats_table t;
    struct werr err = {{0}};
    assert_true(stats_parse(data, STATS_BY_ACCOUNT, &t, &err));
    assert_int_equal(t.count, 2);
    assert_string_equal(t.rows[0].key, "seat01");
    assert_int_equal(t.rows[0].calls_dialled, 1520);
    assert_int_equal(t.rows[0].calls_answered, 231);
    assert_int_equal(t.rows[0].success_orders, 3);
    assert_int_equal(t.rows[0].intention_number, 4);
    assert_int_equal(t.rows[0].intention_number2, 1);
    assert_string_equal(t.rows[0].user_id, "10001");
    assert_null(t.rows[0].task_name);
    assert_string_equal(t.rows[1].key, "admin");
    assert_null(t.rows[1].user_id);
    assert_true(t.has_total);
    assert_int_equal(t.total.calls_dialled, 1520);
    assert_int_equal(t.total.calls_answered, 231);
    assert_int_equal(t.total.success_orders, 3);
    stats_table_free(&t);
    json_decref(data);
}

static void tasks_are_keyed_by_user_id_and_named_by_username(void **state)
{
    (void)state;
    json_t *data =
        load("{\"content\": ["
             " {\"user_id\": 7781, \"username\": \"任务7781\","
             "  \"callout_number\": \"800\", \"called_number\": \"120\","
             "  \"success_number\": 2, \"intention_number\": 120,"
             "  \"intention_number2\": 0},"
             " {\"user_id\": \"7782\", \"callout_number\": 5,"
             "  \"called_number\": 1, \"success_number\": 0},"
             " {\"user_id\": 7783, \"username\": {\"odd\": 1},"
             "  \"callout_number\": 2, \"called_number\": 0,"
             "  \"success_number\": 0}]}");
    struct stats_table t;
    struct werr err = {{0}};
    assert_true(stats_parse(data, STATS_BY_TASK, &t, &err));
    assert_int_equal(t.count, 3);
    assert_string_equal(t.rows[0].key, "7781");
    assert_string_equal(t.rows[0].task_name, "任务7781");
    assert_null(t.rows[0].user_id);
    assert_int_equal(t.rows[0].calls_dialled, 800);
    assert_int_equal(t.rows[0].intention_number, 120);
    assert_string_equal(t.rows[1].key, "7782");
    assert_null(t.rows[1].task_name);
    assert_int_equal(t.rows[1].intention_number, 0);
    /* A name that is no text is left out; the row stays. */
    assert_string_equal(t.rows[2].key, "7783");
    assert_null(t.rows[2].task_name);
    assert_int_equal(t.rows[2].calls_dialled, 2);
    assert_false(t.has_total);
    stats_table_free(&t);
    json_decref(data);
}

static void repeated_rows_are_summed_and_keep_a_name(void **state)
{
    (void)state;
    json_t *data =
        load("{\"content\": ["
             " {\"username\": \"seat02\", \"callout_number\": 10,"
             "  \"called_number\": 2, \"success_number\": 1},"
             " {\"username\": \"seat02\", \"user_id\": \"10002\","
             "  \"callout_number\": 5, \"called_number\": 1, "
             "\"success_number\": 0}],"
             " \"total\": {\"callout_number\": 15, \"called_number\": 3,"
             "  \"success_number\": 1}}");
    struct stats_table t;
    struct werr err = {{0}};
    assert_true(stats_parse(data, STATS_BY_ACCOUNT, &t, &err));
    assert_int_equal(t.count, 1);
    assert_int_equal(t.rows[0].calls_dialled, 15);
    assert_string_equal(t.rows[0].user_id, "10002");
    stats_table_free(&t);
    json_decref(data);
}

static void empty_day_has_zero_totals(void **state)
{
    (void)state;
    json_t *data = load("{\"content\": [], \"total\": {\"callout_number\": 0,"
                        " \"called_number\": 0, \"success_number\": 0}}");
    struct stats_table t;
    struct werr err = {{0}};
    assert_true(stats_parse(data, STATS_BY_ACCOUNT, &t, &err));
    assert_int_equal(t.count, 0);
    assert_true(t.has_total);
    assert_int_equal(t.total.calls_dialled, 0);
    stats_table_free(&t);
    json_decref(data);
}

static void expect_error(const char *text, int query_type, const char *a,
                         const char *b)
{
    json_t *data = load(text);
    struct stats_table t;
    struct werr err = {{0}};
    assert_false(stats_parse(data, query_type, &t, &err));
    assert_non_null(strstr(err.msg, a));
    if (b != NULL)
        assert_non_null(strstr(err.msg, b));
    assert_null(t.rows);
    json_decref(data);
}

static void bad_rows_fail_the_day(void **state)
{
    (void)state;
    expect_error("{\"content\": [], \"average\": {}}", STATS_BY_ACCOUNT,
                 "data.total", NULL);
    expect_error("{\"content\": [{\"username\": \"seat01\","
                 " \"callout_number\": \"12x\", \"called_number\": 1,"
                 " \"success_number\": 0}], \"total\": {}}",
                 STATS_BY_ACCOUNT, "callout_number", "12x");
    expect_error("{\"content\": [{\"username\": \"seat01\","
                 " \"callout_number\": 1, \"success_number\": 0}],"
                 " \"total\": {}}",
                 STATS_BY_ACCOUNT, "called_number", NULL);
    expect_error("{\"content\": [{\"callout_number\": 1}]}", STATS_BY_TASK,
                 "user_id", NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(accounts_skip_total_and_average_rows),
        cmocka_unit_test(tasks_are_keyed_by_user_id_and_named_by_username),
        cmocka_unit_test(repeated_rows_are_summed_and_keep_a_name),
        cmocka_unit_test(empty_day_has_zero_totals),
        cmocka_unit_test(bad_rows_fail_the_day),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
