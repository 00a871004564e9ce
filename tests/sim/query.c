/*
 * Answers the call-record query (/task/cdr/all2): the records of a window
 * of up to 7 days, the clock's cut applied, one page of them.
 */
#include "query.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <civetweb.h>

/* A window touches at most 8 business days. */
#define MAX_SEGMENTS (SIM_MAX_RANGE_DAYS + 2)

/* "YYYY-MM-DD HH:MM:SS" in UTC+8 to Unix seconds. */
static bool parse_time(const char *text, time_t *t)
{
    char date[11];
    cs_day day;
    if (strlen(text) != 19 || text[10] != ' ')
        return false;
    memcpy(date, text, 10);
    date[10] = '\0';
    if (!cs_date_parse(date, &day))
        return false;
    const char *p = text + 11;
    for (int i = 0; i < 8; i++) {
        bool colon = i == 2 || i == 5;
        if (colon ? p[i] != ':' : !isdigit((unsigned char)p[i]))
            return false;
    }
    int h = atoi(p), mi = atoi(p + 3), s = atoi(p + 6);
    if (h > 23 || mi > 59 || s > 59)
        return false;
    *t = sim_day_start(day) + h * 3600 + mi * 60 + s;
    return true;
}

/* A whole number in [min, max]; false when text is anything else. */
static bool parse_number(const char *text, long long min, long long max,
                         long long *value)
{
    char *end;
    if (!isdigit((unsigned char)text[0]) && text[0] != '-')
        return false;
    long long v = strtoll(text, &end, 10);
    if (*end != '\0' || v < min || v > max)
        return false;
    *value = v;
    return true;
}

/* Reads an optional parameter; false when it is there but too long. */
static bool get_param(const char *query, const char *name, char *buf,
                      size_t len, bool *found)
{
    int n = mg_get_var(query, strlen(query), name, buf, len);
    *found = n >= 0;
    return n != -2;
}

static bool parse_window(const char *query, struct sim_cdr_query *q, char *err,
                         size_t errlen)
{
    char buf[64];
    bool found;
    const char *names[2] = {"startTime", "endTime"};
    time_t *ends[2] = {&q->start, &q->end};
    for (int i = 0; i < 2; i++) {
        if (!get_param(query, names[i], buf, sizeof(buf), &found) || !found ||
            !parse_time(buf, ends[i])) {
            snprintf(err, errlen, "%s is required as YYYY-MM-DD HH:MM:SS",
                     names[i]);
            return false;
        }
    }
    if (q->end < q->start) {
        snprintf(err, errlen, "endTime is before startTime");
        return false;
    }
    if (q->end - q->start > SIM_MAX_RANGE_DAYS * 86400) {
        snprintf(err, errlen, "the query range may not exceed %d days",
                 SIM_MAX_RANGE_DAYS);
        q->over_range = true;
        return false;
    }
    return true;
}

/* The optional numeric parameters: page, pageSize, taskId, callState. */
static bool parse_numbers(const char *query, struct sim_cdr_query *q, char *err,
                          size_t errlen)
{
    static const struct {
        const char *name;
        long long min, max, fallback;
    } params[] = {
        {"page", 1, 1000000, 1},
        {"pageSize", 1, 1000000, 20},
        {"taskId", 0, 1LL << 50, -1},
        {"callState", 0, 2, -1},
    };
    long long values[4];
    for (int i = 0; i < 4; i++) {
        char buf[32];
        bool found;
        values[i] = params[i].fallback;
        if (!get_param(query, params[i].name, buf, sizeof(buf), &found) ||
            (found &&
             !parse_number(buf, params[i].min, params[i].max, &values[i]))) {
            snprintf(err, errlen, "%s is not a valid number", params[i].name);
            return false;
        }
    }
    q->page = (int)values[0];
    q->page_size = (int)values[1];
    q->has_task = values[2] >= 0;
    q->task_id = values[2];
    q->call_state = (int)values[3];
    return true;
}

bool sim_cdr_parse(const char *query, struct sim_cdr_query *q, char *err,
                   size_t errlen)
{
    memset(q, 0, sizeof(*q));
    if (query == NULL)
        query = "";
    if (!parse_window(query, q, err, errlen) ||
        !parse_numbers(query, q, err, errlen))
        return false;
    bool found;
    if (!get_param(query, "phone", q->phone, sizeof(q->phone), &found)) {
        snprintf(err, errlen, "phone is too long");
        return false;
    }
    return true;
}

/* The records of one day inside the window: [lo, hi). */
struct segment {
    struct sim_day *day;
    int lo, hi;
};

static int load_segments(struct sim_model *m, const struct sim_cdr_query *q,
                         const struct sim_view *v, struct segment *segs)
{
    int n = 0;
    cs_day today = sim_day_of(v->now);
    for (cs_day day = sim_day_of(q->start);
         day <= sim_day_of(q->end) && n < MAX_SEGMENTS; day++) {
        struct segment *s = &segs[n++];
        s->day = sim_day_get(m, day);
        int visible = sim_day_visible(s->day, v->now);
        if (day == today)
            visible = visible > v->hold ? visible - v->hold : 0;
        s->lo = sim_day_lower_bound(s->day, q->start);
        s->hi = sim_day_lower_bound(s->day, q->end + 1);
        if (s->hi > visible)
            s->hi = visible;
        if (s->lo > s->hi)
            s->lo = s->hi;
    }
    return n;
}

static bool filtered(const struct sim_cdr_query *q)
{
    return q->has_task || q->call_state >= 0 || q->phone[0] != '\0';
}

static bool matches(const struct sim_model *m, const struct sim_cdr_query *q,
                    const struct sim_day *d, int i)
{
    const struct sim_record *r = &d->records[i];
    if (q->has_task && d->tasks[r->task].id != q->task_id)
        return false;
    if (q->call_state == 0)
        return false; /* every simulated call was dialled */
    bool answered = (r->flags & SIM_REC_ANSWERED) != 0;
    if (q->call_state >= 1 && answered != (q->call_state == 2))
        return false;
    if (q->phone[0] != '\0') {
        char phone[12];
        sim_record_phone(m, d, i, phone);
        return strcmp(phone, q->phone) == 0;
    }
    return true;
}

/* How many records of the window match the query. */
static long long count_matching(const struct sim_model *m,
                                const struct sim_cdr_query *q,
                                const struct segment *segs, int n_segs)
{
    long long k = 0;
    bool filter = filtered(q);
    for (int s = 0; s < n_segs; s++) {
        const struct segment *g = &segs[s];
        if (!filter) {
            k += g->hi - g->lo;
            continue;
        }
        for (int i = g->lo; i < g->hi; i++)
            k += matches(m, q, g->day, i);
    }
    return k;
}

/* Renders the matching records [first, first + count) of the window.
 * Without a filter it starts right at the first one, so that a late page
 * of a day of a million records costs what the first page costs. */
static void render_range(struct sim_buf *b, const struct sim_model *m,
                         const struct sim_cdr_query *q,
                         const struct segment *segs, int n_segs,
                         long long first, long long count)
{
    long long k = 0, end = first + count;
    bool any = false, filter = filtered(q);
    for (int s = 0; s < n_segs && k < end; s++) {
        const struct segment *g = &segs[s];
        int i = g->lo;
        if (!filter && k + (g->hi - g->lo) <= first) {
            k += g->hi - g->lo;
            continue;
        }
        if (!filter && k < first) {
            i += (int)(first - k);
            k = first;
        }
        for (; i < g->hi && k < end; i++) {
            if (filter && !matches(m, q, g->day, i))
                continue;
            if (k >= first) {
                if (any)
                    sim_buf_add(b, ",", 1);
                sim_render_record(b, m, g->day, i);
                any = true;
            }
            k++;
        }
    }
}

/* The first of the due page faults that the page [first, first + count)
 * of total records allows. */
static enum sim_page_fault page_fault(unsigned due,
                                      const struct sim_cdr_query *q,
                                      long long first, long long count,
                                      long long total)
{
    bool holds = count > 0 && first < total;
    if ((due & (1u << SIM_PAGE_EMPTY)) && holds)
        return SIM_PAGE_EMPTY;
    if ((due & (1u << SIM_PAGE_REPEAT)) && holds && q->page >= 2)
        return SIM_PAGE_REPEAT;
    if ((due & (1u << SIM_PAGE_SHORT)) && holds && count >= 2 &&
        first + count < total)
        return SIM_PAGE_SHORT;
    return SIM_PAGE_WHOLE;
}

enum sim_page_fault sim_cdr_data(struct sim_buf *b, struct sim_model *m,
                                 const struct sim_cdr_query *q,
                                 const struct sim_view *v)
{
    struct segment segs[MAX_SEGMENTS];
    int n = load_segments(m, q, v, segs);
    long long first = (long long)(q->page - 1) * q->page_size;
    long long count = q->page_size > SIM_MAX_PAGE_SIZE ? 0 : q->page_size;
    if (v->shift && first > 0)
        first--;
    long long total = count_matching(m, q, segs, n);
    enum sim_page_fault fault =
        page_fault(v->page_faults, q, first, count, total);
    if (fault == SIM_PAGE_EMPTY)
        count = 0;
    else if (fault == SIM_PAGE_REPEAT)
        first = first >= count ? first - count : 0;
    else if (fault == SIM_PAGE_SHORT)
        count -= count - 1 < SIM_SHORT_DROP ? count - 1 : SIM_SHORT_DROP;
    sim_buf_puts(b, "{\"data\":[");
    render_range(b, m, q, segs, n, first, count);
    sim_buf_puts(b, "],\"totalCount\":");
    sim_buf_int(b, total);
    sim_buf_printf(b,
                   ",\"page\":%d,\"pageSize\":%d,\"start\":%lld,"
                   "\"end\":%lld}",
                   q->page, q->page_size, (long long)q->start,
                   (long long)q->end);
    for (int s = 0; s < n; s++)
        sim_day_put(m, segs[s].day);
    return fault;
}
