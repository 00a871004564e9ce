/* Unit tests of the API's figures: rate rounding, totals and averages, the
 * JSON of a day row and of the totals, and the CSV form. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../api/csv.h"
#include "../../api/report.h"

/* 2025-10-01T12:00:05Z, 20:00:05 in Asia/Shanghai. */
#define SYNC_TIME 1759320005

static struct api_day synced_day(int mday, long long dialled,
                                 long long answered, long long success,
                                 long long g9, long long g1)
{
    return (struct api_day){
        .date = cs_date_from_ymd(2025, 10, mday),
        .stats_synced = true,
        .calls_synced = true,
        .stats_synced_at = SYNC_TIME,
        .grades_synced_at = SYNC_TIME,
        .calls_dialled = dialled,
        .calls_answered = answered,
        .success_orders = success,
        .active_seats = 12,
        .grade_9 = g9,
        .grade_1 = g1,
    };
}

static char *dump(json_t *value)
{
    assert_non_null(value);
    char *text = json_dumps(value, API_JSON_FLAGS | JSON_PRESERVE_ORDER);
    json_decref(value);
    assert_non_null(text);
    return text;
}

static void test_rate_rounding(void **state)
{
    (void)state;
    long long h = -1;
    assert_true(api_rate(5290, 29014, &h));
    assert_int_equal(h, 1823);
    assert_true(api_rate(1, 3, &h)); /* 33.333... */
    assert_int_equal(h, 3333);
    assert_true(api_rate(2, 3, &h)); /* 66.666... rounds up */
    assert_int_equal(h, 6667);
    assert_true(api_rate(1, 8, &h)); /* 12.5 exactly */
    assert_int_equal(h, 1250);
    assert_true(api_rate(1, 80000, &h)); /* 0.00125 -> 0.00 */
    assert_int_equal(h, 0);
    assert_true(api_rate(1, 20000, &h)); /* 0.005 -> half up, 0.01 */
    assert_int_equal(h, 1);
    assert_false(api_rate(5, 0, &h));
    assert_false(api_rate(0, 0, &h));
}

static void test_average(void **state)
{
    (void)state;
    long long h = -1;
    assert_true(api_average(5695, 3, &h)); /* 1898.333... */
    assert_int_equal(h, 189833);
    assert_true(api_average(5, 2, &h));
    assert_int_equal(h, 250);
    assert_false(api_average(10, 0, &h));
}

static void test_json_prints_two_decimals(void **state)
{
    (void)state;
    struct api_day day = synced_day(1, 29014, 5290, 120, 100, 20);
    json_t *row = api_day_json(&day);
    char *text =
        dump(json_pack("{s:O}", "r", json_object_get(row, "answer_rate")));
    assert_string_equal(text, "{\"r\":18.23}");
    free(text);
    json_decref(row);
}

static void test_day_row_shape(void **state)
{
    (void)state;
    setenv("TZ", "Asia/Shanghai", 1);
    tzset();
    struct api_day day = synced_day(1, 29014, 5290, 120, 100, 20);
    char *text = dump(api_day_json(&day));
    assert_string_equal(text,
                        "{\"date\":\"2025-10-01\",\"calls_dialled\":29014,"
                        "\"calls_answered\":5290,\"answer_rate\":18.23,"
                        "\"success_orders\":120,\"grade_9\":100,\"grade_1\":20,"
                        "\"success_rate\":2.27,\"active_seats\":12,"
                        "\"discrepancy\":false,"
                        "\"stats_synced_at\":\"2025-10-01T20:00:05+08:00\","
                        "\"grades_synced_at\":\"2025-10-01T20:00:05+08:00\","
                        "\"synced\":true,\"complete\":false}");
    free(text);
}

static void test_day_row_unsynced(void **state)
{
    (void)state;
    struct api_day day = synced_day(3, 10, 0, 0, 0, 0);
    day.calls_synced = false;
    char *text = dump(api_day_json(&day));
    assert_string_equal(
        text, "{\"date\":\"2025-10-03\",\"calls_dialled\":10,"
              "\"calls_answered\":0,\"answer_rate\":0.0,"
              "\"success_orders\":0,\"grade_9\":null,\"grade_1\":null,"
              "\"success_rate\":null,\"active_seats\":12,"
              "\"discrepancy\":false,"
              "\"stats_synced_at\":\"2025-10-01T20:00:05+08:00\","
              "\"grades_synced_at\":null,\"synced\":false,\"complete\":false}");
    free(text);
    day.stats_synced = false;
    json_t *row = api_day_json(&day);
    assert_true(json_is_null(json_object_get(row, "calls_dialled")));
    assert_true(json_is_null(json_object_get(row, "active_seats")));
    json_decref(row);
}

static void test_discrepancy(void **state)
{
    (void)state;
    struct api_day day = synced_day(2, 1000, 400, 50, 45, 3);
    /* Synced on 10-01: the day had not even begun; not comparable. */
    assert_false(api_day_complete(&day));
    assert_false(api_day_discrepancy(&day));
    /* Calls synced after the day ended, stats at 23:00 that day: the stats
     * may still miss the last hour. */
    day.grades_synced_at = SYNC_TIME + 86400 + 5 * 3600;     /* 10-03 01:00 */
    day.stats_synced_at = SYNC_TIME + 86400 + 3 * 3600 - 60; /* 22:59 */
    assert_false(api_day_complete(&day));
    assert_false(api_day_discrepancy(&day));
    day.stats_synced_at = day.grades_synced_at;
    assert_true(api_day_complete(&day));
    assert_true(api_day_discrepancy(&day));
    day.grade_1 = 5;
    assert_false(api_day_discrepancy(&day));
    day.grade_1 = 3;
    day.calls_synced = false; /* one side missing: nothing to compare */
    assert_false(api_day_discrepancy(&day));
}

static void test_totals(void **state)
{
    (void)state;
    struct api_day days[5] = {
        synced_day(1, 29014, 5290, 120, 100, 20),
        synced_day(2, 1000, 400, 50, 45, 3),
        synced_day(3, 10, 5, 1, 0, 0),
        synced_day(4, 0, 0, 0, 0, 0),
        synced_day(5, 700, 300, 9, 9, 0),
    };
    days[2].calls_synced = false;
    cs_day today = days[3].date; /* day 5 lies after today */
    struct api_totals t;
    api_totals_compute(days, 5, today, &t);
    assert_int_equal(t.days, 5);
    assert_int_equal(t.synced_days, 4);
    assert_int_equal(t.working_days, 3);
    assert_int_equal(t.calls_dialled, 30724);
    assert_int_equal(t.calls_answered, 5995);
    assert_int_equal(t.success_orders, 180);
    assert_int_equal(t.grade_9, 154);
    assert_int_equal(t.grade_1, 23);
    char *text = dump(api_totals_json(&t));
    assert_string_equal(text,
                        "{\"days\":5,\"synced_days\":4,\"calls_dialled\":30724,"
                        "\"calls_answered\":5995,\"answer_rate\":19.51,"
                        "\"success_orders\":180,\"grade_9\":154,\"grade_1\":23,"
                        "\"success_rate\":3.0,\"working_days\":3,"
                        "\"avg_calls_dialled\":10241.33,"
                        "\"avg_calls_answered\":1998.33,"
                        "\"avg_success_orders\":60.0}");
    free(text);
}

static void test_totals_empty(void **state)
{
    (void)state;
    struct api_day day = {.date = cs_date_from_ymd(2025, 10, 1)};
    struct api_totals t;
    api_totals_compute(&day, 1, day.date, &t);
    json_t *json = api_totals_json(&t);
    assert_int_equal(json_integer_value(json_object_get(json, "working_days")),
                     0);
    assert_true(json_is_null(json_object_get(json, "answer_rate")));
    assert_true(json_is_null(json_object_get(json, "avg_calls_dialled")));
    /* Nothing synced: the sums are unknown, not zero. */
    assert_true(json_is_null(json_object_get(json, "calls_dialled")));
    assert_true(json_is_null(json_object_get(json, "success_orders")));
    assert_true(json_is_null(json_object_get(json, "grade_9")));
    json_decref(json);

    /* Statistics synced, call records not: grade sums stay unknown. */
    day.stats_synced = true;
    day.calls_dialled = 100;
    api_totals_compute(&day, 1, day.date, &t);
    json = api_totals_json(&t);
    assert_int_equal(json_integer_value(json_object_get(json, "calls_dialled")),
                     100);
    assert_true(json_is_null(json_object_get(json, "grade_1")));
    json_decref(json);
}

static void test_csv_field(void **state)
{
    (void)state;
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    api_csv_field(out, "plain");
    fputc('|', out);
    api_csv_field(out, "a,b");
    fputc('|', out);
    api_csv_field(out, "say \"hi\"");
    fputc('|', out);
    api_csv_field(out, "two\nlines");
    fclose(out);
    assert_string_equal(buf, "plain|\"a,b\"|\"say \"\"hi\"\"\"|\"two\nlines\"");
    free(buf);
}

static void test_csv_days(void **state)
{
    (void)state;
    struct api_day days[2] = {
        synced_day(1, 29014, 5290, 120, 100, 20),
        {.date = cs_date_from_ymd(2025, 10, 2)},
    };
    size_t len = 0;
    char *csv = api_csv_days(days, 2, &len);
    assert_non_null(csv);
    assert_int_equal(len, strlen(csv));
    assert_string_equal(
        csv,
        "\xEF\xBB\xBF"
        "date,calls_dialled,calls_answered,answer_rate,success_orders,"
        "grade_9,grade_1,success_rate,active_seats,discrepancy,"
        "stats_synced_at,grades_synced_at,synced,complete\r\n"
        "2025-10-01,29014,5290,18.23,120,100,20,2.27,12,false,"
        "2025-10-01T20:00:05+08:00,2025-10-01T20:00:05+08:00,true,false\r\n"
        "2025-10-02,,,,,,,,,false,,,false,false\r\n");
    free(csv);
}

int main(void)
{
    setenv("TZ", "Asia/Shanghai", 1);
    tzset();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rate_rounding),
        cmocka_unit_test(test_average),
        cmocka_unit_test(test_json_prints_two_decimals),
        cmocka_unit_test(test_day_row_shape),
        cmocka_unit_test(test_day_row_unsynced),
        cmocka_unit_test(test_discrepancy),
        cmocka_unit_test(test_totals),
        cmocka_unit_test(test_totals_empty),
        cmocka_unit_test(test_csv_field),
        cmocka_unit_test(test_csv_days),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
