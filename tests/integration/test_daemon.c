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
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

/* Waits up to 60 s until the query's count reaches want. */
static void wait_count(const char *sql, long long want)
{
    for (int i = 0; i < 600; i++) {
        if (db_count(sql) >= want)
            return;
        usleep(100 * 1000);
    }
    fail_msg("waited 60 s for %s to reach %lld (it is %lld)", sql, want,
             db_count(sql));
}

static void today_date(char *buf, size_t len)
{
    /* The platform's day (UTC+8) of the simulator's clock. */
    time_t now = (time_t)atoll(it.now) + 8 * 3600;
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(buf, len, "%Y-%m-%d", &tm);
}

static void test_migrate(void **state)
{
    (void)state;
    char *args[] = {"migrate", NULL};
    assert_int_equal(worker("migrate", it.sim_url, NULL, args), 0);
    assert_int_equal(db_count("SELECT count(*) FROM schema_migrations"), 2);
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

int main(void)
{
    harness_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_migrate),
        cmocka_unit_test(test_jobs_command),
        cmocka_unit_test(test_runs_recorded_and_missed_slots_coalesced),
        cmocka_unit_test(test_leader_takeover),
        cmocka_unit_test(test_incremental_today),
        cmocka_unit_test(test_database_restart),
    };
    return cmocka_run_group_tests_name("daemon", tests, NULL, NULL) == 0 ? 0
                                                                         : 1;
}
