/* Checking the API's query parameters (days, ranges, months). */
#include "params.h"

#include <civetweb.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#define VALUE_MAX 64 /* longer values are malformed whatever they hold */

void api_error_set(struct api_error *err, int status, const char *code,
                   const char *fmt, ...)
{
    va_list ap;
    err->status = status;
    err->code = code;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    va_end(ap);
}

void api_quote_value(const char *text, char *buf, size_t len)
{
    size_t n = 0;
    for (; text[n] != '\0' && n < 40 && n + 1 < len; n++) {
        unsigned char c = (unsigned char)text[n];
        buf[n] = c >= 0x20 && c < 0x7f ? (char)c : '?';
    }
    if (text[n] != '\0' && n + 4 < len) {
        memcpy(buf + n, "...", 3);
        n += 3;
    }
    buf[n] = '\0';
}

/* Fetches a parameter's decoded value; false with err set when it is
 * absent, empty or too long to be what we expect. */
static bool get_value(const char *query, const char *name, const char *what,
                      char *value, struct api_error *err)
{
    int n =
        query ? mg_get_var(query, strlen(query), name, value, VALUE_MAX) : -1;
    if (n == -2) {
        api_error_set(err, 400, "invalid_parameter",
                      "parameter \"%s\" is too long; expected %s", name, what);
        return false;
    }
    if (n <= 0) {
        api_error_set(err, 400, "missing_parameter",
                      "missing parameter \"%s\"; expected %s", name, what);
        return false;
    }
    if (strlen(value) != (size_t)n) {
        api_error_set(err, 400, "invalid_parameter",
                      "parameter \"%s\" holds a NUL byte (%%00); expected %s",
                      name, what);
        return false;
    }
    char second[VALUE_MAX];
    if (mg_get_var2(query, strlen(query), name, second, sizeof(second), 1) !=
        -1) {
        api_error_set(err, 400, "invalid_parameter",
                      "parameter \"%s\" is given more than once", name);
        return false;
    }
    return true;
}

/* True when text has the shape NNNN-NN-NN, whether or not it exists. */
static bool date_shaped(const char *text)
{
    static const char shape[] = "NNNN-NN-NN";
    if (strlen(text) != sizeof(shape) - 1)
        return false;
    for (size_t i = 0; shape[i] != '\0'; i++) {
        bool digit = isdigit((unsigned char)text[i]) != 0;
        if (shape[i] == 'N' ? !digit : text[i] != shape[i])
            return false;
    }
    return true;
}

bool api_param_date(const char *query, const char *name, cs_day *day,
                    struct api_error *err)
{
    char value[VALUE_MAX], quoted[48];
    if (!get_value(query, name, "a day as YYYY-MM-DD", value, err))
        return false;
    if (cs_date_parse(value, day))
        return true;
    api_quote_value(value, quoted, sizeof(quoted));
    if (date_shaped(value) && strncmp(value, "1900", 4) < 0)
        api_error_set(err, 400, "invalid_date",
                      "%s \"%s\" is before 1900-01-01, the first day served",
                      name, quoted);
    else if (date_shaped(value))
        api_error_set(err, 400, "invalid_date",
                      "%s \"%s\" is not a day of the calendar", name, quoted);
    else
        api_error_set(err, 400, "invalid_date",
                      "%s \"%s\" is not a day as YYYY-MM-DD", name, quoted);
    return false;
}

bool api_param_range(const char *query, cs_day *from, cs_day *to,
                     struct api_error *err)
{
    if (!api_param_date(query, "from", from, err) ||
        !api_param_date(query, "to", to, err))
        return false;
    char a[CS_DATE_LEN], b[CS_DATE_LEN];
    cs_date_format(*from, a);
    cs_date_format(*to, b);
    if (*from > *to) {
        api_error_set(err, 400, "invalid_range",
                      "from \"%s\" is after to \"%s\"", a, b);
        return false;
    }
    int days = *to - *from + 1;
    if (days > API_MAX_RANGE_DAYS) {
        api_error_set(err, 400, "range_too_long",
                      "from \"%s\" to \"%s\" is %d days; at most %d are "
                      "served at once",
                      a, b, days, API_MAX_RANGE_DAYS);
        return false;
    }
    return true;
}

bool api_param_month(const char *query, cs_day *first_day,
                     struct api_error *err)
{
    char value[VALUE_MAX], quoted[48];
    if (!get_value(query, "month", "a month as YYYY-MM", value, err))
        return false;
    if (cs_month_parse(value, first_day))
        return true;
    api_quote_value(value, quoted, sizeof(quoted));
    api_error_set(
        err, 400, "invalid_month",
        "month \"%s\" is not a month as YYYY-MM (01 to 12, from 1900)", quoted);
    return false;
}
