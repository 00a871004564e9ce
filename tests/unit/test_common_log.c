/* Unit tests of the log's quoted values. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "log.h"

static void quotes_and_control_characters_are_replaced(void **state)
{
    (void)state;
    char buf[64];
    assert_string_equal(
        cs_log_value("relation \"sync_runs\" does not exist", buf, sizeof(buf)),
        "relation 'sync_runs' does not exist");
    assert_string_equal(cs_log_value("a\tb\rc", buf, sizeof(buf)), "a b c");
    assert_string_equal(cs_log_value("first line\nsecond", buf, sizeof(buf)),
                        "first line");
    assert_string_equal(cs_log_value("", buf, sizeof(buf)), "");
}

static void long_text_is_cut_to_fit(void **state)
{
    (void)state;
    char buf[6];
    assert_string_equal(cs_log_value("abcdefghij", buf, sizeof(buf)), "abcde");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(quotes_and_control_characters_are_replaced),
        cmocka_unit_test(long_text_is_cut_to_fit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
