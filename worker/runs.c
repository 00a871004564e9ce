/* Leadership, sync_runs and worker_state (see runs.h). */
#include "runs.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

/* The leader's session lock, in the two-number key space: "call" in ASCII
 * (0x63616c6c) and 1 for the leader. */
#define LEADER_LOCK "1667329132, 1"

/* Runs sql with text parameters; the result when its status is ok
 * (caller clears), else NULL after logging. */
static PGresult *query(PGconn *conn, const char *what, const char *sql, int n,
                       const char *const *params)
{
    PGresult *res = PQexecParams(conn, sql, n, NULL, params, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(res);
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
        return res;
    const char *msg = PQerrorMessage(conn);
    char line[256];
    cs_error("statement failed what=%s error=\"%s\"", what,
             cs_log_value(msg, line, sizeof(line)));
    PQclear(res);
    return NULL;
}

static bool run(PGconn *conn, const char *what, const char *sql, int n,
                const char *const *params)
{
    PGresult *res = query(conn, what, sql, n, params);
    PQclear(res);
    return res != NULL;
}

bool runs_try_lead(PGconn *conn)
{
    PGresult *res =
        query(conn, "try leader lock",
              "SELECT pg_try_advisory_lock(" LEADER_LOCK ")", 0, NULL);
    bool got = res != NULL && PQntuples(res) == 1 &&
               strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    PQclear(res);
    return got;
}

bool runs_take_over(PGconn *conn, const char *worker, const char *version)
{
    const char *p[] = {worker, version};
    return run(conn, "mark abandoned runs",
               "UPDATE sync_runs SET status = 'failed', finished_at = now(), "
               "error = 'abandoned: the worker running it stopped or lost "
               "its database' "
               "WHERE status = 'running'",
               0, NULL) &&
           run(conn, "upsert worker_state",
               "INSERT INTO worker_state (id, worker, version, leader_since, "
               "heartbeat_at) VALUES (1, $1, $2, now(), now()) "
               "ON CONFLICT (id) DO UPDATE SET worker = excluded.worker, "
               "version = excluded.version, "
               "leader_since = excluded.leader_since, "
               "heartbeat_at = excluded.heartbeat_at, current_job = NULL",
               2, p);
}

static void format_epoch(time_t t, char *buf, size_t len)
{
    snprintf(buf, len, "%lld", (long long)t);
}

bool runs_last_done(PGconn *conn, const char *job, time_t *slot)
{
    const char *p[] = {job};
    PGresult *res = query(conn, "last done slot",
                          "SELECT extract(epoch FROM max(slot))::bigint "
                          "FROM sync_runs WHERE job = $1 "
                          "AND status IN ('success', 'skipped')",
                          1, p);
    if (res == NULL)
        return false;
    *slot = PQgetisnull(res, 0, 0)
                ? (time_t)-1
                : (time_t)strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return true;
}

bool runs_start(PGconn *conn, const char *job, time_t slot, const char *worker,
                int64_t *id)
{
    char s[24];
    format_epoch(slot, s, sizeof(s));
    const char *p[] = {job, s, worker};
    PGresult *res = query(conn, "insert sync_runs",
                          "INSERT INTO sync_runs (job, slot, status, "
                          "started_at, worker) VALUES ($1, to_timestamp($2), "
                          "'running', now(), $3) RETURNING id",
                          3, p);
    if (res == NULL)
        return false;
    *id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return true;
}

bool runs_finish(PGconn *conn, int64_t id, const struct run_figures *f,
                 const char *error)
{
    char v[7][24];
    snprintf(v[0], sizeof(v[0]), "%" PRId64, id);
    snprintf(v[1], sizeof(v[1]), "%d", f->days_written);
    snprintf(v[2], sizeof(v[2]), "%d", f->days_failed);
    snprintf(v[3], sizeof(v[3]), "%" PRId64, f->records);
    snprintf(v[4], sizeof(v[4]), "%ld", f->requests);
    snprintf(v[5], sizeof(v[5]), "%ld", f->retries);
    snprintf(v[6], sizeof(v[6]), "%d", f->inconsistent_days);
    const char *p[] = {v[0], v[1], v[2], v[3], v[4], v[5], v[6], error};
    return run(conn, "finish sync_runs",
               "UPDATE sync_runs SET finished_at = now(), "
               "status = CASE WHEN $8::text IS NULL THEN 'success' "
               "ELSE 'failed' END, "
               "days_written = $2::int, days_failed = $3::int, "
               "records_written = $4::bigint, upstream_requests = $5::int, "
               "retries = $6::int, inconsistent_days = $7::int, error = $8 "
               "WHERE id = $1::bigint",
               8, p);
}

bool runs_skip(PGconn *conn, const char *job, time_t slot, const char *worker,
               const char *why)
{
    char s[24];
    format_epoch(slot, s, sizeof(s));
    const char *p[] = {job, s, worker, why};
    return run(conn, "insert skipped run",
               "INSERT INTO sync_runs (job, slot, status, started_at, "
               "finished_at, worker, error) VALUES ($1, to_timestamp($2), "
               "'skipped', now(), now(), $3, $4)",
               4, p);
}

bool runs_heartbeat(PGconn *conn, const char *current_job)
{
    const char *p[] = {current_job};
    return run(conn, "heartbeat",
               "UPDATE worker_state SET heartbeat_at = now(), "
               "current_job = $1 WHERE id = 1",
               1, p);
}

int runs_missing_days(PGconn *conn, cs_day before, cs_day *first, cs_day *last)
{
    char b[CS_DATE_LEN];
    cs_date_format(before, b);
    const char *p[] = {b};
    PGresult *res =
        query(conn, "missing days",
              "WITH missing AS (SELECT d::date AS day FROM generate_series("
              "(SELECT min(stat_date) FROM sync_state), $1::date - 1, "
              "interval '1 day') AS d WHERE (SELECT count(*) FROM sync_state s "
              "WHERE s.stat_date = d::date) < 2) "
              "UPDATE worker_state SET missing_first = (SELECT min(day) FROM "
              "missing), missing_last = (SELECT max(day) FROM missing), "
              "missing_days = (SELECT count(*) FROM missing) WHERE id = 1 "
              "RETURNING missing_days, "
              "coalesce(missing_first - date '1970-01-01', 0), "
              "coalesce(missing_last - date '1970-01-01', 0)",
              1, p);
    if (res == NULL)
        return -1;
    int count = 0;
    if (PQntuples(res) == 1) {
        count = atoi(PQgetvalue(res, 0, 0));
        *first = (cs_day)atoi(PQgetvalue(res, 0, 1));
        *last = (cs_day)atoi(PQgetvalue(res, 0, 2));
    }
    PQclear(res);
    return count;
}

/* One job's row of sync_jobs. */
static bool insert_job(PGconn *conn, const struct sched_job *job,
                       time_t next_run, const char *worker)
{
    static const char *const sources[] = {"", "stats", "calls", "stats,calls"};
    char spec[SCHED_SPEC_LEN], first[16], last[16], every[16], next[24];
    sched_format(job, spec, sizeof(spec));
    snprintf(first, sizeof(first), "%d", job->first);
    snprintf(last, sizeof(last), "%d", job->last);
    snprintf(every, sizeof(every), "%d", job->every);
    format_epoch(next_run, next, sizeof(next));
    const char *p[] = {job->name, spec,  sources[job->sources],
                       first,     last,  job->n_at > 0 ? NULL : every,
                       next,      worker};
    return run(conn, "insert sync_jobs",
               "INSERT INTO sync_jobs (job, schedule, sources, first_day, "
               "last_day, interval_seconds, next_run, worker, updated_at) "
               "VALUES ($1, $2, $3, $4::int, $5::int, $6::int, "
               "to_timestamp($7::bigint), $8, now())",
               8, p);
}

bool runs_publish_jobs(PGconn *conn, const struct sched_table *jobs,
                       const time_t *next_runs, const char *worker)
{
    bool ok = run(conn, "begin sync_jobs", "BEGIN", 0, NULL) &&
              run(conn, "delete sync_jobs", "DELETE FROM sync_jobs", 0, NULL);
    for (size_t i = 0; ok && i < jobs->count; i++)
        ok = insert_job(conn, &jobs->jobs[i], next_runs[i], worker);
    if (ok && run(conn, "commit sync_jobs", "COMMIT", 0, NULL))
        return true;
    PQclear(PQexec(conn, "ROLLBACK"));
    return false;
}

bool runs_job_next(PGconn *conn, const char *job, time_t next_run)
{
    char next[24];
    format_epoch(next_run, next, sizeof(next));
    const char *p[] = {job, next};
    return run(conn, "update sync_jobs",
               "UPDATE sync_jobs SET next_run = to_timestamp($2::bigint), "
               "updated_at = now() WHERE job = $1",
               2, p);
}

bool runs_prune(PGconn *conn, int days)
{
    char d[16];
    snprintf(d, sizeof(d), "%d", days);
    const char *p[] = {d};
    return run(conn, "prune sync_runs",
               "DELETE FROM sync_runs WHERE started_at < "
               "now() - make_interval(days => $1::int)",
               1, p);
}

bool runs_synced_since(PGconn *conn, cs_day day, enum sched_source source,
                       time_t since, bool *fresh)
{
    char date[CS_DATE_LEN], s[24];
    cs_date_format(day, date);
    format_epoch(since, s, sizeof(s));
    const char *p[] = {date, source == SCHED_STATS ? "stats" : "calls", s};
    PGresult *res = query(conn, "synced since",
                          "SELECT count(*) FROM sync_state WHERE stat_date = "
                          "$1::date AND source = $2 AND synced_at >= "
                          "to_timestamp($3::bigint)",
                          3, p);
    if (res == NULL)
        return false;
    *fresh = strcmp(PQgetvalue(res, 0, 0), "1") == 0;
    PQclear(res);
    return true;
}

bool runs_end_stale_leader(PGconn *conn, int timeout_s, bool *ended)
{
    char t[16];
    snprintf(t, sizeof(t), "%d", timeout_s);
    const char *p[] = {t};
    *ended = false;
    PGresult *res =
        query(conn, "stale leader",
              "SELECT worker FROM worker_state WHERE heartbeat_at < now() - "
              "make_interval(secs => $1::int)",
              1, p);
    if (res == NULL)
        return false;
    if (PQntuples(res) == 0) {
        PQclear(res);
        return true;
    }
    char worker[160], leader_app[200], app[200];
    snprintf(worker, sizeof(worker), "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    cs_warn("the leader has not proved alive for %d s worker=%s: ending its "
            "database sessions so that another worker takes over",
            timeout_s, worker);
    snprintf(leader_app, sizeof(leader_app), "callstats-worker leader %s",
             worker);
    snprintf(app, sizeof(app), "callstats-worker %s", worker);
    const char *q[] = {leader_app, app};
    res = query(conn, "end stale leader",
                "SELECT count(pg_terminate_backend(a.pid)) FROM "
                "pg_stat_activity a WHERE a.pid <> pg_backend_pid() AND "
                "(a.application_name IN (left($1, 63), left($2, 63)) OR "
                "a.pid IN (SELECT pid FROM pg_locks WHERE locktype = "
                "'advisory' AND classid = 1667329132 AND objid = 1 AND "
                "objsubid = 2 AND granted))",
                2, q);
    if (res == NULL)
        return false;
    *ended = atoi(PQgetvalue(res, 0, 0)) > 0;
    PQclear(res);
    return true;
}
