/*
 * The refresh schedule as a table of jobs: what each job syncs (sources
 * and days relative to today) and when (times of day, or an interval in a
 * window of the day), all in the business time zone. A job's runs are
 * named by their slot, the instant the schedule gives them.
 */
#ifndef WK_SCHEDULE_H
#define WK_SCHEDULE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "date.h"

enum sched_source {
    SCHED_STATS = 1,
    SCHED_CALLS = 2,
    SCHED_BOTH = 3,
};

#define SCHED_NAME_LEN  32
#define SCHED_MAX_AT    24
#define SCHED_MAX_JOBS  16
#define SCHED_MIN_EVERY 5     /* seconds */
#define SCHED_MAX_BACK  (-31) /* the oldest day a job may reach */
#define SCHED_SPEC_LEN  128

struct sched_job {
    char name[SCHED_NAME_LEN];
    enum sched_source sources;
    int first, last;      /* days today+first .. today+last */
    bool incremental;     /* today's calls: the window since the last fetch */
    int n_at;             /* > 0: runs at these times of day ... */
    int at[SCHED_MAX_AT]; /* ... in seconds after midnight, ascending */
    int every;            /* else every this many seconds ... */
    int from, to;         /* ... from `from` to `to` seconds after midnight */
};

struct sched_table {
    struct sched_job jobs[SCHED_MAX_JOBS];
    size_t count;
};

/* "stats", "calls", or "both" (also "all", as `sync --source` says). */
bool sched_parse_source(const char *text, enum sched_source *out);

/*
 * Reads a job's spec: "SOURCE DAYS TIMES [WINDOW] [incremental]" with
 * SOURCE stats, calls or both; DAYS today, yesterday, N or A..B (offsets
 * from today, 0 to -31); TIMES "at HH:MM[,HH:MM...]" or "every N{s,m,h}";
 * WINDOW "HH:MM-HH:MM" (with every; default the whole day). False with err
 * naming what is wrong.
 */
__attribute__((warn_unused_result)) bool sched_parse(const char *name,
                                                     const char *spec,
                                                     struct sched_job *job,
                                                     char *err, size_t errlen);

/* The spec of a job, as sched_parse reads it. */
void sched_format(const struct sched_job *job, char *buf, size_t len);

/* The default table of shared/upstream-api.md, with the day closed after
 * midnight, today opened after it (so that it reads as synced before
 * business hours), and today's calls fetched incrementally every minute. */
void sched_defaults(struct sched_table *table);

/*
 * The defaults changed by the environment: CALLSTATS_JOB_<NAME>=SPEC
 * replaces or adds the job named <name> (lower case, '_' as '-'), and
 * CALLSTATS_JOB_<NAME>=off removes it. env is a NULL-terminated list of
 * NAME=VALUE strings (environ). False with err naming the variable.
 */
__attribute__((warn_unused_result)) bool sched_load(struct sched_table *table,
                                                    char *const *env, char *err,
                                                    size_t errlen);

/* The latest slot of job at or before t; (time_t)-1 when none in the two
 * days before t. */
time_t sched_latest_slot(const struct sched_job *job, time_t t);

/* The first slot of job after t. */
time_t sched_next_slot(const struct sched_job *job, time_t t);

/* The days a run of job at slot covers: today (of the slot) + first ..
 * today + last. */
void sched_days(const struct sched_job *job, time_t slot, cs_day *first,
                cs_day *last);

/* A per-deployment offset of 1 to 29 seconds from text (the host name):
 * runs start that long after their slot, so that deployments do not all
 * call the upstream on the minute. */
int sched_offset_from(const char *text);

#endif
