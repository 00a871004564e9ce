/* The day and totals writers against jansson: for thousands of days of
 * every shape, api_day_write and api_totals_write must give byte for byte
 * what json_dumps gives of api_day_json and api_totals_json. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../api/report.h"
#include "buf.h"

static char *dump(json_t *value)
{
    assert_non_null(value);
    char *text = json_dumps(value, API_JSON_FLAGS);
    json_decref(value);
    assert_non_null(text);
    return text;
}

/* A small generator, so that every run checks the same days. */
static unsigned long long seed = 88172645463325252ULL;
static long long next(long long bound)
{
    seed ^= seed << 13;
    seed ^= seed >> 7;
    seed ^= seed << 17;
    return (long long)(seed % (unsigned long long)bound);
}

static struct api_day random_day(void)
{
    struct api_day d = {
        .date = cs_date_from_ymd(2025, 1, 1) + (cs_day)next(400),
        .stats_synced = next(5) != 0,
        .calls_synced = next(5) != 0,
        /* Before, around and long after the day's end. */
        .stats_synced_at = 1735660800 + next(400 * 86400),
        .grades_synced_at = 1735660800 + next(400 * 86400),
        .calls_dialled = next(4) == 0 ? 0 : next(200000),
        .active_seats = next(40),
        .grade_9 = next(60),
        .grade_1 = next(10),
        .records = next(200000),
    };
    d.calls_answered = d.calls_dialled ? next(d.calls_dialled + 1) : 0;
    d.success_orders = next(3) == 0 ? d.grade_9 + d.grade_1 : next(80);
    return d;
}

static void test_days_match_jansson(void **state)
{
    (void)state;
    struct buf out = {0};
    for (int i = 0; i < 5000; i++) {
        struct api_day d = random_day();
        buf_reset(&out);
        assert_true(api_day_write(&out, &d));
        char *want = dump(api_day_json(&d));
        assert_string_equal(out.data, want);
        free(want);
    }
    buf_free(&out);
}

static void test_totals_match_jansson(void **state)
{
    (void)state;
    struct buf out = {0};
    struct api_day days[31];
    for (int i = 0; i < 2000; i++) {
        size_t n = (size_t)next(32);
        for (size_t j = 0; j < n; j++)
            days[j] = random_day();
        struct api_totals t;
        api_totals_compute(days, n, cs_date_from_ymd(2025, 6, 1), &t);
        buf_reset(&out);
        assert_true(api_totals_write(&out, &t));
        char *want = dump(api_totals_json(&t));
        assert_string_equal(out.data, want);
        free(want);
    }
    buf_free(&out);
}

/* Rates and averages that end in 0 or 00 print as jansson prints them:
 * 9.5 and 78259.0, not 9.50 or 78259. */
static void test_short_decimals(void **state)
{
    (void)state;
    struct api_day d = {.date = cs_date_from_ymd(2025, 10, 1),
                        .stats_synced = true,
                        .calls_dialled = 200,
                        .calls_answered = 19,
                        .success_orders = 19};
    struct buf out = {0};
    assert_true(api_day_write(&out, &d));
    assert_non_null(strstr(out.data, "\"answer_rate\":9.5,"));
    assert_non_null(strstr(out.data, "\"success_rate\":100.0,"));
    buf_free(&out);
}

int main(void)
{
    setenv("TZ", "Asia/Shanghai", 1);
    tzset();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_days_match_jansson),
        cmocka_unit_test(test_totals_match_jansson),
        cmocka_unit_test(test_short_decimals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
