/* Reads and checks the environment described in docs/configuration.md. */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "date.h"
#include "grades.h"

#define DEFAULT_TZ       "Asia/Shanghai"
#define DEFAULT_LISTEN   "127.0.0.1:8080"
#define DEFAULT_API_ROLE "callstats_api"
/* PostgreSQL cuts longer names short (NAMEDATALEN - 1 bytes). */
#define ROLE_NAME_MAX 63

static char *env_copy(const char *name, const char *fallback)
{
    const char *value = getenv(name);
    if (value == NULL || value[0] == '\0')
        value = fallback;
    return value ? strdup(value) : NULL;
}

void cs_list_parse(const char *text, struct cs_list *list)
{
    list->items = NULL;
    list->count = 0;
    if (text == NULL)
        return;
    const char *p = text;
    for (;;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        const char *start = p;
        while (len > 0 && isspace((unsigned char)*start)) {
            start++;
            len--;
        }
        while (len > 0 && isspace((unsigned char)start[len - 1]))
            len--;
        if (len > 0) {
            list->items =
                realloc(list->items, (list->count + 1) * sizeof(char *));
            list->items[list->count++] = strndup(start, len);
        }
        if (end == NULL)
            break;
        p = end + 1;
    }
}

void cs_list_free(struct cs_list *list)
{
    for (size_t i = 0; i < list->count; i++)
        free(list->items[i]);
    free(list->items);
    list->items = NULL;
    list->count = 0;
}

bool cs_list_contains(const struct cs_list *list, const char *item)
{
    for (size_t i = 0; i < list->count; i++)
        if (strcmp(list->items[i], item) == 0)
            return true;
    return false;
}

/* Reads a whole decimal integer in [min, max]; fallback when unset. */
static bool env_int(const char *name, int fallback, int min, int max, int *out,
                    char *err, size_t errlen)
{
    const char *value = getenv(name);
    if (value == NULL || value[0] == '\0') {
        *out = fallback;
        return true;
    }
    char *end;
    errno = 0;
    long v = strtol(value, &end, 10);
    if (errno != 0 || *end != '\0' || end == value || v < min || v > max) {
        snprintf(err, errlen, "%s: \"%s\" is not a whole number from %d to %d",
                 name, value, min, max);
        return false;
    }
    *out = (int)v;
    return true;
}

/* Splits "address:port"; an IPv6 address is written in brackets, as in
 * "[::1]:8080". The address must be a numeric IPv4 or IPv6 address. */
static bool split_listen(char *text, char **host, long *port)
{
    char *colon = strrchr(text, ':');
    char *end = NULL;
    if (colon == NULL || colon == text)
        return false;
    *port = strtol(colon + 1, &end, 10);
    if (end == colon + 1 || *end != '\0' || *port < 1 || *port > 65535)
        return false;
    *colon = '\0';
    *host = text;
    size_t len = strlen(text);
    if (text[0] == '[' && len > 2 && text[len - 1] == ']') {
        text[len - 1] = '\0';
        *host = text + 1;
    }
    unsigned char addr[sizeof(struct in6_addr)];
    return inet_pton(strchr(*host, ':') ? AF_INET6 : AF_INET, *host, addr) == 1;
}

static bool parse_listen(struct cs_config *cfg, char *err, size_t errlen)
{
    char *text = env_copy("CALLSTATS_LISTEN", DEFAULT_LISTEN);
    char *copy = strdup(text);
    char *host = NULL;
    long port = 0;
    if (!split_listen(copy, &host, &port)) {
        snprintf(err, errlen,
                 "CALLSTATS_LISTEN: \"%s\" is not address:port with a "
                 "numeric address (for example 127.0.0.1:8080 or [::1]:8080)",
                 text);
        free(text);
        free(copy);
        return false;
    }
    cfg->listen_host = strdup(host);
    cfg->listen_port = (int)port;
    free(text);
    free(copy);
    return true;
}

static bool check_url(const char *name, const char *url, char *err,
                      size_t errlen)
{
    const char *host = strstr(url, "://");
    if ((strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0) ||
        host[3] == '\0' || host[3] == '/' || host[3] == ':' ||
        strpbrk(url, " \t\r\n") != NULL) {
        snprintf(err, errlen,
                 "%s: \"%s\" is not an http:// or https:// URL with a host",
                 name, url);
        return false;
    }
    return true;
}

static bool check_conninfo(const char *name, const char *conninfo, char *err,
                           size_t errlen)
{
    char *perr = NULL;
    PQconninfoOption *opts = PQconninfoParse(conninfo, &perr);
    if (opts == NULL) {
        /* libpq's message quotes the part it could not read, which may be
         * a password: it is not shown. */
        snprintf(err, errlen,
                 "%s: not a libpq connection string or URI (the value is "
                 "not shown, as it may hold a password)",
                 name);
        PQfreemem(perr);
        return false;
    }
    PQconninfoFree(opts);
    return true;
}

static bool load_worker_part(struct cs_config *cfg, char *err, size_t errlen)
{
    if (cfg->base_url == NULL) {
        snprintf(err, errlen,
                 "GUANKE_BASE_URL: required by the worker, "
                 "not set");
        return false;
    }
    if (!check_url("GUANKE_BASE_URL", cfg->base_url, err, errlen))
        return false;
    size_t len = strlen(cfg->base_url);
    while (len > 0 && cfg->base_url[len - 1] == '/')
        cfg->base_url[--len] = '\0';
    bool have_login = cfg->username != NULL || cfg->password != NULL;
    if (have_login && (cfg->username == NULL || cfg->password == NULL)) {
        snprintf(err, errlen, "%s: required when %s is set",
                 cfg->username ? "GUANKE_PASSWORD" : "GUANKE_USERNAME",
                 cfg->username ? "GUANKE_USERNAME" : "GUANKE_PASSWORD");
        return false;
    }
    if (!have_login && cfg->api_secret == NULL) {
        snprintf(err, errlen,
                 "GUANKE_USERNAME: not set, and neither is GUANKE_API_SECRET; "
                 "the worker needs one way to log in");
        return false;
    }
    return env_int("CALLSTATS_HTTP_TIMEOUT", 60, 1, 3600, &cfg->http_timeout,
                   err, errlen) &&
           env_int("CALLSTATS_HTTP_RETRIES", 5, 0, 100, &cfg->http_retries, err,
                   errlen) &&
           env_int("CALLSTATS_PAGES_IN_FLIGHT", 2, 1, 16, &cfg->pages_in_flight,
                   err, errlen) &&
           env_int("CALLSTATS_RUN_DEADLINE", 1800, 10, 86400,
                   &cfg->run_deadline, err, errlen) &&
           env_int("CALLSTATS_TODAY_LOOKBACK", 900, 0, 86400,
                   &cfg->today_lookback, err, errlen) &&
           env_int("CALLSTATS_SLOT_OFFSET", -1, 0, 59, &cfg->slot_offset, err,
                   errlen) &&
           env_int("CALLSTATS_LEADER_TIMEOUT", 180, 10, 86400,
                   &cfg->leader_timeout, err, errlen);
}

/* The token is sent in a header: printable ASCII without spaces, and
 * long enough not to be guessed. Its value is never printed. */
static bool check_token(struct cs_config *cfg, char *err, size_t errlen)
{
    cfg->api_token = env_copy("CALLSTATS_API_TOKEN", NULL);
    if (cfg->api_token == NULL)
        return true;
    for (const char *p = cfg->api_token; *p; p++) {
        if (*p <= ' ' || *p > '~') {
            snprintf(err, errlen,
                     "CALLSTATS_API_TOKEN: holds a space or a character "
                     "that is not printable ASCII");
            return false;
        }
    }
    if (strlen(cfg->api_token) < 16) {
        snprintf(err, errlen,
                 "CALLSTATS_API_TOKEN: %zu characters; use at least 16",
                 strlen(cfg->api_token));
        return false;
    }
    return true;
}

static bool load_api_part(struct cs_config *cfg, char *err, size_t errlen)
{
    cs_list_parse(getenv("CALLSTATS_CORS_ORIGINS"), &cfg->cors_origins);
    return parse_listen(cfg, err, errlen) &&
           env_int("CALLSTATS_API_THREADS", 16, 2, 512, &cfg->api_threads, err,
                   errlen) &&
           env_int("CALLSTATS_API_DB_CONNECTIONS", 4, 1, 256,
                   &cfg->api_db_connections, err, errlen) &&
           env_int("CALLSTATS_API_POOL_WAIT_MS", 1000, 10, 60000,
                   &cfg->api_pool_wait_ms, err, errlen) &&
           env_int("CALLSTATS_API_CACHE_MB", 64, 0, 65536, &cfg->api_cache_mb,
                   err, errlen) &&
           env_int("CALLSTATS_API_KEEP_ALIVE_MS", 5000, 0, 600000,
                   &cfg->api_keep_alive_ms, err, errlen) &&
           env_int("CALLSTATS_API_QUEUE", 256, 1, 65536, &cfg->api_queue, err,
                   errlen) &&
           check_token(cfg, err, errlen);
}

/* The API's login role that migrate makes: the default when unset, none
 * when set empty. */
static bool load_migrate_part(struct cs_config *cfg, char *err, size_t errlen)
{
    const char *role = getenv("CALLSTATS_API_ROLE");
    if (role == NULL)
        role = DEFAULT_API_ROLE;
    if (strlen(role) > ROLE_NAME_MAX) {
        snprintf(err, errlen,
                 "CALLSTATS_API_ROLE: \"%s\" is longer than %d bytes, the "
                 "longest name PostgreSQL keeps",
                 role, ROLE_NAME_MAX);
        return false;
    }
    cfg->api_role = role[0] != '\0' ? strdup(role) : NULL;
    cfg->api_role_password = env_copy("CALLSTATS_API_ROLE_PASSWORD", NULL);
    return true;
}

static bool load_grades(struct cs_config *cfg, char *err, size_t errlen)
{
    char *g9 = env_copy("CALLSTATS_GRADE_9", CS_GRADE_9_DEFAULT);
    char *g1 = env_copy("CALLSTATS_GRADE_1", CS_GRADE_1_DEFAULT);
    cs_list_parse(g9, &cfg->grade_9);
    cs_list_parse(g1, &cfg->grade_1);
    free(g9);
    free(g1);
    for (size_t i = 0; i < cfg->grade_9.count; i++) {
        if (cs_list_contains(&cfg->grade_1, cfg->grade_9.items[i])) {
            snprintf(err, errlen,
                     "CALLSTATS_GRADE_1: \"%s\" is also in CALLSTATS_GRADE_9; "
                     "a label can count as one kind of order only",
                     cfg->grade_9.items[i]);
            return false;
        }
    }
    if (cfg->grade_9.count == 0 || cfg->grade_1.count == 0) {
        snprintf(err, errlen, "%s: names no label",
                 cfg->grade_9.count == 0 ? "CALLSTATS_GRADE_9"
                                         : "CALLSTATS_GRADE_1");
        return false;
    }
    return true;
}

static bool load(struct cs_config *cfg, enum cs_role role, char *err,
                 size_t errlen)
{
    const char *level = getenv("CALLSTATS_LOG_LEVEL");
    cfg->log_level = CS_LOG_INFO;
    if (level && level[0] && !cs_log_parse_level(level, &cfg->log_level)) {
        snprintf(err, errlen,
                 "CALLSTATS_LOG_LEVEL: \"%s\" is not one of error, warn, "
                 "info, debug",
                 level);
        return false;
    }
    if (cfg->database_url == NULL) {
        snprintf(err, errlen, "DATABASE_URL: required, not set");
        return false;
    }
    if (!check_conninfo("DATABASE_URL", cfg->database_url, err, errlen) ||
        (role == CS_ROLE_API &&
         !check_conninfo("CALLSTATS_API_DATABASE_URL", cfg->api_database_url,
                         err, errlen)))
        return false;
    char tzerr[600];
    if (!cs_tz_apply(cfg->tz, tzerr, sizeof(tzerr))) {
        snprintf(err, errlen, "CALLSTATS_TZ: %s", tzerr);
        return false;
    }
    cs_list_parse(getenv("CALLSTATS_INTERNAL_ACCOUNTS"),
                  &cfg->internal_accounts);
    if (!load_grades(cfg, err, errlen))
        return false;
    if (role == CS_ROLE_WORKER)
        return load_worker_part(cfg, err, errlen);
    if (role == CS_ROLE_API)
        return load_api_part(cfg, err, errlen);
    return load_migrate_part(cfg, err, errlen);
}

bool cs_config_load(struct cs_config *cfg, enum cs_role role, char *err,
                    size_t errlen)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->database_url = env_copy("DATABASE_URL", NULL);
    cfg->api_database_url =
        env_copy("CALLSTATS_API_DATABASE_URL", cfg->database_url);
    cfg->base_url = env_copy("GUANKE_BASE_URL", NULL);
    cfg->username = env_copy("GUANKE_USERNAME", NULL);
    cfg->password = env_copy("GUANKE_PASSWORD", NULL);
    cfg->api_secret = env_copy("GUANKE_API_SECRET", NULL);
    cfg->tz = env_copy("CALLSTATS_TZ", DEFAULT_TZ);
    if (!load(cfg, role, err, errlen)) {
        cs_config_free(cfg);
        return false;
    }
    cs_log_set_level(cfg->log_level);
    return true;
}

void cs_config_load_or_exit(struct cs_config *cfg, enum cs_role role)
{
    char err[1024];
    if (!cs_config_load(cfg, role, err, sizeof(err))) {
        fprintf(stderr, "configuration error: %s\n", err);
        exit(2);
    }
}

void cs_config_free(struct cs_config *cfg)
{
    free(cfg->database_url);
    free(cfg->api_database_url);
    free(cfg->base_url);
    free(cfg->username);
    free(cfg->password);
    free(cfg->api_secret);
    free(cfg->api_token);
    cs_list_free(&cfg->cors_origins);
    free(cfg->tz);
    free(cfg->listen_host);
    free(cfg->api_role);
    free(cfg->api_role_password);
    cs_list_free(&cfg->internal_accounts);
    cs_list_free(&cfg->grade_9);
    cs_list_free(&cfg->grade_1);
    memset(cfg, 0, sizeof(*cfg));
}

void cs_conninfo_host(const char *conninfo, char *buf, size_t buflen)
{
    snprintf(buf, buflen, "(default)");
    PQconninfoOption *opts = PQconninfoParse(conninfo, NULL);
    if (opts == NULL)
        return;
    const char *host = NULL, *port = NULL, *dbname = NULL;
    for (PQconninfoOption *o = opts; o->keyword; o++) {
        if (o->val == NULL)
            continue;
        if (strcmp(o->keyword, "host") == 0)
            host = o->val;
        else if (strcmp(o->keyword, "port") == 0)
            port = o->val;
        else if (strcmp(o->keyword, "dbname") == 0)
            dbname = o->val;
    }
    snprintf(buf, buflen, "%s:%s/%s", host ? host : "(default)",
             port ? port : "5432", dbname ? dbname : "(default)");
    PQconninfoFree(opts);
}
