/*
 * The worker's error report: the message of the first failure of a job,
 * logged once where it is found and kept for the caller's summary line.
 */
#ifndef WK_WERR_H
#define WK_WERR_H

#include <stdbool.h>

#define WERR_LEN 512

struct werr {
    char msg[WERR_LEN];
};

/* Logs fmt at error level and keeps it as the report's message (only the
 * first failure is kept). Always returns false, so callers can
 * `return werr_set(...)`. */
bool werr_set(struct werr *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Like werr_set but without logging (the first message is kept): for a
 * finding that may yet be overruled, such as a bad record in a body not
 * yet known to be whole JSON. Whoever decides that it stands reports it
 * with werr_set. Returns false. */
bool werr_keep(struct werr *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Like werr_set for a stop signal, which is no error: logged at info
 * level. where names what was abandoned. Returns false. */
bool werr_stopped(struct werr *err, const char *where);

/* Empties the report. */
void werr_clear(struct werr *err);

#endif
