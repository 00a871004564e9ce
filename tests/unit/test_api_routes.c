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
    ctx.pool = api_pool_create(NO_DATABASE, 2, 1000);
    ctx.today = fixed_today;
    return ctx.pool ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    api_pool_destroy(ctx.pool);
    return 0;
}

static void handle(const char *method, const char *path, const char *query,
                   struct api_response *resp)
{
    struct api_request req = {.method = method, .path = path, .query = query};
    api_handle(&ctx, &req, resp);
}

/* Answers a request; checks the status and returns the parsed body. */
static json_t *request(const char *method, const char *path, const char *query,
                       int status)
{
    struct api_response resp;
    handle(method, path, query, &resp);
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
    /* Counted under "other" in the metrics, a route under its own. */
    struct api_response resp;
    handle("GET", "/api/nothing", NULL, &resp);
    assert_int_equal(resp.route, api_route_count());
    assert_string_equal(api_route_path(resp.route), "other");
    api_response_free(&resp);
    handle("GET", "/api/health", NULL, &resp);
    assert_string_equal(api_route_path(resp.route), "/api/health");
    api_response_free(&resp);
}

static void test_method_not_allowed(void **state)
{
    (void)state;
    expect_error("POST", "/api/health", NULL, 405, "method_not_allowed",
                 "method \"POST\" is not allowed; use GET or HEAD");
    struct api_response resp;
    handle("DELETE", "/api/stats/daily", NULL, &resp);
    assert_int_equal(resp.status, 405);
    assert_string_equal(resp.allow, "GET, HEAD, OPTIONS");
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
    handle("GET", "/", NULL, &resp);
    assert_int_equal(resp.status, 200);
    assert_string_equal(resp.content_type, "text/html; charset=utf-8");
    assert_true(resp.length > 1000);
    assert_non_null(strstr(resp.body, "/api/stats/month"));
    /* Self-contained: no external script, style or font. */
    assert_null(strstr(resp.body, "src=\"http"));
    assert_null(strstr(resp.body, "href=\"http"));
    api_response_free(&resp);
}

static void test_parameters_checked(void **state)
{
    (void)state;
    expect_error("GET", "/api/stats/month", "month=2025-10&x=1", 400,
                 "unknown_parameter",
                 "unknown parameter \"x\": /api/stats/month takes "
                 "month,format");
    expect_error("GET", "/api/health", "verbose", 400, "unknown_parameter",
                 "unknown parameter \"verbose\": /api/health takes none");
    expect_error("GET", "/api/stats/month", "month=2025-10&MONTH=2025-11", 400,
                 "invalid_parameter",
                 "parameter \"MONTH\" is given more than once");
    expect_error("GET", "/api/stats/month", "month=2025-1%zz", 400,
                 "invalid_parameter", NULL);
    expect_error("GET", "/api/stats/month", "month=2025-10%", 400,
                 "invalid_parameter", NULL);
    expect_error("GET", "/api/stats/month", "month=2025-10%0a", 400,
                 "invalid_parameter", NULL);
    expect_error("GET", "/api/stats/month", "mon%74h=2025-10", 400,
                 "invalid_parameter", NULL);
    /* Values are decoded before they are read: %32 is "2". */
    expect_error("GET", "/api/stats/month", "month=%32025-13", 400,
                 "invalid_month",
                 "month \"2025-13\" is not a month as YYYY-MM (01 to 12, "
                 "from 1900)");
    char query[API_MAX_QUERY + 20];
    memset(query, 'a', sizeof(query) - 1);
    query[sizeof(query) - 1] = '\0';
    expect_error("GET", "/api/stats/month", query, 400, "query_too_long", NULL);
}

static void test_negotiation(void **state)
{
    (void)state;
    expect_error("GET", "/api/stats/month", "month=2025-10&format=csv", 406,
                 "not_acceptable",
                 "format \"csv\" is not offered by /api/stats/month; it "
                 "answers json");
    expect_error("GET", "/api/stats/daily",
                 "from=2025-10-01&to=2025-10-02&format=xml", 406,
                 "not_acceptable", NULL);
    struct api_request req = {.method = "GET",
                              .path = "/api/stats/month",
                              .query = "month=2025-10",
                              .accept = "text/csv"};
    struct api_response resp;
    api_handle(&ctx, &req, &resp);
    assert_int_equal(resp.status, 406);
    api_response_free(&resp);
    /* JSON at a lower quality is still JSON; CSV preferred is CSV: past
     * negotiation the database is reached (503 here). */
    req.accept = "text/csv;q=0.9, application/json;q=0.5";
    req.path = "/api/stats/daily";
    req.query = "from=2025-10-01&to=2025-10-02";
    api_handle(&ctx, &req, &resp);
    assert_int_equal(resp.status, 503);
    assert_int_equal(resp.format, API_FORMAT_CSV);
    assert_int_equal(resp.retry_after, 5);
    api_response_free(&resp);
    req.accept = "text/html, */*;q=0.1";
    api_handle(&ctx, &req, &resp);
    assert_int_equal(resp.status, 503);
    assert_int_equal(resp.format, API_FORMAT_JSON);
    api_response_free(&resp);
    req.accept = "application/json;q=0, text/csv;q=0";
    api_handle(&ctx, &req, &resp);
    assert_int_equal(resp.status, 406);
    api_response_free(&resp);
    req.path = "/";
    req.query = NULL;
    req.accept = "application/json";
    api_handle(&ctx, &req, &resp);
    assert_int_equal(resp.status, 406);
    api_response_free(&resp);
}

static void test_token(void **state)
{
    (void)state;
    char token[] = "0123456789abcdef0123";
    cfg.api_token = token;
    struct api_request req = {
        .method = "GET", .path = "/api/stats/month", .query = "month=2025-10"};
    struct api_response resp;
    api_handle(&ctx, &req, &resp);
    assert_int_equal(resp.status, 401);
    assert_true(resp.authenticate);
    api_response_free(&resp);
    const char *wrong[] = {"Bearer 0123456789abcdef012",
                           "Bearer x",
                           "Bearer 0123456789abcdef01234",
                           "Basic 0123456789abcdef0123",
                           "Bearer ",
                           ""};
    for (size_t i = 0; i < sizeof(wrong) / sizeof(wrong[0]); i++) {
        req.authorization = wrong[i];
        api_handle(&ctx, &req, &resp);
        assert_int_equal(resp.status, 401);
        api_response_free(&resp);
    }
    req.authorization = "Bearer 0123456789abcdef0123";
    api_handle(&ctx, &req, &resp);
    assert_int_equal(resp.status, 503); /* past the token: the database */
    api_response_free(&resp);
    /* Health and readiness need no token. */
    req.authorization = NULL;
    req.path = "/api/health";
    req.query = NULL;
    api_handle(&ctx, &req, &resp);
    assert_int_equal(resp.status, 200);
    api_response_free(&resp);
    req.path = "/api/ready";
    api_handle(&ctx, &req, &resp);
    assert_int_equal(resp.status, 503);
    api_response_free(&resp);
    req.path = "/metrics";
    api_handle(&ctx, &req, &resp);
    assert_int_equal(resp.status, 401);
    api_response_free(&resp);
    cfg.api_token = NULL;
}

static void test_cors(void **state)
{
    (void)state;
    cs_list_parse("https://a.example, https://b.example", &cfg.cors_origins);
    struct api_request req = {.method = "OPTIONS",
                              .path = "/api/stats/month",
                              .origin = "https://b.example"};
    struct api_response resp;
    api_handle(&ctx, &req, &resp);
    assert_int_equal(resp.status, 204);
    assert_string_equal(resp.cors_origin, "https://b.example");
    api_response_free(&resp);
    req.origin = "https://c.example";
    api_handle(&ctx, &req, &resp);
    assert_null(resp.cors_origin);
    assert_true(resp.vary_origin);
    api_response_free(&resp);
    req.method = "GET";
    req.path = "/api/health";
    req.origin = "https://a.example";
    api_handle(&ctx, &req, &resp);
    assert_string_equal(resp.cors_origin, "https://a.example");
    api_response_free(&resp);
    cs_list_free(&cfg.cors_origins);
    req.origin = NULL;
    api_handle(&ctx, &req, &resp);
    assert_false(resp.vary_origin);
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
        cmocka_unit_test(test_parameters_checked),
        cmocka_unit_test(test_negotiation),
        cmocka_unit_test(test_token),
        cmocka_unit_test(test_cors),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
