/*
 * A response body of GET /task/cdr/all2 read in one pass with yajl's
 * callbacks, no document built: the envelope's code and message, and the
 * page's records made exactly as rec_parse_page makes them.
 */
#ifndef WK_CDRPAGE_H
#define WK_CDRPAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "records.h"
#include "werr.h"

/* Objects and arrays nested deeper than this are refused; a page has 4
 * levels, 5 with an object in a record's `params`. */
#define CDRPAGE_MAX_DEPTH 64

enum cdrpage_outcome {
    CDRPAGE_OK,        /* JSON whose `data` is a page: records appended */
    CDRPAGE_BAD_PAGE,  /* JSON, but `data` is no page rec_parse_page takes */
    CDRPAGE_NOT_JSON,  /* not JSON, or nested deeper than the limit */
    CDRPAGE_NO_MEMORY, /* memory ran out before the body was read */
};

/* What a body holds, as far as the outcome lets it be known. */
struct cdrpage {
    /* The envelope, known unless the outcome is CDRPAGE_NOT_JSON or
     * CDRPAGE_NO_MEMORY. */
    bool has_code; /* `code` is a whole number by jf_int's rules */
    int64_t code;  /* 0 when not */
    char *message; /* `message` when it is a string, else NULL */
    bool has_data; /* the envelope has a `data` member, null included */
    /* The page, known when the outcome is CDRPAGE_OK. */
    int64_t total_count; /* data.totalCount */
    size_t count;        /* records appended from data.data */
    /* Why the outcome is not CDRPAGE_OK, kept here and not logged:
     * CDRPAGE_NOT_JSON gives the reason and the byte offset but never
     * quotes the body; CDRPAGE_BAD_PAGE gives rec_parse_page's report
     * (the field and its value), which stands only when the envelope
     * says the request succeeded. */
    struct werr problem;
};

/* Reads the len bytes of body into page (which cdrpage_free releases) and,
 * when the outcome is CDRPAGE_OK, appends the page's records to list,
 * whatever the envelope's code: a caller that refuses the page drops
 * them. With any other outcome list is left as it was. */
__attribute__((warn_unused_result)) enum cdrpage_outcome
cdrpage_parse(const char *body, size_t len, struct rec_list *list,
              struct cdrpage *page);

void cdrpage_free(struct cdrpage *page);

#endif
