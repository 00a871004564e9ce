/* Exact, configurable classification of call grades (see grades.h). */
#include "grades.h"

#include <string.h>

/* Spaces of both widths: labels typed in Chinese may hold U+3000. */
static size_t space_len(const char *s)
{
    if (*s == ' ' || *s == '\t')
        return 1;
    if ((unsigned char)s[0] == 0xE3 && (unsigned char)s[1] == 0x80 &&
        (unsigned char)s[2] == 0x80)
        return 3;
    return 0;
}

static bool matches(const struct cs_list *entries, const char *text, size_t len)
{
    for (size_t i = 0; i < entries->count; i++) {
        const char *e = entries->items[i];
        if (strlen(e) == len && memcmp(e, text, len) == 0)
            return true;
    }
    return false;
}

enum cs_grade_class cs_grade_classify(const struct cs_list *grade_9,
                                      const struct cs_list *grade_1,
                                      const char *label)
{
    if (label == NULL)
        return CS_GRADE_OTHER;
    size_t n;
    while ((n = space_len(label)) > 0)
        label += n;
    size_t len = strlen(label);
    /* Trim trailing spaces: walk forward, remembering the last non-space. */
    size_t end = 0, first_word = 0;
    for (size_t i = 0; i < len;) {
        n = space_len(label + i);
        if (n > 0) {
            if (first_word == 0)
                first_word = i;
            i += n;
        } else {
            i++;
            end = i;
        }
    }
    if (end == 0)
        return CS_GRADE_OTHER;
    if (first_word == 0 || first_word > end)
        first_word = end;
    if (matches(grade_9, label, end) || matches(grade_9, label, first_word))
        return CS_GRADE_9;
    if (matches(grade_1, label, end) || matches(grade_1, label, first_word))
        return CS_GRADE_1;
    return CS_GRADE_OTHER;
}

const char *cs_grade_class_name(enum cs_grade_class cls)
{
    switch (cls) {
    case CS_GRADE_9:
        return "grade_9";
    case CS_GRADE_1:
        return "grade_1";
    default:
        return "other";
    }
}
