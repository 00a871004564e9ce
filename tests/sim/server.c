/*
 * The simulator's HTTP server on civetweb: tokens, the two data endpoints
 * and their faults, counted per server; and its own /sim endpoints that
 * tests use to read counters and switch faults while it runs. It serves
 * no files: no document root is ever set.
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
#define RESET_BYTES   16 /* what a "reset" answer sends of its body */
#define JSON_TYPE     "application/json; charset=utf-8"
/* Enough for a hang and a few slow pages while the others keep going. */
#define THREADS "16"

struct token {
    char text[TOKEN_LEN];
    int uses; /* data requests made with it */
};

/* What GET /sim/counters tells, since the start or the last reset. */
struct counters {
    atomic_ulong token;             /* requests for a token */
    atomic_ulong stat, cdr;         /* data requests answered with data */
    atomic_ulong refused_range;     /* ranges over 7 days refused */
    atomic_ulong refused_page_size; /* CDR pages asked over 1000 records */
    atomic_ulong faults;            /* faults injected */
};

struct server {
    const struct sim_server_config *cfg;
    const volatile sig_atomic_t *stop;
    struct sim_model model;
    uint64_t salt;        /* makes tokens differ between runs */
    pthread_mutex_t lock; /* the tokens, the faults and `requests` */
    struct token tokens[MAX_TOKENS];
    unsigned issued;
    struct sim_faults faults;
    atomic_ulong requests;       /* data requests */
    atomic_ulong cdr_requests;   /* CDR requests that reach their page */
    atomic_ulong today_requests; /* CDR requests about today */
    atomic_ulong expired;        /* answers "expired" given */
    struct counters counters;
};

/* One data request: its number and the faults as they were when it came,
 * so that a change of the faults never splits a request. */
struct request {
    struct mg_connection *c;
    unsigned long n;
    struct sim_faults faults;
    int status;
};

/* How a fault bends an answer that is otherwise right. */
enum bend {
    BEND_NONE,
    BEND_TRUNCATE,  /* badjson */
    BEND_RESET,     /* reset */
    BEND_MALFORMED, /* malformed */
};

static time_t server_now(const struct server *s)
{
    return s->cfg->has_now ? s->cfg->now : time(NULL);
}

/* Sleeps up to ms, ending early when the server is told to stop. */
static void nap(const struct server *s, int ms)
{
    for (int left = ms; left > 0 && !*s->stop; left -= 100) {
        struct timespec ts = {0, (left < 100 ? left : 100) * 1000000L};
        nanosleep(&ts, NULL);
    }
}

static void injected(struct server *s, const char *kind, unsigned long n)
{
    atomic_fetch_add(&s->counters.faults, 1);
    cs_info("fault injected kind=%s request=%lu", kind, n);
}

static void send_body(struct mg_connection *c, int status, const char *type,
                      const char *body, size_t len, const char *retry_after)
{
    char length[24];
    snprintf(length, sizeof(length), "%zu", len);
    mg_response_header_start(c, status);
    mg_response_header_add(c, "Content-Type", type, -1);
    mg_response_header_add(c, "Content-Length", length, -1);
    if (retry_after != NULL)
        mg_response_header_add(c, "Retry-After", retry_after, -1);
    mg_response_header_send(c);
    mg_write(c, body, len);
}

/* An envelope without data: {"code": code, "message": message}. */
static void send_error(struct mg_connection *c, int status, long code,
                       const char *message, const char *retry_after)
{
    struct sim_buf b = {0};
    sim_buf_printf(&b, "{\"code\":%ld,\"message\":", code);
    sim_buf_str(&b, message);
    sim_buf_puts(&b, ",\"data\":null}");
    send_body(c, status, JSON_TYPE, b.data, b.len, retry_after);
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
    atomic_fetch_add(&s->counters.token, 1);
    const char *q = mg_get_request_info(c)->query_string;
    bool ok = by_secret
                  ? credentials_match(q, "secret", s->cfg->secret, NULL, NULL)
                  : credentials_match(q, "username", s->cfg->username,
                                      "password", s->cfg->password);
    if (!ok) {
        cs_info("token refused by=%s", by_secret ? "secret" : "password");
        send_error(c, 200, CODE_LOGIN,
                   by_secret ? "wrong secret" : "wrong username or password",
                   NULL);
        return 200;
    }
    char token[TOKEN_LEN];
    new_token(s, token);
    struct sim_buf b = {0};
    sim_buf_puts(&b, "{\"code\":200,\"message\":\"ok\",\"data\":{\"token\":");
    sim_buf_str(&b, token);
    sim_buf_puts(&b, "}}");
    send_body(c, 200, JSON_TYPE, b.data, b.len, NULL);
    sim_buf_free(&b);
    cs_debug("token issued by=%s", by_secret ? "secret" : "password");
    return 200;
}

/* Answers and returns false when the request's token is not good. */
static bool authorize(struct server *s, struct request *r)
{
    const char *given = mg_get_header(r->c, "Authorization");
    if (given == NULL || given[0] == '\0') {
        send_error(r->c, 401, 401, "missing Authorization token", NULL);
        r->status = 401;
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
        send_error(r->c, 200, CODE_INVALID, "token invalid", NULL);
        r->status = 200;
        return false;
    }
    if ((r->faults.on & SIM_FAULT_EXPIRE) &&
        (unsigned)uses >= sim_fault_period(&r->faults, SIM_FAULT_EXPIRE)) {
        bool as_401 = atomic_fetch_add(&s->expired, 1) % 2 == 0;
        r->status = as_401 ? 401 : 200;
        send_error(r->c, r->status, as_401 ? 401 : CODE_EXPIRED,
                   "token expired", NULL);
        atomic_fetch_add(&s->counters.faults, 1);
        cs_info("fault injected kind=expire status=%d", r->status);
        return false;
    }
    return true;
}

/* Answers instead of the data when a fault that does so is due. */
static bool answer_fault(struct server *s, struct request *r)
{
    const struct sim_faults *f = &r->faults;
    static const char error_page[] = "<html><body>500 Internal Server Error"
                                     "</body></html>\n";
    static const char timeout_page[] = "gateway timeout\n";
    const char *kind = NULL;
    if (sim_fault_due(f, SIM_FAULT_HTTP500, r->n)) {
        send_body(r->c, 500, "text/html", error_page, sizeof(error_page) - 1,
                  NULL);
        kind = "http500";
        r->status = 500;
    } else if (sim_fault_due(f, SIM_FAULT_429, r->n)) {
        send_error(r->c, 429, 429, "too many requests", "1");
        kind = "429";
        r->status = 429;
    } else if (sim_fault_due(f, SIM_FAULT_RETRYDATE, r->n)) {
        /* The real clock, not --now: the client waits in real time. */
        char date[SIM_HTTP_DATE_LEN];
        sim_http_date(time(NULL) + 2, date);
        send_error(r->c, 429, 429, "too many requests", date);
        kind = "retrydate";
        r->status = 429;
    } else if (sim_fault_due(f, SIM_FAULT_HANG, r->n)) {
        injected(s, "hang", r->n);
        nap(s, 120000);
        send_body(r->c, 504, "text/plain", timeout_page,
                  sizeof(timeout_page) - 1, NULL);
        r->status = 504;
        return true;
    }
    if (kind != NULL)
        injected(s, kind, r->n);
    return kind != NULL;
}

/* Answers with a fault when one is due for the request and returns true;
 * otherwise sleeps when "slow" is due and tells how to bend the answer. */
static bool inject_fault(struct server *s, struct request *r, enum bend *bend)
{
    static const struct {
        unsigned fault;
        enum bend bend;
        const char *kind;
    } bends[] = {
        {SIM_FAULT_BADJSON, BEND_TRUNCATE, "badjson"},
        {SIM_FAULT_RESET, BEND_RESET, "reset"},
        {SIM_FAULT_MALFORMED, BEND_MALFORMED, "malformed"},
    };
    if (answer_fault(s, r))
        return true;
    if (sim_fault_due(&r->faults, SIM_FAULT_SLOW, r->n)) {
        injected(s, "slow", r->n);
        nap(s, 3000);
    }
    *bend = BEND_NONE;
    for (size_t i = 0; i < sizeof(bends) / sizeof(bends[0]); i++) {
        if (sim_fault_due(&r->faults, bends[i].fault, r->n)) {
            injected(s, bends[i].kind, r->n);
            *bend = bends[i].bend;
            break;
        }
    }
    return false;
}

/* The page faults due for this CDR request, counted over CDR requests. */
static unsigned page_faults_due(struct server *s, const struct request *r)
{
    static const struct {
        unsigned fault;
        enum sim_page_fault page;
    } faults[] = {
        {SIM_FAULT_EMPTY, SIM_PAGE_EMPTY},
        {SIM_FAULT_REPEAT, SIM_PAGE_REPEAT},
        {SIM_FAULT_SHORT, SIM_PAGE_SHORT},
    };
    unsigned long k = atomic_fetch_add(&s->cdr_requests, 1) + 1;
    unsigned due = 0;
    for (size_t i = 0; i < sizeof(faults) / sizeof(faults[0]); i++) {
        if (sim_fault_due(&r->faults, faults[i].fault, k))
            due |= 1u << faults[i].page;
    }
    return due;
}

/* The view of the data for a CDR query, with "grow" and "shift". */
static void cdr_view(struct server *s, const struct sim_cdr_query *q,
                     const struct request *r, struct sim_view *v)
{
    const struct sim_faults *f = &r->faults;
    v->now = server_now(s);
    v->hold = 0;
    v->shift = false;
    v->page_faults = page_faults_due(s, r);
    cs_day today = sim_day_of(v->now);
    if (!(f->on & (SIM_FAULT_GROW | SIM_FAULT_SHIFT)) ||
        sim_day_of(q->start) > today || sim_day_of(q->end) < today)
        return;
    unsigned long k = atomic_fetch_add(&s->today_requests, 1);
    unsigned long every = sim_fault_period(f, SIM_FAULT_GROW);
    if ((f->on & SIM_FAULT_GROW) && k < GROW_REQUESTS * every)
        v->hold = GROW_STEP * (int)(GROW_REQUESTS - k / every);
    /* Shift hits the 1st, N+1th, 2N+1th... data request: by default the
     * odd ones, as it always has. */
    v->shift = k < GROW_REQUESTS && sim_fault_due(f, SIM_FAULT_SHIFT, r->n - 1);
    if (v->hold > 0)
        injected(s, "grow", r->n);
    if (v->shift && q->page > 1)
        injected(s, "shift", r->n);
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

static bool cdr_data(struct server *s, const struct request *r,
                     struct sim_buf *b, char *err, size_t errlen)
{
    static const char *const page_kinds[] = {"", "empty", "repeat", "short"};
    struct sim_cdr_query q;
    struct sim_view v;
    if (!sim_cdr_parse(mg_get_request_info(r->c)->query_string, &q, err,
                       errlen)) {
        if (q.over_range)
            atomic_fetch_add(&s->counters.refused_range, 1);
        return false;
    }
    if (q.page_size > SIM_MAX_PAGE_SIZE)
        atomic_fetch_add(&s->counters.refused_page_size, 1);
    cdr_view(s, &q, r, &v);
    enum sim_page_fault fault = sim_cdr_data(b, &s->model, &q, &v);
    if (fault != SIM_PAGE_WHOLE)
        injected(s, page_kinds[fault], r->n);
    return true;
}

static bool stat_data(struct server *s, const struct request *r,
                      struct sim_buf *b, char *err, size_t errlen)
{
    struct sim_buf body = {0};
    struct sim_stat_query q;
    q.over_range = false;
    bool ok = read_body(r->c, &body);
    if (!ok)
        snprintf(err, errlen, "the body is over %d bytes", MAX_BODY);
    else
        ok = sim_stat_parse(body.data ? body.data : "", body.len, &q, err,
                            errlen);
    sim_buf_free(&body);
    if (ok)
        sim_stat_data(b, &s->model, &q, server_now(s));
    else if (q.over_range)
        atomic_fetch_add(&s->counters.refused_range, 1);
    return ok;
}

/* A stray comma right after the first '[' (the records, or the statistics'
 * content): the body is whole, its length right, and it is not JSON. */
static void send_malformed(struct mg_connection *c, const struct sim_buf *b)
{
    const char *bracket = memchr(b->data, '[', b->len);
    size_t head = bracket != NULL ? (size_t)(bracket - b->data) + 1 : 1;
    struct sim_buf bad = {0};
    sim_buf_add(&bad, b->data, head);
    sim_buf_add(&bad, ",", 1);
    sim_buf_add(&bad, b->data + head, b->len - head);
    send_body(c, 200, JSON_TYPE, bad.data, bad.len, NULL);
    sim_buf_free(&bad);
}

/* Promises the whole body and sends a few bytes of it; "Connection: close"
 * makes civetweb close the connection once the handler returns, so the
 * client sees the transfer cut short. */
static void send_reset(struct mg_connection *c, const struct sim_buf *b)
{
    char length[24];
    snprintf(length, sizeof(length), "%zu", b->len);
    mg_response_header_start(c, 200);
    mg_response_header_add(c, "Content-Type", JSON_TYPE, -1);
    mg_response_header_add(c, "Content-Length", length, -1);
    mg_response_header_add(c, "Connection", "close", -1);
    mg_response_header_send(c);
    mg_write(c, b->data, b->len < RESET_BYTES ? b->len / 2 : RESET_BYTES);
}

static void send_data(struct mg_connection *c, const struct sim_buf *b,
                      enum bend bend)
{
    if (bend == BEND_MALFORMED)
        send_malformed(c, b);
    else if (bend == BEND_RESET)
        send_reset(c, b);
    else
        send_body(c, 200, JSON_TYPE, b->data,
                  bend == BEND_TRUNCATE ? b->len / 2 : b->len, NULL);
}

/* Numbers the request and takes the faults of the moment, together, so
 * that POST /sim/faults starts the count afresh for exactly its faults. */
static void begin_request(struct server *s, struct request *r)
{
    pthread_mutex_lock(&s->lock);
    r->n = atomic_fetch_add(&s->requests, 1) + 1;
    r->faults = s->faults;
    pthread_mutex_unlock(&s->lock);
}

static int handle_data(struct mg_connection *c, struct server *s, bool cdr)
{
    struct request r = {.c = c, .status = 200};
    begin_request(s, &r);
    /* Every request waits on its own thread: delays overlap, not queue. */
    if (s->cfg->page_delay_ms > 0)
        nap(s, s->cfg->page_delay_ms);
    enum bend bend;
    if (inject_fault(s, &r, &bend) || !authorize(s, &r))
        return r.status;
    struct sim_buf b = {0};
    char err[160];
    sim_buf_puts(&b, "{\"code\":200,\"message\":\"ok\",\"data\":");
    bool ok = cdr ? cdr_data(s, &r, &b, err, sizeof(err))
                  : stat_data(s, &r, &b, err, sizeof(err));
    if (!ok) {
        cs_info("request refused path=%s reason=\"%s\"",
                cdr ? "/task/cdr/all2" : "/extension/agent/stat", err);
        send_error(c, 200, CODE_REFUSED, err, NULL);
    } else {
        sim_buf_puts(&b, "}");
        atomic_fetch_add(cdr ? &s->counters.cdr : &s->counters.stat, 1);
        send_data(c, &b, bend);
    }
    sim_buf_free(&b);
    return 200;
}

/* GET /sim/counters, and POST /sim/counters/reset that zeroes them first. */
static int handle_counters(struct mg_connection *c, struct server *s,
                           bool reset)
{
    struct counters *k = &s->counters;
    atomic_ulong *all[] = {
        &k->token, &k->stat, &k->cdr, &k->refused_range, &k->refused_page_size,
        &k->faults};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]) && reset; i++)
        atomic_store(all[i], 0);
    struct sim_buf b = {0};
    sim_buf_printf(&b,
                   "{\"token\":%lu,\"stat\":%lu,\"cdr\":%lu,"
                   "\"refused_range\":%lu,\"refused_page_size\":%lu,"
                   "\"faults\":%lu}",
                   atomic_load(&k->token), atomic_load(&k->stat),
                   atomic_load(&k->cdr), atomic_load(&k->refused_range),
                   atomic_load(&k->refused_page_size), atomic_load(&k->faults));
    send_body(c, 200, JSON_TYPE, b.data, b.len, NULL);
    sim_buf_free(&b);
    if (reset)
        cs_info("counters reset");
    return 200;
}

/* Under the lock: the new faults, and every count their periods read
 * starts again, so that a test sees the same run each time. */
static void replace_faults(struct server *s, const struct sim_faults *f)
{
    pthread_mutex_lock(&s->lock);
    s->faults = *f;
    atomic_store(&s->requests, 0);
    atomic_store(&s->cdr_requests, 0);
    atomic_store(&s->today_requests, 0);
    atomic_store(&s->expired, 0);
    for (int i = 0; i < MAX_TOKENS; i++)
        s->tokens[i].uses = 0;
    pthread_mutex_unlock(&s->lock);
}

/* POST /sim/faults?set=LIST */
static int handle_faults(struct mg_connection *c, struct server *s)
{
    const char *q = mg_get_request_info(c)->query_string;
    char list[1024], err[512], text[SIM_FAULTS_TEXT_LEN];
    struct sim_faults f;
    struct sim_buf b = {0};
    int n =
        q != NULL ? mg_get_var(q, strlen(q), "set", list, sizeof(list)) : -1;
    bool ok = n >= 0 && sim_faults_parse(list, &f, err, sizeof(err));
    if (n < 0)
        snprintf(err, sizeof(err), "set=LIST is required, up to %zu bytes",
                 sizeof(list) - 1);
    if (ok) {
        replace_faults(s, &f);
        sim_faults_format(&f, text, sizeof(text));
        cs_info("faults set faults=%s", text[0] ? text : "none");
        sim_buf_puts(&b, "{\"faults\":");
        sim_buf_str(&b, text);
    } else {
        cs_info("faults refused reason=\"%s\"", err);
        sim_buf_puts(&b, "{\"error\":");
        sim_buf_str(&b, err);
    }
    sim_buf_puts(&b, "}");
    send_body(c, ok ? 200 : 400, JSON_TYPE, b.data, b.len, NULL);
    sim_buf_free(&b);
    return ok ? 200 : 400;
}

/* The simulator's own endpoints; -1 when path is none of them. */
static int dispatch_sim(struct mg_connection *c, struct server *s,
                        const char *path, bool get, bool post)
{
    if (strcmp(path, "/sim/counters") == 0 && get)
        return handle_counters(c, s, false);
    if (strcmp(path, "/sim/counters/reset") == 0 && post)
        return handle_counters(c, s, true);
    if (strcmp(path, "/sim/faults") == 0 && post)
        return handle_faults(c, s);
    return -1;
}

/* The upstream's endpoints, or 404. */
static int dispatch_upstream(struct mg_connection *c, struct server *s,
                             const char *path, bool get, bool post)
{
    if (strcmp(path, "/token") == 0 && get)
        return handle_token(c, s, false);
    if (strcmp(path, "/token/secret") == 0 && get)
        return handle_token(c, s, true);
    if (strcmp(path, "/task/cdr/all2") == 0 && get)
        return handle_data(c, s, true);
    if (strcmp(path, "/extension/agent/stat") == 0 && post)
        return handle_data(c, s, false);
    send_error(c, 404, 404, "no such endpoint", NULL);
    return 404;
}

static int dispatch(struct mg_connection *c, void *data)
{
    struct server *s = data;
    const struct mg_request_info *ri = mg_get_request_info(c);
    const char *path = ri->local_uri ? ri->local_uri : "";
    bool get = strcmp(ri->request_method, "GET") == 0;
    bool post = strcmp(ri->request_method, "POST") == 0;
    int status = dispatch_sim(c, s, path, get, post);
    if (status < 0)
        status = dispatch_upstream(c, s, path, get, post);
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

static void log_start(const struct server *s, int port)
{
    char faults[SIM_FAULTS_TEXT_LEN];
    sim_faults_format(&s->faults, faults, sizeof(faults));
    const struct sim_data_options *d = &s->cfg->data;
    cs_info("callstats-sim %s listening address=127.0.0.1:%d seed=%" PRIu64
            " faults=%s now=%lld open=%02d:%02d day_records=%d "
            "page_delay_ms=%d",
            CS_VERSION, port, s->cfg->seed, faults[0] ? faults : "none",
            s->cfg->has_now ? (long long)s->cfg->now : -1LL, d->open / 3600,
            d->open / 60 % 60, d->n_fixed, s->cfg->page_delay_ms);
}

static struct mg_context *start(struct server *s, int *port)
{
    char listen[32];
    snprintf(listen, sizeof(listen), "127.0.0.1:%d", s->cfg->port);
    const char *options[] = {
        "listening_ports",   listen, "num_threads", THREADS,
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
    log_start(s, *port);
    return ctx;
}

bool sim_server_run(const struct sim_server_config *cfg,
                    const volatile sig_atomic_t *stop)
{
    struct server *s = sim_alloc(1, sizeof(*s));
    s->cfg = cfg;
    s->stop = stop;
    s->faults = cfg->faults;
    s->salt = (uint64_t)time(NULL) ^ ((uint64_t)clock() << 32);
    if (!sim_model_init(&s->model, cfg->seed, &cfg->data)) {
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
