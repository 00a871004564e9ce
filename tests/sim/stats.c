/*
 * Answers the aggregate statistics query (/extension/agent/stat): rows per
 * account, group, line or task over up to 7 days, with total and average,
 * summed from the same records the call-record query serves.
 */
#include "query.h"

#include <stdio.h>
#include <string.h>

#include <jansson.h>

#define SALT_EXTRA_ROWS 3000
#define N_GROUPS        4 /* three seat groups and the admin's */
#define N_DEVICES       6
#define MAX_ROWS        (SIM_MAX_RANGE_DAYS * SIM_MAX_TASKS)

struct row {
    long long user_id;
    char username[48];
    long long callout, called, success, intention, intention2;
};

static bool parse_date_field(json_t *root, const char *name, cs_day *day,
                             char *err, size_t errlen)
{
    const char *text = json_string_value(json_object_get(root, name));
    if (text == NULL || !cs_date_parse(text, day)) {
        snprintf(err, errlen, "%s is required as YYYY-MM-DD", name);
        return false;
    }
    return true;
}

static bool parse_type(json_t *root, int *type, char *err, size_t errlen)
{
    json_t *v = json_object_get(root, "query_type");
    long long t = -1;
    if (json_is_integer(v))
        t = json_integer_value(v);
    else if (json_is_string(v))
        sscanf(json_string_value(v), "%lld", &t);
    if (t != 1 && t != 2 && t != 10 && t != 20) {
        snprintf(err, errlen, "query_type must be 1, 2, 10 or 20");
        return false;
    }
    *type = (int)t;
    return true;
}

bool sim_stat_parse(const char *body, size_t len, struct sim_stat_query *q,
                    char *err, size_t errlen)
{
    json_error_t jerr;
    json_t *root = json_loadb(body, len, 0, &jerr);
    bool ok = false;
    q->over_range = false;
    if (!json_is_object(root)) {
        snprintf(err, errlen, "the body is not a JSON object");
        goto done;
    }
    if (!parse_date_field(root, "start_time", &q->from, err, errlen) ||
        !parse_date_field(root, "end_time", &q->to, err, errlen) ||
        !parse_type(root, &q->query_type, err, errlen))
        goto done;
    if (q->to < q->from) {
        snprintf(err, errlen, "end_time is before start_time");
        goto done;
    }
    if (q->to - q->from + 1 > SIM_MAX_RANGE_DAYS) {
        snprintf(err, errlen, "the query range may not exceed %d days",
                 SIM_MAX_RANGE_DAYS);
        q->over_range = true;
        goto done;
    }
    ok = true;
done:
    json_decref(root);
    return ok;
}

/* The row a record counts in, naming it on first use. */
static struct row *row_of(const struct sim_model *m, const struct sim_day *d,
                          int offset, const struct sim_record *r, int type,
                          struct row *rows)
{
    static const char *const groups[N_GROUPS] = {"一组", "二组", "三组",
                                                 "管理组"};
    const struct sim_task *t = &d->tasks[r->task];
    const struct sim_account *a = &m->accounts[t->account];
    int admin = t->account == m->n_seats;
    struct row *row;
    if (type == 1) {
        row = &rows[t->account];
        row->user_id = a->user_id;
        snprintf(row->username, sizeof(row->username), "%s", a->username);
    } else if (type == 2) {
        int g = admin ? N_GROUPS - 1 : t->account % (N_GROUPS - 1);
        row = &rows[g];
        row->user_id = g + 1;
        snprintf(row->username, sizeof(row->username), "%s", groups[g]);
    } else if (type == 10) {
        row = &rows[t->device];
        row->user_id = 7001 + t->device;
        snprintf(row->username, sizeof(row->username), "线路%02d",
                 t->device + 1);
    } else {
        row = &rows[offset * SIM_MAX_TASKS + r->task];
        row->user_id = t->id;
        snprintf(row->username, sizeof(row->username), "任务%lld", t->id);
    }
    return row;
}

static void count_day(const struct sim_model *m, const struct sim_day *d,
                      int offset, time_t now, int type, struct row *rows)
{
    int n = sim_day_visible(d, now);
    for (int i = 0; i < n; i++) {
        const struct sim_record *r = &d->records[i];
        struct row *row = row_of(m, d, offset, r, type, rows);
        bool answered = (r->flags & SIM_REC_ANSWERED) != 0;
        row->callout++;
        row->called += answered;
        row->success += (r->flags & SIM_REC_SUCCESS) != 0;
        if (type == 20) {
            row->intention += answered;
        } else {
            row->intention += answered && r->duration >= 40;
            row->intention2 += (r->flags & SIM_REC_FOLLOW) != 0;
        }
    }
}

static void put_number(struct sim_buf *b, const char *key, long long v,
                       bool as_string)
{
    sim_buf_printf(b, ",\"%s\":", key);
    if (as_string)
        sim_buf_printf(b, "\"%lld\"", v);
    else
        sim_buf_int(b, v);
}

static void put_row(struct sim_buf *b, const struct row *r, bool as_string)
{
    sim_buf_puts(b, "{\"user_id\":");
    if (as_string)
        sim_buf_printf(b, "\"%lld\"", r->user_id);
    else
        sim_buf_int(b, r->user_id);
    sim_buf_puts(b, ",\"username\":");
    sim_buf_str(b, r->username);
    put_number(b, "callout_number", r->callout, as_string);
    put_number(b, "called_number", r->called, as_string);
    sim_buf_printf(
        b, ",\"connected_rate\":\"%.2f%%\"",
        r->callout > 0 ? 100.0 * (double)r->called / (double)r->callout : 0.0);
    put_number(b, "success_number", r->success, as_string);
    put_number(b, "intention_number", r->intention, as_string);
    put_number(b, "intention_number2", r->intention2, as_string);
    sim_buf_puts(b, "}");
}

/* Sums the rows with calls into total and averages them into average;
 * returns how many rows have calls. */
static int summarise(const struct row *rows, int n_rows, struct row *total,
                     struct row *average)
{
    int used = 0;
    memset(total, 0, sizeof(*total));
    for (int i = 0; i < n_rows; i++) {
        if (rows[i].callout == 0)
            continue;
        used++;
        total->callout += rows[i].callout;
        total->called += rows[i].called;
        total->success += rows[i].success;
        total->intention += rows[i].intention;
        total->intention2 += rows[i].intention2;
    }
    snprintf(total->username, sizeof(total->username), "总计");
    *average = *total;
    snprintf(average->username, sizeof(average->username), "平均");
    if (used > 0) {
        long long *f[] = {&average->callout, &average->called,
                          &average->success, &average->intention,
                          &average->intention2};
        for (size_t k = 0; k < sizeof(f) / sizeof(f[0]); k++)
            *f[k] = (*f[k] + used / 2) / used;
    }
    return used;
}

static void put_content(struct sim_buf *b, const struct row *rows, int n_rows,
                        const struct row *extra, int n_extra, bool as_string)
{
    bool any = false;
    sim_buf_puts(b, "{\"content\":[");
    for (int i = 0; i < n_rows + n_extra; i++) {
        const struct row *r = i < n_rows ? &rows[i] : &extra[i - n_rows];
        if (r->callout == 0 && i < n_rows)
            continue;
        if (any)
            sim_buf_puts(b, ",");
        put_row(b, r, as_string);
        any = true;
    }
    sim_buf_puts(b, "]");
}

void sim_stat_data(struct sim_buf *b, struct sim_model *m,
                   const struct sim_stat_query *q, time_t now)
{
    static struct row zero;
    struct row rows[MAX_ROWS], sums[2];
    for (int i = 0; i < MAX_ROWS; i++)
        rows[i] = zero;
    for (cs_day day = q->from; day <= q->to; day++) {
        struct sim_day *d = sim_day_get(m, day);
        count_day(m, d, day - q->from, now, q->query_type, rows);
        sim_day_put(m, d);
    }
    summarise(rows, MAX_ROWS, &sums[0], &sums[1]);
    int year, month, mday;
    cs_date_to_ymd(q->from, &year, &month, &mday);
    bool as_string = mday % 2 == 1;
    bool extra =
        q->query_type == 1 &&
        sim_hash(m->seed, (uint64_t)q->from, SALT_EXTRA_ROWS) % 3 == 0 &&
        sums[0].callout > 0;
    put_content(b, rows, MAX_ROWS, sums, extra ? 2 : 0, as_string);
    sim_buf_puts(b, ",\"total\":");
    put_row(b, &sums[0], as_string);
    sim_buf_puts(b, ",\"average\":");
    put_row(b, &sums[1], as_string);
    sim_buf_puts(b, "}");
}
