/*
 * Rows of POST /extension/agent/stat for one day: per account
 * (query_type 1, with the day's totals) and per task (query_type 20).
 */
#ifndef WK_STATS_H
#define WK_STATS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "werr.h"

#define STATS_BY_ACCOUNT 1
#define STATS_BY_TASK    20

struct stats_row {
    char *key; /* username (by account) or task id (by task) */
    int64_t calls_dialled;
    int64_t calls_answered;
    int64_t success_orders;
    int64_t intention_number;
    int64_t intention_number2;
    char *user_id;   /* by account: the account's platform id, or NULL */
    char *task_name; /* by task: the task's name, or NULL */
};

struct stats_table {
    struct stats_row *rows; /* summary rows (总计, 平均) left out */
    size_t count;
    bool has_total;
    struct stats_row total; /* data.total; key is NULL */
};

/* Reads a response's `data` of the given query_type into out (emptied
 * first). Rows of the same key are summed. data.total is required for
 * STATS_BY_ACCOUNT. Reports the field and value of anything unreadable.
 * A row's name beside its key (user_id by account, username by task) is
 * kept when it is text or a number, and left NULL otherwise. */
__attribute__((warn_unused_result)) bool stats_parse(const json_t *data,
                                                     int query_type,
                                                     struct stats_table *out,
                                                     struct werr *err);

void stats_table_free(struct stats_table *table);

#endif
