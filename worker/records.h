/*
 * Call records of /task/cdr/all2 turned into compact rows as each page
 * arrives: the fields we store, never the customer's numbers or free text.
 */
#ifndef WK_RECORDS_H
#define WK_RECORDS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "jfield.h"
#include "werr.h"

/* The text columns of a record, in call_records' order. */
enum rec_text {
    REC_ID,
    REC_TASK_ID,
    REC_TASK_NAME,
    REC_USER_ID,
    REC_DEVICE_ID,
    REC_DEVICE_NAME,
    REC_CC_ID,
    REC_COMPANY_ID,
    REC_HANGUP_REASON,
    REC_GRADE,
    REC_PROVINCE,
    REC_CITY,
    REC_AUDIO,
    REC_TEXT_COUNT,
};

struct rec_record {
    char *strings;                  /* every text value, one allocation */
    int32_t offset[REC_TEXT_COUNT]; /* into strings; -1 when absent */
    int64_t call_time;              /* Unix seconds; 0 when absent */
    int64_t end_time;               /* Unix seconds; 0 when absent */
    int64_t duration;               /* talk seconds; 0 when absent */
    int64_t is_follow, is_call;     /* valid when the has_ flag is set */
    bool has_is_follow, has_is_call;
    uint32_t seq; /* the order records were fetched in */
};

struct rec_list {
    struct rec_record *items;
    size_t count;
    size_t cap;
};

/* The members of a record object that rec_parse reads. */
enum rec_member {
    REC_M_ID,
    REC_M_TASK_ID,
    REC_M_TASK_NAME,       /* "TaskName" */
    REC_M_TASK_NAME_OTHER, /* "taskName", the second shape's */
    REC_M_USER_ID,
    REC_M_DEVICE_ID,
    REC_M_DEVICE_NAME,
    REC_M_CC_ID,
    REC_M_COMPANY_ID,
    REC_M_HANGUP_REASON,
    REC_M_GRADE,
    REC_M_PROVINCE,
    REC_M_CITY,
    REC_M_AUDIO,
    REC_M_CALL_TIME,
    REC_M_START_TIME,
    REC_M_END_TIME,
    REC_M_DURATION,
    REC_M_IS_FOLLOW,
    REC_M_IS_CALL,
    REC_M_COUNT,
};

/* The member spelt key (len bytes, no NUL needed); -1 for a member
 * rec_parse does not read. */
int rec_member_find(const char *key, size_t len);

/* The text of column which of rec, NULL when the upstream gave none. */
const char *rec_text(const struct rec_record *rec, enum rec_text which);

/* Reads one record object of either shape. On failure (no id, a field
 * that is not what it should be) reports the field and value; out is then
 * left empty. */
__attribute__((warn_unused_result)) bool
rec_parse(const json_t *obj, struct rec_record *out, struct werr *err);

/* The record made of members (indexed by enum rec_member,
 * JF_KIND_MISSING for those absent): rec_parse's rules, for it and for
 * parsers other than jansson. scratch is working space the caller may
 * reuse. On failure the message is kept in why, not logged, and out is
 * left empty. */
__attribute__((warn_unused_result)) bool
rec_build(const struct jf_value members[REC_M_COUNT], struct buf *scratch,
          struct rec_record *out, struct werr *why);

/* Moves rec to the end of list, numbering it in fetch order; false when
 * out of memory (rec is then still the caller's). */
__attribute__((warn_unused_result)) bool rec_list_push(struct rec_list *list,
                                                       struct rec_record *rec);

/* Reads a page's `data` object: appends its records to list, sets
 * total_count from data.totalCount and page_count to the page's records. */
__attribute__((warn_unused_result)) bool
rec_parse_page(const json_t *data, struct rec_list *list, int64_t *total_count,
               size_t *page_count, struct werr *err);

void rec_record_free(struct rec_record *rec);
void rec_list_free(struct rec_list *list);

#endif
