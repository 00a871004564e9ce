/* Parsing of the platform's statistics rows (see stats.h). */
#include "stats.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "jfield.h"
#include "log.h"

/* A count below zero is no count: the row is not believed. */
static bool counts_not_negative(const struct stats_row *row, struct werr *err)
{
    const char *const names[] = {"callout_number", "called_number",
                                 "success_number", "intention_number",
                                 "intention_number2"};
    const int64_t values[] = {row->calls_dialled, row->calls_answered,
                              row->success_orders, row->intention_number,
                              row->intention_number2};
    for (size_t i = 0; i < 5; i++)
        if (values[i] < 0)
            return werr_set(err,
                            "bad upstream value field=%s value=%lld "
                            "expected=\"a count, 0 or more\"",
                            names[i], (long long)values[i]);
    return true;
}

static bool read_counts(const json_t *row, struct stats_row *out,
                        struct werr *err)
{
    static const char *const optional[] = {"intention_number",
                                           "intention_number2"};
    int64_t *targets[] = {&out->intention_number, &out->intention_number2};
    if (!jf_int_required(row, "callout_number", &out->calls_dialled, err) ||
        !jf_int_required(row, "called_number", &out->calls_answered, err) ||
        !jf_int_required(row, "success_number", &out->success_orders, err))
        return false;
    for (size_t i = 0; i < 2; i++) {
        *targets[i] = 0;
        if (jf_int(json_object_get(row, optional[i]), optional[i], targets[i],
                   err) == JF_BAD)
            return false;
    }
    return counts_not_negative(out, err);
}

static bool is_summary_name(const char *name)
{
    return name != NULL &&
           (strcmp(name, "总计") == 0 || strcmp(name, "平均") == 0);
}

static bool names_summary(const json_t *row)
{
    const char *fields[] = {"username", "user_id", "name"};
    for (size_t i = 0; i < 3; i++) {
        const json_t *v = json_object_get(row, fields[i]);
        if (json_is_string(v) && is_summary_name(json_string_value(v)))
            return true;
    }
    return false;
}

/* The row's key: the task id by task, the username (else the user id) by
 * account. */
static bool read_key(const json_t *row, int query_type, char **key,
                     struct werr *err)
{
    const char *fields[] = {"username", "user_id"};
    size_t first = query_type == STATS_BY_TASK ? 1 : 0;
    struct buf text = {0};
    *key = NULL;
    for (size_t i = first; i < 2; i++) {
        if (jf_text(json_object_get(row, fields[i]), fields[i], &text, err) ==
            JF_BAD) {
            buf_free(&text);
            return false;
        }
        if (text.len > 1)
            break;
        buf_reset(&text); /* absent or empty: try the next field */
    }
    if (text.len == 0) {
        buf_free(&text);
        return werr_set(err, "statistics row without field=%s", fields[first]);
    }
    *key = text.data;
    return true;
}

/* The row's name beside its key: the account's platform id (user_id) by
 * account, the task's name (username) by task. It is only shown to
 * readers, so a value that is not text leaves it NULL with a warning
 * rather than failing the day. */
static void read_name(const json_t *row, int query_type, struct stats_row *r)
{
    bool by_task = query_type == STATS_BY_TASK;
    const char *field = by_task ? "username" : "user_id";
    struct jf_value v;
    char dump[JF_DUMP_LEN];
    struct werr why = {{0}};
    struct buf text = {0};
    jf_value_of(json_object_get(row, field), &v, dump);
    enum jf_status st = jf_text_value(&v, field, &text, &why);
    if (st == JF_BAD)
        cs_warn("statistics row without its name key=\"%s\": %s", r->key,
                why.msg);
    if (st == JF_OK && text.len > 1) {
        *(by_task ? &r->task_name : &r->user_id) = text.data;
        return;
    }
    buf_free(&text);
}

static struct stats_row *find_row(struct stats_table *t, const char *key)
{
    for (size_t i = 0; i < t->count; i++)
        if (strcmp(t->rows[i].key, key) == 0)
            return &t->rows[i];
    return NULL;
}

static void add_counts(struct stats_row *to, const struct stats_row *from)
{
    to->calls_dialled += from->calls_dialled;
    to->calls_answered += from->calls_answered;
    to->success_orders += from->success_orders;
    to->intention_number += from->intention_number;
    to->intention_number2 += from->intention_number2;
}

static void free_row(struct stats_row *row)
{
    free(row->key);
    free(row->user_id);
    free(row->task_name);
}

/* A repeated row's name fills in one the first row lacked. */
static void take_name(char **to, char **from)
{
    if (*to == NULL) {
        *to = *from;
        *from = NULL;
    }
}

static bool add_row(struct stats_table *t, struct stats_row *row,
                    struct werr *err)
{
    struct stats_row *same = find_row(t, row->key);
    if (same != NULL) {
        cs_warn("statistics row repeated key=\"%s\": summed", row->key);
        add_counts(same, row);
        take_name(&same->user_id, &row->user_id);
        take_name(&same->task_name, &row->task_name);
        free_row(row);
        return true;
    }
    struct stats_row *rows = realloc(t->rows, (t->count + 1) * sizeof(*rows));
    if (rows == NULL) {
        free_row(row);
        return werr_set(err, "out of memory at statistics row %zu", t->count);
    }
    t->rows = rows;
    t->rows[t->count++] = *row;
    return true;
}

static bool parse_content(const json_t *content, int query_type,
                          struct stats_table *out, struct werr *err)
{
    size_t i;
    const json_t *row;
    if (content == NULL || json_is_null(content))
        return true;
    if (!json_is_array(content))
        return werr_set(err, "statistics field=content is not an array");
    json_array_foreach(content, i, row)
    {
        struct stats_row r = {0};
        if (!json_is_object(row))
            return werr_set(err, "statistics row %zu is not an object", i);
        if (names_summary(row))
            continue;
        if (!read_key(row, query_type, &r.key, err))
            return false;
        if (!read_counts(row, &r, err)) {
            free(r.key);
            return false;
        }
        read_name(row, query_type, &r);
        if (!add_row(out, &r, err))
            return false;
    }
    return true;
}

bool stats_parse(const json_t *data, int query_type, struct stats_table *out,
                 struct werr *err)
{
    memset(out, 0, sizeof(*out));
    if (!json_is_object(data)) {
        werr_set(err,
                 "statistics response has no data object "
                 "query_type=%d",
                 query_type);
        return false;
    }
    if (!parse_content(json_object_get(data, "content"), query_type, out, err))
        goto fail;
    const json_t *total = json_object_get(data, "total");
    if (json_is_object(total)) {
        if (!read_counts(total, &out->total, err))
            goto fail;
        out->has_total = true;
    } else if (query_type == STATS_BY_ACCOUNT) {
        werr_set(err, "statistics response without field=data.total "
                      "query_type=1");
        goto fail;
    }
    return true;
fail:
    stats_table_free(out);
    return false;
}

void stats_table_free(struct stats_table *table)
{
    for (size_t i = 0; i < table->count; i++)
        free_row(&table->rows[i]);
    free(table->rows);
    memset(table, 0, sizeof(*table));
}
