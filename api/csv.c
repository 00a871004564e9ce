/* Writing day rows as CSV (see csv.h). */
#include "csv.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

static const char *const columns[] = {
    "date",           "calls_dialled", "calls_answered",  "answer_rate",
    "success_orders", "grade_9",       "grade_1",         "success_rate",
    "active_seats",   "discrepancy",   "stats_synced_at", "grades_synced_at",
    "synced",         "complete",
};

void api_csv_field(FILE *out, const char *text)
{
    if (strpbrk(text, ",\"\r\n") == NULL) {
        fputs(text, out);
        return;
    }
    fputc('"', out);
    for (const char *p = text; *p != '\0'; p++) {
        if (*p == '"')
            fputc('"', out);
        fputc(*p, out);
    }
    fputc('"', out);
}

void api_csv_header(FILE *out)
{
    size_t n = sizeof(columns) / sizeof(columns[0]);
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            fputc(',', out);
        api_csv_field(out, columns[i]);
    }
    fputs("\r\n", out);
}

static void put_count(FILE *out, bool present, long long value)
{
    if (present)
        fprintf(out, "%lld", value);
    fputc(',', out);
}

static void put_rate(FILE *out, bool present, long long num, long long den)
{
    long long h = 0;
    if (present && api_rate(num, den, &h))
        fprintf(out, "%lld.%02lld", h / 100, h % 100);
    fputc(',', out);
}

static void put_time(FILE *out, bool present, time_t t)
{
    char buf[40];
    if (present) {
        api_format_time(t, buf, sizeof(buf));
        api_csv_field(out, buf);
    }
    fputc(',', out);
}

void api_csv_day(FILE *out, const struct api_day *d)
{
    char date[CS_DATE_LEN];
    bool s = d->stats_synced, c = d->calls_synced;
    cs_date_format(d->date, date);
    api_csv_field(out, date);
    fputc(',', out);
    put_count(out, s, d->calls_dialled);
    put_count(out, s, d->calls_answered);
    put_rate(out, s, d->calls_answered, d->calls_dialled);
    put_count(out, s, d->success_orders);
    put_count(out, c, d->grade_9);
    put_count(out, c, d->grade_1);
    put_rate(out, s, d->success_orders, d->calls_answered);
    put_count(out, s, d->active_seats);
    fprintf(out, "%s,", api_day_discrepancy(d) ? "true" : "false");
    put_time(out, s, d->stats_synced_at);
    put_time(out, c, d->grades_synced_at);
    fprintf(out, "%s,%s\r\n", s && c ? "true" : "false",
            api_day_complete(d) ? "true" : "false");
}

char *api_csv_days(const struct api_day *days, size_t n, size_t *len)
{
    char *buf = NULL;
    FILE *out = open_memstream(&buf, len);
    if (out == NULL) {
        cs_error("csv buffer failed rows=%zu", n);
        return NULL;
    }
    fputs(API_CSV_BOM, out);
    api_csv_header(out);
    for (size_t i = 0; i < n; i++)
        api_csv_day(out, &days[i]);
    if (fclose(out) != 0) {
        cs_error("csv buffer failed rows=%zu", n);
        free(buf);
        return NULL;
    }
    return buf;
}
