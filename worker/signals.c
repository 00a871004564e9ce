/* The stop signals of the worker (see signals.h). */
#include "signals.h"

#include <libpq-fe.h>
#include <signal.h>
#include <string.h>
#include <time.h>

#include "log.h"

static volatile sig_atomic_t signals_received;
static volatile sig_atomic_t last_signal;
static sig_atomic_t signals_logged;
static PGcancel *volatile watched_statement;

/* PQcancel may be called from a signal handler: a statement that waits
 * (on a lock, say) is cancelled, so that a stop is never kept waiting. */
static void on_stop_signal(int signo)
{
    last_signal = signo;
    signals_received++;
    PGcancel *cancel = watched_statement;
    if (cancel != NULL) {
        char buf[128];
        PQcancel(cancel, buf, sizeof(buf));
    }
}

void sig_watch_connection(PGconn *conn)
{
    PGcancel *old = watched_statement;
    watched_statement = NULL;
    PQfreeCancel(old);
    if (conn != NULL)
        watched_statement = PQgetCancel(conn);
}

void sig_install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

bool sig_stop_requested(void)
{
    while (signals_logged < signals_received) {
        signals_logged++;
        cs_info("signal received signal=%s action=stop",
                last_signal == SIGINT ? "SIGINT" : "SIGTERM");
    }
    return signals_received > 0;
}

bool sig_sleep_ms(long ms)
{
    while (ms > 0) {
        if (sig_stop_requested())
            return false;
        long slice = ms < 200 ? ms : 200;
        struct timespec ts = {slice / 1000, (slice % 1000) * 1000000L};
        nanosleep(&ts, NULL);
        ms -= slice;
    }
    return !sig_stop_requested();
}
