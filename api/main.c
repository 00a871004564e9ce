/*
 * callstats-api: serves the figures the worker stored, as JSON, CSV and a
 * dashboard page. Reads the environment (docs/configuration.md), listens
 * until SIGTERM or SIGINT.
 */
#include <civetweb.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cache.h"
#include "config.h"
#include "log.h"
#include "metrics.h"
#include "pool.h"
#include "routes.h"
#include "server.h"
#include "version.h"

static const char usage_text[] =
    "usage: callstats-api [--version | --help]\n"
    "Serves the figures callstats-worker stores, as JSON, CSV and a\n"
    "dashboard page, until SIGTERM or SIGINT. Configured by the\n"
    "environment: see docs/configuration.md; endpoints: docs/api.md.\n";

static int usage(const char *arg)
{
    fprintf(stderr, "callstats-api: unknown argument \"%s\"\n%s", arg,
            usage_text);
    return 2;
}

/* Blocks the stop signals in every thread; main waits for them. */
static void block_signals(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGINT);
    pthread_sigmask(SIG_BLOCK, set, NULL);
    signal(SIGPIPE, SIG_IGN);
}

static void log_start(const struct cs_config *cfg)
{
    char host[256];
    cs_conninfo_host(cfg->api_database_url, host, sizeof(host));
    cs_info("callstats-api starting version=%s civetweb=%s jansson=%s "
            "libpq=%d listen=%s:%d db=%s threads=%d queue=%d "
            "keep_alive_ms=%d db_connections=%d pool_wait_ms=%d cache_mb=%d "
            "token=%s cors_origins=%zu tz=%s",
            CS_VERSION, mg_version(), JANSSON_VERSION, PQlibVersion(),
            cfg->listen_host, cfg->listen_port, host, cfg->api_threads,
            cfg->api_queue, cfg->api_keep_alive_ms, cfg->api_db_connections,
            cfg->api_pool_wait_ms, cfg->api_cache_mb,
            cfg->api_token ? "set" : "none", cfg->cors_origins.count, cfg->tz);
}

static int serve(const struct cs_config *cfg, const sigset_t *stop)
{
    struct api_pool *pool = api_pool_create(
        cfg->api_database_url, cfg->api_db_connections, cfg->api_pool_wait_ms);
    struct api_cache *cache = api_cache_create(
        cfg->api_database_url, (size_t)cfg->api_cache_mb * 1024 * 1024);
    struct api_metrics *metrics = api_metrics_create();
    struct api_context ctx = {.cfg = cfg,
                              .pool = pool,
                              .cache = cache,
                              .metrics = metrics,
                              .today = NULL};
    struct api_server *server = NULL;
    if (pool != NULL && cache != NULL && metrics != NULL)
        server = api_server_start(&ctx);
    int status = 1;
    if (server != NULL) {
        cs_info("callstats-api ready listen=%s:%d", cfg->listen_host,
                api_server_port(server));
        int sig = 0;
        sigwait(stop, &sig);
        cs_info("signal received signal=%s action=stop",
                sig == SIGTERM ? "SIGTERM" : "SIGINT");
        api_server_stop(server);
        status = 0;
    }
    api_metrics_destroy(metrics);
    api_cache_destroy(cache);
    api_pool_destroy(pool);
    return status;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--version") == 0) {
        printf("callstats-api %s\n", CS_VERSION);
        return 0;
    }
    if (argc > 1 &&
        (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        fputs(usage_text, stdout);
        return 0;
    }
    if (argc > 1)
        return usage(argv[1]);
    struct cs_config cfg;
    cs_config_load_or_exit(&cfg, CS_ROLE_API);
    sigset_t stop;
    block_signals(&stop);
    log_start(&cfg);
    mg_init_library(0);
    int status = serve(&cfg, &stop);
    mg_exit_library();
    cs_info("callstats-api stopped status=%d", status);
    cs_config_free(&cfg);
    return status;
}
