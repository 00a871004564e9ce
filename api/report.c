/* Rates, totals, averages and the JSON of day rows (see report.h). */
#include "report.h"

#include <stdio.h>
#include <string.h>

#include "buf.h"

/* a / b in hundredths of a unit, rounded half up, for a, b >= 0. */
static long long hundredths_of(long long a, long long scale, long long b)
{
    return (a * scale * 2 + b) / (b * 2);
}

bool api_rate(long long num, long long den, long long *hundredths)
{
    if (den <= 0 || num < 0)
        return false;
    *hundredths = hundredths_of(num, 10000, den);
    return true;
}

bool api_average(long long sum, long long count, long long *hundredths)
{
    if (count <= 0 || sum < 0)
        return false;
    *hundredths = hundredths_of(sum, 100, count);
    return true;
}

bool api_source_complete(cs_day date, time_t synced_at)
{
    return synced_at >= cs_day_start(date + 1);
}

bool api_day_complete(const struct api_day *day)
{
    return day->stats_synced && day->calls_synced &&
           api_source_complete(day->date, day->stats_synced_at) &&
           api_source_complete(day->date, day->grades_synced_at);
}

bool api_day_discrepancy(const struct api_day *day)
{
    return api_day_complete(day) &&
           day->success_orders != day->grade_9 + day->grade_1;
}

/* Writes n as width digits at p. */
static char *digits(char *p, long n, int width)
{
    for (int i = width - 1; i >= 0; i--, n /= 10)
        p[i] = (char)('0' + n % 10);
    return p + width;
}

void api_format_time(time_t t, char *buf, size_t len)
{
    struct tm tm;
    localtime_r(&t, &tm);
    long off = tm.tm_gmtoff;
    char sign = off < 0 ? '-' : '+';
    off = off < 0 ? -off : off;
    if (len < 26 || tm.tm_year + 1900 < 0 || tm.tm_year + 1900 > 9999) {
        snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d%c%02ld:%02ld",
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                 tm.tm_min, tm.tm_sec, sign, off / 3600, off % 3600 / 60);
        return;
    }
    /* 2025-10-01T20:00:05+08:00, without printf: the day views write two
     * per day. */
    char *p = digits(buf, tm.tm_year + 1900, 4);
    *p++ = '-';
    p = digits(p, tm.tm_mon + 1, 2);
    *p++ = '-';
    p = digits(p, tm.tm_mday, 2);
    *p++ = 'T';
    p = digits(p, tm.tm_hour, 2);
    *p++ = ':';
    p = digits(p, tm.tm_min, 2);
    *p++ = ':';
    p = digits(p, tm.tm_sec, 2);
    *p++ = sign;
    p = digits(p, off / 3600 % 100, 2);
    *p++ = ':';
    p = digits(p, off % 3600 / 60, 2);
    *p = '\0';
}

void api_totals_compute(const struct api_day *days, size_t n, cs_day today,
                        struct api_totals *totals)
{
    *totals = (struct api_totals){.days = (int)n};
    for (size_t i = 0; i < n; i++) {
        const struct api_day *d = &days[i];
        if (d->stats_synced) {
            totals->stats_days++;
            totals->calls_dialled += d->calls_dialled;
            totals->calls_answered += d->calls_answered;
            totals->success_orders += d->success_orders;
            if (d->calls_dialled > 0 && d->date <= today)
                totals->working_days++;
        }
        if (d->calls_synced) {
            totals->calls_days++;
            totals->grade_9 += d->grade_9;
            totals->grade_1 += d->grade_1;
        }
        if (d->stats_synced && d->calls_synced)
            totals->synced_days++;
    }
}

/* A fixed-point number in hundredths, or null. */
static json_t *hundredths_json(bool present, long long hundredths)
{
    return present ? json_real((double)hundredths / 100.0) : json_null();
}

static json_t *rate_json(long long num, long long den)
{
    long long h = 0;
    bool present = api_rate(num, den, &h);
    return hundredths_json(present, h);
}

static json_t *count_json(bool present, long long value)
{
    return present ? json_integer(value) : json_null();
}

static json_t *time_json(bool present, time_t t)
{
    char buf[40];
    if (!present)
        return json_null();
    api_format_time(t, buf, sizeof(buf));
    return json_string(buf);
}

json_t *api_day_json(const struct api_day *day)
{
    char date[CS_DATE_LEN];
    bool s = day->stats_synced, c = day->calls_synced;
    cs_date_format(day->date, date);
    return json_pack(
        "{s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:b, s:o, s:o, s:b, "
        "s:b}",
        "date", date, "calls_dialled", count_json(s, day->calls_dialled),
        "calls_answered", count_json(s, day->calls_answered), "answer_rate",
        s ? rate_json(day->calls_answered, day->calls_dialled) : json_null(),
        "success_orders", count_json(s, day->success_orders), "grade_9",
        count_json(c, day->grade_9), "grade_1", count_json(c, day->grade_1),
        "success_rate",
        s ? rate_json(day->success_orders, day->calls_answered) : json_null(),
        "active_seats", count_json(s, day->active_seats), "discrepancy",
        api_day_discrepancy(day), "stats_synced_at",
        time_json(s, day->stats_synced_at), "grades_synced_at",
        time_json(c, day->grades_synced_at), "synced", s && c, "complete",
        api_day_complete(day));
}

static json_t *average_json(long long sum, int working_days)
{
    long long h = 0;
    bool present = api_average(sum, working_days, &h);
    return hundredths_json(present, h);
}

json_t *api_totals_json(const struct api_totals *t)
{
    bool s = t->stats_days > 0, c = t->calls_days > 0;
    return json_pack(
        "{s:i, s:i, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:i, s:o, s:o, s:o}",
        "days", t->days, "synced_days", t->synced_days, "calls_dialled",
        count_json(s, t->calls_dialled), "calls_answered",
        count_json(s, t->calls_answered), "answer_rate",
        rate_json(t->calls_answered, t->calls_dialled), "success_orders",
        count_json(s, t->success_orders), "grade_9", count_json(c, t->grade_9),
        "grade_1", count_json(c, t->grade_1), "success_rate",
        rate_json(t->success_orders, t->calls_answered), "working_days",
        t->working_days, "avg_calls_dialled",
        average_json(t->calls_dialled, t->working_days), "avg_calls_answered",
        average_json(t->calls_answered, t->working_days), "avg_success_orders",
        average_json(t->success_orders, t->working_days));
}

/* A writer over a buffer that remembers a failed append. */
struct writer {
    struct buf *out;
    bool ok;
};

static void put(struct writer *w, const char *text)
{
    w->ok = w->ok && buf_puts(w->out, text);
}

/* ,"key": (no comma before the first key of an object: first) */
static void key(struct writer *w, const char *name, bool first)
{
    put(w, first ? "\"" : ",\"");
    put(w, name);
    put(w, "\":");
}

/* Writes value in decimal at the end of text (of 24 bytes at least);
 * returns where the digits begin. */
static char *decimal(long long value, char *end)
{
    unsigned long long v = value < 0 ? 0ULL - (unsigned long long)value
                                     : (unsigned long long)value;
    *--end = '\0';
    do {
        *--end = (char)('0' + v % 10);
        v /= 10;
    } while (v > 0);
    if (value < 0)
        *--end = '-';
    return end;
}

static void put_count(struct writer *w, bool present, long long value)
{
    char text[24];
    put(w, present ? decimal(value, text + sizeof(text)) : "null");
}

/* As jansson prints hundredths / 100.0 with 15 significant digits: the
 * shortest decimals, and ".0" for a whole number. */
static void put_hundredths(struct writer *w, bool present, long long h)
{
    char text[24], fraction[4] = ".00";
    if (!present) {
        put(w, "null");
        return;
    }
    put(w, decimal(h / 100, text + sizeof(text)));
    fraction[1] = (char)('0' + h % 100 / 10);
    fraction[2] = (char)('0' + h % 10);
    if (h % 10 == 0)
        fraction[2] = '\0';
    put(w, fraction);
}

static void put_rate(struct writer *w, bool present, long long num,
                     long long den)
{
    long long h = 0;
    bool shown = present && api_rate(num, den, &h);
    put_hundredths(w, shown, h);
}

static void put_average(struct writer *w, long long sum, int count)
{
    long long h = 0;
    bool shown = api_average(sum, count, &h);
    put_hundredths(w, shown, h);
}

static void put_bool(struct writer *w, bool value)
{
    put(w, value ? "true" : "false");
}

static void put_time(struct writer *w, bool present, time_t t)
{
    char text[48];
    if (!present) {
        put(w, "null");
        return;
    }
    text[0] = '"';
    api_format_time(t, text + 1, sizeof(text) - 2);
    strcat(text, "\"");
    put(w, text);
}

bool api_day_write(struct buf *out, const struct api_day *day)
{
    struct writer w = {out, true};
    bool s = day->stats_synced, c = day->calls_synced;
    char date[CS_DATE_LEN];
    cs_date_format(day->date, date);
    put(&w, "{");
    key(&w, "date", true);
    put(&w, "\"");
    put(&w, date);
    put(&w, "\"");
    key(&w, "calls_dialled", false);
    put_count(&w, s, day->calls_dialled);
    key(&w, "calls_answered", false);
    put_count(&w, s, day->calls_answered);
    key(&w, "answer_rate", false);
    put_rate(&w, s, day->calls_answered, day->calls_dialled);
    key(&w, "success_orders", false);
    put_count(&w, s, day->success_orders);
    key(&w, "grade_9", false);
    put_count(&w, c, day->grade_9);
    key(&w, "grade_1", false);
    put_count(&w, c, day->grade_1);
    key(&w, "success_rate", false);
    put_rate(&w, s, day->success_orders, day->calls_answered);
    key(&w, "active_seats", false);
    put_count(&w, s, day->active_seats);
    key(&w, "discrepancy", false);
    put_bool(&w, api_day_discrepancy(day));
    key(&w, "stats_synced_at", false);
    put_time(&w, s, day->stats_synced_at);
    key(&w, "grades_synced_at", false);
    put_time(&w, c, day->grades_synced_at);
    key(&w, "synced", false);
    put_bool(&w, s && c);
    key(&w, "complete", false);
    put_bool(&w, api_day_complete(day));
    put(&w, "}");
    return w.ok;
}

bool api_totals_write(struct buf *out, const struct api_totals *t)
{
    struct writer w = {out, true};
    bool s = t->stats_days > 0, c = t->calls_days > 0;
    put(&w, "{");
    key(&w, "days", true);
    put_count(&w, true, t->days);
    key(&w, "synced_days", false);
    put_count(&w, true, t->synced_days);
    key(&w, "calls_dialled", false);
    put_count(&w, s, t->calls_dialled);
    key(&w, "calls_answered", false);
    put_count(&w, s, t->calls_answered);
    key(&w, "answer_rate", false);
    put_rate(&w, true, t->calls_answered, t->calls_dialled);
    key(&w, "success_orders", false);
    put_count(&w, s, t->success_orders);
    key(&w, "grade_9", false);
    put_count(&w, c, t->grade_9);
    key(&w, "grade_1", false);
    put_count(&w, c, t->grade_1);
    key(&w, "success_rate", false);
    put_rate(&w, true, t->success_orders, t->calls_answered);
    key(&w, "working_days", false);
    put_count(&w, true, t->working_days);
    key(&w, "avg_calls_dialled", false);
    put_average(&w, t->calls_dialled, t->working_days);
    key(&w, "avg_calls_answered", false);
    put_average(&w, t->calls_answered, t->working_days);
    key(&w, "avg_success_orders", false);
    put_average(&w, t->success_orders, t->working_days);
    put(&w, "}");
    return w.ok;
}
