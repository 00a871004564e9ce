/*
 * The simulator's data: for a seed and a business day (UTC+8), the accounts,
 * tasks and call records of that day, generated deterministically and kept
 * in a small cache, plus the day's ground truth as the tests read it.
 */
#ifndef SIM_MODEL_H
#define SIM_MODEL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "date.h"

#define SIM_UTC_OFFSET   (8 * 3600) /* the platform's zone, UTC+8 */
#define SIM_DAY_OPEN     (9 * 3600) /* calls start at 09:00 unless --open */
#define SIM_MAX_SEATS    20
#define SIM_MAX_ACCOUNTS (SIM_MAX_SEATS + 1) /* the seats and "admin" */
#define SIM_MAX_TASKS    48
#define SIM_MAX_TSV_DAYS 64
#define SIM_CACHE_DAYS   6
#define SIM_MAX_FIXED    64      /* days named in --day-records */
#define SIM_MAX_RECORDS  2000000 /* the most --day-records gives a day */

/* Record flags. */
#define SIM_REC_ANSWERED 0x01 /* duration > 0 */
#define SIM_REC_SUCCESS  0x02 /* counted in the platform's success_number */
#define SIM_REC_SHAPE_B  0x04 /* startTime/endTime and taskName */
#define SIM_REC_ID_TEXT  0x08 /* the id is sent as a string */
#define SIM_REC_FOLLOW   0x10 /* isFollow */

/* One call, compactly; everything else is derived from its id. */
struct sim_record {
    uint32_t offset;   /* seconds after the day's opening time */
    uint16_t duration; /* talk seconds */
    uint8_t task;      /* index into the day's tasks */
    uint8_t label;     /* index into the grade labels (sim_label) */
    uint8_t flags;     /* SIM_REC_* */
    uint8_t hangup;    /* index into the hang-up reasons */
};

struct sim_account {
    char username[16];
    long long user_id;
};

struct sim_task {
    long long id;
    int account; /* index into the model's accounts */
    int device;  /* the line it dials on, 0..5 */
};

/* A whole day as generated, before any cut by the clock. */
struct sim_day {
    cs_day day;
    time_t open; /* the opening time of the day, Unix seconds */
    int n_tasks;
    struct sim_task tasks[SIM_MAX_TASKS];
    int n_records;
    struct sim_record *records; /* sorted by call time */
    int refs;                   /* under the model's lock */
};

struct sim_tsv_day {
    cs_day day;
    int calls_dialled, calls_answered, success_orders;
};

/* A day given its number of records by --day-records. */
struct sim_fixed_day {
    cs_day day;
    int records;
};

/* What shapes the days besides the seed: --open and --day-records. */
struct sim_data_options {
    int open; /* seconds after 00:00 UTC+8 that calls start */
    int n_fixed;
    struct sim_fixed_day fixed[SIM_MAX_FIXED];
};

struct sim_model {
    uint64_t seed;
    struct sim_data_options options;
    int n_seats; /* accounts[n_seats] is "admin" */
    struct sim_account accounts[SIM_MAX_ACCOUNTS];
    cs_day replay_first, replay_last; /* the TSV's range */
    int n_tsv;
    struct sim_tsv_day tsv[SIM_MAX_TSV_DAYS];
    pthread_mutex_t lock;
    struct sim_day *cache[SIM_CACHE_DAYS];
    unsigned long cache_used[SIM_CACHE_DAYS];
    unsigned long cache_clock;
};

/* A day's figures after the cut, as `truth` prints them. */
struct sim_truth {
    cs_day day;
    int calls_dialled, calls_answered, success_orders;
    int grade_9, grade_1, active_seats;
    bool discrepancy;
};

/* A 64-bit mix of the seed and two values; the model's only randomness. */
uint64_t sim_hash(uint64_t seed, uint64_t a, uint64_t b);

/* The options of a run without --open or --day-records. */
void sim_data_options_default(struct sim_data_options *o);

/* Parses --open's "HH:MM" into o->open; false, logged with the text, on
 * anything else. */
__attribute__((warn_unused_result)) bool
sim_open_parse(const char *text, struct sim_data_options *o);

/* Parses --day-records' "YYYY-MM-DD=N[,...]" into o's fixed days, replacing
 * those of an earlier flag; false, logged with the item, on a malformed
 * item, N outside 1..SIM_MAX_RECORDS, a day named twice or too many days. */
__attribute__((warn_unused_result)) bool
sim_day_records_parse(const char *text, struct sim_data_options *o);

/* The records --day-records gives the day, or 0 when it names it not. */
int sim_fixed_records(const struct sim_model *m, cs_day day);

/* Loads the embedded TSV and the seed's accounts; o NULL means the
 * defaults. False (logged) when the embedded data is missing or malformed.
 * Free with sim_model_free. */
__attribute__((warn_unused_result)) bool
sim_model_init(struct sim_model *m, uint64_t seed,
               const struct sim_data_options *o);
void sim_model_free(struct sim_model *m);

/* Generates the whole day afresh (the cache's miss path); never NULL. */
struct sim_day *sim_day_generate(const struct sim_model *m, cs_day day);
void sim_day_free(struct sim_day *d);

/* The day, generated or from the cache; never NULL (allocation failure
 * aborts). Give it back with sim_day_put. */
struct sim_day *sim_day_get(struct sim_model *m, cs_day day);
void sim_day_put(struct sim_model *m, struct sim_day *d);

/* Unix seconds of record i's call. */
time_t sim_record_time(const struct sim_day *d, int i);

/* The record's id, unique across all days. */
long long sim_record_id(const struct sim_day *d, int i);

/* How many of the day's records had started by now (the clock's cut). */
int sim_day_visible(const struct sim_day *d, time_t now);

/* The first record whose call starts at or after t. */
int sim_day_lower_bound(const struct sim_day *d, time_t t);

/* The grade label of index i (NULL for a null grade). */
const char *sim_label(int i);

/* The hang-up reason of index i. */
const char *sim_hangup_reason(int i);

/* Allocation that cannot fail: logs and aborts when memory runs out. */
void *sim_alloc(size_t count, size_t size);
void *sim_realloc(void *p, size_t size);

/* The business day (UTC+8) that holds t, and the Unix time of its 00:00. */
cs_day sim_day_of(time_t t);
time_t sim_day_start(cs_day day);

/* The day's truth with the records up to now. */
void sim_truth(struct sim_model *m, cs_day day, time_t now,
               struct sim_truth *t);

#endif
