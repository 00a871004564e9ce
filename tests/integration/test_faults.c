/*
 * Integration tests of the upstream's faults and of syncs cut short: every
 * fault the simulator injects, PostgreSQL going away, SIGTERM and SIGKILL
 * mid-sync, each judged by the figures stored, against the simulator's
 * truth or against what the day held before.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

/* Real October days of the simulator: 29,014 and 27,350 calls, and the
 * discrepancy day with 94,305. */
#define FAULT_DAY "2025-10-04"
#define NEXT_DAY  "2025-10-05"
#define BIG_DAY   "2025-10-16"
/* Older versions of FAULT_DAY and BIG_DAY, served by old_upstream: a day
 * cut short must still read as one of its two versions, never a mix. */
#define OLD_FAULT_DAY_RECORDS 5000
#define OLD_BIG_DAY_RECORDS   20000
#define OLD_DAYS              "2025-10-04=5000,2025-10-16=20000"
/* A sync of FAULT_DAY and NEXT_DAY makes CDR requests 1-30 for the first
 * day and 31-58 for the second: a page fault every 50th request bends
 * NEXT_DAY's first listing only, since its second one ends before 100.
 * (The default periods, 3 to 7, bend every listing of a day of more pages
 * than that, the second as well as the first.) */
#define ONCE_PERIOD "50"
/* The simulator's "today" for grow and shift: 2025-10-07 22:00 at UTC+8. */
#define OCT_TODAY     "2025-10-07"
#define OCT_NOW_UTC_H 14
/* The seconds a stopped sync may take to exit. */
#define STOP_BOUND_S 10.0

/* A simulator this program started. */
struct sim {
    pid_t pid;
    char url[64];
};

static struct sim upstream;      /* each test sets its faults */
static struct sim old_upstream;  /* the old versions of two days */
static struct sim slow_upstream; /* answers each data request after 200 ms */
static PGconn *locker;           /* holds a lock on day_grades, or NULL */
/* The processes the running test started: those still running when it
 * ends (it failed before waiting for them) are killed. */
static pid_t children[8];
static size_t n_children;

static pid_t started(pid_t pid)
{
    if (n_children < sizeof(children) / sizeof(children[0]))
        children[n_children++] = pid;
    return pid;
}

static double mono_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A TCP port above 40000 that nothing on 127.0.0.1 holds now. */
static int free_port(void)
{
    for (int port = 40000 + (int)(getpid() % 20000); port < 65536; port++) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in addr = {.sin_family = AF_INET,
                                   .sin_port = htons((uint16_t)port)};
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        bool taken = bind(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0;
        close(fd);
        if (!taken)
            return port;
    }
    fail_msg("no free port above 40000");
    return -1;
}

/* Starts `callstats-sim serve` on port with the run's seed, the clock now
 * and opts (NULL-terminated); waits for its ready line. */
static void sim_start(struct sim *s, const char *name, int port,
                      const char *now, const char *const opts[])
{
    char exe[512], port_text[16];
    snprintf(exe, sizeof(exe), "%s/callstats-sim", it.bin);
    snprintf(port_text, sizeof(port_text), "%d", port);
    char *argv[24] = {exe,      "serve",         "--port", port_text,
                      "--seed", (char *)it.seed, "--now",  (char *)now};
    size_t n = 8;
    for (size_t i = 0; opts != NULL && opts[i] != NULL; i++)
        argv[n++] = (char *)opts[i];
    argv[n] = NULL;
    s->pid = spawn(name, argv, NULL);
    if (!wait_log(name, "callstats-sim ready"))
        fail_msg("%s did not log its ready line", name);
    snprintf(s->url, sizeof(s->url), "http://127.0.0.1:%d", port);
}

static void sim_stop(struct sim *s)
{
    if (s->pid <= 0)
        return;
    kill(s->pid, SIGTERM);
    (void)wait_exit(s->pid);
    s->pid = 0;
}

/* Replaces the simulator's faults, which starts their counts again, and
 * sets its counters to 0. */
static void set_faults(const struct sim *s, const char *list)
{
    char path[256];
    long status = 0;
    snprintf(path, sizeof(path), "/sim/faults?set=%s", list);
    char *body = http_get(s->url, path, &status, "POST");
    if (status != 200)
        fail_msg("faults \"%s\" refused: %s", list, body);
    free(body);
    free(http_get(s->url, "/sim/counters/reset", &status, "POST"));
    assert_int_equal(status, 200);
}

/* One of the simulator's counters (GET /sim/counters). */
static long long counter(const struct sim *s, const char *key)
{
    long status = 0;
    char *body = http_get(s->url, "/sim/counters", &status, NULL);
    json_t *doc = parse_or_fail(body, "/sim/counters");
    long long v = int_of(doc, key);
    json_decref(doc);
    free(body);
    return v;
}

/* Waits up to 30 s until the simulator has answered want CDR pages. */
static void wait_pages(const struct sim *s, long long want)
{
    for (int i = 0; i < 1500; i++) {
        if (counter(s, "cdr") >= want)
            return;
        usleep(20 * 1000);
    }
    fail_msg("the simulator answered fewer than %lld pages in 30 s", want);
}

/* The truth of a simulator started with now and, unless NULL,
 * --day-records day_records. */
static json_t *truth_at(const char *date, const char *now,
                        const char *day_records)
{
    char exe[512];
    snprintf(exe, sizeof(exe), "%s/callstats-sim", it.bin);
    char *argv[12] = {exe,      "truth",         "--date", (char *)date,
                      "--seed", (char *)it.seed, "--now",  (char *)now};
    size_t n = 8;
    if (day_records != NULL) {
        argv[n++] = "--day-records";
        argv[n++] = (char *)day_records;
    }
    argv[n] = NULL;
    assert_int_equal(run("truth-at", argv, NULL), 0);
    char *out = output_of("truth-at", "out");
    json_t *doc = parse_or_fail(out, "callstats-sim truth");
    free(out);
    return doc;
}

static char *const *sync_args(const char *from, const char *to,
                              const char *source, char *args[8])
{
    args[0] = "sync";
    args[1] = "--from";
    args[2] = (char *)from;
    args[3] = "--to";
    args[4] = (char *)to;
    args[5] = "--source";
    args[6] = (char *)source;
    args[7] = NULL;
    return args;
}

/* Runs `callstats-worker sync` of from..to for source (stats, calls or
 * all) against s; returns its exit status. */
static int sync_from(const char *name, const struct sim *s, const char *from,
                     const char *to, const char *source,
                     const char *const env[])
{
    char *args[8];
    return worker(name, s->url, env, sync_args(from, to, source, args));
}

static pid_t start_sync(const char *name, const struct sim *s, const char *day,
                        const char *source)
{
    char *args[8];
    return started(
        start_worker(name, s->url, NULL, sync_args(day, day, source, args)));
}

/* Waits at most seconds for pid; kills it and fails when it is still
 * running then. Returns its exit status and sets *took. */
static int wait_exit_within(pid_t pid, double seconds, double *took)
{
    double start = mono_seconds();
    for (;;) {
        int status;
        pid_t got = waitpid(pid, &status, WNOHANG);
        *took = mono_seconds() - start;
        if (got == pid)
            return WIFEXITED(status) ? WEXITSTATUS(status)
                                     : 128 + WTERMSIG(status);
        if (got < 0 && errno != EINTR)
            fail_msg("waitpid %d: %s", (int)pid, strerror(errno));
        if (*took > seconds) {
            kill(pid, SIGKILL);
            (void)wait_exit(pid);
            fail_msg("process %d still ran %.0f s after it was told to stop",
                     (int)pid, seconds);
        }
        usleep(10 * 1000);
    }
}

static int log_count(const char *name, const char *text)
{
    char *log = output_of(name, "log");
    int n = 0;
    for (const char *p = strstr(log, text); p; p = strstr(p + 1, text))
        n++;
    free(log);
    return n;
}

static void assert_log_has(const char *name, const char *text)
{
    if (log_count(name, text) == 0)
        fail_msg("%s.log lacks \"%s\"", name, text);
}

static void assert_out_has(const char *name, const char *text)
{
    char *out = output_of(name, "out");
    if (strstr(out, text) == NULL)
        fail_msg("%s.out lacks \"%s\": %s", name, text, out);
    free(out);
}

/* The wait a retry line of the worker's log announces, with its attempt
 * number; false for any other line. */
static bool retry_wait(const char *line, int *attempt, long *ms)
{
    const char *a = strstr(line, " attempt=");
    const char *w = strstr(line, "retry_in_ms=");
    if (strstr(line, "upstream request failed") == NULL || a == NULL ||
        w == NULL)
        return false;
    *attempt = atoi(a + strlen(" attempt="));
    *ms = atol(w + strlen("retry_in_ms="));
    return true;
}

/* Checks every wait before a retry in name's log but a 429's: the n-th
 * retry waits within the upper half of 250 ms doubled n-1 times (at most
 * 30 s), spread at random: of two waits or more, some fall short of the
 * whole. Returns how many it checked. */
static int check_backoff_waits(const char *name)
{
    char *log = output_of(name, "log"), *save = NULL;
    int checked = 0, spread = 0, attempt;
    long ms;
    for (char *line = strtok_r(log, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        if (strstr(line, "HTTP 429") || !retry_wait(line, &attempt, &ms))
            continue;
        long full = 250;
        for (int k = 1; k < attempt && full < 30000; k++)
            full *= 2;
        full = full < 30000 ? full : 30000;
        if (ms < full / 2 || ms > full)
            fail_msg("%s: attempt %d waits %ld ms, not %ld..%ld", name, attempt,
                     ms, full / 2, full);
        checked++;
        spread += ms < full;
    }
    free(log);
    if (checked >= 2 && spread == 0)
        fail_msg("%s: %d waits, each the whole backoff: no spread", name,
                 checked);
    return checked;
}

/* Checks every wait after an HTTP 429 in name's log: what Retry-After
 * said, 1 s, or 1-2 s for a date 2 s ahead, with no spread added. Returns
 * how many it checked; *total_ms is their sum. */
static int check_429_waits(const char *name, long *total_ms)
{
    char *log = output_of(name, "log"), *save = NULL;
    int checked = 0, attempt;
    long ms;
    *total_ms = 0;
    for (char *line = strtok_r(log, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        if (!strstr(line, "HTTP 429") || !retry_wait(line, &attempt, &ms))
            continue;
        if (ms != 1000 && ms != 2000)
            fail_msg("%s: a 429 is followed by a wait of %ld ms", name, ms);
        *total_ms += ms;
        checked++;
    }
    free(log);
    return checked;
}

/* A query of one integer about date: head ends in "stat_date = ". */
static long long day_count(const char *head, const char *date)
{
    char sql[512];
    snprintf(sql, sizeof(sql), "%s'%s'", head, date);
    return db_count(sql);
}

/* Everything stored about date, as one line: its records (their count and
 * a digest of ids and classes), grades (their sum and a digest), totals,
 * accounts and sync_state. */
static char *day_snapshot(const char *date)
{
    char sql[2048];
    snprintf(sql, sizeof(sql),
             "WITH d AS (SELECT date '%s' AS day) SELECT concat_ws(' | ', "
             "(SELECT count(*) FROM call_records, d WHERE stat_date = day), "
             "(SELECT coalesce(md5(string_agg(record_id || ' ' || "
             "grade_class, ',' ORDER BY record_id)), '-') FROM call_records, "
             "d WHERE stat_date = day), "
             "(SELECT coalesce(sum(records), 0) || ' ' || coalesce(md5("
             "string_agg(grade || '=' || records, ',' ORDER BY grade)), '-') "
             "FROM day_grades, d WHERE stat_date = day), "
             "(SELECT coalesce(max(calls_dialled || '/' || calls_answered || "
             "'/' || success_orders), '-') FROM day_totals, d WHERE "
             "stat_date = day), "
             "(SELECT count(*) FROM account_stats, d WHERE stat_date = day), "
             "(SELECT coalesce(string_agg(source || ' ' || synced_at || ' ' "
             "|| records_written || ' ' || upstream_total, ',' ORDER BY "
             "source), '-') FROM sync_state, d WHERE stat_date = day))",
             date);
    return db_text(sql);
}

static void assert_unchanged(const char *date, const char *before,
                             const char *what)
{
    char *after = day_snapshot(date);
    if (strcmp(before, after) != 0)
        fail_msg("%s changed under %s:\nbefore %s\nafter  %s", date, what,
                 before, after);
    free(after);
}

/* The day's call records, grades and calls sync_state against truth t. */
static void assert_calls_match(const char *date, json_t *t)
{
    const struct {
        const char *what, *sql;
        json_int_t want;
    } checks[] = {
        {"call_records", "SELECT count(*) FROM call_records WHERE stat_date = ",
         int_of(t, "records")},
        {"day_grades",
         "SELECT coalesce(sum(records), 0) FROM day_grades WHERE stat_date = ",
         int_of(t, "records")},
        {"grade_9",
         "SELECT coalesce(sum(records), 0) FROM day_grades WHERE "
         "grade_class = 'grade_9' AND stat_date = ",
         int_of(t, "grade_9")},
        {"grade_1",
         "SELECT coalesce(sum(records), 0) FROM day_grades WHERE "
         "grade_class = 'grade_1' AND stat_date = ",
         int_of(t, "grade_1")},
        {"sync_state records_written",
         "SELECT coalesce(max(records_written), -1) FROM sync_state WHERE "
         "source = 'calls' AND stat_date = ",
         int_of(t, "records")},
    };
    for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]); i++) {
        long long got = day_count(checks[i].sql, date);
        if (got != checks[i].want)
            fail_msg("%s %s: %lld, the simulator says %lld", date,
                     checks[i].what, got, (long long)checks[i].want);
    }
}

/* The day's day_totals against truth t. */
static void assert_stats_match(const char *date, json_t *t)
{
    const char *keys[] = {"calls_dialled", "calls_answered", "success_orders"};
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        char sql[256];
        snprintf(sql, sizeof(sql),
                 "SELECT coalesce(max(%s), -1) FROM day_totals WHERE "
                 "stat_date = ",
                 keys[i]);
        long long got = day_count(sql, date);
        if (got != int_of(t, keys[i]))
            fail_msg("%s day_totals.%s: %lld, the simulator says %lld", date,
                     keys[i], got, (long long)int_of(t, keys[i]));
    }
}

/* Both sources of date against the main simulator's truth. */
static void assert_day_true(const char *date)
{
    json_t *t = truth(date);
    assert_calls_match(date, t);
    assert_stats_match(date, t);
    json_decref(t);
}

static void assert_calls_true(const char *date)
{
    json_t *t = truth(date);
    assert_calls_match(date, t);
    json_decref(t);
}

/* Every day a reader can see is whole: its calls sync_state counts exactly
 * its call_records, its day_grades count the same records, and no record
 * or grade lies outside a synced day. */
static void assert_every_day_whole(void)
{
    char *bad = db_text(
        "SELECT coalesce(string_agg(d::text, ','), '') FROM (SELECT "
        "stat_date AS d FROM call_records UNION SELECT stat_date FROM "
        "day_grades UNION SELECT stat_date FROM sync_state WHERE source = "
        "'calls') AS days LEFT JOIN sync_state s ON s.stat_date = d AND "
        "s.source = 'calls' WHERE s.records_written IS DISTINCT FROM "
        "(SELECT count(*) FROM call_records r WHERE r.stat_date = d) OR "
        "s.records_written IS DISTINCT FROM (SELECT coalesce(sum(records), "
        "0) FROM day_grades g WHERE g.stat_date = d)");
    if (bad[0] != '\0')
        fail_msg("days not whole (sync_state, call_records and day_grades "
                 "disagree): %s",
                 bad);
    free(bad);
}

/* Syncs date's source from the main simulator without faults; returns
 * the day as stored then. */
static char *sync_cleanly(const char *date, const char *source)
{
    set_faults(&upstream, "");
    assert_int_equal(sync_from("clean", &upstream, date, date, source, NULL),
                     0);
    return day_snapshot(date);
}

/* Writes the old version of date's call records (records of them);
 * returns the day as stored then. */
static char *plant_old_day(const char *date, long long records)
{
    assert_int_equal(
        sync_from("plant-old", &old_upstream, date, date, "calls", NULL), 0);
    assert_int_equal(day_count("SELECT count(*) FROM call_records WHERE "
                               "stat_date = ",
                               date),
                     records);
    return day_snapshot(date);
}

/* `callstats-worker run` against the main simulator, jobs in env. */
static pid_t start_daemon(const char *name, const char *const env[])
{
    char *args[] = {"run", NULL};
    pid_t pid = started(start_worker(name, upstream.url, env, args));
    if (!wait_log(name, "callstats-worker ready"))
        fail_msg("%s did not start", name);
    return pid;
}

/* Waits up to 30 s for job's first run to end, then stops the daemon. */
static void wait_first_run(pid_t daemon, const char *job)
{
    char sql[256];
    double took;
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM sync_runs WHERE job = '%s' AND status "
             "<> 'running'",
             job);
    for (int i = 0; i < 300 && db_count(sql) == 0; i++)
        usleep(100 * 1000);
    kill(daemon, SIGTERM);
    assert_int_equal(wait_exit_within(daemon, STOP_BOUND_S, &took), 0);
    if (db_count(sql) == 0)
        fail_msg("no run of job %s ended within 30 s", job);
}

/* A figure of job's first run (an SQL expression over sync_runs). */
static long long first_run(const char *job, const char *expr)
{
    char sql[512];
    snprintf(sql, sizeof(sql),
             "SELECT %s FROM sync_runs WHERE job = '%s' ORDER BY id LIMIT 1",
             expr, job);
    return db_count(sql);
}

/* Holds a lock that the worker's commit of a calls day waits for (it
 * rebuilds day_grades), so that a signal reaches it there. */
static void hold_day_grades(void)
{
    locker = PQconnectdb(it.db);
    assert_int_equal(PQstatus(locker), CONNECTION_OK);
    PGresult *res =
        PQexec(locker, "BEGIN; LOCK TABLE day_grades IN SHARE MODE");
    assert_int_equal(PQresultStatus(res), PGRES_COMMAND_OK);
    PQclear(res);
}

/* Ends the lock's transaction, if any. */
static void release_day_grades(void)
{
    if (locker != NULL) {
        PQclear(PQexec(locker, "COMMIT"));
        PQfinish(locker);
        locker = NULL;
    }
}

/* Waits up to 30 s until the worker's session waits for that lock: its
 * day's records are all in its transaction, not yet committed. */
static void wait_worker_at_commit(void)
{
    const char *sql =
        "SELECT count(*) FROM pg_stat_activity WHERE datname = "
        "current_database() AND application_name = 'callstats-worker' AND "
        "wait_event_type = 'Lock' AND query LIKE 'DELETE FROM day_grades%'";
    for (int i = 0; i < 1500; i++) {
        if (db_count(sql) > 0)
            return;
        usleep(20 * 1000);
    }
    fail_msg("the worker never reached the commit of its day");
}

/* The worker's sessions are gone within 5 s (their transactions with
 * them). */
static void assert_worker_sessions_end(void)
{
    const char *sql = "SELECT count(*) FROM pg_stat_activity WHERE datname = "
                      "current_database() AND application_name = "
                      "'callstats-worker'";
    for (int i = 0; i < 250 && db_count(sql) > 0; i++)
        usleep(20 * 1000);
    assert_int_equal(db_count(sql), 0);
}

/* Every test's teardown: what a failed test left running or locked does
 * not reach the next one. */
static int end_test(void **state)
{
    (void)state;
    for (size_t i = 0; i < n_children; i++) {
        if (waitpid(children[i], NULL, WNOHANG) == 0) {
            kill(children[i], SIGKILL);
            (void)waitpid(children[i], NULL, 0);
        }
    }
    n_children = 0;
    release_day_grades();
    return 0;
}

/* The teardown of a test that stops the database: it runs again. */
static int end_restart_test(void **state)
{
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "%s start %s/pg >/dev/null", it.pg_private,
             it.work);
    return end_test(state) == 0 && system(cmd) == 0 ? 0 : -1;
}

static int start_upstreams(void **state)
{
    (void)state;
    const char *old[] = {"--day-records", OLD_DAYS, NULL};
    const char *slow[] = {"--page-delay-ms", "200", NULL};
    sim_start(&upstream, "sim-main", it.ports[0], it.now, NULL);
    sim_start(&old_upstream, "sim-old", it.ports[1], it.now, old);
    sim_start(&slow_upstream, "sim-slow", it.ports[2], it.now, slow);
    return 0;
}

static int stop_upstreams(void **state)
{
    (void)state;
    sim_stop(&upstream);
    sim_stop(&old_upstream);
    sim_stop(&slow_upstream);
    return 0;
}

static void test_migrate(void **state)
{
    (void)state;
    char *args[] = {"migrate", NULL};
    assert_int_equal(worker("migrate", upstream.url, NULL, args), 0);
    assert_int_equal(db_count("SELECT count(*) FROM schema_migrations"), 5);
}

/* Row "HTTP 5xx, timeout, connection reset", passing: HTTP 500 and
 * answers cut mid-body now and then are retried after a doubling wait
 * spread over its upper half, and the day equals the simulator's. */
static void test_passing_5xx_and_resets_are_retried(void **state)
{
    (void)state;
    set_faults(&upstream, "http500,reset");
    assert_int_equal(
        sync_from("5xx-passing", &upstream, FAULT_DAY, FAULT_DAY, "all", NULL),
        0);
    assert_day_true(FAULT_DAY);
    assert_log_has("5xx-passing", "error=\"HTTP 500\"");
    assert_log_has("5xx-passing", "transfer closed");
    assert_true(check_backoff_waits("5xx-passing") >= 3);
    assert_true(counter(&upstream, "faults") >= 3);
    assert_every_day_whole();
}

/* Row "HTTP 5xx, timeout, connection reset", time-out: an answer that
 * never comes ends at CALLSTATS_HTTP_TIMEOUT and is asked again. */
static void test_timed_out_request_is_retried(void **state)
{
    (void)state;
    const char *env[] = {"CALLSTATS_HTTP_TIMEOUT=2", NULL};
    set_faults(&upstream, "hang");
    double start = mono_seconds();
    assert_int_equal(
        sync_from("hang-passing", &upstream, FAULT_DAY, FAULT_DAY, "all", env),
        0);
    assert_true(mono_seconds() - start >= 2.0);
    assert_day_true(FAULT_DAY);
    assert_log_has("hang-passing", "timed out");
    assert_true(check_backoff_waits("hang-passing") >= 1);
}

/* Row "HTTP 5xx, timeout, connection reset", lasting: each request is
 * tried 1 + CALLSTATS_HTTP_RETRIES times, then the day fails and keeps
 * what it held. */
static void test_lasting_5xx_or_resets_keep_the_old_day(void **state)
{
    (void)state;
    const char *env[] = {"CALLSTATS_HTTP_RETRIES=2", NULL};
    const char *faults[] = {"http500:1", "reset:1"};
    const char *names[] = {"5xx-lasting", "reset-lasting"};
    char *before = sync_cleanly(FAULT_DAY, "all");
    for (size_t i = 0; i < 2; i++) {
        set_faults(&upstream, faults[i]);
        assert_int_equal(
            sync_from(names[i], &upstream, FAULT_DAY, FAULT_DAY, "all", env),
            1);
        assert_out_has(names[i], "stats records=0");
        assert_out_has(names[i], "calls records=0");
        assert_int_equal(log_count(names[i], "attempts=3"), 2);
        /* Two retries of each of the two requests. */
        assert_int_equal(check_backoff_waits(names[i]), 4);
        assert_unchanged(FAULT_DAY, before, faults[i]);
    }
    free(before);
    assert_every_day_whole();
}

/* Row "HTTP 5xx, timeout, connection reset", deadline: a run's requests
 * end at CALLSTATS_RUN_DEADLINE (give or take the second a request is
 * always allowed), though one request alone may take a minute
 * (CALLSTATS_HTTP_TIMEOUT=60), and the run fails saying so. */
static void test_run_deadline_ends_a_hung_request(void **state)
{
    (void)state;
    const char *env[] = {
        NO_DEFAULT_JOBS, "CALLSTATS_JOB_HUNG=calls -1 every 1h",
        "CALLSTATS_HTTP_TIMEOUT=60", "CALLSTATS_RUN_DEADLINE=10", NULL};
    set_faults(&upstream, "hang:1");
    pid_t pid = start_daemon("deadline-hang", env);
    wait_first_run(pid, "hung");
    assert_int_equal(first_run("hung", "(status = 'failed')::int"), 1);
    assert_int_equal(first_run("hung", "(error LIKE '%deadline%')::int"), 1);
    long long ms = first_run("hung", "(extract(epoch FROM finished_at - "
                                     "started_at) * 1000)::bigint");
    if (ms < 9000 || ms > 13000)
        fail_msg("the run took %lld ms, its deadline is 10 s", ms);
    assert_int_equal(first_run("hung", "days_written"), 0);
    set_faults(&upstream, "");
}

/* Row "429": each 429 waits what its Retry-After says, seconds or an HTTP
 * date, with no spread of its own; passing ones leave the day true,
 * lasting ones fail it and it keeps its data. */
static void test_429_waits_as_long_as_retry_after_says(void **state)
{
    (void)state;
    long total_ms;
    double took;
    set_faults(&upstream, "429,retrydate");
    assert_int_equal(
        sync_from("429-passing", &upstream, FAULT_DAY, FAULT_DAY, "all", NULL),
        0);
    assert_day_true(FAULT_DAY);
    assert_true(check_429_waits("429-passing", &total_ms) >= 4);

    char *before = day_snapshot(FAULT_DAY);
    const char *faults[] = {"429:1", "retrydate:1"};
    const char *names[] = {"429-lasting", "retrydate-lasting"};
    const char *env[] = {"CALLSTATS_HTTP_RETRIES=1", NULL};
    for (size_t i = 0; i < 2; i++) {
        set_faults(&upstream, faults[i]);
        double start = mono_seconds();
        assert_int_equal(
            sync_from(names[i], &upstream, FAULT_DAY, FAULT_DAY, "stats", env),
            1);
        took = mono_seconds() - start;
        assert_int_equal(check_429_waits(names[i], &total_ms), 1);
        if (took * 1000 < (double)total_ms)
            fail_msg("%s: done in %.2f s, yet told to wait %ld ms", names[i],
                     took, total_ms);
        assert_unchanged(FAULT_DAY, before, faults[i]);
    }
    free(before);
}

/* Row "429", deadline: a run told to come back again and again stops
 * retrying at its deadline. */
static void test_429_retries_end_at_the_run_deadline(void **state)
{
    (void)state;
    long total_ms;
    const char *env[] = {
        NO_DEFAULT_JOBS, "CALLSTATS_JOB_BUSY=calls -1 every 1h",
        "CALLSTATS_HTTP_RETRIES=100", "CALLSTATS_RUN_DEADLINE=10", NULL};
    set_faults(&upstream, "429:1");
    pid_t pid = start_daemon("deadline-429", env);
    wait_first_run(pid, "busy");
    assert_int_equal(first_run("busy", "(status = 'failed')::int"), 1);
    assert_int_equal(first_run("busy", "(error LIKE '%deadline%')::int"), 1);
    long long ms = first_run("busy", "(extract(epoch FROM finished_at - "
                                     "started_at) * 1000)::bigint");
    int waits = check_429_waits("deadline-429", &total_ms);
    if (ms > 11000 || waits < 7 || waits > 10)
        fail_msg("the run took %lld ms and %d waits of 1 s; its deadline is "
                 "10 s",
                 ms, waits);
    assert_int_equal(first_run("busy", "retries"), waits);
    set_faults(&upstream, "");
}

/* Row "token invalid or expired mid-run": with four requests in flight
 * when a token stops working, one login serves them all; a token refused
 * at once fails the request after its one retry, and the day keeps its
 * data. */
static void test_token_expiry_one_login_for_requests_in_flight(void **state)
{
    (void)state;
    const char *env[] = {"CALLSTATS_PAGES_IN_FLIGHT=4", NULL};
    set_faults(&upstream, "expire");
    assert_int_equal(
        sync_from("expire-passing", &upstream, FAULT_DAY, NEXT_DAY, "all", env),
        0);
    assert_day_true(FAULT_DAY);
    assert_day_true(NEXT_DAY);
    /* A token serves 25 data requests: the logins are as few as that
     * allows, one per expiry, however many requests it failed. */
    long long served = counter(&upstream, "stat") + counter(&upstream, "cdr");
    long long logins = counter(&upstream, "token");
    assert_true(logins >= 3);
    if (logins != (served + 24) / 25)
        fail_msg("%lld logins for %lld data requests; one per 25 wanted",
                 logins, served);
    assert_int_equal(log_count("expire-passing", "token no longer valid"),
                     logins - 1);

    char *before = day_snapshot(FAULT_DAY);
    set_faults(&upstream, "expire:1");
    assert_int_equal(sync_from("expire-lasting", &upstream, FAULT_DAY,
                               FAULT_DAY, "all", env),
                     1);
    assert_int_equal(log_count("expire-lasting", "rejected a fresh token"), 2);
    assert_unchanged(FAULT_DAY, before, "expire:1");
    free(before);
}

/* Row "malformed or truncated JSON": a body that is not JSON is asked
 * again like any passing failure; when it stays so, the day fails and
 * keeps its data. */
static void test_broken_bodies_are_asked_again(void **state)
{
    (void)state;
    set_faults(&upstream, "badjson,malformed");
    assert_int_equal(sync_from("badjson-passing", &upstream, FAULT_DAY,
                               FAULT_DAY, "all", NULL),
                     0);
    assert_day_true(FAULT_DAY);
    assert_true(log_count("badjson-passing", "body is not JSON") >= 3);

    char *before = day_snapshot(FAULT_DAY);
    const char *env[] = {"CALLSTATS_HTTP_RETRIES=1", NULL};
    const char *faults[] = {"badjson:1", "malformed:1"};
    const char *names[] = {"badjson-lasting", "malformed-lasting"};
    for (size_t i = 0; i < 2; i++) {
        set_faults(&upstream, faults[i]);
        assert_int_equal(
            sync_from(names[i], &upstream, FAULT_DAY, FAULT_DAY, "all", env),
            1);
        assert_int_equal(log_count(names[i], "attempts=2"), 2);
        assert_unchanged(FAULT_DAY, before, faults[i]);
    }
    free(before);
}

/* Row "a page shorter than promised, a page repeated" and "empty page":
 * one listing of NEXT_DAY contradicts itself; it is fetched again once,
 * and both days equal the simulator's. */
static void test_inconsistent_listing_is_fetched_again(void **state)
{
    (void)state;
    const char *faults[] = {"short:" ONCE_PERIOD, "repeat:" ONCE_PERIOD,
                            "empty:" ONCE_PERIOD};
    const char *names[] = {"short-once", "repeat-once", "empty-once"};
    for (size_t i = 0; i < 3; i++) {
        set_faults(&upstream, faults[i]);
        assert_int_equal(
            sync_from(names[i], &upstream, FAULT_DAY, NEXT_DAY, "calls", NULL),
            0);
        assert_int_equal(counter(&upstream, "faults"), 1);
        assert_int_equal(log_count(names[i], "listing inconsistent"), 1);
        assert_log_has(names[i],
                       "listing inconsistent day=" NEXT_DAY " attempt=1");
        assert_calls_true(FAULT_DAY);
        assert_calls_true(NEXT_DAY);
    }
    assert_every_day_whole();
}

/* Rows "a page shorter than promised, a page repeated" and "an empty page
 * where totalCount promised records": a listing that contradicts itself
 * twice fails the day, which keeps its data. */
static void test_still_inconsistent_day_keeps_the_old_day(void **state)
{
    (void)state;
    const char *faults[] = {"short:1", "repeat:1", "empty:1"};
    const char *names[] = {"short-lasting", "repeat-lasting", "empty-lasting"};
    const char *reasons[] = {"shorter than promised",
                             "longer than promised", /* the last page */
                             "page empty"};
    char *before = sync_cleanly(FAULT_DAY, "calls");
    for (size_t i = 0; i < 3; i++) {
        set_faults(&upstream, faults[i]);
        assert_int_equal(
            sync_from(names[i], &upstream, FAULT_DAY, FAULT_DAY, "calls", NULL),
            1);
        assert_out_has(names[i], reasons[i]);
        /* Fetched again once, not a third time. */
        assert_int_equal(log_count(names[i], "listing inconsistent"), 1);
        assert_unchanged(FAULT_DAY, before, faults[i]);
    }
    free(before);
    assert_every_day_whole();
}

/* Row "totalCount changing while paging, records shifting between pages":
 * on the simulator's today, a growing totalCount is followed and a
 * listing whose records shifted is fetched again; a day whose every
 * listing shifts fails and keeps its data. */
static void test_today_growing_and_shifting(void **state)
{
    (void)state;
    struct sim oct = {0};
    char now[24];
    struct tm tm = {.tm_year = 2025 - 1900,
                    .tm_mon = 9,
                    .tm_mday = 7,
                    .tm_hour = OCT_NOW_UTC_H};
    snprintf(now, sizeof(now), "%lld", (long long)timegm(&tm));
    const char *grow[] = {"--faults", "grow", NULL};
    sim_start(&oct, "sim-oct", free_port(), now, grow);
    started(oct.pid);
    assert_int_equal(sync_from("grow", &oct, OCT_TODAY, OCT_TODAY, "all", NULL),
                     0);
    assert_true(counter(&oct, "faults") >= 5);
    json_t *t = truth_at(OCT_TODAY, now, NULL);
    assert_calls_match(OCT_TODAY, t);
    assert_stats_match(OCT_TODAY, t);

    set_faults(&oct, "shift");
    assert_int_equal(
        sync_from("shift-once", &oct, OCT_TODAY, OCT_TODAY, "calls", NULL), 0);
    assert_int_equal(log_count("shift-once", "listing inconsistent"), 1);
    assert_log_has("shift-once", "records shifted");
    assert_calls_match(OCT_TODAY, t);
    json_decref(t);
    sim_stop(&oct);

    /* Four pages: both listings fall within the simulator's first ten
     * requests about today, which shift. */
    char *before = day_snapshot(OCT_TODAY);
    const char *shift[] = {"--faults", "shift:1", "--day-records",
                           OCT_TODAY "=4000", NULL};
    sim_start(&oct, "sim-oct-small", free_port(), now, shift);
    started(oct.pid);
    assert_int_equal(
        sync_from("shift-lasting", &oct, OCT_TODAY, OCT_TODAY, "calls", NULL),
        1);
    assert_int_equal(log_count("shift-lasting", "listing inconsistent"), 1);
    assert_unchanged(OCT_TODAY, before, "shift:1");
    free(before);
    sim_stop(&oct);
    assert_every_day_whole();
}

/* Row "a still-inconsistent day ... counted in a metric": a run whose days
 * contradict themselves twice records them in inconsistent_days. */
static void test_run_counts_inconsistent_days(void **state)
{
    (void)state;
    /* Three days: a Sunday among them has no calls, the others do. */
    const char *env[] = {NO_DEFAULT_JOBS,
                         "CALLSTATS_JOB_SHORT=calls -3..-1 every 1h", NULL};
    set_faults(&upstream, "short:1");
    pid_t pid = start_daemon("inconsistent-run", env);
    wait_first_run(pid, "short");
    assert_int_equal(first_run("short", "(status = 'failed')::int"), 1);
    long long inconsistent = first_run("short", "inconsistent_days");
    assert_true(inconsistent >= 2);
    assert_int_equal(first_run("short", "days_failed"), inconsistent);
    assert_int_equal(first_run("short", "(error LIKE '%shorter than "
                                        "promised%')::int"),
                     1);
    set_faults(&upstream, "");
    assert_every_day_whole();
}

/* Row "range over 7 days refused; pageSize over 1000": a sync of nine days
 * sends neither, asks each day's statistics alone and each day's records
 * in pages of 1000, and every day equals the simulator's. */
static void test_ranges_and_page_sizes_the_platform_refuses(void **state)
{
    (void)state;
    const char *days[] = {"2025-10-01", "2025-10-02", "2025-10-03",
                          "2025-10-04", "2025-10-05", "2025-10-06",
                          "2025-10-07", "2025-10-08", "2025-10-09"};
    const size_t n = sizeof(days) / sizeof(days[0]);
    set_faults(&upstream, "");
    assert_int_equal(
        sync_from("nine-days", &upstream, days[0], days[n - 1], "all", NULL),
        0);
    assert_int_equal(counter(&upstream, "refused_range"), 0);
    assert_int_equal(counter(&upstream, "refused_page_size"), 0);
    /* Two statistics requests a day (accounts, tasks), and a day of N
     * records in max(1, ceil(N / 1000)) pages. */
    assert_int_equal(counter(&upstream, "stat"), 2 * (long long)n);
    long long pages = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *t = truth(days[i]);
        json_int_t records = int_of(t, "records");
        pages += records > 0 ? (records + 999) / 1000 : 1;
        assert_calls_match(days[i], t);
        assert_stats_match(days[i], t);
        json_decref(t);
    }
    assert_int_equal(counter(&upstream, "cdr"), pages);
}

/* Row "PostgreSQL down or restarted": the database stops while a day is
 * being written; the sync fails cleanly, a sync meanwhile fails at once,
 * the day keeps its old version, and the next sync writes it whole. */
static void test_database_restart_mid_sync(void **state)
{
    (void)state;
    double took;
    char *before = plant_old_day(FAULT_DAY, OLD_FAULT_DAY_RECORDS);
    set_faults(&slow_upstream, "");
    pid_t pid = start_sync("pg-restart", &slow_upstream, FAULT_DAY, "calls");
    wait_pages(&slow_upstream, 5);
    pg_ctl("stop");
    int status = wait_exit_within(pid, 30, &took);
    int status_down =
        sync_from("pg-down", &upstream, FAULT_DAY, FAULT_DAY, "calls", NULL);
    pg_ctl("start");
    assert_int_equal(status, 1);
    assert_int_equal(status_down, 1);
    assert_out_has("pg-restart", "result=failed");
    assert_log_has("pg-down", "database");
    assert_unchanged(FAULT_DAY, before, "a database restart");
    assert_every_day_whole();
    free(before);

    set_faults(&upstream, "");
    assert_int_equal(
        sync_from("pg-after", &upstream, FAULT_DAY, FAULT_DAY, "calls", NULL),
        0);
    assert_calls_true(FAULT_DAY);
    assert_every_day_whole();
}

/* Row "SIGTERM mid-sync", while pages arrive: the worker exits within
 * 10 s, status 1 (a sync that did not finish), and the day is the old
 * one. */
static void test_sigterm_while_fetching(void **state)
{
    (void)state;
    double took;
    char *before = plant_old_day(FAULT_DAY, OLD_FAULT_DAY_RECORDS);
    set_faults(&slow_upstream, "");
    pid_t pid = start_sync("term-fetch", &slow_upstream, FAULT_DAY, "calls");
    wait_pages(&slow_upstream, 4);
    kill(pid, SIGTERM);
    assert_int_equal(wait_exit_within(pid, STOP_BOUND_S, &took), 1);
    assert_log_has("term-fetch", "signal received signal=SIGTERM");
    assert_worker_sessions_end();
    assert_unchanged(FAULT_DAY, before, "SIGTERM");
    assert_every_day_whole();
    free(before);
}

/* Row "SIGTERM mid-sync", at the commit: every record of BIG_DAY is in
 * the open transaction, which waits for a lock; SIGTERM cancels the wait,
 * rolls back and exits within 10 s, before the lock is released. */
static void test_sigterm_while_writing(void **state)
{
    (void)state;
    double took;
    char *before = plant_old_day(BIG_DAY, OLD_BIG_DAY_RECORDS);
    set_faults(&upstream, "");
    hold_day_grades();
    pid_t pid = start_sync("term-write", &upstream, BIG_DAY, "calls");
    wait_worker_at_commit();
    kill(pid, SIGTERM);
    int status = wait_exit_within(pid, STOP_BOUND_S, &took);
    assert_worker_sessions_end();
    release_day_grades();
    assert_int_equal(status, 1);
    assert_unchanged(BIG_DAY, before, "SIGTERM at the commit");
    assert_every_day_whole();
    free(before);
}

/* Row "SIGKILL mid-sync": killed after a few pages, amid a day's COPY and
 * at its commit, the worker leaves the day old and whole each time; the
 * next start writes it new and whole. */
static void test_sigkill_mid_sync(void **state)
{
    (void)state;
    double took;
    char *before = plant_old_day(FAULT_DAY, OLD_FAULT_DAY_RECORDS);
    set_faults(&slow_upstream, "");
    pid_t pid = start_sync("kill-fetch", &slow_upstream, FAULT_DAY, "calls");
    wait_pages(&slow_upstream, 4);
    kill(pid, SIGKILL);
    assert_int_equal(wait_exit_within(pid, 5, &took), 128 + SIGKILL);
    assert_unchanged(FAULT_DAY, before, "SIGKILL after a few pages");
    assert_every_day_whole();
    free(before);

    before = plant_old_day(BIG_DAY, OLD_BIG_DAY_RECORDS);
    set_faults(&upstream, "");
    pid = start_sync("kill-copy", &upstream, BIG_DAY, "calls");
    wait_pages(&upstream, 50);
    kill(pid, SIGKILL);
    assert_int_equal(wait_exit_within(pid, 5, &took), 128 + SIGKILL);
    assert_unchanged(BIG_DAY, before, "SIGKILL amid the COPY");

    hold_day_grades();
    pid = start_sync("kill-commit", &upstream, BIG_DAY, "calls");
    wait_worker_at_commit();
    kill(pid, SIGKILL);
    assert_int_equal(wait_exit_within(pid, 5, &took), 128 + SIGKILL);
    release_day_grades();
    assert_unchanged(BIG_DAY, before, "SIGKILL at the commit");
    assert_every_day_whole();
    free(before);

    assert_int_equal(
        sync_from("kill-after", &upstream, FAULT_DAY, FAULT_DAY, "calls", NULL),
        0);
    assert_int_equal(
        sync_from("kill-after-big", &upstream, BIG_DAY, BIG_DAY, "calls", NULL),
        0);
    assert_calls_true(FAULT_DAY);
    assert_calls_true(BIG_DAY);
    assert_every_day_whole();
}

int main(void)
{
    harness_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_migrate, end_test),
        cmocka_unit_test_teardown(test_passing_5xx_and_resets_are_retried,
                                  end_test),
        cmocka_unit_test_teardown(test_timed_out_request_is_retried, end_test),
        cmocka_unit_test_teardown(test_lasting_5xx_or_resets_keep_the_old_day,
                                  end_test),
        cmocka_unit_test_teardown(test_run_deadline_ends_a_hung_request,
                                  end_test),
        cmocka_unit_test_teardown(test_429_waits_as_long_as_retry_after_says,
                                  end_test),
        cmocka_unit_test_teardown(test_429_retries_end_at_the_run_deadline,
                                  end_test),
        cmocka_unit_test_teardown(
            test_token_expiry_one_login_for_requests_in_flight, end_test),
        cmocka_unit_test_teardown(test_broken_bodies_are_asked_again, end_test),
        cmocka_unit_test_teardown(test_inconsistent_listing_is_fetched_again,
                                  end_test),
        cmocka_unit_test_teardown(test_still_inconsistent_day_keeps_the_old_day,
                                  end_test),
        cmocka_unit_test_teardown(test_today_growing_and_shifting, end_test),
        cmocka_unit_test_teardown(test_run_counts_inconsistent_days, end_test),
        cmocka_unit_test_teardown(
            test_ranges_and_page_sizes_the_platform_refuses, end_test),
        cmocka_unit_test_teardown(test_database_restart_mid_sync,
                                  end_restart_test),
        cmocka_unit_test_teardown(test_sigterm_while_fetching, end_test),
        cmocka_unit_test_teardown(test_sigterm_while_writing, end_test),
        cmocka_unit_test_teardown(test_sigkill_mid_sync, end_test),
    };
    return cmocka_run_group_tests_name("faults", tests, start_upstreams,
                                       stop_upstreams) == 0
               ? 0
               : 1;
}
