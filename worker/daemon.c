/* The worker daemon: leadership, then the job table (see daemon.h). */
#include "daemon.h"

#include <curl/curl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "daysync.h"
#include "db.h"
#include "log.h"
#include "migrate.h"
#include "notify.h"
#include "runs.h"
#include "signals.h"
#include "upstream.h"
#include "version.h"

/* A follower asks for leadership this often; a leader that dies is
 * replaced within about this long. */
#define LEAD_POLL_MS 2000
/* The scheduler wakes at least this often: to prove it lives (heartbeat,
 * watchdog), to notice a stop or a clock that jumped. */
#define LOOP_MAX_SLEEP_MS 5000L
/* Reconnecting to a database that is down: 1 s, doubling, at most 30 s. */
#define RECONNECT_FIRST_MS 1000L
#define RECONNECT_MAX_MS   30000L
/* A failed slot is tried again after 1 min, doubling, at most 15 min,
 * unless a newer slot of its job comes first. */
#define RETRY_FIRST_S  60L
#define RETRY_MAX_S    900L
#define KEEP_RUNS_DAYS 90
/* Slots that fell due during a run are recorded as skipped, at most this
 * many (a run is bounded by its deadline anyway). */
#define MAX_SKIPPED 1440

struct job_state {
    time_t done;        /* the latest slot succeeded or skipped */
    time_t failed_slot; /* the slot that failed last, or -1 */
    int failures;       /* of failed_slot, in a row */
    double retry_at;    /* monotonic seconds before which it waits */
    time_t next_run;    /* the next run as sync_jobs last said it */
};

/* A run whose end could not be recorded (the database went away): it is
 * recorded once the database is back, with its real cause. */
struct pending_run {
    bool has;
    int64_t id;
    struct run_figures figures;
    char error[WERR_LEN];
};

/* Why lead() returned. */
enum lead_end {
    LEAD_LOST,      /* the leader's connection failed */
    LEAD_STOPPED,   /* a stop signal */
    LEAD_NOT_READY, /* the schema is missing or old */
};

struct daemon {
    const struct cs_config *cfg;
    const struct sched_table *jobs;
    struct upstream *up;
    struct daysync ds;
    PGconn *lead; /* the leader's own connection, holding its lock */
    char worker[160];
    char lead_app[200], day_app[200]; /* the connections' names */
    int offset; /* seconds after its slot that a run starts */
    struct job_state state[SCHED_MAX_JOBS];
    cs_day reported;     /* the day missing days were last reported */
    const char *current; /* the job running, for worker_state */
    double beat_at;      /* monotonic: the last heartbeat */
    struct pending_run pending;
};

static double mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void format_slot(time_t slot, char *buf, size_t len)
{
    struct tm tm;
    localtime_r(&slot, &tm);
    strftime(buf, len, "%Y-%m-%dT%H:%M:%S%z", &tm);
}

static void close_lead(struct daemon *d)
{
    PQfinish(d->lead);
    d->lead = NULL;
}

/* The leader's connection: direct, never through a pooler, since the
 * lock lives as long as the session. */
static bool connect_lead(struct daemon *d)
{
    d->lead = cs_db_connect(d->cfg->database_url, d->lead_app, false);
    if (d->lead == NULL)
        return false;
    /* A leader whose network died must lose its lock within about a
     * minute (the settings apply to TCP connections only). */
    if (!cs_db_exec(d->lead, "set keepalives",
                    "SET tcp_keepalives_idle = 10; "
                    "SET tcp_keepalives_interval = 5; "
                    "SET tcp_keepalives_count = 3")) {
        close_lead(d);
        return false;
    }
    return true;
}

static void report_missing(struct daemon *d)
{
    cs_day today = cs_today(), widest = 0, first, last;
    if (d->reported == today)
        return;
    for (size_t i = 0; i < d->jobs->count; i++)
        if (d->jobs->jobs[i].first < widest)
            widest = d->jobs->jobs[i].first;
    int n = runs_missing_days(d->lead, today + widest, &first, &last);
    if (n < 0)
        return;
    d->reported = today;
    (void)runs_prune(d->lead, KEEP_RUNS_DAYS);
    if (n == 0)
        return;
    char f[CS_DATE_LEN], l[CS_DATE_LEN];
    cs_date_format(first, f);
    cs_date_format(last, l);
    cs_warn("days lack a sync and are older than any job reaches first=%s "
            "last=%s days=%d: backfill them with callstats-worker sync "
            "--from %s --to %s",
            f, l, n, f, l);
}

static bool load_state(struct daemon *d)
{
    for (size_t i = 0; i < d->jobs->count; i++) {
        struct job_state *st = &d->state[i];
        memset(st, 0, sizeof(*st));
        st->failed_slot = (time_t)-1;
        if (!runs_last_done(d->lead, d->jobs->jobs[i].name, &st->done))
            return false;
    }
    return true;
}

/* Job i's next run after now: its next slot plus the offset, as
 * `callstats-worker jobs` prints it. */
static time_t next_run(const struct daemon *d, size_t i, time_t now)
{
    return sched_next_slot(&d->jobs->jobs[i], now - d->offset) + d->offset;
}

/* Writes the job table into sync_jobs, for readers, on taking the lead. */
static bool publish_jobs(struct daemon *d)
{
    time_t now = time(NULL), next[SCHED_MAX_JOBS];
    for (size_t i = 0; i < d->jobs->count; i++)
        next[i] = next_run(d, i, now);
    if (!runs_publish_jobs(d->lead, d->jobs, next, d->worker))
        return false;
    for (size_t i = 0; i < d->jobs->count; i++)
        d->state[i].next_run = next[i];
    return true;
}

/* Updates the next run of each job whose next slot has moved on. A
 * failure is left for the heartbeat to judge; the row is tried again on
 * the next pass. */
static void update_next_runs(struct daemon *d, time_t now)
{
    for (size_t i = 0; i < d->jobs->count; i++) {
        time_t next = next_run(d, i, now);
        if (next != d->state[i].next_run &&
            runs_job_next(d->lead, d->jobs->jobs[i].name, next))
            d->state[i].next_run = next;
    }
}

/* The due job with the oldest slot; -1 when none is due. */
static int due_job(const struct daemon *d, time_t now, time_t *slot)
{
    int found = -1;
    double mono = mono_now();
    for (size_t i = 0; i < d->jobs->count; i++) {
        const struct job_state *st = &d->state[i];
        time_t s = sched_latest_slot(&d->jobs->jobs[i], now - d->offset);
        if (s == (time_t)-1 || s <= st->done)
            continue;
        if (s == st->failed_slot && mono < st->retry_at)
            continue;
        if (found < 0 || s < *slot) {
            found = (int)i;
            *slot = s;
        }
    }
    return found;
}

/* Seconds until the next slot (after its offset) or a retry comes due. */
static long next_wait_ms(const struct daemon *d, time_t now)
{
    long wait = LOOP_MAX_SLEEP_MS;
    double mono = mono_now();
    for (size_t i = 0; i < d->jobs->count; i++) {
        const struct job_state *st = &d->state[i];
        time_t next = sched_next_slot(&d->jobs->jobs[i], now - d->offset);
        long ms = (long)(next + d->offset - now) * 1000;
        if (st->failed_slot != (time_t)-1 && st->failed_slot > st->done)
            ms = (long)((st->retry_at - mono) * 1000);
        if (ms < wait)
            wait = ms > 0 ? ms : 0;
    }
    return wait;
}

static bool still_leading(struct daemon *d)
{
    d->beat_at = mono_now();
    return d->lead != NULL && PQstatus(d->lead) == CONNECTION_OK &&
           runs_heartbeat(d->lead, d->current);
}

/* After each page of a day: a heartbeat every few seconds, so that a long
 * day does not make a live leader look dead, and a check that it still
 * leads. */
static bool on_page(void *ctx)
{
    struct daemon *d = ctx;
    notify_alive();
    if (mono_now() - d->beat_at < LOOP_MAX_SLEEP_MS / 1000.0)
        return true;
    return still_leading(d);
}

/* Syncs one day of one source for a run; false when it failed. */
static bool run_day(struct daemon *d, const struct sched_job *job, cs_day day,
                    enum sched_source source, struct run_figures *f,
                    struct werr *first)
{
    struct daysync_result res;
    bool ok = job->incremental && day == cs_today()
                  ? daysync_incremental(&d->ds, day, &res)
                  : daysync_run(&d->ds, day, source, &res);
    f->records += res.records;
    f->inconsistent_days += res.inconsistent ? 1 : 0;
    if (ok) {
        f->days_written++;
    } else {
        f->days_failed++;
        if (first->msg[0] == '\0')
            *first = res.err;
    }
    return ok;
}

/* Syncs the days of a run, but not a day and source synced since the
 * slot (a backfill just made, or another job's run): counted in
 * *days_fresh. */
static void run_days(struct daemon *d, const struct sched_job *job, time_t slot,
                     struct run_figures *f, struct werr *first, int *days_fresh)
{
    static const enum sched_source order[] = {SCHED_STATS, SCHED_CALLS};
    cs_day from, to;
    sched_days(job, slot, &from, &to);
    for (cs_day day = from; day <= to; day++) {
        for (int i = 0; i < 2; i++) {
            if (!(job->sources & order[i]))
                continue;
            if (sig_stop_requested()) {
                werr_stopped(first, "the run");
                return;
            }
            if (upstream_deadline_passed(d->up)) {
                werr_set(first,
                         "the run's deadline passed (CALLSTATS_RUN_DEADLINE "
                         "%d s): its other days wait for the next slot",
                         d->cfg->run_deadline);
                return;
            }
            if (!still_leading(d)) {
                werr_set(first, "leadership lost: the leader's database "
                                "connection failed");
                return;
            }
            bool fresh = false;
            if (!job->incremental &&
                runs_synced_since(d->lead, day, order[i], slot, &fresh) &&
                fresh) {
                (*days_fresh)++;
                continue;
            }
            (void)run_day(d, job, day, order[i], f, first);
        }
    }
}

/* Slots of job that came due while its run went on are skipped. */
static void skip_passed(struct daemon *d, size_t i, time_t slot)
{
    const struct sched_job *job = &d->jobs->jobs[i];
    time_t now = time(NULL) - d->offset;
    int skipped = 0;
    for (time_t s = sched_next_slot(job, slot); s <= now;
         s = sched_next_slot(job, s)) {
        if (skipped == MAX_SKIPPED ||
            !runs_skip(d->lead, job->name, s, d->worker,
                       "the previous run was still going"))
            break;
        d->state[i].done = s;
        skipped++;
    }
    if (skipped > 0)
        cs_warn("slots skipped job=%s count=%d: the run took longer than "
                "the interval",
                job->name, skipped);
}

static void run_job(struct daemon *d, size_t i, time_t slot)
{
    const struct sched_job *job = &d->jobs->jobs[i];
    struct job_state *st = &d->state[i];
    struct run_figures f = {0};
    struct werr first = {{0}};
    struct upstream_counts before, after;
    char when[40];
    int64_t id;
    int days_fresh = 0;
    format_slot(slot, when, sizeof(when));
    if (!runs_start(d->lead, job->name, slot, d->worker, &id))
        return; /* the loop's heartbeat finds out what is wrong */
    d->current = job->name;
    (void)still_leading(d);
    notify_status("leading: running %s, slot %s", job->name, when);
    double start = mono_now();
    upstream_counts(d->up, &before);
    upstream_set_deadline(d->up, d->cfg->run_deadline);
    run_days(d, job, slot, &f, &first, &days_fresh);
    d->current = NULL;
    upstream_set_deadline(d->up, 0);
    upstream_counts(d->up, &after);
    f.requests = after.requests - before.requests;
    f.retries = after.retries - before.retries;
    bool ok = first.msg[0] == '\0';
    if (!runs_finish(d->lead, id, &f, ok ? NULL : first.msg)) {
        cs_warn("run not recorded job=%s slot=%s: it will be once the "
                "database is back",
                job->name, when);
        d->pending = (struct pending_run){true, id, f, ""};
        snprintf(d->pending.error, sizeof(d->pending.error), "%s",
                 ok ? "" : first.msg);
    }
    cs_log(ok ? CS_LOG_INFO : CS_LOG_WARN,
           "run finished job=%s slot=%s status=%s days=%d days_fresh=%d "
           "days_failed=%d records=%lld requests=%ld retries=%ld "
           "inconsistent=%d seconds=%.1f",
           job->name, when, ok ? "success" : "failed", f.days_written,
           days_fresh, f.days_failed, (long long)f.records, f.requests,
           f.retries, f.inconsistent_days, mono_now() - start);
    if (ok) {
        st->done = slot;
        st->failures = 0;
    } else {
        st->failures = st->failed_slot == slot ? st->failures + 1 : 1;
        st->failed_slot = slot;
        long wait = RETRY_FIRST_S;
        for (int k = 1; k < st->failures && wait < RETRY_MAX_S; k++)
            wait *= 2;
        st->retry_at =
            mono_now() + (double)(wait < RETRY_MAX_S ? wait : RETRY_MAX_S);
    }
    if (!sig_stop_requested())
        skip_passed(d, i, slot);
    notify_status("leading: idle");
}

/* Records the run whose end was lost with the database, before the
 * take-over would call it abandoned. */
static bool finish_pending(struct daemon *d)
{
    struct pending_run *p = &d->pending;
    if (!p->has)
        return true;
    if (!runs_finish(d->lead, p->id, &p->figures,
                     p->error[0] ? p->error : NULL))
        return false;
    p->has = false;
    return true;
}

/* Runs the job table while this worker leads. */
static enum lead_end lead(struct daemon *d)
{
    struct werr err = {{0}};
    if (!migrate_check(d->lead, &err)) {
        notify_status("waiting: the database schema is not current; run "
                      "callstats-worker migrate");
        return LEAD_NOT_READY;
    }
    cs_info("leading the workers of this database worker=%s", d->worker);
    if (!finish_pending(d) || !runs_take_over(d->lead, d->worker, CS_VERSION) ||
        !load_state(d) || !publish_jobs(d))
        return LEAD_LOST;
    notify_status("leading: idle");
    while (!sig_stop_requested()) {
        notify_alive();
        if (!still_leading(d)) {
            cs_warn("leadership lost: the leader's database connection "
                    "failed");
            return LEAD_LOST;
        }
        report_missing(d);
        time_t now = time(NULL), slot = 0;
        update_next_runs(d, now);
        int i = due_job(d, now, &slot);
        if (i >= 0) {
            run_job(d, (size_t)i, slot);
            continue;
        }
        (void)sig_sleep_ms(next_wait_ms(d, now));
    }
    return LEAD_STOPPED;
}

static void follow(struct daemon *d)
{
    long backoff = RECONNECT_FIRST_MS;
    bool waiting = false, down = false;
    while (!sig_stop_requested()) {
        notify_alive();
        if (d->lead == NULL && !connect_lead(d)) {
            notify_status("waiting for the database");
            down = true;
            (void)sig_sleep_ms(backoff);
            backoff =
                backoff * 2 < RECONNECT_MAX_MS ? backoff * 2 : RECONNECT_MAX_MS;
            continue;
        }
        if (down)
            cs_info("database reachable again");
        down = false;
        backoff = RECONNECT_FIRST_MS;
        if (runs_try_lead(d->lead)) {
            waiting = false;
            enum lead_end end = lead(d);
            close_lead(d); /* releases the lock, if it is still held */
            /* A schema that is not current will not become so by itself:
             * look again after a long wait, saying why each time. */
            if (end == LEAD_NOT_READY)
                (void)sig_sleep_ms(RECONNECT_MAX_MS);
            continue;
        }
        if (PQstatus(d->lead) != CONNECTION_OK) {
            close_lead(d);
            continue;
        }
        if (!waiting)
            cs_info("another worker leads: waiting to take over");
        waiting = true;
        bool ended = false;
        if (runs_end_stale_leader(d->lead, d->cfg->leader_timeout, &ended) &&
            ended)
            continue;
        notify_status("waiting: another worker leads");
        (void)sig_sleep_ms(LEAD_POLL_MS);
    }
}

int daemon_run(const struct cs_config *cfg, const struct sched_table *jobs)
{
    char host[256], name[128];
    struct daemon d;
    memset(&d, 0, sizeof(d));
    d.cfg = cfg;
    d.jobs = jobs;
    if (gethostname(name, sizeof(name)) != 0)
        snprintf(name, sizeof(name), "unknown");
    name[sizeof(name) - 1] = '\0';
    snprintf(d.worker, sizeof(d.worker), "%s:%ld", name, (long)getpid());
    /* Named after the worker, so that a follower can end the sessions of
     * a leader that froze. */
    snprintf(d.lead_app, sizeof(d.lead_app), "callstats-worker leader %s",
             d.worker);
    snprintf(d.day_app, sizeof(d.day_app), "callstats-worker %s", d.worker);
    d.offset =
        cfg->slot_offset >= 0 ? cfg->slot_offset : sched_offset_from(name);
    cs_conninfo_host(cfg->database_url, host, sizeof(host));
    cs_info("callstats-worker starting version=%s curl=%s libpq=%d db=%s "
            "tz=%s jobs=%zu slot_offset_s=%d pages_in_flight=%d",
            CS_VERSION, curl_version_info(CURLVERSION_NOW)->version,
            PQlibVersion(), host, cfg->tz, jobs->count, d.offset,
            cfg->pages_in_flight);
    d.up = upstream_new(cfg);
    if (d.up == NULL)
        return 1;
    d.ds = (struct daysync){cfg, d.up, NULL, on_page, &d, d.day_app};
    cs_info("callstats-worker ready");
    notify_ready("started");
    follow(&d);
    notify_stopping();
    close_lead(&d);
    daysync_close(&d.ds);
    upstream_free(d.up);
    cs_info("callstats-worker exiting status=0");
    return 0;
}
