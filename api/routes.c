/* The endpoints of callstats-api and their JSON, CSV and HTML bodies. */
#include "routes.h"

#include <civetweb.h>
#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "buf.h"
#include "cache.h"
#include "csv.h"
#include "embedded.h"
#include "log.h"
#include "metrics.h"
#include "params.h"
#include "report.h"
#include "status.h"
#include "store.h"
#include "tables.h"
#include "version.h"

#define JSON_TYPE    "application/json; charset=utf-8"
#define CSV_TYPE     "text/csv; charset=utf-8"
#define HTML_TYPE    "text/html; charset=utf-8"
#define METRICS_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* How long /api/ready waits for a connection and its answer together. */
#define READY_WAIT_MS 1000

static const char out_of_memory_body[] =
    "{\"success\":false,\"code\":\"internal_error\","
    "\"error\":\"the response could not be built (out of memory)\"}";

void api_set_body(struct api_response *resp, int status, const char *type,
                  char *body, size_t length, bool owned)
{
    resp->status = status;
    resp->content_type = type;
    resp->body = body;
    resp->length = length;
    resp->body_owned = owned;
}

/* Encodes and takes ownership of body; a 500 when that fails. */
void api_set_json(struct api_response *resp, int status, json_t *body)
{
    char *text = body ? json_dumps(body, API_JSON_FLAGS) : NULL;
    json_decref(body);
    if (text == NULL) {
        cs_error("response encoding failed status=%d", status);
        api_set_body(resp, 500, JSON_TYPE, (char *)out_of_memory_body,
                     sizeof(out_of_memory_body) - 1, false);
        return;
    }
    api_set_body(resp, status, JSON_TYPE, text, strlen(text), true);
}

void api_set_error(struct api_response *resp, const struct api_error *err)
{
    api_set_json(resp, err->status,
                 json_pack("{s:b, s:s, s:s}", "success", false, "code",
                           err->code, "error", err->message));
}

void api_set_store_failure(struct api_response *resp,
                           enum api_store_failure why)
{
    struct api_error err;
    if (why == API_STORE_UNAVAILABLE)
        api_error_set(&err, 503, "database_unavailable",
                      "the database cannot be reached; try again later");
    else if (why == API_STORE_BUSY)
        api_error_set(&err, 503, "database_busy",
                      "the database is busy (no connection came free, or a "
                      "query ran out of time); try again");
    if (why != API_STORE_FAILED)
        resp->retry_after = why == API_STORE_BUSY ? 1 : 5;
    else
        api_error_set(&err, 500, "internal_error",
                      "the figures could not be read; the server log "
                      "says why");
    api_set_error(resp, &err);
}

void api_set_success(struct api_response *resp, json_t *data)
{
    api_set_json(resp, 200,
                 json_pack("{s:b, s:o}", "success", true, "data", data));
}

static cs_day today_of(const struct api_context *ctx)
{
    return ctx->today ? ctx->today() : cs_today();
}

/* Reads n days; false with resp set to the error otherwise. */
static bool read_days(const struct api_context *ctx, const cs_day *dates,
                      size_t n, struct api_day *out, struct api_response *resp)
{
    enum api_store_failure why;
    struct api_result version;
    if (api_store_read_days(ctx->pool, dates, n, &ctx->cfg->internal_accounts,
                            out, &version, &why)) {
        api_set_version(resp, &version);
        return true;
    }
    api_set_store_failure(resp, why);
    return false;
}

/* Days from first, n of them, plus room for extra more; NULL when out of
 * memory (logged). */
static cs_day *day_list(cs_day first, size_t n, size_t extra)
{
    cs_day *dates = calloc(n + extra, sizeof(cs_day));
    if (dates == NULL) {
        cs_error("day list allocation failed days=%zu", n + extra);
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        dates[i] = first + (cs_day)i;
    return dates;
}

/* A JSON array of day rows. */
static bool write_days(struct buf *out, const struct api_day *days, size_t n)
{
    bool ok = buf_puts(out, "[");
    for (size_t i = 0; ok && i < n; i++)
        ok = (i == 0 || buf_puts(out, ",")) && api_day_write(out, &days[i]);
    return ok && buf_puts(out, "]");
}

/* Takes a body written into out as the answer, or answers 500. */
static void set_written(struct api_response *resp, struct buf *out, bool ok)
{
    if (!ok) {
        cs_error("response encoding failed status=200");
        buf_free(out);
        api_set_body(resp, 500, JSON_TYPE, (char *)out_of_memory_body,
                     sizeof(out_of_memory_body) - 1, false);
        return;
    }
    api_set_body(resp, 200, JSON_TYPE, out->data, out->len, true);
}

static void handle_health(const struct api_context *ctx, const char *query,
                          struct api_response *resp)
{
    (void)ctx;
    (void)query;
    api_set_json(resp, 200,
                 json_pack("{s:b, s:s, s:s}", "success", true, "status", "ok",
                           "version", CS_VERSION));
}

/* A file compiled into the program, by name; NULL when absent. */
static const char *embedded_text(const char *name)
{
    for (const struct cs_embedded *p = cs_api_pages; p->name; p++)
        if (strcmp(p->name, name) == 0)
            return p->text;
    return NULL;
}

static void handle_page(const struct api_context *ctx, const char *query,
                        struct api_response *resp)
{
    (void)ctx;
    (void)query;
    const char *page = embedded_text("dashboard.html");
    if (page == NULL) {
        struct api_error err;
        api_error_set(&err, 404, "not_found",
                      "this build has no dashboard page");
        api_set_error(resp, &err);
        return;
    }
    api_set_body(resp, 200, HTML_TYPE, (char *)page, strlen(page), false);
}

static double seconds_since(const struct timespec *start)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    double s = (double)(now.tv_sec - start->tv_sec) +
               (double)(now.tv_nsec - start->tv_nsec) / 1e9;
    return (double)(long long)(s * 1e6 + 0.5) / 1e6;
}

static void handle_grade_stats(const struct api_context *ctx, const char *query,
                               struct api_response *resp)
{
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    struct api_error err;
    cs_day date;
    struct api_day day;
    if (!api_param_date(query, "date", &date, &err)) {
        api_set_error(resp, &err);
        return;
    }
    if (!read_days(ctx, &date, 1, &day, resp))
        return;
    char text[CS_DATE_LEN], at[40];
    cs_date_format(date, text);
    if (!day.calls_synced) {
        api_error_set(&err, 404, "not_synced",
                      "the call records of %s have not been synced yet", text);
        api_set_error(resp, &err);
        return;
    }
    api_format_time(day.grades_synced_at, at, sizeof(at));
    api_set_success(resp, json_pack("{s:s, s:I, s:I, s:I, s:I, s:s, s:b, s:f}",
                                    "date", text, "grade_9",
                                    (json_int_t)day.grade_9, "grade_1",
                                    (json_int_t)day.grade_1, "total_success",
                                    (json_int_t)(day.grade_9 + day.grade_1),
                                    "total_records", (json_int_t)day.records,
                                    "calculated_at", at, "from_cache", true,
                                    "elapsed_time", seconds_since(&start)));
}

/* Reads the days of a valid from/to query; NULL with resp set otherwise.
 * The caller frees the result. */
static struct api_day *read_range(const struct api_context *ctx,
                                  const char *query, cs_day *from, size_t *n,
                                  struct api_response *resp)
{
    struct api_error err;
    cs_day to;
    if (!api_param_range(query, from, &to, &err)) {
        api_set_error(resp, &err);
        return NULL;
    }
    *n = (size_t)(to - *from + 1);
    cs_day *dates = day_list(*from, *n, 0);
    struct api_day *days = calloc(*n, sizeof(*days));
    if (dates == NULL || days == NULL) {
        api_set_store_failure(resp, API_STORE_FAILED);
    } else if (read_days(ctx, dates, *n, days, resp)) {
        free(dates);
        return days;
    }
    free(dates);
    free(days);
    return NULL;
}

static void handle_daily(const struct api_context *ctx, const char *query,
                         struct api_response *resp)
{
    cs_day from;
    size_t n;
    struct api_day *days = read_range(ctx, query, &from, &n, resp);
    if (days == NULL)
        return;
    cs_day to = from + (cs_day)n - 1;
    if (resp->format == API_FORMAT_CSV) {
        size_t length;
        char *csv = api_csv_days(days, n, &length);
        if (csv == NULL)
            api_set_store_failure(resp, API_STORE_FAILED);
        else
            api_set_csv(resp, csv, length, "daily", from, to);
        free(days);
        return;
    }
    struct api_totals totals;
    api_totals_compute(days, n, today_of(ctx), &totals);
    struct buf out = {0};
    char a[CS_DATE_LEN], b[CS_DATE_LEN], head[96];
    cs_date_format(from, a);
    cs_date_format(to, b);
    snprintf(head, sizeof(head),
             "{\"success\":true,\"data\":{\"from\":\"%s\",\"to\":\"%s\","
             "\"days\":",
             a, b);
    bool ok = buf_puts(&out, head) && write_days(&out, days, n) &&
              buf_puts(&out, ",\"totals\":") &&
              api_totals_write(&out, &totals) && buf_puts(&out, "}}");
    set_written(resp, &out, ok);
    free(days);
}

/* The month's answer from its n days followed by today and yesterday. */
static void set_month(struct api_response *resp, cs_day first,
                      const struct api_day *days, size_t n, cs_day today)
{
    char from[CS_DATE_LEN], to[CS_DATE_LEN + 2] = "null", head[128];
    cs_date_format(first, from);
    if (n > 0) {
        to[0] = '"';
        cs_date_format(first + (cs_day)n - 1, to + 1);
        strcat(to, "\"");
    }
    snprintf(head, sizeof(head),
             "{\"success\":true,\"data\":{\"month\":\"%.7s\",\"from\":\"%s\","
             "\"to\":%s,\"days\":",
             from, from, to);
    struct api_totals totals;
    api_totals_compute(days, n, today, &totals);
    struct buf out = {0};
    bool ok = buf_puts(&out, head) && write_days(&out, days, n) &&
              buf_puts(&out, ",\"totals\":") &&
              api_totals_write(&out, &totals) &&
              buf_puts(&out, ",\"today\":") && api_day_write(&out, &days[n]) &&
              buf_puts(&out, ",\"yesterday\":") &&
              api_day_write(&out, &days[n + 1]) && buf_puts(&out, "}}");
    set_written(resp, &out, ok);
}

static void handle_month(const struct api_context *ctx, const char *query,
                         struct api_response *resp)
{
    struct api_error err;
    cs_day first, today = today_of(ctx);
    if (!api_param_month(query, &first, &err)) {
        api_set_error(resp, &err);
        return;
    }
    cs_day last = first + cs_days_in_month(first) - 1;
    cs_day shown = last < today ? last : today;
    size_t n = shown >= first ? (size_t)(shown - first + 1) : 0;
    cs_day *dates = day_list(first, n, 2);
    struct api_day *days = calloc(n + 2, sizeof(*days));
    if (dates == NULL || days == NULL) {
        api_set_store_failure(resp, API_STORE_FAILED);
    } else {
        dates[n] = today;
        dates[n + 1] = today - 1;
        if (read_days(ctx, dates, n + 2, days, resp))
            set_month(resp, first, days, n, today);
    }
    free(dates);
    free(days);
}

void api_set_csv(struct api_response *resp, char *csv, size_t length,
                 const char *what, cs_day from, cs_day to)
{
    char a[CS_DATE_LEN], b[CS_DATE_LEN];
    cs_date_format(from, a);
    cs_date_format(to, b);
    if (from == to)
        snprintf(resp->disposition, sizeof(resp->disposition),
                 "attachment; filename=\"callstats-%s-%s.csv\"", what, a);
    else
        snprintf(resp->disposition, sizeof(resp->disposition),
                 "attachment; filename=\"callstats-%s-%s-%s.csv\"", what, a, b);
    api_set_body(resp, 200, CSV_TYPE, csv, length, true);
}

void api_set_version(struct api_response *resp,
                     const struct api_result *version)
{
    resp->version = version->version;
    resp->changed_at = version->changed_at;
}

static void handle_openapi(const struct api_context *ctx, const char *query,
                           struct api_response *resp)
{
    (void)ctx;
    (void)query;
    const char *doc = embedded_text("openapi.json");
    if (doc == NULL) {
        struct api_error err;
        api_error_set(&err, 404, "not_found", "this build has no API document");
        api_set_error(resp, &err);
        return;
    }
    api_set_body(resp, 200, JSON_TYPE, (char *)doc, strlen(doc), false);
}

static void handle_ready(const struct api_context *ctx, const char *query,
                         struct api_response *resp)
{
    (void)query;
    enum api_store_failure why;
    if (!api_store_ping(ctx->pool, READY_WAIT_MS, &why)) {
        api_set_store_failure(resp, why);
        return;
    }
    api_set_json(resp, 200,
                 json_pack("{s:b, s:s}", "success", true, "status", "ready"));
}

static void handle_metrics(const struct api_context *ctx, const char *query,
                           struct api_response *resp)
{
    (void)query;
    size_t length = 0;
    char *text = NULL;
    FILE *out = open_memstream(&text, &length);
    if (out == NULL) {
        api_set_store_failure(resp, API_STORE_FAILED);
        return;
    }
    struct api_pool_stats stats;
    api_pool_stats(ctx->pool, &stats);
    if (ctx->metrics != NULL)
        api_metrics_write(ctx->metrics, &stats, ctx->cache, out);
    api_worker_metrics(ctx->pool, today_of(ctx), time(NULL), out);
    if (fclose(out) != 0 || text == NULL) {
        free(text);
        api_set_store_failure(resp, API_STORE_FAILED);
        return;
    }
    api_set_body(resp, 200, METRICS_TYPE, text, length, true);
}

typedef void (*api_handler)(const struct api_context *ctx, const char *query,
                            struct api_response *resp);

/* What a route offers besides JSON, and what it needs. */
enum {
    ROUTE_CSV = 1,     /* answers text/csv too, by format= or Accept */
    ROUTE_CACHE = 2,   /* its answers are kept in the response cache */
    ROUTE_OPEN = 4,    /* answered without the API token */
    ROUTE_NO_JSON = 8, /* answers only its own type (below) */
};

static const struct route {
    const char *path;
    api_handler handler;
    const char *params; /* the parameters it takes, comma separated */
    unsigned flags;
    const char *type; /* with ROUTE_NO_JSON: the one type it answers */
} routes[] = {
    {"/", handle_page, "", ROUTE_NO_JSON, HTML_TYPE},
    {"/dashboard.html", handle_page, "", ROUTE_NO_JSON, HTML_TYPE},
    {"/api/health", handle_health, "", ROUTE_OPEN, NULL},
    {"/api/ready", handle_ready, "", ROUTE_OPEN, NULL},
    {"/api/openapi.json", handle_openapi, "", 0, NULL},
    {"/metrics", handle_metrics, "", ROUTE_NO_JSON, METRICS_TYPE},
    {"/api/stats/grade-stats", handle_grade_stats, "date,format", ROUTE_CACHE,
     NULL},
    {"/api/stats/daily", handle_daily, "from,to,format",
     ROUTE_CSV | ROUTE_CACHE, NULL},
    {"/api/stats/daily.csv", handle_daily, "from,to",
     ROUTE_NO_JSON | ROUTE_CACHE, CSV_TYPE},
    {"/api/stats/month", handle_month, "month,format", ROUTE_CACHE, NULL},
    {"/api/stats/tasks", api_handle_tasks, "date,format",
     ROUTE_CSV | ROUTE_CACHE, NULL},
    {"/api/stats/seats", api_handle_seats, "date,format",
     ROUTE_CSV | ROUTE_CACHE, NULL},
    {"/api/stats/grades", api_handle_grades, "date,from,to,format",
     ROUTE_CSV | ROUTE_CACHE, NULL},
    {"/api/sync/status", api_handle_sync_status, "", 0, NULL},
};

#define ROUTE_COUNT (sizeof(routes) / sizeof(routes[0]))

static const struct route *find_route(const char *path)
{
    for (size_t i = 0; i < ROUTE_COUNT; i++)
        if (strcmp(routes[i].path, path) == 0)
            return &routes[i];
    return NULL;
}

/* A route's index in the table; ROUTE_COUNT for none. */
static size_t route_index(const struct route *route)
{
    return route ? (size_t)(route - routes) : ROUTE_COUNT;
}

size_t api_route_index(const char *path)
{
    return route_index(find_route(path));
}

size_t api_route_count(void)
{
    return ROUTE_COUNT;
}

const char *api_route_path(size_t i)
{
    return i < ROUTE_COUNT ? routes[i].path : i == ROUTE_COUNT ? "other" : NULL;
}

/* True when name is one of the comma-separated list, in any case. */
static bool in_list(const char *list, const char *name, size_t len)
{
    for (const char *p = list; *p;) {
        size_t n = strcspn(p, ",");
        if (n == len && strncasecmp(p, name, len) == 0)
            return true;
        p += n + (p[n] == ',');
    }
    return false;
}

/* Decodes a parameter's name or value of len bytes into out (of size
 * outlen): %XX and '+'. NULL when done, else what was wrong: a % not
 * followed by two hex digits, a control character, or too many bytes. */
static const char *decode_part(const char *text, size_t len, char *out,
                               size_t outlen)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c == '%') {
            if (i + 2 >= len || !isxdigit((unsigned char)text[i + 1]) ||
                !isxdigit((unsigned char)text[i + 2]))
                return "has a % not followed by two hex digits";
            char hex[3] = {text[i + 1], text[i + 2], '\0'};
            c = (unsigned char)strtol(hex, NULL, 16);
            i += 2;
        } else if (c == '+') {
            c = ' ';
        }
        if (c < 0x20 || c == 0x7f)
            return c == 0 ? "holds a NUL byte (%00)"
                          : "holds a control character such as a line break";
        if (n + 1 >= outlen)
            return "is too long";
        out[n++] = (char)c;
    }
    out[n] = '\0';
    return NULL;
}

/*
 * Checks the query string against the route: every parameter known to
 * it, none given twice, each well encoded. False with err set (400).
 */
static bool check_query(const struct route *route, const char *query,
                        struct api_error *err)
{
    if (query == NULL)
        return true;
    size_t total = strlen(query);
    if (total > API_MAX_QUERY) {
        api_error_set(err, 400, "query_too_long",
                      "the query string is %zu bytes; at most %d are read",
                      total, API_MAX_QUERY);
        return false;
    }
    char seen[API_MAX_QUERY + 1] = ",";
    for (const char *p = query, *next; *p; p = next) {
        size_t len = strcspn(p, "&");
        next = p + len + (p[len] == '&');
        size_t name_len = strcspn(p, "=&");
        char name[64], value[API_MAX_QUERY + 1], quoted[48];
        if (len == 0)
            continue; /* "a=1&&b=2": an empty pair is no parameter */
        /* Names are read as written: one spelt with %XX or + is refused
         * rather than taken for another. */
        const char *wrong =
            strcspn(p, "%+") < name_len
                ? "is percent-encoded; names are plain words such as "
                  "\"date\""
                : decode_part(p, name_len, name, sizeof(name));
        if (wrong != NULL) {
            char raw[48];
            snprintf(raw, sizeof(raw), "%.*s",
                     (int)(name_len < 40 ? name_len : 40), p);
            api_quote_value(raw, quoted, sizeof(quoted));
            api_error_set(err, 400, "invalid_parameter",
                          "parameter name \"%s\" %s", quoted, wrong);
            return false;
        }
        if (name_len < len)
            wrong = decode_part(p + name_len + 1, len - name_len - 1, value,
                                sizeof(value));
        if (wrong != NULL) {
            api_quote_value(name, quoted, sizeof(quoted));
            api_error_set(err, 400, "invalid_parameter", "parameter \"%s\" %s",
                          quoted, wrong);
            return false;
        }
        if (!in_list(route->params, name, strlen(name))) {
            api_quote_value(name, quoted, sizeof(quoted));
            if (route->params[0] == '\0')
                api_error_set(err, 400, "unknown_parameter",
                              "unknown parameter \"%s\": %s takes none", quoted,
                              route->path);
            else
                api_error_set(err, 400, "unknown_parameter",
                              "unknown parameter \"%s\": %s takes %s", quoted,
                              route->path, route->params);
            return false;
        }
        if (in_list(seen + 1, name, strlen(name))) {
            api_quote_value(name, quoted, sizeof(quoted));
            api_error_set(err, 400, "invalid_parameter",
                          "parameter \"%s\" is given more than once", quoted);
            return false;
        }
        strcat(seen, name);
        strcat(seen, ",");
    }
    return true;
}

/* The quality an Accept header gives type ("text/csv"), 0 to 1000; -1
 * when no range of it matches. */
static int accept_quality(const char *accept, const char *type)
{
    size_t slash = strcspn(type, "/");
    int best = -1, best_rank = -1;
    for (const char *p = accept; *p;) {
        size_t len = strcspn(p, ",");
        char range[128];
        snprintf(range, sizeof(range), "%.*s", (int)(len < 127 ? len : 127), p);
        p += len + (p[len] == ',');
        char *params = strchr(range, ';');
        int q = 1000;
        if (params != NULL) {
            *params++ = '\0';
            char *qp = strstr(params, "q=");
            /* Clamped before the conversion: "q=1e999" or "q=nan" has
             * no int value. */
            double v = qp != NULL ? strtod(qp + 2, NULL) : 1;
            q = v >= 1 ? 1000 : v > 0 ? (int)(v * 1000 + 0.5) : 0;
        }
        char *r = range;
        while (*r == ' ' || *r == '\t')
            r++;
        size_t end = strlen(r);
        while (end > 0 && (r[end - 1] == ' ' || r[end - 1] == '\t'))
            r[--end] = '\0';
        int rank = -1;
        if (strcasecmp(r, type) == 0)
            rank = 2;
        else if (strlen(r) == slash + 2 && strncasecmp(r, type, slash) == 0 &&
                 strcmp(r + slash, "/*") == 0)
            rank = 1;
        else if (strcmp(r, "*/*") == 0)
            rank = 0;
        if (rank > best_rank) {
            best_rank = rank;
            best = q < 0 ? 0 : q > 1000 ? 1000 : q;
        }
    }
    return best;
}

/* Chooses the representation from format= and Accept; false with err
 * set (406) when the route offers none of what was asked. */
static bool negotiate(const struct route *route, const char *query,
                      const char *accept, enum api_format *format,
                      struct api_error *err)
{
    *format = route->type && strcmp(route->type, CSV_TYPE) == 0
                  ? API_FORMAT_CSV
                  : API_FORMAT_JSON;
    char value[16], quoted[48];
    int n =
        query ? mg_get_var(query, strlen(query), "format", value, sizeof(value))
              : -1;
    if (n == -2 ||
        (n >= 0 && strcmp(value, "json") != 0 &&
         !(strcmp(value, "csv") == 0 && (route->flags & ROUTE_CSV)))) {
        api_quote_value(n == -2 ? "(too long)" : value, quoted, sizeof(quoted));
        api_error_set(err, 406, "not_acceptable",
                      "format \"%s\" is not offered by %s; it answers %s",
                      quoted, route->path,
                      route->flags & ROUTE_CSV ? "json or csv" : "json");
        return false;
    }
    if (n >= 0) {
        *format = strcmp(value, "csv") == 0 ? API_FORMAT_CSV : API_FORMAT_JSON;
        return true;
    }
    if (accept == NULL || accept[0] == '\0')
        return true;
    if (route->flags & ROUTE_NO_JSON) {
        if (accept_quality(accept, route->type) > 0)
            return true;
    } else {
        int json = accept_quality(accept, "application/json");
        int csv =
            route->flags & ROUTE_CSV ? accept_quality(accept, "text/csv") : -1;
        if (csv > 0 && csv > json) {
            *format = API_FORMAT_CSV;
            return true;
        }
        if (json > 0)
            return true;
    }
    char quoted_accept[48];
    api_quote_value(accept, quoted_accept, sizeof(quoted_accept));
    api_error_set(err, 406, "not_acceptable",
                  "Accept \"%s\" names nothing %s answers; it answers %s",
                  quoted_accept, route->path,
                  route->flags & ROUTE_NO_JSON ? route->type
                  : route->flags & ROUTE_CSV   ? "application/json or text/csv"
                                               : "application/json");
    return false;
}

/* Compares a bearer token with the configured one in a time that does not
 * depend on where they differ. */
static bool token_matches(const char *authorization, const char *token)
{
    static const char scheme[] = "Bearer ";
    if (authorization == NULL ||
        strncasecmp(authorization, scheme, sizeof(scheme) - 1) != 0)
        return false;
    const char *given = authorization + sizeof(scheme) - 1;
    size_t a = strlen(given), b = strlen(token);
    unsigned char diff = a != b;
    for (size_t i = 0; i < a; i++)
        diff |= (unsigned char)(given[i] ^ token[i % b]);
    return diff == 0;
}

static const char *allowed_origin(const struct api_context *ctx,
                                  const char *origin)
{
    if (origin == NULL)
        return NULL;
    const struct cs_list *list = &ctx->cfg->cors_origins;
    for (size_t i = 0; i < list->count; i++)
        if (strcmp(list->items[i], origin) == 0)
            return list->items[i];
    return NULL;
}

/* The validators of a versioned answer: ETag, Last-Modified and how long
 * a client may keep it. The ETag changes with the data, with the day (the
 * answers name today) and with the representation. */
static void set_validators(const struct api_context *ctx, cs_day today,
                           struct api_response *resp)
{
    char day[CS_DATE_LEN];
    cs_date_format(today, day);
    snprintf(resp->etag, sizeof(resp->etag), "\"%lld-%.4s%.2s%.2s-%c\"",
             resp->version, day, day + 5, day + 8,
             resp->format == API_FORMAT_CSV ? 'c' : 'j');
    struct tm tm;
    time_t t = resp->changed_at;
    gmtime_r(&t, &tm);
    strftime(resp->last_modified, sizeof(resp->last_modified),
             "%a, %d %b %Y %H:%M:%S GMT", &tm);
    int max_age = ctx->cache ? api_cache_max_age(ctx->cache) : 60;
    snprintf(resp->cache_control, sizeof(resp->cache_control), "max-age=%d",
             resp->stale ? 0 : max_age);
}

/* True when If-None-Match names etag (or is "*"). */
static bool etag_matches(const char *if_none_match, const char *etag)
{
    if (if_none_match == NULL || etag[0] == '\0')
        return false;
    size_t n = strlen(etag);
    for (const char *p = if_none_match; *p;) {
        while (*p == ' ' || *p == ',')
            p++;
        if (*p == '*')
            return true;
        if (strncmp(p, "W/", 2) == 0)
            p += 2;
        if (strncmp(p, etag, n) == 0 &&
            (p[n] == '\0' || p[n] == ',' || p[n] == ' '))
            return true;
        p += strcspn(p, ",");
    }
    return false;
}

/* Runs the route's handler, or serves its answer from the cache. */
static void answer(const struct api_context *ctx, const struct route *route,
                   const struct api_request *req, cs_day today,
                   struct api_response *resp)
{
    char key[API_MAX_QUERY + 160];
    bool cacheable = (route->flags & ROUTE_CACHE) && ctx->cache != NULL;
    if (cacheable) {
        char day[CS_DATE_LEN];
        cs_date_format(today, day);
        snprintf(key, sizeof(key), "%s?%s|%c|%s", route->path,
                 req->query ? req->query : "",
                 resp->format == API_FORMAT_CSV ? 'c' : 'j', day);
        if (api_cache_get(ctx->cache, key, resp))
            return;
    }
    route->handler(ctx, req->query, resp);
    if (cacheable && resp->status == 200 && resp->version >= 0) {
        api_cache_put(ctx->cache, key, resp);
    } else if (cacheable && resp->status == 503) {
        /* The last answer known beats none while the database is away;
         * the worker cannot write meanwhile either, unless only the API
         * lost it. Marked stale, not to be kept by clients. */
        struct api_response stale = *resp; /* its route and CORS headers */
        stale.body = NULL;
        stale.body_owned = false;
        stale.retry_after = 0;
        if (api_cache_get_stale(ctx->cache, key, &stale)) {
            api_response_free(resp);
            *resp = stale;
            resp->stale = true;
        }
    }
}

void api_handle(const struct api_context *ctx, const struct api_request *req,
                struct api_response *resp)
{
    *resp = (struct api_response){.version = -1};
    struct api_error err;
    char quoted[48];
    const struct route *route = find_route(req->path);
    resp->route = route_index(route);
    resp->cors_origin = allowed_origin(ctx, req->origin);
    resp->vary_origin = ctx->cfg->cors_origins.count > 0;
    bool get = strcmp(req->method, "GET") == 0;
    bool head = strcmp(req->method, "HEAD") == 0;
    if (route == NULL) {
        api_quote_value(req->path, quoted, sizeof(quoted));
        api_error_set(&err, 404, "not_found", "no endpoint at \"%s\"", quoted);
        api_set_error(resp, &err);
    } else if (strcmp(req->method, "OPTIONS") == 0) {
        api_set_body(resp, 204, NULL, NULL, 0, false);
        resp->allow = "GET, HEAD, OPTIONS";
    } else if (!get && !head) {
        api_quote_value(req->method, quoted, sizeof(quoted));
        api_error_set(&err, 405, "method_not_allowed",
                      "method \"%s\" is not allowed; use GET or HEAD", quoted);
        api_set_error(resp, &err);
        resp->allow = "GET, HEAD, OPTIONS";
    } else if (ctx->cfg->api_token != NULL && !(route->flags & ROUTE_OPEN) &&
               !token_matches(req->authorization, ctx->cfg->api_token)) {
        api_error_set(&err, 401, "unauthorized",
                      req->authorization
                          ? "the Authorization header does not hold the API "
                            "token"
                          : "this server needs \"Authorization: Bearer "
                            "<token>\"");
        api_set_error(resp, &err);
        resp->authenticate = true;
    } else if (!check_query(route, req->query, &err) ||
               !negotiate(route, req->query, req->accept, &resp->format,
                          &err)) {
        api_set_error(resp, &err);
    } else {
        /* One day for the cache key and the ETag, whatever the clock
         * does meanwhile. */
        cs_day today = today_of(ctx);
        answer(ctx, route, req, today, resp);
        if (route->flags & ROUTE_CSV)
            resp->vary = "Accept";
        if (resp->status == 200 && resp->version >= 0) {
            set_validators(ctx, today, resp);
            if (etag_matches(req->if_none_match, resp->etag)) {
                api_response_free(resp);
                resp->status = 304;
                resp->length = 0;
            }
        }
    }
}

void api_response_error(struct api_response *resp, int status, const char *code,
                        const char *message)
{
    struct api_error err;
    memset(resp, 0, sizeof(*resp));
    resp->version = -1;
    api_error_set(&err, status, code, "%s", message);
    api_set_error(resp, &err);
}

void api_response_free(struct api_response *resp)
{
    if (resp->body_owned)
        free(resp->body);
    if (resp->cached != NULL)
        api_cache_release(resp->cached);
    resp->cached = NULL;
    resp->body = NULL;
    resp->body_owned = false;
}
