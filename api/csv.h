/*
 * The CSV form of day rows (RFC 4180: comma-separated, CRLF line ends,
 * fields quoted when they hold a comma, a quote or a line break). Every
 * document starts with a UTF-8 byte order mark, so that Excel reads it as
 * UTF-8 and shows Chinese labels.
 */
#ifndef API_CSV_H
#define API_CSV_H

#include <stdio.h>

#include "report.h"

/* The UTF-8 byte order mark every CSV document starts with. */
#define API_CSV_BOM "\xEF\xBB\xBF"

/* Writes text as one field, quoted and with quotes doubled if needed. */
void api_csv_field(FILE *out, const char *text);

/* The header line: the same columns as a JSON day row. */
void api_csv_header(FILE *out);

/* One line for a day; figures of a source not synced are empty. */
void api_csv_day(FILE *out, const struct api_day *day);

/* The whole document for n days: the byte order mark, the header, then a
 * line per day, in a buffer of *len bytes the caller frees; NULL (logged)
 * when out of memory. */
char *api_csv_days(const struct api_day *days, size_t n, size_t *len);

#endif
