/*
 * Query-string parameters of the API: a day, a range of days or a month,
 * checked, with an error a person can act on when one is wrong.
 */
#ifndef API_PARAMS_H
#define API_PARAMS_H

#include <stdarg.h>
#include <stdbool.h>

#include "date.h"

/* The longest range /api/stats/daily serves, in days, both ends included. */
#define API_MAX_RANGE_DAYS 366

/* The longest query string read, in bytes. */
#define API_MAX_QUERY 1024

/* What went wrong with a request: the HTTP status, a machine word for
 * programs and a sentence for a person that names the bad value. */
struct api_error {
    int status;
    const char *code;
    char message[256];
};

void api_error_set(struct api_error *err, int status, const char *code,
                   const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/*
 * Copies text into buf (of len bytes) for quoting in a message: at most 40
 * characters, anything but printable ASCII shown as '?', so the message is
 * always valid UTF-8 and one line.
 */
void api_quote_value(const char *text, char *buf, size_t len);

/* Reads parameter name of query (may be NULL) as a day YYYY-MM-DD.
 * False with err set (400) when it is missing, malformed or impossible. */
__attribute__((warn_unused_result)) bool api_param_date(const char *query,
                                                        const char *name,
                                                        cs_day *day,
                                                        struct api_error *err);

/* Reads "from" and "to": both days, from <= to, at most
 * API_MAX_RANGE_DAYS days. False with err set (400) otherwise. */
__attribute__((warn_unused_result)) bool api_param_range(const char *query,
                                                         cs_day *from,
                                                         cs_day *to,
                                                         struct api_error *err);

/* Reads "month" as YYYY-MM; sets the month's first day. */
__attribute__((warn_unused_result)) bool
api_param_month(const char *query, cs_day *first_day, struct api_error *err);

#endif
