/* Parsing and de-duplication of call records (see records.h). */
#include "records.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "jfield.h"
#include "log.h"

/* A call talks for at most a day. */
#define MAX_DURATION 86400

/* The upstream's names of each text column; a second name is the other
 * record shape's spelling. */
static const char *const text_fields[REC_TEXT_COUNT][2] = {
    [REC_ID] = {"id", NULL},
    [REC_TASK_ID] = {"taskId", NULL},
    [REC_TASK_NAME] = {"TaskName", "taskName"},
    [REC_USER_ID] = {"userId", NULL},
    [REC_DEVICE_ID] = {"deviceId", NULL},
    [REC_DEVICE_NAME] = {"deviceName", NULL},
    [REC_CC_ID] = {"ccId", NULL},
    [REC_COMPANY_ID] = {"companyId", NULL},
    [REC_HANGUP_REASON] = {"hangupReason", NULL},
    [REC_GRADE] = {"grade", NULL},
    [REC_PROVINCE] = {"province", NULL},
    [REC_CITY] = {"city", NULL},
    [REC_AUDIO] = {"audio", NULL},
};

const char *rec_text(const struct rec_record *rec, enum rec_text which)
{
    int32_t off = rec->offset[which];
    return off < 0 ? NULL : rec->strings + off;
}

static const json_t *member(const json_t *obj, const char *const names[2])
{
    const json_t *v = json_object_get(obj, names[0]);
    if ((v == NULL || json_is_null(v)) && names[1] != NULL)
        v = json_object_get(obj, names[1]);
    return v;
}

static bool read_texts(const json_t *obj, struct rec_record *out,
                       struct buf *strings, struct werr *err)
{
    for (int i = 0; i < REC_TEXT_COUNT; i++) {
        size_t before = strings->len;
        const char *field = text_fields[i][0];
        enum jf_status st =
            jf_text(member(obj, text_fields[i]), field, strings, err);
        if (st == JF_BAD)
            return false;
        out->offset[i] = st == JF_OK ? (int32_t)before : -1;
    }
    const char *id =
        out->offset[REC_ID] < 0 ? "" : strings->data + out->offset[REC_ID];
    if (id[0] == '\0')
        return werr_set(err, "upstream record without id");
    return true;
}

/* An optional whole number: absent leaves *has false. */
static bool read_flag(const json_t *obj, const char *field, int64_t *value,
                      bool *has, struct werr *err)
{
    enum jf_status st = jf_int(json_object_get(obj, field), field, value, err);
    *has = st == JF_OK;
    return st != JF_BAD;
}

static bool read_numbers(const json_t *obj, struct rec_record *out,
                         struct werr *err)
{
    const json_t *start = json_object_get(obj, "callTime");
    const char *start_name = "callTime";
    if (start == NULL || json_is_null(start)) {
        start = json_object_get(obj, "startTime");
        start_name = "startTime";
    }
    if (jf_time(start, start_name, &out->call_time, err) == JF_BAD ||
        jf_time(json_object_get(obj, "endTime"), "endTime", &out->end_time,
                err) == JF_BAD ||
        jf_int(json_object_get(obj, "duration"), "duration", &out->duration,
               err) == JF_BAD)
        return false;
    if (out->duration < 0 || out->duration > MAX_DURATION)
        return werr_set(err,
                        "bad upstream value field=duration value=%lld "
                        "expected=\"talk seconds, 0 to %d\"",
                        (long long)out->duration, MAX_DURATION);
    return read_flag(obj, "isFollow", &out->is_follow, &out->has_is_follow,
                     err) &&
           read_flag(obj, "isCall", &out->is_call, &out->has_is_call, err);
}

bool rec_parse(const json_t *obj, struct rec_record *out, struct werr *err)
{
    struct buf strings = {0};
    memset(out, 0, sizeof(*out));
    if (!json_is_object(obj)) {
        werr_set(err, "upstream record is not an object");
        goto fail;
    }
    if (!read_texts(obj, out, &strings, err) || !read_numbers(obj, out, err))
        goto fail;
    /* Keep only what the text needs: a day holds up to ~95,000 records. */
    char *exact = realloc(strings.data, strings.len);
    out->strings = exact != NULL ? exact : strings.data;
    return true;
fail:
    buf_free(&strings);
    memset(out, 0, sizeof(*out));
    return false;
}

static bool list_push(struct rec_list *list, struct rec_record *rec)
{
    if (list->count == list->cap) {
        size_t cap = list->cap ? list->cap * 2 : 1024;
        struct rec_record *items = realloc(list->items, cap * sizeof(*items));
        if (items == NULL)
            return false;
        list->items = items;
        list->cap = cap;
    }
    rec->seq = (uint32_t)list->count;
    list->items[list->count++] = *rec;
    return true;
}

bool rec_parse_page(const json_t *data, struct rec_list *list,
                    int64_t *total_count, size_t *page_count, struct werr *err)
{
    *page_count = 0;
    if (!json_is_object(data))
        return werr_set(err, "upstream page has no data object");
    if (!jf_int_required(data, "totalCount", total_count, err))
        return false;
    const json_t *rows = json_object_get(data, "data");
    if (rows == NULL || json_is_null(rows))
        return true;
    if (!json_is_array(rows))
        return werr_set(err, "upstream page field=data is not an array");
    size_t i;
    const json_t *row;
    json_array_foreach(rows, i, row)
    {
        struct rec_record rec;
        if (!rec_parse(row, &rec, err))
            return false;
        if (!list_push(list, &rec)) {
            rec_record_free(&rec);
            return werr_set(err, "out of memory at record %zu", list->count);
        }
        (*page_count)++;
    }
    return true;
}

static int by_id_then_seq(const void *a, const void *b)
{
    const struct rec_record *x = a, *y = b;
    int c = strcmp(rec_text(x, REC_ID), rec_text(y, REC_ID));
    if (c != 0)
        return c;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

void rec_dedupe(struct rec_list *list)
{
    if (list->count < 2)
        return;
    qsort(list->items, list->count, sizeof(*list->items), by_id_then_seq);
    size_t out = 0;
    for (size_t i = 0; i < list->count; i++) {
        bool last_of_id = i + 1 == list->count ||
                          strcmp(rec_text(&list->items[i], REC_ID),
                                 rec_text(&list->items[i + 1], REC_ID)) != 0;
        if (last_of_id)
            list->items[out++] = list->items[i];
        else
            rec_record_free(&list->items[i]);
    }
    if (out < list->count)
        cs_debug("duplicate records dropped count=%zu", list->count - out);
    list->count = out;
}

void rec_record_free(struct rec_record *rec)
{
    free(rec->strings);
    rec->strings = NULL;
}

void rec_list_free(struct rec_list *list)
{
    for (size_t i = 0; i < list->count; i++)
        rec_record_free(&list->items[i]);
    free(list->items);
    memset(list, 0, sizeof(*list));
}
