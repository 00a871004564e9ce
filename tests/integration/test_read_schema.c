/*
 * Integration tests of what the worker writes for the API to read: the
 * API's read-only login role made by migrate, day_breakdown and the names
 * beside ids, data_version and its NOTIFY, and sync_jobs. Real binaries,
 * the simulator and a private PostgreSQL, started by run.sh.
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
#include <time.h>
#include <unistd.h>

#include "harness.h"

/* Real October days of the simulator (29,014 and 27,350 calls). */
#define DAY_A "2025-10-04"
#define DAY_B "2025-10-05"
/* Today's records on this program's own simulator, spread over the whole
 * day on the real clock: a few arrive between two runs of 5 s. */
#define LIVE_RECORDS 100000
/* A name that must be quoted, for a role migrate makes afresh. */
#define NEW_ROLE     "callstats api \"test\""
#define NEW_PASSWORD "pw-7Hq2-read-schema"

/* This program's simulator, started by the tests that use it. */
static pid_t live_sim;
static char live_url[64];
static char today[16];

/* Starts this program's simulator: the real clock, today's calls over the
 * whole day, LIVE_RECORDS of them. */
static void start_live(const char *name)
{
    platform_day(time(NULL), today, sizeof(today));
    snprintf(live_url, sizeof(live_url), "http://127.0.0.1:%d", it.ports[0]);
    live_sim = start_live_sim(name, it.ports[0], LIVE_RECORDS);
}

static void stop_live_sim(void)
{
    kill(live_sim, SIGTERM);
    assert_int_equal(wait_exit(live_sim), 0);
}

static void stop_daemon(pid_t pid)
{
    kill(pid, SIGTERM);
    assert_int_equal(wait_exit(pid), 0);
}

/* The test database as `user` (the cluster trusts local connections);
 * a later keyword of a connection string wins. */
static void conninfo_as(const char *user, char *buf, size_t len)
{
    snprintf(buf, len, "%s user='%s'", it.db, user);
}

static PGconn *connect_as_api(void)
{
    char conninfo[700];
    conninfo_as(API_ROLE, conninfo, sizeof(conninfo));
    PGconn *conn = PQconnectdb(conninfo);
    if (PQstatus(conn) != CONNECTION_OK)
        fail_msg("connect as %s: %s", API_ROLE, PQerrorMessage(conn));
    return conn;
}

static long long data_version(void)
{
    return db_count("SELECT version FROM data_version WHERE id = 1");
}

/* `callstats-worker migrate` with env; its exit status. */
static int migrate(const char *name, const char *const env[])
{
    char *args[] = {"migrate", NULL};
    return worker(name, it.sim_url, env, args);
}

static void assert_has(const char *name, const char *ext, const char *text)
{
    char *out = output_of(name, ext);
    if (strstr(out, text) == NULL)
        fail_msg("%s.%s lacks \"%s\": %s", name, ext, text, out);
    free(out);
}

static void assert_lacks(const char *name, const char *ext, const char *text)
{
    char *out = output_of(name, ext);
    if (strstr(out, text) != NULL)
        fail_msg("%s.%s shows \"%s\"", name, ext, text);
    free(out);
}

/* What a role is: "login reader read-only" for the API's, "-" when it
 * does not exist. */
static char *role_state(const char *role)
{
    char sql[1024];
    snprintf(sql, sizeof(sql),
             "SELECT coalesce((SELECT concat_ws(' ', CASE WHEN rolcanlogin "
             "THEN 'login' END, CASE WHEN EXISTS (SELECT 1 FROM "
             "pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid WHERE "
             "m.member = r.oid AND g.rolname = 'callstats_reader') THEN "
             "'reader' END, CASE WHEN "
             "'default_transaction_read_only=on' = ANY (rolconfig) THEN "
             "'read-only' END) FROM pg_roles r WHERE rolname = '%s'), '-')",
             role);
    return db_text(sql);
}

static void assert_role(const char *role, const char *want)
{
    char *got = role_state(role);
    if (strcmp(got, want) != 0)
        fail_msg("role %s is \"%s\", wanted \"%s\"", role, got, want);
    free(got);
}

/* migrate makes the API's role: login, in callstats_reader, read-only by
 * default, with a password sent hashed; again, it changes nothing. */
static void test_migrate_makes_the_api_role(void **state)
{
    (void)state;
    assert_int_equal(migrate("migrate", NULL), 0);
    assert_int_equal(db_count("SELECT count(*) FROM schema_migrations"), 5);
    assert_role(API_ROLE, "login reader read-only");

    const char *fresh[] = {"CALLSTATS_API_ROLE=" NEW_ROLE,
                           "CALLSTATS_API_ROLE_PASSWORD=" NEW_PASSWORD, NULL};
    assert_role(NEW_ROLE, "-");
    assert_int_equal(migrate("migrate-new-role", fresh), 0);
    assert_has("migrate-new-role", "out", "api role " NEW_ROLE " created");
    assert_role(NEW_ROLE, "login reader read-only");
    assert_int_equal(db_count("SELECT count(*) FROM pg_authid WHERE rolname "
                              "= '" NEW_ROLE "' AND rolpassword LIKE "
                              "'SCRAM-SHA-256$%'"),
                     1);
    assert_lacks("migrate-new-role", "log", NEW_PASSWORD);
    assert_lacks("migrate-new-role", "out", NEW_PASSWORD);

    /* Twice: the schema and the role as they were. */
    char *before = db_text("SELECT string_agg(version || ':' || applied_at, "
                           "',' ORDER BY version) FROM schema_migrations");
    const char *again[] = {"CALLSTATS_API_ROLE=" NEW_ROLE, NULL};
    assert_int_equal(migrate("migrate-again", again), 0);
    char current[64];
    snprintf(current, sizeof(current), "schema is current version=%lld",
             db_count("SELECT max(version) FROM schema_migrations"));
    assert_has("migrate-again", "out", current);
    assert_has("migrate-again", "out", "api role " NEW_ROLE " is current");
    char *after = db_text("SELECT string_agg(version || ':' || applied_at, "
                          "',' ORDER BY version) FROM schema_migrations");
    assert_string_equal(before, after);
    free(before);
    free(after);
    db_exec("DROP ROLE \"callstats api \"\"test\"\"\"");
}

/* CALLSTATS_API_ROLE set empty leaves the role alone (here: a role whose
 * read-only default was taken away); unset, it repairs it. */
static void test_empty_api_role_skips_it(void **state)
{
    (void)state;
    char exe[512], dburl[600];
    snprintf(exe, sizeof(exe), "%s/callstats-worker", it.bin);
    snprintf(dburl, sizeof(dburl), "DATABASE_URL=%s", it.db);
    db_exec("ALTER ROLE " API_ROLE " RESET default_transaction_read_only");
    /* The harness cannot set a variable empty; env(1) can. */
    char *argv[] = {"/usr/bin/env", "CALLSTATS_API_ROLE=", exe, "migrate",
                    NULL};
    const char *env[] = {dburl, NULL};
    assert_int_equal(run("migrate-no-role", argv, env), 0);
    assert_has("migrate-no-role", "out", "api role skipped");
    assert_role(API_ROLE, "login reader");
    assert_int_equal(migrate("migrate-repair", NULL), 0);
    assert_has("migrate-repair", "out", "api role " API_ROLE " updated");
    assert_role(API_ROLE, "login reader read-only");
}

/* Counts the lines of name's log that hold text. */
static int log_lines_with(const char *name, const char *text)
{
    char *log = output_of(name, "log"), *save = NULL;
    int n = 0;
    for (char *line = strtok_r(log, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save))
        n += strstr(line, text) != NULL;
    free(log);
    return n;
}

/* A migrating role that may not make roles: a missing role fails migrate
 * with one line saying what to do; a role made before needs no privilege;
 * a superuser is never made the API's role. */
static void test_api_role_without_createrole(void **state)
{
    (void)state;
    char dburl[720];
    db_exec("CREATE ROLE callstats_owner LOGIN NOCREATEROLE");
    db_exec("CREATE DATABASE callstats_owned OWNER callstats_owner");
    snprintf(dburl, sizeof(dburl),
             "DATABASE_URL=%s dbname=callstats_owned user=callstats_owner",
             it.db);
    const char *denied[] = {dburl, "CALLSTATS_API_ROLE=callstats_api_denied",
                            NULL};
    assert_int_equal(migrate("migrate-denied", denied), 1);
    assert_int_equal(log_lines_with("migrate-denied", " error "), 1);
    assert_int_equal(
        log_lines_with("migrate-denied", "\"callstats_api_denied\""), 1);
    assert_has("migrate-denied", "log", "set CALLSTATS_API_ROLE empty");
    assert_has("migrate-denied", "log", "CREATEROLE");
    assert_role("callstats_api_denied", "-");
    /* The schema itself was migrated; the role made before is current. */
    const char *made[] = {dburl, NULL};
    assert_int_equal(migrate("migrate-owner", made), 0);
    assert_has("migrate-owner", "out", "api role " API_ROLE " is current");

    const char *superuser[] = {"CALLSTATS_API_ROLE=postgres", NULL};
    assert_int_equal(migrate("migrate-superuser", superuser), 1);
    assert_has("migrate-superuser", "log", "\"postgres\", a superuser");
    assert_role("postgres", "login");
}

/* One statement as the API's role: its SQLSTATE, "" when it worked. */
static char *state_of(PGconn *conn, const char *sql)
{
    PGresult *res = PQexec(conn, sql);
    ExecStatusType st = PQresultStatus(res);
    const char *code = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    char *state = strdup(st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK
                             ? ""
                             : (code ? code : "?"));
    PQclear(res);
    return state;
}

/* A write as the API's role must fail: with `want` as SQLSTATE (25006,
 * read-only transaction; 42501, permission denied). */
static void assert_refused(PGconn *conn, bool read_write, const char *sql,
                           const char *want)
{
    char *begin = state_of(conn, read_write ? "START TRANSACTION READ WRITE"
                                            : "START TRANSACTION");
    assert_string_equal(begin, "");
    char *got = state_of(conn, sql);
    if (strcmp(got, want) != 0)
        fail_msg("as %s%s, \"%s\" gave SQLSTATE \"%s\", wanted %s", API_ROLE,
                 read_write ? " (read write)" : "", sql, got, want);
    free(state_of(conn, "ROLLBACK"));
    free(begin);
    free(got);
}

/* The API's role reads what the API shows, nothing else, and writes
 * nothing: every write fails as read-only, and again as not permitted in
 * a transaction it declares read-write. */
static void test_api_role_only_reads(void **state)
{
    (void)state;
    PGconn *conn = connect_as_api();
    PGresult *res = PQexec(conn, "SHOW default_transaction_read_only");
    assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
    assert_string_equal(PQgetvalue(res, 0, 0), "on");
    PQclear(res);

    const char *reads[] = {"account_stats", "day_totals",      "task_stats",
                           "day_grades",    "sync_state",      "sync_runs",
                           "worker_state",  "sync_job_status", "day_breakdown",
                           "data_version",  "sync_jobs"};
    char sql[512];
    for (size_t i = 0; i < sizeof(reads) / sizeof(reads[0]); i++) {
        snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", reads[i]);
        char *got = state_of(conn, sql);
        if (got[0] != '\0')
            fail_msg("as %s, \"%s\" failed: SQLSTATE %s", API_ROLE, sql, got);
        free(got);
    }
    char *denied = state_of(conn, "SELECT count(*) FROM call_records");
    assert_string_equal(denied, "42501");
    free(denied);

    /* Every table of the schema, with its first column. */
    PGconn *owner = PQconnectdb(it.db);
    PGresult *tables = PQexec(
        owner, "SELECT c.table_name, c.column_name FROM "
               "information_schema.columns c JOIN pg_tables t ON "
               "t.tablename = c.table_name AND t.schemaname = c.table_schema "
               "WHERE c.table_schema = 'public' AND c.ordinal_position = 1 "
               "ORDER BY 1");
    assert_int_equal(PQresultStatus(tables), PGRES_TUPLES_OK);
    assert_true(PQntuples(tables) >= 12);
    for (int i = 0; i < PQntuples(tables); i++) {
        const char *t = PQgetvalue(tables, i, 0), *c = PQgetvalue(tables, i, 1);
        char writes[5][256];
        const size_t len = sizeof(writes[0]);
        snprintf(writes[0], len, "INSERT INTO %s DEFAULT VALUES", t);
        snprintf(writes[1], len, "UPDATE %s SET %s = %s", t, c, c);
        snprintf(writes[2], len, "DELETE FROM %s", t);
        snprintf(writes[3], len, "TRUNCATE %s", t);
        snprintf(writes[4], len, "CREATE TABLE probe_%d (LIKE %s)", i, t);
        for (int w = 0; w < 5; w++) {
            assert_refused(conn, false, writes[w], "25006");
            assert_refused(conn, true, writes[w], "42501");
        }
    }
    PQclear(tables);
    PQfinish(owner);
    PQfinish(conn);
}

/* Collects the notifications on callstats_data that conn has received,
 * for at most ms or until `want` have come; *last is the latest payload. */
static int notifications(PGconn *conn, int want, int ms, long long *last)
{
    int n = 0;
    for (int waited = 0; waited <= ms; waited += 50) {
        assert_int_equal(PQconsumeInput(conn), 1);
        PGnotify *note;
        while ((note = PQnotifies(conn)) != NULL) {
            assert_string_equal(note->relname, "callstats_data");
            *last = atoll(note->extra);
            n++;
            PQfreemem(note);
        }
        if (n >= want)
            break;
        usleep(50 * 1000);
    }
    return n;
}

/* For one day: each dimension of day_breakdown adds up to day_grades. */
static void assert_breakdown_adds_up(const char *date)
{
    char sql[1536];
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM (VALUES ('task'), ('seat')) AS d(dim) "
             "WHERE (SELECT row(coalesce(sum(grade_9), 0), "
             "coalesce(sum(grade_1), 0), coalesce(sum(records), 0)) FROM "
             "day_breakdown b WHERE b.stat_date = '%s' AND b.dimension = "
             "d.dim) IS DISTINCT FROM (SELECT row(coalesce(sum(records) "
             "FILTER (WHERE grade_class = 'grade_9'), 0), coalesce(sum("
             "records) FILTER (WHERE grade_class = 'grade_1'), 0), "
             "coalesce(sum(records), 0)) FROM day_grades WHERE stat_date = "
             "'%s')",
             date, date);
    if (db_count(sql) != 0)
        fail_msg("%s: day_breakdown does not add up to day_grades", date);
}

/* A day query of one integer; head ends where the date goes. */
static long long day_count(const char *head, const char *date, const char *tail)
{
    char sql[1536];
    snprintf(sql, sizeof(sql), "%s'%s'%s", head, date, tail);
    return db_count(sql);
}

/* The synced day's breakdown and names against the simulator: totals as
 * its truth; each task's records as its task_stats row counts them and
 * each seat's as its account_stats row, joined by the ids. */
static void assert_day_breakdown(const char *date)
{
    json_t *t = truth(date);
    assert_breakdown_adds_up(date);
    assert_int_equal(day_count("SELECT coalesce(sum(grade_9), 0) FROM "
                               "day_breakdown WHERE dimension = 'task' AND "
                               "stat_date = ",
                               date, ""),
                     int_of(t, "grade_9"));
    assert_int_equal(day_count("SELECT coalesce(sum(grade_1), 0) FROM "
                               "day_breakdown WHERE dimension = 'task' AND "
                               "stat_date = ",
                               date, ""),
                     int_of(t, "grade_1"));
    assert_int_equal(day_count("SELECT coalesce(sum(records), 0) FROM "
                               "day_breakdown WHERE dimension = 'task' AND "
                               "stat_date = ",
                               date, ""),
                     int_of(t, "records"));
    json_decref(t);
    /* Every task is named, in the records and in the statistics. */
    assert_true(day_count("SELECT count(*) FROM day_breakdown WHERE "
                          "dimension = 'task' AND stat_date = ",
                          date, "") > 1);
    assert_int_equal(day_count("SELECT count(*) FROM day_breakdown WHERE "
                               "dimension = 'task' AND (key = '' OR "
                               "coalesce(name, '') = '') AND stat_date = ",
                               date, ""),
                     0);
    assert_int_equal(day_count("SELECT count(*) FROM task_stats WHERE "
                               "coalesce(task_name, '') = '' AND stat_date = ",
                               date, ""),
                     0);
    assert_int_equal(day_count("SELECT count(*) FROM account_stats WHERE "
                               "coalesce(user_id, '') = '' AND stat_date = ",
                               date, ""),
                     0);
    const char *joins[] = {
        "SELECT count(*) FROM (SELECT * FROM day_breakdown WHERE dimension "
        "= 'task' AND stat_date = ",
        ") AS b FULL JOIN (SELECT * FROM task_stats WHERE stat_date = ",
        ") AS s ON s.task_id = b.key WHERE b.records IS DISTINCT FROM "
        "s.calls_dialled",
        "SELECT count(*) FROM (SELECT * FROM day_breakdown WHERE dimension "
        "= 'seat' AND stat_date = ",
        ") AS b FULL JOIN (SELECT * FROM account_stats WHERE stat_date = ",
        ") AS a ON a.user_id = b.key WHERE b.records IS DISTINCT FROM "
        "a.calls_dialled",
    };
    /* The ids meet: every seat of the records is an account by user_id. */
    char sql[1536];
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM day_breakdown b JOIN account_stats a ON "
             "a.stat_date = b.stat_date AND a.user_id = b.key WHERE "
             "b.dimension = 'seat' AND b.stat_date = '%s'",
             date);
    assert_true(db_count(sql) > 1);
    for (int i = 0; i < 2; i++) {
        snprintf(sql, sizeof(sql), "%s'%s'%s'%s'%s", joins[3 * i], date,
                 joins[3 * i + 1], date, joins[3 * i + 2]);
        if (db_count(sql) != 0)
            fail_msg("%s: %s records disagree with the statistics", date,
                     i == 0 ? "tasks'" : "seats'");
    }
}

/* A sync of two days of both sources: four day transactions, so the
 * version goes up by four and a listener hears each new version. */
static void test_sync_bumps_the_version_and_fills_the_breakdown(void **state)
{
    (void)state;
    PGconn *listener = connect_as_api();
    PGresult *res = PQexec(listener, "LISTEN callstats_data");
    assert_int_equal(PQresultStatus(res), PGRES_COMMAND_OK);
    PQclear(res);
    long long before = data_version(), last = 0;
    assert_int_equal(sync_days("sync-two", it.sim_url, DAY_A, DAY_B, NULL), 0);
    assert_int_equal(data_version(), before + 4);
    assert_int_equal(notifications(listener, 4, 10000, &last), 4);
    assert_int_equal(last, before + 4);
    assert_int_equal(notifications(listener, 1, 500, &last), 0);
    PQfinish(listener);
    assert_day_breakdown(DAY_A);
    assert_day_breakdown(DAY_B);
}

/* Replaces the faults of this program's simulator. */
static void set_faults(const char *list)
{
    char path[128];
    long status = 0;
    snprintf(path, sizeof(path), "/sim/faults?set=%s", list);
    free(http_get(live_url, path, &status, "POST"));
    assert_int_equal(status, 200);
}

/* A day that fails bumps nothing: a listing empty where records were
 * promised fails the calls, not the statistics (+1); requests that all
 * fail fail both (+0). */
static void test_failed_day_keeps_the_version(void **state)
{
    (void)state;
    char *args[] = {"sync", "--from", DAY_A, "--to", DAY_A, NULL};
    long long before = data_version();
    start_live("sim-faulty-days");
    set_faults("empty:1");
    assert_int_equal(worker("sync-empty", live_url, NULL, args), 1);
    assert_has("sync-empty", "out", "calls records=0");
    assert_has("sync-empty", "out", "result=failed");
    assert_int_equal(data_version(), before + 1);

    const char *no_retries[] = {"CALLSTATS_HTTP_RETRIES=0", NULL};
    set_faults("http500:1");
    assert_int_equal(worker("sync-500", live_url, no_retries, args), 1);
    assert_int_equal(data_version(), before + 1);
    stop_live_sim();
    assert_day_breakdown(DAY_A);
}

/* The default jobs' rows of sync_jobs (no interval: '-'). */
static const char *const default_jobs =
    "close-yesterday|both yesterday at 00:05|stats,calls|-1|-1|-,"
    "history|both -10..-1 at 07:00|stats,calls|-10|-1|-,"
    "open-today|both today at 00:10|stats,calls|0|0|-,"
    "recent|both -3..-1 at 01:00,10:00,15:00,21:00|stats,calls|-3|-1|-,"
    "today-calls|calls today every 1m 09:00-23:59 incremental|calls|0|0|60,"
    "today-stats|stats today every 1h 09:00-23:59|stats|0|0|3600";

/* The leader writes its job table: the default jobs, each next run ahead,
 * the leader named. */
static void test_sync_jobs_hold_the_default_jobs(void **state)
{
    (void)state;
    char *jobs_args[] = {"jobs", NULL};
    assert_int_equal(worker("jobs", it.sim_url, NULL, jobs_args), 0);
    char *args[] = {"run", NULL};
    pid_t pid = start_worker("defaults", it.sim_url, NULL, args);
    assert_true(wait_log("defaults", "leading the workers"));
    wait_count("SELECT count(*) FROM sync_jobs", 6);
    char *rows = db_text("SELECT string_agg(concat_ws('|', job, schedule, "
                         "sources, first_day, last_day, "
                         "coalesce(interval_seconds::text, '-')), ',' ORDER "
                         "BY job) FROM sync_jobs");
    assert_string_equal(rows, default_jobs);
    free(rows);
    char *printed = output_of("jobs", "out");
    char *schedules = db_text("SELECT string_agg(schedule, '|') FROM "
                              "sync_jobs");
    char *save = NULL;
    for (char *s = strtok_r(schedules, "|", &save); s != NULL;
         s = strtok_r(NULL, "|", &save))
        if (strstr(printed, s) == NULL)
            fail_msg("`jobs` does not print \"%s\"", s);
    free(schedules);
    free(printed);
    assert_int_equal(db_count("SELECT count(*) FROM sync_jobs WHERE "
                              "next_run > now() AND next_run <= now() + "
                              "interval '1 day 1 minute' AND worker = "
                              "(SELECT worker FROM worker_state) AND "
                              "updated_at > now() - interval '1 minute'"),
                     6);
    stop_daemon(pid);
}

/* Today's calls merged window by window: after each merge the breakdown
 * still adds up to day_grades and to the day's records, each merge bumps
 * the version once, and sync_jobs holds this worker's one job, its next
 * run moving on. */
static void test_merged_windows_keep_the_breakdown(void **state)
{
    (void)state;
    const char *ok_runs = "SELECT count(*) FROM sync_runs WHERE job = "
                          "'today-calls' AND status = 'success'";
    const char *next = "SELECT extract(epoch FROM next_run)::bigint FROM "
                       "sync_jobs WHERE job = 'today-calls'";
    const char *env[] = {NO_DEFAULT_JOBS,
                         "CALLSTATS_JOB_TODAY_CALLS=calls today every 5s "
                         "incremental",
                         NULL};
    char *args[] = {"run", NULL}, sql[512];
    start_live("sim-today");
    /* Today starts unsynced: the first run fetches it whole. */
    snprintf(sql, sizeof(sql),
             "DELETE FROM call_records WHERE stat_date = '%s'; DELETE FROM "
             "day_grades WHERE stat_date = '%s'; DELETE FROM day_breakdown "
             "WHERE stat_date = '%s'; DELETE FROM sync_state WHERE "
             "stat_date = '%s'",
             today, today, today, today);
    db_exec(sql);
    long long before = data_version(), runs_before = db_count(ok_runs);
    pid_t pid = start_worker("merge", live_url, env, args);
    wait_count(ok_runs, runs_before + 1);
    long long first_next = db_count(next);
    wait_count(ok_runs, runs_before + 4);
    stop_daemon(pid);
    stop_live_sim();
    assert_true(db_count(next) > first_next);
    assert_int_equal(db_count("SELECT count(*) FROM sync_jobs"), 1);
    char *row = db_text("SELECT concat_ws('|', schedule, sources, "
                        "interval_seconds) FROM sync_jobs");
    assert_string_equal(row, "calls today every 5s 00:00-23:59 "
                             "incremental|calls|5");
    free(row);
    assert_has("merge", "log", "window synced source=calls");

    assert_breakdown_adds_up(today);
    assert_int_equal(
        day_count("SELECT coalesce(sum(records), 0) FROM day_breakdown "
                  "WHERE dimension = 'task' AND stat_date = ",
                  today, ""),
        day_count("SELECT count(*) FROM call_records WHERE stat_date = ", today,
                  ""));
    assert_true(day_count("SELECT count(*) FROM call_records WHERE "
                          "stat_date = ",
                          today, "") > 0);
    /* One version for each day this worker's runs wrote, and no other. */
    snprintf(sql, sizeof(sql),
             "SELECT sum(days_written) FROM sync_runs WHERE job = "
             "'today-calls' AND worker LIKE '%%:%d'",
             (int)pid);
    assert_int_equal(data_version() - before, db_count(sql));
}

int main(void)
{
    harness_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_migrate_makes_the_api_role,
                                  harness_kill_leftovers),
        cmocka_unit_test_teardown(test_empty_api_role_skips_it,
                                  harness_kill_leftovers),
        cmocka_unit_test_teardown(test_api_role_without_createrole,
                                  harness_kill_leftovers),
        cmocka_unit_test_teardown(test_api_role_only_reads,
                                  harness_kill_leftovers),
        cmocka_unit_test_teardown(
            test_sync_bumps_the_version_and_fills_the_breakdown,
            harness_kill_leftovers),
        cmocka_unit_test_teardown(test_failed_day_keeps_the_version,
                                  harness_kill_leftovers),
        cmocka_unit_test_teardown(test_sync_jobs_hold_the_default_jobs,
                                  harness_kill_leftovers),
        cmocka_unit_test_teardown(test_merged_windows_keep_the_breakdown,
                                  harness_kill_leftovers),
    };
    return cmocka_run_group_tests_name("read schema", tests, NULL, NULL) == 0
               ? 0
               : 1;
}
