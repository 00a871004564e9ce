/* The upstream platform's HTTP client (see upstream.h). */
#include "upstream.h"

#include <ctype.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "cdrpage.h"
#include "jfield.h"
#include "log.h"
#include "notify.h"
#include "signals.h"

/* A page of 1000 records is about 1 MB; a body of many times that is no
 * page, and parsing it would take gigabytes. */
#define MAX_BODY_BYTES     (64L * 1024 * 1024)
#define CODE_OK            200
#define CODE_TOKEN_INVALID 1000001
#define CODE_TOKEN_EXPIRED 1000002

/* One easy handle with what a response brings back. */
struct xfer {
    struct upstream *up;
    CURL *curl;
    struct curl_slist *headers; /* this request's own copy */
    struct buf body;
    long retry_after_s; /* of the last response; -1 when none */
    char errbuf[CURL_ERROR_SIZE];
};

struct upstream {
    const struct cs_config *cfg;
    struct upstream_counts counts;
    double deadline;    /* monotonic seconds; 0 for none */
    unsigned jitter;    /* the state of the retries' random spread */
    unsigned token_gen; /* bumped by each token fetched */
    char *token;
    struct xfer main; /* tokens, statistics */
};

/* One HTTP request: what names it in logs (never the URL of a token
 * request), post is the JSON body or NULL for GET. */
struct request {
    const char *what;
    const char *url;
    const char *post;
    bool auth;
};

/* What one attempt came to. */
enum verdict {
    V_DONE,    /* envelope code 200; *data set */
    V_FAILED,  /* refused, reported */
    V_RETRY,   /* worth another attempt; problem describes it */
    V_AUTH,    /* the token is no longer good */
    V_STOPPED, /* a stop signal arrived */
};

long upstream_backoff_ms(int retry)
{
    long ms = UPSTREAM_BACKOFF_FIRST_MS;
    for (int i = 0; i < retry && ms < UPSTREAM_BACKOFF_MAX_MS; i++)
        ms *= 2;
    return ms < UPSTREAM_BACKOFF_MAX_MS ? ms : UPSTREAM_BACKOFF_MAX_MS;
}

long upstream_retry_delay_ms(long retry_after_s, int retry)
{
    if (retry_after_s < 0)
        return upstream_backoff_ms(retry);
    if (retry_after_s > UPSTREAM_RETRY_AFTER_MAX_S)
        retry_after_s = UPSTREAM_RETRY_AFTER_MAX_S;
    return retry_after_s * 1000;
}

bool upstream_url_encode(const char *text, char *out, size_t outlen)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        bool keep =
            isalnum(*p) || *p == '-' || *p == '_' || *p == '.' || *p == '~';
        if (n + (keep ? 1 : 3) >= outlen)
            return false;
        if (keep) {
            out[n++] = (char)*p;
        } else {
            out[n++] = '%';
            out[n++] = hex[*p >> 4];
            out[n++] = hex[*p & 15];
        }
    }
    if (n >= outlen)
        return false;
    out[n] = '\0';
    return true;
}

bool upstream_cdr_url(const char *base_url, cs_day day, int from, int to,
                      int page, char *buf, size_t buflen)
{
    char date[CS_DATE_LEN], start[32], end[32], start_q[64], end_q[64];
    cs_date_format(day, date);
    snprintf(start, sizeof(start), "%s %02d:%02d:%02d", date, from / 3600,
             from / 60 % 60, from % 60);
    snprintf(end, sizeof(end), "%s %02d:%02d:%02d", date, to / 3600,
             to / 60 % 60, to % 60);
    if (!upstream_url_encode(start, start_q, sizeof(start_q)) ||
        !upstream_url_encode(end, end_q, sizeof(end_q)))
        return false;
    int n = snprintf(buf, buflen,
                     "%s/task/cdr/all2?startTime=%s&endTime=%s&page=%d"
                     "&pageSize=%d",
                     base_url, start_q, end_q, page, UPSTREAM_PAGE_SIZE);
    return n > 0 && (size_t)n < buflen;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *userp)
{
    struct xfer *x = userp;
    size_t n = size * nmemb;
    if (x->body.len + n > (size_t)MAX_BODY_BYTES ||
        !buf_append(&x->body, data, n))
        return 0; /* libcurl then fails the transfer */
    return n;
}

long upstream_parse_retry_after(const char *value, time_t now)
{
    char *end;
    while (isspace((unsigned char)*value))
        value++;
    if (isdigit((unsigned char)*value)) {
        long s = strtol(value, &end, 10);
        while (isspace((unsigned char)*end))
            end++;
        return *end == '\0' && s >= 0 ? s : -1;
    }
    time_t when = curl_getdate(value, NULL);
    if (when == (time_t)-1)
        return -1;
    return when > now ? (long)(when - now) : 0;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *userp)
{
    struct xfer *x = userp;
    size_t n = size * nmemb;
    static const char name[] = "retry-after:";
    if (n > sizeof(name) && strncasecmp(data, name, sizeof(name) - 1) == 0) {
        char value[64];
        size_t len = n - (sizeof(name) - 1);
        if (len >= sizeof(value))
            len = sizeof(value) - 1;
        memcpy(value, data + sizeof(name) - 1, len);
        value[len] = '\0';
        value[strcspn(value, "\r\n")] = '\0';
        x->retry_after_s = upstream_parse_retry_after(value, time(NULL));
    }
    return n;
}

static int on_progress(void *userp, curl_off_t dltotal, curl_off_t dlnow,
                       curl_off_t ultotal, curl_off_t ulnow)
{
    (void)userp;
    (void)dltotal;
    (void)dlnow;
    (void)ultotal;
    (void)ulnow;
    return sig_stop_requested() ? 1 : 0;
}

static bool xfer_init(struct xfer *x, struct upstream *up)
{
    memset(x, 0, sizeof(*x));
    x->up = up;
    x->curl = curl_easy_init();
    if (x->curl == NULL)
        return false;
    const struct cs_config *cfg = up->cfg;
    CURL *c = x->curl;
    long connect_s = cfg->http_timeout < 15 ? cfg->http_timeout : 15;
    curl_easy_setopt(c, CURLOPT_PRIVATE, x);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, x->errbuf);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)cfg->http_timeout);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, connect_s);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(c, CURLOPT_USERAGENT, "callstats-worker");
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, x);
    return true;
}

static void xfer_cleanup(struct xfer *x)
{
    curl_easy_cleanup(x->curl);
    x->curl = NULL;
    curl_slist_free_all(x->headers);
    x->headers = NULL;
    buf_free(&x->body);
}

struct upstream *upstream_new(const struct cs_config *cfg)
{
    struct upstream *up = calloc(1, sizeof(*up));
    if (up != NULL) {
        up->cfg = cfg;
        up->jitter = (unsigned)time(NULL) ^ ((unsigned)getpid() << 16);
    }
    if (up == NULL || !xfer_init(&up->main, up)) {
        cs_error("upstream client: libcurl could not start");
        free(up);
        return NULL;
    }
    return up;
}

static void forget_token(struct upstream *up)
{
    if (up->token != NULL) {
        memset(up->token, 0, strlen(up->token));
        free(up->token);
        up->token = NULL;
    }
}

void upstream_free(struct upstream *up)
{
    if (up == NULL)
        return;
    forget_token(up);
    xfer_cleanup(&up->main);
    free(up);
}

static double mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void upstream_set_deadline(struct upstream *up, int seconds)
{
    up->deadline = seconds > 0 ? mono_now() + seconds : 0;
}

bool upstream_deadline_passed(const struct upstream *up)
{
    return up->deadline > 0 && mono_now() >= up->deadline;
}

void upstream_counts(const struct upstream *up, struct upstream_counts *out)
{
    *out = up->counts;
}

long upstream_jitter_ms(long ms, unsigned *state)
{
    /* xorshift32: a spread, not a secret. */
    unsigned x = *state ? *state : 2463534242U;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    *state = x;
    long half = ms / 2;
    return half + (long)(x % (unsigned)(half + 1));
}

/* This request's headers: the token as it is now (a token fetched while
 * it is in flight does not change them under it). */
static bool set_headers(struct xfer *x, bool auth)
{
    curl_slist_free_all(x->headers);
    x->headers = NULL;
    if (!auth)
        return true;
    const char *token = x->up->token;
    size_t len = strlen("Authorization: ") + strlen(token) + 1;
    char *line = malloc(len);
    if (line == NULL)
        return false;
    snprintf(line, len, "Authorization: %s", token);
    x->headers = curl_slist_append(NULL, line);
    memset(line, 0, len);
    free(line);
    struct curl_slist *more =
        x->headers
            ? curl_slist_append(x->headers, "Content-Type: application/json")
            : NULL;
    if (more == NULL) {
        curl_slist_free_all(x->headers);
        x->headers = NULL;
        return false;
    }
    x->headers = more;
    return true;
}

/* Readies x for rq: a fresh body, the URL, headers and time-out. */
static bool xfer_prepare(struct xfer *x, const struct request *rq)
{
    struct upstream *up = x->up;
    CURL *c = x->curl;
    buf_reset(&x->body);
    x->retry_after_s = -1;
    x->errbuf[0] = '\0';
    if (!set_headers(x, rq->auth))
        return false;
    long timeout = up->cfg->http_timeout;
    if (up->deadline > 0) {
        double left = up->deadline - mono_now();
        if (left < 1)
            left = 1;
        if (left < (double)timeout)
            timeout = (long)left;
    }
    curl_easy_setopt(c, CURLOPT_TIMEOUT, timeout);
    curl_easy_setopt(c, CURLOPT_URL, rq->url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, x->headers);
    if (rq->post != NULL)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, rq->post);
    else
        curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    up->counts.requests++;
    notify_alive();
    return true;
}

/*
 * Copies text the upstream chose (a refusal's message) for the log: runs of
 * 6 or more digits, which may be a customer's number, become "#", and the
 * token, should the message repeat it, becomes "<token>".
 */
static void redact(const char *in, const char *token, char *out, size_t len)
{
    size_t n = 0, tlen = token ? strlen(token) : 0;
    while (*in && n + 8 < len) {
        size_t digits = strspn(in, "0123456789");
        if (digits >= 6) {
            out[n++] = '#';
            in += digits;
        } else if (tlen > 0 && strncmp(in, token, tlen) == 0) {
            n += (size_t)snprintf(out + n, len - n, "<token>");
            in += tlen;
        } else if (digits > 0) {
            memcpy(out + n, in, digits);
            n += digits;
            in += digits;
        } else {
            out[n++] = *in++;
        }
    }
    out[n] = '\0';
}

/* jansson's reason without its "near '...'" part, which quotes the body
 * (and so may quote a customer's number). */
static void json_reason(const json_error_t *jerr, char *out, size_t len)
{
    const char *near = strstr(jerr->text, " near ");
    int keep = near ? (int)(near - jerr->text) : (int)strlen(jerr->text);
    snprintf(out, len, "%.*s at byte %d", keep, jerr->text, jerr->position);
}

/* A body that is not JSON: worth another try when the status said
 * success (a broken answer), else a refusal. */
static enum verdict not_json(const struct request *rq, long status,
                             const char *reason, char *problem, size_t plen,
                             struct werr *err)
{
    if (status >= 200 && status < 300) {
        snprintf(problem, plen, "HTTP %ld, body is not JSON: %.200s", status,
                 reason);
        return V_RETRY;
    }
    werr_set(err, "upstream refused request=%s http=%ld (body is not JSON)",
             rq->what, status);
    return V_FAILED;
}

/* The envelope's verdict: code 200 with a 2xx status is success, the token
 * codes ask for a new token, anything else is a refusal, reported with the
 * upstream's message (redacted). */
static enum verdict envelope(const struct xfer *x, const struct request *rq,
                             long status, bool has_code, int64_t code,
                             const char *message, char *problem,
                             struct werr *err)
{
    if (rq->auth && has_code &&
        (code == CODE_TOKEN_INVALID || code == CODE_TOKEN_EXPIRED))
        return V_AUTH;
    if (has_code && code == CODE_OK && status >= 200 && status <= 299)
        return V_DONE;
    char told[256];
    redact(message != NULL ? message : "", x->up->token, told, sizeof(told));
    werr_set(err,
             "upstream refused request=%s http=%ld code=%lld message=\"%s\"",
             rq->what, status, has_code ? (long long)code : -1LL, told);
    problem[0] = '\0';
    return V_FAILED;
}

/* Reads the envelope of a response body already received; *data is its
 * `data` on success. */
static enum verdict read_envelope(struct xfer *x, const struct request *rq,
                                  long status, json_t **data, char *problem,
                                  size_t plen, struct werr *err)
{
    json_error_t jerr;
    json_t *root =
        json_loadb(x->body.data ? x->body.data : "", x->body.len, 0, &jerr);
    if (root == NULL) {
        char reason[JSON_ERROR_TEXT_LENGTH + 32];
        json_reason(&jerr, reason, sizeof(reason));
        return not_json(rq, status, reason, problem, plen, err);
    }
    int64_t code = 0;
    struct werr ignored = {{0}};
    const json_t *msg = json_object_get(root, "message");
    bool has_code =
        jf_int(json_object_get(root, "code"), "code", &code, &ignored) == JF_OK;
    enum verdict v = envelope(x, rq, status, has_code, code,
                              json_string_value(msg), problem, err);
    if (v == V_DONE) {
        *data = json_incref(json_object_get(root, "data"));
        if (*data == NULL)
            *data = json_null();
    }
    json_decref(root);
    return v;
}

/* What a finished transfer came to before its body is read: V_DONE with
 * *status when the body is to be read. */
static enum verdict judge_transfer(struct xfer *x, const struct request *rq,
                                   CURLcode rc, long *status, char *problem,
                                   size_t plen)
{
    if (rc == CURLE_ABORTED_BY_CALLBACK || sig_stop_requested())
        return V_STOPPED;
    if (rc != CURLE_OK) {
        snprintf(problem, plen, "%s",
                 x->errbuf[0] ? x->errbuf : curl_easy_strerror(rc));
        return V_RETRY;
    }
    curl_easy_getinfo(x->curl, CURLINFO_RESPONSE_CODE, status);
    cs_debug("upstream response request=%s http=%ld bytes=%zu", rq->what,
             *status, x->body.len);
    if (*status == 401 && rq->auth)
        return V_AUTH;
    if (*status == 429 || *status >= 500) {
        snprintf(problem, plen, "HTTP %ld", *status);
        return V_RETRY;
    }
    return V_DONE;
}

/* What a finished transfer came to. */
static enum verdict judge(struct xfer *x, const struct request *rq, CURLcode rc,
                          json_t **data, char *problem, size_t plen,
                          struct werr *err)
{
    long status = 0;
    enum verdict v = judge_transfer(x, rq, rc, &status, problem, plen);
    if (v != V_DONE)
        return v;
    return read_envelope(x, rq, status, data, problem, plen, err);
}

/* Reads a CDR page's body in one pass (cdrpage.h): on success its records
 * are appended to list and *total, *count set. */
static enum verdict judge_page(struct xfer *x, const struct request *rq,
                               CURLcode rc, struct rec_list *list,
                               int64_t *total, size_t *count, char *problem,
                               size_t plen, struct werr *err)
{
    long status = 0;
    enum verdict v = judge_transfer(x, rq, rc, &status, problem, plen);
    if (v != V_DONE)
        return v;
    struct cdrpage page;
    size_t before = list->count;
    enum cdrpage_outcome got = cdrpage_parse(x->body.data ? x->body.data : "",
                                             x->body.len, list, &page);
    if (got == CDRPAGE_NOT_JSON) {
        v = not_json(rq, status, page.problem.msg, problem, plen, err);
    } else if (got == CDRPAGE_NO_MEMORY) {
        werr_set(err, "out of memory reading request=%s", rq->what);
        v = V_FAILED;
    } else {
        v = envelope(x, rq, status, page.has_code, page.code, page.message,
                     problem, err);
    }
    if (v == V_DONE && got == CDRPAGE_BAD_PAGE) {
        werr_set(err, "%s", page.problem.msg);
        v = V_FAILED;
    }
    if (v == V_DONE) {
        *total = page.total_count;
        *count = page.count;
    } else {
        while (list->count > before)
            rec_record_free(&list->items[--list->count]);
    }
    cdrpage_free(&page);
    return v;
}

static bool request(struct upstream *up, const struct request *rq,
                    json_t **data, struct werr *err);

static bool set_token(struct upstream *up, const json_t *data, struct werr *err)
{
    const json_t *t =
        json_is_object(data) ? json_object_get(data, "token") : data;
    const char *token = json_string_value(t);
    if (token == NULL || token[0] == '\0' || strpbrk(token, "\r\n"))
        return werr_set(err, "upstream token response has no usable "
                             "field=data.token");
    up->token = strdup(token);
    if (up->token == NULL)
        return werr_set(err, "out of memory storing the token");
    up->token_gen++;
    return true;
}

/* Logs in with username and password, or else the secret. */
static bool fetch_token(struct upstream *up, struct werr *err)
{
    const struct cs_config *cfg = up->cfg;
    char a[512], b[512], url[2048];
    bool by_login = cfg->username != NULL && cfg->password != NULL;
    bool ok = by_login ? upstream_url_encode(cfg->username, a, sizeof(a)) &&
                             upstream_url_encode(cfg->password, b, sizeof(b))
                       : upstream_url_encode(cfg->api_secret, a, sizeof(a));
    if (ok && by_login)
        snprintf(url, sizeof(url), "%s/token?username=%s&password=%s",
                 cfg->base_url, a, b);
    else if (ok)
        snprintf(url, sizeof(url), "%s/token/secret?secret=%s", cfg->base_url,
                 a);
    memset(a, 0, sizeof(a));
    memset(b, 0, sizeof(b));
    if (!ok)
        return werr_set(err, "upstream credentials too long to send");
    struct request rq = {by_login ? "/token" : "/token/secret", url, NULL,
                         false};
    json_t *data = NULL;
    forget_token(up);
    ok = request(up, &rq, &data, err) && set_token(up, data, err);
    memset(url, 0, sizeof(url));
    /* libcurl keeps a copy of the last URL: overwrite it. */
    curl_easy_setopt(up->main.curl, CURLOPT_URL, "http://localhost/");
    json_decref(data);
    if (ok)
        cs_info("upstream token obtained via=%s", rq.what);
    return ok;
}

/* The token is refused: one login serves every request that was sent
 * with the same token (gen), the others find a newer one already there. */
static bool renew_token(struct upstream *up, unsigned gen, const char *what,
                        struct werr *err)
{
    if (up->token != NULL && up->token_gen != gen)
        return true;
    cs_info("upstream token no longer valid request=%s", what);
    up->counts.relogins++;
    return fetch_token(up, err);
}

/* The wait before a retry, or false with err set when the retries or the
 * run's deadline are used up. */
static bool next_try(struct upstream *up, const struct request *rq, int retry,
                     long retry_after_s, const char *problem, long *ms,
                     struct werr *err)
{
    if (retry >= up->cfg->http_retries)
        return werr_set(err,
                        "upstream request failed request=%s attempts=%d "
                        "error=\"%s\"",
                        rq->what, retry + 1, problem);
    *ms = upstream_retry_delay_ms(retry_after_s, retry);
    if (retry_after_s < 0)
        *ms = upstream_jitter_ms(*ms, &up->jitter);
    if (up->deadline > 0 && mono_now() + (double)*ms / 1000 > up->deadline)
        return werr_set(err,
                        "upstream request failed and the run's deadline "
                        "comes before the next try request=%s attempts=%d "
                        "retry_in_ms=%ld error=\"%s\"",
                        rq->what, retry + 1, *ms, problem);
    up->counts.retries++;
    cs_warn("upstream request failed request=%s attempt=%d error=\"%s\" "
            "retry_in_ms=%ld",
            rq->what, retry + 1, problem, *ms);
    return true;
}

/*
 * After an attempt that did not succeed: true when the request is to be
 * sent again after *wait_ms (a new token fetched, or a retry's wait),
 * false with err set when it failed for good. retry and renewed are the
 * request's own: its retries so far, and whether its one token renewal is
 * spent; gen is the token generation it was sent with.
 */
static bool try_again(struct upstream *up, const struct request *rq,
                      enum verdict v, int *retry, bool *renewed, unsigned gen,
                      long retry_after_s, const char *problem, long *wait_ms,
                      struct werr *err)
{
    *wait_ms = 0;
    switch (v) {
    case V_AUTH:
        if (*renewed)
            return werr_set(err, "upstream rejected a fresh token request=%s",
                            rq->what);
        *renewed = true;
        return renew_token(up, gen, rq->what, err);
    case V_RETRY:
        if (!next_try(up, rq, *retry, retry_after_s, problem, wait_ms, err))
            return false;
        (*retry)++;
        return true;
    case V_STOPPED:
        return werr_stopped(err, rq->what);
    case V_DONE:
    case V_FAILED:
        break;
    }
    return false;
}

static bool request(struct upstream *up, const struct request *rq,
                    json_t **data, struct werr *err)
{
    bool renewed = false;
    char problem[CURL_ERROR_SIZE + 64];
    struct xfer *x = &up->main;
    *data = NULL;
    for (int retry = 0;;) {
        if (rq->auth && up->token == NULL && !fetch_token(up, err))
            return false;
        unsigned gen = up->token_gen;
        problem[0] = '\0';
        if (upstream_deadline_passed(up))
            return werr_set(err, "the run's deadline passed before request=%s",
                            rq->what);
        if (!xfer_prepare(x, rq))
            return werr_set(err, "out of memory preparing request=%s",
                            rq->what);
        CURLcode rc = curl_easy_perform(x->curl);
        enum verdict v = judge(x, rq, rc, data, problem, sizeof(problem), err);
        long ms = 0;
        if (v == V_DONE)
            return true;
        if (!try_again(up, rq, v, &retry, &renewed, gen, x->retry_after_s,
                       problem, &ms, err))
            return false;
        if (ms > 0 && !sig_sleep_ms(ms))
            return werr_stopped(err, rq->what);
    }
}

bool upstream_stats(struct upstream *up, cs_day day, int query_type,
                    json_t **data, struct werr *err)
{
    char date[CS_DATE_LEN], url[1024], body[128], what[96];
    cs_date_format(day, date);
    snprintf(url, sizeof(url), "%s/extension/agent/stat", up->cfg->base_url);
    snprintf(body, sizeof(body),
             "{\"start_time\":\"%s\",\"end_time\":\"%s\",\"query_type\":%d}",
             date, date, query_type);
    snprintf(what, sizeof(what), "/extension/agent/stat day=%s query_type=%d",
             date, query_type);
    struct request rq = {what, url, body, true};
    return request(up, &rq, data, err);
}

/* The pager: pages of one CDR window, several in flight at once. */

#define PAGER_MAX_IN_FLIGHT 16

struct page_call {
    struct xfer x;
    int page;                /* 0 when the slot is free */
    bool active;             /* added to the multi handle */
    int retry;               /* retries so far */
    bool renewed;            /* its one token renewal is spent */
    unsigned gen;            /* the token generation it was sent with */
    double not_before;       /* monotonic: a retry waits until then */
    struct rec_list records; /* the page, once it came */
    int64_t total;
    size_t count;
    char url[1024];
    char what[96];
};

struct upstream_pager {
    struct upstream *up;
    CURLM *multi;
    cs_day day;
    int from, to;
    int slots;
    struct page_call calls[PAGER_MAX_IN_FLIGHT];
    int *queue; /* pages wanted, not yet sent */
    size_t queued, queue_cap;
};

struct upstream_pager *upstream_pager_new(struct upstream *up, cs_day day,
                                          int from, int to, int in_flight)
{
    struct upstream_pager *p = calloc(1, sizeof(*p));
    if (p == NULL)
        return NULL;
    p->up = up;
    p->day = day;
    p->from = from;
    p->to = to;
    p->slots = in_flight < 1                     ? 1
               : in_flight > PAGER_MAX_IN_FLIGHT ? PAGER_MAX_IN_FLIGHT
                                                 : in_flight;
    p->multi = curl_multi_init();
    bool ok = p->multi != NULL;
    for (int i = 0; ok && i < p->slots; i++)
        ok = xfer_init(&p->calls[i].x, up);
    if (!ok) {
        upstream_pager_free(p);
        return NULL;
    }
    return p;
}

void upstream_pager_free(struct upstream_pager *p)
{
    if (p == NULL)
        return;
    for (int i = 0; i < p->slots; i++) {
        struct page_call *c = &p->calls[i];
        if (c->active)
            curl_multi_remove_handle(p->multi, c->x.curl);
        if (c->x.curl != NULL)
            xfer_cleanup(&c->x);
        rec_list_free(&c->records);
    }
    curl_multi_cleanup(p->multi);
    free(p->queue);
    free(p);
}

bool upstream_pager_want(struct upstream_pager *p, int page)
{
    if (p->queued == p->queue_cap) {
        size_t cap = p->queue_cap ? p->queue_cap * 2 : 64;
        int *q = realloc(p->queue, cap * sizeof(*q));
        if (q == NULL)
            return false;
        p->queue = q;
        p->queue_cap = cap;
    }
    p->queue[p->queued++] = page;
    return true;
}

/* Sends c's request now, with a token fetched first when there is none. */
static bool send_call(struct upstream_pager *p, struct page_call *c,
                      struct werr *err)
{
    struct request rq = {c->what, c->url, NULL, true};
    if (upstream_deadline_passed(p->up))
        return werr_set(err, "the run's deadline passed before request=%s",
                        c->what);
    if (p->up->token == NULL && !fetch_token(p->up, err))
        return false;
    c->gen = p->up->token_gen;
    if (!xfer_prepare(&c->x, &rq) ||
        curl_multi_add_handle(p->multi, c->x.curl) != CURLM_OK)
        return werr_set(err, "out of memory sending request=%s", c->what);
    c->active = true;
    return true;
}

/* Fills free slots from the queue (lowest page first) and sends every
 * request whose wait is over. */
static bool start_calls(struct upstream_pager *p, struct werr *err)
{
    double now = mono_now();
    for (int i = 0; i < p->slots; i++) {
        struct page_call *c = &p->calls[i];
        if (c->page == 0 && p->queued > 0) {
            size_t low = 0;
            for (size_t k = 1; k < p->queued; k++)
                if (p->queue[k] < p->queue[low])
                    low = k;
            c->page = p->queue[low];
            p->queue[low] = p->queue[--p->queued];
            c->retry = 0;
            c->renewed = false;
            c->not_before = 0;
            if (!upstream_cdr_url(p->up->cfg->base_url, p->day, p->from, p->to,
                                  c->page, c->url, sizeof(c->url)))
                return werr_set(err, "GUANKE_BASE_URL too long for a CDR URL");
            char date[CS_DATE_LEN];
            cs_date_format(p->day, date);
            snprintf(c->what, sizeof(c->what),
                     "/task/cdr/all2 day=%s from=%d to=%d page=%d", date,
                     p->from, p->to, c->page);
        }
        if (c->page != 0 && !c->active && c->not_before <= now &&
            !send_call(p, c, err))
            return false;
    }
    return true;
}

/* Judges c's finished transfer: true with *done when it brought its page
 * (in c->records), true without when it will be sent again, false on
 * failure. */
static bool finish_call(struct upstream_pager *p, struct page_call *c,
                        CURLcode rc, bool *done, struct werr *err)
{
    char problem[CURL_ERROR_SIZE + 64] = "";
    struct request rq = {c->what, c->url, NULL, true};
    curl_multi_remove_handle(p->multi, c->x.curl);
    c->active = false;
    *done = false;
    enum verdict v = judge_page(&c->x, &rq, rc, &c->records, &c->total,
                                &c->count, problem, sizeof(problem), err);
    long ms = 0;
    if (v == V_DONE) {
        *done = true;
        return true;
    }
    if (!try_again(p->up, &rq, v, &c->retry, &c->renewed, c->gen,
                   c->x.retry_after_s, problem, &ms, err))
        return false;
    c->not_before = mono_now() + (double)ms / 1000;
    return true;
}

/* The time until the next retry is due, in ms, at most cap. */
static int wait_ms(const struct upstream_pager *p, int cap)
{
    double now = mono_now(), wait = cap;
    for (int i = 0; i < p->slots; i++) {
        const struct page_call *c = &p->calls[i];
        if (c->page != 0 && !c->active) {
            double ms = (c->not_before - now) * 1000;
            wait = ms < wait ? (ms > 0 ? ms : 0) : wait;
        }
    }
    return (int)wait;
}

int upstream_pager_next(struct upstream_pager *p, struct rec_list *records,
                        int64_t *total, size_t *count, struct werr *err)
{
    for (;;) {
        if (sig_stop_requested()) {
            werr_stopped(err, "the listing");
            return -1;
        }
        if (!start_calls(p, err))
            return -1;
        bool busy = false;
        for (int i = 0; i < p->slots; i++)
            busy |= p->calls[i].page != 0;
        if (!busy)
            return 0;
        int running = 0;
        if (curl_multi_perform(p->multi, &running) != CURLM_OK) {
            werr_set(err, "libcurl multi interface failed");
            return -1;
        }
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(p->multi, &left)) != NULL) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            struct xfer *x = NULL;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
            struct page_call *c = (struct page_call *)x;
            bool done;
            if (!finish_call(p, c, msg->data.result, &done, err))
                return -1;
            if (done) {
                int page = c->page;
                *records = c->records;
                *total = c->total;
                *count = c->count;
                memset(&c->records, 0, sizeof(c->records));
                c->page = 0;
                return page;
            }
        }
        notify_alive();
        curl_multi_poll(p->multi, NULL, 0, wait_ms(p, 200), NULL);
    }
}
