/*
 * The simulator's model: the embedded TSV of real days, the seed's
 * accounts, the options that shape the days, a small cache of generated
 * days, the clock's cut and the ground truth of a day.
 */
#include "model.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "embedded.h"
#include "grades.h"
#include "log.h"

#define SALT_SEATS 1000

cs_day sim_day_of(time_t t)
{
    long long s = (long long)t + SIM_UTC_OFFSET;
    long long d = s / 86400;
    if (s % 86400 < 0)
        d--;
    return (cs_day)d;
}

time_t sim_day_start(cs_day day)
{
    return (time_t)day * 86400 - SIM_UTC_OFFSET;
}

static const char *tsv_text(void)
{
    for (const struct cs_embedded *e = cs_sim_data; e->name != NULL; e++) {
        size_t n = strlen(e->name);
        if (n > 4 && strcmp(e->name + n - 4, ".tsv") == 0)
            return e->text;
    }
    return NULL;
}

/* A comment may state the file's range as "YYYY-MM-DD .. YYYY-MM-DD". */
static void parse_range(struct sim_model *m, const char *line, size_t len)
{
    char buf[256];
    if (len >= sizeof(buf))
        return;
    memcpy(buf, line, len);
    buf[len] = '\0';
    char *dots = strstr(buf, " .. ");
    if (dots == NULL || dots - buf < 10 || strlen(dots + 4) < 10)
        return;
    char first[11], last[11];
    memcpy(first, dots - 10, 10);
    first[10] = '\0';
    memcpy(last, dots + 4, 10);
    last[10] = '\0';
    cs_day a, b;
    if (cs_date_parse(first, &a) && cs_date_parse(last, &b) && a <= b) {
        m->replay_first = a;
        m->replay_last = b;
    }
}

static bool parse_day(struct sim_model *m, const char *line, size_t len,
                      int lineno)
{
    char buf[128], date[16];
    struct sim_tsv_day t;
    if (len >= sizeof(buf) || m->n_tsv >= SIM_MAX_TSV_DAYS)
        goto fail;
    memcpy(buf, line, len);
    buf[len] = '\0';
    if (sscanf(buf, "%15s %d %d %d", date, &t.calls_dialled, &t.calls_answered,
               &t.success_orders) != 4 ||
        !cs_date_parse(date, &t.day) || t.calls_answered > t.calls_dialled ||
        t.success_orders > t.calls_answered || t.success_orders < 0)
        goto fail;
    m->tsv[m->n_tsv++] = t;
    return true;
fail:
    cs_error("sim: malformed data line=%d text=\"%.60s\"", lineno, line);
    return false;
}

static bool load_tsv(struct sim_model *m)
{
    const char *text = tsv_text();
    if (text == NULL) {
        cs_error("sim: no embedded .tsv data file");
        return false;
    }
    m->replay_first = m->replay_last = 0;
    int lineno = 0;
    bool have_range = false;
    for (const char *p = text; *p != '\0';) {
        const char *end = strchr(p, '\n');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        lineno++;
        if (p[0] == '#' && !have_range) {
            parse_range(m, p, len);
            have_range = m->replay_first != 0;
        } else if (p[0] != '#' && len > 0 && !parse_day(m, p, len, lineno)) {
            return false;
        }
        p += len + (end ? 1 : 0);
    }
    if (m->n_tsv == 0) {
        cs_error("sim: the embedded data file lists no day");
        return false;
    }
    for (int i = 0; i < m->n_tsv && !have_range; i++) {
        if (i == 0 || m->tsv[i].day < m->replay_first)
            m->replay_first = m->tsv[i].day;
        if (i == 0 || m->tsv[i].day > m->replay_last)
            m->replay_last = m->tsv[i].day;
    }
    return true;
}

static void make_accounts(struct sim_model *m)
{
    m->n_seats = 10 + (int)(sim_hash(m->seed, 0, SALT_SEATS) % 11);
    long long base = 10000 + 100 * (long long)(m->seed % 90);
    for (int i = 0; i < m->n_seats; i++) {
        snprintf(m->accounts[i].username, sizeof(m->accounts[i].username),
                 "seat%02d", i + 1);
        m->accounts[i].user_id = base + i + 1;
    }
    snprintf(m->accounts[m->n_seats].username, sizeof(m->accounts[0].username),
             "admin");
    m->accounts[m->n_seats].user_id = base;
}

void sim_data_options_default(struct sim_data_options *o)
{
    memset(o, 0, sizeof(*o));
    o->open = SIM_DAY_OPEN;
}

/* Are the n characters at p all digits? */
static bool all_digits(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!isdigit((unsigned char)p[i]))
            return false;
    }
    return true;
}

bool sim_open_parse(const char *text, struct sim_data_options *o)
{
    if (strlen(text) != 5 || text[2] != ':' || !all_digits(text, 2) ||
        !all_digits(text + 3, 2) || atoi(text) > 23 || atoi(text + 3) > 59) {
        cs_error("flag --open: \"%s\" is not a time of day HH:MM", text);
        return false;
    }
    o->open = atoi(text) * 3600 + atoi(text + 3) * 60;
    return true;
}

/* One "YYYY-MM-DD=N" of n characters at item into *f. */
static bool parse_fixed_day(const char *item, size_t n, struct sim_fixed_day *f)
{
    char date[11], count[9];
    if (n < 12 || n - 11 >= sizeof(count) || item[10] != '=' ||
        !all_digits(item + 11, n - 11))
        return false;
    memcpy(date, item, 10);
    date[10] = '\0';
    memcpy(count, item + 11, n - 11);
    count[n - 11] = '\0';
    f->records = atoi(count);
    return cs_date_parse(date, &f->day) && f->records >= 1 &&
           f->records <= SIM_MAX_RECORDS;
}

bool sim_day_records_parse(const char *text, struct sim_data_options *o)
{
    o->n_fixed = 0;
    for (const char *p = text;; p++) {
        size_t n = strcspn(p, ",");
        struct sim_fixed_day f;
        if (n == 0) {
            cs_error("flag --day-records: \"%s\" has an empty item", text);
            return false;
        }
        if (!parse_fixed_day(p, n, &f)) {
            cs_error("flag --day-records: \"%.*s\" is not YYYY-MM-DD=N with N "
                     "from 1 to %d",
                     (int)n, p, SIM_MAX_RECORDS);
            return false;
        }
        for (int i = 0; i < o->n_fixed; i++) {
            if (o->fixed[i].day == f.day) {
                cs_error("flag --day-records: the day \"%.10s\" is named "
                         "twice",
                         p);
                return false;
            }
        }
        if (o->n_fixed == SIM_MAX_FIXED) {
            cs_error("flag --day-records: more than %d days", SIM_MAX_FIXED);
            return false;
        }
        o->fixed[o->n_fixed++] = f;
        p += n;
        if (*p == '\0')
            return true;
    }
}

int sim_fixed_records(const struct sim_model *m, cs_day day)
{
    for (int i = 0; i < m->options.n_fixed; i++) {
        if (m->options.fixed[i].day == day)
            return m->options.fixed[i].records;
    }
    return 0;
}

bool sim_model_init(struct sim_model *m, uint64_t seed,
                    const struct sim_data_options *o)
{
    memset(m, 0, sizeof(*m));
    m->seed = seed;
    if (o != NULL)
        m->options = *o;
    else
        sim_data_options_default(&m->options);
    if (!load_tsv(m))
        return false;
    make_accounts(m);
    pthread_mutex_init(&m->lock, NULL);
    return true;
}

void sim_model_free(struct sim_model *m)
{
    for (int i = 0; i < SIM_CACHE_DAYS; i++) {
        if (m->cache[i] != NULL && --m->cache[i]->refs == 0)
            sim_day_free(m->cache[i]);
        m->cache[i] = NULL;
    }
    pthread_mutex_destroy(&m->lock);
}

/* Under the lock: the cached day, with a reference taken, or NULL. */
static struct sim_day *cache_find(struct sim_model *m, cs_day day)
{
    for (int i = 0; i < SIM_CACHE_DAYS; i++) {
        if (m->cache[i] != NULL && m->cache[i]->day == day) {
            m->cache_used[i] = ++m->cache_clock;
            m->cache[i]->refs++;
            return m->cache[i];
        }
    }
    return NULL;
}

/* Under the lock: puts d in the least recently used slot. */
static void cache_insert(struct sim_model *m, struct sim_day *d)
{
    int slot = 0;
    for (int i = 0; i < SIM_CACHE_DAYS; i++) {
        if (m->cache[i] == NULL) {
            slot = i;
            break;
        }
        if (m->cache_used[i] < m->cache_used[slot])
            slot = i;
    }
    struct sim_day *old = m->cache[slot];
    if (old != NULL && --old->refs == 0)
        sim_day_free(old);
    d->refs = 2; /* the cache's and the caller's */
    m->cache[slot] = d;
    m->cache_used[slot] = ++m->cache_clock;
}

struct sim_day *sim_day_get(struct sim_model *m, cs_day day)
{
    pthread_mutex_lock(&m->lock);
    struct sim_day *d = cache_find(m, day);
    pthread_mutex_unlock(&m->lock);
    if (d != NULL)
        return d;
    /* Generated without the lock, so other days keep being served. */
    struct sim_day *fresh = sim_day_generate(m, day);
    pthread_mutex_lock(&m->lock);
    d = cache_find(m, day);
    if (d == NULL) {
        cache_insert(m, fresh);
        d = fresh;
        fresh = NULL;
    }
    pthread_mutex_unlock(&m->lock);
    sim_day_free(fresh);
    return d;
}

void sim_day_put(struct sim_model *m, struct sim_day *d)
{
    pthread_mutex_lock(&m->lock);
    bool last = --d->refs == 0;
    pthread_mutex_unlock(&m->lock);
    if (last)
        sim_day_free(d);
}

time_t sim_record_time(const struct sim_day *d, int i)
{
    return d->open + d->records[i].offset;
}

/* A day's first million records keep the numbering they always had; the
 * rest, on the bigger days of --day-records, take a range of their own
 * above 10^15, so that ids stay unique and stay exact as JSON numbers. */
#define IDS_PER_DAY 1000000LL
#define IDS_BEYOND  1000000000000000LL

long long sim_record_id(const struct sim_day *d, int i)
{
    long long base = ((long long)d->day + 100000) * IDS_PER_DAY;
    if (i < IDS_PER_DAY)
        return base + i + 1;
    return IDS_BEYOND + base + (i - IDS_PER_DAY) + 1;
}

int sim_day_lower_bound(const struct sim_day *d, time_t t)
{
    int lo = 0, hi = d->n_records;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (sim_record_time(d, mid) < t)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

int sim_day_visible(const struct sim_day *d, time_t now)
{
    return sim_day_lower_bound(d, now + 1);
}

void sim_truth(struct sim_model *m, cs_day day, time_t now, struct sim_truth *t)
{
    struct cs_list g9, g1;
    cs_list_parse(CS_GRADE_9_DEFAULT, &g9);
    cs_list_parse(CS_GRADE_1_DEFAULT, &g1);
    bool active[SIM_MAX_ACCOUNTS] = {false};
    struct sim_day *d = sim_day_get(m, day);
    int n = sim_day_visible(d, now);
    memset(t, 0, sizeof(*t));
    t->day = day;
    t->calls_dialled = n;
    for (int i = 0; i < n; i++) {
        const struct sim_record *r = &d->records[i];
        t->calls_answered += (r->flags & SIM_REC_ANSWERED) ? 1 : 0;
        t->success_orders += (r->flags & SIM_REC_SUCCESS) ? 1 : 0;
        enum cs_grade_class c =
            cs_grade_classify(&g9, &g1, sim_label(r->label));
        t->grade_9 += c == CS_GRADE_9;
        t->grade_1 += c == CS_GRADE_1;
        active[d->tasks[r->task].account] = true;
    }
    for (int a = 0; a < m->n_seats; a++)
        t->active_seats += active[a];
    t->discrepancy = t->success_orders != t->grade_9 + t->grade_1;
    sim_day_put(m, d);
    cs_list_free(&g9);
    cs_list_free(&g1);
}
