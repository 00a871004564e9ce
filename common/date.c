/* Calendar arithmetic for business days, and the business time zone. */
#include "date.h"

#include <ctype.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Days from 1970-01-01 to the given proleptic Gregorian date. */
cs_day cs_date_from_ymd(int year, int month, int mday)
{
    int y = month <= 2 ? year - 1 : year;
    int era = (y >= 0 ? y : y - 399) / 400;
    int yoe = y - era * 400;
    int doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + mday - 1;
    int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void cs_date_to_ymd(cs_day day, int *year, int *month, int *mday)
{
    int z = day + 719468;
    int era = (z >= 0 ? z : z - 146096) / 146097;
    int doe = z - era * 146097;
    int yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int mp = (5 * doy + 2) / 153;
    int m = mp < 10 ? mp + 3 : mp - 9;
    *mday = doy - (153 * mp + 2) / 5 + 1;
    *month = m;
    *year = yoe + era * 400 + (m <= 2);
}

static int month_length(int year, int month)
{
    static const int lengths[] = {31, 28, 31, 30, 31, 30,
                                  31, 31, 30, 31, 30, 31};
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return month == 2 && leap ? 29 : lengths[month - 1];
}

int cs_days_in_month(cs_day day)
{
    int y, m, d;
    cs_date_to_ymd(day, &y, &m, &d);
    return month_length(y, m);
}

int cs_date_weekday(cs_day day)
{
    /* 1970-01-01 was a Thursday. */
    int w = (day + 4) % 7;
    return w < 0 ? w + 7 : w;
}

/* Reads exactly n decimal digits. */
static bool read_digits(const char *s, int n, int *value)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *value = v;
    return true;
}

bool cs_month_parse(const char *text, cs_day *first_day)
{
    int y, m;
    if (strlen(text) != 7 || text[4] != '-' || !read_digits(text, 4, &y) ||
        !read_digits(text + 5, 2, &m))
        return false;
    if (y < 1900 || m < 1 || m > 12)
        return false;
    *first_day = cs_date_from_ymd(y, m, 1);
    return true;
}

bool cs_date_parse(const char *text, cs_day *day)
{
    int y, m, d;
    if (strlen(text) != 10 || text[4] != '-' || text[7] != '-' ||
        !read_digits(text, 4, &y) || !read_digits(text + 5, 2, &m) ||
        !read_digits(text + 8, 2, &d))
        return false;
    if (y < 1900 || m < 1 || m > 12 || d < 1 || d > month_length(y, m))
        return false;
    *day = cs_date_from_ymd(y, m, d);
    return true;
}

void cs_date_format(cs_day day, char *buf)
{
    int y, m, d;
    cs_date_to_ymd(day, &y, &m, &d);
    unsigned uy = (unsigned)y % 10000, um = (unsigned)m % 100,
             ud = (unsigned)d % 100;
    snprintf(buf, CS_DATE_LEN, "%04u-%02u-%02u", uy, um, ud);
}

/* Counts the zones applied, so that a start of another zone is not used. */
static atomic_uint zone_changes = 1;

bool cs_tz_apply(const char *zone, char *err, size_t errlen)
{
    if (zone[0] == '\0' || zone[0] == '/' || strstr(zone, "..")) {
        snprintf(err, errlen, "\"%s\" is not a time zone name", zone);
        return false;
    }
    const char *dir = getenv("TZDIR");
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir ? dir : "/usr/share/zoneinfo",
             zone);
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "unknown time zone \"%s\" (no file %s)", zone,
                 path);
        return false;
    }
    setenv("TZ", zone, 1);
    tzset();
    atomic_fetch_add(&zone_changes, 1);
    return true;
}

cs_day cs_day_of(time_t t)
{
    struct tm tm;
    localtime_r(&t, &tm);
    return cs_date_from_ymd(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}

/* Day starts already computed, per thread: mktime reads the zone again on
 * every call, and the API asks the same few dozen days over and over. The
 * zone is set once at start (cs_tz_apply), so a start never changes. */
#define DAY_STARTS 64
static _Thread_local struct {
    cs_day day;
    time_t start;
    unsigned zone; /* zone_changes when computed; 0: never */
} day_starts[DAY_STARTS];

time_t cs_day_start(cs_day day)
{
    unsigned slot = (unsigned)day % DAY_STARTS;
    unsigned zone = atomic_load(&zone_changes);
    if (day_starts[slot].zone == zone && day_starts[slot].day == day)
        return day_starts[slot].start;
    int y, m, d;
    cs_date_to_ymd(day, &y, &m, &d);
    struct tm tm = {
        .tm_year = y - 1900, .tm_mon = m - 1, .tm_mday = d, .tm_isdst = -1};
    time_t start = mktime(&tm);
    day_starts[slot].day = day;
    day_starts[slot].start = start;
    day_starts[slot].zone = zone;
    return start;
}

cs_day cs_today(void)
{
    return cs_day_of(time(NULL));
}
