/* Unit tests of the refresh schedule: which jobs are due at a local time,
 * and the plan of days they make. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../../worker/schedule.h"

static void assert_job(const struct sched_job *job, int first, int last,
                       enum sched_source sources)
{
    assert_int_equal(job->first, first);
    assert_int_equal(job->last, last);
    assert_int_equal(job->sources, sources);
}

static void morning_backfill_at_seven(void **state)
{
    (void)state;
    struct sched_job jobs[SCHED_MAX_JOBS];
    assert_int_equal(sched_due(7, 0, jobs), 1);
    assert_job(&jobs[0], -10, -1, SCHED_BOTH);
    assert_int_equal(sched_due(7, 10, jobs), 0);
}

static void business_hours_start_at_nine(void **state)
{
    (void)state;
    struct sched_job jobs[SCHED_MAX_JOBS];
    assert_int_equal(sched_due(8, 59, jobs), 0);
    assert_int_equal(sched_due(8, 50, jobs), 0);
    assert_int_equal(sched_due(9, 0, jobs), 2);
    assert_job(&jobs[0], 0, 0, SCHED_STATS);
    assert_job(&jobs[1], 0, 0, SCHED_CALLS);
    assert_int_equal(sched_due(9, 10, jobs), 1);
    assert_job(&jobs[0], 0, 0, SCHED_CALLS);
    assert_int_equal(sched_due(9, 5, jobs), 0);
    assert_int_equal(sched_due(9, 59, jobs), 0);
}

static void recent_days_four_times_a_day(void **state)
{
    (void)state;
    struct sched_job jobs[SCHED_MAX_JOBS];
    assert_int_equal(sched_due(1, 0, jobs), 1);
    assert_job(&jobs[0], -3, -1, SCHED_BOTH);
    assert_int_equal(sched_due(10, 0, jobs), 3);
    assert_job(&jobs[0], -3, -1, SCHED_BOTH);
    assert_job(&jobs[1], 0, 0, SCHED_STATS);
    assert_job(&jobs[2], 0, 0, SCHED_CALLS);
    assert_int_equal(sched_due(15, 0, jobs), 3);
    assert_int_equal(sched_due(21, 0, jobs), 3);
    assert_int_equal(sched_due(14, 0, jobs), 2);
}

static void late_evening_and_midnight(void **state)
{
    (void)state;
    struct sched_job jobs[SCHED_MAX_JOBS];
    assert_int_equal(sched_due(23, 0, jobs), 2);
    assert_int_equal(sched_due(23, 50, jobs), 1);
    assert_job(&jobs[0], 0, 0, SCHED_CALLS);
    assert_int_equal(sched_due(23, 59, jobs), 0);
    assert_int_equal(sched_due(0, 0, jobs), 0);
    assert_int_equal(sched_due(0, 5, jobs), 1);
    assert_job(&jobs[0], -1, -1, SCHED_BOTH);
    assert_int_equal(sched_due(0, 10, jobs), 0);
    assert_int_equal(sched_due(3, 0, jobs), 0);
}

static void plan_is_ordered_without_repeats(void **state)
{
    (void)state;
    struct sched_job jobs[SCHED_MAX_JOBS];
    struct sched_plan plan = {.count = 0};
    cs_day today = cs_date_from_ymd(2025, 10, 14);
    size_t n = sched_due(10, 0, jobs);
    for (size_t i = 0; i < n; i++)
        sched_plan_add(&plan, &jobs[i], today);
    /* A missed 10:10 tick merged into the same plan adds nothing. */
    n = sched_due(10, 10, jobs);
    for (size_t i = 0; i < n; i++)
        sched_plan_add(&plan, &jobs[i], today);
    assert_int_equal(plan.count, 8);
    for (size_t i = 0; i < 8; i++) {
        assert_int_equal(plan.tasks[i].day, today - 3 + (int)(i / 2));
        assert_int_equal(plan.tasks[i].source,
                         i % 2 == 0 ? SCHED_STATS : SCHED_CALLS);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(morning_backfill_at_seven),
        cmocka_unit_test(business_hours_start_at_nine),
        cmocka_unit_test(recent_days_four_times_a_day),
        cmocka_unit_test(late_evening_and_midnight),
        cmocka_unit_test(plan_is_ordered_without_repeats),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
