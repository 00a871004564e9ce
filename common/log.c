/* The logging family declared in log.h: one line per call, written whole. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static enum cs_log_level log_threshold = CS_LOG_INFO;

static const char *const level_names[] = {"error", "warn", "info", "debug"};

void cs_log_set_level(enum cs_log_level level)
{
    log_threshold = level;
}

bool cs_log_parse_level(const char *text, enum cs_log_level *level)
{
    for (int i = 0; i <= CS_LOG_DEBUG; i++) {
        if (strcmp(text, level_names[i]) == 0) {
            *level = (enum cs_log_level)i;
            return true;
        }
    }
    return false;
}

void cs_log(enum cs_log_level level, const char *fmt, ...)
{
    if (level > log_threshold)
        return;

    struct timespec now;
    struct tm tm;
    char line[2048];
    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    int n = snprintf(
        line, sizeof(line), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s ",
        tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
        tm.tm_sec, now.tv_nsec / 1000000, level_names[level]);

    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
    va_end(ap);

    /* One fputs per line, so lines of several threads do not interleave. */
    size_t len = strlen(line);
    line[len] = '\n';
    line[len + 1] = '\0';
    fputs(line, stderr);
}

const char *cs_log_value(const char *text, char *buf, size_t len)
{
    size_t n = 0;
    if (len == 0)
        return buf;
    for (const char *p = text; *p && *p != '\n' && n + 1 < len; p++) {
        unsigned char c = (unsigned char)*p;
        buf[n++] = c == '"' ? '\'' : c < 0x20 || c == 0x7f ? ' ' : (char)c;
    }
    buf[n] = '\0';
    return buf;
}
