/*
 * Integration tests: the real worker and API against a private PostgreSQL
 * and the upstream simulator, every figure compared with the simulator's
 * own ground truth. Started by tests/integration/run.sh.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <math.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

/* The October days the tests sync: empty ones, real ones, and 10-16,
 * the simulator's discrepancy day. */
static const char *const october_days[] = {
    "2025-10-01", "2025-10-02", "2025-10-03", "2025-10-04",
    "2025-10-05", "2025-10-06", "2025-10-07", "2025-10-16",
};
#define N_OCTOBER_DAYS (sizeof(october_days) / sizeof(october_days[0]))

static double rate(json_int_t num, json_int_t den)
{
    return round(10000.0 * (double)num / (double)den) / 100.0;
}

/* A rate field: null when den is 0, else num/den as a rounded percentage. */
static void assert_rate(json_t *row, const char *key, json_int_t num,
                        json_int_t den)
{
    json_t *v = json_object_get(row, key);
    if (den == 0) {
        assert_true(json_is_null(v));
        return;
    }
    if (!json_is_number(v))
        fail_msg("\"%s\" is not a number", key);
    double got = json_number_value(v);
    if (fabs(got - rate(num, den)) > 1e-9)
        fail_msg("%s: %.4f, wanted %.2f", key, got, rate(num, den));
}

/* Every figure of an API day row against the simulator's truth. */
static void assert_day_matches(json_t *row, json_t *t)
{
    const char *keys[] = {"calls_dialled", "calls_answered", "success_orders",
                          "grade_9",       "grade_1",        "active_seats"};
    const char *date = json_string_value(json_object_get(t, "date"));
    assert_string_equal(json_string_value(json_object_get(row, "date")), date);
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        json_int_t got = int_of(row, keys[i]), want = int_of(t, keys[i]);
        if (got != want)
            fail_msg("%s %s: %lld, wanted %lld", date, keys[i], (long long)got,
                     (long long)want);
    }
    assert_rate(row, "answer_rate", int_of(t, "calls_answered"),
                int_of(t, "calls_dialled"));
    assert_rate(row, "success_rate", int_of(t, "success_orders"),
                int_of(t, "calls_answered"));
    assert_true(json_is_true(json_object_get(row, "synced")));
    /* A day still in progress is never complete, nor flagged. */
    if (json_is_true(json_object_get(row, "complete")))
        assert_true(json_equal(json_object_get(row, "discrepancy"),
                               json_object_get(t, "discrepancy")));
    else
        assert_true(json_is_false(json_object_get(row, "discrepancy")));
}

static void assert_complete(json_t *row, bool complete)
{
    if (json_is_true(json_object_get(row, "complete")) != complete)
        fail_msg("%s: complete is not %s",
                 json_string_value(json_object_get(row, "date")),
                 complete ? "true" : "false");
}

static json_t *find_day(json_t *days, const char *date)
{
    size_t i;
    json_t *row;
    json_array_foreach(days, i, row)
    {
        if (strcmp(json_string_value(json_object_get(row, "date")), date) == 0)
            return row;
    }
    fail_msg("no row for %s", date);
    return NULL;
}

static void test_config_errors_exit_2(void **state)
{
    (void)state;
    char exe[512];
    snprintf(exe, sizeof(exe), "%s/callstats-worker", it.bin);
    char *argv[] = {exe, "migrate", NULL};
    const char *no_db[] = {"DATABASE_URL=", NULL};
    assert_int_equal(run("config-worker", argv, no_db), 2);
    char *log = output_of("config-worker", "log");
    assert_non_null(strstr(log, "DATABASE_URL"));
    int lines = 0;
    for (char *c = log; *c; c++)
        lines += *c == '\n';
    assert_int_equal(lines, 1);
    free(log);

    snprintf(exe, sizeof(exe), "%s/callstats-api", it.bin);
    char dburl[600];
    snprintf(dburl, sizeof(dburl), "DATABASE_URL=%s", it.db);
    const char *bad_listen[] = {dburl, "CALLSTATS_LISTEN=8080", NULL};
    char *api_argv[] = {exe, NULL};
    assert_int_equal(run("config-api", api_argv, bad_listen), 2);
    log = output_of("config-api", "log");
    assert_non_null(strstr(log, "CALLSTATS_LISTEN: \"8080\""));
    free(log);

    const char *bad_tz[] = {dburl, "CALLSTATS_TZ=Mars/Olympus", NULL};
    assert_int_equal(run("config-api-tz", api_argv, bad_tz), 2);
    log = output_of("config-api-tz", "log");
    assert_non_null(strstr(log, "CALLSTATS_TZ"));
    assert_non_null(strstr(log, "Mars/Olympus"));
    free(log);
}

static void test_migrate_twice_changes_nothing(void **state)
{
    (void)state;
    char *args[] = {"migrate", NULL};
    assert_int_equal(worker("migrate-1", it.sim_url, NULL, args), 0);
    long long applied = db_count("SELECT count(*) FROM schema_migrations");
    assert_true(applied >= 1);
    char *first = db_text("SELECT string_agg(version || ':' || applied_at, ',' "
                          "ORDER BY version) FROM schema_migrations");
    assert_int_equal(worker("migrate-2", it.sim_url, NULL, args), 0);
    char *second = db_text("SELECT string_agg(version || ':' || applied_at, "
                           "',' ORDER BY version) FROM schema_migrations");
    assert_string_equal(first, second);
    assert_int_equal(db_count("SELECT count(*) FROM pg_tables WHERE "
                              "tablename IN ('account_stats', 'day_totals', "
                              "'task_stats', 'call_records', 'day_grades', "
                              "'sync_state')"),
                     6);
    free(first);
    free(second);
}

static void test_api_starts_on_the_read_only_role(void **state)
{
    (void)state;
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "%s api-role %s/pg", it.pg_private, it.work);
    FILE *p = popen(cmd, "r");
    assert_non_null(fgets(it.reader_db, sizeof(it.reader_db), p));
    assert_int_equal(pclose(p), 0);
    it.reader_db[strcspn(it.reader_db, "\n")] = '\0';
    assert_non_null(strstr(it.reader_db, "user=callstats_api"));

    snprintf(it.api_url, sizeof(it.api_url), "http://127.0.0.1:%d",
             it.ports[0]);
    start_api("api", it.ports[0], it.reader_db, &it.api_pid);
    json_t *health = api_json("/api/health", 200);
    assert_true(json_is_true(json_object_get(health, "success")));
    assert_string_equal(json_string_value(json_object_get(health, "status")),
                        "ok");
    json_decref(health);

    /* The role cannot write, whatever the API would try, even in a
     * transaction it declares read-write. */
    PGconn *conn = PQconnectdb(it.reader_db);
    assert_int_equal(PQstatus(conn), CONNECTION_OK);
    PGresult *res = PQexec(conn, "START TRANSACTION READ WRITE; "
                                 "INSERT INTO day_totals VALUES "
                                 "('1999-01-01', 1, 1, 1)");
    assert_int_equal(PQresultStatus(res), PGRES_FATAL_ERROR);
    assert_non_null(strstr(PQerrorMessage(conn), "permission denied"));
    PQclear(res);
    PQfinish(conn);
}

static void test_sync_october_days(void **state)
{
    (void)state;
    assert_int_equal(
        sync_days("sync-oct", it.sim_url, "2025-10-01", "2025-10-07", NULL), 0);
    char *out = output_of("sync-oct", "out");
    int ok_lines = 0;
    for (char *p = out; (p = strstr(p, "result=ok")); p++)
        ok_lines++;
    assert_int_equal(ok_lines, 14); /* 7 days, 2 sources */
    assert_non_null(strstr(out, "2025-10-04"));
    free(out);
    assert_int_equal(
        sync_days("sync-16", it.sim_url, "2025-10-16", "2025-10-16", NULL), 0);
}

static void test_days_match_the_simulator(void **state)
{
    (void)state;
    json_t *doc =
        api_json("/api/stats/daily?from=2025-10-01&to=2025-10-16", 200);
    assert_true(json_is_true(json_object_get(doc, "success")));
    json_t *days = json_object_get(json_object_get(doc, "data"), "days");
    assert_int_equal(json_array_size(days), 16);
    for (size_t i = 0; i < N_OCTOBER_DAYS; i++) {
        json_t *t = truth(october_days[i]);
        assert_day_matches(find_day(days, october_days[i]), t);
        assert_complete(find_day(days, october_days[i]), true);
        json_decref(t);
    }
    /* 2025-10-10 was not synced: no figures, not zeros. */
    json_t *gap = find_day(days, "2025-10-10");
    assert_true(json_is_false(json_object_get(gap, "synced")));
    assert_true(json_is_null(json_object_get(gap, "calls_dialled")));
    assert_true(json_is_null(json_object_get(gap, "grade_9")));
    json_decref(doc);
}

/* The API's row of one day; *doc holds it, for the caller to free. */
static json_t *one_day(const char *date, json_t **doc)
{
    char path[96];
    snprintf(path, sizeof(path), "/api/stats/daily?from=%s&to=%s", date, date);
    *doc = api_json(path, 200);
    json_t *days = json_object_get(json_object_get(*doc, "data"), "days");
    assert_int_equal(json_array_size(days), 1);
    return json_array_get(days, 0);
}

/* The figures of shared/data for 2025-10-04, as its dashboard showed. */
/* day_summary, which the API reads, holds for every synced day exactly
 * what the tables it sums hold. */
static void test_day_summary_matches_tables(void **state)
{
    (void)state;
    assert_true(db_count("SELECT count(*) FROM day_summary") >= 8);
    assert_int_equal(
        db_count("SELECT count(DISTINCT stat_date) FROM sync_state"),
        db_count("SELECT count(*) FROM day_summary"));
    assert_int_equal(
        db_count(
            "SELECT count(*) FROM day_summary s"
            " LEFT JOIN day_totals t USING (stat_date)"
            " WHERE s.calls_dialled <> coalesce(t.calls_dialled, 0)"
            "  OR s.calls_answered <> coalesce(t.calls_answered, 0)"
            "  OR s.success_orders <> coalesce(t.success_orders, 0)"
            "  OR s.active_accounts <> (SELECT count(*) FROM account_stats a"
            "     WHERE a.stat_date = s.stat_date AND a.calls_dialled > 0)"
            "  OR s.records <> (SELECT coalesce(sum(records), 0)"
            "     FROM day_grades g WHERE g.stat_date = s.stat_date)"
            "  OR s.grade_9 <> (SELECT coalesce(sum(records), 0)"
            "     FROM day_grades g WHERE g.stat_date = s.stat_date"
            "     AND g.grade_class = 'grade_9')"
            "  OR s.stats_synced_at IS DISTINCT FROM (SELECT synced_at"
            "     FROM sync_state x WHERE x.stat_date = s.stat_date"
            "     AND x.source = 'stats')"
            "  OR s.calls_synced_at IS DISTINCT FROM (SELECT synced_at"
            "     FROM sync_state x WHERE x.stat_date = s.stat_date"
            "     AND x.source = 'calls')"),
        0);
    /* The busiest real day, as the simulator replays it. */
    assert_int_equal(db_count("SELECT records FROM day_summary"
                              " WHERE stat_date = '2025-10-16'"),
                     94305);
}

static void test_real_day_figures(void **state)
{
    (void)state;
    json_t *doc = NULL;
    json_t *row = one_day("2025-10-04", &doc);
    assert_int_equal(int_of(row, "calls_dialled"), 29014);
    assert_int_equal(int_of(row, "calls_answered"), 5290);
    assert_int_equal(int_of(row, "success_orders"), 8);
    assert_true(fabs(json_number_value(json_object_get(row, "answer_rate")) -
                     18.23) < 1e-9);
    assert_true(fabs(json_number_value(json_object_get(row, "success_rate")) -
                     0.15) < 1e-9);
    assert_int_equal(int_of(row, "grade_9") + int_of(row, "grade_1"), 8);
    assert_true(json_is_false(json_object_get(row, "discrepancy")));
    json_decref(doc);
}

static void test_day_without_calls_reads_zero(void **state)
{
    (void)state;
    json_t *doc = NULL;
    json_t *row = one_day("2025-10-01", &doc);
    assert_true(json_is_true(json_object_get(row, "synced")));
    assert_int_equal(int_of(row, "calls_dialled"), 0);
    assert_int_equal(int_of(row, "calls_answered"), 0);
    assert_int_equal(int_of(row, "success_orders"), 0);
    assert_int_equal(int_of(row, "grade_9"), 0);
    assert_int_equal(int_of(row, "grade_1"), 0);
    assert_int_equal(int_of(row, "active_seats"), 0);
    assert_true(json_is_null(json_object_get(row, "answer_rate")));
    assert_true(json_is_null(json_object_get(row, "success_rate")));
    json_decref(doc);
}

static void test_discrepancy_day(void **state)
{
    (void)state;
    json_t *t = truth("2025-10-16");
    assert_true(json_is_true(json_object_get(t, "discrepancy")));
    json_decref(t);
    json_t *doc = NULL;
    json_t *row = one_day("2025-10-16", &doc);
    assert_int_equal(int_of(row, "calls_dialled"), 94305);
    assert_int_equal(int_of(row, "success_orders"), 34);
    assert_int_not_equal(int_of(row, "grade_9") + int_of(row, "grade_1"), 34);
    assert_true(json_is_true(json_object_get(row, "discrepancy")));
    json_decref(doc);
}

static void test_month_view(void **state)
{
    (void)state;
    json_t *doc = api_json("/api/stats/month?month=2025-10", 200);
    json_t *data = json_object_get(doc, "data");
    json_t *days = json_object_get(data, "days");
    assert_int_equal(json_array_size(days), 31);
    json_int_t dialled = 0, answered = 0, success = 0, g9 = 0, g1 = 0;
    int working = 0;
    for (size_t i = 0; i < N_OCTOBER_DAYS; i++) {
        json_t *t = truth(october_days[i]);
        assert_day_matches(find_day(days, october_days[i]), t);
        dialled += int_of(t, "calls_dialled");
        answered += int_of(t, "calls_answered");
        success += int_of(t, "success_orders");
        g9 += int_of(t, "grade_9");
        g1 += int_of(t, "grade_1");
        working += int_of(t, "calls_dialled") > 0;
        json_decref(t);
    }
    json_t *totals = json_object_get(data, "totals");
    assert_int_equal(int_of(totals, "calls_dialled"), dialled);
    assert_int_equal(int_of(totals, "calls_answered"), answered);
    assert_int_equal(int_of(totals, "success_orders"), success);
    assert_int_equal(int_of(totals, "grade_9"), g9);
    assert_int_equal(int_of(totals, "grade_1"), g1);
    assert_int_equal(int_of(totals, "working_days"), working);
    assert_int_equal(working, 4); /* 10-04, 10-05, 10-07, 10-16 */
    assert_rate(totals, "answer_rate", answered, dialled);
    assert_rate(totals, "success_rate", success, answered);
    assert_rate(totals, "avg_calls_dialled", dialled, 100 * working);
    assert_rate(totals, "avg_success_orders", success, 100 * working);
    json_decref(doc);
}

static void test_today_and_yesterday(void **state)
{
    (void)state;
    char today[16], yesterday[16], month[16], path[64];
    time_t now = (time_t)atoll(it.now);
    time_t then = now - 86400;
    struct tm tm;
    setenv("TZ", "Asia/Shanghai", 1);
    tzset();
    localtime_r(&now, &tm);
    strftime(today, sizeof(today), "%Y-%m-%d", &tm);
    strftime(month, sizeof(month), "%Y-%m", &tm);
    localtime_r(&then, &tm);
    strftime(yesterday, sizeof(yesterday), "%Y-%m-%d", &tm);
    assert_int_equal(
        sync_days("sync-recent", it.sim_url, yesterday, today, NULL), 0);

    snprintf(path, sizeof(path), "/api/stats/month?month=%s", month);
    json_t *doc = api_json(path, 200);
    json_t *data = json_object_get(doc, "data");
    json_t *t = truth(today);
    assert_day_matches(json_object_get(data, "today"), t);
    assert_day_matches(find_day(json_object_get(data, "days"), today), t);
    assert_complete(json_object_get(data, "today"), false);
    json_decref(t);
    t = truth(yesterday);
    assert_day_matches(json_object_get(data, "yesterday"), t);
    assert_complete(json_object_get(data, "yesterday"), true);
    json_decref(t);
    json_decref(doc);
}

static void test_grade_stats(void **state)
{
    (void)state;
    json_t *t = truth("2025-10-16");
    json_t *doc = api_json("/api/stats/grade-stats?date=2025-10-16", 200);
    json_t *data = json_object_get(doc, "data");
    assert_string_equal(json_string_value(json_object_get(data, "date")),
                        "2025-10-16");
    assert_int_equal(int_of(data, "grade_9"), int_of(t, "grade_9"));
    assert_int_equal(int_of(data, "grade_1"), int_of(t, "grade_1"));
    assert_int_equal(int_of(data, "total_success"),
                     int_of(t, "grade_9") + int_of(t, "grade_1"));
    assert_int_equal(int_of(data, "total_records"), int_of(t, "records"));
    assert_true(json_is_string(json_object_get(data, "calculated_at")));
    assert_true(json_is_true(json_object_get(data, "from_cache")));
    assert_true(json_is_number(json_object_get(data, "elapsed_time")));
    json_decref(doc);
    json_decref(t);

    doc = api_json("/api/stats/grade-stats?date=2025-10-20", 404);
    assert_true(json_is_false(json_object_get(doc, "success")));
    assert_string_equal(json_string_value(json_object_get(doc, "code")),
                        "not_synced");
    assert_non_null(
        strstr(json_string_value(json_object_get(doc, "error")), "2025-10-20"));
    json_decref(doc);
}

static void test_csv(void **state)
{
    (void)state;
    long status;
    char *body = http_get(it.api_url,
                          "/api/stats/daily.csv?from=2025-10-03&to=2025-10-05",
                          &status, NULL);
    assert_int_equal(status, 200);
    int lines = 0;
    for (char *p = body; *p; p++)
        lines += *p == '\n';
    assert_int_equal(lines, 4); /* the header and three days */
    /* The byte order mark, so that Excel reads UTF-8. */
    assert_true(memcmp(body, "\xEF\xBB\xBF", 3) == 0);
    assert_true(strncmp(body + 3, "date,", 5) == 0);
    char *row = strstr(body, "\n2025-10-04,");
    assert_non_null(row);
    assert_non_null(strstr(row, ",29014,5290,18.23,8,"));
    free(body);
}

/* Each bad request: its path, the wanted status and error code. */
static void test_bad_input(void **state)
{
    (void)state;
    const struct {
        const char *path;
        long status;
        const char *code;
        const char *named; /* what the message must name */
    } cases[] = {
        {"/api/stats/daily?from=2025-02-30&to=2025-03-01", 400, "invalid_date",
         "2025-02-30"},
        {"/api/stats/daily?from=2025-10-01", 400, "missing_parameter", "to"},
        {"/api/stats/daily?from=2025-10-09&to=2025-10-01", 400, "invalid_range",
         "2025-10-09"},
        {"/api/stats/daily?from=2024-01-01&to=2025-10-01", 400,
         "range_too_long", "366"},
        {"/api/stats/daily?from=20251001&to=2025-10-02", 400, "invalid_date",
         "20251001"},
        {"/api/stats/daily.csv?from=x&to=2025-10-02", 400, "invalid_date", "x"},
        {"/api/stats/month?month=2025-13", 400, "invalid_month", "2025-13"},
        {"/api/stats/month", 400, "missing_parameter", "month"},
        {"/api/stats/grade-stats?date=yesterday", 400, "invalid_date",
         "yesterday"},
        {"/api/stats/grade-stats", 400, "missing_parameter", "date"},
        {"/api/nothing-here", 404, "not_found", "/api/nothing-here"},
        {"/api/stats/daily?from=2025-10-01%00junk&to=2025-10-02", 400,
         "invalid_parameter", "NUL"},
        {"/api/stats/daily?from=2025-10-01&to=2025-10-02&from=x", 400,
         "invalid_parameter", "more than once"},
        {"/api/stats/daily?from=2025-10-01%27%20OR%201=1&to=2025-10-02", 400,
         "invalid_date", "from"},
        {"/api/stats/month?month=2025-10-0000000000000000000000000000000000000"
         "000000000000000000000000000000000000000000000000000000000000000000",
         400, "invalid_parameter", "month"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *doc = api_json(cases[i].path, cases[i].status);
        assert_true(json_is_false(json_object_get(doc, "success")));
        const char *code = json_string_value(json_object_get(doc, "code"));
        const char *msg = json_string_value(json_object_get(doc, "error"));
        if (code == NULL || strcmp(code, cases[i].code) != 0)
            fail_msg("%s: code %s, wanted %s", cases[i].path, code,
                     cases[i].code);
        if (msg == NULL || strstr(msg, cases[i].named) == NULL)
            fail_msg("%s: message \"%s\" does not name \"%s\"", cases[i].path,
                     msg, cases[i].named);
        json_decref(doc);
    }
    long status;
    free(http_get(it.api_url, "/api/health", &status, "POST"));
    assert_int_equal(status, 405);
}

/* What civetweb cannot parse still gets a JSON answer under a fixed
 * status line: nothing of the request reaches the response head. */
static void test_malformed_http_gets_json(void **state)
{
    (void)state;
    const char *requests[] = {
        "GET /a b c\r\nSet-Cookie: evil=1\r\nX-Injected: yes\r\n\r\n",
        "GET /api/health HTTP/2.0\r\n\r\n",
        "BREW /api/health HTTP/1.1\r\nHost: x\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof(requests) / sizeof(requests[0]); i++) {
        char *answer = raw_request(it.ports[0], requests[i]);
        if (strncmp(answer, "HTTP/1.1 4", 10) != 0 &&
            strncmp(answer, "HTTP/1.1 5", 10) != 0)
            fail_msg("request %zu: answer starts \"%.40s\"", i, answer);
        char *body = strstr(answer, "\r\n\r\n");
        assert_non_null(body);
        *body = '\0';
        assert_null(strstr(answer, "evil"));
        assert_null(strstr(answer, "X-Injected"));
        json_t *doc = parse_or_fail(body + 4, "error body");
        assert_true(json_is_false(json_object_get(doc, "success")));
        assert_true(json_is_string(json_object_get(doc, "code")));
        json_decref(doc);
        free(answer);
    }
    /* A head over the limit: 400, and the message says what the limit
     * is. */
    size_t size = 10000;
    char *big = malloc(size);
    assert_non_null(big);
    int n = snprintf(big, size, "GET /api/health HTTP/1.1\r\nX-Long: ");
    memset(big + n, 'a', size - (size_t)n - 5);
    memcpy(big + size - 5, "\r\n\r\n", 5);
    char *answer = raw_request(it.ports[0], big);
    free(big);
    if (strncmp(answer, "HTTP/1.1 400", 12) != 0)
        fail_msg("long head: answer starts \"%.40s\"", answer);
    char *body = strstr(answer, "\r\n\r\n");
    assert_non_null(body);
    json_t *doc = parse_or_fail(body + 4, "error body");
    assert_non_null(strstr(json_string_value(json_object_get(doc, "error")),
                           "exceed 8192 bytes"));
    json_decref(doc);
    free(answer);
}

static void test_no_personal_data_stored_or_logged(void **state)
{
    (void)state;
    assert_int_equal(db_count("SELECT count(*) FROM information_schema.columns "
                              "WHERE table_name = 'call_records' AND "
                              "column_name ~* 'phone|params|remark|ext$'"),
                     0);
    assert_true(db_count("SELECT count(*) FROM call_records") > 100000);
    /* No stored text holds a mobile number. */
    assert_int_equal(db_count("SELECT count(*) FROM call_records r WHERE "
                              "concat_ws(' ', r.record_id, r.task_name, "
                              "r.device_name, r.cc_id, r.company_id, "
                              "r.province, r.city, r.grade, r.audio) "
                              "~ '1[3-9][0-9]{9}'"),
                     0);
    const char *logs[] = {"sync-oct", "sync-16", "sync-recent", "api"};
    for (size_t i = 0; i < sizeof(logs) / sizeof(logs[0]); i++) {
        char *log = output_of(logs[i], "log");
        assert_null(strstr(log, "demo-password"));
        assert_null(strstr(log, "password="));
        free(log);
    }
}

static void test_faulty_upstream_ends_with_same_figures(void **state)
{
    (void)state;
    char *before = db_text("SELECT synced_at FROM sync_state WHERE "
                           "stat_date = '2025-10-05' AND source = 'calls'");
    const char *env[] = {"CALLSTATS_HTTP_RETRIES=6", NULL};
    assert_int_equal(sync_days("sync-faults", it.fault_sim_url, "2025-10-04",
                               "2025-10-05", env),
                     0);
    char *after = db_text("SELECT synced_at FROM sync_state WHERE "
                          "stat_date = '2025-10-05' AND source = 'calls'");
    assert_string_not_equal(before, after);
    /* The faults did happen, and were ridden out. */
    char *log = output_of("sync-faults", "log");
    assert_non_null(strstr(log, "error=\"HTTP 500\""));
    assert_non_null(strstr(log, "error=\"HTTP 429\""));
    assert_non_null(strstr(log, "upstream token no longer valid"));
    free(log);
    free(before);
    free(after);
    json_t *doc =
        api_json("/api/stats/daily?from=2025-10-04&to=2025-10-05", 200);
    json_t *days = json_object_get(json_object_get(doc, "data"), "days");
    const char *dates[] = {"2025-10-04", "2025-10-05"};
    for (size_t i = 0; i < 2; i++) {
        json_t *t = truth(dates[i]);
        assert_day_matches(find_day(days, dates[i]), t);
        json_decref(t);
    }
    json_decref(doc);
    assert_int_equal(db_count("SELECT count(*) FROM call_records WHERE "
                              "stat_date = '2025-10-04'"),
                     29014);
}

/* Two workers writing the same day take turns: both succeed, and the day
 * is whole. */
static void test_two_syncs_of_one_day_take_turns(void **state)
{
    (void)state;
    char *args[] = {"sync", "--from", "2025-10-07", "--to", "2025-10-07", NULL};
    pid_t a = start_worker("sync-twin-a", it.sim_url, NULL, args);
    pid_t b = start_worker("sync-twin-b", it.sim_url, NULL, args);
    assert_int_equal(wait_exit(a), 0);
    assert_int_equal(wait_exit(b), 0);
    json_t *t = truth("2025-10-07");
    assert_int_equal(db_count("SELECT count(*) FROM call_records WHERE "
                              "stat_date = '2025-10-07'"),
                     int_of(t, "records"));
    assert_int_equal(db_count("SELECT sum(records) FROM day_grades WHERE "
                              "stat_date = '2025-10-07'"),
                     int_of(t, "records"));
    json_decref(t);
}

static void test_failed_sync_keeps_the_old_day(void **state)
{
    (void)state;
    char *before = db_text("SELECT string_agg(source || synced_at || "
                           "records_written, ',' ORDER BY source) FROM "
                           "sync_state WHERE stat_date = '2025-10-04'");
    char dead[64];
    snprintf(dead, sizeof(dead), "http://127.0.0.1:%d", it.ports[2]);
    const char *env[] = {"CALLSTATS_HTTP_RETRIES=1", NULL};
    assert_int_equal(
        sync_days("sync-dead", dead, "2025-10-04", "2025-10-04", env), 1);
    char *out = output_of("sync-dead", "out");
    assert_non_null(strstr(out, "result=failed"));
    free(out);
    char *after = db_text("SELECT string_agg(source || synced_at || "
                          "records_written, ',' ORDER BY source) FROM "
                          "sync_state WHERE stat_date = '2025-10-04'");
    assert_string_equal(before, after);
    free(before);
    free(after);
    assert_int_equal(db_count("SELECT count(*) FROM call_records WHERE "
                              "stat_date = '2025-10-04'"),
                     29014);
    assert_int_equal(db_count("SELECT calls_dialled FROM day_totals WHERE "
                              "stat_date = '2025-10-04'"),
                     29014);
}

static void test_database_down_gives_503(void **state)
{
    (void)state;
    char db[600], url[64];
    pid_t pid;
    snprintf(db, sizeof(db), "host=%s/no-such-dir dbname=callstats", it.work);
    start_api("api-nodb", it.ports[1], db, &pid);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", it.ports[1]);
    long status;
    char *body = http_get(url, "/api/health", &status, NULL);
    assert_int_equal(status, 200);
    free(body);
    body = http_get(url, "/api/stats/month?month=2025-10", &status, NULL);
    assert_int_equal(status, 503);
    json_t *doc = parse_or_fail(body, "503 body");
    assert_string_equal(json_string_value(json_object_get(doc, "code")),
                        "database_unavailable");
    json_decref(doc);
    free(body);
    kill(pid, SIGTERM);
    assert_int_equal(wait_exit(pid), 0);
}

/* A stop lets the requests in flight finish: one held up by a lock still
 * gets its whole answer, and the API then exits 0. */
static void test_stop_answers_requests_in_flight(void **state)
{
    (void)state;
    char url[64];
    pid_t api;
    start_api("api-drain", it.ports[1], it.reader_db, &api);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", it.ports[1]);
    PGconn *locker = PQconnectdb(it.db);
    PQclear(PQexec(locker, "BEGIN"));
    PQclear(PQexec(locker, "LOCK TABLE day_totals IN ACCESS EXCLUSIVE MODE"));
    pid_t client = fork();
    if (client == 0) {
        /* No cmocka assertion here: a failure must only end this child. */
        char full[128];
        snprintf(full, sizeof(full), "%s/api/stats/month?month=2025-10", url);
        struct body b = {calloc(1, 1), 0};
        long status = 0;
        CURL *curl = curl_easy_init();
        curl_easy_setopt(curl, CURLOPT_URL, full);
        curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
        curl_easy_setopt(curl, CURLOPT_WRITEDATA, &b);
        curl_easy_setopt(curl, CURLOPT_TIMEOUT, 30L);
        CURLcode rc = curl_easy_perform(curl);
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
        json_t *doc = json_loads(b.data, 0, NULL);
        _exit(rc == CURLE_OK && status == 200 &&
                      json_is_true(json_object_get(doc, "success"))
                  ? 0
                  : 1);
    }
    usleep(700 * 1000); /* the request is waiting on the lock */
    kill(api, SIGTERM);
    usleep(700 * 1000);
    PQclear(PQexec(locker, "COMMIT"));
    PQfinish(locker);
    assert_int_equal(wait_exit(client), 0);
    assert_int_equal(wait_exit(api), 0);
}

/* Signals every server process of the API's connections. */
static void signal_api_backends(int sig)
{
    PGconn *conn = PQconnectdb(it.db);
    PGresult *res = PQexec(conn, "SELECT pid FROM pg_stat_activity WHERE "
                                 "application_name = 'callstats-api'");
    assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
    assert_true(PQntuples(res) > 0);
    for (int i = 0; i < PQntuples(res); i++)
        kill((pid_t)atoi(PQgetvalue(res, i, 0)), sig);
    PQclear(res);
    PQfinish(conn);
}

/* A database server that stops answering (a frozen host) is not waited
 * for: the request gets 503 at the query deadline, before the client's own
 * time-out (30 s) would end it, and the next one,
 * once the server is back, gets its figures on a new connection. */
static void test_frozen_database_gives_503(void **state)
{
    (void)state;
    char url[64];
    pid_t api;
    start_api("api-frozen", it.ports[1], it.reader_db, &api);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", it.ports[1]);
    long status;
    free(http_get(url, "/api/stats/month?month=2025-10", &status, NULL));
    assert_int_equal(status, 200);
    signal_api_backends(SIGSTOP);
    /* A month not asked before: the cache cannot answer it. */
    char *body = http_get(url, "/api/stats/month?month=2025-09", &status, NULL);
    signal_api_backends(SIGCONT);
    assert_int_equal(status, 503);
    assert_non_null(strstr(body, "database_unavailable"));
    free(body);
    free(http_get(url, "/api/stats/month?month=2025-10", &status, NULL));
    assert_int_equal(status, 200);
    kill(api, SIGTERM);
    assert_int_equal(wait_exit(api), 0);
}

static void test_daemon_stops_cleanly_on_sigterm(void **state)
{
    (void)state;
    char *args[] = {"run", NULL};
    pid_t pid = start_worker("daemon", it.sim_url, NULL, args);
    assert_true(wait_log("daemon", "callstats-worker ready"));
    kill(pid, SIGTERM);
    assert_int_equal(wait_exit(pid), 0);
    char *log = output_of("daemon", "log");
    assert_non_null(strstr(log, "SIGTERM"));
    free(log);
}

static int stop_api(void **state)
{
    (void)state;
    if (it.api_pid > 0) {
        kill(it.api_pid, SIGTERM);
        wait_exit(it.api_pid);
    }
    return 0;
}

int main(void)
{
    harness_init();
    curl_global_init(CURL_GLOBAL_DEFAULT);

    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_errors_exit_2),
        cmocka_unit_test(test_migrate_twice_changes_nothing),
        cmocka_unit_test(test_api_starts_on_the_read_only_role),
        cmocka_unit_test(test_sync_october_days),
        cmocka_unit_test(test_days_match_the_simulator),
        cmocka_unit_test(test_day_summary_matches_tables),
        cmocka_unit_test(test_real_day_figures),
        cmocka_unit_test(test_day_without_calls_reads_zero),
        cmocka_unit_test(test_discrepancy_day),
        cmocka_unit_test(test_month_view),
        cmocka_unit_test(test_today_and_yesterday),
        cmocka_unit_test(test_grade_stats),
        cmocka_unit_test(test_csv),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_malformed_http_gets_json),
        cmocka_unit_test(test_no_personal_data_stored_or_logged),
        cmocka_unit_test(test_faulty_upstream_ends_with_same_figures),
        cmocka_unit_test(test_two_syncs_of_one_day_take_turns),
        cmocka_unit_test(test_failed_sync_keeps_the_old_day),
        cmocka_unit_test(test_database_down_gives_503),
        cmocka_unit_test(test_stop_answers_requests_in_flight),
        cmocka_unit_test(test_frozen_database_gives_503),
        cmocka_unit_test(test_daemon_stops_cleanly_on_sigterm),
    };
    int failed =
        cmocka_run_group_tests_name("integration", tests, NULL, stop_api);
    curl_global_cleanup();
    return failed == 0 ? 0 : 1;
}
