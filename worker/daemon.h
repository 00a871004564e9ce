/* `callstats-worker run`: the refresh schedule, one day at a time. */
#ifndef WK_DAEMON_H
#define WK_DAEMON_H

#include "config.h"

/* Runs until SIGTERM or SIGINT; returns the process exit status. */
int daemon_run(const struct cs_config *cfg);

#endif
