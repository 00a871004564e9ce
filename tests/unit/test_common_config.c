/* Unit tests of configuration from the environment: defaults, and one
 * clear error naming the variable for each missing or malformed value. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "config.h"

static const char *const variables[] = {
    "DATABASE_URL",
    "CALLSTATS_API_DATABASE_URL",
    "GUANKE_BASE_URL",
    "GUANKE_USERNAME",
    "GUANKE_PASSWORD",
    "GUANKE_API_SECRET",
    "CALLSTATS_TZ",
    "CALLSTATS_LISTEN",
    "CALLSTATS_API_THREADS",
    "CALLSTATS_API_DB_CONNECTIONS",
    "CALLSTATS_HTTP_TIMEOUT",
    "CALLSTATS_HTTP_RETRIES",
    "CALLSTATS_INTERNAL_ACCOUNTS",
    "CALLSTATS_GRADE_9",
    "CALLSTATS_GRADE_1",
    "CALLSTATS_LOG_LEVEL",
    "CALLSTATS_API_ROLE",
    "CALLSTATS_API_ROLE_PASSWORD",
};

/* A complete worker environment; each test then breaks one thing. */
static int reset_env(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(variables) / sizeof(variables[0]); i++)
        unsetenv(variables[i]);
    setenv("DATABASE_URL", "host=/tmp/x dbname=callstats user=w", 1);
    setenv("GUANKE_BASE_URL", "http://127.0.0.1:9/", 1);
    setenv("GUANKE_USERNAME", "u", 1);
    setenv("GUANKE_PASSWORD", "p", 1);
    return 0;
}

/* Loads for role, expecting failure with an error that starts with want. */
static void expect_error(enum cs_role role, const char *want)
{
    struct cs_config cfg;
    char err[1024] = "";
    assert_false(cs_config_load(&cfg, role, err, sizeof(err)));
    if (strncmp(err, want, strlen(want)) != 0)
        fail_msg("error \"%s\" does not start with \"%s\"", err, want);
}

static void test_worker_defaults(void **state)
{
    (void)state;
    struct cs_config cfg;
    char err[1024];
    setenv("CALLSTATS_INTERNAL_ACCOUNTS", " admin, ops ,,", 1);
    assert_true(cs_config_load(&cfg, CS_ROLE_WORKER, err, sizeof(err)));
    assert_string_equal(cfg.base_url, "http://127.0.0.1:9");
    assert_string_equal(cfg.tz, "Asia/Shanghai");
    assert_string_equal(cfg.api_database_url, cfg.database_url);
    assert_int_equal(cfg.http_timeout, 60);
    assert_int_equal(cfg.http_retries, 5);
    assert_int_equal(cfg.internal_accounts.count, 2);
    assert_string_equal(cfg.internal_accounts.items[1], "ops");
    assert_true(cs_list_contains(&cfg.grade_9, "AS1"));
    assert_true(cs_list_contains(&cfg.grade_1, "1元"));
    assert_string_equal(getenv("TZ"), "Asia/Shanghai");
    cs_config_free(&cfg);
}

static void test_api_defaults_need_no_upstream(void **state)
{
    (void)state;
    struct cs_config cfg;
    char err[1024];
    unsetenv("GUANKE_BASE_URL");
    unsetenv("GUANKE_USERNAME");
    unsetenv("GUANKE_PASSWORD");
    setenv("CALLSTATS_API_DATABASE_URL", "postgresql://reader@/callstats", 1);
    assert_true(cs_config_load(&cfg, CS_ROLE_API, err, sizeof(err)));
    assert_string_equal(cfg.listen_host, "127.0.0.1");
    assert_int_equal(cfg.listen_port, 8080);
    assert_int_equal(cfg.api_threads, 16);
    assert_int_equal(cfg.api_db_connections, 4);
    assert_string_equal(cfg.api_database_url, "postgresql://reader@/callstats");
    cs_config_free(&cfg);
}

static void test_missing_values_are_named(void **state)
{
    (void)state;
    unsetenv("DATABASE_URL");
    expect_error(CS_ROLE_API, "DATABASE_URL: required");
    reset_env(NULL);
    unsetenv("GUANKE_BASE_URL");
    expect_error(CS_ROLE_WORKER, "GUANKE_BASE_URL: required");
    reset_env(NULL);
    unsetenv("GUANKE_PASSWORD");
    expect_error(CS_ROLE_WORKER,
                 "GUANKE_PASSWORD: required when GUANKE_USERNAME is set");
    reset_env(NULL);
    unsetenv("GUANKE_USERNAME");
    unsetenv("GUANKE_PASSWORD");
    expect_error(CS_ROLE_WORKER, "GUANKE_USERNAME: not set, and neither");
}

static void test_listen_on_ipv6(void **state)
{
    (void)state;
    struct cs_config cfg;
    char err[1024];
    setenv("CALLSTATS_LISTEN", "[::1]:18961", 1);
    assert_true(cs_config_load(&cfg, CS_ROLE_API, err, sizeof(err)));
    assert_string_equal(cfg.listen_host, "::1");
    assert_int_equal(cfg.listen_port, 18961);
    cs_config_free(&cfg);
}

static void test_secret_alone_is_enough(void **state)
{
    (void)state;
    struct cs_config cfg;
    char err[1024];
    unsetenv("GUANKE_USERNAME");
    unsetenv("GUANKE_PASSWORD");
    setenv("GUANKE_API_SECRET", "s3cret", 1);
    assert_true(cs_config_load(&cfg, CS_ROLE_WORKER, err, sizeof(err)));
    assert_string_equal(cfg.api_secret, "s3cret");
    assert_null(cfg.username);
    cs_config_free(&cfg);
}

static void test_malformed_values_are_named(void **state)
{
    (void)state;
    const struct {
        const char *variable, *value;
        enum cs_role role;
        const char *error; /* how the error starts */
    } cases[] = {
        {"CALLSTATS_LISTEN", "localhost", CS_ROLE_API,
         "CALLSTATS_LISTEN: \"localhost\" is not"},
        {"CALLSTATS_LISTEN", "127.0.0.1:70000", CS_ROLE_API,
         "CALLSTATS_LISTEN: \"127.0.0.1:70000\""},
        {"CALLSTATS_LISTEN", "notanip:8080", CS_ROLE_API,
         "CALLSTATS_LISTEN: \"notanip:8080\" is not"},
        {"GUANKE_BASE_URL", "http://x y", CS_ROLE_WORKER,
         "GUANKE_BASE_URL: \"http://x y\" is not"},
        {"CALLSTATS_TZ", "Asia/Beijing", CS_ROLE_API,
         "CALLSTATS_TZ: unknown time zone"},
        {"GUANKE_BASE_URL", "ftp://example", CS_ROLE_WORKER,
         "GUANKE_BASE_URL: \"ftp://example\""},
        {"GUANKE_BASE_URL", "http://", CS_ROLE_WORKER,
         "GUANKE_BASE_URL: \"http://\" is not"},
        {"DATABASE_URL", "host=/tmp bogus_option=1", CS_ROLE_API,
         "DATABASE_URL: not a libpq connection"},
        {"CALLSTATS_API_THREADS", "12x", CS_ROLE_API,
         "CALLSTATS_API_THREADS: \"12x\" is not"},
        {"CALLSTATS_HTTP_RETRIES", "-1", CS_ROLE_WORKER,
         "CALLSTATS_HTTP_RETRIES: \"-1\""},
        {"CALLSTATS_LOG_LEVEL", "loud", CS_ROLE_API,
         "CALLSTATS_LOG_LEVEL: \"loud\""},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        reset_env(NULL);
        setenv(cases[i].variable, cases[i].value, 1);
        expect_error(cases[i].role, cases[i].error);
    }
}

/* libpq's own message would quote the password; ours does not. */
static void test_bad_database_url_is_not_echoed(void **state)
{
    (void)state;
    struct cs_config cfg;
    char err[1024];
    setenv("DATABASE_URL", "postgresql://u:s3cr%zzet@db/callstats", 1);
    assert_false(cs_config_load(&cfg, CS_ROLE_MIGRATE, err, sizeof(err)));
    assert_non_null(strstr(err, "DATABASE_URL"));
    assert_null(strstr(err, "s3cr"));
    setenv("DATABASE_URL", "host=/tmp password=my secret pass", 1);
    assert_false(cs_config_load(&cfg, CS_ROLE_MIGRATE, err, sizeof(err)));
    assert_null(strstr(err, "secret"));
}

/* migrate needs the database alone; a bad API-only setting is the API's
 * business. */
static void test_migrate_needs_only_the_database(void **state)
{
    (void)state;
    struct cs_config cfg;
    char err[1024];
    unsetenv("GUANKE_BASE_URL");
    unsetenv("GUANKE_USERNAME");
    unsetenv("GUANKE_PASSWORD");
    setenv("CALLSTATS_API_DATABASE_URL", "host=/tmp bogus_option=1", 1);
    setenv("CALLSTATS_LISTEN", "nonsense", 1);
    assert_true(cs_config_load(&cfg, CS_ROLE_MIGRATE, err, sizeof(err)));
    cs_config_free(&cfg);
    unsetenv("DATABASE_URL");
    expect_error(CS_ROLE_MIGRATE, "DATABASE_URL: required");
}

/* migrate's API role: callstats_api unless set, none when set empty, a
 * password only when given. */
static void test_migrate_api_role(void **state)
{
    (void)state;
    struct cs_config cfg;
    char err[1024];
    assert_true(cs_config_load(&cfg, CS_ROLE_MIGRATE, err, sizeof(err)));
    assert_string_equal(cfg.api_role, "callstats_api");
    assert_null(cfg.api_role_password);
    cs_config_free(&cfg);
    setenv("CALLSTATS_API_ROLE", "", 1);
    setenv("CALLSTATS_API_ROLE_PASSWORD", "s3cret", 1);
    assert_true(cs_config_load(&cfg, CS_ROLE_MIGRATE, err, sizeof(err)));
    assert_null(cfg.api_role);
    assert_string_equal(cfg.api_role_password, "s3cret");
    cs_config_free(&cfg);
    setenv("CALLSTATS_API_ROLE", "reader \"x\"", 1);
    assert_true(cs_config_load(&cfg, CS_ROLE_MIGRATE, err, sizeof(err)));
    assert_string_equal(cfg.api_role, "reader \"x\"");
    cs_config_free(&cfg);
    /* Other commands never hold the password. */
    assert_true(cs_config_load(&cfg, CS_ROLE_WORKER, err, sizeof(err)));
    assert_null(cfg.api_role_password);
    cs_config_free(&cfg);
    setenv("CALLSTATS_API_ROLE",
           "r234567890123456789012345678901234567890"
           "123456789012345678901234",
           1);
    expect_error(CS_ROLE_MIGRATE, "CALLSTATS_API_ROLE: \"r2345");
}

static void test_a_label_cannot_be_both_kinds(void **state)
{
    (void)state;
    setenv("CALLSTATS_GRADE_9", "AS1,9元", 1);
    setenv("CALLSTATS_GRADE_1", "AS2,9元", 1);
    expect_error(CS_ROLE_WORKER, "CALLSTATS_GRADE_1: \"9元\" is also in");
    setenv("CALLSTATS_GRADE_1", " , ", 1);
    expect_error(CS_ROLE_WORKER, "CALLSTATS_GRADE_1: names no label");
}

static void test_conninfo_host_hides_password(void **state)
{
    (void)state;
    char buf[256];
    cs_conninfo_host("postgresql://w:hunter2@db.example:6432/calls", buf,
                     sizeof(buf));
    assert_string_equal(buf, "db.example:6432/calls");
    cs_conninfo_host("host=/run/pg dbname=callstats password=x", buf,
                     sizeof(buf));
    assert_string_equal(buf, "/run/pg:5432/callstats");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_worker_defaults, reset_env),
        cmocka_unit_test_setup(test_api_defaults_need_no_upstream, reset_env),
        cmocka_unit_test_setup(test_missing_values_are_named, reset_env),
        cmocka_unit_test_setup(test_secret_alone_is_enough, reset_env),
        cmocka_unit_test_setup(test_listen_on_ipv6, reset_env),
        cmocka_unit_test_setup(test_malformed_values_are_named, reset_env),
        cmocka_unit_test_setup(test_migrate_api_role, reset_env),
        cmocka_unit_test_setup(test_a_label_cannot_be_both_kinds, reset_env),
        cmocka_unit_test_setup(test_bad_database_url_is_not_echoed, reset_env),
        cmocka_unit_test_setup(test_migrate_needs_only_the_database, reset_env),
        cmocka_unit_test(test_conninfo_host_hides_password),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
