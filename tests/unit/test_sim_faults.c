/*
 * Unit tests of the simulator's fault periods and page faults, and of the
 * flags that shape its days: --open and --day-records, with a day of a
 * million records paged and counted.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "../sim/model.h"
#include "../sim/query.h"
#include "../sim/server.h"
#include "sim_fixture.h"

#define OCT_4_RECORDS 29014 /* the replayed 2025-10-04 */

static void test_fault_periods(void **state)
{
    (void)state;
    struct sim_faults f;
    char err[512];
    assert_true(
        sim_faults_parse("http500:1, short : 3 ,429", &f, err, sizeof(err)));
    assert_int_equal(f.on, SIM_FAULT_HTTP500 | SIM_FAULT_SHORT | SIM_FAULT_429);
    assert_int_equal(sim_fault_period(&f, SIM_FAULT_HTTP500), 1);
    assert_int_equal(sim_fault_period(&f, SIM_FAULT_SHORT), 3);
    assert_int_equal(sim_fault_period(&f, SIM_FAULT_429), 7);
    assert_true(sim_fault_due(&f, SIM_FAULT_HTTP500, 1));
    assert_true(sim_fault_due(&f, SIM_FAULT_HTTP500, 2));
    assert_false(sim_fault_due(&f, SIM_FAULT_429, 6));
    assert_true(sim_fault_due(&f, SIM_FAULT_429, 14));
    assert_false(sim_fault_due(&f, SIM_FAULT_SHORT, 4));
    assert_true(sim_fault_due(&f, SIM_FAULT_SHORT, 6));
    /* Off: never due, whatever the count. */
    assert_false(sim_fault_due(&f, SIM_FAULT_EMPTY, 7));
}

static void test_default_periods(void **state)
{
    (void)state;
    static const struct {
        unsigned fault;
        unsigned period;
    } want[] = {
        {SIM_FAULT_HTTP500, 5},    {SIM_FAULT_429, 7},
        {SIM_FAULT_EXPIRE, 26},    {SIM_FAULT_BADJSON, 11},
        {SIM_FAULT_SLOW, 13},      {SIM_FAULT_HANG, 17},
        {SIM_FAULT_GROW, 1},       {SIM_FAULT_SHIFT, 2},
        {SIM_FAULT_RESET, 19},     {SIM_FAULT_RETRYDATE, 23},
        {SIM_FAULT_MALFORMED, 29}, {SIM_FAULT_SHORT, 3},
        {SIM_FAULT_REPEAT, 5},     {SIM_FAULT_EMPTY, 7},
    };
    struct sim_faults f;
    char err[512];
    assert_true(sim_faults_parse("http500,429,expire,badjson,slow,hang,grow,"
                                 "shift,reset,retrydate,malformed,short,"
                                 "repeat,empty",
                                 &f, err, sizeof(err)));
    assert_int_equal(f.on, (1u << SIM_N_FAULTS) - 1);
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        assert_int_equal(sim_fault_period(&f, want[i].fault), want[i].period);
    /* A fault switched on by hand, without a period, has its default. */
    struct sim_faults by_hand = {.on = SIM_FAULT_RESET};
    assert_int_equal(sim_fault_period(&by_hand, SIM_FAULT_RESET), 19);
}

static void test_bad_fault_lists(void **state)
{
    (void)state;
    static const struct {
        const char *list, *named;
    } bad[] = {
        {"http500:0", "http500:0"},
        {"http500:", "http500:"},
        {"short:x", "short:x"},
        {"empty:1000001", "empty:1000001"},
        {"repeat:-2", "repeat:-2"},
        {"http500,teapot:3", "\"teapot\""},
        {":3", "\"\""},
    };
    struct sim_faults f;
    char err[512];
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        assert_false(sim_faults_parse(bad[i].list, &f, err, sizeof(err)));
        assert_non_null(strstr(err, bad[i].named));
    }
    assert_false(sim_faults_parse("teapot", &f, err, sizeof(err)));
    assert_non_null(strstr(err, "retrydate")); /* the known names listed */
}

static void test_fault_list_round_trip(void **state)
{
    (void)state;
    struct sim_faults f, again;
    char err[512], text[SIM_FAULTS_TEXT_LEN];
    assert_true(sim_faults_parse("empty:1,http500,retrydate:4,short:3", &f, err,
                                 sizeof(err)));
    sim_faults_format(&f, text, sizeof(text));
    /* In the order of the bits; a default period is not written. */
    assert_string_equal(text, "http500,retrydate:4,short,empty:1");
    assert_true(sim_faults_parse(text, &again, err, sizeof(err)));
    assert_memory_equal(&f, &again, sizeof(f));
    assert_true(sim_faults_parse("", &f, err, sizeof(err)));
    sim_faults_format(&f, text, sizeof(text));
    assert_string_equal(text, "");
}

static void test_open_flag(void **state)
{
    (void)state;
    struct sim_data_options o;
    sim_data_options_default(&o);
    assert_int_equal(o.open, 9 * 3600);
    assert_true(sim_open_parse("00:00", &o));
    assert_int_equal(o.open, 0);
    assert_true(sim_open_parse("23:59", &o));
    assert_int_equal(o.open, 23 * 3600 + 59 * 60);
    const char *bad[] = {"9:00", "24:00", "12:60", "12-30",
                         "",     "12:3a", "12:300"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_false(sim_open_parse(bad[i], &o));
    assert_int_equal(o.open, 23 * 3600 + 59 * 60); /* left as it was */
}

static void test_day_records_flag(void **state)
{
    (void)state;
    struct sim_data_options o;
    sim_data_options_default(&o);
    assert_true(sim_day_records_parse("2025-10-16=1000000,2025-11-02=1", &o));
    assert_int_equal(o.n_fixed, 2);
    assert_int_equal(o.fixed[0].day, ymd(2025, 10, 16));
    assert_int_equal(o.fixed[0].records, 1000000);
    assert_int_equal(o.fixed[1].day, ymd(2025, 11, 2));
    assert_int_equal(o.fixed[1].records, 1);
    /* A second flag replaces the first. */
    assert_true(sim_day_records_parse("2025-10-17=2000000", &o));
    assert_int_equal(o.n_fixed, 1);
    assert_int_equal(o.fixed[0].records, 2000000);
    const char *bad[] = {
        "2025-10-16=0",  "2025-10-16=2000001",
        "2025-10-16",    "2025-10-16=",
        "2025-13-01=5",  "2025-10-16=5,",
        "2025-10-16=5x", "",
        "2025-10-16=-5", "2025-10-16=5,2025-10-16=6",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_false(sim_day_records_parse(bad[i], &o));
}

/* A model of seed 1 with the given --day-records and --open. */
static void model_with(struct sim_model *m, const char *day_records,
                       const char *open)
{
    struct sim_data_options o;
    sim_data_options_default(&o);
    if (day_records != NULL)
        assert_true(sim_day_records_parse(day_records, &o));
    if (open != NULL)
        assert_true(sim_open_parse(open, &o));
    assert_true(sim_model_init(m, 1, &o));
}

static void test_day_records_keep_proportions(void **state)
{
    (void)state;
    struct sim_model m;
    struct sim_truth t;
    model_with(&m, "2025-10-04=2901,2025-10-16=50000,2025-11-02=1000", NULL);
    /* A tenth of 2025-10-04: 29014 calls, 5290 answered, 8 successes. */
    sim_truth(&m, ymd(2025, 10, 4), far_future(), &t);
    assert_int_equal(t.calls_dialled, 2901);
    assert_int_equal(t.calls_answered, 529);
    assert_int_equal(t.success_orders, 1);
    assert_int_equal(t.grade_9 + t.grade_1, 1);
    /* 2025-10-16 keeps its discrepancy: one success order is ungraded. */
    sim_truth(&m, ymd(2025, 10, 16), far_future(), &t);
    assert_int_equal(t.calls_dialled, 50000);
    assert_int_equal(t.calls_answered, 3770);
    assert_int_equal(t.success_orders, 18);
    assert_int_equal(t.grade_9 + t.grade_1, 17);
    assert_true(t.discrepancy);
    /* A Sunday has no calls of its own: it borrows a seeded day's. */
    sim_truth(&m, ymd(2025, 11, 2), far_future(), &t);
    assert_int_equal(t.calls_dialled, 1000);
    assert_true(t.calls_answered > 0 && t.calls_answered < 300);
    assert_true(t.active_seats >= 1);
    /* Days not named are as they were. */
    sim_truth(&m, ymd(2025, 10, 5), far_future(), &t);
    assert_int_equal(t.calls_dialled, 27350);
    sim_model_free(&m);
}

static void test_open_all_day(void **state)
{
    cs_day day = ymd(2025, 10, 13);
    time_t three_am = sim_day_start(day) + 3 * 3600;
    struct sim_model m;
    struct sim_truth t, whole, usual;
    model_with(&m, NULL, "00:00");
    sim_truth(&m, day, three_am, &t);
    sim_truth(&m, day, far_future(), &whole);
    sim_truth(*state, day, far_future(), &usual);
    /* The same calls, spread from midnight: an eighth of them by 03:00. */
    assert_int_equal(whole.calls_dialled, usual.calls_dialled);
    assert_int_equal(whole.success_orders, usual.success_orders);
    assert_true(t.calls_dialled > whole.calls_dialled / 9 &&
                t.calls_dialled < whole.calls_dialled / 7);
    struct sim_day *d = sim_day_get(&m, day);
    assert_true(sim_record_time(d, 0) < sim_day_start(day) + 60);
    assert_true(sim_record_time(d, d->n_records - 1) >
                sim_day_start(day) + 86400 - 60);
    assert_true(sim_record_time(d, d->n_records - 1) <
                sim_day_start(day) + 86400);
    sim_day_put(&m, d);
    sim_model_free(&m);
    /* The usual opening: nothing before 09:00. */
    sim_truth(*state, day, three_am, &t);
    assert_int_equal(t.calls_dialled, 0);
}

/* Page `page` of 2025-10-04 in pages of `size`, with the page faults
 * `due` (bits 1 << SIM_PAGE_*); returns the "data" object. */
static json_t *page_of(struct sim_model *m, const char *date, int page,
                       int size, unsigned due, enum sim_page_fault *applied)
{
    char query[256];
    snprintf(query, sizeof(query),
             "startTime=%s+00:00:00&endTime=%s+23:59:59&page=%d&pageSize=%d",
             date, date, page, size);
    struct sim_cdr_query q;
    char err[128];
    assert_true(sim_cdr_parse(query, &q, err, sizeof(err)));
    struct sim_view v = {far_future(), 0, false, due};
    struct sim_buf b = {0};
    *applied = sim_cdr_data(&b, m, &q, &v);
    json_t *j = json_loads(b.data, 0, NULL);
    assert_non_null(j);
    sim_buf_free(&b);
    return j;
}

static long long record_id(json_t *rec)
{
    json_t *id = json_object_get(rec, "id");
    if (json_is_string(id))
        return atoll(json_string_value(id));
    return json_integer_value(id);
}

/* Asserts that the page holds records [first, first + n) of d. */
static void assert_records(json_t *page, const struct sim_day *d, int first,
                           int n)
{
    json_t *recs = json_object_get(page, "data");
    assert_int_equal(json_array_size(recs), n);
    for (int i = 0; i < n; i++)
        assert_int_equal(record_id(json_array_get(recs, (size_t)i)),
                         sim_record_id(d, first + i));
}

static long long total_count(json_t *page)
{
    return json_integer_value(json_object_get(page, "totalCount"));
}

#define DUE(f) (1u << (f))

static void test_short_page(void **state)
{
    struct sim_day *d = sim_day_get(*state, ymd(2025, 10, 4));
    enum sim_page_fault f;
    json_t *p = page_of(*state, "2025-10-04", 1, 1000, DUE(SIM_PAGE_SHORT), &f);
    assert_int_equal(f, SIM_PAGE_SHORT);
    assert_records(p, d, 0, 1000 - SIM_SHORT_DROP);
    assert_int_equal(total_count(p), OCT_4_RECORDS);
    json_decref(p);
    /* Page 29 is full but not the last: short too. */
    p = page_of(*state, "2025-10-04", 29, 1000, DUE(SIM_PAGE_SHORT), &f);
    assert_int_equal(f, SIM_PAGE_SHORT);
    assert_records(p, d, 28000, 990);
    json_decref(p);
    /* The last page (14 records) is never short. */
    p = page_of(*state, "2025-10-04", 30, 1000, DUE(SIM_PAGE_SHORT), &f);
    assert_int_equal(f, SIM_PAGE_WHOLE);
    assert_records(p, d, 29000, 14);
    json_decref(p);
    sim_day_put(*state, d);
}

static void test_repeated_page(void **state)
{
    struct sim_day *d = sim_day_get(*state, ymd(2025, 10, 4));
    enum sim_page_fault f;
    /* Page 3 brings page 2's records: ids of records 1000..1999. */
    json_t *p =
        page_of(*state, "2025-10-04", 3, 1000, DUE(SIM_PAGE_REPEAT), &f);
    assert_int_equal(f, SIM_PAGE_REPEAT);
    assert_records(p, d, 1000, 1000);
    assert_int_equal(total_count(p), OCT_4_RECORDS);
    json_int_t page = json_integer_value(json_object_get(p, "page"));
    assert_int_equal(page, 3); /* the query is echoed as asked */
    json_decref(p);
    /* The last page repeats a full page 29. */
    p = page_of(*state, "2025-10-04", 30, 1000, DUE(SIM_PAGE_REPEAT), &f);
    assert_int_equal(f, SIM_PAGE_REPEAT);
    assert_records(p, d, 28000, 1000);
    json_decref(p);
    /* Page 1 has nothing before it. */
    p = page_of(*state, "2025-10-04", 1, 1000, DUE(SIM_PAGE_REPEAT), &f);
    assert_int_equal(f, SIM_PAGE_WHOLE);
    assert_records(p, d, 0, 1000);
    json_decref(p);
    sim_day_put(*state, d);
}

static void test_empty_page(void **state)
{
    struct sim_day *d = sim_day_get(*state, ymd(2025, 10, 4));
    enum sim_page_fault f;
    json_t *p = page_of(*state, "2025-10-04", 5, 1000, DUE(SIM_PAGE_EMPTY), &f);
    assert_int_equal(f, SIM_PAGE_EMPTY);
    assert_records(p, d, 0, 0);
    assert_int_equal(total_count(p), OCT_4_RECORDS);
    json_decref(p);
    /* Past the end there is nothing to take away. */
    p = page_of(*state, "2025-10-04", 31, 1000, DUE(SIM_PAGE_EMPTY), &f);
    assert_int_equal(f, SIM_PAGE_WHOLE);
    json_decref(p);
    /* Nor from a page over 1000 records, which is empty anyway. */
    p = page_of(*state, "2025-10-04", 1, 1001, DUE(SIM_PAGE_EMPTY), &f);
    assert_int_equal(f, SIM_PAGE_WHOLE);
    assert_records(p, d, 0, 0);
    json_decref(p);
    /* A day without calls has no page that could be bent. */
    p = page_of(*state, "2025-10-01", 1, 1000, DUE(SIM_PAGE_EMPTY), &f);
    assert_int_equal(f, SIM_PAGE_WHOLE);
    assert_int_equal(total_count(p), 0);
    json_decref(p);
    sim_day_put(*state, d);
}

static void test_page_fault_order(void **state)
{
    struct sim_day *d = sim_day_get(*state, ymd(2025, 10, 4));
    unsigned all =
        DUE(SIM_PAGE_EMPTY) | DUE(SIM_PAGE_REPEAT) | DUE(SIM_PAGE_SHORT);
    enum sim_page_fault f;
    json_t *p = page_of(*state, "2025-10-04", 2, 1000, all, &f);
    assert_int_equal(f, SIM_PAGE_EMPTY);
    json_decref(p);
    unsigned two = DUE(SIM_PAGE_REPEAT) | DUE(SIM_PAGE_SHORT);
    p = page_of(*state, "2025-10-04", 2, 1000, two, &f);
    assert_int_equal(f, SIM_PAGE_REPEAT);
    json_decref(p);
    /* On page 1 repeat cannot apply: short does. */
    p = page_of(*state, "2025-10-04", 1, 1000, two, &f);
    assert_int_equal(f, SIM_PAGE_SHORT);
    assert_records(p, d, 0, 990);
    json_decref(p);
    sim_day_put(*state, d);
}

static long long stat_total(struct sim_model *m, cs_day day, const char *key)
{
    struct sim_stat_query q = {day, day, 1, false};
    struct sim_buf b = {0};
    sim_stat_data(&b, m, &q, far_future());
    json_t *j = json_loads(b.data, 0, NULL);
    assert_non_null(j);
    json_t *v = json_object_get(json_object_get(j, "total"), key);
    long long n =
        json_is_string(v) ? atoll(json_string_value(v)) : json_integer_value(v);
    json_decref(j);
    sim_buf_free(&b);
    return n;
}

static void test_million_record_day(void **state)
{
    (void)state;
    cs_day day = ymd(2025, 10, 16);
    struct sim_model m;
    model_with(&m, "2025-10-16=1000000", NULL);
    struct sim_day *d = sim_day_get(&m, day);
    assert_int_equal(d->n_records, 1000000);
    enum sim_page_fault f;
    json_t *p = page_of(&m, "2025-10-16", 900, 1000, 0, &f);
    assert_records(p, d, 899000, 1000);
    assert_int_equal(total_count(p), 1000000);
    json_decref(p);
    p = page_of(&m, "2025-10-16", 1000, 1000, 0, &f);
    assert_records(p, d, 999000, 1000);
    json_decref(p);
    p = page_of(&m, "2025-10-16", 1001, 1000, 0, &f);
    assert_records(p, d, 0, 0);
    json_decref(p);
    struct sim_truth t;
    sim_truth(&m, day, far_future(), &t);
    assert_int_equal(t.calls_dialled, 1000000);
    assert_int_equal(stat_total(&m, day, "callout_number"), 1000000);
    assert_int_equal(stat_total(&m, day, "called_number"), t.calls_answered);
    assert_int_equal(stat_total(&m, day, "success_number"), t.success_orders);
    /* 7110 of 94305 answered, 34 of 7110 successes. */
    assert_int_equal(t.calls_answered, 75394);
    assert_int_equal(t.success_orders, 361);
    sim_day_put(&m, d);
    sim_model_free(&m);
}

static void test_ids_beyond_a_million(void **state)
{
    (void)state;
    struct sim_day d = {.day = ymd(2025, 10, 16)};
    struct sim_day next = {.day = ymd(2025, 10, 17)};
    /* The first million keep their numbers; the rest never meet the next
     * day's, and stay exact as JSON numbers (below 2^53). */
    assert_int_equal(sim_record_id(&d, 0), (20377LL + 100000) * 1000000 + 1);
    long long last_usual = sim_record_id(&d, 999999);
    long long first_beyond = sim_record_id(&d, 1000000);
    long long last = sim_record_id(&d, SIM_MAX_RECORDS - 1);
    assert_true(last_usual < sim_record_id(&next, 0));
    assert_true(first_beyond > sim_record_id(&next, 999999));
    assert_true(first_beyond < last);
    assert_true(last < sim_record_id(&next, 1000000));
    assert_true(last < (1LL << 53));
}

static void test_range_refusals_flagged(void **state)
{
    (void)state;
    struct sim_cdr_query q;
    char err[128];
    assert_false(sim_cdr_parse("startTime=2025-10-01+00:00:00"
                               "&endTime=2025-10-08+00:00:01",
                               &q, err, sizeof(err)));
    assert_true(q.over_range);
    assert_false(
        sim_cdr_parse("startTime=2025-10-01+00:00:00", &q, err, sizeof(err)));
    assert_false(q.over_range);
    struct sim_stat_query s;
    const char *long_range = "{\"start_time\":\"2025-10-01\",\"end_time\":"
                             "\"2025-10-08\",\"query_type\":1}";
    assert_false(
        sim_stat_parse(long_range, strlen(long_range), &s, err, sizeof(err)));
    assert_true(s.over_range);
}

static void test_http_date(void **state)
{
    (void)state;
    char date[SIM_HTTP_DATE_LEN];
    sim_http_date(784111777, date);
    assert_string_equal(date, "Sun, 06 Nov 1994 08:49:37 GMT");
    sim_http_date(0, date);
    assert_string_equal(date, "Thu, 01 Jan 1970 00:00:00 GMT");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fault_periods),
        cmocka_unit_test(test_default_periods),
        cmocka_unit_test(test_bad_fault_lists),
        cmocka_unit_test(test_fault_list_round_trip),
        cmocka_unit_test(test_open_flag),
        cmocka_unit_test(test_day_records_flag),
        cmocka_unit_test(test_day_records_keep_proportions),
        cmocka_unit_test(test_open_all_day),
        cmocka_unit_test(test_short_page),
        cmocka_unit_test(test_repeated_page),
        cmocka_unit_test(test_empty_page),
        cmocka_unit_test(test_page_fault_order),
        cmocka_unit_test(test_million_record_day),
        cmocka_unit_test(test_ids_beyond_a_million),
        cmocka_unit_test(test_range_refusals_flagged),
        cmocka_unit_test(test_http_date),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
