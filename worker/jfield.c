/* Tolerant readers of the upstream's JSON fields (see jfield.h). */
#include "jfield.h"

#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "date.h"

#define PLATFORM_UTC_OFFSET (8 * 3600)

void jf_describe(const json_t *value, char *out, size_t outlen)
{
    if (json_is_string(value)) {
        snprintf(out, outlen, "\"%.60s\"", json_string_value(value));
        return;
    }
    char *text = json_dumps(value, JSON_ENCODE_ANY | JSON_COMPACT);
    snprintf(out, outlen, "%.60s", text ? text : "?");
    free(text);
}

static enum jf_status bad_value(const json_t *value, const char *field,
                                const char *expected, struct werr *err)
{
    char shown[80];
    jf_describe(value, shown, sizeof(shown));
    werr_set(err, "bad upstream value field=%s value=%s expected=\"%s\"", field,
             shown, expected);
    return JF_BAD;
}

static bool is_blank(const char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    return *s == '\0';
}

/* Decimal digits with an optional sign and spaces around, and an optional
 * fraction of zeros ("12", " -3 ", "7.00"). */
static bool parse_decimal(const char *s, int64_t *out)
{
    while (isspace((unsigned char)*s))
        s++;
    bool negative = *s == '-';
    if (*s == '-' || *s == '+')
        s++;
    if (!isdigit((unsigned char)*s))
        return false;
    int64_t v = 0;
    for (; isdigit((unsigned char)*s); s++) {
        if (v > (INT64_MAX - 9) / 10)
            return false;
        v = v * 10 + (*s - '0');
    }
    if (*s == '.') {
        for (s++; *s == '0'; s++)
            ;
    }
    while (isspace((unsigned char)*s))
        s++;
    if (*s != '\0')
        return false;
    *out = negative ? -v : v;
    return true;
}

enum jf_status jf_int(const json_t *value, const char *field, int64_t *out,
                      struct werr *err)
{
    if (value == NULL || json_is_null(value))
        return JF_ABSENT;
    if (json_is_integer(value)) {
        *out = (int64_t)json_integer_value(value);
        return JF_OK;
    }
    if (json_is_real(value)) {
        double d = json_real_value(value);
        if (d != floor(d) || fabs(d) > 9e15)
            return bad_value(value, field, "a whole number", err);
        *out = (int64_t)d;
        return JF_OK;
    }
    if (json_is_string(value)) {
        const char *s = json_string_value(value);
        if (is_blank(s))
            return JF_ABSENT;
        if (parse_decimal(s, out))
            return JF_OK;
    }
    return bad_value(value, field, "a whole number", err);
}

bool jf_int_required(const json_t *obj, const char *field, int64_t *out,
                     struct werr *err)
{
    enum jf_status st = jf_int(json_object_get(obj, field), field, out, err);
    if (st == JF_ABSENT) {
        werr_set(err, "missing upstream value field=%s", field);
        return false;
    }
    return st == JF_OK;
}

enum jf_status jf_text(const json_t *value, const char *field, struct buf *out,
                       struct werr *err)
{
    char number[32];
    const char *text;
    if (value == NULL || json_is_null(value))
        return JF_ABSENT;
    if (json_is_string(value)) {
        text = json_string_value(value);
    } else if (json_is_integer(value)) {
        snprintf(number, sizeof(number), "%" JSON_INTEGER_FORMAT,
                 json_integer_value(value));
        text = number;
    } else if (json_is_real(value)) {
        snprintf(number, sizeof(number), "%.17g", json_real_value(value));
        text = number;
    } else if (json_is_boolean(value)) {
        text = json_is_true(value) ? "true" : "false";
    } else {
        return bad_value(value, field, "text or a number", err);
    }
    if (!buf_append(out, text, strlen(text) + 1)) {
        werr_set(err, "out of memory reading field=%s", field);
        return JF_BAD;
    }
    return JF_OK;
}

bool jf_parse_platform_time(const char *text, int64_t *out)
{
    static const char shape[] = "dddd-dd-dd dd:dd:dd";
    if (strlen(text) != sizeof(shape) - 1)
        return false;
    for (size_t i = 0; shape[i] != '\0'; i++) {
        bool ok = shape[i] == 'd' ? isdigit((unsigned char)text[i]) != 0
                                  : text[i] == shape[i];
        if (!ok)
            return false;
    }
    char date[CS_DATE_LEN];
    snprintf(date, sizeof(date), "%.10s", text);
    int h = atoi(text + 11), mi = atoi(text + 14), s = atoi(text + 17);
    cs_day day;
    if (!cs_date_parse(date, &day) || h > 23 || mi > 59 || s > 60)
        return false;
    *out = (int64_t)day * 86400 + h * 3600 + mi * 60 + s - PLATFORM_UTC_OFFSET;
    return true;
}

enum jf_status jf_time(const json_t *value, const char *field, int64_t *out,
                       struct werr *err)
{
    if (json_is_string(value)) {
        const char *s = json_string_value(value);
        if (jf_parse_platform_time(s, out))
            return JF_OK;
        if (!is_blank(s) && !parse_decimal(s, out))
            return bad_value(value, field,
                             "YYYY-MM-DD HH:MM:SS or Unix seconds", err);
    }
    enum jf_status st = jf_int(value, field, out, err);
    if (st == JF_OK && *out == 0)
        return JF_ABSENT;
    return st;
}
