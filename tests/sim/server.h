/*
 * The simulator's HTTP server: the upstream's token and data endpoints on
 * 127.0.0.1, with the faults switched on by name.
 */
#ifndef SIM_SERVER_H
#define SIM_SERVER_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "model.h"

/*
 * The faults, switched on by name in --faults or POST /sim/faults. A name
 * may carry ":N" (N >= 1) to replace its default period; N = 1 makes the
 * fault hit every time. Data requests are counted from 1, afresh at every
 * POST /sim/faults; a fault is due on the multiples of its period.
 *
 *   name       default  what happens
 *   http500     5       HTTP 500 with a body that is not JSON
 *   429         7       HTTP 429 with Retry-After: 1
 *   expire      26      a token's Nth data request and every later one get
 *                       "token expired" (HTTP 401 or code 1000002 in turn)
 *   badjson     11      HTTP 200 with the body cut in half
 *   slow        13      the answer comes after 3 s
 *   hang        17      no answer for 120 s, then HTTP 504
 *   grow        1       today's totalCount grows by 3 at every Nth of
 *                       today's first 10 x N CDR requests
 *   shift       2       pages after the first start one record early, on
 *                       the 1st, N+1th, 2N+1th... data request among
 *                       today's first 10 CDR requests
 *   reset       19      status and headers promise the whole body, a few
 *                       bytes of it come, then the connection closes
 *   retrydate   23      HTTP 429, Retry-After an HTTP-date 2 s ahead
 *   malformed   29      HTTP 200 with a whole body that is not JSON: a
 *                       stray comma opens its first array (the records)
 *   short       3       a CDR page before the last lacks its last 10
 *                       records; totalCount stays right
 *   repeat      5       CDR page N >= 2 holds page N-1's records
 *   empty       7       a CDR page that should hold records is empty;
 *                       totalCount stays right
 *
 * The periods of short, repeat and empty count the CDR requests that get
 * as far as their page, of any day, and they apply only to a page that
 * would hold records (short: not the last; repeat: not the first). When several
 * faults are due at once: http500, 429, retrydate and hang answer instead of
 * the data, in that order; slow delays whatever comes; then one of badjson,
 * reset and malformed bends the answer; one of empty, repeat and short bends
 * the page, tried in that order.
 */
#define SIM_FAULT_HTTP500   0x0001
#define SIM_FAULT_429       0x0002
#define SIM_FAULT_EXPIRE    0x0004
#define SIM_FAULT_BADJSON   0x0008
#define SIM_FAULT_SLOW      0x0010
#define SIM_FAULT_HANG      0x0020
#define SIM_FAULT_GROW      0x0040
#define SIM_FAULT_SHIFT     0x0080
#define SIM_FAULT_RESET     0x0100
#define SIM_FAULT_RETRYDATE 0x0200
#define SIM_FAULT_MALFORMED 0x0400
#define SIM_FAULT_SHORT     0x0800
#define SIM_FAULT_REPEAT    0x1000
#define SIM_FAULT_EMPTY     0x2000
#define SIM_N_FAULTS        14

#define SIM_MAX_PERIOD      1000000
#define SIM_MAX_PAGE_DELAY  600000 /* ms, for --page-delay-ms */
#define SIM_FAULTS_TEXT_LEN 320    /* room for every fault with a period */

/* The faults switched on, each with its period. */
struct sim_faults {
    unsigned on;                   /* SIM_FAULT_* */
    unsigned period[SIM_N_FAULTS]; /* by bit number; 0 means the default */
};

struct sim_server_config {
    int port; /* 0 lets the system choose */
    uint64_t seed;
    bool has_now;
    time_t now;               /* the standing clock when has_now */
    struct sim_faults faults; /* at the start; POST /sim/faults changes */
    int page_delay_ms;        /* every data request waits this long */
    struct sim_data_options data;
    const char *username, *password, *secret;
};

/* Parses a comma list of fault names, each maybe with ":N", into f (an
 * empty list switches every fault off). False with the reason, naming the
 * item, in err on an unknown name or a bad period; f is then undefined. */
__attribute__((warn_unused_result)) bool sim_faults_parse(const char *list,
                                                          struct sim_faults *f,
                                                          char *err,
                                                          size_t errlen);

/* The faults in f as a list sim_faults_parse takes back, ":N" only where
 * N is not the default; "" when none is on. */
void sim_faults_format(const struct sim_faults *f, char *buf, size_t len);

/* The period of fault (one SIM_FAULT_* bit), its default when f gives
 * none. */
unsigned sim_fault_period(const struct sim_faults *f, unsigned fault);

/* Is fault on and the count n a multiple of its period? */
bool sim_fault_due(const struct sim_faults *f, unsigned fault, unsigned long n);

/* Serves until *stop becomes non-zero (the signal number), then stops
 * cleanly. False, logged, when the server cannot start. */
__attribute__((warn_unused_result)) bool
sim_server_run(const struct sim_server_config *cfg,
               const volatile sig_atomic_t *stop);

#endif
