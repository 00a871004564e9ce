/* Text files compiled into a program (see common/embed.awk). */
#ifndef CS_EMBEDDED_H
#define CS_EMBEDDED_H

#include <stddef.h>

struct cs_embedded {
    int version;      /* the number the file name starts with */
    const char *name; /* the file name, without its folder */
    const char *text; /* the whole file */
};

/* The SQL migrations of sql/, in order; ends with a NULL name. */
extern const struct cs_embedded cs_migrations[];

/* api/dashboard.html, and anything else the API serves; ends likewise. */
extern const struct cs_embedded cs_api_pages[];

/* The simulator's data files (the .tsv files of tests/sim); ends likewise. */
extern const struct cs_embedded cs_sim_data[];

#endif
