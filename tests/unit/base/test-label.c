/* SPDX-License-Identifier: GPL-2.0-or-later */
/* base/label.h: labels without printf, cut to fit, always terminated. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "base/label.h"

static void test_copy(void **state)
{
    char buf[8];

    (void)state;
    assert_int_equal(mf_label_copy(buf, sizeof(buf), "main"), 4);
    assert_string_equal(buf, "main");
    assert_int_equal(mf_label_copy(buf, sizeof(buf), "connection"), 7);
    assert_string_equal(buf, "connect");
    assert_int_equal(mf_label_copy(buf, sizeof(buf), NULL), 0);
    assert_string_equal(buf, "");
    assert_int_equal(mf_label_copy(buf, 1, "x"), 0);
    assert_string_equal(buf, "");
}

static void test_u32(void **state)
{
    char buf[32], small[12];

    (void)state;
    mf_label_u32(buf, sizeof(buf), "connection ", 0);
    assert_string_equal(buf, "connection 0");
    mf_label_u32(buf, sizeof(buf), "multifd ", 255);
    assert_string_equal(buf, "multifd 255");
    mf_label_u32(buf, sizeof(buf), "", UINT32_MAX);
    assert_string_equal(buf, "4294967295");
    /* Cut like snprintf would: the leading digits that fit. */
    mf_label_u32(small, sizeof(small), "multifd ", 12345);
    assert_string_equal(small, "multifd 123");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_copy),
        cmocka_unit_test(test_u32),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
