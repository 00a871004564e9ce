/*
 * Generates one business day of the simulator: its planned totals (the
 * replayed TSV or a seeded pick from it), its tasks and its call records
 * with their grade labels, all from the seed and the date.
 */
#include "model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

/* The busiest day the platform's contract describes. */
#define MAX_DIALLED 95000

/* Salts that keep the hashes of different decisions apart. */
enum {
    SALT_PICK = 1,
    SALT_JITTER_DIALLED,
    SALT_JITTER_ANSWERED,
    SALT_DISCREPANCY,
    SALT_ACTIVE,
    SALT_ADMIN,
    SALT_DAY,
    SALT_RECORD,
};

/* Indexes into labels[], grouped by who gets them. */
enum {
    LABEL_UNANSWERED_FIRST = 0,
    LABEL_UNANSWERED_COUNT = 6,
    LABEL_NINE_FIRST = 6,
    LABEL_ONE_FIRST = 10,
    LABEL_FOLLOW_FIRST = 14,
    LABEL_FOLLOW_COUNT = 13,
    LABEL_INVALID_FIRST = 27,
    LABEL_INVALID_COUNT = 4,
    LABEL_AOT = 31,
    LABEL_AG = 32,
    LABEL_TRAP = 33,
    LABEL_UNKNOWN = 34,
    LABEL_EMPTY = 1,
    LABEL_NULL = 0,
};

static const char *const labels[] = {
    NULL,
    "",
    "未接通",
    "空号",
    "关机",
    "拒接",
    "AS1 成功单9元",
    "成功单9元",
    "9元",
    "9",
    "AS2 成功单1元",
    "成功单1元",
    "1元",
    "1",
    "AF2 有意向",
    "AF3 需回访",
    "AF4 考虑中",
    "AF5 价格异议",
    "AF6 要资料",
    "AF7 再联系",
    "AF8 家人决定",
    "AF9 已有同类",
    "AF10 时间不便",
    "AF11 稍后回电",
    "AF12 转人工",
    "AF13 预约回访",
    "AF14 意向待定",
    "AN1 无效号码",
    "AN2 非本人",
    "AN3 语音信箱",
    "AN4 明确拒绝",
    "AOT",
    "AG",
    "19元",
    "ZX 新标签",
};

static const char *const hangup_reasons[] = {
    "NORMAL_CLEARING", "NO_ANSWER",          "USER_BUSY",
    "CALL_REJECTED",   "UNALLOCATED_NUMBER", "SUBSCRIBER_ABSENT",
};

/* A splitmix64 stream. */
struct rng {
    uint64_t state;
};

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

uint64_t sim_hash(uint64_t seed, uint64_t a, uint64_t b)
{
    return mix64(mix64(mix64(seed + 0x9e3779b97f4a7c15ULL) ^ a) ^ b);
}

static uint64_t rng_next(struct rng *r)
{
    r->state += 0x9e3779b97f4a7c15ULL;
    return mix64(r->state);
}

/* A number in [0, n); n > 0. */
static int rng_below(struct rng *r, int n)
{
    return (int)(rng_next(r) % (uint64_t)n);
}

const char *sim_label(int i)
{
    if (i < 0 || i >= (int)(sizeof(labels) / sizeof(labels[0])))
        return NULL;
    return labels[i];
}

const char *sim_hangup_reason(int i)
{
    int n = (int)(sizeof(hangup_reasons) / sizeof(hangup_reasons[0]));
    return hangup_reasons[i >= 0 && i < n ? i : 0];
}

void *sim_alloc(size_t count, size_t size)
{
    void *p = calloc(count == 0 ? 1 : count, size == 0 ? 1 : size);
    if (p == NULL) {
        cs_error("sim: out of memory count=%zu size=%zu", count, size);
        abort();
    }
    return p;
}

void *sim_realloc(void *p, size_t size)
{
    void *q = realloc(p, size);
    if (q == NULL) {
        cs_error("sim: out of memory size=%zu", size);
        abort();
    }
    return q;
}

struct plan {
    int dialled, answered, success;
    bool discrepancy;
};

/* n changed by up to 5% either way, as h says. */
static int jitter(int n, uint64_t h)
{
    int permille = (int)(h % 101) - 50;
    return n + (int)((long long)n * permille / 1000);
}

/* The totals of one of the TSV's days, chosen by the seed and the date. */
static void plan_pick(const struct sim_model *m, cs_day day, struct plan *p)
{
    uint64_t pick = sim_hash(m->seed, (uint64_t)day, SALT_PICK);
    const struct sim_tsv_day *t = &m->tsv[pick % (uint64_t)m->n_tsv];
    p->dialled = jitter(t->calls_dialled,
                        sim_hash(m->seed, (uint64_t)day, SALT_JITTER_DIALLED));
    p->answered = jitter(t->calls_answered, sim_hash(m->seed, (uint64_t)day,
                                                     SALT_JITTER_ANSWERED));
    if (p->dialled > MAX_DIALLED)
        p->dialled = MAX_DIALLED;
    if (p->answered > p->dialled)
        p->answered = p->dialled;
    p->success = t->success_orders;
    if (p->success > p->answered)
        p->success = p->answered;
    uint64_t h = sim_hash(m->seed, (uint64_t)day, SALT_DISCREPANCY);
    p->discrepancy = h % 13 == 0 && p->success > 0;
}

static void plan_outside(const struct sim_model *m, cs_day day, struct plan *p)
{
    if (cs_date_weekday(day) == 0 || m->n_tsv == 0)
        return;
    plan_pick(m, day, p);
}

/* a * b / c rounded to the nearest; c > 0. */
static int scale(int a, int b, int c)
{
    return (int)(((long long)a * b + c / 2) / c);
}

/* --day-records: exactly n calls, answered calls and success orders in the
 * proportions the day would have had. A day that would have had no calls
 * borrows the proportions of the seeded pick that days outside the TSV's
 * range get. */
static void plan_fixed(const struct sim_model *m, cs_day day, int n,
                       struct plan *p)
{
    if (p->dialled <= 0) {
        memset(p, 0, sizeof(*p));
        plan_pick(m, day, p);
    }
    int answered = p->dialled > 0 ? scale(p->answered, n, p->dialled) : 0;
    p->success = p->answered > 0 ? scale(p->success, answered, p->answered) : 0;
    p->answered = answered;
    p->dialled = n;
    p->discrepancy = p->discrepancy && p->success > 0;
}

/* A day in the TSV's range: its line, or no calls when it has none. */
static void plan_replayed(const struct sim_model *m, cs_day day, struct plan *p)
{
    for (int i = 0; i < m->n_tsv; i++) {
        if (m->tsv[i].day != day)
            continue;
        p->dialled = m->tsv[i].calls_dialled;
        p->answered = m->tsv[i].calls_answered;
        p->success = m->tsv[i].success_orders;
        /* The real dashboard showed a discrepancy on this day. */
        p->discrepancy =
            day == cs_date_from_ymd(2025, 10, 16) && p->success > 0;
    }
}

static void plan_day(const struct sim_model *m, cs_day day, struct plan *p)
{
    memset(p, 0, sizeof(*p));
    if (day < m->replay_first || day > m->replay_last)
        plan_outside(m, day, p);
    else
        plan_replayed(m, day, p);
    int fixed = sim_fixed_records(m, day);
    if (fixed > 0)
        plan_fixed(m, day, fixed, p);
}

/* Each seat works on most days with one or two tasks; "admin" dials a few
 * calls on some days. Returns how many calls admin makes. */
static int make_tasks(const struct sim_model *m, struct sim_day *d,
                      struct rng *r, int *weights)
{
    uint64_t day = (uint64_t)d->day;
    for (int s = 0; s < m->n_seats; s++) {
        if (sim_hash(m->seed, day, SALT_ACTIVE * 100 + s) % 100 >= 85)
            continue;
        int n = 1 + rng_below(r, 2);
        for (int k = 0; k < n; k++) {
            struct sim_task *t = &d->tasks[d->n_tasks];
            t->id = (long long)day * 100 + d->n_tasks + 1;
            t->account = s;
            t->device = rng_below(r, 6);
            weights[d->n_tasks++] = 1 + rng_below(r, 4);
        }
    }
    if (d->n_tasks == 0) { /* no seat drew a task: the first one works */
        d->tasks[0] = (struct sim_task){(long long)day * 100 + 1, 0, 0};
        weights[d->n_tasks++] = 1;
    }
    uint64_t h = sim_hash(m->seed, day, SALT_ADMIN);
    int admin_calls = h % 4 == 0 ? 1 + (int)(h / 4 % 5) : 0;
    if (admin_calls > d->n_records / 2)
        admin_calls = d->n_records / 2;
    if (admin_calls > 0) {
        struct sim_task *t = &d->tasks[d->n_tasks];
        t->id = (long long)day * 100 + d->n_tasks + 1;
        t->account = m->n_seats;
        t->device = 0;
        d->n_tasks++;
    }
    return admin_calls;
}

/* Spreads the calls in order over the opening time to 23:59:59, each on a
 * task. */
static void place_calls(struct sim_day *d, struct rng *r, const int *weights,
                        int admin_calls)
{
    int seat_tasks = d->n_tasks - (admin_calls > 0 ? 1 : 0);
    int total = 0;
    for (int t = 0; t < seat_tasks; t++)
        total += weights[t];
    double n = (double)d->n_records;
    double span = (double)(sim_day_start(d->day) + 86400 - d->open);
    for (int i = 0; i < d->n_records; i++) {
        double u = (double)(rng_next(r) >> 11) / 9007199254740992.0;
        d->records[i].offset = (uint32_t)((i + u) * span / n);
        int w = rng_below(r, total), t = 0;
        while (w >= weights[t])
            w -= weights[t++];
        d->records[i].task = (uint8_t)t;
    }
    for (int j = 0; j < admin_calls; j++) {
        int i = (int)((long long)(j + 1) * d->n_records / (admin_calls + 1));
        d->records[i].task = (uint8_t)(d->n_tasks - 1);
    }
}

/* A label for an answered call that is no success order. */
static int other_answered_label(struct rng *r)
{
    int x = rng_below(r, 100);
    if (x < 40)
        return LABEL_FOLLOW_FIRST + rng_below(r, LABEL_FOLLOW_COUNT);
    if (x < 60)
        return LABEL_INVALID_FIRST + rng_below(r, LABEL_INVALID_COUNT);
    if (x < 68)
        return LABEL_AOT;
    if (x < 76)
        return LABEL_AG;
    if (x < 85)
        return LABEL_NULL;
    if (x < 92)
        return LABEL_EMPTY;
    return x < 96 ? LABEL_TRAP : LABEL_UNKNOWN;
}

/* Picks exactly `answered` calls (selection sampling) and labels every
 * call as an answered non-success or an unanswered one. */
static void mark_answered(struct sim_day *d, struct rng *r, int answered)
{
    int need = answered;
    for (int i = 0; i < d->n_records; i++) {
        struct sim_record *rec = &d->records[i];
        if (rng_below(r, d->n_records - i) < need) {
            need--;
            rec->flags |= SIM_REC_ANSWERED;
            rec->duration = (uint16_t)(3 + rng_below(r, 180));
            rec->label = (uint8_t)other_answered_label(r);
            rec->hangup = 0;
        } else {
            rec->label = (uint8_t)(LABEL_UNANSWERED_FIRST +
                                   rng_below(r, LABEL_UNANSWERED_COUNT));
            rec->hangup = (uint8_t)(1 + rng_below(r, 5));
        }
    }
}

/* Mostly the coded label, some older forms; first is the class's first. */
static int success_label(struct rng *r, int first)
{
    int x = rng_below(r, 20);
    if (x < 14)
        return first;
    return first + 1 + (x - 14) / 2;
}

/* Among the answered calls picks the success orders: about a tenth are
 * 1-yuan; on a discrepancy day one of them carries no success label. */
static void mark_success(struct sim_day *d, struct rng *r, const struct plan *p)
{
    int left_answered = p->answered, need = p->success;
    int graded = p->success - (p->discrepancy ? 1 : 0);
    int need_one = (graded + 5) / 10, left_graded = graded;
    int lost = p->discrepancy ? rng_below(r, p->success) : -1, seen = 0;
    for (int i = 0; i < d->n_records && need > 0; i++) {
        struct sim_record *rec = &d->records[i];
        if (!(rec->flags & SIM_REC_ANSWERED))
            continue;
        if (rng_below(r, left_answered--) >= need)
            continue;
        need--;
        rec->flags |= SIM_REC_SUCCESS;
        rec->duration = (uint16_t)(60 + rng_below(r, 300));
        if (seen++ == lost) {
            rec->label = LABEL_AG;
            continue;
        }
        bool one = rng_below(r, left_graded--) < need_one;
        if (one)
            need_one--;
        rec->label =
            (uint8_t)success_label(r, one ? LABEL_ONE_FIRST : LABEL_NINE_FIRST);
    }
}

/* The shape, the id's type and the follow-up flag of each record. */
static void mark_shapes(const struct sim_model *m, struct sim_day *d)
{
    for (int i = 0; i < d->n_records; i++) {
        uint64_t h =
            sim_hash(m->seed, (uint64_t)sim_record_id(d, i), SALT_RECORD);
        struct sim_record *rec = &d->records[i];
        if (h % 5 == 0)
            rec->flags |= SIM_REC_SHAPE_B;
        if (h / 5 % 3 == 0)
            rec->flags |= SIM_REC_ID_TEXT;
        if ((rec->flags & SIM_REC_ANSWERED) && h / 15 % 4 == 0)
            rec->flags |= SIM_REC_FOLLOW;
    }
}

struct sim_day *sim_day_generate(const struct sim_model *m, cs_day day)
{
    struct plan p;
    plan_day(m, day, &p);
    struct sim_day *d = sim_alloc(1, sizeof(*d));
    d->day = day;
    d->open = sim_day_start(day) + m->options.open;
    if (p.dialled <= 0)
        return d;
    d->n_records = p.dialled;
    d->records = sim_alloc((size_t)p.dialled, sizeof(d->records[0]));
    struct rng r = {sim_hash(m->seed, (uint64_t)day, SALT_DAY)};
    int weights[SIM_MAX_TASKS];
    int admin_calls = make_tasks(m, d, &r, weights);
    place_calls(d, &r, weights, admin_calls);
    mark_answered(d, &r, p.answered);
    mark_success(d, &r, &p);
    mark_shapes(m, d);
    return d;
}

void sim_day_free(struct sim_day *d)
{
    if (d == NULL)
        return;
    free(d->records);
    free(d);
}
