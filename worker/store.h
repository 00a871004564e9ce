/*
 * Writing a fetched day into PostgreSQL: one transaction per day and
 * source that replaces the day's rows and records its sync_state.
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

/* Replaces day's call_records and day_grades by records (distinct ids)
 * and sets its `calls` sync_state, synced as of synced_at (the moment the
 * fetch began). Nothing changes on failure. */
__attribute__((warn_unused_result)) bool
store_calls_day(PGconn *conn, const struct cs_config *cfg, cs_day day,
                const struct rec_list *records, int64_t upstream_total,
                time_t synced_at, struct werr *err);

/* Creates the session's call_window table that store_calls_merge uses;
 * once per connection. */
__attribute__((warn_unused_result)) bool store_window_table(PGconn *conn,
                                                            struct werr *err);

/* Adds records (distinct ids) to day's call_records, replacing those of
 * the same id, rebuilds the day's day_grades and sets its `calls`
 * sync_state as of synced_at, in one transaction. Nothing changes on
 * failure. */
__attribute__((warn_unused_result)) bool
store_calls_merge(PGconn *conn, const struct cs_config *cfg, cs_day day,
                  const struct rec_list *records, time_t synced_at,
                  struct werr *err);

/* Replaces day's account_stats, day_totals and task_stats and sets its
 * `stats` sync_state. Nothing changes on failure. */
__attribute__((warn_unused_result)) bool
store_stats_day(PGconn *conn, cs_day day, const struct stats_table *accounts,
                const struct stats_table *tasks, time_t synced_at,
                struct werr *err);

#endif
