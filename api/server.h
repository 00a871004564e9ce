/* The HTTP side of callstats-api: civetweb, serving every request from
 * memory and the database (never from files on disk). */
#ifndef API_SERVER_H
#define API_SERVER_H

#include <stdbool.h>

#include "routes.h"

struct api_server;

/*
 * Listens where ctx->cfg says, with its threads, queue and keep-alive,
 * and answers through api_handle with ctx, which must outlive the server.
 * NULL after one error line (address in use, bad address) when it cannot
 * listen.
 */
struct api_server *api_server_start(const struct api_context *ctx);

/* The port actually listened on (the first one). */
int api_server_port(const struct api_server *server);

/* Stops accepting, waits for the requests in progress, frees. */
void api_server_stop(struct api_server *server);

#endif
