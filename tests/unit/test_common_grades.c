/* Unit tests of the exact, configurable grade classification. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "grades.h"

struct lists {
    struct cs_list grade_9;
    struct cs_list grade_1;
};

static int setup_defaults(void **state)
{
    static struct lists l;
    cs_list_parse(CS_GRADE_9_DEFAULT, &l.grade_9);
    cs_list_parse(CS_GRADE_1_DEFAULT, &l.grade_1);
    *state = &l;
    return 0;
}

static int teardown(void **state)
{
    struct lists *l = *state;
    cs_list_free(&l->grade_9);
    cs_list_free(&l->grade_1);
    return 0;
}

static enum cs_grade_class classify(void **state, const char *label)
{
    struct lists *l = *state;
    return cs_grade_classify(&l->grade_9, &l->grade_1, label);
}

static void test_current_labels(void **state)
{
    assert_int_equal(classify(state, "AS1 成功单9元"), CS_GRADE_9);
    assert_int_equal(classify(state, "AS2 成功单1元"), CS_GRADE_1);
    assert_int_equal(classify(state, "AS1"), CS_GRADE_9);
    assert_int_equal(classify(state, "  AS2 成功单1元  "), CS_GRADE_1);
    assert_int_equal(classify(state, "AS1\xe3\x80\x80成功单9元"), CS_GRADE_9);
}

static void test_old_labels(void **state)
{
    assert_int_equal(classify(state, "9元"), CS_GRADE_9);
    assert_int_equal(classify(state, "1元"), CS_GRADE_1);
    assert_int_equal(classify(state, "9"), CS_GRADE_9);
    assert_int_equal(classify(state, "1"), CS_GRADE_1);
    assert_int_equal(classify(state, "成功单9元"), CS_GRADE_9);
}

static void test_near_misses_are_not_success(void **state)
{
    const char *other[] = {"19元", "91元", "9元x",   "AS10 成功单", "AS12",
                           "XAS1", "99",   "11",     "AF2 跟进",    "AN1 空号",
                           "AOT",  "AG",   "未接通", "空号",        "关机",
                           "拒接", "",     "   ",    "成功单",      "1.0"};
    for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++)
        assert_int_equal(classify(state, other[i]), CS_GRADE_OTHER);
}

static void test_null_grade_is_other(void **state)
{
    assert_int_equal(classify(state, NULL), CS_GRADE_OTHER);
}

static void test_configured_lists_replace_defaults(void **state)
{
    (void)state;
    struct cs_list g9, g1;
    cs_list_parse(" VIP9 , 大单 ", &g9);
    cs_list_parse("VIP1", &g1);
    assert_int_equal(g9.count, 2);
    assert_string_equal(g9.items[0], "VIP9");
    assert_string_equal(g9.items[1], "大单");
    assert_int_equal(cs_grade_classify(&g9, &g1, "VIP9 客户"), CS_GRADE_9);
    assert_int_equal(cs_grade_classify(&g9, &g1, "大单"), CS_GRADE_9);
    assert_int_equal(cs_grade_classify(&g9, &g1, "VIP1"), CS_GRADE_1);
    assert_int_equal(cs_grade_classify(&g9, &g1, "AS1 成功单9元"),
                     CS_GRADE_OTHER);
    cs_list_free(&g9);
    cs_list_free(&g1);
}

static void test_class_names(void **state)
{
    (void)state;
    assert_string_equal(cs_grade_class_name(CS_GRADE_9), "grade_9");
    assert_string_equal(cs_grade_class_name(CS_GRADE_1), "grade_1");
    assert_string_equal(cs_grade_class_name(CS_GRADE_OTHER), "other");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_current_labels),
        cmocka_unit_test(test_old_labels),
        cmocka_unit_test(test_near_misses_are_not_success),
        cmocka_unit_test(test_null_grade_is_other),
        cmocka_unit_test(test_configured_lists_replace_defaults),
        cmocka_unit_test(test_class_names),
    };
    return cmocka_run_group_tests(tests, setup_defaults, teardown);
}
