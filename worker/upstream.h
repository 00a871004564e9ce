/*
 * The client of the upstream platform's open API: token, statistics and
 * call-record pages, with the envelope, token refresh and retries of
 * shared/upstream-api.md. Never logs a token, a password or a secret.
 */
#ifndef WK_UPSTREAM_H
#define WK_UPSTREAM_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "date.h"
#include "werr.h"

#define UPSTREAM_PAGE_SIZE         1000
#define UPSTREAM_BACKOFF_FIRST_MS  250L
#define UPSTREAM_BACKOFF_MAX_MS    30000L
#define UPSTREAM_RETRY_AFTER_MAX_S 60L

struct upstream;

/* A client for cfg (borrowed: it must outlive the client). NULL after
 * logging when libcurl cannot start. */
struct upstream *upstream_new(const struct cs_config *cfg);
void upstream_free(struct upstream *up);

/* The `data` of POST /extension/agent/stat for one day; the caller owns
 * *data (json_decref). */
__attribute__((warn_unused_result)) bool
upstream_stats(struct upstream *up, cs_day day, int query_type, json_t **data,
               struct werr *err);

/* The `data` of page `page` (from 1) of GET /task/cdr/all2 for one day;
 * the caller owns *data. */
__attribute__((warn_unused_result)) bool upstream_cdr_page(struct upstream *up,
                                                           cs_day day, int page,
                                                           json_t **data,
                                                           struct werr *err);

/* The delay before retry number `retry` (0 for the first): 250 ms,
 * doubling, at most UPSTREAM_BACKOFF_MAX_MS. */
long upstream_backoff_ms(int retry);

/* The delay a 429 asks for: its Retry-After seconds (negative when it
 * gave none, then the backoff applies), at most 60 s. */
long upstream_retry_delay_ms(long retry_after_s, int retry);

/* Percent-encodes text for a query string (RFC 3986 unreserved characters
 * kept). False when out (outlen bytes) is too small. */
__attribute__((warn_unused_result)) bool
upstream_url_encode(const char *text, char *out, size_t outlen);

/* The URL of a day's CDR page. False when buf is too small. */
__attribute__((warn_unused_result)) bool upstream_cdr_url(const char *base_url,
                                                          cs_day day, int page,
                                                          char *buf,
                                                          size_t buflen);

#endif
