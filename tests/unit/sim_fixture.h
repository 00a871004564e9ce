/*
 * What the simulator's unit tests share: a model made with seed 1 as each
 * test group's state, and a moment by which every day they read is over.
 * Include after <cmocka.h>.
 */
#ifndef TEST_SIM_FIXTURE_H
#define TEST_SIM_FIXTURE_H

#include <stdlib.h>
#include <time.h>

#include "date.h"
#include "../sim/model.h"

static inline cs_day ymd(int y, int m, int d)
{
    return cs_date_from_ymd(y, m, d);
}

/* 12:00 UTC+8 of 2030-01-01: every day of these tests is over by then. */
static inline time_t far_future(void)
{
    return sim_day_start(ymd(2030, 1, 1)) + 12 * 3600;
}

static inline int setup(void **state)
{
    struct sim_model *m = malloc(sizeof(*m));
    assert_non_null(m);
    assert_true(sim_model_init(m, 1, NULL));
    *state = m;
    return 0;
}

static inline int teardown(void **state)
{
    sim_model_free(*state);
    free(*state);
    return 0;
}

#endif
