/*
 * `callstats-worker run`: one leader among the workers of a database runs
 * the job table, one job at a time; the others wait to take over.
 */
#ifndef WK_DAEMON_H
#define WK_DAEMON_H

#include "config.h"
#include "schedule.h"

/* Runs jobs until SIGTERM or SIGINT; returns the process exit status. */
int daemon_run(const struct cs_config *cfg, const struct sched_table *jobs);

#endif
