/* The refresh schedule (see schedule.h). */
#include "schedule.h"

#include <string.h>

static void add_job(struct sched_job *jobs, size_t *n, int first, int last,
                    enum sched_source sources)
{
    if (*n < SCHED_MAX_JOBS) {
        jobs[*n] = (struct sched_job){first, last, sources};
        (*n)++;
    }
}

size_t sched_due(int hour, int minute, struct sched_job *jobs)
{
    size_t n = 0;
    bool business_hours = hour >= 9 && hour <= 23;
    if (hour == 7 && minute == 0)
        add_job(jobs, &n, -10, -1, SCHED_BOTH);
    if ((hour == 1 || hour == 10 || hour == 15 || hour == 21) && minute == 0)
        add_job(jobs, &n, -3, -1, SCHED_BOTH);
    if (hour == 0 && minute == 5)
        add_job(jobs, &n, -1, -1, SCHED_BOTH);
    if (business_hours && minute == 0)
        add_job(jobs, &n, 0, 0, SCHED_STATS);
    if (business_hours && minute % 10 == 0)
        add_job(jobs, &n, 0, 0, SCHED_CALLS);
    return n;
}

static int task_cmp(const struct sched_task *a, const struct sched_task *b)
{
    if (a->day != b->day)
        return a->day < b->day ? -1 : 1;
    return (int)a->source - (int)b->source;
}

static void insert_task(struct sched_plan *plan, struct sched_task task)
{
    size_t at = 0;
    while (at < plan->count && task_cmp(&plan->tasks[at], &task) < 0)
        at++;
    if (at < plan->count && task_cmp(&plan->tasks[at], &task) == 0)
        return;
    size_t room = sizeof(plan->tasks) / sizeof(plan->tasks[0]);
    if (plan->count == room)
        return;
    memmove(&plan->tasks[at + 1], &plan->tasks[at],
            (plan->count - at) * sizeof(plan->tasks[0]));
    plan->tasks[at] = task;
    plan->count++;
}

void sched_plan_add(struct sched_plan *plan, const struct sched_job *job,
                    cs_day today)
{
    for (int off = job->first; off <= job->last; off++) {
        if (job->sources & SCHED_STATS)
            insert_task(plan, (struct sched_task){today + off, SCHED_STATS});
        if (job->sources & SCHED_CALLS)
            insert_task(plan, (struct sched_task){today + off, SCHED_CALLS});
    }
}
