/*
 * The API benchmark's reference A: civetweb answering every request with
 * one constant body read from a file, with the API's threads and response
 * headers and keep-alive on, so that what remains is civetweb's own cost.
 * tcp_nodelay is on: civetweb sends the headers and the body in two writes,
 * and with keep-alive Nagle's algorithm then holds each body about 40 ms
 * for the client's delayed acknowledgement.
 *   const_server PORT THREADS BODY_FILE     (stops on SIGTERM or SIGINT)
 */
#include <civetweb.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct const_body {
    char *bytes;
    size_t length;
    char length_text[32];
};

/* Reads a whole file; false, with a message, when it cannot. */
static bool read_body(const char *path, struct const_body *body)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        perror(path);
        return false;
    }
    bool ok = fseek(f, 0, SEEK_END) == 0;
    long size = ok ? ftell(f) : -1;
    ok = size > 0 && fseek(f, 0, SEEK_SET) == 0;
    body->bytes = ok ? malloc((size_t)size) : NULL;
    ok = body->bytes != NULL &&
         fread(body->bytes, 1, (size_t)size, f) == (size_t)size;
    fclose(f);
    if (!ok) {
        fprintf(stderr, "const_server: cannot read \"%s\"\n", path);
        free(body->bytes);
        return false;
    }
    body->length = (size_t)size;
    snprintf(body->length_text, sizeof(body->length_text), "%zu", body->length);
    return true;
}

/* The same headers as the API's answers, then the body. */
static int answer(struct mg_connection *conn)
{
    const struct const_body *body = mg_get_request_info(conn)->user_data;
    mg_response_header_start(conn, 200);
    mg_response_header_add(conn, "Content-Type", "application/json", -1);
    mg_response_header_add(conn, "Content-Length", body->length_text, -1);
    mg_response_header_add(conn, "Cache-Control", "no-store", -1);
    mg_response_header_add(conn, "X-Content-Type-Options", "nosniff", -1);
    mg_response_header_send(conn);
    mg_write(conn, body->bytes, body->length);
    return 200;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: const_server PORT THREADS BODY_FILE\n");
        return 2;
    }
    struct const_body body;
    if (!read_body(argv[3], &body))
        return 1;

    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);

    char listen[64];
    snprintf(listen, sizeof(listen), "127.0.0.1:%s", argv[1]);
    const char *options[] = {"listening_ports",
                             listen,
                             "num_threads",
                             argv[2],
                             "request_timeout_ms",
                             "5000",
                             "enable_keep_alive",
                             "yes",
                             "tcp_nodelay",
                             "1",
                             NULL};
    struct mg_callbacks callbacks = {.begin_request = answer};
    mg_init_library(0);
    struct mg_context *mg = mg_start(&callbacks, &body, options);
    if (mg == NULL) {
        fprintf(stderr, "const_server: cannot listen on %s\n", listen);
        return 1;
    }
    fprintf(stderr, "const_server ready listen=%s threads=%s bytes=%zu\n",
            listen, argv[2], body.length);
    int sig = 0;
    sigwait(&stop, &sig);
    mg_stop(mg);
    mg_exit_library();
    free(body.bytes);
    return 0;
}
