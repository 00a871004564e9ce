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

struct upstream {
    const struct cs_config *cfg;
    struct upstream_counts counts;
    double deadline; /* monotonic seconds; 0 for none */
    unsigned jitter; /* the state of the retries' random spread */
    CURL *curl;
    char *token;
    struct curl_slist *headers; /* Authorization and Content-Type */
    struct buf body;
    long retry_after_s; /* of the last response; -1 when none */
    char errbuf[CURL_ERROR_SIZE];
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
    struct upstream *up = userp;
    size_t n = size * nmemb;
    if (up->body.len + n > (size_t)MAX_BODY_BYTES ||
        !buf_append(&up->body, data, n))
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
    struct upstream *up = userp;
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
        up->retry_after_s = upstream_parse_retry_after(value, time(NULL));
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

struct upstream *upstream_new(const struct cs_config *cfg)
{
    struct upstream *up = calloc(1, sizeof(*up));
    if (up == NULL || (up->curl = curl_easy_init()) == NULL) {
        cs_error("upstream client: libcurl could not start");
        free(up);
        return NULL;
    }
    up->cfg = cfg;
    up->jitter = (unsigned)time(NULL) ^ ((unsigned)getpid() << 16);
    CURL *c = up->curl;
    long connect_s = cfg->http_timeout < 15 ? cfg->http_timeout : 15;
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, up->errbuf);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)cfg->http_timeout);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, connect_s);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(c, CURLOPT_USERAGENT, "callstats-worker");
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, up);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, up);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, up);
    return up;
}

static void forget_token(struct upstream *up)
{
    if (up->token != NULL) {
        memset(up->token, 0, strlen(up->token));
        free(up->token);
        up->token = NULL;
    }
    curl_slist_free_all(up->headers);
    up->headers = NULL;
}

void upstream_free(struct upstream *up)
{
    if (up == NULL)
        return;
    forget_token(up);
    curl_easy_cleanup(up->curl);
    buf_free(&up->body);
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

/* Runs the transfer; V_RETRY with problem set on a transport error. */
static enum verdict transfer(struct upstream *up, const struct request *rq,
                             long *status, char *problem, size_t plen)
{
    CURL *c = up->curl;
    buf_reset(&up->body);
    up->retry_after_s = -1;
    up->errbuf[0] = '\0';
    up->counts.requests++;
    notify_alive();
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
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, rq->auth ? up->headers : NULL);
    if (rq->post != NULL)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, rq->post);
    else
        curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    CURLcode rc = curl_easy_perform(c);
    if (rc == CURLE_ABORTED_BY_CALLBACK || sig_stop_requested())
        return V_STOPPED;
    if (rc != CURLE_OK) {
        snprintf(problem, plen, "%s",
                 up->errbuf[0] ? up->errbuf : curl_easy_strerror(rc));
        return V_RETRY;
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
    return V_DONE;
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

/* Reads the envelope of a response body already received. */
static enum verdict read_envelope(struct upstream *up, const struct request *rq,
                                  long status, json_t **data, char *problem,
                                  size_t plen, struct werr *err)
{
    json_error_t jerr;
    json_t *root =
        json_loadb(up->body.data ? up->body.data : "", up->body.len, 0, &jerr);
    if (root == NULL) {
        if (status >= 200 && status < 300) {
            char reason[JSON_ERROR_TEXT_LENGTH + 32];
            json_reason(&jerr, reason, sizeof(reason));
            snprintf(problem, plen, "HTTP %ld, body is not JSON: %s", status,
                     reason);
            return V_RETRY;
        }
        werr_set(err,
                 "upstream refused request=%s http=%ld (body is not "
                 "JSON)",
                 rq->what, status);
        return V_FAILED;
    }
    int64_t code = 0;
    struct werr ignored = {{0}};
    const json_t *msg = json_object_get(root, "message");
    enum jf_status st =
        jf_int(json_object_get(root, "code"), "code", &code, &ignored);
    enum verdict v = V_DONE;
    if (rq->auth && (code == CODE_TOKEN_INVALID || code == CODE_TOKEN_EXPIRED))
        v = V_AUTH;
    else if (st != JF_OK || code != CODE_OK || status < 200 || status > 299)
        v = V_FAILED;
    if (v == V_FAILED) {
        char told[256];
        redact(json_is_string(msg) ? json_string_value(msg) : "", up->token,
               told, sizeof(told));
        werr_set(err,
                 "upstream refused request=%s http=%ld code=%lld "
                 "message=\"%s\"",
                 rq->what, status, st == JF_OK ? (long long)code : -1LL, told);
        problem[0] = '\0';
    } else if (v == V_DONE) {
        *data = json_incref(json_object_get(root, "data"));
        if (*data == NULL)
            *data = json_null();
    }
    json_decref(root);
    return v;
}

static enum verdict attempt(struct upstream *up, const struct request *rq,
                            json_t **data, char *problem, size_t plen,
                            struct werr *err)
{
    long status = 0;
    enum verdict v = transfer(up, rq, &status, problem, plen);
    if (v != V_DONE)
        return v;
    cs_debug("upstream response request=%s http=%ld bytes=%zu", rq->what,
             status, up->body.len);
    if (status == 401 && rq->auth)
        return V_AUTH;
    if (status == 429 || status >= 500) {
        snprintf(problem, plen, "HTTP %ld", status);
        return V_RETRY;
    }
    return read_envelope(up, rq, status, data, problem, plen, err);
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
    size_t len = strlen("Authorization: ") + strlen(token) + 1;
    char *header = malloc(len);
    up->token = strdup(token);
    if (header == NULL || up->token == NULL) {
        free(header);
        forget_token(up);
        return werr_set(err, "out of memory storing the token");
    }
    snprintf(header, len, "Authorization: %s", token);
    up->headers = curl_slist_append(NULL, header);
    memset(header, 0, len);
    free(header);
    up->headers =
        curl_slist_append(up->headers, "Content-Type: application/json");
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
    json_decref(data);
    if (ok)
        cs_info("upstream token obtained via=%s", rq.what);
    return ok;
}

static bool request(struct upstream *up, const struct request *rq,
                    json_t **data, struct werr *err)
{
    bool refreshed = false;
    int retries = up->cfg->http_retries;
    char problem[CURL_ERROR_SIZE + 64];
    *data = NULL;
    for (int retry = 0;;) {
        if (rq->auth && up->token == NULL && !fetch_token(up, err))
            return false;
        problem[0] = '\0';
        enum verdict v = attempt(up, rq, data, problem, sizeof(problem), err);
        if (v == V_DONE)
            return true;
        if (v == V_FAILED)
            return false;
        if (v == V_STOPPED)
            return werr_stopped(err, rq->what);
        if (v == V_AUTH) {
            if (refreshed)
                return werr_set(err,
                                "upstream rejected a fresh token "
                                "request=%s",
                                rq->what);
            cs_info("upstream token no longer valid request=%s", rq->what);
            refreshed = true;
            up->counts.relogins++;
            forget_token(up);
            continue;
        }
        if (retry >= retries)
            return werr_set(err,
                            "upstream request failed request=%s "
                            "attempts=%d error=\"%s\"",
                            rq->what, retry + 1, problem);
        long ms = upstream_retry_delay_ms(up->retry_after_s, retry);
        if (up->retry_after_s < 0)
            ms = upstream_jitter_ms(ms, &up->jitter);
        if (up->deadline > 0 && mono_now() + (double)ms / 1000 > up->deadline)
            return werr_set(err,
                            "upstream request failed and the run's deadline "
                            "comes before the next try request=%s attempts=%d "
                            "retry_in_ms=%ld error=\"%s\"",
                            rq->what, retry + 1, ms, problem);
        up->counts.retries++;
        cs_warn("upstream request failed request=%s attempt=%d error=\"%s\" "
                "retry_in_ms=%ld",
                rq->what, retry + 1, problem, ms);
        retry++;
        if (!sig_sleep_ms(ms))
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

bool upstream_cdr_page(struct upstream *up, cs_day day, int from, int to,
                       int page, json_t **data, struct werr *err)
{
    char date[CS_DATE_LEN], url[1024], what[96];
    cs_date_format(day, date);
    if (!upstream_cdr_url(up->cfg->base_url, day, from, to, page, url,
                          sizeof(url)))
        return werr_set(err, "GUANKE_BASE_URL too long for a CDR URL");
    snprintf(what, sizeof(what), "/task/cdr/all2 day=%s from=%d to=%d page=%d",
             date, from, to, page);
    struct request rq = {what, url, NULL, true};
    return request(up, &rq, data, err);
}
