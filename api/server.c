/* civetweb set-up and the one callback that answers every request. */
#include "server.h"

#include <civetweb.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "metrics.h"
#include "report.h"

/* How long a client may take to send its request: each connection holds
 * one of the server's threads meanwhile. */
#define REQUEST_TIMEOUT_MS "5000"

/* The largest request head read, in bytes: request line and headers.
 * Longer ones get a 400 as JSON. */
#define MAX_REQUEST_SIZE "8192"

/* How long a stop waits for the requests in flight to be answered. */
#define DRAIN_SECONDS 10

struct api_server {
    struct mg_context *mg;
    int port;
};

/* Until the server listens, civetweb's own messages are only debug and
 * the first one is kept: api_server_start reports a failure once, with it
 * ("cannot bind to 127.0.0.1:8080: 98 (Address already in use)"). */
static atomic_bool server_listening;
static char start_message[256];

/* Requests being answered, and whether the server is stopping: civetweb
 * drops what a request writes once its stop has begun, so a stop first
 * lets the requests in flight finish and answers new ones 503. */
static atomic_int requests_in_flight;
static atomic_bool draining;

static int log_message(const struct mg_connection *conn, const char *message)
{
    (void)conn;
    int len = (int)strcspn(message, "\r\n");
    if (atomic_load(&server_listening))
        cs_warn("http server message=\"%.*s\"", len, message);
    else if (start_message[0] == '\0')
        snprintf(start_message, sizeof(start_message), "%.*s", len, message);
    return 1;
}

static void add_header(struct mg_connection *conn, const char *name,
                       const char *value)
{
    if (value != NULL && value[0] != '\0')
        mg_response_header_add(conn, name, value, -1);
}

static int http_error(struct mg_connection *conn, int status,
                      const char *errmsg);

static void send_response(struct mg_connection *conn, bool head,
                          const struct api_response *resp)
{
    char length[32], retry[16];
    if (mg_response_header_start(conn, resp->status) != 0) {
        /* civetweb takes "Connection: Upgrade" with "Upgrade: websocket"
         * for a WebSocket handshake and sends no headers on it: the body
         * would go out without a status line. None is served here. */
        http_error(conn, 400, "WebSocket is not served");
        return;
    }
    if (resp->status != 304 && resp->status != 204) {
        snprintf(length, sizeof(length), "%zu", resp->length);
        add_header(conn, "Content-Type", resp->content_type);
        add_header(conn, "Content-Length", length);
    }
    add_header(conn, "Cache-Control",
               resp->cache_control[0] ? resp->cache_control : "no-store");
    add_header(conn, "ETag", resp->etag);
    add_header(conn, "Last-Modified", resp->last_modified);
    add_header(conn, "Vary", resp->vary);
    add_header(conn, "X-Content-Type-Options", "nosniff");
    add_header(conn, "Allow", resp->allow);
    add_header(conn, "Content-Disposition", resp->disposition);
    if (resp->retry_after > 0) {
        snprintf(retry, sizeof(retry), "%d", resp->retry_after);
        add_header(conn, "Retry-After", retry);
    }
    if (resp->stale)
        add_header(conn, "X-Callstats-Stale",
                   "the database cannot be reached; figures as of "
                   "Last-Modified");
    if (resp->authenticate)
        add_header(conn, "WWW-Authenticate", "Bearer realm=\"callstats\"");
    if (resp->cors_origin != NULL) {
        add_header(conn, "Access-Control-Allow-Origin", resp->cors_origin);
        add_header(conn, "Access-Control-Expose-Headers",
                   "ETag, Last-Modified, Content-Disposition, Retry-After, "
                   "X-Callstats-Stale");
        if (resp->status == 204) {
            add_header(conn, "Access-Control-Allow-Methods",
                       "GET, HEAD, OPTIONS");
            add_header(conn, "Access-Control-Allow-Headers",
                       "Authorization, If-None-Match, Accept");
            add_header(conn, "Access-Control-Max-Age", "600");
        }
    }
    /* With origins listed, an answer depends on the Origin sent, even
     * when it names none of them. */
    if (resp->vary_origin)
        add_header(conn, "Vary", "Origin");
    mg_response_header_send(conn);
    if (!head && resp->length > 0 && resp->status != 304)
        mg_write(conn, resp->body, resp->length);
}

static double seconds_since(const struct timespec *start)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - start->tv_sec) +
           (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

static int begin_request(struct mg_connection *conn)
{
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    const struct mg_request_info *ri = mg_get_request_info(conn);
    const struct api_context *ctx = ri->user_data;
    struct api_request req = {
        .method = ri->request_method ? ri->request_method : "",
        .path = ri->local_uri ? ri->local_uri : "",
        .query = ri->query_string,
        .accept = mg_get_header(conn, "Accept"),
        .authorization = mg_get_header(conn, "Authorization"),
        .origin = mg_get_header(conn, "Origin"),
        .if_none_match = mg_get_header(conn, "If-None-Match"),
    };
    struct api_response resp;
    atomic_fetch_add(&requests_in_flight, 1);
    if (atomic_load(&draining)) {
        api_response_error(&resp, 503, "shutting_down",
                           "the server is stopping; try again shortly");
        resp.retry_after = 1;
        resp.route = api_route_index(req.path);
    } else {
        api_handle(ctx, &req, &resp);
    }
    send_response(conn, strcmp(req.method, "HEAD") == 0, &resp);
    atomic_fetch_sub(&requests_in_flight, 1);
    api_metrics_record(ctx->metrics, resp.route, resp.status,
                       seconds_since(&start));
    cs_debug("request method=%s route=%s status=%d bytes=%zu", req.method,
             api_route_path(resp.route), resp.status, resp.length);
    int status = resp.status;
    api_response_free(&resp);
    return status;
}

static const char *error_code(int status)
{
    switch (status) {
    case 400:
        return "bad_request";
    case 404:
        return "not_found";
    case 405:
        return "method_not_allowed";
    case 413:
    case 414:
    case 431:
        return "request_too_large";
    case 505:
        return "http_version_not_supported";
    default:
        return status >= 500 ? "internal_error" : "bad_request";
    }
}

/*
 * Errors civetweb finds itself (a request it cannot parse) get the same
 * JSON body as every other answer, under a fixed status line: civetweb's
 * own page would copy parts of the bad request into the response head.
 */
static int http_error(struct mg_connection *conn, int status,
                      const char *errmsg)
{
    /* A version other than HTTP/1.x is the client's error, not the
     * server's: it gets a 400 like any request that cannot be read. */
    const char *code = error_code(status);
    if (status == 505)
        status = 400;
    char message[200];
    snprintf(message, sizeof(message),
             "the request could not be read as HTTP/1.x, or its request "
             "line and headers exceed " MAX_REQUEST_SIZE " bytes (%.*s)",
             (int)strcspn(errmsg ? errmsg : "", "\r\n"), errmsg ? errmsg : "");
    for (char *p = message; *p; p++)
        if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
            *p = '?';
    json_t *doc = json_pack("{s:b, s:s, s:s}", "success", false, "code", code,
                            "error", message);
    char *body = doc ? json_dumps(doc, API_JSON_FLAGS) : NULL;
    size_t len = body ? strlen(body) : 0;
    mg_printf(conn,
              "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
              "Content-Length: %zu\r\nCache-Control: no-store\r\n"
              "X-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n",
              status, mg_get_response_code_text(NULL, status), len);
    if (len > 0)
        mg_write(conn, body, len);
    cs_debug("request refused by the http parser status=%d", status);
    free(body);
    json_decref(doc);
    return 0;
}

struct api_server *api_server_start(const struct api_context *ctx)
{
    const struct cs_config *cfg = ctx->cfg;
    char listen[300], threads[16], queue[16], keep_alive[16], text[256] = "";
    bool v6 = strchr(cfg->listen_host, ':') != NULL;
    snprintf(listen, sizeof(listen), v6 ? "[%s]:%d" : "%s:%d", cfg->listen_host,
             cfg->listen_port);
    snprintf(threads, sizeof(threads), "%d", cfg->api_threads);
    snprintf(queue, sizeof(queue), "%d", cfg->api_queue);
    snprintf(keep_alive, sizeof(keep_alive), "%d", cfg->api_keep_alive_ms);
    /* No document_root: nothing is ever served from the disk. */
    const char *options[] = {"listening_ports",
                             listen,
                             "num_threads",
                             threads,
                             "connection_queue",
                             queue,
                             "listen_backlog",
                             queue,
                             "request_timeout_ms",
                             REQUEST_TIMEOUT_MS,
                             "enable_keep_alive",
                             cfg->api_keep_alive_ms > 0 ? "yes" : "no",
                             "keep_alive_timeout_ms",
                             keep_alive,
                             "max_request_size",
                             MAX_REQUEST_SIZE,
                             "tcp_nodelay",
                             "1",
                             NULL};
    struct mg_callbacks callbacks = {.begin_request = begin_request,
                                     .log_message = log_message,
                                     .http_error = http_error};
    struct mg_init_data init = {&callbacks, (void *)ctx, options};
    unsigned code = 0;
    struct mg_error_data error = {&code, text, sizeof(text)};
    start_message[0] = '\0';
    struct api_server *server = calloc(1, sizeof(*server));
    if (server == NULL) {
        cs_error("http server allocation failed listen=%s", listen);
        return NULL;
    }
    server->mg = mg_start2(&init, &error);
    if (server->mg == NULL) {
        cs_error("cannot listen listen=%s error=\"%s\"", listen,
                 start_message[0] ? start_message : text);
        free(server);
        return NULL;
    }
    atomic_store(&server_listening, true);
    struct mg_server_port info[4];
    int count = mg_get_server_ports(server->mg, 4, info);
    server->port = count > 0 ? info[0].port : cfg->listen_port;
    return server;
}

int api_server_port(const struct api_server *server)
{
    return server->port;
}

void api_server_stop(struct api_server *server)
{
    if (server == NULL)
        return;
    atomic_store(&draining, true);
    for (int i = 0; i < DRAIN_SECONDS * 20; i++) {
        if (atomic_load(&requests_in_flight) == 0)
            break;
        usleep(50 * 1000);
    }
    atomic_store(&server_listening, false);
    mg_stop(server->mg);
    free(server);
}
