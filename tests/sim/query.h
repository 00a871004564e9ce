/*
 * The two data queries of the upstream contract: call records by time
 * window and page, and the aggregate statistics by day range and
 * dimension; each parsed from the request and answered as JSON.
 */
#ifndef SIM_QUERY_H
#define SIM_QUERY_H

#include <stdbool.h>
#include <stddef.h>

#include "model.h"
#include "render.h"

#define SIM_MAX_RANGE_DAYS 7
#define SIM_MAX_PAGE_SIZE  1000

struct sim_cdr_query {
    time_t start, end; /* the window, both ends included */
    int page, page_size;
    bool has_task;
    long long task_id;
    int call_state;  /* -1 when not filtered */
    char phone[16];  /* "" when not filtered */
    bool over_range; /* refused: the window is over 7 days */
};

/* The faults that bend one CDR page (server.h tells when they are due). */
enum sim_page_fault {
    SIM_PAGE_WHOLE = 0, /* none: the page as it is */
    SIM_PAGE_EMPTY,     /* no records, though the page should hold some */
    SIM_PAGE_REPEAT,    /* page N >= 2 holds page N-1's records */
    SIM_PAGE_SHORT,     /* a page before the last lacks its last records */
};

#define SIM_SHORT_DROP 10 /* records a short page lacks */

/* How the clock and the faults bend what a query sees. */
struct sim_view {
    time_t now;
    int hold;   /* today's newest records not there yet (fault "grow") */
    bool shift; /* pages after the first start one record early */
    unsigned page_faults; /* due ones, bits 1 << SIM_PAGE_* */
};

struct sim_stat_query {
    cs_day from, to;
    int query_type;  /* 1, 2, 10 or 20 */
    bool over_range; /* refused: the range is over 7 days */
};

/* Parses the query string of /task/cdr/all2. False with the reason in err
 * (for the client) on a missing or malformed parameter or a window over 7
 * days (then q->over_range is set). */
bool sim_cdr_parse(const char *query, struct sim_cdr_query *q, char *err,
                   size_t errlen);

/* Appends the response's "data" object. Of the page faults due in v, the
 * first (in the order of enum sim_page_fault) that this page allows is
 * applied: a short page must be a full page before the last, a repeated
 * one page 2 or later, and every one must be a page that holds records.
 * Returns the one applied, SIM_PAGE_WHOLE when none. */
enum sim_page_fault sim_cdr_data(struct sim_buf *b, struct sim_model *m,
                                 const struct sim_cdr_query *q,
                                 const struct sim_view *v);

/* Parses the JSON body of /extension/agent/stat; false with the reason in
 * err as above, q->over_range set when the range is over 7 days. */
bool sim_stat_parse(const char *body, size_t len, struct sim_stat_query *q,
                    char *err, size_t errlen);

/* Appends the response's "data" object: content, total and average. */
void sim_stat_data(struct sim_buf *b, struct sim_model *m,
                   const struct sim_stat_query *q, time_t now);

#endif
