/* Unit tests of the worker's call-record parsing: both record shapes,
 * numbers sent as strings, garbage rejected by name, de-duplication. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../worker/jfield.h"
#include "../../worker/records.h"

static json_t *load(const char *text)
{
    json_error_t jerr;
    json_t *v = json_loads(text, 0, &jerr);
    assert_non_null(v);
    return v;
}

static void first_shape_with_numbers_and_strings(void **state)
{
    (void)state;
    json_t *obj =
        load("{\"id\": 90071992547, \"callTime\": 1759540530, \"taskId\": 5012,"
             " \"TaskName\": \"十月回访\", \"userId\": \"seat07\","
             " \"deviceId\": \"17\", \"deviceName\": \"line-a\","
             " \"phone\": \"13800138000\", \"realPhone\": \"13800138001\","
             " \"params\": \"{}\", \"remark\": \"call back\", \"ext\": \"x\","
             " \"ccId\": null, \"isFollow\": \"0\", \"companyId\": 3,"
             " \"duration\": \"35\", \"isCall\": 1,"
             " \"hangupReason\": \"NORMAL_CLEARING\","
             " \"grade\": \"AS1 成功单9元\","
             " \"province\": \"广东\", \"city\": \"深圳\", \"audio\": \"\"}");
    struct rec_record rec;
    struct werr err = {{0}};
    assert_true(rec_parse(obj, &rec, &err));
    assert_string_equal(rec_text(&rec, REC_ID), "90071992547");
    assert_int_equal(rec.call_time, 1759540530);
    assert_int_equal(rec.end_time, 0);
    assert_string_equal(rec_text(&rec, REC_TASK_ID), "5012");
    assert_string_equal(rec_text(&rec, REC_TASK_NAME), "十月回访");
    assert_string_equal(rec_text(&rec, REC_USER_ID), "seat07");
    assert_null(rec_text(&rec, REC_CC_ID));
    assert_string_equal(rec_text(&rec, REC_COMPANY_ID), "3");
    assert_int_equal(rec.duration, 35);
    assert_true(rec.has_is_call);
    assert_int_equal(rec.is_call, 1);
    assert_true(rec.has_is_follow);
    assert_int_equal(rec.is_follow, 0);
    assert_string_equal(rec_text(&rec, REC_GRADE), "AS1 成功单9元");
    assert_string_equal(rec_text(&rec, REC_AUDIO), "");
    /* Nothing of the customer's numbers is kept anywhere in the row. */
    for (int i = 0; i < REC_TEXT_COUNT; i++) {
        const char *t = rec_text(&rec, (enum rec_text)i);
        assert_true(t == NULL || strstr(t, "13800138") == NULL);
    }
    rec_record_free(&rec);
    json_decref(obj);
}

static void second_shape_with_platform_times(void **state)
{
    (void)state;
    json_t *obj = load(
        "{\"id\": \"r-20251004-2\", \"startTime\": \"2025-10-04 09:15:30\","
        " \"endTime\": \"2025-10-04 09:16:05\", \"taskName\": \"催收\","
        " \"duration\": 35.0, \"grade\": null, \"isCall\": \"1\"}");
    struct rec_record rec;
    struct werr err = {{0}};
    assert_true(rec_parse(obj, &rec, &err));
    assert_string_equal(rec_text(&rec, REC_ID), "r-20251004-2");
    /* 09:15:30 at UTC+8 is 01:15:30 UTC. */
    assert_int_equal(rec.call_time, 1759540530);
    assert_int_equal(rec.end_time, 1759540565);
    assert_string_equal(rec_text(&rec, REC_TASK_NAME), "催收");
    assert_null(rec_text(&rec, REC_GRADE));
    assert_int_equal(rec.duration, 35);
    assert_false(rec.has_is_follow);
    assert_int_equal(rec.is_call, 1);
    rec_record_free(&rec);
    json_decref(obj);
}

static void expect_rejected(const char *text, const char *field,
                            const char *value)
{
    json_t *obj = load(text);
    struct rec_record rec;
    struct werr err = {{0}};
    assert_false(rec_parse(obj, &rec, &err));
    assert_non_null(strstr(err.msg, field));
    if (value != NULL)
        assert_non_null(strstr(err.msg, value));
    assert_null(rec.strings);
    json_decref(obj);
}

static void garbage_is_rejected_by_name(void **state)
{
    (void)state;
    expect_rejected("{\"id\": 1, \"duration\": \"3 5\"}", "duration",
                    "\"3 5\"");
    expect_rejected("{\"id\": 1, \"duration\": 2.5}", "duration", "2.5");
    expect_rejected("{\"id\": 1, \"callTime\": \"yesterday\"}", "callTime",
                    "yesterday");
    expect_rejected("{\"id\": 1, \"startTime\": \"2025-02-30 10:00:00\"}",
                    "startTime", "2025-02-30");
    expect_rejected("{\"id\": 1, \"isCall\": \"yes\"}", "isCall", "yes");
    expect_rejected("{\"id\": 1, \"grade\": {\"a\": 1}}", "grade", NULL);
    expect_rejected("{\"duration\": 3}", "id", NULL);
    expect_rejected("{\"id\": \"\"}", "id", NULL);
}

static void page_reads_total_and_records(void **state)
{
    (void)state;
    json_t *data = load("{\"totalCount\": \"3\", \"page\": 1, \"data\": ["
                        "{\"id\": \"b\", \"duration\": 1},"
                        "{\"id\": \"a\", \"duration\": 2}]}");
    json_t *next = load("{\"totalCount\": 3, \"data\": ["
                        "{\"id\": \"b\", \"duration\": 9},"
                        "{\"id\": \"c\", \"duration\": \"0\"}]}");
    struct rec_list list = {0};
    struct werr err = {{0}};
    int64_t total = 0;
    size_t count = 0;
    assert_true(rec_parse_page(data, &list, &total, &count, &err));
    assert_int_equal(total, 3);
    assert_int_equal(count, 2);
    assert_true(rec_parse_page(next, &list, &total, &count, &err));
    /* Pages append in the order fetched; a repeated id is kept (the day's
     * writer counts ids once). */
    assert_int_equal(list.count, 4);
    assert_string_equal(rec_text(&list.items[0], REC_ID), "b");
    assert_string_equal(rec_text(&list.items[1], REC_ID), "a");
    assert_string_equal(rec_text(&list.items[2], REC_ID), "b");
    assert_int_equal(list.items[2].duration, 9);
    assert_string_equal(rec_text(&list.items[3], REC_ID), "c");
    assert_int_equal(list.items[3].seq, 3);
    rec_list_free(&list);
    json_decref(data);
    json_decref(next);
}

static void page_without_total_fails(void **state)
{
    (void)state;
    json_t *data = load("{\"data\": []}");
    struct rec_list list = {0};
    struct werr err = {{0}};
    int64_t total = 0;
    size_t count = 0;
    assert_false(rec_parse_page(data, &list, &total, &count, &err));
    assert_non_null(strstr(err.msg, "totalCount"));
    json_decref(data);
}

static void platform_time_is_utc_plus_8(void **state)
{
    (void)state;
    int64_t t = 0;
    assert_true(jf_parse_platform_time("2025-10-04 00:00:00", &t));
    assert_int_equal(t, 1759507200);
    assert_false(jf_parse_platform_time("2025-10-04T00:00:00", &t));
    assert_false(jf_parse_platform_time("2025-10-04 24:00:00", &t));
    assert_false(jf_parse_platform_time("2025-10-04 -1:00:00", &t));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(first_shape_with_numbers_and_strings),
        cmocka_unit_test(second_shape_with_platform_times),
        cmocka_unit_test(garbage_is_rejected_by_name),
        cmocka_unit_test(page_reads_total_and_records),
        cmocka_unit_test(page_without_total_fails),
        cmocka_unit_test(platform_time_is_utc_plus_8),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
