/*
 * The record ids of a listing, as 64-bit hashes: 8 bytes an id, so a day
 * of a million records is counted and de-duplicated in 16 MiB. Two ids
 * that hash alike (odds about 1 in 10^7 at a million) would read as one
 * repeated: the day then looks short and is fetched again, never wrong.
 */
#ifndef WK_IDSET_H
#define WK_IDSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct idset {
    uint64_t *slots; /* 0 marks a free slot */
    size_t cap;      /* a power of two */
    size_t count;
};

/* Adds id; *added is false when it was there already. False when out of
 * memory. */
__attribute__((warn_unused_result)) bool idset_add(struct idset *set,
                                                   const char *id, bool *added);

void idset_clear(struct idset *set);
void idset_free(struct idset *set);

#endif
