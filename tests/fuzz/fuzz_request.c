/*
 * libFuzzer target over the API's request handling, without a server: the
 * input, split at line feeds, is a method, a path, a query string and
 * headers; api_handle must answer with a status of the expected set (never
 * 500) and, whenever it says JSON, a body that parses. The database does
 * not exist, so every route that reads it answers 503.
 */
#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../api/cache.h"
#include "../../api/metrics.h"
#include "../../api/routes.h"
#include "config.h"
#include "log.h"

/* A socket folder that does not exist: connecting fails at once. */
#define NO_DATABASE "host=/nonexistent/callstats-fuzz dbname=callstats"
#define TOKEN       "fuzz-token-0123456789abcdef"
#define ORIGINS     "https://dash.example.com, http://localhost:3000"

/*
 * The input's fields, one a line; a missing field or one that is exactly
 * "-" is absent (NULL). The last one chooses the configuration: "token"
 * sets CALLSTATS_API_TOKEN, anything else leaves it unset.
 */
enum field {
    F_METHOD,
    F_PATH,
    F_QUERY,
    F_ACCEPT,
    F_AUTHORIZATION,
    F_ORIGIN,
    F_IF_NONE_MATCH,
    F_CONFIG,
    F_COUNT
};

static struct cs_config open_cfg, token_cfg;
static struct api_context open_ctx, token_ctx;

static cs_day fixed_today(void)
{
    return cs_date_from_ymd(2025, 10, 15);
}

/* Reports a broken promise of api_handle and stops: libFuzzer keeps the
 * input that caused it. */
__attribute__((format(printf, 2, 3))) static void check(bool ok,
                                                        const char *fmt, ...)
{
    if (ok)
        return;
    va_list ap;
    va_start(ap, fmt);
    fputs("fuzz_request: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    cs_log_set_level(CS_LOG_ERROR);
    struct api_pool *pool = api_pool_create(NO_DATABASE, 2, 1000);
    struct api_cache *cache = api_cache_create(NO_DATABASE, 1024 * 1024);
    struct api_metrics *metrics = api_metrics_create();
    if (pool == NULL || cache == NULL || metrics == NULL)
        abort();
    cs_list_parse(ORIGINS, &open_cfg.cors_origins);
    cs_list_parse(ORIGINS, &token_cfg.cors_origins);
    token_cfg.api_token = TOKEN;
    open_ctx =
        (struct api_context){&open_cfg, pool, cache, metrics, fixed_today};
    token_ctx = open_ctx;
    token_ctx.cfg = &token_cfg;
    return 0;
}

/* Splits data into fields, each copied into a buffer of its own exact
 * size so that the sanitizer sees any read past its end. */
static void split(const uint8_t *data, size_t size, char *fields[F_COUNT])
{
    size_t start = 0;
    for (int f = 0; f < F_COUNT; f++) {
        fields[f] = NULL;
        if (start > size)
            continue;
        const uint8_t *nl = memchr(data + start, '\n', size - start);
        size_t end = nl ? (size_t)(nl - data) : size;
        size_t len = end - start;
        /* A NUL ends a header as civetweb hands it over. */
        const uint8_t *nul = memchr(data + start, '\0', len);
        size_t kept = nul ? (size_t)(nul - (data + start)) : len;
        if (!(kept == 1 && data[start] == '-')) {
            fields[f] = malloc(kept + 1);
            if (fields[f] == NULL)
                abort();
            memcpy(fields[f], data + start, kept);
            fields[f][kept] = '\0';
        }
        start = end + 1;
    }
}

static bool status_expected(int status)
{
    static const int expected[] = {200, 204, 400, 401, 404, 405, 406, 503};
    for (size_t i = 0; i < sizeof(expected) / sizeof(expected[0]); i++)
        if (expected[i] == status)
            return true;
    return false;
}

/* The routes that answer 200 without a database. */
static bool answers_without_database(const char *path)
{
    static const char *const paths[] = {"/", "/dashboard.html", "/api/health",
                                        "/api/openapi.json", "/metrics"};
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
        if (strcmp(paths[i], path) == 0)
            return true;
    return false;
}

/* A JSON answer: an object with "success", and "code" and "error" when it
 * is an error. */
static void check_json(const struct api_response *resp)
{
    json_error_t jerr;
    json_t *doc = json_loadb(resp->body, resp->length, 0, &jerr);
    check(doc != NULL, "status %d: body is not JSON (%s at %d): %.*s",
          resp->status, jerr.text, jerr.position, (int)resp->length,
          resp->body);
    check(json_is_object(doc), "status %d: body is not an object",
          resp->status);
    json_t *success = json_object_get(doc, "success");
    /* The OpenAPI document is the one JSON answer without "success". */
    if (json_object_get(doc, "openapi") == NULL) {
        check(json_is_boolean(success), "status %d: no boolean \"success\"",
              resp->status);
        check(json_is_true(success) == (resp->status < 300),
              "status %d: \"success\" is %s", resp->status,
              json_is_true(success) ? "true" : "false");
    }
    if (resp->status >= 400) {
        const char *code = json_string_value(json_object_get(doc, "code"));
        const char *error = json_string_value(json_object_get(doc, "error"));
        check(code != NULL && error != NULL && error[0] != '\0',
              "status %d: error without code or message", resp->status);
        if (resp->status == 503)
            check(strcmp(code, "database_unavailable") == 0 ||
                      strcmp(code, "database_busy") == 0,
                  "503 with code %s", code);
    }
    json_decref(doc);
}

static void check_response(const struct api_context *ctx,
                           const struct api_request *req,
                           const struct api_response *resp)
{
    int status = resp->status;
    bool known = api_route_index(req->path) < api_route_count();
    check(status_expected(status), "unexpected status %d", status);
    check(known || status == 404, "unknown path answered %d", status);
    check(status != 200 || answers_without_database(req->path),
          "%s answered 200 without a database", req->path);
    check(resp->body != NULL || resp->length == 0, "length without a body");
    check(status == 204 || resp->content_type != NULL,
          "status %d without a content type", status);
    check(status != 401 || (ctx->cfg->api_token != NULL && resp->authenticate),
          "401 without a token configured or WWW-Authenticate");
    check(status != 405 || resp->allow != NULL, "405 without Allow");
    check(status != 503 || resp->retry_after > 0, "503 without Retry-After");
    if (resp->cors_origin != NULL)
        check(req->origin != NULL &&
                  strcmp(req->origin, resp->cors_origin) == 0 &&
                  cs_list_contains(&ctx->cfg->cors_origins, req->origin),
              "Access-Control-Allow-Origin for an origin not listed");
    else
        check(req->origin == NULL ||
                  !cs_list_contains(&ctx->cfg->cors_origins, req->origin),
              "no Access-Control-Allow-Origin for a listed origin");
    if (resp->content_type != NULL &&
        strncmp(resp->content_type, "application/json", 16) == 0)
        check_json(resp);
    else
        check(status < 400, "error %d that is not JSON", status);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *f[F_COUNT];
    split(data, size, f);
    const struct api_context *ctx =
        f[F_CONFIG] && strcmp(f[F_CONFIG], "token") == 0 ? &token_ctx
                                                         : &open_ctx;
    /* civetweb always has a method and a path. */
    struct api_request req = {.method = f[F_METHOD] ? f[F_METHOD] : "",
                              .path = f[F_PATH] ? f[F_PATH] : "",
                              .query = f[F_QUERY],
                              .accept = f[F_ACCEPT],
                              .authorization = f[F_AUTHORIZATION],
                              .origin = f[F_ORIGIN],
                              .if_none_match = f[F_IF_NONE_MATCH]};
    struct api_response resp;
    api_handle(ctx, &req, &resp);
    check_response(ctx, &req, &resp);
    api_metrics_record(ctx->metrics, api_route_index(req.path), resp.status,
                       0.001);
    api_response_free(&resp);
    for (int i = 0; i < F_COUNT; i++)
        free(f[i]);
    return 0;
}
