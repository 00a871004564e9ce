/* Unit tests of the upstream client against a scripted local HTTP server:
 * envelope errors, token refresh, retries of 5xx, 429 and broken JSON. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../worker/upstream.h"

#define MAX_EXCHANGES 8

/* One scripted answer: status line, extra headers, body. */
struct answer {
    int status;
    const char *headers;
    const char *body;
};

static struct server {
    int fd;
    int port;
    const struct answer *answers;
    size_t count;
    char request_line[MAX_EXCHANGES][256];
    char authorization[MAX_EXCHANGES][128];
    char content_type[MAX_EXCHANGES][64];
    size_t served;
    pthread_t thread;
} srv;

static const char token_ok[] = "{\"code\":200,\"data\":{\"token\":\"tk1\"}}";
static const char stat_ok[] =
    "{\"code\":200,\"message\":\"ok\",\"data\":{\"content\":[],"
    "\"total\":{\"callout_number\":0}}}";

static void header_value(const char *req, const char *name, char *out,
                         size_t outlen)
{
    out[0] = '\0';
    const char *p = strstr(req, "\r\n");
    while (p != NULL && strncasecmp(p + 2, name, strlen(name)) != 0)
        p = strstr(p + 2, "\r\n");
    if (p == NULL)
        return;
    p += 2 + strlen(name);
    while (*p == ' ')
        p++;
    snprintf(out, outlen, "%.*s", (int)strcspn(p, "\r\n"), p);
}

/* Reads one request (headers and any Content-Length body). */
static void read_request(int fd, char *req, size_t len)
{
    size_t n = 0;
    char *end = NULL;
    while (n + 1 < len && end == NULL) {
        ssize_t got = read(fd, req + n, len - n - 1);
        if (got <= 0)
            break;
        n += (size_t)got;
        req[n] = '\0';
        end = strstr(req, "\r\n\r\n");
    }
    char cl[16];
    header_value(req, "Content-Length:", cl, sizeof(cl));
    size_t want = end ? (size_t)(end + 4 - req) + (size_t)atoi(cl) : n;
    while (n < want && n + 1 < len) {
        ssize_t got = read(fd, req + n, len - n - 1);
        if (got <= 0)
            break;
        n += (size_t)got;
    }
    req[n] = '\0';
}

static void *serve(void *arg)
{
    (void)arg;
    for (size_t i = 0; i < srv.count; i++) {
        int fd = accept(srv.fd, NULL, NULL);
        if (fd < 0)
            break;
        char req[8192], resp[4096];
        read_request(fd, req, sizeof(req));
        snprintf(srv.request_line[i], sizeof(srv.request_line[i]), "%.*s",
                 (int)strcspn(req, "\r\n"), req);
        header_value(req, "Authorization:", srv.authorization[i],
                     sizeof(srv.authorization[i]));
        header_value(req, "Content-Type:", srv.content_type[i],
                     sizeof(srv.content_type[i]));
        const struct answer *a = &srv.answers[i];
        int n = snprintf(resp, sizeof(resp),
                         "HTTP/1.1 %d X\r\nContent-Length: %zu\r\n"
                         "Connection: close\r\n%s\r\n%s",
                         a->status, strlen(a->body), a->headers, a->body);
        if (write(fd, resp, (size_t)n) < 0)
            break;
        srv.served = i + 1;
        close(fd);
    }
    return NULL;
}

static void start_server(const struct answer *answers, size_t count)
{
    memset(&srv, 0, sizeof(srv));
    srv.answers = answers;
    srv.count = count;
    srv.fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    assert_int_equal(bind(srv.fd, (struct sockaddr *)&addr, len), 0);
    assert_int_equal(listen(srv.fd, 8), 0);
    getsockname(srv.fd, (struct sockaddr *)&addr, &len);
    srv.port = ntohs(addr.sin_port);
    pthread_create(&srv.thread, NULL, serve, NULL);
}

static void stop_server(void)
{
    shutdown(srv.fd, SHUT_RDWR);
    close(srv.fd);
    pthread_join(srv.thread, NULL);
}

/* Runs one statistics request against the scripted answers. */
static bool run_stats(const struct answer *answers, size_t count,
                      struct werr *err)
{
    char base[64];
    struct cs_config cfg = {0};
    start_server(answers, count);
    snprintf(base, sizeof(base), "http://127.0.0.1:%d", srv.port);
    cfg.base_url = base;
    cfg.username = "demo user";
    cfg.password = "p&ss";
    cfg.http_timeout = 5;
    cfg.http_retries = 2;
    struct upstream *up = upstream_new(&cfg);
    json_t *data = NULL;
    bool ok = upstream_stats(up, cs_date_from_ymd(2025, 10, 4), 1, &data, err);
    json_decref(data);
    upstream_free(up);
    stop_server();
    return ok;
}

static void envelope_error_with_http_200_is_reported(void **state)
{
    (void)state;
    const struct answer answers[] = {
        {200, "", token_ok},
        {200, "", "{\"code\":4001,\"message\":\"range too long\"}"},
    };
    struct werr err = {{0}};
    assert_false(run_stats(answers, 2, &err));
    assert_int_equal(srv.served, 2);
    assert_non_null(strstr(err.msg, "range too long"));
    assert_string_equal(srv.request_line[0],
                        "GET /token?username=demo%20user&password=p%26ss "
                        "HTTP/1.1");
    assert_string_equal(srv.authorization[0], "");
    assert_string_equal(srv.request_line[1],
                        "POST /extension/agent/stat HTTP/1.1");
    assert_string_equal(srv.authorization[1], "tk1");
    assert_string_equal(srv.content_type[1], "application/json");
}

/* What the upstream writes, or a broken body, reaches the log without a
 * customer's number or the token in it. */
static void refusals_and_broken_bodies_are_redacted(void **state)
{
    (void)state;
    const struct answer refusal[] = {
        {200, "", token_ok},
        {200, "",
         "{\"code\":4002,\"message\":\"bad phone 13812345678 for tk1\"}"},
    };
    struct werr err = {{0}};
    assert_false(run_stats(refusal, 2, &err));
    assert_non_null(strstr(err.msg, "message=\"bad phone # for <token>\""));
    assert_null(strstr(err.msg, "1381234"));

    const struct answer broken[] = {
        {200, "", token_ok},
        {200, "", "{\"code\":200,\"data\":{\"phone\":\"13000000000"},
        {200, "", "{\"code\":200,\"data\":{\"phone\":\"13000000000"},
        {200, "", "{\"code\":200,\"data\":{\"phone\":\"13000000000"},
    };
    struct werr err2 = {{0}};
    assert_false(run_stats(broken, 4, &err2));
    assert_non_null(strstr(err2.msg, "body is not JSON"));
    assert_null(strstr(err2.msg, "13000000000"));
}

static void expired_token_is_refreshed_once(void **state)
{
    (void)state;
    const struct answer answers[] = {
        {200, "", token_ok},
        {401, "", "{}"},
        {200, "", "{\"code\":200,\"data\":{\"token\":\"tk2\"}}"},
        {200, "", stat_ok},
    };
    struct werr err = {{0}};
    assert_true(run_stats(answers, 4, &err));
    assert_string_equal(srv.authorization[3], "tk2");
    const struct answer twice[] = {
        {200, "", token_ok},
        {200, "", "{\"code\":1000002,\"message\":\"expired\"}"},
        {200, "", token_ok},
        {200, "", "{\"code\":1000001,\"message\":\"invalid\"}"},
    };
    assert_false(run_stats(twice, 4, &err));
    assert_int_equal(srv.served, 4);
}

static void transient_failures_are_retried(void **state)
{
    (void)state;
    const struct answer answers[] = {
        {200, "", token_ok},
        {503, "", "busy"},
        {429, "Retry-After: 0\r\n", "{}"},
        {200, "", "{\"code\":200,\"data\":"},
    };
    struct werr err = {{0}};
    /* Two retries allowed: the broken JSON after them fails the request. */
    assert_false(run_stats(answers, 4, &err));
    assert_non_null(strstr(err.msg, "not JSON"));
    const struct answer later[] = {
        {200, "", token_ok},
        {500, "", "{}"},
        {429, "Retry-After: 0\r\n", "{}"},
        {200, "", stat_ok},
    };
    assert_true(run_stats(later, 4, &err));
    assert_int_equal(srv.served, 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(envelope_error_with_http_200_is_reported),
        cmocka_unit_test(refusals_and_broken_bodies_are_redacted),
        cmocka_unit_test(expired_token_is_refreshed_once),
        cmocka_unit_test(transient_failures_are_retried),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
