/*
 * Classifies the upstream's free-text call grade into the two kinds of
 * success order the business counts (9-yuan and 1-yuan) or "other".
 */
#ifndef CS_GRADES_H
#define CS_GRADES_H

#include "config.h"

/* Defaults of CALLSTATS_GRADE_9 and CALLSTATS_GRADE_1. */
#define CS_GRADE_9_DEFAULT "AS1,成功单9元,9元,9"
#define CS_GRADE_1_DEFAULT "AS2,成功单1元,1元,1"

enum cs_grade_class {
    CS_GRADE_OTHER = 0,
    CS_GRADE_9 = 1,
    CS_GRADE_1 = 2,
};

/*
 * A label is of a class when, trimmed of surrounding spaces, it equals one
 * of that class's configured entries, or its first space-separated word
 * does ("AS1 成功单9元" by the entry "AS1"). Anything else, a null or empty
 * grade and "19元" included, is CS_GRADE_OTHER.
 */
enum cs_grade_class cs_grade_classify(const struct cs_list *grade_9,
                                      const struct cs_list *grade_1,
                                      const char *label);

/* "grade_9", "grade_1" or "other", as stored in the database. */
const char *cs_grade_class_name(enum cs_grade_class cls);

#endif
