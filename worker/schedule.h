/*
 * The refresh schedule of shared/upstream-api.md, as a pure function of
 * the local (business) time, and the set of (day, source) tasks it yields.
 */
#ifndef WK_SCHEDULE_H
#define WK_SCHEDULE_H

#include <stdbool.h>
#include <stddef.h>

#include "date.h"

enum sched_source {
    SCHED_STATS = 1,
    SCHED_CALLS = 2,
    SCHED_BOTH = 3,
};

/* A job: the days today+first .. today+last, of the given sources. */
struct sched_job {
    int first; /* offset from today, e.g. -10 */
    int last;  /* offset from today, e.g. -1 */
    enum sched_source sources;
};

#define SCHED_MAX_JOBS 8

/* Writes the jobs due at local time hour:minute into jobs (room for
 * SCHED_MAX_JOBS) and returns how many. */
size_t sched_due(int hour, int minute, struct sched_job *jobs);

/* One unit of work: a day of one source. */
struct sched_task {
    cs_day day;
    enum sched_source source; /* SCHED_STATS or SCHED_CALLS */
};

/* A set of tasks, kept oldest day first, stats before calls, no repeats. */
struct sched_plan {
    struct sched_task tasks[64];
    size_t count;
};

/* Adds a job's tasks for the business day `today` to plan (duplicates and
 * tasks beyond the plan's room are dropped). */
void sched_plan_add(struct sched_plan *plan, const struct sched_job *job,
                    cs_day today);

#endif
