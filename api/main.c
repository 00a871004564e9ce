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

#include "config.h"
#include "log.h"
#include "pool.h"
#include "routes.h"
#include "server.h"
#include "version.h"

/* Seconds a request waits for a free database connection before a 503. */
#define POOL_WAIT_SECONDS 5

static int usage(const char *arg)
{
    fprintf(stderr,
            "callstats-api: unknown argument \"%s\"\n"
            "usage: callstats-api [--version]\n"
            "Configured by the environment: see docs/configuration.md.\n",
            arg);
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
            "libpq=%d listen=%s:%d db=%s threads=%d db_connections=%d tz=%s",
            CS_VERSION, mg_version(), JANSSON_VERSION, PQlibVersion(),
            cfg->listen_host, cfg->listen_port, host, cfg->api_threads,
            cfg->api_db_connections, cfg->tz);
}

static int serve(const struct cs_config *cfg, const sigset_t *stop)
{
    struct api_pool *pool = api_pool_create(
        cfg->api_database_url, cfg->api_db_connections, POOL_WAIT_SECONDS);
    if (pool == NULL)
        return 1;
    struct api_context ctx = {.cfg = cfg, .pool = pool, .today = NULL};
    struct api_server *server = api_server_start(
        &ctx, cfg->listen_host, cfg->listen_port, cfg->api_threads);
    if (server == NULL) {
        api_pool_destroy(pool);
        return 1;
    }
    cs_info("callstats-api ready listen=%s:%d", cfg->listen_host,
            api_server_port(server));
    int sig = 0;
    sigwait(stop, &sig);
    cs_info("signal received signal=%s action=stop",
            sig == SIGTERM ? "SIGTERM" : "SIGINT");
    api_server_stop(server);
    api_pool_destroy(pool);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--version") == 0) {
        printf("callstats-api %s\n", CS_VERSION);
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
