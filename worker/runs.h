/*
 * The worker's record in the database, written on the leader's own
 * connection: leadership (a session advisory lock), each job run in
 * sync_runs, the leader's state in worker_state and its job table in
 * sync_jobs.
 */
#ifndef WK_RUNS_H
#define WK_RUNS_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "date.h"
#include "schedule.h"

/* What a run came to, for its sync_runs row. */
struct run_figures {
    int days_written;
    int days_failed;
    int64_t records;
    long requests;
    long retries;
    int inconsistent_days;
};

/* Tries to take the leader's lock on conn (a session lock: it lasts as
 * long as the connection). False when another session holds it or the
 * statement failed. */
bool runs_try_lead(PGconn *conn);

/* Called on becoming leader: runs left 'running' by a leader that died
 * are marked failed, and worker_state names this worker. */
__attribute__((warn_unused_result)) bool
runs_take_over(PGconn *conn, const char *worker, const char *version);

/* The latest slot of job that is done (succeeded or skipped), or
 * (time_t)-1 when none; false when the query failed. */
__attribute__((warn_unused_result)) bool
runs_last_done(PGconn *conn, const char *job, time_t *slot);

/* Records the start of a run; *id names it for runs_finish. */
__attribute__((warn_unused_result)) bool
runs_start(PGconn *conn, const char *job, time_t slot, const char *worker,
           int64_t *id);

/* Records the end of run id; error is NULL on success. */
__attribute__((warn_unused_result)) bool
runs_finish(PGconn *conn, int64_t id, const struct run_figures *f,
            const char *error);

/* Records that job's slot was skipped and why. */
__attribute__((warn_unused_result)) bool runs_skip(PGconn *conn,
                                                   const char *job, time_t slot,
                                                   const char *worker,
                                                   const char *why);

/* Updates worker_state's heartbeat and current job (NULL when idle); the
 * leader's proof of life, and a check that its connection still answers. */
bool runs_heartbeat(PGconn *conn, const char *current_job);

/*
 * Finds the days from the first day ever synced up to `before` (exclusive)
 * that lack a sync of either source, records them in worker_state and
 * returns their count, first and last day (count 0 when none). -1 when the
 * query failed.
 */
int runs_missing_days(PGconn *conn, cs_day before, cs_day *first, cs_day *last);

/* Whether day's source was synced (its fetch began) at or after since. */
__attribute__((warn_unused_result)) bool
runs_synced_since(PGconn *conn, cs_day day, enum sched_source source,
                  time_t since, bool *fresh);

/* A follower's check of the leader: when worker_state's heartbeat is older
 * than timeout_s (a leader frozen, its sessions still open), ends the
 * leader's database sessions, which releases its lock; *ended says
 * whether any was. */
__attribute__((warn_unused_result)) bool
runs_end_stale_leader(PGconn *conn, int timeout_s, bool *ended);

/* Replaces every row of sync_jobs with jobs, in one transaction, naming
 * worker as their writer; next_runs[i] is job i's next run. */
__attribute__((warn_unused_result)) bool
runs_publish_jobs(PGconn *conn, const struct sched_table *jobs,
                  const time_t *next_runs, const char *worker);

/* Sets job's next_run in sync_jobs. */
__attribute__((warn_unused_result)) bool
runs_job_next(PGconn *conn, const char *job, time_t next_run);

/* Deletes runs older than the given number of days. */
bool runs_prune(PGconn *conn, int days);

#endif
