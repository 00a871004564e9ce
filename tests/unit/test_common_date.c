/* Unit tests of business-day parsing, arithmetic and the business zone. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "date.h"

static void test_parse_valid_dates(void **state)
{
    (void)state;
    cs_day day;
    char buf[CS_DATE_LEN];
    assert_true(cs_date_parse("1970-01-01", &day));
    assert_int_equal(day, 0);
    assert_true(cs_date_parse("2025-10-04", &day));
    assert_int_equal(day, 20365);
    cs_date_format(day, buf);
    assert_string_equal(buf, "2025-10-04");
    assert_true(cs_date_parse("2024-02-29", &day));
    cs_date_format(day + 1, buf);
    assert_string_equal(buf, "2024-03-01");
    assert_true(cs_date_parse("2000-02-29", &day));
}

static void test_parse_rejects_impossible_and_malformed(void **state)
{
    (void)state;
    cs_day day = 12345;
    const char *bad[] = {
        "2025-02-30", "2025-02-29", "1900-02-29",  "2025-13-01",  "2025-00-10",
        "2025-04-31", "2025-1-5",   "2025-01-05x", " 2025-01-05", "",
        "20250105",   "2025/01/05", "1899-12-31",  "2025-01-00"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_false(cs_date_parse(bad[i], &day));
        assert_int_equal(day, 12345);
    }
}

static void test_month_parse_and_lengths(void **state)
{
    (void)state;
    cs_day first;
    char buf[CS_DATE_LEN];
    assert_true(cs_month_parse("2025-10", &first));
    cs_date_format(first, buf);
    assert_string_equal(buf, "2025-10-01");
    assert_int_equal(cs_days_in_month(first), 31);
    assert_true(cs_month_parse("2024-02", &first));
    assert_int_equal(cs_days_in_month(first), 29);
    assert_true(cs_month_parse("2100-02", &first));
    assert_int_equal(cs_days_in_month(first), 28);
    assert_false(cs_month_parse("2025-13", &first));
    assert_false(cs_month_parse("2025-1", &first));
    assert_false(cs_month_parse("2025-10-01", &first));
}

static void test_round_trip_over_centuries(void **state)
{
    (void)state;
    int y, m, d;
    for (cs_day day = -25567; day < 2932896; day += 37) {
        cs_date_to_ymd(day, &y, &m, &d);
        assert_int_equal(cs_date_from_ymd(y, m, d), day);
    }
    cs_date_to_ymd(20365, &y, &m, &d);
    assert_int_equal(y, 2025);
    assert_int_equal(m, 10);
    assert_int_equal(d, 4);
}

static void test_weekday(void **state)
{
    (void)state;
    cs_day day;
    assert_true(cs_date_parse("2025-10-05", &day));
    assert_int_equal(cs_date_weekday(day), 0); /* a Sunday */
    assert_true(cs_date_parse("2026-12-03", &day));
    assert_int_equal(cs_date_weekday(day), 4); /* a Thursday */
}

/* 2025-10-03 16:30 UTC is 2025-10-04 00:30 in Shanghai. */
static void test_business_day_follows_the_zone_not_utc(void **state)
{
    (void)state;
    char err[256];
    char buf[CS_DATE_LEN];
    time_t t = 1759509000;
    assert_true(cs_tz_apply("Asia/Shanghai", err, sizeof(err)));
    cs_date_format(cs_day_of(t), buf);
    assert_string_equal(buf, "2025-10-04");
    assert_true(cs_tz_apply("UTC", err, sizeof(err)));
    cs_date_format(cs_day_of(t), buf);
    assert_string_equal(buf, "2025-10-03");
    assert_true(cs_tz_apply("America/New_York", err, sizeof(err)));
    cs_date_format(cs_day_of(t), buf);
    assert_string_equal(buf, "2025-10-03");
}

static void test_day_start_in_the_zone(void **state)
{
    (void)state;
    char err[256];
    cs_day day;
    assert_true(cs_date_parse("2025-10-04", &day));
    assert_true(cs_tz_apply("Asia/Shanghai", err, sizeof(err)));
    assert_int_equal(cs_day_start(day), 1759507200); /* 10-03 16:00Z */
    assert_int_equal(cs_day_start(day + 1) - cs_day_start(day), 86400);
    assert_true(cs_tz_apply("UTC", err, sizeof(err)));
    assert_int_equal(cs_day_start(day), 1759536000);
    /* A day of 23 hours where clocks go forward. */
    assert_true(cs_tz_apply("America/New_York", err, sizeof(err)));
    assert_true(cs_date_parse("2025-03-09", &day));
    assert_int_equal(cs_day_start(day + 1) - cs_day_start(day), 23 * 3600);
}

static void test_unknown_zone_is_refused(void **state)
{
    (void)state;
    char err[256];
    assert_false(cs_tz_apply("Asia/Shanghia", err, sizeof(err)));
    assert_non_null(strstr(err, "unknown time zone \"Asia/Shanghia\""));
    assert_false(cs_tz_apply("../etc/passwd", err, sizeof(err)));
    assert_non_null(strstr(err, "not a time zone name"));
    assert_false(cs_tz_apply("", err, sizeof(err)));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_valid_dates),
        cmocka_unit_test(test_parse_rejects_impossible_and_malformed),
        cmocka_unit_test(test_month_parse_and_lengths),
        cmocka_unit_test(test_round_trip_over_centuries),
        cmocka_unit_test(test_weekday),
        cmocka_unit_test(test_business_day_follows_the_zone_not_utc),
        cmocka_unit_test(test_day_start_in_the_zone),
        cmocka_unit_test(test_unknown_zone_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
