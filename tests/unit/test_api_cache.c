/* The response cache while its version is unknown (a database that cannot
 * be reached): nothing is kept, nothing is served, and an answer a
 * request read at some version does not make the version known. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../api/cache.h"
#include "../../api/routes.h"

/* A socket folder that does not exist: connecting fails at once. */
#define NO_DATABASE "host=/nonexistent/callstats-test dbname=callstats"

static void test_unknown_version_keeps_nothing(void **state)
{
    (void)state;
    struct api_cache *cache = api_cache_create(NO_DATABASE, 1 << 20);
    assert_non_null(cache);
    usleep(100 * 1000); /* the thread has tried and failed */
    assert_int_equal(api_cache_version(cache), -1);
    for (long long v = 1; v <= 3; v++) {
        struct api_response resp = {.status = 200, .version = v};
        resp.body = strdup("{\"success\":true}");
        resp.length = strlen(resp.body);
        resp.body_owned = true;
        api_cache_put(cache, "/api/stats/month?month=2025-10|j|2025-10-16",
                      &resp);
        assert_null(resp.cached); /* not kept: resp still owns its body */
        assert_true(resp.body_owned);
        api_response_free(&resp);
        assert_int_equal(api_cache_version(cache), -1);
    }
    struct api_response got = {.version = -1};
    assert_false(api_cache_get(
        cache, "/api/stats/month?month=2025-10|j|2025-10-16", &got));
    assert_false(api_cache_get_stale(
        cache, "/api/stats/month?month=2025-10|j|2025-10-16", &got));
    unsigned long long hits, misses, stale;
    size_t bytes;
    api_cache_counts(cache, &hits, &misses, &stale, &bytes);
    assert_int_equal(hits, 0);
    assert_int_equal(bytes, 0);
    api_cache_destroy(cache);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unknown_version_keeps_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
