/* The streaming reader of CDR pages (see cdrpage.h). */
#include "cdrpage.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_parse.h>

#include "buf.h"
#include "jfield.h"

/* What a container is to the page. */
enum role {
    ROLE_ENVELOPE, /* the body's object */
    ROLE_DATA,     /* the envelope's `data` object */
    ROLE_ROWS,     /* data.data, the array of records */
    ROLE_RECORD,   /* one record */
    ROLE_DUMP,     /* inside a value an error report may show */
    ROLE_SKIP,     /* anything else: read past, never kept */
};

/* Where the value about to be read belongs. */
enum slot {
    SLOT_ROOT,    /* the body itself */
    SLOT_SKIP,    /* nowhere */
    SLOT_DUMP,    /* the JSON text of the value being dumped */
    SLOT_CODE,    /* the envelope's code */
    SLOT_MESSAGE, /* the envelope's message */
    SLOT_DATA,    /* the envelope's data */
    SLOT_TOTAL,   /* data.totalCount */
    SLOT_ROWS,    /* data.data */
    SLOT_ROW,     /* an element of data.data */
    SLOT_MEMBER,  /* a record member rec_build reads */
};

struct frame {
    unsigned char role;
    bool is_array;
    bool empty; /* ROLE_DUMP: nothing written inside it yet */
};

/* A value kept to be read once the whole body is known to be JSON: a
 * later duplicate key replaces it, as jansson's last one wins. */
struct held {
    struct jf_value value;
    struct buf text; /* its string, or the start of its JSON */
};

/* What data.data turned out to be. */
enum rows_state {
    ROWS_NONE, /* missing or null: no records */
    ROWS_ARRAY,
    ROWS_OTHER,
};

struct reader {
    yajl_handle yajl;
    const char *body;
    size_t len;
    struct frame stack[CDRPAGE_MAX_DEPTH];
    int depth;
    enum slot next; /* in an object, the slot of the key just read */
    int member;     /* SLOT_MEMBER: which, an enum rec_member */
    /* The held value whose JSON is being written, and the depth its
     * outermost container opened at. */
    struct held *dump;
    int dump_depth;
    /* The envelope. */
    struct held code;
    struct buf message;
    bool has_message, has_data;
    /* The page. */
    bool data_is_object;
    struct held total;
    enum rows_state rows;
    struct rec_list *list;
    size_t list_start; /* list->count before this page */
    size_t count;      /* records of this page appended */
    bool rows_failed;  /* a record was bad: the rest are read past */
    struct werr rows_problem;
    /* The record being read. */
    struct held members[REC_M_COUNT];
    struct jf_value values[REC_M_COUNT]; /* members[].value for rec_build */
    struct buf scratch;
    /* Why the parse was stopped short of yajl's own errors, and where. */
    struct werr stop;
    size_t stop_at;
    bool finishing; /* in yajl_complete_parse */
    bool out_of_memory;
};

/* Where yajl is in the body; yajl_complete_parse counts from a chunk of
 * its own. */
static size_t position(const struct reader *r)
{
    return r->finishing ? r->len : yajl_get_bytes_consumed(r->yajl);
}

/* Stops the parse: the body is not JSON as jansson reads it. */
static int refuse(struct reader *r, const char *why)
{
    werr_keep(&r->stop, "%s", why);
    r->stop_at = position(r);
    return 0;
}

static int no_memory(struct reader *r)
{
    r->out_of_memory = true;
    return 0;
}

/* Dumps: the compact JSON jansson would write of a value, as far as an
 * error report shows it (JF_DUMP_LEN - 1 bytes). */

static bool dump_raw(struct reader *r, const char *s, size_t n)
{
    struct buf *b = &r->dump->text;
    size_t room = JF_DUMP_LEN - 1 > b->len ? JF_DUMP_LEN - 1 - b->len : 0;
    if (n > room)
        n = room;
    return n == 0 || buf_append(b, s, n);
}

static bool dump_string(struct reader *r, const char *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    if (!dump_raw(r, "\"", 1))
        return false;
    for (size_t i = 0; i < n && r->dump->text.len < JF_DUMP_LEN - 1; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc[7] = {'\\', 0};
        size_t elen = 2;
        switch (c) {
        case '"':
        case '\\':
            esc[1] = (char)c;
            break;
        case '\b':
            esc[1] = 'b';
            break;
        case '\f':
            esc[1] = 'f';
            break;
        case '\n':
            esc[1] = 'n';
            break;
        case '\r':
            esc[1] = 'r';
            break;
        case '\t':
            esc[1] = 't';
            break;
        default:
            if (c >= 0x20) {
                esc[0] = (char)c;
                elen = 1;
                break;
            }
            memcpy(esc + 1, "u00", 3);
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            elen = 6;
        }
        if (!dump_raw(r, esc, elen))
            return false;
    }
    return dump_raw(r, "\"", 1);
}

static bool dump_scalar(struct reader *r, const struct jf_value *v,
                        const char *s, size_t n)
{
    char text[40];
    switch (v->kind) {
    case JF_KIND_STRING:
        return dump_string(r, s, n);
    case JF_KIND_INTEGER:
        snprintf(text, sizeof(text), "%lld", (long long)v->integer);
        break;
    case JF_KIND_REAL:
        jf_format_real(v->real, text, sizeof(text));
        break;
    case JF_KIND_BOOL:
        snprintf(text, sizeof(text), "%s", v->truth ? "true" : "false");
        break;
    default:
        snprintf(text, sizeof(text), "null");
        break;
    }
    return dump_raw(r, text, strlen(text));
}

/* The comma before all but the first member or element of a dumped
 * container. */
static bool dump_separator(struct reader *r)
{
    struct frame *f = &r->stack[r->depth - 1];
    if (f->empty) {
        f->empty = false;
        return true;
    }
    return dump_raw(r, ",", 1);
}

/* Keeps a scalar for reading later; s (n bytes) is a string's text. */
static bool hold(struct held *h, const struct jf_value *v, const char *s,
                 size_t n)
{
    h->value = *v;
    if (v->kind != JF_KIND_STRING)
        return true;
    buf_reset(&h->text);
    if (!buf_append(&h->text, s, n))
        return false;
    h->value.text = h->text.data;
    return true;
}

/* Records: appended as each closes, so that the page is never held. */

static void drop_rows(struct reader *r)
{
    for (size_t i = r->list_start; i < r->list->count; i++)
        rec_record_free(&r->list->items[i]);
    r->list->count = r->list_start;
    r->count = 0;
    r->rows = ROWS_NONE;
    r->rows_failed = false;
    werr_clear(&r->rows_problem);
}

static void drop_data(struct reader *r)
{
    r->data_is_object = false;
    r->total.value.kind = JF_KIND_MISSING;
    drop_rows(r);
}

/* The first bad record fails the page; the rest are only read past. */
static void fail_rows(struct reader *r, const char *why)
{
    if (!r->rows_failed)
        werr_keep(&r->rows_problem, "%s", why);
    r->rows_failed = true;
}

static void start_record(struct reader *r)
{
    for (int i = 0; i < REC_M_COUNT; i++)
        r->members[i].value.kind = JF_KIND_MISSING;
}

static void finish_record(struct reader *r)
{
    struct rec_record rec;
    for (int i = 0; i < REC_M_COUNT; i++)
        r->values[i] = r->members[i].value;
    if (!rec_build(r->values, &r->scratch, &rec, &r->rows_problem)) {
        r->rows_failed = true;
        return;
    }
    if (!rec_list_push(r->list, &rec)) {
        rec_record_free(&rec);
        werr_keep(&r->rows_problem, "out of memory at record %zu",
                  r->list->count);
        r->rows_failed = true;
        return;
    }
    r->count++;
}

/* The key of the envelope or of its data object: what its value is. */
static enum slot envelope_slot(const char *key, size_t n)
{
    if (n == 4 && memcmp(key, "code", 4) == 0)
        return SLOT_CODE;
    if (n == 7 && memcmp(key, "message", 7) == 0)
        return SLOT_MESSAGE;
    if (n == 4 && memcmp(key, "data", 4) == 0)
        return SLOT_DATA;
    return SLOT_SKIP;
}

static enum slot data_slot(const char *key, size_t n)
{
    if (n == 10 && memcmp(key, "totalCount", 10) == 0)
        return SLOT_TOTAL;
    if (n == 4 && memcmp(key, "data", 4) == 0)
        return SLOT_ROWS;
    return SLOT_SKIP;
}

static enum slot value_slot(const struct reader *r)
{
    if (r->depth == 0)
        return SLOT_ROOT;
    const struct frame *f = &r->stack[r->depth - 1];
    if (!f->is_array)
        return r->next;
    if (f->role == ROLE_ROWS)
        return SLOT_ROW;
    return f->role == ROLE_DUMP ? SLOT_DUMP : SLOT_SKIP;
}

/* The held value a slot keeps, if any. */
static struct held *slot_held(struct reader *r, enum slot slot)
{
    switch (slot) {
    case SLOT_CODE:
        return &r->code;
    case SLOT_TOTAL:
        return &r->total;
    case SLOT_MEMBER:
        return &r->members[r->member];
    default:
        return NULL;
    }
}

/* Strings: jansson, which read these bodies before, refuses some that
 * yajl lets through; the two must take the same bodies. */

/* Strict UTF-8: no overlong forms, no surrogates, nothing past U+10FFFF. */
static bool strict_utf8(const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        /* Most text is ASCII: eight bytes at a time while it lasts. */
        if (n - i >= 8) {
            uint64_t word;
            memcpy(&word, s + i, 8);
            if ((word & 0x8080808080808080u) == 0) {
                i += 8;
                continue;
            }
        }
        unsigned c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t more = c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : 1;
        unsigned lowest = more == 3 ? 0x10000 : more == 2 ? 0x800 : 0x80;
        unsigned cp = c & (0x3F >> more);
        if (c < 0xC2 || c > 0xF4 || n - i <= more)
            return false;
        for (size_t k = 1; k <= more; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return false;
            cp = cp << 6 | (s[i + k] & 0x3F);
        }
        if (cp < lowest || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        i += more + 1;
    }
    return true;
}

static unsigned hex4(const unsigned char *s)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned c = s[i];
        v = v << 4 | (c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
    }
    return v;
}

/* The \u escapes of a string as written (yajl checked their form): no
 * \u0000 and no surrogate outside a high-low pair, which yajl would turn
 * into '?' or a wrong character. */
static bool escapes_paired(const unsigned char *s, size_t n)
{
    for (size_t i = 0; i + 5 < n; i++) {
        if (s[i] != '\\')
            continue;
        if (s[++i] != 'u')
            continue;
        unsigned cp = hex4(s + i + 1);
        i += 4;
        if (cp == 0 || (cp >= 0xDC00 && cp <= 0xDFFF))
            return false;
        if (cp < 0xD800 || cp > 0xDBFF)
            continue;
        if (i + 6 >= n || s[i + 1] != '\\' || s[i + 2] != 'u')
            return false;
        unsigned low = hex4(s + i + 3);
        if (low < 0xDC00 || low > 0xDFFF)
            return false;
        i += 6;
    }
    return true;
}

/* The string token yajl just read, between its quotes, when it had
 * escapes (yajl then hands over a decoded copy): it ends where yajl
 * stopped reading, and starts at the first quote before that which no
 * backslash escapes. */
static bool written_string(const struct reader *r, const unsigned char **s,
                           size_t *n)
{
    const unsigned char *body = (const unsigned char *)r->body;
    size_t end = yajl_get_bytes_consumed(r->yajl);
    if (end < 2 || end > r->len || body[end - 1] != '"')
        return false;
    for (size_t i = end - 1; i-- > 0;) {
        if (body[i] != '"')
            continue;
        size_t slashes = 0;
        while (slashes < i && body[i - 1 - slashes] == '\\')
            slashes++;
        if (slashes % 2 == 0) {
            *s = body + i + 1;
            *n = end - 2 - i;
            return true;
        }
    }
    return false;
}

/* What yajl makes of a surrogate escape it cannot pair: '?', or a
 * 4-byte character whatever the second escape was. */
static bool may_hide_surrogate(const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] == '?' || s[i] >= 0xF0)
            return true;
    return false;
}

/* A string must be strict UTF-8. One that had escapes (yajl hands those
 * over decoded, elsewhere than in the body) must not have had \u0000, and
 * when it may hide a surrogate escape its escapes as written are checked. */
static bool check_string(struct reader *r, const unsigned char *s, size_t n)
{
    uintptr_t at = (uintptr_t)s, body = (uintptr_t)r->body;
    bool decoded = at < body || at - body >= r->len;
    bool ok = strict_utf8(s, n);
    if (ok && decoded)
        ok = memchr(s, '\0', n) == NULL;
    const unsigned char *w;
    size_t wn;
    /* When the string is not found where expected (another yajl?), only
     * unpaired surrogates go unnoticed. */
    if (ok && decoded && may_hide_surrogate(s, n) && written_string(r, &w, &wn))
        ok = escapes_paired(w, wn);
    if (!ok)
        return refuse(r, "a string is not valid UTF-8 or has a \\u escape "
                         "of NUL or of an unpaired surrogate");
    return true;
}

/* Numbers: integers must fit 64 bits and reals a double, or jansson
 * refuses the body. */
static bool read_number(struct reader *r, const char *s, size_t n,
                        struct jf_value *v)
{
    bool is_real = false;
    for (size_t i = 0; i < n; i++)
        is_real |= s[i] == '.' || s[i] == 'e' || s[i] == 'E';
    memset(v, 0, sizeof(*v));
    if (!is_real) {
        bool negative = s[0] == '-';
        uint64_t limit = negative ? (uint64_t)INT64_MAX + 1 : INT64_MAX;
        uint64_t mag = 0;
        for (size_t i = negative; i < n; i++) {
            unsigned digit = (unsigned)(s[i] - '0');
            if (mag > (limit - digit) / 10)
                return refuse(r, "an integer does not fit 64 bits");
            mag = mag * 10 + digit;
        }
        v->kind = JF_KIND_INTEGER;
        v->integer = !negative      ? (int64_t)mag
                     : mag == limit ? INT64_MIN
                                    : -(int64_t)mag;
        return true;
    }
    char small[64];
    char *text = n < sizeof(small) ? small : malloc(n + 1);
    if (text == NULL)
        return no_memory(r);
    memcpy(text, s, n);
    text[n] = '\0';
    errno = 0;
    double d = strtod(text, NULL);
    bool overflow = (d == HUGE_VAL || d == -HUGE_VAL) && errno == ERANGE;
    if (text != small)
        free(text);
    if (overflow)
        return refuse(r, "a real number is too large");
    v->kind = JF_KIND_REAL;
    v->real = d;
    return true;
}

/* The callbacks. */

static int on_scalar(struct reader *r, const struct jf_value *v, const char *s,
                     size_t n)
{
    enum slot slot = value_slot(r);
    struct held *h = slot_held(r, slot);
    if (h != NULL)
        return hold(h, v, s, n) || no_memory(r);
    switch (slot) {
    case SLOT_ROOT:
        return refuse(r, "the body is neither an object nor an array");
    case SLOT_DUMP:
        if (r->stack[r->depth - 1].is_array && !dump_separator(r))
            return no_memory(r);
        return dump_scalar(r, v, s, n) || no_memory(r);
    case SLOT_MESSAGE:
        r->has_message = v->kind == JF_KIND_STRING;
        buf_reset(&r->message);
        return !r->has_message || buf_append(&r->message, s, n) || no_memory(r);
    case SLOT_DATA:
        drop_data(r);
        r->has_data = true;
        return 1;
    case SLOT_ROWS:
        drop_rows(r);
        r->rows = v->kind == JF_KIND_NULL ? ROWS_NONE : ROWS_OTHER;
        return 1;
    case SLOT_ROW:
        fail_rows(r, "upstream record is not an object");
        return 1;
    default:
        return 1;
    }
}

/* Starts writing the JSON of the held value a container opens. */
static bool start_dump(struct reader *r, struct held *h, bool is_array)
{
    r->dump = h;
    r->dump_depth = r->depth;
    buf_reset(&h->text);
    return dump_raw(r, is_array ? "[" : "{", 1);
}

/* The role of a container opening in slot. */
static int open_role(struct reader *r, enum slot slot, bool is_array,
                     enum role *role)
{
    struct held *h = slot_held(r, slot);
    *role = ROLE_SKIP;
    if (h != NULL) {
        *role = ROLE_DUMP;
        return start_dump(r, h, is_array) || no_memory(r);
    }
    switch (slot) {
    case SLOT_ROOT:
        *role = is_array ? ROLE_SKIP : ROLE_ENVELOPE;
        break;
    case SLOT_DUMP:
        *role = ROLE_DUMP;
        if (r->stack[r->depth - 1].is_array && !dump_separator(r))
            return no_memory(r);
        return dump_raw(r, is_array ? "[" : "{", 1) || no_memory(r);
    case SLOT_MESSAGE:
        r->has_message = false;
        break;
    case SLOT_DATA:
        drop_data(r);
        r->has_data = true;
        r->data_is_object = !is_array;
        *role = is_array ? ROLE_SKIP : ROLE_DATA;
        break;
    case SLOT_ROWS:
        drop_rows(r);
        r->rows = is_array ? ROWS_ARRAY : ROWS_OTHER;
        *role = is_array ? ROLE_ROWS : ROLE_SKIP;
        break;
    case SLOT_ROW:
        if (is_array)
            fail_rows(r, "upstream record is not an object");
        else if (!r->rows_failed)
            *role = ROLE_RECORD;
        break;
    default:
        break;
    }
    return 1;
}

static int on_open(struct reader *r, bool is_array)
{
    enum role role;
    if (r->depth == CDRPAGE_MAX_DEPTH)
        return refuse(r, "objects and arrays nested more than 64 deep");
    if (!open_role(r, value_slot(r), is_array, &role))
        return 0;
    if (role == ROLE_RECORD)
        start_record(r);
    r->stack[r->depth++] = (struct frame){role, is_array, true};
    return 1;
}

static int on_close(void *ctx)
{
    struct reader *r = ctx;
    const struct frame *f = &r->stack[--r->depth];
    if (f->role == ROLE_RECORD) {
        finish_record(r);
    } else if (f->role == ROLE_DUMP) {
        if (!dump_raw(r, f->is_array ? "]" : "}", 1))
            return no_memory(r);
        if (r->depth == r->dump_depth) {
            r->dump->value = (struct jf_value){.kind = JF_KIND_COMPOUND,
                                               .text = r->dump->text.data};
            r->dump = NULL;
        }
    }
    return 1;
}

static int on_key(void *ctx, const unsigned char *key, size_t n)
{
    struct reader *r = ctx;
    const char *k = (const char *)key;
    if (!check_string(r, key, n))
        return 0;
    r->next = SLOT_SKIP;
    switch (r->stack[r->depth - 1].role) {
    case ROLE_ENVELOPE:
        r->next = envelope_slot(k, n);
        break;
    case ROLE_DATA:
        r->next = data_slot(k, n);
        break;
    case ROLE_RECORD:
        r->member = rec_member_find(k, n);
        r->next = r->member < 0 ? SLOT_SKIP : SLOT_MEMBER;
        break;
    case ROLE_DUMP:
        r->next = SLOT_DUMP;
        if (!dump_separator(r) || !dump_string(r, k, n) || !dump_raw(r, ":", 1))
            return no_memory(r);
        break;
    default:
        break;
    }
    return 1;
}

static int on_null(void *ctx)
{
    struct jf_value v = {.kind = JF_KIND_NULL};
    return on_scalar(ctx, &v, NULL, 0);
}

static int on_boolean(void *ctx, int truth)
{
    struct jf_value v = {.kind = JF_KIND_BOOL, .truth = truth != 0};
    return on_scalar(ctx, &v, NULL, 0);
}

static int on_number(void *ctx, const char *s, size_t n)
{
    struct jf_value v;
    return read_number(ctx, s, n, &v) && on_scalar(ctx, &v, s, n);
}

static int on_string(void *ctx, const unsigned char *s, size_t n)
{
    struct jf_value v = {.kind = JF_KIND_STRING};
    return check_string(ctx, s, n) && on_scalar(ctx, &v, (const char *)s, n);
}

static int on_start_map(void *ctx)
{
    return on_open(ctx, false);
}

static int on_start_array(void *ctx)
{
    return on_open(ctx, true);
}

static const yajl_callbacks callbacks = {
    .yajl_null = on_null,
    .yajl_boolean = on_boolean,
    .yajl_number = on_number,
    .yajl_string = on_string,
    .yajl_start_map = on_start_map,
    .yajl_map_key = on_key,
    .yajl_end_map = on_close,
    .yajl_start_array = on_start_array,
    .yajl_end_array = on_close,
};

/* The verdict once the whole body has been read. */

/* Why yajl stopped, never quoting the body: yajl's short message (its
 * verbose form shows the text around the error) and the byte offset. */
static void syntax_problem(struct reader *r, struct werr *problem)
{
    if (r->stop.msg[0] != '\0') {
        werr_keep(problem, "%s at byte %zu", r->stop.msg, r->stop_at);
        return;
    }
    size_t at = position(r);
    unsigned char *text = yajl_get_error(r->yajl, 0, NULL, 0);
    const char *reason = text ? (const char *)text : "unknown error";
    werr_keep(problem, "%.*s at byte %zu", (int)strcspn(reason, "\n"), reason,
              at);
    if (text != NULL)
        yajl_free_error(r->yajl, text);
}

/* What rec_parse_page would say of the data member, in its order. */
static enum cdrpage_outcome judge_page(struct reader *r, struct cdrpage *page)
{
    struct werr *why = &page->problem;
    if (!r->data_is_object) {
        werr_keep(why, "upstream page has no data object");
        return CDRPAGE_BAD_PAGE;
    }
    enum jf_status st =
        jf_int_value(&r->total.value, "totalCount", &page->total_count, why);
    if (st == JF_ABSENT)
        werr_keep(why, "missing upstream value field=totalCount");
    if (st != JF_OK)
        return CDRPAGE_BAD_PAGE;
    if (r->rows == ROWS_OTHER) {
        werr_keep(why, "upstream page field=data is not an array");
        return CDRPAGE_BAD_PAGE;
    }
    if (r->rows_failed) {
        werr_keep(why, "%s", r->rows_problem.msg);
        return CDRPAGE_BAD_PAGE;
    }
    page->count = r->count;
    return CDRPAGE_OK;
}

static enum cdrpage_outcome judge(struct reader *r, struct cdrpage *page)
{
    struct werr ignored;
    werr_clear(&ignored);
    page->has_code =
        jf_int_value(&r->code.value, "code", &page->code, &ignored) == JF_OK;
    if (!page->has_code)
        page->code = 0;
    if (r->has_message) {
        page->message = strdup(r->message.data ? r->message.data : "");
        if (page->message == NULL) {
            werr_keep(&page->problem, "out of memory keeping the message");
            return CDRPAGE_NO_MEMORY;
        }
    }
    page->has_data = r->has_data;
    return judge_page(r, page);
}

/* Runs yajl over the body; false when it stopped early. */
static bool run(struct reader *r)
{
    /* yajl takes form feed and vertical tab for white space, jansson does
     * not; inside a string both refuse them. */
    const char *ff = memchr(r->body, '\f', r->len);
    const char *vt = memchr(r->body, '\v', r->len);
    if (ff != NULL || vt != NULL) {
        const char *first = ff == NULL || (vt != NULL && vt < ff) ? vt : ff;
        werr_keep(&r->stop, "a form feed or vertical tab outside a string");
        r->stop_at = (size_t)(first - r->body);
        return false;
    }
    if (yajl_parse(r->yajl, (const unsigned char *)r->body, r->len) !=
        yajl_status_ok)
        return false;
    r->finishing = true;
    return yajl_complete_parse(r->yajl) == yajl_status_ok;
}

static void reader_free(struct reader *r)
{
    if (r->yajl != NULL)
        yajl_free(r->yajl);
    buf_free(&r->code.text);
    buf_free(&r->total.text);
    buf_free(&r->message);
    buf_free(&r->scratch);
    for (int i = 0; i < REC_M_COUNT; i++)
        buf_free(&r->members[i].text);
}

enum cdrpage_outcome cdrpage_parse(const char *body, size_t len,
                                   struct rec_list *list, struct cdrpage *page)
{
    struct reader r;
    memset(page, 0, sizeof(*page));
    memset(&r, 0, sizeof(r));
    r.yajl = yajl_alloc(&callbacks, NULL, &r);
    if (r.yajl == NULL) {
        werr_keep(&page->problem, "out of memory starting the parser");
        return CDRPAGE_NO_MEMORY;
    }
    r.body = body ? body : "";
    r.len = body ? len : 0;
    r.list = list;
    r.list_start = list->count;
    r.code.value.kind = JF_KIND_MISSING;
    drop_data(&r);
    enum cdrpage_outcome out;
    if (run(&r)) {
        out = judge(&r, page);
    } else if (r.out_of_memory) {
        werr_keep(&page->problem, "out of memory reading the page");
        out = CDRPAGE_NO_MEMORY;
    } else {
        syntax_problem(&r, &page->problem);
        out = CDRPAGE_NOT_JSON;
    }
    if (out != CDRPAGE_OK) {
        drop_rows(&r);
        page->total_count = 0;
        page->count = 0;
    }
    reader_free(&r);
    return out;
}

void cdrpage_free(struct cdrpage *page)
{
    free(page->message);
    page->message = NULL;
}
