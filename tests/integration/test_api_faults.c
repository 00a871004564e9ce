/*
 * Integration tests of the API under bad input and faults: thousands of
 * random raw requests on sockets, PostgreSQL stopped under load and
 * started again, the token and CORS over HTTP, ETag/304 and the cache
 * following the data version. Started by tests/integration/run.sh.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "harness.h"

#define MONTH           "/api/stats/month?month=2025-10"
#define RANDOM_REQUESTS 3000
/* Every request under load is answered within this, outage or not. */
#define ANSWER_BOUND_MS 1500
#define HAMMER_THREADS  8
#define TOKEN           "faults-token-0123456789abcdefXYZ"
#define ORIGIN          "https://dash.example.com"
#define ORIGINS         ORIGIN ",http://localhost:3000"
/* The day the re-sync changes, and the calls it then has. */
#define RESYNC_DAY   "2025-10-02"
#define RESYNC_CALLS 300

static int api_port, api2_port, sim_port;
static pid_t api_pid, api2_pid, sim_pid;
static bool database_stopped;

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

/* ---- HTTP over raw sockets (no cmocka here: threads use it) ---- */

struct reply {
    int status; /* from the status line */
    char *head; /* status line and headers, each ending in CRLF */
    char *body; /* NUL-terminated copy */
    size_t body_len;
};

static void reply_free(struct reply *r)
{
    free(r->head);
    free(r->body);
    *r = (struct reply){0};
}

/* The first header name of r, copied into buf; false when absent. */
static bool header_of(const struct reply *r, const char *name, char *buf,
                      size_t len)
{
    size_t n = strlen(name);
    const char *p = r->head ? strstr(r->head, "\r\n") : NULL;
    for (; p != NULL && p[2] != '\0'; p = strstr(p + 2, "\r\n")) {
        const char *line = p + 2;
        if (strncasecmp(line, name, n) == 0 && line[n] == ':') {
            const char *v = line + n + 1;
            while (*v == ' ')
                v++;
            snprintf(buf, len, "%.*s", (int)strcspn(v, "\r\n"), v);
            return true;
        }
    }
    return false;
}

static bool has_header(const struct reply *r, const char *name)
{
    char ignored[8];
    return header_of(r, name, ignored, sizeof(ignored));
}

static bool is_status_line(const char *d, size_t len)
{
    return len >= 13 && strncmp(d, "HTTP/1.", 7) == 0 &&
           (d[7] == '0' || d[7] == '1') && d[8] == ' ' && d[9] >= '1' &&
           d[9] <= '5' && d[10] >= '0' && d[10] <= '9' && d[11] >= '0' &&
           d[11] <= '9' && (d[12] == ' ' || d[12] == '\r');
}

/*
 * Reads one answer from the start of data (len bytes; eof: no more will
 * come; no_body: the answer to a HEAD). Returns the bytes it takes, 0
 * while it is incomplete, -1 when it is not an HTTP/1.x answer.
 */
static long parse_reply(const char *data, size_t len, bool eof, bool no_body,
                        struct reply *r)
{
    if (len >= 13 && !is_status_line(data, len))
        return -1;
    const char *end = NULL;
    for (size_t i = 0; end == NULL && i + 4 <= len; i++)
        if (memcmp(data + i, "\r\n\r\n", 4) == 0)
            end = data + i;
    if (end == NULL)
        return eof ? -1 : 0;
    size_t head_len = (size_t)(end - data) + 2, body_len = 0;
    *r = (struct reply){.status = atoi(data + 9),
                        .head = strndup(data, head_len)};
    char length[32];
    if (!no_body && r->status >= 200 && r->status != 204 && r->status != 304) {
        if (header_of(r, "Content-Length", length, sizeof(length)))
            body_len = strtoul(length, NULL, 10);
        else if (eof)
            body_len = len - head_len - 2;
        else
            body_len = SIZE_MAX / 2; /* until the end: not yet */
    }
    size_t total = head_len + 2 + body_len;
    if (total > len) {
        reply_free(r);
        return eof ? -1 : 0;
    }
    r->body = malloc(body_len + 1);
    memcpy(r->body, end + 4, body_len);
    r->body[body_len] = '\0';
    r->body_len = body_len;
    return (long)total;
}

/* How a request is sent, and what is awaited. */
struct plan {
    const char *data;
    size_t len;
    int requests;        /* answers awaited (pipelined requests) */
    const bool *no_body; /* per request: a HEAD; NULL for none */
    int pieces;          /* sent in this many parts (0 or 1: at once) */
    int pause_ms;        /* the pause between parts */
    bool shut_write;     /* the write side closed once all is sent */
    int timeout_ms;      /* the wait for the answers */
    int linger_ms;       /* the wait for bytes after them (see extra) */
};

/* What came back. */
struct outcome {
    int replies;       /* answers read (1xx ones not counted) */
    bool refused;      /* no connection */
    bool malformed;    /* bytes that are not an HTTP/1.x answer */
    bool timed_out;    /* the answers awaited did not all come in time */
    size_t extra;      /* bytes after the answers, within linger_ms */
    double elapsed_ms; /* from the first byte sent to the last answer */
};

/* A connection to 127.0.0.1:port; -1 when refused. It closes with a
 * reset, so that thousands of them leave no port in TIME_WAIT that a
 * later test would fail to listen on. */
static int dial(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct linger reset = {1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof(reset));
    struct sockaddr_in addr = {.sin_family = AF_INET,
                               .sin_port = htons((uint16_t)port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static void send_plan(int fd, const struct plan *p)
{
    int pieces = p->pieces > 1 ? p->pieces : 1;
    size_t sent = 0;
    for (int i = 0; i < pieces; i++) {
        size_t upto = i == pieces - 1
                          ? p->len
                          : p->len * (size_t)(i + 1) / (size_t)pieces;
        while (sent < upto) {
            ssize_t n = send(fd, p->data + sent, upto - sent, MSG_NOSIGNAL);
            if (n <= 0)
                return; /* the server closed: read what it said */
            sent += (size_t)n;
        }
        if (i + 1 < pieces)
            usleep((useconds_t)p->pause_ms * 1000);
    }
    if (p->shut_write)
        shutdown(fd, SHUT_WR);
}

/* Parses what buf holds into out[o->replies...]; returns the bytes
 * taken. */
static size_t take_replies(const char *buf, size_t len, bool eof,
                           const struct plan *p, struct reply *out,
                           struct outcome *o)
{
    size_t used = 0;
    while (o->replies < p->requests && used < len) {
        bool no_body = p->no_body && p->no_body[o->replies];
        struct reply r;
        long n = parse_reply(buf + used, len - used, eof, no_body, &r);
        if (n < 0)
            o->malformed = true;
        if (n <= 0)
            break;
        used += (size_t)n;
        if (r.status < 200)
            reply_free(&r); /* 100 Continue */
        else
            out[o->replies++] = r;
    }
    return used;
}

/*
 * Sends p's bytes on a new connection to port and reads up to
 * p->requests answers into out (free each with reply_free).
 */
static struct outcome exchange(int port, const struct plan *p,
                               struct reply *out)
{
    struct outcome o = {0};
    double start = now_ms();
    int fd = dial(port);
    if (fd < 0) {
        o.refused = true;
        return o;
    }
    send_plan(fd, p);
    size_t cap = 65536, len = 0, used = 0;
    char *buf = malloc(cap);
    bool eof = false;
    while (!eof && !o.malformed && o.replies < p->requests) {
        int left = (int)(start + p->timeout_ms - now_ms());
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        if (left <= 0 || poll(&pfd, 1, left) <= 0) {
            o.timed_out = true;
            break;
        }
        if (len + 4096 > cap)
            buf = realloc(buf, cap *= 2);
        ssize_t n = recv(fd, buf + len, cap - len - 1, 0);
        eof = n <= 0; /* a reset ends the answers as a close does */
        len += n > 0 ? (size_t)n : 0;
        used += take_replies(buf + used, len - used, eof, p, out, &o);
    }
    o.elapsed_ms = now_ms() - start;
    /* Whatever follows the answers awaited, within a short while. */
    for (struct pollfd pfd = {.fd = fd, .events = POLLIN};
         !eof && !o.timed_out && poll(&pfd, 1, p->linger_ms) > 0;) {
        char more[4096];
        ssize_t n = recv(fd, more, sizeof(more), 0);
        eof = n <= 0;
        o.extra += n > 0 ? (size_t)n : 0;
    }
    o.extra += len - used;
    close(fd);
    free(buf);
    return o;
}

/* One request, with Connection: close, its one answer into r; the status
 * (0 when none came). */
static int ask(int port, const char *method, const char *path,
               const char *headers, int timeout_ms, struct reply *r,
               struct outcome *o)
{
    char data[4096];
    snprintf(data, sizeof(data),
             "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%sConnection: close\r\n\r\n",
             method, path, headers ? headers : "");
    bool head = strcmp(method, "HEAD") == 0;
    /* The server closes after the answer: lingering costs nothing. */
    struct plan p = {data, strlen(data), 1,          &head, 0,
                     0,    false,        timeout_ms, 1000};
    *r = (struct reply){0};
    *o = exchange(port, &p, r);
    return o->replies == 1 ? r->status : 0;
}

/* ---- what the tests share ---- */

/* A TCP port above 40000 that nothing on 127.0.0.1 holds now, nor any
 * port this program picked before. */
static int pick_port(void)
{
    static int picked[8];
    static size_t n_picked;
    for (int tries = 0; tries < 1000; tries++) {
        int port = 40000 + rand() % 20000;
        for (size_t i = 0; i < n_picked; i++)
            if (picked[i] == port)
                port = 0;
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in addr = {.sin_family = AF_INET,
                                   .sin_port = htons((uint16_t)port)};
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        bool free_now =
            port > 0 && bind(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0;
        close(fd);
        if (free_now && n_picked < sizeof(picked) / sizeof(picked[0])) {
            picked[n_picked++] = port;
            return port;
        }
    }
    fail_msg("no free port above 40000");
    return -1;
}

/* GETs path (with extra header lines) and expects status; returns the
 * answer for more checks. */
static struct reply get_expect(int port, const char *path, const char *headers,
                               int status)
{
    struct reply r;
    struct outcome o;
    int got = ask(port, "GET", path, headers, 10000, &r, &o);
    if (got != status)
        fail_msg("GET %s: status %d, wanted %d%s: %.300s", path, got, status,
                 o.timed_out ? " (timed out)" : "", r.body ? r.body : "");
    return r;
}

/* The answer's body parsed; "code" checked when want_code is not NULL. */
static json_t *body_json(const struct reply *r, const char *want_code)
{
    json_t *doc = parse_or_fail(r->body, "answer");
    if (want_code != NULL) {
        const char *code = json_string_value(json_object_get(doc, "code"));
        if (code == NULL || strcmp(code, want_code) != 0)
            fail_msg("code %s, wanted %s: %.300s", code ? code : "(none)",
                     want_code, r->body);
    }
    return doc;
}

static void stop_process(pid_t *pid)
{
    if (*pid <= 0)
        return;
    kill(*pid, SIGTERM);
    int status = wait_exit(*pid);
    *pid = 0;
    assert_int_equal(status, 0);
}

/* pg_ctl, remembering whether the database is stopped, so that a failed
 * test's clean-up starts it again. */
static void database(const char *action)
{
    pg_ctl(action);
    database_stopped = strcmp(action, "stop") == 0;
}

/* The schema and a few synced days: empty ones and two real ones. */
static int setup(void **state)
{
    (void)state;
    srand((unsigned)getpid());
    api_port = pick_port();
    api2_port = pick_port();
    sim_port = pick_port();
    char *args[] = {"migrate", NULL};
    if (worker("migrate", it.sim_url, NULL, args) != 0 ||
        sync_days("sync", it.sim_url, "2025-10-01", "2025-10-05", NULL) != 0) {
        fprintf(stderr, "api_faults: migrate or sync failed; see %s\n",
                it.work);
        return -1;
    }
    return 0;
}

/* Each test's teardown: the database runs, no process is left. */
static int end_test(void **state)
{
    if (database_stopped) {
        char cmd[1024];
        snprintf(cmd, sizeof(cmd), "%s start %s/pg >/dev/null", it.pg_private,
                 it.work);
        database_stopped = system(cmd) != 0;
    }
    api_pid = api2_pid = sim_pid = 0;
    return harness_kill_leftovers(state);
}

/* ---- random raw requests ---- */

static uint64_t rng_state;

static uint64_t next_random(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 2685821657736338717ULL;
}

static size_t below(size_t n)
{
    return (size_t)(next_random() % n);
}

static bool chance(int percent)
{
    return below(100) < (size_t)percent;
}

#define PICK(list) (list)[below(sizeof(list) / sizeof((list)[0]))]

/* A request (or several, pipelined) as bytes, and what may answer it. */
struct raw {
    char data[48 * 1024];
    size_t len;
    int count;        /* requests in data */
    bool no_body[4];  /* per request: a HEAD */
    bool must_answer; /* each request gets an answer */
    bool odd_version; /* neither HTTP/1.0 nor 1.1: a 400 */
    const char *kind;
    struct plan plan;
};

__attribute__((format(printf, 2, 3))) static void put(struct raw *q,
                                                      const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(q->data + q->len, sizeof(q->data) - q->len, fmt, ap);
    va_end(ap);
    if (n > 0)
        q->len += (size_t)n < sizeof(q->data) - q->len
                      ? (size_t)n
                      : sizeof(q->data) - q->len - 1;
}

static void put_random_chars(struct raw *q, const char *set, size_t n)
{
    size_t k = strlen(set);
    for (size_t i = 0; i < n && q->len + 1 < sizeof(q->data); i++)
        q->data[q->len++] = set[below(k)];
    q->data[q->len] = '\0';
}

static const char *const routes[] = {"/",
                                     "/dashboard.html",
                                     "/api/health",
                                     "/api/ready",
                                     "/api/openapi.json",
                                     "/metrics",
                                     MONTH,
                                     "/api/stats/month",
                                     "/api/stats/daily",
                                     "/api/stats/daily.csv",
                                     "/api/stats/grade-stats",
                                     "/api/stats/tasks",
                                     "/api/stats/seats",
                                     "/api/stats/grades",
                                     "/api/sync/status"};

static const char *const junk_paths[] = {"/api/stats/task",
                                         "/api/",
                                         "/api/health/",
                                         "//api//health",
                                         "/api/stats/../health",
                                         "/%2e%2e/%2e%2e/etc/passwd",
                                         "/api/health%00",
                                         "/api/%zz",
                                         "/%c0%af",
                                         "/favicon.ico",
                                         "/api/stats/month;x",
                                         "/API/HEALTH",
                                         "/api/stats/month%3Fmonth=2025-10",
                                         "/%ff%fe"};

static const char *const names[] = {"month",  "date",   "from",  "to",
                                    "format", "foo",    "MONTH", "d%61te",
                                    "",       "month[]"};

static const char *const values[] = {
    "2025-10",   "2025-10-04", "2025-10-01", "2025-10-31", "2025-02-30",
    "2025-13",   "%zz",        "%00",        "%c0%af",     "%0d%0a",
    "csv",       "json",       "xml",        "+",          "",
    "%e4%b8%80", "1900-01-01", "9999-12-31", "0000-00",    "%",
    "2025-1%"};

static const char *const accepts[] = {
    "application/json",
    "text/csv",
    "text/csv;q=0.9, application/json;q=0.8",
    "*/*",
    "text/*;q=0.5",
    "image/png",
    "application/json;q=0",
    "text/csv;q=1e999, application/json;q=nan",
    "",
    ";;;,,,q="};

#define URI_CHARS "abcdefghijklmnopqrstuvwxyz0123456789-._~/%?&=+;:@!$'()*,"

/* A query a route takes, with a valid value: varied, so that the cache
 * holds many keys. */
static void put_valid_query(struct raw *q, const char *path)
{
    int m = 1 + (int)below(12), d = 1 + (int)below(28);
    if (strcmp(path, "/api/stats/month") == 0)
        put(q, "?month=2025-%02d", m);
    else if (strncmp(path, "/api/stats/daily", 16) == 0)
        put(q, "?from=2025-%02d-%02d&to=2025-%02d-28%s", m, d, m,
            chance(20) ? "&format=csv" : "");
    else if (strcmp(path, "/api/stats/grades") == 0 && chance(50))
        put(q, "?from=2025-10-01&to=2025-10-%02d", d);
    else if (strncmp(path, "/api/stats/", 11) == 0)
        put(q, "?date=2025-10-%02d", 1 + (int)below(6));
}

static void put_random_query(struct raw *q)
{
    if (chance(3)) {
        put(q, "?month=");
        put_random_chars(q, "abc%", 2000);
        return;
    }
    int params = 1 + (int)below(4);
    put(q, "?");
    for (int i = 0; i < params; i++) {
        put(q, "%s%s", i > 0 ? (chance(10) ? "&&" : "&") : "", PICK(names));
        if (chance(90))
            put(q, "=%s", PICK(values));
        if (chance(15))
            put_random_chars(q, URI_CHARS, below(30));
    }
}

/* A path with a query, mostly a route's. */
static void put_target(struct raw *q)
{
    int roll = (int)below(100);
    if (roll < 75) {
        const char *path = PICK(routes);
        put(q, "%s", path);
        if (strchr(path, '?') == NULL && chance(50))
            put_valid_query(q, path);
        else if (strchr(path, '?') == NULL && chance(50))
            put_random_query(q);
    } else if (roll < 90) {
        put(q, "%s", PICK(junk_paths));
    } else {
        put(q, "/");
        put_random_chars(q, URI_CHARS, 1 + below(60));
    }
}

static void put_headers(struct raw *q)
{
    if (chance(80))
        put(q, "Host: 127.0.0.1\r\n");
    if (chance(30))
        put(q, "Accept: %s\r\n", PICK(accepts));
    if (chance(10))
        put(q, "If-None-Match: %s\r\n",
            chance(50) ? "*" : "\"1-20251015-j\", W/\"x\"");
    if (chance(10))
        put(q, "Origin: %s\r\n", chance(50) ? ORIGIN : "null");
    if (chance(10))
        put(q, "Authorization: %s\r\n",
            chance(50) ? "Bearer " TOKEN : "Basic Zm9vOmJhcg==");
    if (chance(20))
        put(q, "User-Agent: faults/%d\r\n", (int)below(1000));
    if (chance(5))
        put(q, "Range: bytes=0-10\r\nAccept-Encoding: gzip, br\r\n");
    if (chance(3))
        put(q, "Connection: Upgrade\r\nUpgrade: websocket\r\n"
               "Sec-WebSocket-Version: 13\r\n"
               "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n");
    if (chance(3))
        put(q, "Cookie: a=b; c=d\r\nX-Forwarded-For: 10.0.0.1\r\n");
}

static const char *random_method(void)
{
    static const char *const others[] = {"POST",     "PUT",   "DELETE",
                                         "PATCH",    "TRACE", "BREW",
                                         "PROPFIND", "get",   "M-SEARCH"};
    int roll = (int)below(100);
    return roll < 70   ? "GET"
           : roll < 80 ? "HEAD"
           : roll < 85 ? "OPTIONS"
                       : PICK(others);
}

/* One ordinary request: random method, target and headers, HTTP/1.1. */
static void put_plain(struct raw *q, bool close_it)
{
    const char *method = random_method();
    q->no_body[q->count++] = strcmp(method, "HEAD") == 0;
    put(q, "%s ", method);
    put_target(q);
    put(q, " HTTP/1.1\r\n");
    put_headers(q);
    put(q, "%s\r\n", close_it ? "Connection: close\r\n" : "");
}

/* A GET whose body the server must read past or refuse. */
static void put_body(struct raw *q)
{
    q->count = 1;
    put(q, "GET ");
    put_target(q);
    put(q, " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
    size_t n = below(3000);
    if (chance(30)) {
        put(q, "Transfer-Encoding: chunked\r\n\r\n%zx\r\n", n);
        put_random_chars(q, URI_CHARS, n);
        put(q, "\r\n0\r\n\r\n");
    } else if (chance(20)) {
        /* A body shorter than promised, then the end of the stream. */
        put(q, "Content-Length: %zu\r\n\r\n", n + 100);
        put_random_chars(q, URI_CHARS, n);
        q->must_answer = false;
        q->plan.shut_write = true;
    } else {
        put(q, "Content-Length: %zu\r\n%s\r\n", n,
            chance(20) ? "Expect: 100-continue\r\n" : "");
        put_random_chars(q, URI_CHARS, n);
    }
}

/* A request whose head exceeds 8 KiB in one header, or in many. */
static void put_huge_head(struct raw *q)
{
    q->count = 1;
    put(q, "GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\n");
    if (chance(50)) {
        put(q, "X-Big: ");
        put_random_chars(q, "abcdefgh", 8500 + below(8000));
        put(q, "\r\n");
    } else {
        for (int i = 0, n = 700 + (int)below(400); i < n; i++)
            put(q, "X-H%d: %d\r\n", i, i);
    }
    put(q, "Connection: close\r\n\r\n");
}

/* Many small headers, fewer than 8 KiB in all. */
static void put_header_flood(struct raw *q)
{
    q->count = 1;
    put(q, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n", PICK(routes));
    for (int i = 0, n = 64 + (int)below(300); i < n; i++)
        put(q, "X-%d: v\r\n", i);
    put(q, "Connection: close\r\n\r\n");
}

/* Requests on one keep-alive connection, sent at once. */
static void put_pipelined(struct raw *q)
{
    int n = 2 + (int)below(3);
    for (int i = 0; i < n; i++) {
        const char *method = chance(80) ? "GET" : "HEAD";
        q->no_body[q->count++] = strcmp(method, "HEAD") == 0;
        put(q, "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%s\r\n", method,
            PICK(routes), i == n - 1 ? "Connection: close\r\n" : "");
    }
}

/* HTTP/1.0, 0.9 (no version) and versions that do not exist. */
static void put_old_version(struct raw *q)
{
    static const char *const odd[] = {"HTTP/2.0", "HTTP/1.2", "HTTP/0.9",
                                      "HTTP/9.9", "http/1.1"};
    q->count = 1;
    int roll = (int)below(3);
    if (roll == 0) {
        put(q, "GET %s HTTP/1.0\r\n\r\n", PICK(routes));
    } else if (roll == 1) {
        put(q, "GET %s\r\n\r\n", PICK(routes));
    } else {
        put(q, "GET %s %s\r\nConnection: close\r\n\r\n", PICK(routes),
            PICK(odd));
        q->odd_version = true;
    }
}

/* Line breaks where none belong: in the request line, encoded in the
 * query, or bare line feeds. None may reach the answer's headers. */
static void put_crlf(struct raw *q)
{
    q->count = 1;
    int roll = (int)below(3);
    if (roll == 0) {
        put(q, "GET " MONTH "\r\nX-Injected: 1 HTTP/1.1\r\n"
               "Connection: close\r\n\r\n");
        q->must_answer = false;
    } else if (roll == 1) {
        put(q,
            "GET /api/stats/month?month=2025-10%s"
            "X-Injected:%%201 HTTP/1.1\r\nConnection: close\r\n\r\n",
            chance(50) ? "%0d%0a" : "%0a");
    } else {
        put(q, "GET /api/health HTTP/1.1\nHost: x\nConnection: close\n\n");
        q->must_answer = false;
        q->plan.shut_write = true;
    }
}

/* Targets civetweb may drop without an answer: absolute, "*", none. */
static void put_odd_target(struct raw *q)
{
    static const char *const targets[] = {"http://127.0.0.1/api/health", "*",
                                          "api/health", "", "?month=x"};
    q->count = 1;
    put(q, "%s %s HTTP/1.1\r\nConnection: close\r\n\r\n",
        chance(50) ? "GET" : "OPTIONS", PICK(targets));
    q->must_answer = false;
}

/* Bytes that are no HTTP at all. */
static void put_garbage(struct raw *q)
{
    q->count = 1;
    for (size_t i = 0, n = 1 + below(300); i < n; i++)
        q->data[q->len++] = (char)below(256);
    if (chance(50))
        put(q, "\r\n\r\n");
    q->must_answer = false;
    q->plan.shut_write = true;
}

/* Builds the next random request into q. */
static void next_request(struct raw *q)
{
    q->len = 0;
    q->data[0] = '\0';
    q->count = 0;
    memset(q->no_body, 0, sizeof(q->no_body));
    q->must_answer = true;
    q->odd_version = false;
    q->plan = (struct plan){.timeout_ms = 5000};
    int roll = (int)below(100);
    if (roll < 45) {
        q->kind = "plain";
        put_plain(q, chance(70));
    } else if (roll < 52) {
        q->kind = "body";
        put_body(q);
    } else if (roll < 56) {
        q->kind = "huge-head";
        put_huge_head(q);
    } else if (roll < 60) {
        q->kind = "header-flood";
        put_header_flood(q);
    } else if (roll < 66) {
        q->kind = "truncated";
        put_plain(q, true);
        q->len = 1 + below(q->len - 1);
        q->must_answer = false;
        q->plan.shut_write = true;
    } else if (roll < 69) {
        q->kind = "slow";
        put_plain(q, true);
        q->plan.pieces = 2 + (int)below(2);
        q->plan.pause_ms = 5 + (int)below(25);
    } else if (roll < 77) {
        q->kind = "pipelined";
        put_pipelined(q);
    } else if (roll < 82) {
        q->kind = "version";
        put_old_version(q);
    } else if (roll < 88) {
        q->kind = "crlf";
        put_crlf(q);
    } else if (roll < 94) {
        q->kind = "odd-target";
        put_odd_target(q);
    } else {
        q->kind = "garbage";
        put_garbage(q);
    }
    if (!q->must_answer)
        q->plan.timeout_ms = 1500;
    q->plan.data = q->data;
    q->plan.len = q->len;
    q->plan.requests = q->count;
    q->plan.no_body = q->no_body;
}

/* The start of q's bytes, printable, for a failure message. */
static const char *describe(const struct raw *q, char *buf, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < q->len && n + 5 < len && i < 160; i++) {
        unsigned char c = (unsigned char)q->data[i];
        n += (size_t)snprintf(buf + n, len - n,
                              c >= 0x20 && c < 0x7f ? "%c"
                              : c == '\r'           ? "\\r"
                              : c == '\n'           ? "\\n"
                                                    : "\\x%02x",
                              c);
    }
    return buf;
}

/* One answer to a random request: a status the API may give, Retry-After
 * on 503, headers without injected lines, JSON that parses. */
static const char *answer_problem(const struct raw *q, const struct reply *r)
{
    if (r->status >= 500 && r->status != 503)
        return "a 5xx other than 503";
    if (q->odd_version && r->status != 400)
        return "a request of another HTTP version answered other than 400";
    if (r->status == 503 && !has_header(r, "Retry-After"))
        return "a 503 without Retry-After";
    if (strstr(r->head, "\r\nX-Injected") != NULL)
        return "a header injected from the request";
    char type[128];
    if (r->body_len > 0 && header_of(r, "Content-Type", type, sizeof(type)) &&
        strncmp(type, "application/json", 16) == 0) {
        json_t *doc = json_loadb(r->body, r->body_len, 0, NULL);
        if (doc == NULL)
            return "a JSON body that does not parse";
        json_decref(doc);
    }
    return NULL;
}

static void check_outcome(const struct raw *q, const struct outcome *o,
                          const struct reply *replies, int i)
{
    char text[1024];
    const char *problem = o->refused     ? "the connection refused"
                          : o->malformed ? "an answer that is not HTTP/1.x"
                          : q->must_answer && o->replies < q->count
                              ? "no answer in time"
                              : NULL;
    int status = 0;
    for (int k = 0; problem == NULL && k < o->replies; k++) {
        problem = answer_problem(q, &replies[k]);
        status = replies[k].status;
    }
    if (problem != NULL)
        fail_msg("random request %d (%s): %s (status %d, %d of %d answers): "
                 "%s",
                 i, q->kind, problem, status, o->replies, q->count,
                 describe(q, text, sizeof(text)));
}

/* Thousands of random requests, good and bad, on the real server: it
 * never crashes, never answers 5xx but 503, and still serves afterwards;
 * on SIGTERM it exits 0 without a sanitizer report. */
static void test_random_requests(void **state)
{
    (void)state;
    static struct raw q;
    struct reply replies[4];
    int answers = 0, by_status[600] = {0};
    rng_state = strtoull(it.now, NULL, 10) | 1;
    start_api("api-random", api_port, it.db, &api_pid);
    /* civetweb takes this for a WebSocket handshake: the answer still has
     * a status line (it once came as a bare body). */
    struct reply r;
    struct outcome o;
    assert_int_equal(ask(api_port, "GET", "/api/health",
                         "Connection: Upgrade\r\nUpgrade: websocket\r\n"
                         "Sec-WebSocket-Version: 13\r\n"
                         "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n",
                         5000, &r, &o),
                     400);
    json_decref(body_json(&r, "bad_request"));
    reply_free(&r);
    double start = now_ms();
    for (int i = 0; i < RANDOM_REQUESTS; i++) {
        next_request(&q);
        o = exchange(api_port, &q.plan, replies);
        check_outcome(&q, &o, replies, i);
        for (int k = 0; k < o.replies; k++) {
            by_status[replies[k].status]++;
            reply_free(&replies[k]);
        }
        answers += o.replies;
    }
    char summary[512];
    size_t n = 0;
    for (int s = 0; s < 600; s++)
        if (by_status[s] > 0)
            n += (size_t)snprintf(summary + n, sizeof(summary) - n, " %d:%d", s,
                                  by_status[s]);
    print_message("random requests: seed %s, %d sent, %d answers in %.1f s;"
                  "%s\n",
                  it.now, RANDOM_REQUESTS, answers, (now_ms() - start) / 1000,
                  summary);
    r = get_expect(api_port, "/api/health", NULL, 200);
    reply_free(&r);
    r = get_expect(api_port, MONTH, NULL, 200);
    reply_free(&r);
    stop_process(&api_pid);
    assert_no_sanitizer_report("api-random");
}

/* A 401 of the token check: WWW-Authenticate and code unauthorized. */
static void expect_unauthorized(const char *path, const char *headers)
{
    struct reply r = get_expect(api_port, path, headers, 401);
    char value[128];
    if (!header_of(&r, "WWW-Authenticate", value, sizeof(value)) ||
        strncmp(value, "Bearer", 6) != 0)
        fail_msg("401 for %s without WWW-Authenticate: Bearer", path);
    json_decref(body_json(&r, "unauthorized"));
    reply_free(&r);
}

/* The Access-Control-Allow-Origin of an answer, "" when none. */
static void allowed_origin(const struct reply *r, char *buf, size_t len)
{
    if (!header_of(r, "Access-Control-Allow-Origin", buf, len))
        buf[0] = '\0';
}

/* With CALLSTATS_API_TOKEN set, the figures need the token and health
 * and ready do not; CALLSTATS_CORS_ORIGINS' origins, and only they, are
 * echoed, and a preflight gets 204 with the methods allowed. */
static void test_token_and_cors(void **state)
{
    (void)state;
    const char *env[] = {"CALLSTATS_API_TOKEN=" TOKEN,
                         "CALLSTATS_CORS_ORIGINS=" ORIGINS, NULL};
    start_api_env("api-token", api_port, it.db, env, &api_pid);
    expect_unauthorized(MONTH, NULL);
    expect_unauthorized(MONTH, "Authorization: Bearer " TOKEN "x\r\n");
    expect_unauthorized(MONTH, "Authorization: Bearer faults-token\r\n");
    expect_unauthorized(MONTH, "Authorization: Basic Zm9vOmJhcg==\r\n");
    expect_unauthorized("/metrics", NULL);
    const char *right = "Authorization: Bearer " TOKEN "\r\n";
    struct reply r = get_expect(api_port, MONTH, right, 200);
    json_t *doc = body_json(&r, NULL);
    assert_true(json_is_true(json_object_get(doc, "success")));
    json_decref(doc);
    reply_free(&r);
    r = get_expect(api_port, "/api/health", NULL, 200);
    reply_free(&r);
    r = get_expect(api_port, "/api/ready", NULL, 200);
    reply_free(&r);

    char origin[256], vary[128];
    r = get_expect(api_port, MONTH,
                   "Authorization: Bearer " TOKEN "\r\nOrigin: " ORIGIN "\r\n",
                   200);
    allowed_origin(&r, origin, sizeof(origin));
    assert_string_equal(origin, ORIGIN);
    assert_true(header_of(&r, "Vary", vary, sizeof(vary)));
    reply_free(&r);
    /* A refusal reaches the listed origin's page too, so it can say why. */
    r = get_expect(api_port, MONTH, "Origin: " ORIGIN "\r\n", 401);
    allowed_origin(&r, origin, sizeof(origin));
    assert_string_equal(origin, ORIGIN);
    reply_free(&r);
    const char *others[] = {"https://evil.example.com",
                            "HTTPS://DASH.EXAMPLE.COM",
                            "https://dash.example.com.evil.com", "null"};
    for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
        char headers[256];
        snprintf(headers, sizeof(headers), "%sOrigin: %s\r\n", right,
                 others[i]);
        r = get_expect(api_port, MONTH, headers, 200);
        allowed_origin(&r, origin, sizeof(origin));
        if (origin[0] != '\0')
            fail_msg("origin %s got Access-Control-Allow-Origin %s", others[i],
                     origin);
        reply_free(&r);
    }

    /* A preflight carries no token. */
    struct outcome o;
    assert_int_equal(ask(api_port, "OPTIONS", "/api/stats/month",
                         "Origin: " ORIGIN "\r\n"
                         "Access-Control-Request-Method: GET\r\n"
                         "Access-Control-Request-Headers: authorization\r\n",
                         10000, &r, &o),
                     204);
    char methods[128], allowed_headers[128];
    assert_true(header_of(&r, "Access-Control-Allow-Methods", methods,
                          sizeof(methods)));
    assert_non_null(strstr(methods, "GET"));
    assert_true(header_of(&r, "Access-Control-Allow-Headers", allowed_headers,
                          sizeof(allowed_headers)));
    assert_non_null(strstr(allowed_headers, "Authorization"));
    allowed_origin(&r, origin, sizeof(origin));
    assert_string_equal(origin, ORIGIN);
    assert_int_equal(r.body_len, 0);
    reply_free(&r);
    assert_int_equal(ask(api_port, "OPTIONS", "/api/stats/month",
                         "Origin: https://evil.example.com\r\n", 10000, &r, &o),
                     204);
    assert_false(has_header(&r, "Access-Control-Allow-Methods"));
    assert_false(has_header(&r, "Access-Control-Allow-Origin"));
    reply_free(&r);
    stop_process(&api_pid);
}

/* ---- ETag, 304 and the data version ---- */

/* calls_dialled of date in a month answer; -1 when null or absent. */
static long long day_calls(const char *body, const char *date)
{
    json_t *doc = parse_or_fail(body, "month");
    json_t *days = json_object_get(json_object_get(doc, "data"), "days");
    long long calls = -1;
    size_t i;
    json_t *row;
    json_array_foreach(days, i, row)
    {
        const char *d = json_string_value(json_object_get(row, "date"));
        json_t *v = json_object_get(row, "calls_dialled");
        if (d != NULL && strcmp(d, date) == 0 && json_is_integer(v))
            calls = json_integer_value(v);
    }
    json_decref(doc);
    return calls;
}

/* GETs the month: its ETag into etag, its body returned (caller frees). */
static char *month_with_etag(char *etag, size_t len)
{
    struct reply r = get_expect(api_port, MONTH, NULL, 200);
    if (!header_of(&r, "ETag", etag, len))
        fail_msg("a month answer without ETag");
    char *body = r.body;
    r.body = NULL;
    reply_free(&r);
    return body;
}

/* Waits up to 1 s for the month's ETag to differ from old; returns the
 * body then (caller frees). */
static char *month_after_change(const char *old, char *etag, size_t len)
{
    double start = now_ms();
    for (;;) {
        char *body = month_with_etag(etag, len);
        if (strcmp(etag, old) != 0)
            return body;
        free(body);
        if (now_ms() - start > 1000)
            fail_msg("the month's ETag is still %s 1 s after the data "
                     "version moved",
                     old);
        usleep(50 * 1000);
    }
}

static void expect_not_modified(const char *etag_header)
{
    struct reply r;
    struct outcome o;
    assert_int_equal(ask(api_port, "GET", MONTH, etag_header, 10000, &r, &o),
                     304);
    assert_int_equal(r.body_len, 0);
    assert_int_equal(o.extra, 0); /* no body after the head either */
    assert_true(has_header(&r, "ETag"));
    reply_free(&r);
}

/* The month carries an ETag, Last-Modified and max-age; If-None-Match
 * with it gets 304 without a body; when the data version moves (by
 * hand, as the worker does: UPDATE and NOTIFY), the ETag changes within
 * a second and the old one gets 200 again. */
static void test_etag_and_data_version(void **state)
{
    (void)state;
    start_api("api-etag", api_port, it.db, &api_pid);
    char etag[64], value[128], inm[256];
    struct reply r = get_expect(api_port, MONTH, NULL, 200);
    assert_true(header_of(&r, "ETag", etag, sizeof(etag)));
    assert_true(header_of(&r, "Last-Modified", value, sizeof(value)));
    assert_true(header_of(&r, "Cache-Control", value, sizeof(value)));
    assert_non_null(strstr(value, "max-age="));
    reply_free(&r);
    snprintf(inm, sizeof(inm), "If-None-Match: %s\r\n", etag);
    expect_not_modified(inm);
    snprintf(inm, sizeof(inm), "If-None-Match: \"other\", W/%s\r\n", etag);
    expect_not_modified(inm);

    db_exec("UPDATE data_version SET version = version + 1, changed_at = "
            "now(); NOTIFY callstats_data");
    char etag2[64];
    free(month_after_change(etag, etag2, sizeof(etag2)));
    snprintf(inm, sizeof(inm), "If-None-Match: %s\r\n", etag);
    r = get_expect(api_port, MONTH, inm, 200);
    reply_free(&r);
    snprintf(inm, sizeof(inm), "If-None-Match: %s\r\n", etag2);
    expect_not_modified(inm);
    stop_process(&api_pid);
}

static void start_resync_sim(void)
{
    char exe[512], port[16];
    snprintf(exe, sizeof(exe), "%s/callstats-sim", it.bin);
    snprintf(port, sizeof(port), "%d", sim_port);
    char records[64];
    snprintf(records, sizeof(records), "%s=%d", RESYNC_DAY, RESYNC_CALLS);
    char *argv[] = {exe,
                    "serve",
                    "--port",
                    port,
                    "--seed",
                    (char *)it.seed,
                    "--now",
                    (char *)it.now,
                    "--day-records",
                    records,
                    NULL};
    sim_pid = spawn("sim-resync", argv, NULL);
    if (!wait_log("sim-resync", "callstats-sim ready"))
        fail_msg("sim-resync did not log its ready line");
}

/* A day synced again with other figures: once the worker's transaction
 * commits, the month shows them under a new ETag within a second. */
static void test_worker_sync_changes_the_answer(void **state)
{
    (void)state;
    start_api("api-resync", api_port, it.db, &api_pid);
    start_resync_sim();
    char etag[64], etag2[64], url[64];
    char *body = month_with_etag(etag, sizeof(etag));
    assert_int_not_equal(day_calls(body, RESYNC_DAY), RESYNC_CALLS);
    free(body);
    long long before = db_count("SELECT version FROM data_version");
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", sim_port);
    assert_int_equal(sync_days("resync", url, RESYNC_DAY, RESYNC_DAY, NULL), 0);
    stop_process(&sim_pid);
    assert_int_equal(db_count("SELECT calls_dialled FROM day_totals WHERE "
                              "stat_date = '" RESYNC_DAY "'"),
                     RESYNC_CALLS);
    /* The worker's commit moved the version (and notified the API). */
    assert_true(db_count("SELECT version FROM data_version") > before);
    body = month_after_change(etag, etag2, sizeof(etag2));
    assert_int_equal(day_calls(body, RESYNC_DAY), RESYNC_CALLS);
    free(body);
    stop_process(&api_pid);
}

/* ---- the database stopped under load ---- */

/* One request of a hammer thread. */
struct sample {
    double sent_ms, done_ms;
    int status;       /* 0: no answer within 3 s */
    bool retry_after; /* a 503 with Retry-After */
    bool unavailable; /* a 503 with code database_unavailable */
    bool same_body;   /* a 200 with the body from before the outage */
};

struct hammer {
    pthread_t thread;
    struct sample *samples;
    size_t n, cap;
};

static struct hammer hammers[HAMMER_THREADS];
static int hammers_running; /* threads started and not yet joined */
static atomic_bool hammer_stop;
static char *month_before; /* the month's body before the outage */

static bool has_code(const struct reply *r, const char *want)
{
    json_t *doc = r->body ? json_loads(r->body, 0, NULL) : NULL;
    const char *code = json_string_value(json_object_get(doc, "code"));
    bool same = code != NULL && strcmp(code, want) == 0;
    json_decref(doc);
    return same;
}

/* Asks the month of the API without a cache until told to stop, a
 * request every 10 ms or so; keeps what each got. */
static void *hammer_run(void *arg)
{
    struct hammer *h = arg;
    while (!atomic_load(&hammer_stop)) {
        struct reply r;
        struct outcome o;
        struct sample s = {.sent_ms = now_ms()};
        s.status = ask(api2_port, "GET", MONTH, NULL, 3000, &r, &o);
        s.done_ms = now_ms();
        s.retry_after = s.status == 503 && has_header(&r, "Retry-After");
        s.unavailable = s.status == 503 && has_code(&r, "database_unavailable");
        s.same_body = s.status == 200 && strcmp(r.body, month_before) == 0;
        reply_free(&r);
        if (h->n == h->cap) {
            h->cap = h->cap ? h->cap * 2 : 1024;
            h->samples = realloc(h->samples, h->cap * sizeof(*h->samples));
        }
        h->samples[h->n++] = s;
        usleep(10 * 1000);
    }
    return NULL;
}

static void hammers_start(void)
{
    atomic_store(&hammer_stop, false);
    for (int i = 0; i < HAMMER_THREADS; i++) {
        hammers[i] = (struct hammer){0};
        assert_int_equal(
            pthread_create(&hammers[i].thread, NULL, hammer_run, &hammers[i]),
            0);
        hammers_running = i + 1;
    }
}

static void hammers_join(void)
{
    atomic_store(&hammer_stop, true);
    for (int i = 0; i < hammers_running; i++)
        pthread_join(hammers[i].thread, NULL);
    hammers_running = 0;
}

static void hammers_free(void)
{
    for (int i = 0; i < HAMMER_THREADS; i++) {
        free(hammers[i].samples);
        hammers[i] = (struct hammer){0};
    }
}

/* Every request of the hammers: answered within ANSWER_BOUND_MS, 200
 * with the body from before or 503 database_unavailable with
 * Retry-After, and 503 whenever sent and answered while the database was
 * down (from down to up, ms). */
static void check_hammers(double t0, double down, double up)
{
    size_t total = 0, ok = 0, unavailable = 0, ok_after = 0;
    double slowest = 0;
    for (int i = 0; i < HAMMER_THREADS; i++) {
        for (size_t k = 0; k < hammers[i].n; k++) {
            const struct sample *s = &hammers[i].samples[k];
            double took = s->done_ms - s->sent_ms, at = s->sent_ms - t0;
            total++;
            slowest = took > slowest ? took : slowest;
            if (s->status == 0 || took > ANSWER_BOUND_MS)
                fail_msg("a month request sent at +%.0f ms took %.0f ms "
                         "(status %d)",
                         at, took, s->status);
            if (s->status != 200 && s->status != 503)
                fail_msg("a month request sent at +%.0f ms got %d", at,
                         s->status);
            if (s->status == 200 && !s->same_body)
                fail_msg("a 200 at +%.0f ms with another body", at);
            if (s->status == 503 && !(s->retry_after && s->unavailable))
                fail_msg("a 503 at +%.0f ms without Retry-After or code "
                         "database_unavailable",
                         at);
            if (s->sent_ms >= down && s->done_ms <= up && s->status != 503)
                fail_msg("a %d at +%.0f ms while the database was down",
                         s->status, at);
            ok += s->status == 200;
            unavailable += s->status == 503;
            ok_after += s->status == 200 && s->sent_ms > up;
        }
    }
    print_message("outage: %zu month requests, %zu answered 200, %zu 503; "
                  "slowest %.0f ms\n",
                  total, ok, unavailable, slowest);
    assert_true(unavailable > 0);
    assert_true(ok_after > 0);
}

/* Polls path on port until it answers want, for at most ms; returns the
 * milliseconds it took, and the answer in r. */
static double until_status(int port, const char *path, int want, double ms,
                           struct reply *r)
{
    double start = now_ms();
    for (;;) {
        struct outcome o;
        int status = ask(port, "GET", path, NULL, 5000, r, &o);
        double took = now_ms() - start;
        if (status == want)
            return took;
        reply_free(r);
        if (took > ms)
            fail_msg("GET %s: still %d after %.0f ms, wanted %d", path, status,
                     took, want);
        usleep(50 * 1000);
    }
}

/* While the database is down: ready says 503 within a second, health
 * 200, and the API with a cache serves the month it has, marked stale
 * (with its CORS headers for a listed origin), and 503 for a month it
 * never built. */
static void check_during_outage(void)
{
    struct reply r;
    struct outcome o;
    double start = now_ms();
    assert_int_equal(ask(api2_port, "GET", "/api/ready", NULL, 5000, &r, &o),
                     503);
    double took = now_ms() - start;
    if (took > 1200)
        fail_msg("/api/ready took %.0f ms to answer 503", took);
    assert_true(has_code(&r, "database_unavailable"));
    assert_true(has_header(&r, "Retry-After"));
    reply_free(&r);
    r = get_expect(api2_port, "/api/health", NULL, 200);
    reply_free(&r);
    r = get_expect(api_port, "/api/health", NULL, 200);
    reply_free(&r);
    r = get_expect(api_port, MONTH, NULL, 200);
    assert_true(has_header(&r, "X-Callstats-Stale"));
    assert_string_equal(r.body, month_before);
    reply_free(&r);
    /* A listed origin's page can read the stale answer too. */
    char origin[64];
    r = get_expect(api_port, MONTH, "Origin: " ORIGIN "\r\n", 200);
    assert_true(has_header(&r, "X-Callstats-Stale"));
    assert_true(
        header_of(&r, "Access-Control-Allow-Origin", origin, sizeof(origin)));
    assert_string_equal(origin, ORIGIN);
    char exposed[128];
    assert_true(header_of(&r, "Access-Control-Expose-Headers", exposed,
                          sizeof(exposed)));
    assert_non_null(strstr(exposed, "X-Callstats-Stale"));
    reply_free(&r);
    r = get_expect(api_port, "/api/stats/month?month=2025-09", NULL, 503);
    assert_true(has_code(&r, "database_unavailable"));
    assert_true(has_header(&r, "Retry-After"));
    reply_free(&r);
}

/* Once the database is back, the cached API's month is no longer stale. */
static double until_fresh(int port, const char *path, double limit_ms)
{
    double start = now_ms();
    for (;;) {
        struct reply r = get_expect(port, path, NULL, 200);
        bool stale = has_header(&r, "X-Callstats-Stale");
        reply_free(&r);
        if (!stale)
            return now_ms() - start;
        if (now_ms() - start > limit_ms)
            fail_msg("GET %s: still stale after %.0f ms", path, limit_ms);
        usleep(50 * 1000);
    }
}

/* PostgreSQL stops while 8 threads ask the month of an API without a
 * cache, and starts again: no request hangs or gets a 500, the outage
 * answers 503, and the API serves the same month again within seconds,
 * without a restart; the API with a cache does the same. */
static void test_database_outage(void **state)
{
    (void)state;
    const char *no_cache[] = {"CALLSTATS_API_CACHE_MB=0", NULL};
    start_api_env("api-nocache", api2_port, it.db, no_cache, &api2_pid);
    const char *cors[] = {"CALLSTATS_CORS_ORIGINS=" ORIGINS, NULL};
    start_api_env("api-cached", api_port, it.db, cors, &api_pid);
    struct reply r = get_expect(api2_port, MONTH, NULL, 200);
    month_before = r.body;
    r.body = NULL;
    reply_free(&r);
    for (int i = 0; i < 2; i++) { /* the second comes from the cache */
        r = get_expect(api_port, MONTH, NULL, 200);
        assert_string_equal(r.body, month_before);
        reply_free(&r);
    }
    double t0 = now_ms();
    hammers_start();
    usleep(1000 * 1000);
    database("stop");
    double down = now_ms();
    check_during_outage();
    usleep(1500 * 1000);
    double up_begin = now_ms();
    database("start");
    double back = until_status(api2_port, MONTH, 200, 5000, &r);
    assert_string_equal(r.body, month_before);
    reply_free(&r);
    double back_cached = until_fresh(api_port, MONTH, 5000);
    r = get_expect(api_port, MONTH, NULL, 200);
    assert_string_equal(r.body, month_before);
    reply_free(&r);
    r = get_expect(api2_port, "/api/ready", NULL, 200);
    reply_free(&r);
    print_message("outage: down %.0f ms after the load began; month 200 "
                  "again %.0f ms (cached API %.0f ms) after the restart\n",
                  down - t0, back, back_cached);
    usleep(500 * 1000);
    hammers_join();
    check_hammers(t0, down, up_begin);
    stop_process(&api2_pid);
    stop_process(&api_pid);
}

static int end_outage_test(void **state)
{
    hammers_join();
    hammers_free();
    free(month_before);
    month_before = NULL;
    return end_test(state);
}

int main(void)
{
    harness_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_random_requests, end_test),
        cmocka_unit_test_teardown(test_token_and_cors, end_test),
        cmocka_unit_test_teardown(test_etag_and_data_version, end_test),
        cmocka_unit_test_teardown(test_worker_sync_changes_the_answer,
                                  end_test),
        cmocka_unit_test_teardown(test_database_outage, end_outage_test),
    };
    return cmocka_run_group_tests_name("api_faults", tests, setup, NULL) == 0
               ? 0
               : 1;
}
