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
#include "records.h"
#include "schedule.h"
#include "upstream.h"
#include "werr.h"

struct daysync {
    const struct cs_config *cfg; /* borrowed */
    struct upstream *up;         /* borrowed */
    PGconn *conn;                /* owned; (re)opened when needed */
    /* Called after each page written, when set: false abandons the day
     * (the daemon's proof of life, and its check that it still leads). */
    bool (*on_page)(void *ctx);
    void *ctx;
    /* The connection's application_name; "callstats-worker" when NULL. */
    const char *app_name;
};

struct daysync_result {
    int64_t records;   /* rows written: call records, or stats rows */
    int pages;         /* upstream requests that returned data */
    double seconds;    /* fetch and write */
    bool inconsistent; /* the upstream contradicted itself, twice */
    struct werr err;   /* why the day failed */
};

/* "stats" or "calls". */
const char *daysync_source_name(enum sched_source source);

/* Syncs day of source (SCHED_STATS or SCHED_CALLS). On failure, including
 * a stop signal, the day's old data stays and res->err says why. */
__attribute__((warn_unused_result)) bool
daysync_run(struct daysync *ds, cs_day day, enum sched_source source,
            struct daysync_result *res);

/* Syncs today's calls since the last sync of the day (less the
 * look-back), merging them by record id; the whole day when the day has
 * not been synced yet. On failure the day's old data stays. */
__attribute__((warn_unused_result)) bool
daysync_incremental(struct daysync *ds, cs_day day, struct daysync_result *res);

/* Opens the database connection unless one is open and healthy. */
__attribute__((warn_unused_result)) bool daysync_connect(struct daysync *ds,
                                                         struct werr *err);

/* Closes the connection. */
void daysync_close(struct daysync *ds);

/*
 * Checks a page's totalCount: it may grow while calls arrive, never fall
 * below an earlier page's (highest) nor below the records delivered so far
 * (fetched), nor be negative. An upstream that says otherwise is not
 * believed, since trusting it would end the day early. False with err set.
 */
__attribute__((warn_unused_result)) bool
daysync_check_total(int64_t total, int64_t highest, int64_t fetched, int page,
                    struct werr *err);

/*
 * Checks that the records list->items[from..] belong to the platform's day
 * (00:00:00-23:59:59 at UTC+8); records without a call time pass. False
 * with err naming the first record that does not.
 */
__attribute__((warn_unused_result)) bool
daysync_check_day(const struct rec_list *list, size_t from, cs_day day,
                  int page, struct werr *err);

#endif
