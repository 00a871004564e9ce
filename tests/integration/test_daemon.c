/*
 * Integration tests of `callstats-worker run`: the job table, sync_runs,
 * missed slots after downtime, one leader among workers, today's calls
 * fetched incrementally, a database restart. Jobs of a few seconds stand
 * in for the daily ones; the logic is the same.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <libpq-fe.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

static pid_t start_daemon(const char *name, const char *job)
{
    const char *env[] = {NO_DEFAULT_JOBS, job, NULL};
    char *args[] = {"run", NULL};
    pid_t pid = start_worker(name, it.sim_url, env, args);
    if (!wait_log(name, "callstats-worker ready"))
        fail_msg("%s did not start", name);
    return pid;
}

static void stop(pid_t pid)
{
    kill(pid, SIGTERM);
    assert_int_equal(wait_exit(pid), 0);
}

/* The platform's day of the simulator's clock. */
static void today_date(char *buf, size_t len)
{
    platform_day((time_t)atoll(it.now), buf, len);
}

static void test_migrate(void **state)
{
    (void)state;
    char *args[] = {"migrate", NULL};
    assert_int_equal(worker("migrate", it.sim_url, NULL, args), 0);
    assert_int_equal(db_count("SELECT count(*) FROM schema_migrations"), 5);
}

static void test_jobs_command(void **state)
{
    (void)state;
    char *args[] = {"jobs", NULL};
    const char *env[] = {
        "CALLSTATS_JOB_TODAY_CALLS=calls today every 20s 09:00-23:59 "
        "incremental",
        "CALLSTATS_JOB_HISTORY=off", "CALLSTATS_SLOT_OFFSET=7", NULL};
    assert_int_equal(worker("jobs", it.sim_url, env, args), 0);
    char *out = output_of("jobs", "out");
    assert_non_null(strstr(out, "calls today every 20s 09:00-23:59 "
                                "incremental"));
    assert_non_null(strstr(out, "recent "));
    assert_null(strstr(out, "history "));
    assert_non_null(strstr(out, "runs start 7 s after their slot"));
    /* Every next run is at a slot plus the offset: ends in :07. */
    assert_non_null(strstr(out, ":07 +0800"));
    free(out);

    const char *offset[] = {"CALLSTATS_SLOT_OFFSET=99", NULL};
    assert_int_equal(worker("jobs-offset", it.sim_url, offset, args), 2);
    char *why = output_of("jobs-offset", "log");
    assert_non_null(strstr(why, "CALLSTATS_SLOT_OFFSET: \"99\""));
    free(why);

    const char *bad[] = {"CALLSTATS_JOB_RECENT=both -3..-1 at 7am", NULL};
    assert_int_equal(worker("jobs-bad", it.sim_url, bad, args), 2);
    char *log = output_of("jobs-bad", "log");
    assert_non_null(strstr(log, "CALLSTATS_JOB_RECENT"));
    assert_non_null(strstr(log, "\"7am\""));
    free(log);
}

/* A run is recorded with its figures; after a stop longer than several
 * slots, the job runs once, for its latest slot, not once per slot
 * missed. */
static void test_runs_recorded_and_missed_slots_coalesced(void **state)
{
    (void)state;
    const char *job = "CALLSTATS_JOB_QUICK=stats -2..-1 every 5s";
    const char *ok_runs = "SELECT count(*) FROM sync_runs WHERE job = 'quick' "
                          "AND status = 'success'";
    pid_t a = start_daemon("coalesce-a", job);
    wait_count(ok_runs, 2);
    stop(a);
    long long before = db_count(ok_runs);
    long long last = db_count("SELECT extract(epoch FROM max(slot))::bigint "
                              "FROM sync_runs WHERE job = 'quick'");
    sleep(16); /* three slots or more go by */
    pid_t b = start_daemon("coalesce-b", job);
    wait_count(ok_runs, before + 1);
    stop(b);

    char sql[512];
    snprintf(sql, sizeof(sql),
             "SELECT extract(epoch FROM min(slot))::bigint FROM sync_runs "
             "WHERE job = 'quick' AND slot > to_timestamp(%lld)",
             last);
    long long first_after = db_count(sql);
    assert_true(first_after - last >= 15);
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM sync_runs WHERE job = 'quick' AND "
             "slot > to_timestamp(%lld) AND slot < to_timestamp(%lld)",
             last, first_after);
    assert_int_equal(db_count(sql), 0);
    /* The catch-up ran at once, for the slot just past. */
    snprintf(sql, sizeof(sql),
             "SELECT extract(epoch FROM started_at - slot)::int FROM "
             "sync_runs WHERE job = 'quick' AND slot = to_timestamp(%lld)",
             first_after);
    assert_true(db_count(sql) < 5);

    /* What a run records. */
    assert_int_equal(db_count("SELECT count(*) FROM sync_runs WHERE job = "
                              "'quick' AND status = 'success' AND "
                              "(days_written <> 2 OR days_failed <> 0 OR "
                              "upstream_requests < 4 OR records_written < 2 "
                              "OR finished_at < started_at OR error IS NOT "
                              "NULL OR worker NOT LIKE '%:%')"),
                     0);
    assert_int_equal(db_count("SELECT count(*) FROM sync_runs WHERE status = "
                              "'running'"),
                     0);
    assert_int_equal(db_count("SELECT count(*) FROM sync_state WHERE source = "
                              "'stats' AND stat_date >= current_date - 3"),
                     2);
    /* The per-job summary the API reads. */
    char *status = db_text("SELECT last_status || ' ' || failed_runs || ' ' "
                           "|| (last_success_slot = (SELECT max(slot) FROM "
                           "sync_runs WHERE job = 'quick')) FROM "
                           "sync_job_status WHERE job = 'quick'");
    assert_string_equal(status, "success 0 true");
    free(status);
}

/* Two workers on one database: one leads; when it is killed the other
 * takes over, and no slot ran twice. */
static void test_leader_takeover(void **state)
{
    (void)state;
    const char *job = "CALLSTATS_JOB_TWIN=stats -1 every 5s";
    const char *ok_runs = "SELECT count(*) FROM sync_runs WHERE job = 'twin' "
                          "AND status = 'success'";
    pid_t a = start_daemon("leader-a", job);
    assert_true(wait_log("leader-a", "leading the workers"));
    pid_t b = start_daemon("leader-b", job);
    assert_true(wait_log("leader-b", "another worker leads"));
    wait_count(ok_runs, 2);
    char *log_b = output_of("leader-b", "log");
    assert_null(strstr(log_b, "run finished"));
    /* A live leader is left alone. */
    assert_null(strstr(log_b, "has not proved alive"));
    free(log_b);
    kill(a, SIGKILL);
    assert_int_equal(wait_exit(a), 128 + SIGKILL);
    assert_true(wait_log("leader-b", "leading the workers"));
    long long by_a = db_count(ok_runs);
    wait_count(ok_runs, by_a + 2);
    stop(b);

    char sql[512], who[64];
    snprintf(who, sizeof(who), "%%:%d", (int)b);
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM sync_runs WHERE job = 'twin' AND "
             "status = 'success' AND worker LIKE '%s'",
             who);
    assert_true(db_count(sql) >= 2);
    /* No slot succeeded twice, no two runs of a slot overlapped, none is
     * left running, and each slot is later than the one before. */
    assert_int_equal(db_count("SELECT count(*) FROM (SELECT slot FROM "
                              "sync_runs WHERE job = 'twin' AND status = "
                              "'success' GROUP BY slot HAVING count(*) > 1) "
                              "AS twice"),
                     0);
    assert_int_equal(
        db_count("SELECT count(*) FROM sync_runs x JOIN sync_runs y ON "
                 "x.job = y.job AND x.slot = y.slot AND x.id < y.id WHERE "
                 "x.job = 'twin' AND y.started_at < coalesce(x.finished_at, "
                 "'infinity')"),
        0);
    assert_int_equal(db_count("SELECT count(*) FROM sync_runs WHERE status = "
                              "'running'"),
                     0);
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM worker_state WHERE worker LIKE '%s'", who);
    assert_int_equal(db_count(sql), 1);
}

/* Today's calls: the first run fetches the whole day, the next ones only
 * the window since the last sync; the day's records and grades still equal
 * the simulator's. */
static void test_incremental_today(void **state)
{
    (void)state;
    char date[16], sql[512];
    today_date(date, sizeof(date));
    const char *ok_runs = "SELECT count(*) FROM sync_runs WHERE job = "
                          "'today-calls' AND status = 'success'";
    pid_t pid = start_daemon("incremental",
                             "CALLSTATS_JOB_TODAY_CALLS=calls today every 5s "
                             "incremental");
    wait_count(ok_runs, 3);
    stop(pid);
    json_t *t = truth(date);
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM call_records WHERE stat_date = '%s'", date);
    assert_int_equal(db_count(sql), int_of(t, "records"));
    snprintf(sql, sizeof(sql),
             "SELECT coalesce(sum(records), 0) FROM day_grades WHERE "
             "stat_date = '%s' AND grade_class = 'grade_9'",
             date);
    assert_int_equal(db_count(sql), int_of(t, "grade_9"));
    snprintf(sql, sizeof(sql),
             "SELECT coalesce(sum(records), 0) FROM day_grades WHERE "
             "stat_date = '%s' AND grade_class = 'grade_1'",
             date);
    assert_int_equal(db_count(sql), int_of(t, "grade_1"));
    /* The later runs fetched a window of a page, not the day. */
    char *log = output_of("incremental", "log");
    assert_non_null(strstr(log, "window synced source=calls"));
    free(log);
    long long first = db_count("SELECT upstream_requests FROM sync_runs WHERE "
                               "job = 'today-calls' ORDER BY slot LIMIT 1");
    long long later = db_count("SELECT max(upstream_requests) FROM (SELECT "
                               "upstream_requests FROM sync_runs WHERE job = "
                               "'today-calls' AND status = 'success' ORDER "
                               "BY slot OFFSET 1) AS r");
    long long pages = (int_of(t, "records") + 999) / 1000;
    assert_true(first >= pages);
    assert_true(later <= 3);
    json_decref(t);
}

/* The database stops under a running worker and comes back: runs fail
 * cleanly meanwhile, the worker reconnects by itself and catches up. */
static void test_database_restart(void **state)
{
    (void)state;
    const char *ok_runs = "SELECT count(*) FROM sync_runs WHERE job = "
                          "'restart' AND status = 'success'";
    char cmd[1024];
    pid_t pid = start_daemon("restart", "CALLSTATS_JOB_RESTART=stats -1 every "
                                        "5s");
    wait_count(ok_runs, 1);
    snprintf(cmd, sizeof(cmd), "%s stop %s/pg", it.pg_private, it.work);
    assert_int_equal(system(cmd), 0);
    assert_true(wait_log("restart", "leadership lost"));
    sleep(3);
    snprintf(cmd, sizeof(cmd), "%s start %s/pg >/dev/null", it.pg_private,
             it.work);
    assert_int_equal(system(cmd), 0);
    long long before = db_count(ok_runs);
    wait_count(ok_runs, before + 1);
    stop(pid);
    assert_int_equal(db_count("SELECT count(*) FROM sync_runs WHERE status = "
                              "'running'"),
                     0);
}

/* The simulator's truth of today as of epoch `at`, for a simulator that
 * runs on the real clock with calls all day and `records` of them. */
static json_t *truth_at(const char *date, long long at, const char *records)
{
    char exe[512], now[24];
    snprintf(exe, sizeof(exe), "%s/callstats-sim", it.bin);
    snprintf(now, sizeof(now), "%lld", at);
    char *argv[] = {exe,      "truth",         "--date",        (char *)date,
                    "--seed", (char *)it.seed, "--now",         now,
                    "--open", "00:00",         "--day-records", (char *)records,
                    NULL};
    assert_int_equal(run("truth-at", argv, NULL), 0);
    char *out = output_of("truth-at", "out");
    json_t *doc = parse_or_fail(out, "callstats-sim truth");
    free(out);
    return doc;
}

static void assert_between(long long low, long long got, long long high,
                           const char *what)
{
    if (got < low || got > high)
        fail_msg("%s: %lld, not within [%lld, %lld]", what, got, low, high);
}

/* Today's figures trail the platform by at most the job's interval plus a
 * run: at any moment the day holds at least what the platform had when
 * the last run began, at most what it has now, and that run began no
 * longer ago than the interval and the longest run. The simulator runs on
 * the real clock with calls all day, a few a second. */
static void test_today_trails_by_an_interval(void **state)
{
    (void)state;
    enum { DAY_RECORDS = 150000 };
    char date[16], records[48], url[64], sql[512];
    platform_day(time(NULL), date, sizeof(date));
    snprintf(records, sizeof(records), "%s=%d", date, DAY_RECORDS);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", it.ports[2]);
    /* The day starts unsynced: its first run fetches it whole. */
    snprintf(sql, sizeof(sql),
             "DELETE FROM call_records WHERE stat_date = '%s'; DELETE FROM "
             "day_grades WHERE stat_date = '%s'; DELETE FROM sync_state "
             "WHERE stat_date = '%s'",
             date, date, date);
    db_exec(sql);
    pid_t sim = start_live_sim("sim-live", it.ports[2], DAY_RECORDS);
    const char *env[] = {NO_DEFAULT_JOBS,
                         "CALLSTATS_JOB_LIVE=calls today every 5s "
                         "incremental",
                         "CALLSTATS_TODAY_LOOKBACK=60", NULL};
    char *args[] = {"run", NULL};
    pid_t pid = start_worker("live", url, env, args);
    wait_count("SELECT count(*) FROM sync_runs WHERE job = 'live' AND "
               "status = 'success'",
               3);
    for (int i = 0; i < 4; i++) {
        sleep(2);
        long long t = (long long)time(NULL);
        snprintf(sql, sizeof(sql),
                 "SELECT extract(epoch FROM synced_at)::bigint || ' ' || "
                 "(SELECT count(*) FROM call_records WHERE stat_date = '%s') "
                 "|| ' ' || (SELECT coalesce(sum(records) FILTER (WHERE "
                 "grade_class = 'grade_9'), 0) || ' ' || coalesce(sum("
                 "records) FILTER (WHERE grade_class = 'grade_1'), 0) FROM "
                 "day_grades WHERE stat_date = '%s') FROM sync_state WHERE "
                 "stat_date = '%s' AND source = 'calls'",
                 date, date, date);
        char *row = db_text(sql);
        long long s = 0, n = 0, g9 = 0, g1 = 0;
        assert_int_equal(sscanf(row, "%lld %lld %lld %lld", &s, &n, &g9, &g1),
                         4);
        free(row);
        long long longest = db_count(
            "SELECT ceil(extract(epoch FROM max(finished_at - started_at)))"
            "::bigint FROM sync_runs WHERE job = 'live'");
        assert_between(t - 5 - longest - 1, s, t, "last sync began");
        json_t *then = truth_at(date, s, records);
        json_t *now_t = truth_at(date, t, records);
        assert_between(int_of(then, "records"), n, int_of(now_t, "records"),
                       "today's records");
        assert_between(int_of(then, "grade_9"), g9, int_of(now_t, "grade_9"),
                       "today's grade_9");
        assert_between(int_of(then, "grade_1"), g1, int_of(now_t, "grade_1"),
                       "today's grade_1");
        json_decref(then);
        json_decref(now_t);
    }
    stop(pid);
    kill(sim, SIGTERM);
    assert_int_equal(wait_exit(sim), 0);
}

/* A run that outlasts its interval: the slots that came due meanwhile are
 * recorded as skipped, not run late one after another, and no two runs of
 * the job overlap. */
static void test_slots_during_a_long_run_are_skipped(void **state)
{
    (void)state;
    char exe[512], port[16], url[64], records[48], date[16];
    platform_day((time_t)atoll(it.now) - 86400, date, sizeof(date));
    snprintf(records, sizeof(records), "%s=16000", date);
    snprintf(exe, sizeof(exe), "%s/callstats-sim", it.bin);
    snprintf(port, sizeof(port), "%d", it.ports[2]);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", it.ports[2]);
    /* 16 pages at 800 ms, two at a time: a run takes about 7 s. */
    char *sim_argv[] = {exe,     "serve",           "--port",
                        port,    "--seed",          (char *)it.seed,
                        "--now", (char *)it.now,    "--day-records",
                        records, "--page-delay-ms", "800",
                        NULL};
    pid_t sim = spawn("sim-slow", sim_argv, NULL);
    assert_true(wait_log("sim-slow", "callstats-sim ready"));
    const char *env[] = {NO_DEFAULT_JOBS,
                         "CALLSTATS_JOB_LONG=calls yesterday every 5s", NULL};
    char *args[] = {"run", NULL};
    pid_t pid = start_worker("long", url, env, args);
    wait_count("SELECT count(*) FROM sync_runs WHERE job = 'long' AND "
               "status = 'success'",
               2);
    stop(pid);
    kill(sim, SIGTERM);
    assert_int_equal(wait_exit(sim), 0);
    assert_true(db_count("SELECT count(*) FROM sync_runs WHERE job = 'long' "
                         "AND status = 'skipped' AND error = 'the previous "
                         "run was still going'") >= 1);
    /* Each skipped slot fell due while a run of the job went on. */
    assert_int_equal(
        db_count("SELECT count(*) FROM sync_runs s WHERE s.job = 'long' AND "
                 "s.status = 'skipped' AND NOT EXISTS (SELECT 1 FROM "
                 "sync_runs r WHERE r.job = 'long' AND r.status <> 'skipped' "
                 "AND r.slot < s.slot AND r.finished_at >= s.slot)"),
        0);
    assert_int_equal(
        db_count("SELECT count(*) FROM sync_runs x JOIN sync_runs y ON "
                 "x.job = y.job AND x.id < y.id WHERE x.job = 'long' AND "
                 "x.status <> 'skipped' AND y.status <> 'skipped' AND "
                 "y.started_at < x.finished_at"),
        0);
    char sql[256];
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM call_records WHERE stat_date = '%s'", date);
    assert_int_equal(db_count(sql), 16000);
}

/* Under systemd: READY=1 once started, STATUS= with what it does, and
 * WATCHDOG=1 from the scheduler loop, on the socket NOTIFY_SOCKET names. */
static void test_notifies_the_service_manager(void **state)
{
    (void)state;
    char path[256], env_socket[300], got[8192] = "";
    snprintf(path, sizeof(path), "%s/notify.sock", it.work);
    unlink(path);
    int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(addr.sun_path))
        fail_msg("socket path too long: %s", path);
    memcpy(addr.sun_path, path, strlen(path) + 1);
    assert_int_equal(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
    struct timeval tv = {1, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    snprintf(env_socket, sizeof(env_socket), "NOTIFY_SOCKET=%s", path);
    const char *env[] = {NO_DEFAULT_JOBS, env_socket,
                         "CALLSTATS_JOB_NOTE=stats -1 every 5s", NULL};
    char *args[] = {"run", NULL};
    pid_t pid = start_worker("notify", it.sim_url, env, args);
    size_t used = 0;
    for (int i = 0; i < 15 && used + 512 < sizeof(got); i++) {
        ssize_t n = recv(fd, got + used, sizeof(got) - used - 2, 0);
        if (n > 0) {
            used += (size_t)n;
            got[used++] = '\n';
            got[used] = '\0';
        }
        if (strstr(got, "WATCHDOG=1") && strstr(got, "STATUS=leading: running"))
            break;
    }
    stop(pid);
    close(fd);
    unlink(path);
    assert_non_null(strstr(got, "READY=1"));
    assert_non_null(strstr(got, "STATUS=leading: running note"));
    assert_non_null(strstr(got, "WATCHDOG=1"));
}

/* Days older than any job reaches that lack a sync are reported for
 * backfill: in the log with the command to run, and in worker_state.
 * Days count back from today in the business zone, as the worker's do. */
static void test_days_missing_a_sync_are_reported(void **state)
{
    (void)state;
    /* Synced days 40 and 30 days back, the one 35 back half synced: the
     * 38 days from 39 back to 12 back lack a sync, less the one synced. */
    db_exec("INSERT INTO sync_state (stat_date, source, synced_at, "
            "records_written, upstream_total) SELECT (now() AT TIME ZONE "
            "'Asia/Shanghai')::date - d, s, "
            "now(), 0, 0 FROM (VALUES (40), (30)) AS days(d), (VALUES "
            "('stats'), ('calls')) AS sources(s) ON CONFLICT DO NOTHING");
    db_exec("INSERT INTO sync_state (stat_date, source, synced_at, "
            "records_written, upstream_total) VALUES ((now() AT TIME ZONE "
            "'Asia/Shanghai')::date - 35, "
            "'stats', now(), 0, 0) ON CONFLICT DO NOTHING");
    pid_t pid = start_daemon("missing", "CALLSTATS_JOB_M=stats -11..-1 at "
                                        "03:00");
    assert_true(wait_log("missing", "days lack a sync"));
    stop(pid);
    char *log = output_of("missing", "log");
    assert_non_null(strstr(log, "callstats-worker sync --from"));
    free(log);
    /* Days 39..12 back, less 30 back (synced): 27, whatever else the
     * earlier tests synced in 11..1. */
    assert_int_equal(db_count("SELECT missing_days FROM worker_state"), 27);
    assert_int_equal(db_count("SELECT (now() AT TIME ZONE "
                              "'Asia/Shanghai')::date - missing_first FROM "
                              "worker_state"),
                     39);
}

/* A database that was never migrated: the worker says to migrate, once
 * in a while, and does not spin. */
static void test_unmigrated_database_waits(void **state)
{
    (void)state;
    char db[700], url[760];
    db_exec("DROP DATABASE IF EXISTS callstats_unmigrated");
    db_exec("CREATE DATABASE callstats_unmigrated");
    const char *at = strstr(it.db, "dbname=");
    assert_non_null(at);
    snprintf(db, sizeof(db), "%.*sdbname=callstats_unmigrated%s",
             (int)(at - it.db), it.db, at + strcspn(at, " "));
    snprintf(url, sizeof(url), "DATABASE_URL=%s", db);
    const char *env[] = {NO_DEFAULT_JOBS, url,
                         "CALLSTATS_JOB_Q=stats -1 every 5s", NULL};
    char *args[] = {"run", NULL};
    pid_t pid = start_worker("unmigrated", it.sim_url, env, args);
    assert_true(wait_log("unmigrated", "callstats-worker migrate"));
    sleep(3);
    stop(pid);
    char *log = output_of("unmigrated", "log");
    int lines = 0;
    for (const char *p = log; *p; p++)
        lines += *p == '\n';
    assert_null(strstr(log, "leading the workers"));
    free(log);
    assert_true(lines < 12);
    db_exec("DROP DATABASE callstats_unmigrated");
}

/* A day synced since a slot (a backfill, say) is not fetched again by
 * that slot's run: the first start after a backfill costs nothing. */
static void test_days_synced_since_the_slot_are_not_fetched_again(void **state)
{
    (void)state;
    /* Yesterday in the business zone, backfilled now: after the slot of
     * a job that runs at 00:00. */
    char date[16];
    platform_day(time(NULL) - 86400, date, sizeof(date));
    char *args[] = {"sync", "--from",   date,    "--to",
                    date,   "--source", "stats", NULL};
    assert_int_equal(worker("fresh-sync", it.sim_url, NULL, args), 0);
    pid_t pid =
        start_daemon("fresh", "CALLSTATS_JOB_FRESH=stats yesterday at 00:00");
    wait_count("SELECT count(*) FROM sync_runs WHERE job = 'fresh' AND "
               "status = 'success'",
               1);
    stop(pid);
    assert_int_equal(db_count("SELECT days_written + upstream_requests FROM "
                              "sync_runs WHERE job = 'fresh'"),
                     0);
    assert_true(wait_log("fresh", "days_fresh=1"));
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

/* The wall clock jumps under a running worker (libfaketime moves its
 * clock, not its monotonic one): set back an hour, it repeats no slot;
 * set forward two hours, it runs the latest slot once, not every slot
 * it passed over. */
static void test_clock_jumps_neither_repeat_nor_pile_up(void **state)
{
    (void)state;
    char file[512], env_file[600], sql[256];
    const char *lib = "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1";
    if (access(lib, R_OK) != 0)
        fail_msg("%s is missing: deploy/install-deps.sh installs faketime",
                 lib);
    snprintf(file, sizeof(file), "%s/faketime", it.work);
    snprintf(env_file, sizeof(env_file), "FAKETIME_TIMESTAMP_FILE=%s", file);
    write_file(file, "+0\n");
    char preload[160];
    snprintf(preload, sizeof(preload), "LD_PRELOAD=%s", lib);
    const char *env[] = {NO_DEFAULT_JOBS,
                         "CALLSTATS_JOB_TICK=stats -1 every 5s",
                         preload,
                         env_file,
                         "FAKETIME_NO_CACHE=1",
                         "FAKETIME_DONT_FAKE_MONOTONIC=1",
                         "ASAN_OPTIONS=verify_asan_link_order=0",
                         NULL};
    char *args[] = {"run", NULL};
    const char *ok_runs = "SELECT count(*) FROM sync_runs WHERE job = 'tick' "
                          "AND status = 'success'";
    const char *last_slot = "SELECT extract(epoch FROM max(slot))::bigint "
                            "FROM sync_runs WHERE job = 'tick'";
    pid_t pid = start_worker("clock", it.sim_url, env, args);
    wait_count(ok_runs, 2);

    write_file(file, "-1h\n");
    sleep(2); /* a run that began before the jump ends */
    long long before = db_count(ok_runs), top = db_count(last_slot);
    sleep(8);
    assert_int_equal(db_count(ok_runs), before);
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM sync_runs WHERE job = 'tick' AND slot < "
             "to_timestamp(%lld) AND started_at > now() - interval '8 s'",
             top);
    assert_int_equal(db_count(sql), 0);

    write_file(file, "+2h\n");
    wait_count(ok_runs, before + 1);
    sleep(1);
    stop(pid);
    /* One run for the two hours passed over, for a slot two hours on, and
     * no slot recorded in between. */
    long long jumped = db_count(last_slot);
    assert_true(jumped - top >= 7190 && jumped - top <= 7215);
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM sync_runs WHERE job = 'tick' AND slot > "
             "to_timestamp(%lld) AND slot < to_timestamp(%lld) - interval "
             "'10 s'",
             top, jumped);
    assert_int_equal(db_count(sql), 0);
    assert_int_equal(db_count("SELECT count(*) FROM (SELECT slot FROM "
                              "sync_runs WHERE job = 'tick' GROUP BY slot "
                              "HAVING count(*) > 1) AS twice"),
                     0);
}

/* A leader that freezes (SIGSTOP) keeps its sessions and its lock: once
 * its heartbeat is older than CALLSTATS_LEADER_TIMEOUT, a follower ends
 * its sessions and takes over; woken, the old leader finds it no longer
 * leads, and no slot succeeded twice. */
static void test_frozen_leader_is_replaced(void **state)
{
    (void)state;
    const char *job = "CALLSTATS_JOB_ICE=stats -1 every 5s";
    const char *env[] = {NO_DEFAULT_JOBS, job, "CALLSTATS_LEADER_TIMEOUT=10",
                         NULL};
    char *args[] = {"run", NULL};
    const char *ok_runs = "SELECT count(*) FROM sync_runs WHERE job = 'ice' "
                          "AND status = 'success'";
    pid_t a = start_worker("frozen-a", it.sim_url, env, args);
    assert_true(wait_log("frozen-a", "leading the workers"));
    pid_t b = start_worker("frozen-b", it.sim_url, env, args);
    assert_true(wait_log("frozen-b", "another worker leads"));
    wait_count(ok_runs, 1);
    kill(a, SIGSTOP);
    assert_true(wait_log("frozen-b", "has not proved alive"));
    assert_true(wait_log("frozen-b", "leading the workers"));
    long long before = db_count(ok_runs);
    wait_count(ok_runs, before + 1);
    kill(a, SIGCONT);
    assert_true(wait_log("frozen-a", "another worker leads"));
    stop(a);
    stop(b);
    assert_int_equal(db_count("SELECT count(*) FROM (SELECT slot FROM "
                              "sync_runs WHERE job = 'ice' AND status = "
                              "'success' GROUP BY slot HAVING count(*) > 1) "
                              "AS twice"),
                     0);
    char sql[200];
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM worker_state WHERE worker LIKE '%%:%d'",
             (int)b);
    assert_int_equal(db_count(sql), 1);
}

int main(void)
{
    harness_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_migrate, harness_kill_leftovers),
        cmocka_unit_test_teardown(test_jobs_command, harness_kill_leftovers),
        cmocka_unit_test_teardown(test_runs_recorded_and_missed_slots_coalesced,
                                  harness_kill_leftovers),
        cmocka_unit_test_teardown(test_leader_takeover, harness_kill_leftovers),
        cmocka_unit_test_teardown(test_incremental_today,
                                  harness_kill_leftovers),
        cmocka_unit_test_teardown(test_today_trails_by_an_interval,
                                  harness_kill_leftovers),
        cmocka_unit_test_teardown(test_slots_during_a_long_run_are_skipped,
                                  harness_kill_leftovers),
        cmocka_unit_test_teardown(test_notifies_the_service_manager,
                                  harness_kill_leftovers),
        cmocka_unit_test_teardown(test_days_missing_a_sync_are_reported,
                                  harness_kill_leftovers),
        cmocka_unit_test_teardown(test_unmigrated_database_waits,
                                  harness_kill_leftovers),
        cmocka_unit_test_teardown(
            test_days_synced_since_the_slot_are_not_fetched_again,
            harness_kill_leftovers),
        cmocka_unit_test_teardown(test_clock_jumps_neither_repeat_nor_pile_up,
                                  harness_kill_leftovers),
        cmocka_unit_test_teardown(test_frozen_leader_is_replaced,
                                  harness_kill_leftovers),
        cmocka_unit_test_teardown(test_database_restart,
                                  harness_kill_leftovers),
    };
    return cmocka_run_group_tests_name("daemon", tests, NULL, NULL) == 0 ? 0
                                                                         : 1;
}
