/*
 * Integration tests of the API found by review: a query that runs out of
 * statement_timeout behind a lock. Started by tests/integration/run.sh.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <libpq-fe.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "harness.h"

#define MONTH "/api/stats/month?month=2025-10"

static int api_port;
static pid_t api_pid;

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

/* A TCP port above 40000 that nothing on 127.0.0.1 holds now. */
static int pick_port(void)
{
    for (int tries = 0; tries < 1000; tries++) {
        int port = 40000 + rand() % 20000;
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in addr = {.sin_family = AF_INET,
                                   .sin_port = htons((uint16_t)port)};
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        bool free_now = bind(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0;
        close(fd);
        if (free_now)
            return port;
    }
    fail_msg("no free port above 40000");
    return -1;
}

/* One GET with Connection: close; the whole answer, head and body. */
static char *get_raw(const char *path)
{
    char req[1024];
    snprintf(req, sizeof(req),
             "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
             path);
    char *answer = raw_request(api_port, req);
    assert_non_null(answer);
    return answer;
}

static int status_of(const char *answer)
{
    return strncmp(answer, "HTTP/1.", 7) == 0 ? atoi(answer + 9) : 0;
}

/* True when the answer's head has the header with exactly value. */
static bool header_is(const char *answer, const char *name, const char *value)
{
    char line[256];
    snprintf(line, sizeof(line), "\r\n%s: %s\r\n", name, value);
    const char *end = strstr(answer, "\r\n\r\n");
    const char *at = strstr(answer, line);
    return at != NULL && end != NULL && at <= end;
}

static bool has_header(const char *answer, const char *name)
{
    char line[128];
    snprintf(line, sizeof(line), "\r\n%s:", name);
    const char *end = strstr(answer, "\r\n\r\n");
    const char *at = strstr(answer, line);
    return at != NULL && end != NULL && at <= end;
}

static void owner_exec(PGconn *conn, const char *sql)
{
    PGresult *res = PQexec(conn, sql);
    if (PQresultStatus(res) != PGRES_COMMAND_OK &&
        PQresultStatus(res) != PGRES_TUPLES_OK)
        fail_msg("%s: %s", sql, PQerrorMessage(conn));
    PQclear(res);
}

static int setup(void **state)
{
    (void)state;
    srand((unsigned)getpid());
    char *args[] = {"migrate", NULL};
    if (worker("migrate", it.sim_url, NULL, args) != 0 ||
        sync_days("sync", it.sim_url, "2025-10-01", "2025-10-03", NULL) != 0) {
        fprintf(stderr, "api_review: migrate or sync failed; see %s\n",
                it.work);
        return -1;
    }
    return 0;
}

static int end_test(void **state)
{
    api_pid = 0;
    return harness_kill_leftovers(state);
}

/*
 * A lock on day_summary (a migration, a manual LOCK TABLE) makes a query
 * run out of its 2 s statement_timeout: the database is busy, not the
 * API broken. The answer is a 503 database_busy with Retry-After (which
 * lets a stale cached answer be served in its place), the log says the
 * server's reason, and all is well again once the lock is gone.
 */
static void test_statement_timeout_is_busy(void **state)
{
    (void)state;
    api_port = pick_port();
    const char *env[] = {"CALLSTATS_API_DB_CONNECTIONS=2",
                         "CALLSTATS_API_POOL_WAIT_MS=5000", NULL};
    start_api_env("api-lock", api_port, it.db, env, &api_pid);
    char *answer = get_raw(MONTH); /* kept in the cache */
    assert_int_equal(status_of(answer), 200);
    free(answer);

    PGconn *owner = PQconnectdb(it.db);
    assert_int_equal(PQstatus(owner), CONNECTION_OK);
    owner_exec(owner, "BEGIN");
    owner_exec(owner, "LOCK TABLE day_summary IN ACCESS EXCLUSIVE MODE");

    double t0 = now_ms();
    answer = get_raw("/api/stats/daily?from=2025-10-01&to=2025-10-02");
    double took = now_ms() - t0;
    if (status_of(answer) != 503 || !strstr(answer, "\"database_busy\"") ||
        !header_is(answer, "Retry-After", "1"))
        fail_msg("behind a lock: wanted 503 database_busy with Retry-After: "
                 "1, got %.400s",
                 answer);
    assert_true(took >= 1500 && took < 4000);
    free(answer);
    assert_true(wait_log("api-lock", "statement timeout"));

    /* An answer of the current version is served without the database. */
    answer = get_raw(MONTH);
    assert_int_equal(status_of(answer), 200);
    free(answer);

    owner_exec(owner, "ROLLBACK");
    PQfinish(owner);
    answer = get_raw(MONTH);
    assert_int_equal(status_of(answer), 200);
    assert_false(has_header(answer, "X-Callstats-Stale"));
    free(answer);
    kill(api_pid, SIGTERM);
    assert_int_equal(wait_exit(api_pid), 0);
}

int main(void)
{
    harness_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_statement_timeout_is_busy, end_test),
    };
    return cmocka_run_group_tests_name("api_review", tests, setup, NULL) == 0
               ? 0
               : 1;
}
