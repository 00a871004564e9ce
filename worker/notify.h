/*
 * The service manager's view of the worker (systemd's sd_notify): ready
 * once started, a watchdog ping while the scheduler lives, STATUS= with
 * what it does. Every call does nothing when not run by systemd.
 */
#ifndef WK_NOTIFY_H
#define WK_NOTIFY_H

/* READY=1 with a status line. */
void notify_ready(const char *status);

/* STATUS= with printf-style text. */
void notify_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* WATCHDOG=1, sent at most once a second however often it is called; the
 * scheduler loop and every upstream attempt call it. */
void notify_alive(void);

/* STOPPING=1. */
void notify_stopping(void);

#endif
