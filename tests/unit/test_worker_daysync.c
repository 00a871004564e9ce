/* Unit tests of what the worker refuses to believe of an upstream: an
 * inconsistent totalCount, records of another day, impossible figures. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../worker/daysync.h"
#include "../../worker/records.h"
#include "../../worker/stats.h"

/* Checks the report, then clears it: a report keeps its first message. */
static void expect_message(struct werr *err, const char *part)
{
    if (strstr(err->msg, part) == NULL)
        fail_msg("\"%s\" does not contain \"%s\"", err->msg, part);
    werr_clear(err);
}

static void total_may_grow_but_not_shrink(void **state)
{
    (void)state;
    struct werr err = {{0}};
    assert_true(daysync_check_total(2500, 0, 1000, 1, &err));
    assert_true(daysync_check_total(2600, 2500, 2000, 2, &err));
    assert_true(daysync_check_total(2600, 2600, 2600, 3, &err));
    assert_true(daysync_check_total(0, 0, 0, 1, &err)); /* a day off */
    assert_false(daysync_check_total(1500, 2500, 2000, 2, &err));
    expect_message(&err, "upstream totalCount fell page=2 from=2500 to=1500");
}

static void total_below_delivered_or_negative_is_refused(void **state)
{
    (void)state;
    struct werr err = {{0}};
    assert_false(daysync_check_total(-1, 0, 1000, 1, &err));
    expect_message(&err, "upstream totalCount is negative page=1 total=-1");
    assert_false(daysync_check_total(0, 0, 1000, 1, &err));
    expect_message(
        &err, "more records than its totalCount page=1 records=1000 total=0");
    assert_false(daysync_check_total(10, 0, 1000, 1, &err));
    expect_message(&err, "records=1000 total=10");
}

static void parse_one(struct rec_list *list, const char *json)
{
    json_t *data = json_loads(json, 0, NULL);
    assert_non_null(data);
    int64_t total = 0;
    size_t count = 0;
    struct werr err = {{0}};
    assert_true(rec_parse_page(data, list, &total, &count, &err));
    json_decref(data);
}

/* 2025-10-16 runs from 1760544000 (00:00 at UTC+8) to 1760630399. */
static void records_of_another_day_are_refused(void **state)
{
    (void)state;
    struct rec_list list = {0};
    struct werr err = {{0}};
    cs_day day = cs_date_from_ymd(2025, 10, 16);
    parse_one(&list, "{\"totalCount\": 3, \"data\": ["
                     "{\"id\": 1, \"callTime\": 1760544000},"
                     "{\"id\": 2, \"callTime\": 1760630399},"
                     "{\"id\": 3}]}");
    assert_true(daysync_check_day(&list, 0, day, 1, &err));
    parse_one(&list, "{\"totalCount\": 2, \"data\": ["
                     "{\"id\": 4, \"callTime\": 1760630400},"
                     "{\"id\": 5, \"callTime\": 1760543999}]}");
    assert_false(daysync_check_day(&list, 0, day - 1, 1, &err));
    expect_message(
        &err, "outside the day asked for page=1 id=1 call_time=1760544000");
    assert_false(daysync_check_day(&list, 3, day, 2, &err));
    expect_message(
        &err, "outside the day asked for page=2 id=4 call_time=1760630400");
    rec_list_free(&list);
}

static void impossible_figures_are_refused(void **state)
{
    (void)state;
    struct werr err = {{0}};
    struct rec_record rec;
    json_t *obj = json_loads("{\"id\": 7, \"duration\": -50}", 0, NULL);
    assert_false(rec_parse(obj, &rec, &err));
    expect_message(&err, "field=duration value=-50");
    json_decref(obj);
    obj = json_loads("{\"id\": 7, \"duration\": 3000000000}", 0, NULL);
    assert_false(rec_parse(obj, &rec, &err));
    expect_message(&err, "field=duration value=3000000000");
    json_decref(obj);

    struct stats_table table = {0};
    json_t *data =
        json_loads("{\"content\": [{\"username\": \"seat01\", \"user_id\": 1,"
                   " \"callout_number\": -100, \"called_number\": 5,"
                   " \"success_number\": 1}],"
                   " \"total\": {\"callout_number\": 5, \"called_number\": 5,"
                   " \"success_number\": 1}}",
                   0, NULL);
    assert_false(stats_parse(data, STATS_BY_ACCOUNT, &table, &err));
    expect_message(&err, "field=callout_number value=-100");
    json_decref(data);
    stats_table_free(&table);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(total_may_grow_but_not_shrink),
        cmocka_unit_test(total_below_delivered_or_negative_is_refused),
        cmocka_unit_test(records_of_another_day_are_refused),
        cmocka_unit_test(impossible_figures_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
