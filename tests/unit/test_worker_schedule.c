/* Unit tests of the job table: reading specs and the environment, and the
 * slots of a job in the business time zone. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "date.h"
#include "../../worker/schedule.h"

/* Local time in the applied zone (Asia/Shanghai in these tests). */
static time_t local(int y, int mo, int d, int h, int mi, int s)
{
    return cs_day_start(cs_date_from_ymd(y, mo, d)) + h * 3600 + mi * 60 + s;
}

static int setup(void **state)
{
    (void)state;
    char err[128];
    return cs_tz_apply("Asia/Shanghai", err, sizeof(err)) ? 0 : -1;
}

static const struct sched_job *named(const struct sched_table *t,
                                     const char *name)
{
    for (size_t i = 0; i < t->count; i++)
        if (strcmp(t->jobs[i].name, name) == 0)
            return &t->jobs[i];
    return NULL;
}

static void defaults_follow_the_upstream_contract(void **state)
{
    (void)state;
    struct sched_table t;
    sched_defaults(&t);
    assert_int_equal(t.count, 6);
    const struct sched_job *h = named(&t, "history");
    assert_non_null(h);
    assert_int_equal(h->sources, SCHED_BOTH);
    assert_int_equal(h->first, -10);
    assert_int_equal(h->last, -1);
    assert_int_equal(h->n_at, 1);
    assert_int_equal(h->at[0], 7 * 3600);
    const struct sched_job *r = named(&t, "recent");
    assert_int_equal(r->n_at, 4);
    assert_int_equal(r->at[3], 21 * 3600);
    const struct sched_job *y = named(&t, "close-yesterday");
    assert_int_equal(y->first, -1);
    assert_int_equal(y->at[0], 5 * 60);
    const struct sched_job *o = named(&t, "open-today");
    assert_int_equal(o->first, 0);
    assert_int_equal(o->sources, SCHED_BOTH);
    assert_int_equal(o->at[0], 10 * 60);
    const struct sched_job *s = named(&t, "today-stats");
    assert_int_equal(s->sources, SCHED_STATS);
    assert_int_equal(s->every, 3600);
    assert_int_equal(s->from, 9 * 3600);
    assert_int_equal(s->to, 23 * 3600 + 59 * 60 + 59);
    const struct sched_job *c = named(&t, "today-calls");
    assert_true(c->incremental);
    assert_int_equal(c->every, 60);
}

static void bad_specs_are_named(void **state)
{
    (void)state;
    struct sched_job j;
    char err[200];
    assert_false(sched_parse("x", "calls today", &j, err, sizeof(err)));
    assert_non_null(strstr(err, "expected SOURCE DAYS"));
    assert_false(sched_parse("x", "call today at 07:00", &j, err, sizeof(err)));
    assert_non_null(strstr(err, "source \"call\""));
    assert_false(
        sched_parse("x", "both -1..-3 at 07:00", &j, err, sizeof(err)));
    assert_non_null(strstr(err, "days \"-1..-3\""));
    assert_false(sched_parse("x", "both -40 at 07:00", &j, err, sizeof(err)));
    assert_non_null(strstr(err, "days \"-40\""));
    assert_false(sched_parse("x", "both 1 at 07:00", &j, err, sizeof(err)));
    assert_false(sched_parse("x", "both today at 24:00", &j, err, sizeof(err)));
    assert_non_null(strstr(err, "times \"24:00\""));
    assert_false(
        sched_parse("x", "both today at 07:00,07:00", &j, err, sizeof(err)));
    assert_false(sched_parse("x", "both today every 2s", &j, err, sizeof(err)));
    assert_non_null(strstr(err, "times \"2s\""));
    assert_false(
        sched_parse("x", "both today every 25h", &j, err, sizeof(err)));
    assert_false(sched_parse("x", "both today every 1m 10:00-09:00", &j, err,
                             sizeof(err)));
    assert_non_null(strstr(err, "window \"10:00-09:00\""));
    assert_false(sched_parse("x", "stats today every 1m incremental", &j, err,
                             sizeof(err)));
    assert_non_null(strstr(err, "incremental is for calls of today only"));
    assert_false(sched_parse("x", "calls -1 every 1m incremental", &j, err,
                             sizeof(err)));
    assert_false(
        sched_parse("x", "calls today at 07:00 soon", &j, err, sizeof(err)));
    assert_non_null(strstr(err, "unexpected \"soon\""));
    assert_false(
        sched_parse("Big", "calls today at 07:00", &j, err, sizeof(err)));
    assert_non_null(strstr(err, "job name \"Big\""));
}

static void formats_read_back(void **state)
{
    (void)state;
    const char *specs[] = {
        "both -10..-1 at 07:00",
        "both -3..-1 at 01:00,10:00,15:00,21:00",
        "stats today every 1h 09:00-23:59",
        "calls today every 90s 00:00-23:59 incremental",
        "calls yesterday every 10m 08:30-12:00",
        "stats -5 at 03:15",
    };
    for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
        struct sched_job j;
        char err[200], out[SCHED_SPEC_LEN];
        assert_true(sched_parse("job", specs[i], &j, err, sizeof(err)));
        sched_format(&j, out, sizeof(out));
        assert_string_equal(out, specs[i]);
    }
}

static void environment_replaces_removes_and_adds(void **state)
{
    (void)state;
    char *env[] = {
        "PATH=/usr/bin",
        "CALLSTATS_JOB_TODAY_CALLS=calls today every 30s 09:00-23:59 "
        "incremental",
        "CALLSTATS_JOB_HISTORY=off",
        "CALLSTATS_JOB_NIGHTLY_MONTH=both -31..-1 at 03:00",
        NULL,
    };
    struct sched_table t;
    char err[256];
    assert_true(sched_load(&t, env, err, sizeof(err)));
    assert_int_equal(t.count, 6);
    assert_null(named(&t, "history"));
    assert_int_equal(named(&t, "today-calls")->every, 30);
    assert_int_equal(named(&t, "nightly-month")->first, -31);

    char *bad[] = {"CALLSTATS_JOB_RECENT=both -3..-1 at 25:00", NULL};
    assert_false(sched_load(&t, bad, err, sizeof(err)));
    assert_non_null(strstr(err, "CALLSTATS_JOB_RECENT: times \"25:00\""));
}

static void daily_job_slots(void **state)
{
    (void)state;
    struct sched_table t;
    sched_defaults(&t);
    const struct sched_job *h = named(&t, "history");
    assert_int_equal(sched_latest_slot(h, local(2026, 12, 3, 6, 59, 59)),
                     local(2026, 12, 2, 7, 0, 0));
    assert_int_equal(sched_latest_slot(h, local(2026, 12, 3, 7, 0, 0)),
                     local(2026, 12, 3, 7, 0, 0));
    assert_int_equal(sched_next_slot(h, local(2026, 12, 3, 7, 0, 0)),
                     local(2026, 12, 4, 7, 0, 0));
    const struct sched_job *r = named(&t, "recent");
    assert_int_equal(sched_latest_slot(r, local(2026, 12, 3, 14, 59, 0)),
                     local(2026, 12, 3, 10, 0, 0));
    assert_int_equal(sched_next_slot(r, local(2026, 12, 3, 21, 0, 0)),
                     local(2026, 12, 4, 1, 0, 0));
    cs_day first, last;
    sched_days(h, local(2026, 12, 3, 7, 0, 0), &first, &last);
    assert_int_equal(first, cs_date_from_ymd(2026, 11, 23));
    assert_int_equal(last, cs_date_from_ymd(2026, 12, 2));
}

static void interval_job_slots_stay_in_their_window(void **state)
{
    (void)state;
    struct sched_table t;
    sched_defaults(&t);
    const struct sched_job *c = named(&t, "today-calls");
    /* Before 09:00 the latest slot is the last one of the day before. */
    assert_int_equal(sched_latest_slot(c, local(2026, 12, 3, 8, 59, 59)),
                     local(2026, 12, 2, 23, 59, 0));
    assert_int_equal(sched_latest_slot(c, local(2026, 12, 3, 9, 0, 30)),
                     local(2026, 12, 3, 9, 0, 0));
    assert_int_equal(sched_latest_slot(c, local(2026, 12, 3, 23, 59, 59)),
                     local(2026, 12, 3, 23, 59, 0));
    assert_int_equal(sched_next_slot(c, local(2026, 12, 3, 23, 59, 0)),
                     local(2026, 12, 4, 9, 0, 0));
    assert_int_equal(sched_next_slot(c, local(2026, 12, 3, 3, 0, 0)),
                     local(2026, 12, 3, 9, 0, 0));
    const struct sched_job *s = named(&t, "today-stats");
    assert_int_equal(sched_latest_slot(s, local(2026, 12, 3, 23, 59, 0)),
                     local(2026, 12, 3, 23, 0, 0));
    assert_int_equal(sched_next_slot(s, local(2026, 12, 3, 23, 0, 0)),
                     local(2026, 12, 4, 9, 0, 0));
}

/* Slots are a function of the wall clock alone: after a jump back the
 * latest slot is one already seen (so nothing repeats), after a jump
 * forward it is the one slot that stands for all the skipped ones. */
static void clock_jumps_give_known_or_single_slots(void **state)
{
    (void)state;
    struct sched_table t;
    sched_defaults(&t);
    const struct sched_job *c = named(&t, "today-calls");
    time_t done = sched_latest_slot(c, local(2026, 12, 3, 12, 0, 10));
    time_t back = sched_latest_slot(c, local(2026, 12, 3, 11, 0, 10));
    assert_true(back < done);
    time_t ahead = sched_latest_slot(c, local(2026, 12, 3, 14, 0, 10));
    assert_int_equal(ahead, local(2026, 12, 3, 14, 0, 0));
    assert_int_equal(sched_next_slot(c, done), local(2026, 12, 3, 12, 1, 0));
}

static void offset_is_a_few_seconds_and_stable(void **state)
{
    (void)state;
    const char *hosts[] = {"a", "callstats-1", "callstats-2", "", "db01"};
    for (size_t i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++) {
        int o = sched_offset_from(hosts[i]);
        assert_in_range(o, 1, 29);
        assert_int_equal(o, sched_offset_from(hosts[i]));
    }
    assert_int_not_equal(sched_offset_from("callstats-1"),
                         sched_offset_from("callstats-2"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defaults_follow_the_upstream_contract),
        cmocka_unit_test(bad_specs_are_named),
        cmocka_unit_test(formats_read_back),
        cmocka_unit_test(environment_replaces_removes_and_adds),
        cmocka_unit_test(daily_job_slots),
        cmocka_unit_test(interval_job_slots_stay_in_their_window),
        cmocka_unit_test(clock_jumps_give_known_or_single_slots),
        cmocka_unit_test(offset_is_a_few_seconds_and_stable),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
