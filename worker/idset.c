/* A set of id hashes, open addressing with linear probing (idset.h). */
#include "idset.h"

#include <stdlib.h>
#include <string.h>

static uint64_t hash_id(const char *id)
{
    /* FNV-1a, then a final mix so that close ids spread over the table. */
    uint64_t h = 14695981039346656037ULL;
    for (const unsigned char *p = (const unsigned char *)id; *p; p++)
        h = (h ^ *p) * 1099511628211ULL;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    return h != 0 ? h : 1;
}

static void place(uint64_t *slots, size_t cap, uint64_t h)
{
    size_t i = (size_t)h & (cap - 1);
    while (slots[i] != 0)
        i = (i + 1) & (cap - 1);
    slots[i] = h;
}

static bool grow(struct idset *set)
{
    size_t cap = set->cap ? set->cap * 2 : 4096;
    uint64_t *slots = calloc(cap, sizeof(*slots));
    if (slots == NULL)
        return false;
    for (size_t i = 0; i < set->cap; i++)
        if (set->slots[i] != 0)
            place(slots, cap, set->slots[i]);
    free(set->slots);
    set->slots = slots;
    set->cap = cap;
    return true;
}

bool idset_add(struct idset *set, const char *id, bool *added)
{
    if ((set->count + 1) * 2 > set->cap && !grow(set))
        return false;
    uint64_t h = hash_id(id);
    size_t i = (size_t)h & (set->cap - 1);
    while (set->slots[i] != 0) {
        if (set->slots[i] == h) {
            *added = false;
            return true;
        }
        i = (i + 1) & (set->cap - 1);
    }
    set->slots[i] = h;
    set->count++;
    *added = true;
    return true;
}

void idset_clear(struct idset *set)
{
    if (set->slots != NULL)
        memset(set->slots, 0, set->cap * sizeof(*set->slots));
    set->count = 0;
}

void idset_free(struct idset *set)
{
    free(set->slots);
    memset(set, 0, sizeof(*set));
}
