/*
 * The API's endpoints, independent of the HTTP server: a request's method,
 * path and query string in, a status, content type and body out.
 */
#ifndef API_ROUTES_H
#define API_ROUTES_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "date.h"
#include "pool.h"

struct api_context {
    const struct cs_config *cfg;
    struct api_pool *pool;
    cs_day (*today)(void); /* the business day now; cs_today when NULL */
};

struct api_response {
    int status;
    const char *content_type;
    const char *allow;    /* the Allow header of a 405, else NULL */
    char disposition[96]; /* Content-Disposition, or "" */
    char *body;           /* owned when body_owned */
    size_t length;
    bool body_owned;
};

/* Answers one request; query may be NULL. Always fills resp (a 500 with a
 * JSON body when even that fails); free it with api_response_free. */
void api_handle(const struct api_context *ctx, const char *method,
                const char *path, const char *query, struct api_response *resp);

/* Fills resp with an error answer: {"success": false, code, message}. */
void api_response_error(struct api_response *resp, int status, const char *code,
                        const char *message);

void api_response_free(struct api_response *resp);

#endif
