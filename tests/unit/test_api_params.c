/* Unit tests of the API's query-parameter checks: every error code and
 * the message that names the bad value. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <string.h>

#include "../../api/params.h"

static void expect_error(const struct api_error *err, const char *code,
                         const char *message)
{
    assert_int_equal(err->status, 400);
    assert_string_equal(err->code, code);
    assert_string_equal(err->message, message);
}

static void test_date_valid(void **state)
{
    (void)state;
    struct api_error err;
    cs_day day;
    assert_true(api_param_date("date=2025-10-01", "date", &day, &err));
    assert_int_equal(day, cs_date_from_ymd(2025, 10, 1));
    assert_true(api_param_date("x=1&date=2024-02-29", "date", &day, &err));
    assert_int_equal(day, cs_date_from_ymd(2024, 2, 29));
}

static void test_date_missing(void **state)
{
    (void)state;
    struct api_error err;
    cs_day day;
    assert_false(api_param_date(NULL, "date", &day, &err));
    expect_error(&err, "missing_parameter",
                 "missing parameter \"date\"; expected a day as YYYY-MM-DD");
    assert_false(api_param_date("date=", "date", &day, &err));
    assert_string_equal(err.code, "missing_parameter");
    assert_false(api_param_date("day=2025-10-01", "date", &day, &err));
    assert_string_equal(err.code, "missing_parameter");
}

static void test_date_impossible(void **state)
{
    (void)state;
    struct api_error err;
    cs_day day;
    assert_false(api_param_date("date=2025-02-30", "date", &day, &err));
    expect_error(&err, "invalid_date",
                 "date \"2025-02-30\" is not a day of the calendar");
    assert_false(api_param_date("date=2025-13-01", "date", &day, &err));
    expect_error(&err, "invalid_date",
                 "date \"2025-13-01\" is not a day of the calendar");
}

static void test_date_bad_format(void **state)
{
    (void)state;
    struct api_error err;
    cs_day day;
    assert_false(api_param_date("date=2025-1-5", "date", &day, &err));
    expect_error(&err, "invalid_date",
                 "date \"2025-1-5\" is not a day as YYYY-MM-DD");
    /* Decoded, and anything but printable ASCII is shown as '?'. */
    assert_false(api_param_date("date=2025%2F10%0A", "date", &day, &err));
    expect_error(&err, "invalid_date",
                 "date \"2025/10?\" is not a day as YYYY-MM-DD");
}

static void test_value_too_long(void **state)
{
    (void)state;
    struct api_error err;
    cs_day day;
    char query[200] = "date=";
    memset(query + 5, '9', 150);
    query[155] = '\0';
    assert_false(api_param_date(query, "date", &day, &err));
    expect_error(&err, "invalid_parameter",
                 "parameter \"date\" is too long; expected a day as "
                 "YYYY-MM-DD");
}

static void test_nul_byte_and_repeats_are_refused(void **state)
{
    (void)state;
    struct api_error err;
    cs_day day;
    assert_false(api_param_date("date=2025-10-01%00junk", "date", &day, &err));
    expect_error(&err, "invalid_parameter",
                 "parameter \"date\" holds a NUL byte (%00); expected a day "
                 "as YYYY-MM-DD");
    assert_false(
        api_param_date("date=2025-10-01&date=2025-10-02", "date", &day, &err));
    expect_error(&err, "invalid_parameter",
                 "parameter \"date\" is given more than once");
    assert_false(api_param_date("date=2025-10-01&DATE=x", "date", &day, &err));
    assert_string_equal(err.code, "invalid_parameter");
    assert_false(api_param_date("date=1899-12-31", "date", &day, &err));
    expect_error(&err, "invalid_date",
                 "date \"1899-12-31\" is before 1900-01-01, the first day "
                 "served");
}

static void test_range(void **state)
{
    (void)state;
    struct api_error err;
    cs_day from, to;
    assert_true(
        api_param_range("from=2025-10-01&to=2025-10-31", &from, &to, &err));
    assert_int_equal(to - from, 30);
    /* A leap year whole: 366 days is the most. */
    assert_true(
        api_param_range("from=2024-01-01&to=2024-12-31", &from, &to, &err));
    assert_true(
        api_param_range("from=2025-10-01&to=2025-10-01", &from, &to, &err));
}

static void test_range_errors(void **state)
{
    (void)state;
    struct api_error err;
    cs_day from, to;
    assert_false(api_param_range("from=2025-10-01", &from, &to, &err));
    expect_error(&err, "missing_parameter",
                 "missing parameter \"to\"; expected a day as YYYY-MM-DD");
    assert_false(
        api_param_range("from=2025-10-02&to=2025-10-01", &from, &to, &err));
    expect_error(&err, "invalid_range",
                 "from \"2025-10-02\" is after to \"2025-10-01\"");
    assert_false(
        api_param_range("from=2024-01-01&to=2025-01-01", &from, &to, &err));
    expect_error(&err, "range_too_long",
                 "from \"2024-01-01\" to \"2025-01-01\" is 367 days; at most "
                 "366 are served at once");
    assert_false(
        api_param_range("from=2025-02-29&to=2025-03-01", &from, &to, &err));
    expect_error(&err, "invalid_date",
                 "from \"2025-02-29\" is not a day of the calendar");
}

static void test_month(void **state)
{
    (void)state;
    struct api_error err;
    cs_day first;
    assert_true(api_param_month("month=2025-10", &first, &err));
    assert_int_equal(first, cs_date_from_ymd(2025, 10, 1));
    assert_false(api_param_month("month=2025-13", &first, &err));
    expect_error(&err, "invalid_month",
                 "month \"2025-13\" is not a month as YYYY-MM (01 to 12, from "
                 "1900)");
    assert_false(api_param_month("month=2025-10-01", &first, &err));
    assert_string_equal(err.code, "invalid_month");
    assert_false(api_param_month("", &first, &err));
    expect_error(&err, "missing_parameter",
                 "missing parameter \"month\"; expected a month as YYYY-MM");
}

static void test_quote_value(void **state)
{
    (void)state;
    char buf[48];
    api_quote_value("abc\"\xe4\xb8\x80", buf, sizeof(buf));
    assert_string_equal(buf, "abc\"???");
    api_quote_value("0123456789012345678901234567890123456789XYZ", buf,
                    sizeof(buf));
    assert_string_equal(buf, "0123456789012345678901234567890123456789...");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_date_valid),
        cmocka_unit_test(test_date_missing),
        cmocka_unit_test(test_date_impossible),
        cmocka_unit_test(test_date_bad_format),
        cmocka_unit_test(test_value_too_long),
        cmocka_unit_test(test_nul_byte_and_repeats_are_refused),
        cmocka_unit_test(test_range),
        cmocka_unit_test(test_range_errors),
        cmocka_unit_test(test_month),
        cmocka_unit_test(test_quote_value),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
