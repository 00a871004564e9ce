/*
 * Writes the simulator's JSON by hand into a growing buffer: fast enough to
 * page a 95,000-call day, and exact about which values are strings.
 */
#include "render.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SALT_FIELDS 2000
#define TASK_NAME   "外呼任务%04d%02d%02d-%02d" /* date and number */

static void reserve(struct sim_buf *b, size_t more)
{
    if (b->len + more + 1 <= b->cap)
        return;
    size_t cap = b->cap < 4096 ? 4096 : b->cap;
    while (cap < b->len + more + 1)
        cap *= 2;
    b->data = sim_realloc(b->data, cap);
    b->cap = cap;
}

void sim_buf_free(struct sim_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

void sim_buf_add(struct sim_buf *b, const char *s, size_t n)
{
    reserve(b, n);
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void sim_buf_puts(struct sim_buf *b, const char *s)
{
    sim_buf_add(b, s, strlen(s));
}

void sim_buf_int(struct sim_buf *b, long long v)
{
    char tmp[24];
    int n = 0;
    unsigned long long u =
        v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    do {
        tmp[sizeof(tmp) - 1 - n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u > 0);
    if (v < 0)
        tmp[sizeof(tmp) - 1 - n++] = '-';
    sim_buf_add(b, tmp + sizeof(tmp) - n, (size_t)n);
}

void sim_buf_str(struct sim_buf *b, const char *s)
{
    if (s == NULL) {
        sim_buf_add(b, "null", 4);
        return;
    }
    reserve(b, strlen(s) * 6 + 2);
    char *out = b->data + b->len;
    *out++ = '"';
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') {
            *out++ = '\\';
            *out++ = (char)*p;
        } else if (*p < 0x20) {
            out += sprintf(out, "\\u%04x", *p);
        } else {
            *out++ = (char)*p;
        }
    }
    *out++ = '"';
    *out = '\0';
    b->len = (size_t)(out - b->data);
}

void sim_buf_printf(struct sim_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n <= 0)
        return;
    reserve(b, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

/* Writes v as exactly `width` digits. */
static void put_digits(char *out, int v, int width)
{
    for (int i = width - 1; i >= 0; i--) {
        out[i] = (char)('0' + v % 10);
        v /= 10;
    }
}

void sim_format_time(time_t t, char *buf)
{
    cs_day day = sim_day_of(t);
    int s = (int)(t - sim_day_start(day));
    int y, mo, d;
    cs_date_to_ymd(day, &y, &mo, &d);
    memcpy(buf, "0000-00-00 00:00:00", 20);
    put_digits(buf, y, 4);
    put_digits(buf + 5, mo, 2);
    put_digits(buf + 8, d, 2);
    put_digits(buf + 11, s / 3600, 2);
    put_digits(buf + 14, s / 60 % 60, 2);
    put_digits(buf + 17, s % 60, 2);
}

/* The names come from tables, not strftime: an HTTP-date is English
 * whatever the locale. */
void sim_http_date(time_t t, char *buf)
{
    static const char *const days[] = {"Sun", "Mon", "Tue", "Wed",
                                       "Thu", "Fri", "Sat"};
    static const char *const months[] = {"Jan", "Feb", "Mar", "Apr",
                                         "May", "Jun", "Jul", "Aug",
                                         "Sep", "Oct", "Nov", "Dec"};
    struct tm tm;
    gmtime_r(&t, &tm);
    snprintf(buf, SIM_HTTP_DATE_LEN, "%s, %02d %s %04d %02d:%02d:%02d GMT",
             days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon],
             (tm.tm_year + 1900) % 10000, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

void sim_record_phone(const struct sim_model *m, const struct sim_day *d, int i,
                      char *buf)
{
    static const char *const prefixes[] = {"13", "15", "18"};
    uint64_t h = sim_hash(m->seed, (uint64_t)sim_record_id(d, i), SALT_FIELDS);
    snprintf(buf, 12, "%s%09llu", prefixes[h % 3],
             (unsigned long long)(h / 3 % 1000000000ULL));
}

/* Appends `"key":` (the key is a literal without escapes). */
static void key(struct sim_buf *b, const char *k)
{
    sim_buf_add(b, ",\"", 2);
    sim_buf_puts(b, k);
    sim_buf_add(b, "\":", 2);
}

static void key_int(struct sim_buf *b, const char *k, long long v)
{
    key(b, k);
    sim_buf_int(b, v);
}

static void key_str(struct sim_buf *b, const char *k, const char *v)
{
    key(b, k);
    sim_buf_str(b, v);
}

/* The first fields: id, then the call time in the record's shape. */
static void render_head(struct sim_buf *b, const struct sim_day *d, int i,
                        uint64_t h)
{
    const struct sim_record *r = &d->records[i];
    sim_buf_add(b, "{\"id\":", 6);
    long long id = sim_record_id(d, i);
    if (r->flags & SIM_REC_ID_TEXT) {
        char text[24];
        snprintf(text, sizeof(text), "%lld", id);
        sim_buf_str(b, text);
    } else {
        sim_buf_int(b, id);
    }
    time_t t = sim_record_time(d, i);
    if (!(r->flags & SIM_REC_SHAPE_B)) {
        key_int(b, "callTime", (long long)t);
        return;
    }
    char start[20], end[20];
    sim_format_time(t, start);
    sim_format_time(t + r->duration + 8 + (time_t)(h % 20), end);
    key_str(b, "startTime", start);
    key_str(b, "endTime", end);
}

/* Task, account and line. */
static void render_task(struct sim_buf *b, const struct sim_model *m,
                        const struct sim_day *d, const struct sim_record *r)
{
    const struct sim_task *t = &d->tasks[r->task];
    int y, mo, dd;
    cs_date_to_ymd(d->day, &y, &mo, &dd);
    char name[64];
    snprintf(name, sizeof(name), TASK_NAME, y % 10000, mo, dd,
             (int)(t->id % 100));
    key_int(b, "taskId", t->id);
    /* The second shape names the task "taskName". */
    key_str(b, (r->flags & SIM_REC_SHAPE_B) ? "taskName" : "TaskName", name);
    key_int(b, "userId", m->accounts[t->account].user_id);
    key_int(b, "deviceId", 7001 + t->device);
    snprintf(name, sizeof(name), "线路%02d", t->device + 1);
    key_str(b, "deviceName", name);
}

/* The customer's number and what the customer's systems attached. */
static void render_customer(struct sim_buf *b, const struct sim_model *m,
                            const struct sim_day *d, int i, uint64_t h)
{
    static const char *const names[] = {"张先生", "李女士", "王先生",
                                        "刘女士", "陈先生", "赵女士"};
    char phone[12], text[128];
    sim_record_phone(m, d, i, phone);
    key_str(b, "phone", phone);
    key_str(b, "realPhone", phone);
    snprintf(text, sizeof(text), "{\"source\":\"crm\",\"batch\":\"B%03d\"}",
             (int)(h % 1000));
    key_str(b, "params", text);
    key_str(b, "remark", h % 7 == 0 ? "老客户回访" : "");
    snprintf(text, sizeof(text), "{\"name\":\"%s\",\"age\":%d}",
             names[h / 7 % 6], 22 + (int)(h / 42 % 40));
    key_str(b, "ext", text);
}

/* The call's outcome, location and recording. */
static void render_outcome(struct sim_buf *b, const struct sim_model *m,
                           const struct sim_day *d, int i, uint64_t h)
{
    static const char *const provinces[] = {
        "广东", "广东", "浙江", "江苏", "四川", "湖北", "山东", "河南",
    };
    static const char *const cities[] = {
        "深圳", "广州", "杭州", "南京", "成都", "武汉", "济南", "郑州",
    };
    const struct sim_record *r = &d->records[i];
    const struct sim_task *t = &d->tasks[r->task];
    bool follow = (r->flags & SIM_REC_FOLLOW) != 0;
    key_int(b, "ccId", follow ? m->accounts[t->account].user_id : 0);
    key_int(b, "isFollow", follow ? 1 : 0);
    key_int(b, "companyId", 3000 + (long long)(m->seed % 97));
    key_int(b, "duration", r->duration);
    key_int(b, "isCall", 1);
    key_str(b, "hangupReason", sim_hangup_reason(r->hangup));
    key_str(b, "grade", sim_label(r->label));
    key_str(b, "province", provinces[h / 11 % 8]);
    key_str(b, "city", cities[h / 11 % 8]);
    key(b, "audio");
    if (!(r->flags & SIM_REC_ANSWERED)) {
        sim_buf_add(b, "\"\"", 2);
        return;
    }
    int y, mo, dd;
    cs_date_to_ymd(d->day, &y, &mo, &dd);
    sim_buf_printf(b, "\"https://audio.sim.invalid/%04d%02d%02d/%lld.wav\"",
                   y % 10000, mo, dd, sim_record_id(d, i));
}

void sim_render_record(struct sim_buf *b, const struct sim_model *m,
                       const struct sim_day *d, int i)
{
    uint64_t h =
        sim_hash(m->seed, (uint64_t)sim_record_id(d, i), SALT_FIELDS + 1);
    render_head(b, d, i, h);
    render_task(b, m, d, &d->records[i]);
    render_customer(b, m, d, i, h);
    render_outcome(b, m, d, i, h);
    sim_buf_add(b, "}", 1);
}
