/*
 * The simulator's fault names and periods: parsing a list such as
 * "http500,short:2" (from --faults or POST /sim/faults) and printing one.
 */
#include "server.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* In bit order: entry k is bit 1 << k. The periods are those server.h
 * documents. */
static const struct {
    const char *name;
    unsigned period;
} fault_names[SIM_N_FAULTS] = {
    {"http500", 5}, {"429", 7},        {"expire", 26},    {"badjson", 11},
    {"slow", 13},   {"hang", 17},      {"grow", 1},       {"shift", 2},
    {"reset", 19},  {"retrydate", 23}, {"malformed", 29}, {"short", 3},
    {"repeat", 5},  {"empty", 7},
};

/* The entry of a SIM_FAULT_* bit, or -1. */
static int fault_index(unsigned fault)
{
    for (int k = 0; k < SIM_N_FAULTS; k++) {
        if (fault == 1u << k)
            return k;
    }
    return -1;
}

static int fault_by_name(const char *name, size_t len)
{
    for (int k = 0; k < SIM_N_FAULTS; k++) {
        if (strlen(fault_names[k].name) == len &&
            memcmp(fault_names[k].name, name, len) == 0)
            return k;
    }
    return -1;
}

unsigned sim_fault_period(const struct sim_faults *f, unsigned fault)
{
    int k = fault_index(fault);
    if (k < 0)
        return 1;
    return f->period[k] > 0 ? f->period[k] : fault_names[k].period;
}

bool sim_fault_due(const struct sim_faults *f, unsigned fault, unsigned long n)
{
    return (f->on & fault) && n % sim_fault_period(f, fault) == 0;
}

/* Narrows [*p, *p + *n) to leave out spaces at both ends. */
static void trim(const char **p, size_t *n)
{
    while (*n > 0 && **p == ' ')
        (*p)++, (*n)--;
    while (*n > 0 && (*p)[*n - 1] == ' ')
        (*n)--;
}

/* "N" of n characters, 1..SIM_MAX_PERIOD. */
static bool parse_period(const char *text, size_t n, unsigned *period)
{
    if (n == 0 || n > 7)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (!isdigit((unsigned char)text[i]))
            return false;
    }
    char digits[8];
    memcpy(digits, text, n);
    digits[n] = '\0';
    long v = strtol(digits, NULL, 10);
    *period = (unsigned)v;
    return v >= 1 && v <= SIM_MAX_PERIOD;
}

static void unknown_name(const char *name, size_t n, char *err, size_t errlen)
{
    size_t used = (size_t)snprintf(
        err, errlen, "unknown fault \"%.*s\" (known:", (int)n, name);
    for (int k = 0; k < SIM_N_FAULTS && used < errlen; k++)
        used += (size_t)snprintf(err + used, errlen - used, "%s %s",
                                 k > 0 ? "," : "", fault_names[k].name);
    if (used < errlen)
        snprintf(err + used, errlen - used, ")");
}

/* One item "name" or "name:N" of n characters (n > 0, trimmed) into f. */
static bool parse_item(const char *item, size_t n, struct sim_faults *f,
                       char *err, size_t errlen)
{
    const char *colon = memchr(item, ':', n);
    const char *name = item;
    size_t name_len = colon != NULL ? (size_t)(colon - item) : n;
    trim(&name, &name_len);
    int k = fault_by_name(name, name_len);
    if (k < 0) {
        unknown_name(name, name_len, err, errlen);
        return false;
    }
    f->on |= 1u << k;
    f->period[k] = fault_names[k].period;
    if (colon == NULL)
        return true;
    const char *digits = colon + 1;
    size_t digits_len = (size_t)(item + n - digits);
    trim(&digits, &digits_len);
    if (!parse_period(digits, digits_len, &f->period[k])) {
        snprintf(err, errlen,
                 "fault \"%.*s\": the period after ':' must be a whole "
                 "number from 1 to %d",
                 (int)n, item, SIM_MAX_PERIOD);
        return false;
    }
    return true;
}

bool sim_faults_parse(const char *list, struct sim_faults *f, char *err,
                      size_t errlen)
{
    memset(f, 0, sizeof(*f));
    for (const char *p = list; *p != '\0';) {
        size_t len = strcspn(p, ",");
        const char *item = p;
        size_t n = len;
        trim(&item, &n);
        if (n > 0 && !parse_item(item, n, f, err, errlen))
            return false;
        p += len + (p[len] == ',' ? 1 : 0);
    }
    return true;
}

void sim_faults_format(const struct sim_faults *f, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int k = 0; k < SIM_N_FAULTS && used < len; k++) {
        unsigned bit = 1u << k;
        if (!(f->on & bit))
            continue;
        used += (size_t)snprintf(buf + used, len - used, "%s%s",
                                 used > 0 ? "," : "", fault_names[k].name);
        unsigned period = sim_fault_period(f, bit);
        if (period != fault_names[k].period && used < len)
            used += (size_t)snprintf(buf + used, len - used, ":%u", period);
    }
}
