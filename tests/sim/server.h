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

#define SIM_FAULT_HTTP500 0x01 /* every 5th data request: HTTP 500 */
#define SIM_FAULT_429     0x02 /* every 7th: HTTP 429, Retry-After: 1 */
#define SIM_FAULT_EXPIRE  0x04 /* a token ends after 25 data requests */
#define SIM_FAULT_BADJSON 0x08 /* every 11th: a truncated body */
#define SIM_FAULT_SLOW    0x10 /* every 13th: answered after 3 s */
#define SIM_FAULT_HANG    0x20 /* every 17th: no answer for 120 s */
#define SIM_FAULT_GROW    0x40 /* today's totalCount grows while paging */
#define SIM_FAULT_SHIFT   0x80 /* today's records shift between pages */

#define SIM_EXPIRE_AFTER 25

struct sim_server_config {
    int port; /* 0 lets the system choose */
    uint64_t seed;
    bool has_now;
    time_t now; /* the standing clock when has_now */
    unsigned faults;
    const char *username, *password, *secret;
};

/* Parses a comma list of fault names into SIM_FAULT_* bits; false, logged
 * with the name, on an unknown one. */
__attribute__((warn_unused_result)) bool sim_faults_parse(const char *list,
                                                          unsigned *faults);

/* The names of the faults in `faults`, comma separated, or "none". */
void sim_faults_format(unsigned faults, char *buf, size_t len);

/* Serves until *stop becomes non-zero (the signal number), then stops
 * cleanly. False, logged, when the server cannot start. */
__attribute__((warn_unused_result)) bool
sim_server_run(const struct sim_server_config *cfg,
               const volatile sig_atomic_t *stop);

#endif
