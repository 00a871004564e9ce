/*
 * JSON output of the simulator: a growing text buffer with JSON helpers,
 * and the call records in the platform's two shapes.
 */
#ifndef SIM_RENDER_H
#define SIM_RENDER_H

#include <stddef.h>

#include "model.h"

struct sim_buf {
    char *data; /* always terminated once anything was added */
    size_t len, cap;
};

void sim_buf_free(struct sim_buf *b);
void sim_buf_add(struct sim_buf *b, const char *s, size_t n);
void sim_buf_puts(struct sim_buf *b, const char *s);
void sim_buf_int(struct sim_buf *b, long long v);
/* The value as a JSON string, or null when s is NULL. */
void sim_buf_str(struct sim_buf *b, const char *s);
void sim_buf_printf(struct sim_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* "YYYY-MM-DD HH:MM:SS" of t in UTC+8; buf holds 20 bytes. */
void sim_format_time(time_t t, char *buf);

#define SIM_HTTP_DATE_LEN 30

/* t as an HTTP-date (RFC 7231's IMF-fixdate, always GMT), such as
 * "Sun, 06 Nov 1994 08:49:37 GMT"; buf holds SIM_HTTP_DATE_LEN bytes. */
void sim_http_date(time_t t, char *buf);

/* The customer's (fake) 11-digit number of record i; buf holds 12. */
void sim_record_phone(const struct sim_model *m, const struct sim_day *d, int i,
                      char *buf);

/* Appends record i of d as a JSON object. */
void sim_render_record(struct sim_buf *b, const struct sim_model *m,
                       const struct sim_day *d, int i);

#endif
