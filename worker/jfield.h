/*
 * Reading the upstream's JSON fields, which may arrive as numbers or as
 * numeric strings: whole numbers, text and the platform's date-times.
 */
#ifndef WK_JFIELD_H
#define WK_JFIELD_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "werr.h"

/* The outcome of reading an optional field. */
enum jf_status {
    JF_OK,     /* a value was read */
    JF_ABSENT, /* missing, null or an empty string */
    JF_BAD,    /* present but not of the expected kind (already reported) */
};

/* The kinds of JSON value the readers tell apart. */
enum jf_kind {
    JF_KIND_MISSING, /* no such member */
    JF_KIND_NULL,
    JF_KIND_BOOL,
    JF_KIND_INTEGER,
    JF_KIND_REAL,
    JF_KIND_STRING,
    JF_KIND_COMPOUND, /* an object or an array */
};

/* Room for the start of a compound value's JSON: reports show 60 bytes. */
#define JF_DUMP_LEN 64

/*
 * One JSON value as the readers see it, whichever parser read it: the
 * jansson functions below and the streaming parser of cdrpage.h apply the
 * same rules through it.
 */
struct jf_value {
    enum jf_kind kind;
    bool truth;       /* JF_KIND_BOOL */
    int64_t integer;  /* JF_KIND_INTEGER */
    double real;      /* JF_KIND_REAL */
    const char *text; /* JF_KIND_STRING: the string; JF_KIND_COMPOUND: its
                         compact JSON as jansson writes it, at least the
                         first JF_DUMP_LEN - 1 bytes */
};

/* value (NULL when missing) as a jf_value, borrowing its string; dump
 * receives a compound's JSON. */
void jf_value_of(const json_t *value, struct jf_value *out,
                 char dump[JF_DUMP_LEN]);

/* The readers below on a jf_value. A failure's message is kept in why
 * (werr_keep) but not logged, for a caller that decides later whether it
 * stands. */
enum jf_status jf_int_value(const struct jf_value *value, const char *field,
                            int64_t *out, struct werr *why);
enum jf_status jf_text_value(const struct jf_value *value, const char *field,
                             struct buf *out, struct werr *why);
enum jf_status jf_time_value(const struct jf_value *value, const char *field,
                             int64_t *out, struct werr *why);

/* A real as jansson's compact JSON writes it: "1.0", "2.5e20", "-0.0". */
void jf_format_real(double value, char *out, size_t outlen);

/* A whole number from a JSON integer, an integral real, or a string of
 * decimal digits (surrounding spaces allowed). field names it in the error
 * report, with the value. */
enum jf_status jf_int(const json_t *value, const char *field, int64_t *out,
                      struct werr *err);

/* Like jf_int on member field of obj, required: absent is an error. */
__attribute__((warn_unused_result)) bool jf_int_required(const json_t *obj,
                                                         const char *field,
                                                         int64_t *out,
                                                         struct werr *err);

/* Text of a string, or the decimal form of a number or a boolean, appended
 * to out with its NUL; JF_ABSENT for a missing or null value (nothing is
 * appended). Objects and arrays are JF_BAD. */
enum jf_status jf_text(const json_t *value, const char *field, struct buf *out,
                       struct werr *err);

/* A platform date-time "YYYY-MM-DD HH:MM:SS" (UTC+8, the platform's zone)
 * or Unix seconds (number or numeric string), as Unix seconds. */
enum jf_status jf_time(const json_t *value, const char *field, int64_t *out,
                       struct werr *err);

/* Parses "YYYY-MM-DD HH:MM:SS" read as UTC+8 into Unix seconds. */
bool jf_parse_platform_time(const char *text, int64_t *out);

/* A short printable form of value for error reports. */
void jf_describe(const json_t *value, char *out, size_t outlen);

#endif
