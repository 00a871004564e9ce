/*
 * Syncing one business day of one source: fetch the whole day from the
 * upstream, then replace it in the database in one transaction.
 */
#ifndef WK_DAYSYNC_H
#define WK_DAYSYNC_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "date.h"
#include "schedule.h"
#include "upstream.h"
#include "werr.h"

struct daysync {
    const struct cs_config *cfg; /* borrowed */
    struct upstream *up;         /* borrowed */
    PGconn *conn;                /* owned; (re)opened when needed */
};

struct daysync_result {
    int64_t records; /* rows written: call records, or stats rows */
    int pages;       /* upstream requests that returned data */
    double seconds;  /* fetch and write */
    struct werr err; /* why the day failed */
};

/* "stats" or "calls". */
const char *daysync_source_name(enum sched_source source);

/* Syncs day of source (SCHED_STATS or SCHED_CALLS). On failure, including
 * a stop signal, the day's old data stays and res->err says why. */
__attribute__((warn_unused_result)) bool
daysync_run(struct daysync *ds, cs_day day, enum sched_source source,
            struct daysync_result *res);

/* Opens the database connection unless one is open and healthy. */
__attribute__((warn_unused_result)) bool daysync_connect(struct daysync *ds,
                                                         struct werr *err);

/* Closes the connection. */
void daysync_close(struct daysync *ds);

#endif
