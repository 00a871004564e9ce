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
#include <time.h>

#include "config.h"
#include "date.h"
#include "records.h"
#include "werr.h"

#define UPSTREAM_PAGE_SIZE         1000
#define UPSTREAM_BACKOFF_FIRST_MS  250L
#define UPSTREAM_BACKOFF_MAX_MS    30000L
#define UPSTREAM_RETRY_AFTER_MAX_S 60L

struct upstream;

/* What a client has done since it was made. */
struct upstream_counts {
    long requests; /* HTTP requests sent, tokens included */
    long retries;  /* requests sent again after a failure */
    long relogins; /* tokens fetched again after the platform refused one */
};

/* A client for cfg (borrowed: it must outlive the client). NULL after
 * logging when libcurl cannot start. */
struct upstream *upstream_new(const struct cs_config *cfg);
void upstream_free(struct upstream *up);

/* From now on, no retry is begun that would end after `seconds` (0: no
 * deadline), and no request waits beyond it. */
void upstream_set_deadline(struct upstream *up, int seconds);

/* True once the deadline set is past: no request is sent any more. */
bool upstream_deadline_passed(const struct upstream *up);

void upstream_counts(const struct upstream *up, struct upstream_counts *out);

/* The `data` of POST /extension/agent/stat for one day; the caller owns
 * *data (json_decref). */
__attribute__((warn_unused_result)) bool
upstream_stats(struct upstream *up, cs_day day, int query_type, json_t **data,
               struct werr *err);

/*
 * A pager fetches the pages of GET /task/cdr/all2 for the seconds from ..
 * to (0 .. 86399) of the platform's day, up to in_flight requests at once,
 * each with the retries, backoff and token renewal of a single request. One
 * token renewal serves all the requests the old token failed.
 */
struct upstream_pager;

/* NULL when libcurl cannot start. */
struct upstream_pager *upstream_pager_new(struct upstream *up, cs_day day,
                                          int from, int to, int in_flight);

/* Asks for page (from 1); the lowest pages asked for are sent first. False
 * when out of memory. */
__attribute__((warn_unused_result)) bool
upstream_pager_want(struct upstream_pager *p, int page);

/* Waits for a page asked for: returns its number with its records (the
 * caller owns them, read as rec_parse_page reads them), its totalCount and
 * its record count; 0 when every page asked for has been returned; -1 with
 * err set when a request failed for good, a record did not parse, or a
 * stop signal arrived. */
__attribute__((warn_unused_result)) int
upstream_pager_next(struct upstream_pager *p, struct rec_list *records,
                    int64_t *total, size_t *count, struct werr *err);

/* Abandons the requests in flight. */
void upstream_pager_free(struct upstream_pager *p);

/* The delay before retry number `retry` (0 for the first): 250 ms,
 * doubling, at most UPSTREAM_BACKOFF_MAX_MS. */
long upstream_backoff_ms(int retry);

/* The delay a 429 asks for: its Retry-After seconds (negative when it
 * gave none, then the backoff applies), at most 60 s. */
long upstream_retry_delay_ms(long retry_after_s, int retry);

/* A Retry-After value, delay-seconds or an HTTP-date, as seconds from now;
 * -1 when it is neither. */
long upstream_parse_retry_after(const char *value, time_t now);

/* A delay of ms spread at random over [ms/2, ms], so that clients that
 * failed together do not all come back at once; state is the generator's. */
long upstream_jitter_ms(long ms, unsigned *state);

/* Percent-encodes text for a query string (RFC 3986 unreserved characters
 * kept). False when out (outlen bytes) is too small. */
__attribute__((warn_unused_result)) bool
upstream_url_encode(const char *text, char *out, size_t outlen);

/* The URL of a CDR page for seconds from .. to of day. False when buf is
 * too small. */
__attribute__((warn_unused_result)) bool
upstream_cdr_url(const char *base_url, cs_day day, int from, int to, int page,
                 char *buf, size_t buflen);

#endif
