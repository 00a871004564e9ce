/* Error reports of the worker: logged where found, kept for the summary. */
#include "werr.h"

#include <stdarg.h>
#include <stdio.h>

#include "log.h"

bool werr_set(struct werr *err, const char *fmt, ...)
{
    char text[WERR_LEN];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    cs_error("%s", text);
    if (err != NULL && err->msg[0] == '\0')
        snprintf(err->msg, sizeof(err->msg), "%s", text);
    return false;
}

bool werr_keep(struct werr *err, const char *fmt, ...)
{
    if (err == NULL || err->msg[0] != '\0')
        return false;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
    return false;
}

bool werr_stopped(struct werr *err, const char *where)
{
    cs_info("stopping: abandoned %s", where);
    if (err != NULL && err->msg[0] == '\0')
        snprintf(err->msg, sizeof(err->msg), "stopped by signal (%s)", where);
    return false;
}

void werr_clear(struct werr *err)
{
    err->msg[0] = '\0';
}
