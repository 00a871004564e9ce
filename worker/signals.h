/*
 * SIGTERM and SIGINT ask the worker to stop: the current day is abandoned
 * between pages (or inside a transfer) and nothing of it is written.
 */
#ifndef WK_SIGNALS_H
#define WK_SIGNALS_H

#include <libpq-fe.h>
#include <stdbool.h>

/* Installs the handlers (without SA_RESTART, so sleeps wake up). */
void sig_install(void);

/* True once a stop signal arrived; logs one line for each signal received
 * since the last call. Safe to call often (curl's progress callback). */
bool sig_stop_requested(void);

/* A stop signal cancels the statement running on conn, if any; NULL
 * forgets the connection before it is closed. */
void sig_watch_connection(PGconn *conn);

/* Sleeps ms milliseconds, waking early on a stop signal; false if the sleep
 * was cut short by one. */
bool sig_sleep_ms(long ms);

#endif
