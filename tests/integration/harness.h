/*
 * What the integration test programs share: the environment run.sh hands
 * over, starting the real binaries, HTTP and database probes.
 */
#ifndef IT_HARNESS_H
#define IT_HARNESS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define MAX_ENV 24

/* Environment for `callstats-worker run`: every default job off, runs on
 * their slot; a test adds the jobs it needs. */
#define NO_DEFAULT_JOBS                                                        \
    "CALLSTATS_JOB_HISTORY=off", "CALLSTATS_JOB_RECENT=off",                   \
        "CALLSTATS_JOB_CLOSE_YESTERDAY=off", "CALLSTATS_JOB_OPEN_TODAY=off",   \
        "CALLSTATS_JOB_TODAY_STATS=off", "CALLSTATS_JOB_TODAY_CALLS=off",      \
        "CALLSTATS_SLOT_OFFSET=0"

/* What run.sh hands over, and what the tests start along the way. */
struct harness {
    const char *bin;
    const char *work;
    const char *db;
    const char *sim_url;
    const char *fault_sim_url;
    const char *seed;
    const char *now;
    const char *pg_private;
    int ports[3];
    char reader_db[512];
    char api_url[64];
    pid_t api_pid;
};

extern struct harness it;

/* Reads run.sh's environment into it; exits 1 when it is incomplete. */
void harness_init(void);

/* Kills (SIGKILL) and reaps every child spawned and not yet waited for:
 * a cmocka teardown, so that a failed test leaves nothing running. */
int harness_kill_leftovers(void **state);

struct body {
    char *data;
    size_t len;
};

const char *need_env(const char *name);

char *read_whole(const char *path);

void log_path(char *buf, size_t len, const char *name, const char *ext);

/*
 * Starts argv with the environment changes in env ("K=V" sets, "K=" unsets),
 * standard output to WORK/name.out and standard error to WORK/name.log.
 */
pid_t spawn(const char *name, char *const argv[], const char *const env[]);

/* Waits for pid's end; returns its exit status (128 + N for a signal N).
 * For a child started by spawn, fails the test when its log holds a
 * sanitizer report. */
int wait_exit(pid_t pid);

/* Fails the test when WORK/name.log holds a report of AddressSanitizer,
 * LeakSanitizer or UBSan. */
void assert_no_sanitizer_report(const char *name);

int run(const char *name, char *const argv[], const char *const env[]);

/* Waits up to 30 s for text in WORK/name.log. */
bool wait_log(const char *name, const char *text);

char *output_of(const char *name, const char *ext);

/* Starts the worker against the simulator at sim_url with args. */
pid_t start_worker(const char *name, const char *sim_url,
                   const char *const extra_env[], char *const args[]);

/* Runs the worker to its end; returns its exit status. */
int worker(const char *name, const char *sim_url, const char *const extra_env[],
           char *const args[]);

int sync_days(const char *name, const char *sim_url, const char *from,
              const char *to, const char *const extra_env[]);

json_t *parse_or_fail(const char *text, const char *what);

/* The simulator's ground truth for one day. */
json_t *truth(const char *date);

size_t collect(char *ptr, size_t size, size_t n, void *userdata);

/* GETs base+path; returns the body (caller frees) and sets *status. */
char *http_get(const char *base, const char *path, long *status,
               const char *method);

/* Sends raw bytes to 127.0.0.1:port; returns all it answers within 5 s. */
char *raw_request(int port, const char *bytes);

/* GETs path from the API, expecting HTTP want; returns the parsed body. */
json_t *api_json(const char *path, long want);

json_int_t int_of(json_t *obj, const char *key);

/* The read-only login role `callstats-worker migrate` makes for the API
 * (CALLSTATS_API_ROLE's default). */
#define API_ROLE "callstats_api"

/* Starts the API on port with DATABASE_URL db, connecting as API_ROLE to
 * db (a key=value connection string); waits for its ready line. */
void start_api(const char *name, int port, const char *db, pid_t *pid_out);

/* start_api with more environment ("K=V"), such as CALLSTATS_API_TOKEN. */
void start_api_env(const char *name, int port, const char *db,
                   const char *const extra_env[], pid_t *pid_out);

/* A query of the owner's connection that returns one integer. */
long long db_count(const char *sql);

char *db_text(const char *sql);

/* The platform's day (UTC+8, whatever the host's zone) of t, as
 * YYYY-MM-DD into buf. */
void platform_day(time_t t, char *buf, size_t len);

/* Starts a simulator on port on the real clock whose today holds
 * `records` calls spread over the whole day, and waits for it to be
 * ready. name is its log: give each start its own, so that an earlier
 * log cannot say ready too soon. */
pid_t start_live_sim(const char *name, int port, int records);

/* Stops or starts the private PostgreSQL of the run (action "stop" or
 * "start", as deploy/pg-private.sh takes it). */
void pg_ctl(const char *action);

/* Runs statements without results on the owner's connection. */
void db_exec(const char *sql);

/* Waits up to 60 s until the query's count reaches want. */
void wait_count(const char *sql, long long want);

#endif
