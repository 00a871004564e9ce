/*
 * One logging family for every callstats program: a line per event on
 * standard error, "<UTC timestamp> <level> <message>", where the message is
 * written as key=value fields. Never pass a phone number, a password, a
 * secret or a token to these functions.
 */
#ifndef CS_LOG_H
#define CS_LOG_H

#include <stdbool.h>
#include <stddef.h>

enum cs_log_level {
    CS_LOG_ERROR = 0,
    CS_LOG_WARN = 1,
    CS_LOG_INFO = 2,
    CS_LOG_DEBUG = 3,
};

/* Sets the lowest level written; INFO until called. */
void cs_log_set_level(enum cs_log_level level);

/* Parses "error", "warn", "info" or "debug"; false on anything else. */
bool cs_log_parse_level(const char *text, enum cs_log_level *level);

void cs_log(enum cs_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* text's first line made fit for a quoted log value (`key="..."`): a
 * double quote becomes a single one and control characters spaces; cut to
 * fit buf (len bytes). Returns buf. */
const char *cs_log_value(const char *text, char *buf, size_t len);

#define cs_error(...) cs_log(CS_LOG_ERROR, __VA_ARGS__)
#define cs_warn(...)  cs_log(CS_LOG_WARN, __VA_ARGS__)
#define cs_info(...)  cs_log(CS_LOG_INFO, __VA_ARGS__)
#define cs_debug(...) cs_log(CS_LOG_DEBUG, __VA_ARGS__)

#endif
