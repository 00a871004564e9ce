/*
 * The figures of a business day as the API reports them: rates, month
 * totals and averages, and their JSON form. Pure computation, no I/O.
 */
#ifndef API_REPORT_H
#define API_REPORT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "date.h"

/* One business day as read from the database. The stats figures mean
 * something only when stats_synced, the grade figures when calls_synced. */
struct api_day {
    cs_day date;
    bool stats_synced;
    bool calls_synced;
    time_t stats_synced_at;
    time_t grades_synced_at;
    long long calls_dialled;
    long long calls_answered;
    long long success_orders;
    long long active_seats;
    long long grade_9;
    long long grade_1;
    long long records; /* the day's call records, of every grade */
};

/* Sums over a list of days: the stats figures over the days whose stats
 * are synced, the grade figures over the days whose calls are synced; in
 * JSON a sum over no synced day is null, not 0. */
struct api_totals {
    int days;
    int synced_days;  /* days with both sources synced */
    int stats_days;   /* days whose statistics are synced */
    int calls_days;   /* days whose call records are synced */
    int working_days; /* days up to today with calls_dialled > 0 */
    long long calls_dialled;
    long long calls_answered;
    long long success_orders;
    long long grade_9;
    long long grade_1;
};

/* The JSON encoding flags of every API body (rates print as 18.23). */
#define API_JSON_FLAGS (JSON_COMPACT | JSON_REAL_PRECISION(15))

/* num / den as a percentage in hundredths (5290/29014 -> 1823, that is
 * 18.23%), rounded half up. False when den is 0: the rate is null. */
bool api_rate(long long num, long long den, long long *hundredths);

/* sum / count in hundredths, rounded half up; false when count is 0. */
bool api_average(long long sum, long long count, long long *hundredths);

/* True when a source of day, synced at synced_at, was fetched after the
 * day had ended, so that it can no longer change. */
bool api_source_complete(cs_day date, time_t synced_at);

/* True when both sources of the day were synced after the day had ended,
 * so that neither can still change. */
bool api_day_complete(const struct api_day *day);

/* True when the day is complete and the success orders of the stats
 * differ from the 9-yuan and 1-yuan records of the call records. A day
 * still in progress is never flagged: its two sources are refreshed at
 * different times, and one runs ahead of the other. */
bool api_day_discrepancy(const struct api_day *day);

/* Writes t as ISO 8601 with the business zone's offset
 * ("2025-10-01T20:00:05+08:00") into buf of at least 32 bytes. */
void api_format_time(time_t t, char *buf, size_t len);

/* Adds up days; working days count only the days up to today. */
void api_totals_compute(const struct api_day *days, size_t n, cs_day today,
                        struct api_totals *totals);

/* A day row: date, the figures, rates, discrepancy, sync times, synced.
 * Figures of a source not synced are null. NULL only when out of memory. */
json_t *api_day_json(const struct api_day *day);

/* The totals object: sums, rates of the sums, working days, averages. */
json_t *api_totals_json(const struct api_totals *totals);

/*
 * The same two objects written straight into a buffer, byte for byte what
 * json_dumps gives of the functions above with API_JSON_FLAGS, at a
 * fraction of the cost: the month and daily views are built this way.
 * False when memory ran out.
 */
struct buf;
__attribute__((warn_unused_result)) bool
api_day_write(struct buf *out, const struct api_day *day);
__attribute__((warn_unused_result)) bool
api_totals_write(struct buf *out, const struct api_totals *totals);

#endif
