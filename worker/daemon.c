/* The worker daemon: wakes every minute, runs what the schedule says is
 * due, one day of one source at a time (see daemon.h). */
#include "daemon.h"

#include <stdio.h>
#include <time.h>

#include "daysync.h"
#include "log.h"
#include "migrate.h"
#include "schedule.h"
#include "signals.h"
#include "upstream.h"
#include "version.h"

/* Minutes looked back for ticks missed while a job ran; each missed tick
 * is merged into one plan, so nothing runs twice. Longer gaps (a host
 * suspended for hours) are the catch-up issue's to handle. */
#define MAX_MISSED_MINUTES 120

static void run_plan(struct daysync *ds, const struct sched_plan *plan)
{
    size_t failed = 0, done = 0;
    if (plan->count == 0)
        return;
    for (size_t i = 0; i < plan->count; i++) {
        const struct sched_task *t = &plan->tasks[i];
        struct daysync_result res;
        if (sig_stop_requested())
            return;
        if (!daysync_run(ds, t->day, t->source, &res))
            failed++;
        done++;
    }
    cs_info("jobs finished tasks=%zu failed=%zu", done, failed);
}

/* Adds the jobs due at the minute that starts at t. */
static void plan_minute(struct sched_plan *plan, time_t t)
{
    struct tm tm;
    struct sched_job jobs[SCHED_MAX_JOBS];
    localtime_r(&t, &tm);
    size_t n = sched_due(tm.tm_hour, tm.tm_min, jobs);
    for (size_t i = 0; i < n; i++)
        sched_plan_add(plan, &jobs[i], cs_day_of(t));
}

static time_t minute_of(time_t t)
{
    return t - ((t % 60) + 60) % 60;
}

static void schedule_loop(struct daysync *ds)
{
    time_t last = minute_of(time(NULL)) - 60;
    struct sched_plan plan = {.count = 0};
    struct sched_job today = {0, 0, SCHED_BOTH};
    sched_plan_add(&plan, &today, cs_today());
    while (!sig_stop_requested()) {
        time_t now = time(NULL), current = minute_of(now);
        if (current < last) {
            cs_warn("clock went back seconds=%lld",
                    (long long)(last - current));
            last = current - 60;
        }
        if (current > last) {
            time_t from = last + 60;
            if (current - from > MAX_MISSED_MINUTES * 60)
                from = current - MAX_MISSED_MINUTES * 60;
            for (time_t m = from; m <= current; m += 60)
                plan_minute(&plan, m);
            last = current;
            run_plan(ds, &plan);
            plan.count = 0;
            continue;
        }
        (void)sig_sleep_ms((long)(current + 60 - now) * 1000);
    }
}

int daemon_run(const struct cs_config *cfg)
{
    char host[256];
    struct werr err = {{0}};
    cs_conninfo_host(cfg->database_url, host, sizeof(host));
    cs_info("callstats-worker starting version=%s db=%s tz=%s retries=%d "
            "timeout_s=%d",
            CS_VERSION, host, cfg->tz, cfg->http_retries, cfg->http_timeout);
    struct upstream *up = upstream_new(cfg);
    if (up == NULL)
        return 1;
    struct daysync ds = {cfg, up, NULL};
    /* A database that is down or not yet migrated at start is not fatal:
     * each job connects again, checks the schema and reports. */
    if (!daysync_connect(&ds, &err))
        cs_warn("database not ready at start: each job will try again");
    cs_info("callstats-worker ready");
    schedule_loop(&ds);
    daysync_close(&ds);
    upstream_free(up);
    cs_info("callstats-worker exiting status=0");
    return 0;
}
