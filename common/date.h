/*
 * Business days: a calendar date as a day number (days since 1970-01-01),
 * parsed and printed as YYYY-MM-DD, and "today" in the business time zone.
 */
#ifndef CS_DATE_H
#define CS_DATE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

typedef int cs_day;

#define CS_DATE_LEN 11 /* "YYYY-MM-DD" and its terminator */

/* Parses exactly "YYYY-MM-DD" of a real calendar date (years 1900-9999);
 * false for anything else, "2025-02-30" and "2025-1-5" included. */
bool cs_date_parse(const char *text, cs_day *day);

/* Parses exactly "YYYY-MM" (a month); sets the month's first day. */
bool cs_month_parse(const char *text, cs_day *first_day);

/* Writes "YYYY-MM-DD" into buf, which holds CS_DATE_LEN bytes. */
void cs_date_format(cs_day day, char *buf);

cs_day cs_date_from_ymd(int year, int month, int mday);
void cs_date_to_ymd(cs_day day, int *year, int *month, int *mday);

/* The number of days of the month that holds day. */
int cs_days_in_month(cs_day day);

/* 0 for Sunday .. 6 for Saturday. */
int cs_date_weekday(cs_day day);

/*
 * Makes zone (an IANA name such as "Asia/Shanghai") the process's time zone
 * for every local-time computation that follows. False, with the reason in
 * err, when the zone has no file in the system's zone database (the C
 * library would otherwise fall back to UTC without a word).
 */
bool cs_tz_apply(const char *zone, char *err, size_t errlen);

/* The business day that holds the instant t, in the applied zone. */
cs_day cs_day_of(time_t t);

/* The instant the business day begins (its first second, in the applied
 * zone); the day ends where day + 1 begins. */
time_t cs_day_start(cs_day day);

/* Today in the applied zone. */
cs_day cs_today(void);

#endif
