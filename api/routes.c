/* The endpoints of callstats-api and their JSON, CSV and HTML bodies. */
#include "routes.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "csv.h"
#include "embedded.h"
#include "log.h"
#include "params.h"
#include "report.h"
#include "store.h"
#include "version.h"

#define JSON_TYPE "application/json; charset=utf-8"

static const char out_of_memory_body[] =
    "{\"success\":false,\"code\":\"internal_error\","
    "\"error\":\"the response could not be built (out of memory)\"}";

static void set_body(struct api_response *resp, int status, const char *type,
                     char *body, size_t length, bool owned)
{
    resp->status = status;
    resp->content_type = type;
    resp->body = body;
    resp->length = length;
    resp->body_owned = owned;
}

/* Encodes and takes ownership of body; a 500 when that fails. */
static void set_json(struct api_response *resp, int status, json_t *body)
{
    char *text = body ? json_dumps(body, API_JSON_FLAGS) : NULL;
    json_decref(body);
    if (text == NULL) {
        cs_error("response encoding failed status=%d", status);
        set_body(resp, 500, JSON_TYPE, (char *)out_of_memory_body,
                 sizeof(out_of_memory_body) - 1, false);
        return;
    }
    set_body(resp, status, JSON_TYPE, text, strlen(text), true);
}

static void set_error(struct api_response *resp, const struct api_error *err)
{
    set_json(resp, err->status,
             json_pack("{s:b, s:s, s:s}", "success", false, "code", err->code,
                       "error", err->message));
}

static void set_store_failure(struct api_response *resp,
                              enum api_store_failure why)
{
    struct api_error err;
    if (why == API_STORE_UNAVAILABLE)
        api_error_set(&err, 503, "database_unavailable",
                      "the database cannot be reached; try again later");
    else if (why == API_STORE_BUSY)
        api_error_set(&err, 503, "database_busy",
                      "every database connection is in use; try again");
    else
        api_error_set(&err, 500, "internal_error",
                      "the figures could not be read; the server log "
                      "says why");
    set_error(resp, &err);
}

static void set_success(struct api_response *resp, json_t *data)
{
    set_json(resp, 200, json_pack("{s:b, s:o}", "success", true, "data", data));
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
                            out, &version, &why))
        return true;
    set_store_failure(resp, why);
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

static json_t *days_json(const struct api_day *days, size_t n)
{
    json_t *list = json_array();
    for (size_t i = 0; list != NULL && i < n; i++)
        json_array_append_new(list, api_day_json(&days[i]));
    return list;
}

static json_t *date_json(cs_day day)
{
    char text[CS_DATE_LEN];
    cs_date_format(day, text);
    return json_string(text);
}

static void handle_health(const struct api_context *ctx, const char *query,
                          struct api_response *resp)
{
    (void)ctx;
    (void)query;
    set_json(resp, 200,
             json_pack("{s:b, s:s, s:s}", "success", true, "status", "ok",
                       "version", CS_VERSION));
}

static void handle_page(const struct api_context *ctx, const char *query,
                        struct api_response *resp)
{
    (void)ctx;
    (void)query;
    for (const struct cs_embedded *p = cs_api_pages; p->name; p++) {
        if (strcmp(p->name, "dashboard.html") == 0) {
            set_body(resp, 200, "text/html; charset=utf-8", (char *)p->text,
                     strlen(p->text), false);
            return;
        }
    }
    struct api_error err;
    api_error_set(&err, 404, "not_found", "this build has no dashboard page");
    set_error(resp, &err);
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
        set_error(resp, &err);
        return;
    }
    if (!read_days(ctx, &date, 1, &day, resp))
        return;
    char text[CS_DATE_LEN], at[40];
    cs_date_format(date, text);
    if (!day.calls_synced) {
        api_error_set(&err, 404, "not_synced",
                      "the call records of %s have not been synced yet", text);
        set_error(resp, &err);
        return;
    }
    api_format_time(day.grades_synced_at, at, sizeof(at));
    set_success(resp,
                json_pack("{s:s, s:I, s:I, s:I, s:I, s:s, s:b, s:f}", "date",
                          text, "grade_9", (json_int_t)day.grade_9, "grade_1",
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
        set_error(resp, &err);
        return NULL;
    }
    *n = (size_t)(to - *from + 1);
    cs_day *dates = day_list(*from, *n, 0);
    struct api_day *days = calloc(*n, sizeof(*days));
    if (dates == NULL || days == NULL) {
        set_store_failure(resp, API_STORE_FAILED);
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
    struct api_totals totals;
    api_totals_compute(days, n, today_of(ctx), &totals);
    set_success(resp, json_pack("{s:o, s:o, s:o, s:o}", "from", date_json(from),
                                "to", date_json(from + (cs_day)n - 1), "days",
                                days_json(days, n), "totals",
                                api_totals_json(&totals)));
    free(days);
}

static void handle_daily_csv(const struct api_context *ctx, const char *query,
                             struct api_response *resp)
{
    cs_day from;
    size_t n, length;
    struct api_day *days = read_range(ctx, query, &from, &n, resp);
    if (days == NULL)
        return;
    char *csv = api_csv_days(days, n, &length);
    free(days);
    if (csv == NULL) {
        set_store_failure(resp, API_STORE_FAILED);
        return;
    }
    char a[CS_DATE_LEN], b[CS_DATE_LEN];
    cs_date_format(from, a);
    cs_date_format(from + (cs_day)n - 1, b);
    snprintf(resp->disposition, sizeof(resp->disposition),
             "attachment; filename=\"callstats-%s-%s.csv\"", a, b);
    set_body(resp, 200, "text/csv; charset=utf-8", csv, length, true);
}

/* The month's data object from its n days followed by today and
 * yesterday. */
static json_t *month_json(cs_day first, const struct api_day *days, size_t n,
                          cs_day today)
{
    char month[CS_DATE_LEN];
    cs_date_format(first, month);
    month[7] = '\0';
    struct api_totals totals;
    api_totals_compute(days, n, today, &totals);
    return json_pack("{s:s, s:o, s:o, s:o, s:o, s:o, s:o}", "month", month,
                     "from", date_json(first), "to",
                     n > 0 ? date_json(first + (cs_day)n - 1) : json_null(),
                     "days", days_json(days, n), "totals",
                     api_totals_json(&totals), "today", api_day_json(&days[n]),
                     "yesterday", api_day_json(&days[n + 1]));
}

static void handle_month(const struct api_context *ctx, const char *query,
                         struct api_response *resp)
{
    struct api_error err;
    cs_day first, today = today_of(ctx);
    if (!api_param_month(query, &first, &err)) {
        set_error(resp, &err);
        return;
    }
    cs_day last = first + cs_days_in_month(first) - 1;
    cs_day shown = last < today ? last : today;
    size_t n = shown >= first ? (size_t)(shown - first + 1) : 0;
    cs_day *dates = day_list(first, n, 2);
    struct api_day *days = calloc(n + 2, sizeof(*days));
    if (dates == NULL || days == NULL) {
        set_store_failure(resp, API_STORE_FAILED);
    } else {
        dates[n] = today;
        dates[n + 1] = today - 1;
        if (read_days(ctx, dates, n + 2, days, resp))
            set_success(resp, month_json(first, days, n, today));
    }
    free(dates);
    free(days);
}

typedef void (*api_handler)(const struct api_context *ctx, const char *query,
                            struct api_response *resp);

static const struct {
    const char *path;
    api_handler handler;
} routes[] = {
    {"/", handle_page},
    {"/dashboard.html", handle_page},
    {"/api/health", handle_health},
    {"/api/stats/grade-stats", handle_grade_stats},
    {"/api/stats/daily", handle_daily},
    {"/api/stats/daily.csv", handle_daily_csv},
    {"/api/stats/month", handle_month},
};

static api_handler find_route(const char *path)
{
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
        if (strcmp(routes[i].path, path) == 0)
            return routes[i].handler;
    return NULL;
}

void api_handle(const struct api_context *ctx, const char *method,
                const char *path, const char *query, struct api_response *resp)
{
    *resp = (struct api_response){0};
    struct api_error err;
    char quoted[48];
    api_handler handler = find_route(path);
    if (handler == NULL) {
        api_quote_value(path, quoted, sizeof(quoted));
        api_error_set(&err, 404, "not_found", "no endpoint at \"%s\"", quoted);
        set_error(resp, &err);
    } else if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
        api_quote_value(method, quoted, sizeof(quoted));
        api_error_set(&err, 405, "method_not_allowed",
                      "method \"%s\" is not allowed; use GET or HEAD", quoted);
        set_error(resp, &err);
        resp->allow = "GET, HEAD";
    } else {
        handler(ctx, query, resp);
    }
}

void api_response_error(struct api_response *resp, int status, const char *code,
                        const char *message)
{
    struct api_error err;
    memset(resp, 0, sizeof(*resp));
    api_error_set(&err, status, code, "%s", message);
    set_error(resp, &err);
}

void api_response_free(struct api_response *resp)
{
    if (resp->body_owned)
        free(resp->body);
    resp->body = NULL;
    resp->body_owned = false;
}
