/* The metrics' exposition while requests are being counted: a scrape
 * taken under load must still be a valid histogram, every bucket within
 * the +Inf one and that one equal to _count. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../api/metrics.h"
#include "../../api/pool.h"

#define SCRAPES 3000

static atomic_bool stop;

static void *count_requests(void *arg)
{
    struct api_metrics *m = arg;
    while (!atomic_load(&stop))
        api_metrics_record(m, 0, 200, 0.00005);
    return NULL;
}

/* The value of the first line of text that starts with prefix. */
static unsigned long long value_of(const char *text, const char *prefix)
{
    const char *at = strstr(text, prefix);
    if (at == NULL)
        fail_msg("no line %s in:\n%s", prefix, text);
    return strtoull(at + strlen(prefix), NULL, 10);
}

static void test_histogram_consistent_under_load(void **state)
{
    (void)state;
    struct api_metrics *m = api_metrics_create();
    assert_non_null(m);
    api_metrics_record(m, 0, 200, 0.00005);
    pthread_t threads[3];
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(pthread_create(&threads[i], NULL, count_requests, m),
                         0);
    struct api_pool_stats pool = {0};
    int bad = 0;
    char first_bad[160] = "";
    for (int i = 0; i < SCRAPES; i++) {
        char *text = NULL;
        size_t len = 0;
        FILE *out = open_memstream(&text, &len);
        assert_non_null(out);
        api_metrics_write(m, &pool, NULL, out);
        assert_int_equal(fclose(out), 0);
        unsigned long long last =
            value_of(text, "_bucket{route=\"/\",le=\"5\"} ");
        unsigned long long inf =
            value_of(text, "_bucket{route=\"/\",le=\"+Inf\"} ");
        unsigned long long count = value_of(text, "_count{route=\"/\"} ");
        if ((last > inf || inf != count) && bad++ == 0)
            snprintf(first_bad, sizeof(first_bad),
                     "le=5 %llu, le=+Inf %llu, _count %llu", last, inf, count);
        free(text);
    }
    atomic_store(&stop, true);
    for (size_t i = 0; i < 3; i++)
        pthread_join(threads[i], NULL);
    api_metrics_destroy(m);
    if (bad > 0)
        fail_msg("%d of %d scrapes were not a valid histogram, first: %s", bad,
                 SCRAPES, first_bad);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_histogram_consistent_under_load),
    };
    return cmocka_run_group_tests_name("api_metrics", tests, NULL, NULL);
}
