/*
 * Integration tests of the per-task, per-seat and per-grade tables and of
 * the sync status: days synced from the simulator, the API on the
 * read-only role, every sum checked against the day's own figures from
 * /api/stats/daily and the simulator's truth. Started by run.sh.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <math.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "harness.h"

#define BOM "\xEF\xBB\xBF"

/* Real October days of the simulator: 29,014 calls, and 94,305 with a
 * discrepancy. A day never synced. */
#define DAY       "2025-10-04"
#define BIG_DAY   "2025-10-16"
#define NEVER_DAY "2025-10-20"

/* The API of these tests leaves out a real seat besides admin, so that
 * leaving out is seen whatever the day. */
#define INTERNAL      "admin,seat05"
#define INTERNAL_LIST "('admin', 'seat05')"

static char api_db[600];
static pid_t api_pid;
static char days[4][16]; /* today, yesterday, 2 and 3 days ago */

/* An answer with the headers the tests read. */
struct reply {
    long status;
    char *body;
    size_t len;
    char content_type[128];
    char disposition[256];
};

static size_t keep_header(char *buf, size_t size, size_t n, void *userdata)
{
    struct reply *r = userdata;
    static const char name[] = "Content-Disposition:";
    size_t len = size * n;
    if (len > sizeof(name) && strncasecmp(buf, name, sizeof(name) - 1) == 0)
        snprintf(r->disposition, sizeof(r->disposition), "%.*s",
                 (int)(len - sizeof(name) + 1), buf + sizeof(name) - 1);
    return len;
}

/* GETs path from the API with an Accept header (or none). */
static void get(const char *path, const char *accept, struct reply *r)
{
    char url[512], header[160];
    snprintf(url, sizeof(url), "%s%s", it.api_url, path);
    memset(r, 0, sizeof(*r));
    struct body b = {calloc(1, 1), 0};
    struct curl_slist *headers = NULL;
    if (accept != NULL) {
        snprintf(header, sizeof(header), "Accept: %s", accept);
        headers = curl_slist_append(headers, header);
    }
    CURL *curl = curl_easy_init();
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, keep_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 30L);
    CURLcode rc = curl_easy_perform(curl);
    if (rc != CURLE_OK)
        fail_msg("GET %s: %s", url, curl_easy_strerror(rc));
    char *type = NULL;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &r->status);
    curl_easy_getinfo(curl, CURLINFO_CONTENT_TYPE, &type);
    snprintf(r->content_type, sizeof(r->content_type), "%s", type ? type : "");
    curl_easy_cleanup(curl);
    curl_slist_free_all(headers);
    r->body = b.data;
    r->len = b.len;
}

/* The data object of a 200 JSON answer; *doc holds it, to be freed. */
static json_t *data_of(const char *path, json_t **doc)
{
    *doc = api_json(path, 200);
    assert_true(json_is_true(json_object_get(*doc, "success")));
    json_t *data = json_object_get(*doc, "data");
    assert_true(json_is_object(data));
    return data;
}

/* The /api/stats/daily row of one day; *doc holds it, to be freed. */
static json_t *daily_row(const char *date, json_t **doc)
{
    char path[96];
    snprintf(path, sizeof(path), "/api/stats/daily?from=%s&to=%s", date, date);
    json_t *list = json_object_get(data_of(path, doc), "days");
    assert_int_equal(json_array_size(list), 1);
    return json_array_get(list, 0);
}

/* The sum of an integer field over the rows, nulls counted apart. */
static long long sum_of(json_t *rows, const char *key, size_t *nulls)
{
    long long sum = 0;
    size_t i;
    json_t *row;
    *nulls = 0;
    json_array_foreach(rows, i, row)
    {
        json_t *v = json_object_get(row, key);
        if (json_is_null(v))
            (*nulls)++;
        else
            sum += int_of(row, key);
    }
    return sum;
}

static void assert_sum(json_t *rows, const char *key, long long want)
{
    size_t nulls;
    long long got = sum_of(rows, key, &nulls);
    if (nulls > 0 || got != want)
        fail_msg("%s: sum %lld with %zu nulls, wanted %lld", key, got, nulls,
                 want);
}

static const char *text_of(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    if (!json_is_string(v))
        fail_msg("\"%s\" is not a string", key);
    return json_string_value(v);
}

/* answer_rate of a row: answered / dialled in percent, 2 decimals. */
static void assert_answer_rate(json_t *row)
{
    json_int_t dialled = int_of(row, "calls_dialled");
    json_int_t answered = int_of(row, "calls_answered");
    json_t *rate = json_object_get(row, "answer_rate");
    if (dialled == 0) {
        assert_true(json_is_null(rate));
        return;
    }
    double want = round(10000.0 * (double)answered / (double)dialled) / 100.0;
    if (!json_is_number(rate) || fabs(json_number_value(rate) - want) > 1e-9)
        fail_msg("answer_rate %.4f, wanted %.2f", json_number_value(rate),
                 want);
}

/* Rows in order of calls_dialled, the largest first. */
static void assert_by_calls(json_t *rows)
{
    for (size_t i = 1; i < json_array_size(rows); i++)
        assert_true(int_of(json_array_get(rows, i - 1), "calls_dialled") >=
                    int_of(json_array_get(rows, i), "calls_dialled"));
}

/* Migrates and syncs the days every test reads: two October days, today
 * and yesterday, and the statistics alone of 3 days ago. */
static void test_sync_days(void **state)
{
    (void)state;
    char *migrate[] = {"migrate", NULL};
    assert_int_equal(worker("ep-migrate", it.sim_url, NULL, migrate), 0);
    assert_int_equal(sync_days("ep-sync-day", it.sim_url, DAY, DAY, NULL), 0);
    assert_int_equal(
        sync_days("ep-sync-big-day", it.sim_url, BIG_DAY, BIG_DAY, NULL), 0);
    time_t now = time(NULL);
    for (int i = 0; i < 4; i++)
        platform_day(now - i * 86400, days[i], sizeof(days[i]));
    assert_int_equal(
        sync_days("ep-sync-recent", it.sim_url, days[1], days[0], NULL), 0);
    char *stats_only[] = {"sync",  "--from",   days[3], "--to",
                          days[3], "--source", "stats", NULL};
    assert_int_equal(worker("ep-sync-stats", it.sim_url, NULL, stats_only), 0);
    /* The seat left out as internal did dial on DAY. */
    assert_true(db_count("SELECT calls_dialled FROM account_stats WHERE "
                         "stat_date = '" DAY "' AND username = 'seat05'") > 0);
}

/* The API on the read-only role, leaving out INTERNAL. */
static void test_start_api(void **state)
{
    (void)state;
    char cmd[1024], reader[512];
    snprintf(cmd, sizeof(cmd), "%s api-role %s/pg", it.pg_private, it.work);
    FILE *p = popen(cmd, "r");
    assert_non_null(fgets(reader, sizeof(reader), p));
    assert_int_equal(pclose(p), 0);
    reader[strcspn(reader, "\n")] = '\0';
    /* The role's connection string names the first database: this
     * program's is the one in CS_DB. */
    const char *ours = strstr(it.db, "dbname=");
    char *theirs = strstr(reader, "dbname=");
    assert_non_null(ours);
    assert_non_null(theirs);
    size_t ours_len = strcspn(ours, " ");
    snprintf(api_db, sizeof(api_db), "%.*s%.*s%s", (int)(theirs - reader),
             reader, (int)ours_len, ours, theirs + strcspn(theirs, " "));

    char exe[512], dburl[700], apidb[700], listen[64];
    snprintf(exe, sizeof(exe), "%s/callstats-api", it.bin);
    snprintf(dburl, sizeof(dburl), "DATABASE_URL=%s", api_db);
    snprintf(apidb, sizeof(apidb), "CALLSTATS_API_DATABASE_URL=%s", api_db);
    snprintf(listen, sizeof(listen), "CALLSTATS_LISTEN=127.0.0.1:%d",
             it.ports[0]);
    snprintf(it.api_url, sizeof(it.api_url), "http://127.0.0.1:%d",
             it.ports[0]);
    const char *env[] = {dburl, apidb, listen,
                         "CALLSTATS_INTERNAL_ACCOUNTS=" INTERNAL, NULL};
    char *argv[] = {exe, NULL};
    api_pid = spawn("ep-api", argv, env);
    if (!wait_log("ep-api", "callstats-api ready"))
        fail_msg("the API did not log its ready line");
}

/* Per task: the statistics add up to the day's, sorted, rates right. */
static void check_tasks(const char *date)
{
    char path[96];
    json_t *doc, *day_doc;
    snprintf(path, sizeof(path), "/api/stats/tasks?date=%s", date);
    json_t *data = data_of(path, &doc);
    json_t *day = daily_row(date, &day_doc);
    assert_string_equal(text_of(data, "date"), date);
    assert_string_equal(text_of(data, "stats_synced_at"),
                        text_of(day, "stats_synced_at"));
    assert_string_equal(text_of(data, "grades_synced_at"),
                        text_of(day, "grades_synced_at"));
    json_t *tasks = json_object_get(data, "tasks");
    char sql[128];
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM task_stats WHERE stat_date = '%s'", date);
    /* Without day_breakdown, the tasks are those of the statistics;
     * with it, the same tasks (test_task_grades_add_up_to_the_day). */
    assert_int_equal(json_array_size(tasks), db_count(sql));
    assert_true(json_array_size(tasks) > 1);
    assert_sum(tasks, "calls_dialled", int_of(day, "calls_dialled"));
    assert_sum(tasks, "calls_answered", int_of(day, "calls_answered"));
    assert_sum(tasks, "success_orders", int_of(day, "success_orders"));
    assert_by_calls(tasks);
    size_t i;
    json_t *row;
    json_array_foreach(tasks, i, row)
    {
        assert_true(strlen(text_of(row, "task_id")) > 0);
        assert_answer_rate(row);
    }
    json_decref(doc);
    json_decref(day_doc);
}

static void test_tasks_add_up_to_the_day(void **state)
{
    (void)state;
    check_tasks(DAY);
    check_tasks(BIG_DAY);
}

/* Per task: the 9-yuan and 1-yuan orders of the call records add up to
 * the day's, and every task has its name. */
static void test_task_grades_add_up_to_the_day(void **state)
{
    (void)state;
    assert_true(db_count("SELECT count(*) FROM day_breakdown") > 0);
    const char *dates[] = {DAY, BIG_DAY};
    for (size_t d = 0; d < 2; d++) {
        char path[96];
        json_t *doc, *day_doc;
        snprintf(path, sizeof(path), "/api/stats/tasks?date=%s", dates[d]);
        json_t *tasks = json_object_get(data_of(path, &doc), "tasks");
        json_t *day = daily_row(dates[d], &day_doc);
        assert_sum(tasks, "grade_9", int_of(day, "grade_9"));
        assert_sum(tasks, "grade_1", int_of(day, "grade_1"));
        size_t i;
        json_t *row;
        json_array_foreach(tasks, i, row)
        {
            /* Both sides know every task of a simulated day. */
            assert_true(json_is_integer(json_object_get(row, "calls_dialled")));
            assert_true(strlen(text_of(row, "task_name")) > 0);
        }
        json_decref(doc);
        json_decref(day_doc);
    }
}

/* A day never synced: 200, no rows, no sync times. */
static void test_day_never_synced(void **state)
{
    (void)state;
    const char *paths[] = {"/api/stats/tasks?date=" NEVER_DAY,
                           "/api/stats/seats?date=" NEVER_DAY};
    const char *rows[] = {"tasks", "seats"};
    for (size_t i = 0; i < 2; i++) {
        json_t *doc;
        json_t *data = data_of(paths[i], &doc);
        assert_string_equal(text_of(data, "date"), NEVER_DAY);
        assert_true(json_is_null(json_object_get(data, "stats_synced_at")));
        assert_true(json_is_null(json_object_get(data, "grades_synced_at")));
        assert_int_equal(json_array_size(json_object_get(data, rows[i])), 0);
        json_decref(doc);
    }
}

/* What the accounts left out as internal dialled on DAY. */
static long long internal_calls(const char *column)
{
    char sql[256];
    snprintf(sql, sizeof(sql),
             "SELECT coalesce(sum(%s), 0) FROM account_stats WHERE "
             "stat_date = '" DAY "' AND username IN " INTERNAL_LIST,
             column);
    return db_count(sql);
}

/* The seats: the internal accounts left out, the others adding up with
 * them to the day's totals row (the platform's total counts every
 * account, admin included). */
static void test_seats_leave_out_internal_accounts(void **state)
{
    (void)state;
    json_t *doc, *day_doc;
    json_t *data = data_of("/api/stats/seats?date=" DAY, &doc);
    json_t *day = daily_row(DAY, &day_doc);
    json_t *seats = json_object_get(data, "seats");
    assert_string_equal(text_of(data, "stats_synced_at"),
                        text_of(day, "stats_synced_at"));
    assert_int_equal(json_array_size(seats),
                     db_count("SELECT count(*) FROM account_stats WHERE "
                              "stat_date = '" DAY
                              "' AND username NOT IN " INTERNAL_LIST));
    size_t i, with_calls = 0;
    json_t *row;
    json_array_foreach(seats, i, row)
    {
        const char *name = text_of(row, "username");
        assert_string_not_equal(name, "admin");
        assert_string_not_equal(name, "seat05");
        with_calls += int_of(row, "calls_dialled") > 0;
        assert_answer_rate(row);
    }
    assert_int_equal(with_calls, int_of(day, "active_seats"));
    assert_sum(seats, "calls_dialled",
               int_of(day, "calls_dialled") - internal_calls("calls_dialled"));
    assert_sum(seats, "calls_answered",
               int_of(day, "calls_answered") -
                   internal_calls("calls_answered"));
    assert_sum(seats, "success_orders",
               int_of(day, "success_orders") -
                   internal_calls("success_orders"));
    assert_by_calls(seats);
    json_decref(doc);
    json_decref(day_doc);
}

/* The seats' orders from the call records, with the internal accounts',
 * are the day's. */
static void test_seat_grades_add_up_to_the_day(void **state)
{
    (void)state;
    assert_true(db_count("SELECT count(*) FROM day_breakdown") > 0);
    json_t *doc, *day_doc;
    json_t *seats =
        json_object_get(data_of("/api/stats/seats?date=" DAY, &doc), "seats");
    json_t *day = daily_row(DAY, &day_doc);
    const char *classes[] = {"grade_9", "grade_1"};
    for (size_t c = 0; c < 2; c++) {
        char sql[512];
        snprintf(sql, sizeof(sql),
                 "SELECT coalesce(sum(b.%s), 0) FROM day_breakdown b JOIN "
                 "account_stats a ON a.user_id = b.key AND a.stat_date = "
                 "b.stat_date WHERE b.stat_date = '" DAY "' AND b.dimension "
                 "= 'seat' AND a.username IN " INTERNAL_LIST,
                 classes[c]);
        assert_sum(seats, classes[c], int_of(day, classes[c]) - db_count(sql));
    }
    json_decref(doc);
    json_decref(day_doc);
}

/* Every label of the day with its class: the records add up to the
 * simulator's, the classes to the day's 9-yuan and 1-yuan orders. */
static void check_grades(json_t *data, long long records, long long grade_9,
                         long long grade_1)
{
    json_t *grades = json_object_get(data, "grades");
    assert_int_equal(int_of(data, "total_records"), records);
    assert_sum(grades, "records", records);
    long long by_class[2] = {0, 0};
    bool no_grade = false, new_label = false;
    size_t i;
    json_t *row;
    json_array_foreach(grades, i, row)
    {
        const char *cls = text_of(row, "grade_class");
        const char *grade = text_of(row, "grade");
        if (strcmp(cls, "grade_9") == 0)
            by_class[0] += int_of(row, "records");
        else if (strcmp(cls, "grade_1") == 0)
            by_class[1] += int_of(row, "records");
        else
            assert_string_equal(cls, "other");
        no_grade |= grade[0] == '\0';
        /* A label no list in the code knows is shown under its name. */
        new_label |= strcmp(grade, "ZX 新标签") == 0;
        if (i > 0)
            assert_true(int_of(json_array_get(grades, i - 1), "records") >=
                        int_of(row, "records"));
    }
    assert_int_equal(by_class[0], grade_9);
    assert_int_equal(by_class[1], grade_1);
    assert_true(no_grade);
    assert_true(new_label);
}

static void test_grades_of_a_day(void **state)
{
    (void)state;
    json_t *doc, *day_doc;
    json_t *data = data_of("/api/stats/grades?date=" BIG_DAY, &doc);
    json_t *day = daily_row(BIG_DAY, &day_doc);
    json_t *t = truth(BIG_DAY);
    assert_string_equal(text_of(data, "from"), BIG_DAY);
    assert_string_equal(text_of(data, "to"), BIG_DAY);
    assert_int_equal(int_of(data, "calls_days"), 1);
    check_grades(data, int_of(t, "records"), int_of(day, "grade_9"),
                 int_of(day, "grade_1"));
    json_decref(t);
    json_decref(doc);
    json_decref(day_doc);
}

/* A range: the synced days of it counted, their records summed. */
static void test_grades_of_a_range(void **state)
{
    (void)state;
    json_t *doc, *range_doc;
    json_t *data =
        data_of("/api/stats/grades?from=2025-10-01&to=2025-10-31", &doc);
    json_t *totals = json_object_get(
        data_of("/api/stats/daily?from=2025-10-01&to=2025-10-31", &range_doc),
        "totals");
    json_t *a = truth(DAY), *b = truth(BIG_DAY);
    assert_int_equal(int_of(data, "calls_days"), 2);
    check_grades(data, int_of(a, "records") + int_of(b, "records"),
                 int_of(totals, "grade_9"), int_of(totals, "grade_1"));
    json_decref(a);
    json_decref(b);
    json_decref(doc);
    json_decref(range_doc);

    /* No day of the range synced: no rows, no total. */
    data = data_of("/api/stats/grades?from=2025-11-01&to=2025-11-03", &doc);
    assert_int_equal(int_of(data, "calls_days"), 0);
    assert_true(json_is_null(json_object_get(data, "total_records")));
    assert_int_equal(json_array_size(json_object_get(data, "grades")), 0);
    json_decref(doc);
}

static void test_bad_requests(void **state)
{
    (void)state;
    const struct {
        const char *path;
        const char *code;
        const char *named;
    } cases[] = {
        {"/api/stats/grades?date=2025-10-04&from=2025-10-01",
         "invalid_parameter", "\"from\""},
        {"/api/stats/grades?to=2025-10-04&date=2025-10-04", "invalid_parameter",
         "\"to\""},
        {"/api/stats/grades", "missing_parameter", "\"date\""},
        {"/api/stats/grades?from=2025-10-01", "missing_parameter", "\"to\""},
        {"/api/stats/grades?from=2024-01-01&to=2025-10-01", "range_too_long",
         "366"},
        {"/api/stats/grades?date=2025-02-30", "invalid_date", "2025-02-30"},
        {"/api/stats/tasks", "missing_parameter", "date"},
        {"/api/stats/seats?date=yesterday", "invalid_date", "yesterday"},
        {"/api/stats/tasks?date=2025-10-04&from=2025-10-04", NULL, "from"},
        {"/api/sync/status?date=2025-10-04", NULL, "date"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *doc = api_json(cases[i].path, 400);
        const char *code = json_string_value(json_object_get(doc, "code"));
        const char *msg = json_string_value(json_object_get(doc, "error"));
        if (cases[i].code && (code == NULL || strcmp(code, cases[i].code)))
            fail_msg("%s: code %s, wanted %s", cases[i].path, code,
                     cases[i].code);
        if (msg == NULL || strstr(msg, cases[i].named) == NULL)
            fail_msg("%s: message \"%s\" does not name %s", cases[i].path, msg,
                     cases[i].named);
        json_decref(doc);
    }
}

static int count_lines(const char *text)
{
    int lines = 0;
    for (const char *p = text; *p; p++)
        lines += *p == '\n';
    return lines;
}

/* One CSV answer: BOM and header first, CRLF lines, the file name. */
static void check_csv(const struct reply *r, const char *header,
                      const char *file_name, int lines)
{
    assert_int_equal(r->status, 200);
    assert_true(strncmp(r->content_type, "text/csv", 8) == 0);
    assert_true(strncmp(r->body, BOM, 3) == 0);
    assert_true(strncmp(r->body + 3, header, strlen(header)) == 0);
    assert_true(strncmp(r->body + 3 + strlen(header), "\r\n", 2) == 0);
    if (strstr(r->disposition, file_name) == NULL)
        fail_msg("Content-Disposition \"%s\" does not name %s", r->disposition,
                 file_name);
    assert_non_null(strstr(r->disposition, "attachment"));
    assert_int_equal(count_lines(r->body), lines);
    /* Every line ends CRLF. */
    for (const char *p = strchr(r->body, '\n'); p; p = strchr(p + 1, '\n'))
        assert_true(p > r->body && p[-1] == '\r');
}

static void test_csv(void **state)
{
    (void)state;
    json_t *doc;
    struct reply r;

    size_t tasks = json_array_size(
        json_object_get(data_of("/api/stats/tasks?date=" DAY, &doc), "tasks"));
    json_decref(doc);
    get("/api/stats/tasks?date=" DAY "&format=csv", NULL, &r);
    check_csv(&r,
              "task_id,task_name,calls_dialled,calls_answered,answer_rate,"
              "success_orders,grade_9,grade_1",
              "callstats-tasks-" DAY ".csv", (int)tasks + 1);
    free(r.body);

    /* Accept: text/csv asks for the same. */
    size_t seats = json_array_size(
        json_object_get(data_of("/api/stats/seats?date=" DAY, &doc), "seats"));
    json_decref(doc);
    get("/api/stats/seats?date=" DAY, "text/csv", &r);
    check_csv(&r,
              "username,calls_dialled,calls_answered,answer_rate,"
              "success_orders,grade_9,grade_1",
              "callstats-seats-" DAY ".csv", (int)seats + 1);
    /* seat01's line, as the JSON has it. */
    assert_non_null(strstr(r.body, "\r\nseat01,"));
    free(r.body);

    json_t *data =
        data_of("/api/stats/grades?from=2025-10-01&to=2025-10-31", &doc);
    size_t grades = json_array_size(json_object_get(data, "grades"));
    get("/api/stats/grades?from=2025-10-01&to=2025-10-31&format=csv", NULL, &r);
    check_csv(&r, "grade,grade_class,records",
              "callstats-grades-2025-10-01-2025-10-31.csv", (int)grades + 1);
    /* The label of records without a grade: an empty text. */
    assert_non_null(strstr(r.body, "\r\n\"\",other,"));
    /* The records column adds up to the JSON's total. */
    long long sum = 0;
    for (char *line = strstr(r.body, "\r\n"); line && line[2];
         line = strstr(line + 2, "\r\n")) {
        char *end = strstr(line + 2, "\r\n");
        char *comma = end;
        while (comma > line && *comma != ',')
            comma--;
        sum += atoll(comma + 1);
    }
    assert_int_equal(sum, int_of(data, "total_records"));
    free(r.body);
    json_decref(doc);

    /* And the daily CSV too starts with the BOM. */
    get("/api/stats/daily.csv?from=" DAY "&to=" DAY, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_true(strncmp(r.body, BOM "date,", 8) == 0);
    free(r.body);
}

static json_t *find_date(json_t *list, const char *date)
{
    size_t i;
    json_t *row;
    json_array_foreach(list, i, row)
    {
        if (strcmp(text_of(row, "date"), date) == 0)
            return row;
    }
    fail_msg("no row for %s", date);
    return NULL;
}

/* A source of a status day: synced (at the time the daily row tells,
 * complete or not) or not. */
static void check_source(json_t *source, const char *synced_at, bool complete)
{
    json_t *at = json_object_get(source, "synced_at");
    if (synced_at == NULL)
        assert_true(json_is_null(at));
    else
        assert_string_equal(json_string_value(at), synced_at);
    assert_true(json_is_boolean(json_object_get(source, "complete")));
    assert_int_equal(json_is_true(json_object_get(source, "complete")),
                     complete);
}

static void test_status_days(void **state)
{
    (void)state;
    json_t *doc, *range_doc;
    json_t *list = json_object_get(data_of("/api/sync/status", &doc), "days");
    assert_int_equal(json_array_size(list), 31);
    /* The latest first, one a day. */
    assert_string_equal(text_of(json_array_get(list, 0), "date"), days[0]);
    char path[96];
    snprintf(path, sizeof(path), "/api/stats/daily?from=%s&to=%s", days[3],
             days[0]);
    json_t *daily =
        json_object_get(data_of(path, &range_doc), "days"); /* oldest first */
    for (int i = 0; i < 4; i++) {
        json_t *row = find_date(list, days[i]);
        if (i == 2) {
            check_source(json_object_get(row, "stats"), NULL, false);
            check_source(json_object_get(row, "calls"), NULL, false);
            continue;
        }
        json_t *day = find_date(daily, days[i]);
        const char *stats_at = text_of(day, "stats_synced_at");
        json_t *calls_at = json_object_get(day, "grades_synced_at");
        /* Today can still change; the other days were synced after they
         * ended. */
        check_source(json_object_get(row, "stats"), stats_at, i > 0);
        json_t *calls = json_object_get(row, "calls");
        if (i == 3) {
            assert_true(json_is_null(calls_at));
            check_source(calls, NULL, false);
            assert_true(
                json_is_null(json_object_get(calls, "records_written")));
            continue;
        }
        check_source(calls, json_string_value(calls_at), i > 0);
        json_t *t = truth(days[i]);
        assert_int_equal(int_of(calls, "records_written"),
                         int_of(t, "records"));
        json_decref(t);
    }
    /* The other 27 days were never synced. */
    size_t i, unsynced = 0;
    json_t *row;
    json_array_foreach(list, i, row)
    {
        if (i > 0)
            assert_true(strcmp(text_of(json_array_get(list, i - 1), "date"),
                               text_of(row, "date")) > 0);
        unsynced += json_is_null(json_object_get(json_object_get(row, "stats"),
                                                 "synced_at")) &&
                    json_is_null(json_object_get(json_object_get(row, "calls"),
                                                 "synced_at"));
    }
    assert_int_equal(unsynced, 28); /* 27, and 2 days ago */
    json_decref(range_doc);
    json_decref(doc);
}

/* The jobs as sync_jobs holds them, with their last runs, and the
 * leading worker. Written here by hand: no worker runs as leader. */
static void test_status_jobs_and_worker(void **state)
{
    (void)state;
    db_exec("DELETE FROM sync_jobs; DELETE FROM sync_runs; "
            "DELETE FROM worker_state");
    json_t *doc;
    json_t *data = data_of("/api/sync/status", &doc);
    assert_int_equal(json_array_size(json_object_get(data, "jobs")), 0);
    assert_true(json_is_null(json_object_get(data, "worker")));
    json_decref(doc);

    db_exec(
        "INSERT INTO sync_jobs VALUES"
        " ('recent', 'both days -3..-1 at 01:00,10:00', 'stats,calls', -3, -1,"
        "  NULL, '2025-10-05 01:00:00+08', 'it-worker', now()),"
        " ('today-calls', 'calls today every 60s', 'calls', 0, 0, 60, NULL,"
        "  'it-worker', now());"
        "INSERT INTO sync_runs (job, slot, status, started_at, finished_at,"
        " worker, error) VALUES"
        " ('recent', '2025-10-04 01:00+08', 'success', '2025-10-04 "
        "01:00:01+08',"
        "  '2025-10-04 01:00:09+08', 'it-worker', NULL),"
        " ('recent', '2025-10-04 10:00+08', 'failed', '2025-10-04 10:00:01+08',"
        "  '2025-10-04 10:00:30+08', 'it-worker', 'HTTP 500');"
        "INSERT INTO worker_state (id, worker, version, leader_since,"
        " heartbeat_at, current_job, missing_days) VALUES (1, 'it-worker',"
        " '0.1.0', '2025-10-04 00:00:00+08', '2025-10-04 10:00:30+08',"
        " 'recent', 0)");
    data = data_of("/api/sync/status", &doc);
    json_t *jobs = json_object_get(data, "jobs");
    assert_int_equal(json_array_size(jobs), 2);
    json_t *want = json_pack(
        "{s:s, s:s, s:s, s:i, s:i, s:n, s:s, s:s, s:s, s:s, s:s, s:s}", "job",
        "recent", "schedule", "both days -3..-1 at 01:00,10:00", "sources",
        "stats,calls", "first_day", -3, "last_day", -1, "interval_seconds",
        "next_run", "2025-10-05T01:00:00+08:00", "last_status", "failed",
        "last_started_at", "2025-10-04T10:00:01+08:00", "last_finished_at",
        "2025-10-04T10:00:30+08:00", "last_error", "HTTP 500",
        "last_success_at", "2025-10-04T01:00:09+08:00");
    if (!json_equal(json_array_get(jobs, 0), want)) {
        char *got = json_dumps(json_array_get(jobs, 0), JSON_COMPACT);
        fail_msg("job recent: %s", got);
    }
    json_decref(want);
    json_t *never = json_array_get(jobs, 1);
    assert_string_equal(text_of(never, "job"), "today-calls");
    assert_int_equal(int_of(never, "interval_seconds"), 60);
    assert_true(json_is_null(json_object_get(never, "next_run")));
    assert_true(json_is_null(json_object_get(never, "last_status")));
    assert_true(json_is_null(json_object_get(never, "last_success_at")));
    json_t *w = json_object_get(data, "worker");
    assert_string_equal(text_of(w, "worker"), "it-worker");
    assert_string_equal(text_of(w, "leader_since"),
                        "2025-10-04T00:00:00+08:00");
    assert_string_equal(text_of(w, "heartbeat_at"),
                        "2025-10-04T10:00:30+08:00");
    assert_string_equal(text_of(w, "current_job"), "recent");
    assert_int_equal(int_of(w, "missing_days"), 0);
    json_decref(doc);

    /* JSON only. */
    struct reply r;
    get("/api/sync/status?format=csv", NULL, &r);
    assert_int_equal(r.status / 100, 4);
    free(r.body);
}

/* Every path the OpenAPI document lists answers its example with data:
 * 200 and the first content type documented for it. */
static void test_openapi_examples_answer(void **state)
{
    (void)state;
    json_t *doc = api_json("/api/openapi.json", 200);
    const char *path;
    json_t *item;
    int asked = 0;
    json_object_foreach(json_object_get(doc, "paths"), path, item)
    {
        json_t *get_op = json_object_get(item, "get");
        const char *query =
            json_string_value(json_object_get(get_op, "x-example-query"));
        assert_non_null(query);
        json_t *content = json_object_get(
            json_object_get(json_object_get(get_op, "responses"), "200"),
            "content");
        const char *type = json_object_iter_key(json_object_iter(content));
        assert_non_null(type);
        char target[256];
        snprintf(target, sizeof(target), "%s%s%s", path, query[0] ? "?" : "",
                 query);
        struct reply r;
        get(target, NULL, &r);
        if (r.status != 200 || strncmp(r.content_type, type, strlen(type)))
            fail_msg("%s answers %ld %s, documented 200 %s", target, r.status,
                     r.content_type, type);
        free(r.body);
        asked++;
    }
    assert_int_equal(asked, 14);
    json_decref(doc);
}

/* The value of the sample of metrics text whose name and labels are
 * exactly series ("name{labels}"); -1 when absent. */
static double metric(const char *text, const char *series)
{
    size_t n = strlen(series);
    for (const char *line = text; *line;) {
        if (strncmp(line, series, n) == 0 && line[n] == ' ')
            return strtod(line + n + 1, NULL);
        const char *end = strchr(line, '\n');
        if (end == NULL)
            break;
        line = end + 1;
    }
    return -1;
}

/* /metrics counts what was asked by route and status, never names a date
 * or a raw path, and reads the worker's tables. */
static void test_metrics(void **state)
{
    (void)state;
    struct reply r;
    get("/metrics", NULL, &r);
    assert_int_equal(r.status, 200);
    double month_before =
        metric(r.body, "callstats_api_requests_total{route=\"/api/stats/"
                       "month\",status=\"200\"}");
    double other_before = metric(
        r.body, "callstats_api_requests_total{route=\"other\",status=\"404\"}");
    free(r.body);
    for (int i = 0; i < 3; i++) {
        get("/api/stats/month?month=2025-10", NULL, &r);
        assert_int_equal(r.status, 200);
        free(r.body);
    }
    get("/api/no-such-2025-10-04", NULL, &r);
    assert_int_equal(r.status, 404);
    free(r.body);
    get("/api/stats/month?month=2025-13", NULL, &r);
    assert_int_equal(r.status, 400);
    free(r.body);
    db_exec("INSERT INTO sync_runs (job, slot, status, started_at,"
            " finished_at, worker) VALUES ('it-metrics', now(), 'success',"
            " '2025-10-04 01:00:01+08', '2025-10-04 01:00:09+08', 'it')");

    get("/metrics", NULL, &r);
    assert_int_equal(r.status, 200);
    assert_true(strncmp(r.content_type, "text/plain", 10) == 0);
    const char *t = r.body;
    assert_true(
        metric(t,
               "callstats_api_requests_total{route=\"/api/stats/month\","
               "status=\"200\"}") == (month_before < 0 ? 0 : month_before) + 3);
    assert_true(metric(t, "callstats_api_requests_total{route=\"other\","
                          "status=\"404\"}") ==
                (other_before < 0 ? 0 : other_before) + 1);
    assert_true(metric(t, "callstats_api_requests_total{route=\"/api/stats/"
                          "month\",status=\"400\"}") >= 1);
    /* The histogram's last bucket is its count. */
    double count = metric(t, "callstats_api_request_duration_seconds_count{"
                             "route=\"/api/stats/month\"}");
    assert_true(count >= 4);
    assert_true(metric(t, "callstats_api_request_duration_seconds_bucket{"
                          "route=\"/api/stats/month\",le=\"+Inf\"}") == count);
    assert_true(metric(t, "callstats_api_pool_size") == 4);
    assert_true(metric(t, "callstats_api_pool_in_use") >= 0);
    assert_true(metric(t, "callstats_database_up") == 1);
    assert_true(metric(t, "callstats_api_cache_hits_total") >= 2);
    assert_true(metric(t, "callstats_api_data_version") >= 1);
    /* 2025-10-04 01:00:09 +08:00 */
    assert_true(metric(t, "callstats_job_last_success_timestamp_seconds{"
                          "job=\"it-metrics\"}") == 1759510809);
    /* Today's calls and statistics were synced by this program. */
    double age =
        metric(t, "callstats_today_data_age_seconds{source=\"calls\"}");
    assert_true(age >= 0 && age < 3600);
    assert_true(
        metric(t, "callstats_today_data_age_seconds{source=\"stats\"}") >= 0);
    /* Labels never carry a date or the path as sent. */
    assert_null(strstr(t, "2025-10"));
    assert_null(strstr(t, "no-such"));
    free(r.body);
    db_exec("DELETE FROM sync_runs WHERE job = 'it-metrics'");
}

/* Stops the API as systemd would, then whatever a failed test left. */
static int stop_api(void **state)
{
    if (api_pid > 0) {
        kill(api_pid, SIGTERM);
        wait_exit(api_pid);
    }
    return harness_kill_leftovers(state);
}

int main(void)
{
    harness_init();
    setenv("TZ", "Asia/Shanghai", 1);
    tzset();
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sync_days),
        cmocka_unit_test(test_start_api),
        cmocka_unit_test(test_tasks_add_up_to_the_day),
        cmocka_unit_test(test_task_grades_add_up_to_the_day),
        cmocka_unit_test(test_day_never_synced),
        cmocka_unit_test(test_seats_leave_out_internal_accounts),
        cmocka_unit_test(test_seat_grades_add_up_to_the_day),
        cmocka_unit_test(test_grades_of_a_day),
        cmocka_unit_test(test_grades_of_a_range),
        cmocka_unit_test(test_bad_requests),
        cmocka_unit_test(test_csv),
        cmocka_unit_test(test_status_days),
        cmocka_unit_test(test_status_jobs_and_worker),
        cmocka_unit_test(test_openapi_examples_answer),
        cmocka_unit_test(test_metrics),
    };
    int failed =
        cmocka_run_group_tests_name("endpoints", tests, NULL, stop_api);
    curl_global_cleanup();
    return failed == 0 ? 0 : 1;
}
