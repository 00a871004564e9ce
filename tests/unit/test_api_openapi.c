/* The OpenAPI document against the routes: every path served is
 * documented, every path documented is served, and each documented
 * operation's example query passes the API's checks (so its parameter
 * names and examples are true). The integration tests ask each example
 * of a running API with data. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <jansson.h>
#include <string.h>

#include "../../api/routes.h"

/* A socket folder that does not exist: connecting fails at once. */
#define NO_DATABASE "host=/nonexistent/callstats-test dbname=callstats"

static struct cs_config cfg;
static struct api_context ctx;
static json_t *doc;

static int setup(void **state)
{
    (void)state;
    memset(&cfg, 0, sizeof(cfg));
    ctx.cfg = &cfg;
    ctx.pool = api_pool_create(NO_DATABASE, 2, 1000);
    struct api_request req = {.method = "GET", .path = "/api/openapi.json"};
    struct api_response resp;
    api_handle(&ctx, &req, &resp);
    if (resp.status == 200)
        doc = json_loadb(resp.body, resp.length, 0, NULL);
    api_response_free(&resp);
    return ctx.pool && doc ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    json_decref(doc);
    api_pool_destroy(ctx.pool);
    return 0;
}

static void test_version(void **state)
{
    (void)state;
    assert_string_equal(json_string_value(json_object_get(doc, "openapi")),
                        "3.1.0");
}

static void test_served_paths_documented(void **state)
{
    (void)state;
    json_t *paths = json_object_get(doc, "paths");
    for (size_t i = 0; i < api_route_count(); i++) {
        const char *path = api_route_path(i);
        if (json_object_get(paths, path) == NULL)
            fail_msg("%s is served but not documented", path);
    }
}

static void test_documented_paths_served(void **state)
{
    (void)state;
    const char *path;
    json_t *item;
    size_t documented = 0;
    json_object_foreach(json_object_get(doc, "paths"), path, item)
    {
        bool served = false;
        for (size_t i = 0; i < api_route_count(); i++)
            served |= strcmp(api_route_path(i), path) == 0;
        if (!served)
            fail_msg("%s is documented but not served", path);
        documented++;
    }
    assert_int_equal(documented, api_route_count());
}

/* Without a database the example passes every check and reaches either
 * an answer that needs none or the database (503). */
static void test_examples_pass_checks(void **state)
{
    (void)state;
    const char *path;
    json_t *item;
    json_object_foreach(json_object_get(doc, "paths"), path, item)
    {
        json_t *get = json_object_get(item, "get");
        assert_non_null(get);
        const char *query =
            json_string_value(json_object_get(get, "x-example-query"));
        assert_non_null(query);
        struct api_request req = {
            .method = "GET", .path = path, .query = query[0] ? query : NULL};
        struct api_response resp;
        api_handle(&ctx, &req, &resp);
        if (resp.status != 200 && resp.status != 503)
            fail_msg("%s?%s answers %d: %.*s", path, query, resp.status,
                     (int)resp.length, resp.body ? resp.body : "");
        api_response_free(&resp);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_version),
        cmocka_unit_test(test_served_paths_documented),
        cmocka_unit_test(test_documented_paths_served),
        cmocka_unit_test(test_examples_pass_checks),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
