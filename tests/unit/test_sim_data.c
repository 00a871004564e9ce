/*
 * Unit tests of the simulator's data: the replayed real days, seeded days,
 * the clock's cut, grade labels against the truth, discrepancy days, and
 * the paging and refusals of the two data queries.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "grades.h"
#include "../sim/model.h"
#include "../sim/query.h"
#include "../sim/server.h"
#include "sim_fixture.h"

static void test_same_seed_same_records(void **state)
{
    (void)state;
    struct sim_model a, b, c;
    assert_true(sim_model_init(&a, 42, NULL));
    assert_true(sim_model_init(&b, 42, NULL));
    assert_true(sim_model_init(&c, 43, NULL));
    cs_day day = ymd(2025, 11, 4);
    struct sim_day *da = sim_day_generate(&a, day);
    struct sim_day *db = sim_day_generate(&b, day);
    struct sim_day *dc = sim_day_generate(&c, day);
    assert_true(da->n_records > 0);
    assert_int_equal(da->n_records, db->n_records);
    assert_memory_equal(da->records, db->records,
                        (size_t)da->n_records * sizeof(da->records[0]));
    assert_memory_equal(da->tasks, db->tasks, sizeof(da->tasks));
    bool differs = da->n_records != dc->n_records ||
                   memcmp(da->records, dc->records,
                          (size_t)da->n_records * sizeof(da->records[0]));
    assert_true(differs);
    sim_day_free(da);
    sim_day_free(db);
    sim_day_free(dc);
    sim_model_free(&a);
    sim_model_free(&b);
    sim_model_free(&c);
}

static void test_replayed_day(void **state)
{
    struct sim_truth t;
    sim_truth(*state, ymd(2025, 10, 4), far_future(), &t);
    assert_int_equal(t.calls_dialled, 29014);
    assert_int_equal(t.calls_answered, 5290);
    assert_int_equal(t.success_orders, 8);
    assert_int_equal(t.grade_9 + t.grade_1, 8);
    assert_int_equal(t.grade_1, 1);
    assert_false(t.discrepancy);
    assert_true(t.active_seats >= 1 && t.active_seats <= SIM_MAX_SEATS);
}

static void test_empty_days(void **state)
{
    struct sim_truth t;
    /* In the replayed range but not listed. */
    sim_truth(*state, ymd(2025, 10, 1), far_future(), &t);
    assert_int_equal(t.calls_dialled, 0);
    assert_int_equal(t.active_seats, 0);
    for (uint64_t seed = 1; seed <= 5; seed++) {
        struct sim_model m;
        assert_true(sim_model_init(&m, seed, NULL));
        sim_truth(&m, ymd(2025, 11, 2), far_future(), &t); /* a Sunday */
        assert_int_equal(t.calls_dialled, 0);
        sim_truth(&m, ymd(2025, 11, 3), far_future(), &t); /* a Monday */
        assert_true(t.calls_dialled >= 15000 && t.calls_dialled <= 95000);
        assert_true(t.calls_answered < t.calls_dialled);
        sim_model_free(&m);
    }
}

static void test_records_ordered_and_unique(void **state)
{
    struct sim_day *d = sim_day_get(*state, ymd(2025, 10, 13));
    struct sim_day *e = sim_day_get(*state, ymd(2025, 10, 14));
    for (int i = 1; i < d->n_records; i++)
        assert_true(sim_record_time(d, i - 1) <= sim_record_time(d, i));
    assert_true(sim_record_time(d, 0) >= d->open);
    assert_true(sim_record_time(d, d->n_records - 1) <
                sim_day_start(d->day) + 86400);
    assert_true(sim_record_id(d, d->n_records - 1) < sim_record_id(e, 0));
    sim_day_put(*state, d);
    sim_day_put(*state, e);
}

static void test_clock_cut(void **state)
{
    cs_day day = ymd(2025, 10, 17);
    time_t now = sim_day_start(day) + 15 * 3600; /* 15:00 UTC+8 */
    struct sim_truth t, whole;
    sim_truth(*state, day, now, &t);
    sim_truth(*state, day, far_future(), &whole);
    assert_int_equal(whole.calls_dialled, 54291);
    assert_true(t.calls_dialled > 0 && t.calls_dialled < 54291);
    struct sim_day *d = sim_day_get(*state, day);
    assert_true(sim_record_time(d, t.calls_dialled - 1) <= now);
    assert_true(sim_record_time(d, t.calls_dialled) > now);
    sim_day_put(*state, d);
    sim_truth(*state, day, sim_day_start(day) + 8 * 3600, &t);
    assert_int_equal(t.calls_dialled, 0);
    sim_truth(*state, day + 3, now, &t); /* after the clock: empty */
    assert_int_equal(t.calls_dialled, 0);
}

static void test_labels_classify_to_truth(void **state)
{
    struct cs_list g9, g1;
    cs_list_parse(CS_GRADE_9_DEFAULT, &g9);
    cs_list_parse(CS_GRADE_1_DEFAULT, &g1);
    cs_day days[] = {ymd(2025, 10, 15), ymd(2025, 10, 16), ymd(2025, 12, 2)};
    for (size_t k = 0; k < 3; k++) {
        struct sim_truth t;
        sim_truth(*state, days[k], far_future(), &t);
        struct sim_day *d = sim_day_get(*state, days[k]);
        int n9 = 0, n1 = 0, traps = 0;
        for (int i = 0; i < d->n_records; i++) {
            const char *label = sim_label(d->records[i].label);
            enum cs_grade_class c = cs_grade_classify(&g9, &g1, label);
            n9 += c == CS_GRADE_9;
            n1 += c == CS_GRADE_1;
            traps += label != NULL && strcmp(label, "19元") == 0;
        }
        assert_int_equal(n9, t.grade_9);
        assert_int_equal(n1, t.grade_1);
        assert_int_equal(n1, (n9 + n1 + 5) / 10);
        assert_true(traps > 0);
        sim_day_put(*state, d);
    }
    cs_list_free(&g9);
    cs_list_free(&g1);
}

static void test_discrepancy_days(void **state)
{
    struct sim_truth t;
    sim_truth(*state, ymd(2025, 10, 16), far_future(), &t);
    assert_int_equal(t.success_orders, 34);
    assert_int_equal(t.grade_9 + t.grade_1, 33);
    assert_true(t.discrepancy);
    sim_truth(*state, ymd(2025, 10, 17), far_future(), &t);
    assert_false(t.discrepancy);
    /* Seeded days: about one working day in 13, one order apart. */
    int found = 0, working = 0;
    for (cs_day day = ymd(2025, 11, 1); day < ymd(2026, 3, 1); day++) {
        sim_truth(*state, day, far_future(), &t);
        int extra = t.success_orders - t.grade_9 - t.grade_1;
        assert_true(extra == 0 || extra == 1);
        assert_int_equal(t.discrepancy, extra == 1);
        found += extra;
        working += t.calls_dialled > 0;
    }
    assert_true(found > 0 && found < working / 5);
}

/* Runs a CDR query and returns its parsed "data" object. */
static json_t *cdr(struct sim_model *m, const char *query)
{
    struct sim_cdr_query q;
    char err[128];
    assert_true(sim_cdr_parse(query, &q, err, sizeof(err)));
    struct sim_view v = {far_future(), 0, false, 0};
    struct sim_buf b = {0};
    sim_cdr_data(&b, m, &q, &v);
    json_error_t jerr;
    json_t *j = json_loads(b.data, 0, &jerr);
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

static void test_paging(void **state)
{
    const char *base = "startTime=2025-10-04+00%3A00%3A00"
                       "&endTime=2025-10-04+23:59:59";
    char query[256];
    struct sim_day *d = sim_day_get(*state, ymd(2025, 10, 4));
    int pages[] = {1, 2, 29, 30, 31};
    size_t sizes[] = {1000, 1000, 1000, 14, 0};
    for (int k = 0; k < 5; k++) {
        snprintf(query, sizeof(query), "%s&page=%d&pageSize=1000", base,
                 pages[k]);
        json_t *j = cdr(*state, query);
        json_t *recs = json_object_get(j, "data");
        assert_int_equal(json_array_size(recs), sizes[k]);
        assert_int_equal(json_integer_value(json_object_get(j, "totalCount")),
                         29014);
        if (sizes[k] > 0)
            assert_int_equal(record_id(json_array_get(recs, 0)),
                             sim_record_id(d, (pages[k] - 1) * 1000));
        json_decref(j);
    }
    snprintf(query, sizeof(query), "%s&page=1&pageSize=1001", base);
    json_t *j = cdr(*state, query);
    assert_int_equal(json_array_size(json_object_get(j, "data")), 0);
    assert_int_equal(json_integer_value(json_object_get(j, "totalCount")),
                     29014);
    json_decref(j);
    sim_day_put(*state, d);
}

static void test_window_limits(void **state)
{
    (void)state;
    struct sim_cdr_query q;
    char err[128];
    assert_true(sim_cdr_parse("startTime=2025-10-01+00:00:00"
                              "&endTime=2025-10-07+23:59:59",
                              &q, err, sizeof(err)));
    assert_false(sim_cdr_parse("startTime=2025-10-01+00:00:00"
                               "&endTime=2025-10-08+00:00:01",
                               &q, err, sizeof(err)));
    assert_non_null(strstr(err, "7 days"));
    assert_false(
        sim_cdr_parse("endTime=2025-10-08+00:00:00", &q, err, sizeof(err)));
    assert_non_null(strstr(err, "startTime"));
    struct sim_stat_query s;
    const char *ok = "{\"start_time\":\"2025-10-01\",\"end_time\":"
                     "\"2025-10-07\",\"query_type\":1}";
    const char *long_range = "{\"start_time\":\"2025-10-01\",\"end_time\":"
                             "\"2025-10-08\",\"query_type\":1}";
    assert_true(sim_stat_parse(ok, strlen(ok), &s, err, sizeof(err)));
    assert_false(
        sim_stat_parse(long_range, strlen(long_range), &s, err, sizeof(err)));
}

static long long number(json_t *row, const char *key)
{
    json_t *v = json_object_get(row, key);
    return json_is_string(v) ? atoll(json_string_value(v))
                             : json_integer_value(v);
}

/* Not the total or average row, nor the internal account. */
static bool is_seat(const char *name)
{
    return strcmp(name, "总计") != 0 && strcmp(name, "平均") != 0 &&
           strcmp(name, "admin") != 0;
}

static void test_stats_match_truth(void **state)
{
    cs_day days[] = {ymd(2025, 10, 16), ymd(2025, 10, 17), ymd(2025, 11, 4)};
    for (size_t k = 0; k < 3; k++) {
        struct sim_truth t;
        sim_truth(*state, days[k], far_future(), &t);
        struct sim_stat_query q = {days[k], days[k], 1, false};
        struct sim_buf b = {0};
        sim_stat_data(&b, *state, &q, far_future());
        json_t *j = json_loads(b.data, 0, NULL);
        assert_non_null(j);
        json_t *total = json_object_get(j, "total"), *row;
        assert_int_equal(number(total, "callout_number"), t.calls_dialled);
        assert_int_equal(number(total, "called_number"), t.calls_answered);
        assert_int_equal(number(total, "success_number"), t.success_orders);
        size_t i;
        int seats = 0;
        json_array_foreach(json_object_get(j, "content"), i, row)
        {
            const char *name =
                json_string_value(json_object_get(row, "username"));
            seats += is_seat(name) && number(row, "callout_number") > 0;
        }
        assert_int_equal(seats, t.active_seats);
        json_decref(j);
        sim_buf_free(&b);
    }
}

static void test_fault_names(void **state)
{
    (void)state;
    struct sim_faults f;
    char err[512];
    assert_true(sim_faults_parse("http500, 429,expire", &f, err, sizeof(err)));
    assert_int_equal(f.on,
                     SIM_FAULT_HTTP500 | SIM_FAULT_429 | SIM_FAULT_EXPIRE);
    assert_true(sim_faults_parse("", &f, err, sizeof(err)));
    assert_int_equal(f.on, 0);
    assert_false(sim_faults_parse("http500,teapot", &f, err, sizeof(err)));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_seed_same_records),
        cmocka_unit_test(test_replayed_day),
        cmocka_unit_test(test_empty_days),
        cmocka_unit_test(test_records_ordered_and_unique),
        cmocka_unit_test(test_clock_cut),
        cmocka_unit_test(test_labels_classify_to_truth),
        cmocka_unit_test(test_discrepancy_days),
        cmocka_unit_test(test_paging),
        cmocka_unit_test(test_window_limits),
        cmocka_unit_test(test_stats_match_truth),
        cmocka_unit_test(test_fault_names),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
