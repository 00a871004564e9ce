/*
 * callstats-worker: pulls the upstream's call statistics and call records
 * into PostgreSQL. Commands: migrate, sync (a backfill), run (the daemon).
 */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "daemon.h"
#include "date.h"
#include "daysync.h"
#include "db.h"
#include "log.h"
#include "migrate.h"
#include "signals.h"
#include "upstream.h"
#include "version.h"

#define MAX_RANGE_DAYS 366

extern char **environ;

struct sync_args {
    cs_day from, to;
    enum sched_source sources;
};

static void usage(FILE *out)
{
    fprintf(out,
            "usage: callstats-worker migrate\n"
            "       callstats-worker sync --from YYYY-MM-DD --to YYYY-MM-DD "
            "[--source stats|calls|all]\n"
            "       callstats-worker run\n"
            "       callstats-worker jobs\n"
            "Configuration comes from the environment (DATABASE_URL, "
            "GUANKE_BASE_URL, ...).\n");
}

static int usage_error(const char *what, const char *value)
{
    fprintf(stderr, "usage error: %s%s%s%s\n", what, value ? " \"" : "",
            value ? value : "", value ? "\"" : "");
    return 2;
}

/* Returns 0 when args were read, else the exit status of a usage error. */
static int parse_sync_args(int argc, char **argv, struct sync_args *a)
{
    bool have_from = false, have_to = false;
    a->sources = SCHED_BOTH;
    for (int i = 2; i < argc; i += 2) {
        const char *opt = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (val == NULL)
            return usage_error("missing value after", opt);
        if (strcmp(opt, "--from") == 0) {
            if (!(have_from = cs_date_parse(val, &a->from)))
                return usage_error("--from: not a date YYYY-MM-DD:", val);
        } else if (strcmp(opt, "--to") == 0) {
            if (!(have_to = cs_date_parse(val, &a->to)))
                return usage_error("--to: not a date YYYY-MM-DD:", val);
        } else if (strcmp(opt, "--source") == 0) {
            if (!sched_parse_source(val, &a->sources))
                return usage_error("--source: not stats, calls or all:", val);
        } else {
            return usage_error("unknown option", opt);
        }
    }
    if (!have_from || !have_to)
        return usage_error(
            have_from ? "--to is required" : "--from is required", NULL);
    if (a->from > a->to)
        return usage_error("--from is after --to", NULL);
    if (a->to - a->from + 1 > MAX_RANGE_DAYS)
        return usage_error("range over 366 days", NULL);
    return 0;
}

static void print_day(cs_day day, enum sched_source source, bool ok,
                      const struct daysync_result *res)
{
    char date[CS_DATE_LEN];
    cs_date_format(day, date);
    printf("%s %s records=%lld seconds=%.2f result=%s", date,
           daysync_source_name(source), (long long)res->records, res->seconds,
           ok ? "ok" : "failed");
    if (!ok) {
        printf(" error=\"");
        for (const char *p = res->err.msg; *p; p++)
            putchar(*p == '"' ? '\'' : *p);
        putchar('"');
    }
    putchar('\n');
    fflush(stdout);
}

static int sync_days(struct daysync *ds, const struct sync_args *a)
{
    int failed = 0;
    const enum sched_source order[] = {SCHED_STATS, SCHED_CALLS};
    for (cs_day day = a->from; day <= a->to; day++) {
        for (int i = 0; i < 2; i++) {
            struct daysync_result res;
            if (!(a->sources & order[i]))
                continue;
            bool ok = daysync_run(ds, day, order[i], &res);
            print_day(day, order[i], ok, &res);
            failed += !ok;
            if (sig_stop_requested())
                return 1;
        }
    }
    return failed > 0 ? 1 : 0;
}

static int cmd_sync(int argc, char **argv)
{
    struct sync_args args;
    struct cs_config cfg;
    struct werr err = {{0}};
    int status = parse_sync_args(argc, argv, &args);
    if (status != 0)
        return status;
    cs_config_load_or_exit(&cfg, CS_ROLE_WORKER);
    if (args.to > cs_today()) {
        cs_config_free(&cfg);
        return usage_error("--to is after today in CALLSTATS_TZ", NULL);
    }
    char host[256];
    cs_conninfo_host(cfg.database_url, host, sizeof(host));
    cs_info("callstats-worker sync version=%s db=%s days=%d", CS_VERSION, host,
            args.to - args.from + 1);
    struct upstream *up = upstream_new(&cfg);
    struct daysync ds = {&cfg, up, NULL, NULL, NULL, NULL};
    status = 1;
    if (up != NULL && daysync_connect(&ds, &err)) /* checks the schema */
        status = sync_days(&ds, &args);
    daysync_close(&ds);
    upstream_free(up);
    cs_config_free(&cfg);
    return status;
}

static int cmd_migrate(void)
{
    struct cs_config cfg;
    struct werr err = {{0}};
    cs_config_load_or_exit(&cfg, CS_ROLE_MIGRATE);
    char host[256];
    cs_conninfo_host(cfg.database_url, host, sizeof(host));
    cs_info("callstats-worker migrate version=%s db=%s", CS_VERSION, host);
    PGconn *conn =
        cs_db_connect(cfg.database_url, "callstats-worker migrate", false);
    bool ok = conn != NULL && migrate_apply(conn, stdout, &err) &&
              migrate_api_role(conn, cfg.api_role, cfg.api_role_password,
                               stdout, &err);
    PQfinish(conn);
    cs_config_free(&cfg);
    return ok ? 0 : 1;
}

/* The job table of the environment, or exit 2 naming what is wrong. */
static void load_jobs_or_exit(struct sched_table *jobs)
{
    char err[300];
    if (!sched_load(jobs, environ, err, sizeof(err))) {
        fprintf(stderr, "configuration error: %s\n", err);
        exit(2);
    }
}

static int cmd_run(void)
{
    struct cs_config cfg;
    struct sched_table jobs;
    cs_config_load_or_exit(&cfg, CS_ROLE_WORKER);
    load_jobs_or_exit(&jobs);
    int status = daemon_run(&cfg, &jobs);
    cs_config_free(&cfg);
    return status;
}

/* Prints the job table with each job's next run in CALLSTATS_TZ. Needs no
 * database and no upstream. */
static int cmd_jobs(void)
{
    struct sched_table jobs;
    char err[256], host[128];
    const char *tz = getenv("CALLSTATS_TZ");
    const char *offset_text = getenv("CALLSTATS_SLOT_OFFSET");
    tz = tz != NULL && tz[0] != '\0' ? tz : "Asia/Shanghai";
    if (!cs_tz_apply(tz, err, sizeof(err))) {
        fprintf(stderr, "configuration error: CALLSTATS_TZ: %s\n", err);
        return 2;
    }
    load_jobs_or_exit(&jobs);
    if (gethostname(host, sizeof(host)) != 0)
        snprintf(host, sizeof(host), "unknown");
    host[sizeof(host) - 1] = '\0';
    int offset = sched_offset_from(host);
    if (offset_text != NULL && offset_text[0] != '\0') {
        char *end;
        long v = strtol(offset_text, &end, 10);
        if (*end != '\0' || end == offset_text || v < 0 || v > 59) {
            fprintf(stderr,
                    "configuration error: CALLSTATS_SLOT_OFFSET: \"%s\" is "
                    "not a whole number from 0 to 59\n",
                    offset_text);
            return 2;
        }
        offset = (int)v;
    }
    time_t now = time(NULL);
    printf("%-16s %-48s %s\n", "JOB", "SCHEDULE", "NEXT RUN");
    for (size_t i = 0; i < jobs.count; i++) {
        char spec[SCHED_SPEC_LEN], when[40];
        struct tm tm;
        time_t next = sched_next_slot(&jobs.jobs[i], now - offset) + offset;
        sched_format(&jobs.jobs[i], spec, sizeof(spec));
        localtime_r(&next, &tm);
        strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S %z", &tm);
        printf("%-16s %-48s %s\n", jobs.jobs[i].name, spec, when);
    }
    printf("times are in %s; runs start %d s after their slot\n", tz, offset);
    return fflush(stdout) == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(cmd, "--version") == 0) {
        printf("callstats-worker %s\n", CS_VERSION);
        return 0;
    }
    if (strcmp(cmd, "jobs") == 0)
        return argc > 2
                   ? usage_error("jobs takes no arguments; unexpected", argv[2])
                   : cmd_jobs();
    if (strcmp(cmd, "migrate") != 0 && strcmp(cmd, "sync") != 0 &&
        strcmp(cmd, "run") != 0)
        return usage_error("unknown command", cmd);
    if (strcmp(cmd, "migrate") != 0 && argc > 2 && strcmp(cmd, "run") == 0)
        return usage_error("run takes no arguments; unexpected", argv[2]);
    if (strcmp(cmd, "migrate") == 0 && argc > 2)
        return usage_error("migrate takes no arguments; unexpected", argv[2]);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    sig_install();
    int status = strcmp(cmd, "migrate") == 0 ? cmd_migrate()
                 : strcmp(cmd, "sync") == 0  ? cmd_sync(argc, argv)
                                             : cmd_run();
    curl_global_cleanup();
    return status;
}
