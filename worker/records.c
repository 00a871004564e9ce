/* Parsing and de-duplication of call records (see records.h). */
#include "records.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "jfield.h"
#include "log.h"

/* A call talks for at most a day. */
#define MAX_DURATION 86400

/* The upstream's spelling of each member read. */
static const char *const member_names[REC_M_COUNT] = {
    [REC_M_ID] = "id",
    [REC_M_TASK_ID] = "taskId",
    [REC_M_TASK_NAME] = "TaskName",
    [REC_M_TASK_NAME_OTHER] = "taskName",
    [REC_M_USER_ID] = "userId",
    [REC_M_DEVICE_ID] = "deviceId",
    [REC_M_DEVICE_NAME] = "deviceName",
    [REC_M_CC_ID] = "ccId",
    [REC_M_COMPANY_ID] = "companyId",
    [REC_M_HANGUP_REASON] = "hangupReason",
    [REC_M_GRADE] = "grade",
    [REC_M_PROVINCE] = "province",
    [REC_M_CITY] = "city",
    [REC_M_AUDIO] = "audio",
    [REC_M_CALL_TIME] = "callTime",
    [REC_M_START_TIME] = "startTime",
    [REC_M_END_TIME] = "endTime",
    [REC_M_DURATION] = "duration",
    [REC_M_IS_FOLLOW] = "isFollow",
    [REC_M_IS_CALL] = "isCall",
};

/* The member each text column is read from, and the other record shape's
 * member read instead when the first is missing or null (-1: none). A bad
 * value is reported under the first member's name. */
static const int text_members[REC_TEXT_COUNT][2] = {
    [REC_ID] = {REC_M_ID, -1},
    [REC_TASK_ID] = {REC_M_TASK_ID, -1},
    [REC_TASK_NAME] = {REC_M_TASK_NAME, REC_M_TASK_NAME_OTHER},
    [REC_USER_ID] = {REC_M_USER_ID, -1},
    [REC_DEVICE_ID] = {REC_M_DEVICE_ID, -1},
    [REC_DEVICE_NAME] = {REC_M_DEVICE_NAME, -1},
    [REC_CC_ID] = {REC_M_CC_ID, -1},
    [REC_COMPANY_ID] = {REC_M_COMPANY_ID, -1},
    [REC_HANGUP_REASON] = {REC_M_HANGUP_REASON, -1},
    [REC_GRADE] = {REC_M_GRADE, -1},
    [REC_PROVINCE] = {REC_M_PROVINCE, -1},
    [REC_CITY] = {REC_M_CITY, -1},
    [REC_AUDIO] = {REC_M_AUDIO, -1},
};

int rec_member_find(const char *key, size_t len)
{
    for (int i = 0; i < REC_M_COUNT; i++) {
        const char *name = member_names[i];
        if (len > 0 && name[0] == key[0] && strncmp(name, key, len) == 0 &&
            name[len] == '\0')
            return i;
    }
    return -1;
}

const char *rec_text(const struct rec_record *rec, enum rec_text which)
{
    int32_t off = rec->offset[which];
    return off < 0 ? NULL : rec->strings + off;
}

static bool missing_or_null(const struct jf_value *v)
{
    return v->kind == JF_KIND_MISSING || v->kind == JF_KIND_NULL;
}

static bool read_texts(const struct jf_value *members, struct rec_record *out,
                       struct buf *strings, struct werr *why)
{
    for (int i = 0; i < REC_TEXT_COUNT; i++) {
        size_t before = strings->len;
        int first = text_members[i][0], other = text_members[i][1];
        const struct jf_value *v = &members[first];
        if (missing_or_null(v) && other >= 0)
            v = &members[other];
        enum jf_status st = jf_text_value(v, member_names[first], strings, why);
        if (st == JF_BAD)
            return false;
        out->offset[i] = st == JF_OK ? (int32_t)before : -1;
    }
    const char *id =
        out->offset[REC_ID] < 0 ? "" : strings->data + out->offset[REC_ID];
    if (id[0] == '\0')
        return werr_keep(why, "upstream record without id");
    return true;
}

/* An optional whole number: absent leaves *has false. */
static bool read_flag(const struct jf_value *members, enum rec_member which,
                      int64_t *value, bool *has, struct werr *why)
{
    enum jf_status st =
        jf_int_value(&members[which], member_names[which], value, why);
    *has = st == JF_OK;
    return st != JF_BAD;
}

static bool read_numbers(const struct jf_value *members, struct rec_record *out,
                         struct werr *why)
{
    enum rec_member start = REC_M_CALL_TIME;
    if (missing_or_null(&members[start]))
        start = REC_M_START_TIME;
    if (jf_time_value(&members[start], member_names[start], &out->call_time,
                      why) == JF_BAD ||
        jf_time_value(&members[REC_M_END_TIME], "endTime", &out->end_time,
                      why) == JF_BAD ||
        jf_int_value(&members[REC_M_DURATION], "duration", &out->duration,
                     why) == JF_BAD)
        return false;
    if (out->duration < 0 || out->duration > MAX_DURATION)
        return werr_keep(why,
                         "bad upstream value field=duration value=%lld "
                         "expected=\"talk seconds, 0 to %d\"",
                         (long long)out->duration, MAX_DURATION);
    return read_flag(members, REC_M_IS_FOLLOW, &out->is_follow,
                     &out->has_is_follow, why) &&
           read_flag(members, REC_M_IS_CALL, &out->is_call, &out->has_is_call,
                     why);
}

bool rec_build(const struct jf_value members[REC_M_COUNT], struct buf *scratch,
               struct rec_record *out, struct werr *why)
{
    memset(out, 0, sizeof(*out));
    buf_reset(scratch);
    if (!read_texts(members, out, scratch, why) ||
        !read_numbers(members, out, why))
        goto fail;
    /* Exactly what the text needs: a day holds up to ~95,000 records. */
    out->strings = malloc(scratch->len);
    if (out->strings == NULL) {
        werr_keep(why, "out of memory reading a record");
        goto fail;
    }
    memcpy(out->strings, scratch->data, scratch->len);
    return true;
fail:
    memset(out, 0, sizeof(*out));
    return false;
}

bool rec_parse(const json_t *obj, struct rec_record *out, struct werr *err)
{
    memset(out, 0, sizeof(*out));
    if (!json_is_object(obj))
        return werr_set(err, "upstream record is not an object");
    struct jf_value members[REC_M_COUNT];
    char dumps[REC_M_COUNT][JF_DUMP_LEN];
    for (int i = 0; i < REC_M_COUNT; i++)
        jf_value_of(json_object_get(obj, member_names[i]), &members[i],
                    dumps[i]);
    struct buf scratch = {0};
    struct werr why;
    werr_clear(&why);
    bool ok = rec_build(members, &scratch, out, &why);
    buf_free(&scratch);
    return ok || werr_set(err, "%s", why.msg);
}

bool rec_list_push(struct rec_list *list, struct rec_record *rec)
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
        if (!rec_list_push(list, &rec)) {
            rec_record_free(&rec);
            return werr_set(err, "out of memory at record %zu", list->count);
        }
        (*page_count)++;
    }
    return true;
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
