/* Unit tests of the API's routing, without an HTTP server: health, the
 * dashboard page, 404, 405, 400 before any database access, and 503 when
 * the database cannot be reached. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <jansson.h>
#include <string.h>

#include "../../api/routes.h"
#include "version.h"

/* A socket folder that does not exist: connecting fails at once. */
#define NO_DATABASE "host=/nonexistent/callstats-test dbname=callstats"

static struct cs_config cfg;
static struct api_context ctx;

static cs_day fixed_today(void)
{
    return cs_date_from_ymd(2025, 10, 15);
}

static int setup(void **state)
{
    (void)state;
    memset(&cfg, 0, sizeof(cfg));
    ctx.cfg = &cfg;
    ctx.pool = api_pool_create(NO_DATABASE, 2, 1);
    ctx.today = fixed_today;
    return ctx.pool ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    api_pool_destroy(ctx.pool);
    return 0;
}

/* Answers a request; checks the status and returns the parsed body. */
static json_t *request(const char *method, const char *path, const char *query,
                       int status)
{
    struct api_response resp;
    api_handle(&ctx, method, path, query, &resp);
    assert_int_equal(resp.status, status);
    assert_string_equal(resp.content_type, "application/json; charset=utf-8");
    json_t *body = json_loadb(resp.body, resp.length, 0, NULL);
    api_response_free(&resp);
    assert_non_null(body);
    return body;
}

static void expect_error(const char *method, const char *path,
                         const char *query, int status, const char *code,
                         const char *message)
{
    json_t *body = request(method, path, query, status);
    assert_true(json_is_false(json_object_get(body, "success")));
    assert_string_equal(json_string_value(json_object_get(body, "code")), code);
    if (message)
        assert_string_equal(json_string_value(json_object_get(body, "error")),
                            message);
    json_decref(body);
}

static void test_health(void **state)
{
    (void)state;
    json_t *body = request("GET", "/api/health", NULL, 200);
    assert_true(json_is_true(json_object_get(body, "success")));
    assert_string_equal(json_string_value(json_object_get(body, "status")),
                        "ok");
    assert_string_equal(json_string_value(json_object_get(body, "version")),
                        CS_VERSION);
    json_decref(body);
}

static void test_not_found(void **state)
{
    (void)state;
    expect_error("GET", "/api/nothing", NULL, 404, "not_found",
                 "no endpoint at \"/api/nothing\"");
    expect_error("GET", "/api/health/", NULL, 404, "not_found", NULL);
}

static void test_method_not_allowed(void **state)
{
    (void)state;
    expect_error("POST", "/api/health", NULL, 405, "method_not_allowed",
                 "method \"POST\" is not allowed; use GET or HEAD");
    struct api_response resp;
    api_handle(&ctx, "DELETE", "/api/stats/daily", NULL, &resp);
    assert_int_equal(resp.status, 405);
    assert_string_equal(resp.allow, "GET, HEAD");
    api_response_free(&resp);
}

static void test_bad_input(void **state)
{
    (void)state;
    expect_error("GET", "/api/stats/grade-stats", "date=2025-02-30", 400,
                 "invalid_date",
                 "date \"2025-02-30\" is not a day of the calendar");
    expect_error("GET", "/api/stats/daily", "from=2025-10-01", 400,
                 "missing_parameter", NULL);
    expect_error("GET", "/api/stats/daily.csv", "from=2025-10-02&to=2025-10-01",
                 400, "invalid_range", NULL);
    expect_error("GET", "/api/stats/daily", "from=2024-01-01&to=2025-12-31",
                 400, "range_too_long", NULL);
    expect_error("GET", "/api/stats/month", "month=2025-00", 400,
                 "invalid_month", NULL);
}

static void test_database_unavailable(void **state)
{
    (void)state;
    const char *message = "the database cannot be reached; try again later";
    expect_error("GET", "/api/stats/grade-stats", "date=2025-10-01", 503,
                 "database_unavailable", message);
    expect_error("GET", "/api/stats/daily", "from=2025-10-01&to=2025-10-03",
                 503, "database_unavailable", message);
    expect_error("HEAD", "/api/stats/month", "month=2025-10", 503,
                 "database_unavailable", message);
}

static void test_dashboard(void **state)
{
    (void)state;
    struct api_response resp;
    api_handle(&ctx, "GET", "/", NULL, &resp);
    assert_int_equal(resp.status, 200);
    assert_string_equal(resp.content_type, "text/html; charset=utf-8");
    assert_true(resp.length > 1000);
    assert_non_null(strstr(resp.body, "/api/stats/month"));
    /* Self-contained: no external script, style or font. */
    assert_null(strstr(resp.body, "src=\"http"));
    assert_null(strstr(resp.body, "href=\"http"));
    api_response_free(&resp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_health),
        cmocka_unit_test(test_not_found),
        cmocka_unit_test(test_method_not_allowed),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_database_unavailable),
        cmocka_unit_test(test_dashboard),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
