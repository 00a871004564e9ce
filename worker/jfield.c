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

void jf_format_real(double value, char *out, size_t outlen)
{
    /* 17 digits read back as the same double; jansson then makes sure a
     * reader sees a real (".0" when there is neither point nor exponent)
     * and writes the exponent without '+' or leading zeros. */
    char text[40];
    snprintf(text, sizeof(text), "%.17g", value);
    const char *e = strchr(text, 'e');
    if (e == NULL) {
        snprintf(out, outlen, "%s%s", text, strchr(text, '.') ? "" : ".0");
        return;
    }
    bool negative = e[1] == '-';
    const char *digits = e + 1 + (e[1] == '-' || e[1] == '+');
    while (digits[0] == '0' && digits[1] != '\0')
        digits++;
    snprintf(out, outlen, "%.*se%s%s", (int)(e - text), text,
             negative ? "-" : "", digits);
}

/* What jf_describe shows: a string in quotes, anything else as compact
 * JSON, cut at 60 bytes. */
static void describe_value(const struct jf_value *v, char *out, size_t outlen)
{
    char number[40];
    switch (v->kind) {
    case JF_KIND_STRING:
        snprintf(out, outlen, "\"%.60s\"", v->text);
        return;
    case JF_KIND_INTEGER:
        snprintf(out, outlen, "%lld", (long long)v->integer);
        return;
    case JF_KIND_REAL:
        jf_format_real(v->real, number, sizeof(number));
        snprintf(out, outlen, "%.60s", number);
        return;
    case JF_KIND_BOOL:
        snprintf(out, outlen, "%s", v->truth ? "true" : "false");
        return;
    case JF_KIND_NULL:
        snprintf(out, outlen, "null");
        return;
    case JF_KIND_COMPOUND:
        snprintf(out, outlen, "%.60s", v->text);
        return;
    case JF_KIND_MISSING:
        break;
    }
    snprintf(out, outlen, "?");
}

void jf_value_of(const json_t *value, struct jf_value *out,
                 char dump[JF_DUMP_LEN])
{
    memset(out, 0, sizeof(*out));
    switch (value ? json_typeof(value) : JSON_NULL) {
    case JSON_NULL:
        out->kind = value ? JF_KIND_NULL : JF_KIND_MISSING;
        return;
    case JSON_TRUE:
    case JSON_FALSE:
        out->kind = JF_KIND_BOOL;
        out->truth = json_is_true(value);
        return;
    case JSON_INTEGER:
        out->kind = JF_KIND_INTEGER;
        out->integer = (int64_t)json_integer_value(value);
        return;
    case JSON_REAL:
        out->kind = JF_KIND_REAL;
        out->real = json_real_value(value);
        return;
    case JSON_STRING:
        out->kind = JF_KIND_STRING;
        out->text = json_string_value(value);
        return;
    case JSON_OBJECT:
    case JSON_ARRAY:
        break;
    }
    char *text = json_dumps(value, JSON_ENCODE_ANY | JSON_COMPACT);
    snprintf(dump, JF_DUMP_LEN, "%s", text ? text : "?");
    free(text);
    out->kind = JF_KIND_COMPOUND;
    out->text = dump;
}

void jf_describe(const json_t *value, char *out, size_t outlen)
{
    struct jf_value v;
    char dump[JF_DUMP_LEN];
    jf_value_of(value, &v, dump);
    describe_value(&v, out, outlen);
}

static enum jf_status bad_value(const struct jf_value *value, const char *field,
                                const char *expected, struct werr *why)
{
    char shown[80];
    describe_value(value, shown, sizeof(shown));
    werr_keep(why, "bad upstream value field=%s value=%s expected=\"%s\"",
              field, shown, expected);
    return JF_BAD;
}

/* The jansson readers log what the jf_value readers only keep. */
static enum jf_status reported(enum jf_status st, const struct werr *why,
                               struct werr *err)
{
    if (st == JF_BAD)
        werr_set(err, "%s", why->msg);
    return st;
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

enum jf_status jf_int_value(const struct jf_value *value, const char *field,
                            int64_t *out, struct werr *why)
{
    switch (value->kind) {
    case JF_KIND_MISSING:
    case JF_KIND_NULL:
        return JF_ABSENT;
    case JF_KIND_INTEGER:
        *out = value->integer;
        return JF_OK;
    case JF_KIND_REAL: {
        double d = value->real;
        if (d != floor(d) || fabs(d) > 9e15)
            break;
        *out = (int64_t)d;
        return JF_OK;
    }
    case JF_KIND_STRING:
        if (is_blank(value->text))
            return JF_ABSENT;
        if (parse_decimal(value->text, out))
            return JF_OK;
        break;
    case JF_KIND_BOOL:
    case JF_KIND_COMPOUND:
        break;
    }
    return bad_value(value, field, "a whole number", why);
}

enum jf_status jf_int(const json_t *value, const char *field, int64_t *out,
                      struct werr *err)
{
    struct jf_value v;
    char dump[JF_DUMP_LEN];
    struct werr why;
    werr_clear(&why);
    jf_value_of(value, &v, dump);
    return reported(jf_int_value(&v, field, out, &why), &why, err);
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

/* v as "%lld" writes it, at the end of text (size bytes, 21 or more):
 * snprintf would cost more than the rest of reading a record. */
static const char *decimal(int64_t v, char *text, size_t size)
{
    char *p = text + size;
    uint64_t magnitude = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    *--p = '\0';
    do {
        *--p = (char)('0' + magnitude % 10);
        magnitude /= 10;
    } while (magnitude > 0);
    if (v < 0)
        *--p = '-';
    return p;
}

enum jf_status jf_text_value(const struct jf_value *value, const char *field,
                             struct buf *out, struct werr *why)
{
    char number[32];
    const char *text;
    switch (value->kind) {
    case JF_KIND_MISSING:
    case JF_KIND_NULL:
        return JF_ABSENT;
    case JF_KIND_STRING:
        text = value->text;
        break;
    case JF_KIND_INTEGER:
        text = decimal(value->integer, number, sizeof(number));
        break;
    case JF_KIND_REAL:
        snprintf(number, sizeof(number), "%.17g", value->real);
        text = number;
        break;
    case JF_KIND_BOOL:
        text = value->truth ? "true" : "false";
        break;
    default:
        return bad_value(value, field, "text or a number", why);
    }
    if (!buf_append(out, text, strlen(text) + 1)) {
        werr_keep(why, "out of memory reading field=%s", field);
        return JF_BAD;
    }
    return JF_OK;
}

enum jf_status jf_text(const json_t *value, const char *field, struct buf *out,
                       struct werr *err)
{
    struct jf_value v;
    char dump[JF_DUMP_LEN];
    struct werr why;
    werr_clear(&why);
    jf_value_of(value, &v, dump);
    return reported(jf_text_value(&v, field, out, &why), &why, err);
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

enum jf_status jf_time_value(const struct jf_value *value, const char *field,
                             int64_t *out, struct werr *why)
{
    if (value->kind == JF_KIND_STRING) {
        const char *s = value->text;
        if (jf_parse_platform_time(s, out))
            return JF_OK;
        if (!is_blank(s) && !parse_decimal(s, out))
            return bad_value(value, field,
                             "YYYY-MM-DD HH:MM:SS or Unix seconds", why);
    }
    enum jf_status st = jf_int_value(value, field, out, why);
    if (st == JF_OK && *out == 0)
        return JF_ABSENT;
    return st;
}

enum jf_status jf_time(const json_t *value, const char *field, int64_t *out,
                       struct werr *err)
{
    struct jf_value v;
    char dump[JF_DUMP_LEN];
    struct werr why;
    werr_clear(&why);
    jf_value_of(value, &v, dump);
    return reported(jf_time_value(&v, field, out, &why), &why, err);
}
