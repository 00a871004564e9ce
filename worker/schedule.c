/* The job table and its slots (see schedule.h). */
#include "schedule.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DAY_SECONDS 86400
#define LAST_SECOND (DAY_SECONDS - 1)
#define ENV_PREFIX  "CALLSTATS_JOB_"

static bool fail(char *err, size_t errlen, const char *fmt, const char *what)
    __attribute__((format(printf, 3, 0)));

static bool fail(char *err, size_t errlen, const char *fmt, const char *what)
{
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    snprintf(err, errlen, fmt, what);
#pragma GCC diagnostic pop
    return false;
}

/* "HH:MM" to seconds after midnight; -1 when it is not one. */
static int parse_clock(const char *text, size_t len)
{
    if (len != 5 || text[2] != ':' || !isdigit((unsigned char)text[0]) ||
        !isdigit((unsigned char)text[1]) || !isdigit((unsigned char)text[3]) ||
        !isdigit((unsigned char)text[4]))
        return -1;
    int h = (text[0] - '0') * 10 + (text[1] - '0');
    int m = (text[3] - '0') * 10 + (text[4] - '0');
    return h < 24 && m < 60 ? h * 3600 + m * 60 : -1;
}

static bool parse_int(const char *text, long min, long max, int *out)
{
    char *end;
    if (*text == '\0' || isspace((unsigned char)*text))
        return false;
    long v = strtol(text, &end, 10);
    if (*end != '\0' || v < min || v > max)
        return false;
    *out = (int)v;
    return true;
}

static bool parse_days(const char *text, struct sched_job *job)
{
    const char *dots = strstr(text, "..");
    if (strcmp(text, "today") == 0) {
        job->first = job->last = 0;
        return true;
    }
    if (strcmp(text, "yesterday") == 0) {
        job->first = job->last = -1;
        return true;
    }
    if (dots == NULL) {
        if (!parse_int(text, SCHED_MAX_BACK, 0, &job->first))
            return false;
        job->last = job->first;
        return true;
    }
    char first[16];
    size_t n = (size_t)(dots - text);
    if (n == 0 || n >= sizeof(first))
        return false;
    memcpy(first, text, n);
    first[n] = '\0';
    return parse_int(first, SCHED_MAX_BACK, 0, &job->first) &&
           parse_int(dots + 2, SCHED_MAX_BACK, 0, &job->last) &&
           job->first <= job->last;
}

static int cmp_int(const void *a, const void *b)
{
    return *(const int *)a - *(const int *)b;
}

static bool parse_at(const char *text, struct sched_job *job)
{
    job->n_at = 0;
    for (const char *p = text;;) {
        size_t len = strcspn(p, ",");
        int s = parse_clock(p, len);
        if (s < 0 || job->n_at == SCHED_MAX_AT)
            return false;
        job->at[job->n_at++] = s;
        if (p[len] == '\0')
            break;
        p += len + 1;
    }
    qsort(job->at, (size_t)job->n_at, sizeof(job->at[0]), cmp_int);
    for (int i = 1; i < job->n_at; i++)
        if (job->at[i] == job->at[i - 1])
            return false;
    return true;
}

static bool parse_every(const char *text, struct sched_job *job)
{
    char number[16];
    size_t len = strlen(text);
    if (len < 2 || len >= sizeof(number))
        return false;
    char unit = text[len - 1];
    int scale = unit == 's' ? 1 : unit == 'm' ? 60 : unit == 'h' ? 3600 : 0;
    memcpy(number, text, len - 1);
    number[len - 1] = '\0';
    int n;
    if (scale == 0 || !parse_int(number, 1, DAY_SECONDS, &n) ||
        (long)n * scale > DAY_SECONDS || n * scale < SCHED_MIN_EVERY)
        return false;
    job->every = n * scale;
    return true;
}

static bool parse_window(const char *text, struct sched_job *job)
{
    const char *dash = strchr(text, '-');
    if (dash == NULL)
        return false;
    int from = parse_clock(text, (size_t)(dash - text));
    int to = parse_clock(dash + 1, strlen(dash + 1));
    if (from < 0 || to < 0 || to < from)
        return false;
    job->from = from;
    job->to = to + 59; /* the window ends with its last minute */
    return true;
}

static bool parse_name(const char *name, struct sched_job *job)
{
    size_t len = strlen(name);
    if (len == 0 || len >= sizeof(job->name))
        return false;
    for (const char *p = name; *p; p++)
        if (!islower((unsigned char)*p) && !isdigit((unsigned char)*p) &&
            *p != '-')
            return false;
    memcpy(job->name, name, len + 1);
    return true;
}

/* Splits spec into at most max words of at most SPEC_WORD - 1 characters
 * (room for 24 times of day in one word). */
#define SPEC_WORD 160
static int split_words(const char *spec, char words[][SPEC_WORD], int max)
{
    int n = 0;
    for (const char *p = spec;;) {
        p += strspn(p, " \t");
        if (*p == '\0')
            return n;
        size_t len = strcspn(p, " \t");
        if (n == max || len >= SPEC_WORD)
            return -1;
        memcpy(words[n], p, len);
        words[n++][len] = '\0';
        p += len;
    }
}

bool sched_parse_source(const char *text, enum sched_source *out)
{
    if (strcmp(text, "stats") == 0)
        *out = SCHED_STATS;
    else if (strcmp(text, "calls") == 0)
        *out = SCHED_CALLS;
    else if (strcmp(text, "both") == 0 || strcmp(text, "all") == 0)
        *out = SCHED_BOTH;
    else
        return false;
    return true;
}

bool sched_parse(const char *name, const char *spec, struct sched_job *job,
                 char *err, size_t errlen)
{
    char w[7][SPEC_WORD];
    int n = split_words(spec, w, 7);
    memset(job, 0, sizeof(*job));
    job->to = LAST_SECOND;
    if (!parse_name(name, job))
        return fail(err, errlen,
                    "job name \"%s\": expected lower-case letters, digits "
                    "and '-'",
                    name);
    if (n < 4)
        return fail(err, errlen,
                    "\"%s\": expected SOURCE DAYS at HH:MM[,HH:MM...] or "
                    "SOURCE DAYS every N{s,m,h} [HH:MM-HH:MM] [incremental]",
                    spec);
    if (!sched_parse_source(w[0], &job->sources))
        return fail(err, errlen, "source \"%s\": expected stats, calls or both",
                    w[0]);
    if (!parse_days(w[1], job))
        return fail(err, errlen,
                    "days \"%s\": expected today, yesterday, N or A..B with "
                    "offsets from 0 back to -31, A not after B",
                    w[1]);
    bool at = strcmp(w[2], "at") == 0;
    if (at ? !parse_at(w[3], job)
           : strcmp(w[2], "every") != 0 || !parse_every(w[3], job))
        return fail(err, errlen,
                    at ? "times \"%s\": expected HH:MM[,HH:MM...], distinct"
                       : "times \"%s\": expected at HH:MM[,HH:MM...] or every "
                         "N{s,m,h} of 5 s to 24 h",
                    at || strcmp(w[2], "every") == 0 ? w[3] : w[2]);
    int i = 4;
    if (i < n && !at && strchr(w[i], ':') != NULL) {
        if (!parse_window(w[i], job))
            return fail(err, errlen,
                        "window \"%s\": expected HH:MM-HH:MM, the end not "
                        "before the start",
                        w[i]);
        i++;
    }
    if (i < n && strcmp(w[i], "incremental") == 0) {
        if (job->sources != SCHED_CALLS || job->first != 0 || job->last != 0)
            return fail(err, errlen,
                        "\"%s\": incremental is for calls of today only", spec);
        job->incremental = true;
        i++;
    }
    if (i < n)
        return fail(err, errlen, "unexpected \"%s\"", w[i]);
    return true;
}

static size_t append_clock(char *buf, size_t len, size_t used, int seconds)
{
    if (used >= len)
        return used;
    return used + (size_t)snprintf(buf + used, len - used, "%02d:%02d",
                                   seconds / 3600, seconds / 60 % 60);
}

void sched_format(const struct sched_job *job, char *buf, size_t len)
{
    static const char *sources[] = {"", "stats", "calls", "both"};
    size_t u = (size_t)snprintf(buf, len, "%s ", sources[job->sources]);
    if (u < len && job->first == job->last)
        u += (size_t)snprintf(buf + u, len - u, "%s",
                              job->first == 0    ? "today"
                              : job->first == -1 ? "yesterday"
                                                 : "");
    if (u < len && job->first == job->last && job->first < -1)
        u += (size_t)snprintf(buf + u, len - u, "%d", job->first);
    if (u < len && job->first != job->last)
        u +=
            (size_t)snprintf(buf + u, len - u, "%d..%d", job->first, job->last);
    if (job->n_at > 0) {
        u += u < len ? (size_t)snprintf(buf + u, len - u, " at ") : 0;
        for (int i = 0; i < job->n_at; i++) {
            if (i > 0 && u < len)
                buf[u++] = ',';
            u = append_clock(buf, len, u, job->at[i]);
        }
    } else if (u < len) {
        int e = job->every;
        u += (size_t)snprintf(buf + u, len - u, " every %d%s ",
                              e % 3600 == 0 ? e / 3600
                              : e % 60 == 0 ? e / 60
                                            : e,
                              e % 3600 == 0 ? "h"
                              : e % 60 == 0 ? "m"
                                            : "s");
        u = append_clock(buf, len, u, job->from);
        if (u < len)
            buf[u++] = '-';
        u = append_clock(buf, len, u, job->to);
    }
    if (u < len && job->incremental)
        u += (size_t)snprintf(buf + u, len - u, " incremental");
    buf[u < len ? u : len - 1] = '\0';
}

static void add(struct sched_table *t, const char *name, const char *spec)
{
    char err[160];
    /* The defaults are fixed text: a spec that failed here would be a bug
     * caught by the unit tests. */
    if (t->count < SCHED_MAX_JOBS &&
        sched_parse(name, spec, &t->jobs[t->count], err, sizeof(err)))
        t->count++;
}

void sched_defaults(struct sched_table *t)
{
    t->count = 0;
    add(t, "history", "both -10..-1 at 07:00");
    add(t, "recent", "both -3..-1 at 01:00,10:00,15:00,21:00");
    add(t, "close-yesterday", "both yesterday at 00:05");
    add(t, "open-today", "both today at 00:10");
    add(t, "today-stats", "stats today every 1h 09:00-23:59");
    add(t, "today-calls", "calls today every 1m 09:00-23:59 incremental");
}

static struct sched_job *find(struct sched_table *t, const char *name)
{
    for (size_t i = 0; i < t->count; i++)
        if (strcmp(t->jobs[i].name, name) == 0)
            return &t->jobs[i];
    return NULL;
}

/* Applies one CALLSTATS_JOB_<NAME>=VALUE entry. */
static bool apply(struct sched_table *t, const char *entry, char *err,
                  size_t errlen)
{
    const char *eq = strchr(entry, '=');
    size_t plen = strlen(ENV_PREFIX), nlen = (size_t)(eq - entry) - plen;
    char var[96], name[SCHED_NAME_LEN];
    snprintf(var, sizeof(var), "%.*s", (int)(eq - entry), entry);
    if (nlen == 0 || nlen >= sizeof(name)) {
        snprintf(err, errlen, "%s: the job name must be 1 to %d characters",
                 var, SCHED_NAME_LEN - 1);
        return false;
    }
    for (size_t i = 0; i < nlen; i++) {
        char c = entry[plen + i];
        name[i] = c == '_' ? '-' : (char)tolower((unsigned char)c);
    }
    name[nlen] = '\0';
    struct sched_job *old = find(t, name);
    if (strcmp(eq + 1, "off") == 0) {
        if (old != NULL) {
            size_t at = (size_t)(old - t->jobs);
            memmove(old, old + 1, (t->count - at - 1) * sizeof(*old));
            t->count--;
        }
        return true;
    }
    struct sched_job job;
    char why[200];
    if (!sched_parse(name, eq + 1, &job, why, sizeof(why))) {
        snprintf(err, errlen, "%s: %s", var, why);
        return false;
    }
    if (old == NULL && t->count == SCHED_MAX_JOBS) {
        snprintf(err, errlen, "%s: more than %d jobs", var, SCHED_MAX_JOBS);
        return false;
    }
    if (old == NULL)
        old = &t->jobs[t->count++];
    *old = job;
    return true;
}

bool sched_load(struct sched_table *t, char *const *env, char *err,
                size_t errlen)
{
    sched_defaults(t);
    for (char *const *e = env; e != NULL && *e != NULL; e++) {
        if (strncmp(*e, ENV_PREFIX, strlen(ENV_PREFIX)) == 0 &&
            strchr(*e, '=') != NULL && !apply(t, *e, err, errlen))
            return false;
    }
    return true;
}

/* The slots of job on the day starting at midnight, latest at or before t
 * (before == true) or first after t; -1 when the day has none. */
static time_t slot_in_day(const struct sched_job *job, time_t midnight,
                          time_t t, bool before)
{
    time_t found = (time_t)-1;
    if (job->n_at > 0) {
        for (int i = 0; i < job->n_at; i++) {
            time_t s = midnight + job->at[i];
            if (before && s <= t)
                found = s;
            if (!before && s > t)
                return s;
        }
        return found;
    }
    time_t first = midnight + job->from, last = midnight + job->to;
    if (before) {
        if (t < first)
            return (time_t)-1;
        time_t k = ((t < last ? t : last) - first) / job->every;
        return first + k * job->every;
    }
    if (t < first)
        return first;
    time_t next = first + ((t - first) / job->every + 1) * job->every;
    return next <= last ? next : (time_t)-1;
}

time_t sched_latest_slot(const struct sched_job *job, time_t t)
{
    cs_day today = cs_day_of(t);
    for (cs_day d = today; d >= today - 2; d--) {
        time_t s = slot_in_day(job, cs_day_start(d), t, true);
        if (s != (time_t)-1)
            return s;
    }
    return (time_t)-1;
}

time_t sched_next_slot(const struct sched_job *job, time_t t)
{
    cs_day today = cs_day_of(t);
    for (cs_day d = today;; d++) {
        time_t s = slot_in_day(job, cs_day_start(d), t, false);
        if (s != (time_t)-1)
            return s;
    }
}

void sched_days(const struct sched_job *job, time_t slot, cs_day *first,
                cs_day *last)
{
    cs_day today = cs_day_of(slot);
    *first = today + job->first;
    *last = today + job->last;
}

int sched_offset_from(const char *text)
{
    /* FNV-1a: any stable spread will do. */
    unsigned long h = 2166136261UL;
    for (const unsigned char *p = (const unsigned char *)text; *p; p++)
        h = ((h ^ *p) * 16777619UL) & 0xffffffffUL;
    return 1 + (int)(h % 29);
}
