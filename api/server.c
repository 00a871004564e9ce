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
#include "report.h"

/* How long a client may take to send its request: each connection holds
 * one of the server's threads meanwhile. */
#define REQUEST_TIMEOUT_MS "5000"

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

static void send_response(struct mg_connection *conn, bool head,
                          const struct api_response *resp)
{
    char length[32];
    snprintf(length, sizeof(length), "%zu", resp->length);
    mg_response_header_start(conn, resp->status);
    add_header(conn, "Content-Type", resp->content_type);
    add_header(conn, "Content-Length", length);
    add_header(conn, "Cache-Control", "no-store");
    add_header(conn, "X-Content-Type-Options", "nosniff");
    add_header(conn, "Allow", resp->allow);
    add_header(conn, "Content-Disposition", resp->disposition);
    mg_response_header_send(conn);
    if (!head && resp->length > 0)
        mg_write(conn, resp->body, resp->length);
}

static int begin_request(struct mg_connection *conn)
{
    const struct mg_request_info *ri = mg_get_request_info(conn);
    const struct api_context *ctx = ri->user_data;
    const char *method = ri->request_method ? ri->request_method : "";
    const char *path = ri->local_uri ? ri->local_uri : "";
    struct api_response resp;
    atomic_fetch_add(&requests_in_flight, 1);
    if (atomic_load(&draining))
        api_response_error(&resp, 503, "shutting_down",
                           "the server is stopping; try again shortly");
    else
        api_handle(ctx, method, path, ri->query_string, &resp);
    send_response(conn, strcmp(method, "HEAD") == 0, &resp);
    atomic_fetch_sub(&requests_in_flight, 1);
    cs_debug("request method=%s path=\"%s\" status=%d bytes=%zu", method, path,
             resp.status, resp.length);
    api_response_free(&resp);
    return resp.status;
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
    char message[200];
    snprintf(message, sizeof(message),
             "the request could not be read as HTTP/1.x (%.*s)",
             (int)strcspn(errmsg ? errmsg : "", "\r\n"), errmsg ? errmsg : "");
    for (char *p = message; *p; p++)
        if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
            *p = '?';
    json_t *doc = json_pack("{s:b, s:s, s:s}", "success", false, "code",
                            error_code(status), "error", message);
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

struct api_server *api_server_start(const struct api_context *ctx,
                                    const char *host, int port, int threads)
{
    char listen[300], nthreads[16], text[256] = "";
    bool v6 = strchr(host, ':') != NULL;
    snprintf(listen, sizeof(listen), v6 ? "[%s]:%d" : "%s:%d", host, port);
    snprintf(nthreads, sizeof(nthreads), "%d", threads);
    /* No document_root: nothing is ever served from the disk. */
    const char *options[] = {"listening_ports",
                             listen,
                             "num_threads",
                             nthreads,
                             "request_timeout_ms",
                             REQUEST_TIMEOUT_MS,
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
    server->port = count > 0 ? info[0].port : port;
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
