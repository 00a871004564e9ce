/*
 * The simulator's HTTP server on civetweb: tokens, the two data endpoints
 * and the faults, counted by a per-server counter of data requests. It
 * serves no files: no document root is ever set.
 */
#include "server.h"

#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <civetweb.h>

#include "log.h"
#include "model.h"
#include "query.h"
#include "version.h"

#define MAX_TOKENS    64
#define TOKEN_LEN     40
#define MAX_BODY      65536
#define CODE_INVALID  1000001
#define CODE_EXPIRED  1000002
#define CODE_REFUSED  1000400
#define CODE_LOGIN    1000401
#define GROW_REQUESTS 10 /* requests about today that see it growing */
#define GROW_STEP     3  /* records that arrive between two of them */

struct token {
    char text[TOKEN_LEN];
    int uses; /* data requests made with it */
};

struct server {
    const struct sim_server_config *cfg;
    const volatile sig_atomic_t *stop;
    struct sim_model model;
    uint64_t salt;        /* makes tokens differ between runs */
    pthread_mutex_t lock; /* the tokens */
    struct token tokens[MAX_TOKENS];
    unsigned issued;
    atomic_ulong requests;       /* data requests */
    atomic_ulong today_requests; /* CDR requests about today */
    atomic_ulong expired;        /* answers "expired" given */
};

static time_t server_now(const struct server *s)
{
    return s->cfg->has_now ? s->cfg->now : time(NULL);
}

/* Sleeps up to ms, ending early when the server is told to stop. */
static void nap(const struct server *s, int ms)
{
    for (int slept = 0; slept < ms && !*s->stop; slept += 100) {
        struct timespec ts = {0, 100 * 1000000L};
        nanosleep(&ts, NULL);
    }
}

static void send_body(struct mg_connection *c, int status, const char *type,
                      const char *body, size_t len, bool retry_after)
{
    char length[24];
    snprintf(length, sizeof(length), "%zu", len);
    mg_response_header_start(c, status);
    mg_response_header_add(c, "Content-Type", type, -1);
    mg_response_header_add(c, "Content-Length", length, -1);
    if (retry_after)
        mg_response_header_add(c, "Retry-After", "1", -1);
    mg_response_header_send(c);
    mg_write(c, body, len);
}

/* An envelope without data: {"code": code, "message": message}. */
static void send_error(struct mg_connection *c, int status, long code,
                       const char *message, bool retry_after)
{
    struct sim_buf b = {0};
    sim_buf_printf(&b, "{\"code\":%ld,\"message\":", code);
    sim_buf_str(&b, message);
    sim_buf_puts(&b, ",\"data\":null}");
    send_body(c, status, "application/json; charset=utf-8", b.data, b.len,
              retry_after);
    sim_buf_free(&b);
}

static void new_token(struct server *s, char *out)
{
    pthread_mutex_lock(&s->lock);
    unsigned n = s->issued++;
    uint64_t a = sim_hash(s->cfg->seed ^ s->salt, n, 1);
    uint64_t b = sim_hash(s->cfg->seed ^ s->salt, n, 2);
    struct token *t = &s->tokens[n % MAX_TOKENS];
    snprintf(t->text, sizeof(t->text), "sim%016" PRIx64 "%016" PRIx64, a, b);
    t->uses = 0;
    memcpy(out, t->text, TOKEN_LEN);
    pthread_mutex_unlock(&s->lock);
}

/* Does the query's pair of credentials match? The query is never logged. */
static bool credentials_match(const char *query, const char *name1,
                              const char *want1, const char *name2,
                              const char *want2)
{
    char got[256];
    if (query == NULL ||
        mg_get_var(query, strlen(query), name1, got, sizeof(got)) < 0 ||
        strcmp(got, want1) != 0)
        return false;
    if (name2 == NULL)
        return true;
    return mg_get_var(query, strlen(query), name2, got, sizeof(got)) >= 0 &&
           strcmp(got, want2) == 0;
}

static int handle_token(struct mg_connection *c, struct server *s,
                        bool by_secret)
{
    const char *q = mg_get_request_info(c)->query_string;
    bool ok = by_secret
                  ? credentials_match(q, "secret", s->cfg->secret, NULL, NULL)
                  : credentials_match(q, "username", s->cfg->username,
                                      "password", s->cfg->password);
    if (!ok) {
        cs_info("token refused by=%s", by_secret ? "secret" : "password");
        send_error(c, 200, CODE_LOGIN,
                   by_secret ? "wrong secret" : "wrong username or password",
                   false);
        return 200;
    }
    char token[TOKEN_LEN];
    new_token(s, token);
    struct sim_buf b = {0};
    sim_buf_puts(&b, "{\"code\":200,\"message\":\"ok\",\"data\":{\"token\":");
    sim_buf_str(&b, token);
    sim_buf_puts(&b, "}}");
    send_body(c, 200, "application/json; charset=utf-8", b.data, b.len, false);
    sim_buf_free(&b);
    cs_debug("token issued by=%s", by_secret ? "secret" : "password");
    return 200;
}

/* Answers and returns false when the request's token is not good. */
static bool authorize(struct mg_connection *c, struct server *s, int *status)
{
    const char *given = mg_get_header(c, "Authorization");
    if (given == NULL || given[0] == '\0') {
        send_error(c, 401, 401, "missing Authorization token", false);
        *status = 401;
        return false;
    }
    int uses = -1;
    pthread_mutex_lock(&s->lock);
    for (int i = 0; i < MAX_TOKENS && uses < 0; i++) {
        if (s->tokens[i].text[0] != '\0' &&
            strcmp(s->tokens[i].text, given) == 0)
            uses = ++s->tokens[i].uses;
    }
    pthread_mutex_unlock(&s->lock);
    if (uses < 0) {
        send_error(c, 200, CODE_INVALID, "token invalid", false);
        *status = 200;
        return false;
    }
    if ((s->cfg->faults & SIM_FAULT_EXPIRE) && uses > SIM_EXPIRE_AFTER) {
        bool as_401 = atomic_fetch_add(&s->expired, 1) % 2 == 0;
        *status = as_401 ? 401 : 200;
        send_error(c, *status, as_401 ? 401 : CODE_EXPIRED, "token expired",
                   false);
        cs_info("fault injected kind=expire status=%d", *status);
        return false;
    }
    return true;
}

/* Answers with a fault when one is due for data request n; sets *truncate
 * when the normal answer must be cut short. */
static bool inject_fault(struct mg_connection *c, struct server *s,
                         unsigned long n, bool *truncate, int *status)
{
    unsigned f = s->cfg->faults;
    const char *kind = NULL;
    if ((f & SIM_FAULT_HTTP500) && n % 5 == 0) {
        static const char page[] = "<html><body>500 Internal Server Error"
                                   "</body></html>\n";
        send_body(c, 500, "text/html", page, sizeof(page) - 1, false);
        kind = "http500";
        *status = 500;
    } else if ((f & SIM_FAULT_429) && n % 7 == 0) {
        send_error(c, 429, 429, "too many requests", true);
        kind = "429";
        *status = 429;
    } else if ((f & SIM_FAULT_HANG) && n % 17 == 0) {
        cs_info("fault injected kind=hang request=%lu", n);
        nap(s, 120000);
        static const char page[] = "gateway timeout\n";
        send_body(c, 504, "text/plain", page, sizeof(page) - 1, false);
        *status = 504;
        return true;
    }
    if (kind != NULL) {
        cs_info("fault injected kind=%s request=%lu", kind, n);
        return true;
    }
    if ((f & SIM_FAULT_SLOW) && n % 13 == 0) {
        cs_info("fault injected kind=slow request=%lu", n);
        nap(s, 3000);
    }
    *truncate = (f & SIM_FAULT_BADJSON) && n % 11 == 0;
    if (*truncate)
        cs_info("fault injected kind=badjson request=%lu", n);
    return false;
}

/* The view of the data for a CDR query, with "grow" and "shift". */
static void cdr_view(struct server *s, const struct sim_cdr_query *q,
                     unsigned long n, struct sim_view *v)
{
    v->now = server_now(s);
    v->hold = 0;
    v->shift = false;
    cs_day today = sim_day_of(v->now);
    unsigned f = s->cfg->faults;
    if (!(f & (SIM_FAULT_GROW | SIM_FAULT_SHIFT)) ||
        sim_day_of(q->start) > today || sim_day_of(q->end) < today)
        return;
    unsigned long k = atomic_fetch_add(&s->today_requests, 1);
    if (k >= GROW_REQUESTS)
        return;
    if (f & SIM_FAULT_GROW)
        v->hold = GROW_STEP * (int)(GROW_REQUESTS - k);
    v->shift = (f & SIM_FAULT_SHIFT) && n % 2 == 1;
}

static bool read_body(struct mg_connection *c, struct sim_buf *body)
{
    char chunk[4096];
    int n;
    while ((n = mg_read(c, chunk, sizeof(chunk))) > 0) {
        if (body->len + (size_t)n > MAX_BODY)
            return false;
        sim_buf_add(body, chunk, (size_t)n);
    }
    return true;
}

/* Appends the data object of the request to b; false with err set when
 * the request is refused. */
static bool data_for(struct mg_connection *c, struct server *s, bool cdr,
                     unsigned long n, struct sim_buf *b, char *err,
                     size_t errlen)
{
    if (cdr) {
        struct sim_cdr_query q;
        struct sim_view v;
        if (!sim_cdr_parse(mg_get_request_info(c)->query_string, &q, err,
                           errlen))
            return false;
        cdr_view(s, &q, n, &v);
        sim_cdr_data(b, &s->model, &q, &v);
        return true;
    }
    struct sim_buf body = {0};
    struct sim_stat_query q;
    bool ok = read_body(c, &body);
    if (!ok)
        snprintf(err, errlen, "the body is over %d bytes", MAX_BODY);
    else
        ok = sim_stat_parse(body.data ? body.data : "", body.len, &q, err,
                            errlen);
    sim_buf_free(&body);
    if (ok)
        sim_stat_data(b, &s->model, &q, server_now(s));
    return ok;
}

static int handle_data(struct mg_connection *c, struct server *s, bool cdr)
{
    unsigned long n = atomic_fetch_add(&s->requests, 1) + 1;
    bool truncate = false;
    int status = 200;
    if (inject_fault(c, s, n, &truncate, &status) || !authorize(c, s, &status))
        return status;
    struct sim_buf b = {0};
    char err[160];
    sim_buf_puts(&b, "{\"code\":200,\"message\":\"ok\",\"data\":");
    if (!data_for(c, s, cdr, n, &b, err, sizeof(err))) {
        cs_info("request refused path=%s reason=\"%s\"",
                cdr ? "/task/cdr/all2" : "/extension/agent/stat", err);
        send_error(c, 200, CODE_REFUSED, err, false);
    } else {
        sim_buf_puts(&b, "}");
        size_t len = truncate ? b.len / 2 : b.len;
        send_body(c, 200, "application/json; charset=utf-8", b.data, len,
                  false);
    }
    sim_buf_free(&b);
    return 200;
}

static int dispatch(struct mg_connection *c, void *data)
{
    struct server *s = data;
    const struct mg_request_info *ri = mg_get_request_info(c);
    const char *path = ri->local_uri ? ri->local_uri : "";
    bool get = strcmp(ri->request_method, "GET") == 0;
    bool post = strcmp(ri->request_method, "POST") == 0;
    int status;
    if (strcmp(path, "/token") == 0 && get) {
        status = handle_token(c, s, false);
    } else if (strcmp(path, "/token/secret") == 0 && get) {
        status = handle_token(c, s, true);
    } else if (strcmp(path, "/task/cdr/all2") == 0 && get) {
        status = handle_data(c, s, true);
    } else if (strcmp(path, "/extension/agent/stat") == 0 && post) {
        status = handle_data(c, s, false);
    } else {
        send_error(c, 404, 404, "no such endpoint", false);
        status = 404;
    }
    /* The path only: the query of /token holds the credentials. */
    cs_debug("request method=%s path=\"%.80s\" status=%d", ri->request_method,
             path, status);
    return status;
}

static int log_civetweb(const struct mg_connection *c, const char *message)
{
    (void)c;
    cs_debug("civetweb message=\"%.200s\"", message);
    return 1;
}

static struct mg_context *start(struct server *s, int *port)
{
    char listen[32], faults[128];
    snprintf(listen, sizeof(listen), "127.0.0.1:%d", s->cfg->port);
    const char *options[] = {"listening_ports",   listen, "num_threads", "8",
                             "enable_keep_alive", "yes",  NULL};
    struct mg_callbacks callbacks;
    memset(&callbacks, 0, sizeof(callbacks));
    callbacks.log_message = log_civetweb;
    struct mg_context *ctx = mg_start(&callbacks, s, options);
    if (ctx == NULL) {
        cs_error("cannot listen address=%s", listen);
        return NULL;
    }
    mg_set_request_handler(ctx, "/", dispatch, s);
    struct mg_server_port ports[1];
    *port = s->cfg->port;
    if (mg_get_server_ports(ctx, 1, ports) == 1)
        *port = ports[0].port;
    sim_faults_format(s->cfg->faults, faults, sizeof(faults));
    cs_info("callstats-sim %s listening address=127.0.0.1:%d seed=%" PRIu64
            " faults=%s now=%lld",
            CS_VERSION, *port, s->cfg->seed, faults,
            s->cfg->has_now ? (long long)s->cfg->now : -1LL);
    return ctx;
}

bool sim_server_run(const struct sim_server_config *cfg,
                    const volatile sig_atomic_t *stop)
{
    struct server *s = sim_alloc(1, sizeof(*s));
    s->cfg = cfg;
    s->stop = stop;
    s->salt = (uint64_t)time(NULL) ^ ((uint64_t)clock() << 32);
    if (!sim_model_init(&s->model, cfg->seed)) {
        free(s);
        return false;
    }
    pthread_mutex_init(&s->lock, NULL);
    mg_init_library(0);
    int port;
    struct mg_context *ctx = start(s, &port);
    if (ctx != NULL) {
        fprintf(stderr, "callstats-sim ready port=%d\n", port);
        while (!*stop)
            nap(s, 100);
        cs_info("signal received signal=%s action=stop",
                *stop == SIGINT ? "SIGINT" : "SIGTERM");
        mg_stop(ctx);
        cs_info("stopped");
    }
    mg_exit_library();
    pthread_mutex_destroy(&s->lock);
    sim_model_free(&s->model);
    free(s);
    return ctx != NULL;
}
