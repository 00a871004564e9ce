/*
 * The API's endpoints, independent of the HTTP server: a request in, a
 * status, headers and body out. Every check a request meets (method,
 * token, parameters, representation) happens here, before any handler.
 */
#ifndef API_ROUTES_H
#define API_ROUTES_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "config.h"
#include "date.h"
#include "params.h"
#include "pool.h"
#include "store.h"

struct api_cache;
struct api_metrics;

struct api_context {
    const struct cs_config *cfg;
    struct api_pool *pool;
    struct api_cache *cache;     /* NULL: every response is built anew */
    struct api_metrics *metrics; /* NULL: nothing counted */
    cs_day (*today)(void);       /* the business day now; cs_today when NULL */
};

/* What a request asks, as the HTTP server read it. */
struct api_request {
    const char *method;
    const char *path;
    const char *query;  /* NULL when the URI has none */
    const char *accept; /* the headers, NULL when absent */
    const char *authorization;
    const char *origin;
    const char *if_none_match;
};

/* The representation a handler produces. */
enum api_format { API_FORMAT_JSON, API_FORMAT_CSV };

struct api_response {
    int status;
    const char *content_type;
    const char *allow;    /* the Allow header of a 405, else NULL */
    char disposition[96]; /* Content-Disposition, or "" */
    char *body;           /* owned when body_owned */
    size_t length;
    bool body_owned;
    enum api_format format; /* in: the representation asked for */
    long long version;      /* out: the data version the body is at least
                               as new as; -1 when it comes from no table */
    time_t changed_at;      /* out: when that version was written */
    /* Headers, "" when absent. */
    char etag[48];
    char last_modified[40];
    char cache_control[40];
    const char *vary;        /* NULL when absent */
    const char *cors_origin; /* the allowed Origin echoed, or NULL */
    bool vary_origin;        /* origins are listed: answers vary by them */
    bool authenticate;       /* send WWW-Authenticate: Bearer */
    int retry_after;         /* seconds for Retry-After, 0: none */
    bool stale;   /* a cached answer served as the database is unreachable */
    void *cached; /* a cache entry the body belongs to */
    size_t route; /* out: api_route_index of the path, for the metrics */
};

/* Answers one request. Always fills resp (a 500 with a JSON body when
 * even that fails); free it with api_response_free. */
void api_handle(const struct api_context *ctx, const struct api_request *req,
                struct api_response *resp);

/* The index of the route a path is counted under in the metrics: that
 * of its endpoint, or api_route_count() for any other path. */
size_t api_route_index(const char *path);

size_t api_route_count(void);

/* The path of route i (its template in the metrics), "other" for
 * api_route_count(); NULL beyond. */
const char *api_route_path(size_t i);

/* Fills resp with an error answer: {"success": false, code, message}. */
void api_response_error(struct api_response *resp, int status, const char *code,
                        const char *message);

void api_response_free(struct api_response *resp);

/* For handlers: the body of an answer. */
void api_set_body(struct api_response *resp, int status, const char *type,
                  char *body, size_t length, bool owned);
/* Encodes and takes ownership of body; a 500 when that fails. */
void api_set_json(struct api_response *resp, int status, json_t *body);
/* {"success": true, "data": data}, taking ownership of data. */
void api_set_success(struct api_response *resp, json_t *data);
void api_set_error(struct api_response *resp, const struct api_error *err);
/* 503 (with Retry-After) or 500, naming why the database failed. */
void api_set_store_failure(struct api_response *resp,
                           enum api_store_failure why);
/* A CSV document (the caller's buffer, now owned by resp) as an
 * attachment named callstats-<what>-<from>[-<to>].csv. */
void api_set_csv(struct api_response *resp, char *csv, size_t length,
                 const char *what, cs_day from, cs_day to);
/* Records the data version a body was read at. */
void api_set_version(struct api_response *resp,
                     const struct api_result *version);

#endif
