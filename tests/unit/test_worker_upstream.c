/* Unit tests of the upstream client's pure parts: backoff, Retry-After,
 * URL encoding and the CDR page URL. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cmocka.h>

#include "../../worker/upstream.h"

static void backoff_doubles_up_to_thirty_seconds(void **state)
{
    (void)state;
    assert_int_equal(upstream_backoff_ms(0), 250);
    assert_int_equal(upstream_backoff_ms(1), 500);
    assert_int_equal(upstream_backoff_ms(2), 1000);
    assert_int_equal(upstream_backoff_ms(6), 16000);
    assert_int_equal(upstream_backoff_ms(7), 30000);
    assert_int_equal(upstream_backoff_ms(40), 30000);
}

static void retry_after_is_honoured_and_capped(void **state)
{
    (void)state;
    assert_int_equal(upstream_retry_delay_ms(5, 0), 5000);
    assert_int_equal(upstream_retry_delay_ms(0, 3), 0);
    assert_int_equal(upstream_retry_delay_ms(120, 0), 60000);
    assert_int_equal(upstream_retry_delay_ms(-1, 2), 1000);
}

static void url_encoding(void **state)
{
    (void)state;
    char out[64];
    assert_true(upstream_url_encode("demo-password", out, sizeof(out)));
    assert_string_equal(out, "demo-password");
    assert_true(upstream_url_encode("p@ss w&rd=1/+", out, sizeof(out)));
    assert_string_equal(out, "p%40ss%20w%26rd%3D1%2F%2B");
    assert_true(upstream_url_encode("密", out, sizeof(out)));
    assert_string_equal(out, "%E5%AF%86");
    assert_false(upstream_url_encode("a b", out, 5));
    assert_true(upstream_url_encode("a b", out, 6));
}

static void cdr_page_url(void **state)
{
    (void)state;
    char url[256];
    cs_day day = cs_date_from_ymd(2025, 10, 4);
    assert_true(upstream_cdr_url("http://127.0.0.1:18555", day, 0, 86399, 3,
                                 url, sizeof(url)));
    assert_string_equal(url, "http://127.0.0.1:18555/task/cdr/all2"
                             "?startTime=2025-10-04%2000%3A00%3A00"
                             "&endTime=2025-10-04%2023%3A59%3A59"
                             "&page=3&pageSize=1000");
    assert_false(
        upstream_cdr_url("http://127.0.0.1:18555", day, 0, 86399, 3, url, 60));
}

static void retry_after_reads_seconds_and_http_dates(void **state)
{
    (void)state;
    /* 2026-12-03 15:00:00 UTC */
    time_t now = 1796310000;
    assert_int_equal(upstream_parse_retry_after("7", now), 7);
    assert_int_equal(upstream_parse_retry_after(" 0 ", now), 0);
    assert_int_equal(
        upstream_parse_retry_after("Thu, 03 Dec 2026 15:00:05 GMT", now), 5);
    assert_int_equal(
        upstream_parse_retry_after("Thu, 03 Dec 2026 14:59:00 GMT", now), 0);
    assert_int_equal(upstream_parse_retry_after("-3", now), -1);
    assert_int_equal(upstream_parse_retry_after("soon", now), -1);
    assert_int_equal(upstream_parse_retry_after("5 s", now), -1);
}

static void jitter_spreads_within_half_to_whole(void **state)
{
    (void)state;
    unsigned rng = 12345;
    long low = 1000, high = 0;
    for (int i = 0; i < 1000; i++) {
        long ms = upstream_jitter_ms(1000, &rng);
        assert_in_range(ms, 500, 1000);
        low = ms < low ? ms : low;
        high = ms > high ? ms : high;
    }
    /* Spread, not a constant. */
    assert_true(low < 600);
    assert_true(high > 900);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(backoff_doubles_up_to_thirty_seconds),
        cmocka_unit_test(retry_after_is_honoured_and_capped),
        cmocka_unit_test(url_encoding),
        cmocka_unit_test(cdr_page_url),
        cmocka_unit_test(retry_after_reads_seconds_and_http_dates),
        cmocka_unit_test(jitter_spreads_within_half_to_whole),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
