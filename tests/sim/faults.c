/* The simulator's fault names: parsing the --faults list and printing it. */
#include "server.h"

#include <stdio.h>
#include <string.h>

#include "log.h"

static const struct {
    const char *name;
    unsigned bit;
} fault_names[] = {
    {"http500", SIM_FAULT_HTTP500}, {"429", SIM_FAULT_429},
    {"expire", SIM_FAULT_EXPIRE},   {"badjson", SIM_FAULT_BADJSON},
    {"slow", SIM_FAULT_SLOW},       {"hang", SIM_FAULT_HANG},
    {"grow", SIM_FAULT_GROW},       {"shift", SIM_FAULT_SHIFT},
};

#define N_FAULTS (sizeof(fault_names) / sizeof(fault_names[0]))

static bool fault_bit(const char *name, size_t len, unsigned *bit)
{
    for (size_t i = 0; i < N_FAULTS; i++) {
        if (strlen(fault_names[i].name) == len &&
            memcmp(fault_names[i].name, name, len) == 0) {
            *bit = fault_names[i].bit;
            return true;
        }
    }
    return false;
}

bool sim_faults_parse(const char *list, unsigned *faults)
{
    *faults = 0;
    for (const char *p = list; *p != '\0';) {
        size_t len = strcspn(p, ",");
        const char *name = p;
        size_t n = len;
        while (n > 0 && *name == ' ')
            name++, n--;
        while (n > 0 && name[n - 1] == ' ')
            n--;
        unsigned bit;
        if (n > 0 && !fault_bit(name, n, &bit)) {
            cs_error("unknown fault \"%.*s\" in --faults (known: http500, "
                     "429, expire, badjson, slow, hang, grow, shift)",
                     (int)n, name);
            return false;
        }
        if (n > 0)
            *faults |= bit;
        p += len + (p[len] == ',' ? 1 : 0);
    }
    return true;
}

void sim_faults_format(unsigned faults, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < N_FAULTS && used < len; i++) {
        if (faults & fault_names[i].bit)
            used += (size_t)snprintf(buf + used, len - used, "%s%s",
                                     used > 0 ? "," : "", fault_names[i].name);
    }
    if (buf[0] == '\0')
        snprintf(buf, len, "none");
}
