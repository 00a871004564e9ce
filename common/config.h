/*
 * Configuration from the environment (so systemd's EnvironmentFile works),
 * shared by the worker and the API. docs/configuration.md lists every
 * variable; tests/check-docs.sh checks that it does.
 */
#ifndef CS_CONFIG_H
#define CS_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "log.h"

/* Which program loads the configuration: each requires its own part. */
enum cs_role {
    CS_ROLE_WORKER,  /* sync and run: the database and the upstream */
    CS_ROLE_API,     /* the database and the listen address */
    CS_ROLE_MIGRATE, /* the database, and the API's login role */
};

/* A comma-separated list, each item trimmed of spaces, empty ones dropped. */
struct cs_list {
    char **items;
    size_t count;
};

struct cs_config {
    char *database_url;          /* DATABASE_URL */
    char *api_database_url;      /* CALLSTATS_API_DATABASE_URL */
    char *base_url;              /* GUANKE_BASE_URL, without trailing '/' */
    char *username;              /* GUANKE_USERNAME */
    char *password;              /* GUANKE_PASSWORD */
    char *api_secret;            /* GUANKE_API_SECRET */
    char *tz;                    /* CALLSTATS_TZ */
    char *listen_host;           /* CALLSTATS_LISTEN, the address part */
    int listen_port;             /* CALLSTATS_LISTEN, the port part */
    int api_threads;             /* CALLSTATS_API_THREADS */
    int api_db_connections;      /* CALLSTATS_API_DB_CONNECTIONS */
    int api_pool_wait_ms;        /* CALLSTATS_API_POOL_WAIT_MS */
    int api_cache_mb;            /* CALLSTATS_API_CACHE_MB; 0: no cache */
    int api_keep_alive_ms;       /* CALLSTATS_API_KEEP_ALIVE_MS; 0: off */
    int api_queue;               /* CALLSTATS_API_QUEUE, connections waiting */
    char *api_token;             /* CALLSTATS_API_TOKEN, or NULL */
    struct cs_list cors_origins; /* CALLSTATS_CORS_ORIGINS */
    int http_timeout;            /* CALLSTATS_HTTP_TIMEOUT, seconds */
    int http_retries;            /* CALLSTATS_HTTP_RETRIES */
    int pages_in_flight;         /* CALLSTATS_PAGES_IN_FLIGHT */
    int run_deadline;            /* CALLSTATS_RUN_DEADLINE, seconds */
    int today_lookback;          /* CALLSTATS_TODAY_LOOKBACK, seconds */
    int slot_offset;    /* CALLSTATS_SLOT_OFFSET, seconds; -1: derived */
    int leader_timeout; /* CALLSTATS_LEADER_TIMEOUT, seconds */
    struct cs_list internal_accounts; /* CALLSTATS_INTERNAL_ACCOUNTS */
    struct cs_list grade_9;           /* CALLSTATS_GRADE_9 */
    struct cs_list grade_1;           /* CALLSTATS_GRADE_1 */
    enum cs_log_level log_level;      /* CALLSTATS_LOG_LEVEL */
    /* Read by migrate alone: */
    char *api_role;          /* CALLSTATS_API_ROLE; NULL when set empty */
    char *api_role_password; /* CALLSTATS_API_ROLE_PASSWORD, or NULL */
};

/*
 * Fills cfg from the environment and applies the business time zone.
 * On a missing or malformed value returns false with one line in err that
 * names the variable and what was wrong; cfg is then freed.
 */
__attribute__((warn_unused_result)) bool cs_config_load(struct cs_config *cfg,
                                                        enum cs_role role,
                                                        char *err,
                                                        size_t errlen);

/* Loads the configuration or prints the error and exits with status 2. */
void cs_config_load_or_exit(struct cs_config *cfg, enum cs_role role);

void cs_config_free(struct cs_config *cfg);

/* Splits text at commas; never fails. Free with cs_list_free. */
void cs_list_parse(const char *text, struct cs_list *list);
void cs_list_free(struct cs_list *list);
bool cs_list_contains(const struct cs_list *list, const char *item);

/* The host part of a libpq connection string or URI, for the start line;
 * "(default)" when it names none. Never returns the password. */
void cs_conninfo_host(const char *conninfo, char *buf, size_t buflen);

#endif
