/* A growable byte buffer, for HTTP bodies and COPY data. */
#ifndef CS_BUF_H
#define CS_BUF_H

#include <stdbool.h>
#include <stddef.h>

struct buf {
    char *data; /* always NUL-terminated once anything was appended */
    size_t len;
    size_t cap;
};

/* Appends n bytes; false when memory runs out (the buffer is kept). */
__attribute__((warn_unused_result)) bool buf_append(struct buf *b,
                                                    const void *src, size_t n);

/* Appends a NUL-terminated string. */
__attribute__((warn_unused_result)) bool buf_puts(struct buf *b, const char *s);

/* Empties the buffer, keeping its memory. */
void buf_reset(struct buf *b);

void buf_free(struct buf *b);

#endif
