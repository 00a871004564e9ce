/*
 * Reading business days from the tables the worker fills, in one
 * statement per response so a day is never read half old, half new.
 */
#ifndef API_STORE_H
#define API_STORE_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "pool.h"
#include "report.h"

/* Why days could not be read. */
enum api_store_failure {
    API_STORE_BUSY,        /* no database connection free in time */
    API_STORE_UNAVAILABLE, /* the database cannot be reached */
    API_STORE_FAILED,      /* the statement failed (logged) */
};

/*
 * Fills out[i] for dates[i], i < n, in one statement: each day's sync
 * state of both sources, totals, active seats (the accounts with calls,
 * less internal) and grade counts. A connection that broke is reopened
 * and the statement run once more. False with *why set otherwise.
 */
__attribute__((warn_unused_result)) bool
api_store_read_days(struct api_pool *pool, const cs_day *dates, size_t n,
                    const struct cs_list *internal, struct api_day *out,
                    enum api_store_failure *why);

#endif
