/*
 * Writing a fetched day into PostgreSQL: one transaction per day and
 * source that replaces the day's rows, records its sync_state and, last,
 * bumps the data's version for readers.
 */
#ifndef WK_STORE_H
#define WK_STORE_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "buf.h"
#include "config.h"
#include "date.h"
#include "records.h"
#include "stats.h"
#include "werr.h"

/* Appends text to out as one field of COPY's text format: \N for NULL,
 * backslash, tab, newline and carriage return escaped. */
__attribute__((warn_unused_result)) bool store_copy_field(struct buf *out,
                                                          const char *text);

/* Appends rec as one call_records line of COPY text format (ending in a
 * newline), its grade class computed from cfg's grade lists. */
__attribute__((warn_unused_result)) bool
store_copy_record(struct buf *out, const struct cs_config *cfg,
                  const char *stat_date, const struct rec_record *rec);

/*
 * A day's call records are written as they arrive, inside the day's
 * transaction: store_calls_begin opens it (and a COPY), store_calls_put
 * adds a page, store_calls_commit makes the day visible at once, and
 * store_calls_abandon leaves the old day as it was. A day of any size thus
 * needs no more memory than a few pages. A full day replaces the old one;
 * a merge (today's window) adds to it through the session's call_stage,
 * replacing records of the same id.
 */

/* Creates the session's call_stage; once per connection. */
__attribute__((warn_unused_result)) bool store_stage_table(PGconn *conn,
                                                           struct werr *err);

/* Opens day's transaction, waits for its lock, and opens the COPY; *gen
 * is the generation the new rows take (a replacement writes beside the
 * old rows, then deletes them). */
__attribute__((warn_unused_result)) bool store_calls_begin(PGconn *conn,
                                                           cs_day day,
                                                           bool merge, int *gen,
                                                           struct werr *err);

/* Copies records of date (distinct ids, none already put) as gen. */
__attribute__((warn_unused_result)) bool
store_calls_put(PGconn *conn, const struct cs_config *cfg, const char *date,
                int gen, const struct rec_list *records, struct werr *err);

/* Ends the COPY, rebuilds the day's day_grades and day_breakdown, sets
 * its `calls` sync_state as of synced_at (when the fetch began), bumps
 * data_version (with NOTIFY callstats_data) and commits; *written is the
 * day's records. On failure the transaction is rolled back, and neither
 * the day nor the version changes. */
__attribute__((warn_unused_result)) bool
store_calls_commit(PGconn *conn, cs_day day, bool merge, int gen,
                   int64_t upstream_total, time_t synced_at, int64_t *written,
                   struct werr *err);

/* Abandons the COPY and rolls the day's transaction back. */
void store_calls_abandon(PGconn *conn);

/* Replaces day by records held in memory (distinct ids). */
__attribute__((warn_unused_result)) bool
store_calls_day(PGconn *conn, const struct cs_config *cfg, cs_day day,
                const struct rec_list *records, int64_t upstream_total,
                time_t synced_at, struct werr *err);

/* Replaces day's account_stats (with each account's platform id),
 * day_totals and task_stats (with each task's name), sets its `stats`
 * sync_state and bumps data_version. Nothing changes on failure. */
__attribute__((warn_unused_result)) bool
store_stats_day(PGconn *conn, cs_day day, const struct stats_table *accounts,
                const struct stats_table *tasks, time_t synced_at,
                struct werr *err);

#endif
