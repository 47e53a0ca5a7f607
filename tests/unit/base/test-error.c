/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests for core/base/error.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "base/error.h"

static void test_set_keeps_first(void **state)
{
    MfError err;

    (void)state;
    mf_error_clear(&err);
    assert_false(mf_error_is_set(&err));
    assert_false(mf_error_set(&err, MF_ERR_NOMEM, 12, "first %d", 1));
    assert_false(mf_error_set(&err, MF_ERR_INVALID_ARG, 99, "second"));
    assert_int_equal(err.code, MF_ERR_NOMEM);
    assert_string_equal(err.code_name, "MF_ERR_NOMEM");
    assert_int_equal(err.offset, 12);
    assert_string_equal(err.msg, "first 1");
    assert_false(err.located);
}

static void test_null_error_is_dropped(void **state)
{
    (void)state;
    assert_false(mf_error_set(NULL, MF_ERR_NOMEM, 0, "dropped"));
    mf_error_clear(NULL);
    mf_error_locate(NULL, "main", 5);
    assert_false(mf_error_is_set(NULL));
}

static void test_locate_once(void **state)
{
    MfError err;
    char line[256];

    (void)state;
    mf_error_clear(&err);
    mf_error_locate(&err, "main", 100); /* no error: no effect */
    assert_false(err.located);
    mf_error_set(&err, MF_ERR_INVALID_ARG, 16, "normal_pages 129 > 128");
    mf_error_format(&err, line, sizeof(line));
    assert_string_equal(line, "normal_pages 129 > 128");
    mf_error_locate(&err, "multifd 1", 1344);
    mf_error_locate(&err, "multifd 2", 1000000);
    assert_true(err.located);
    assert_int_equal(err.offset, 1360);
    mf_error_format(&err, line, sizeof(line));
    assert_string_equal(line, "multifd 1: offset 1360: normal_pages 129 > 128");
}

static void test_format_edges(void **state)
{
    MfError err;
    char line[8];

    (void)state;
    mf_error_clear(&err);
    mf_error_format(&err, line, sizeof(line));
    assert_string_equal(line, "no erro"); /* truncated to 7 + NUL */
    mf_error_set(&err, MF_ERR_NOMEM, 0, "a very long message");
    mf_error_format(&err, line, sizeof(line));
    assert_string_equal(line, "a very ");
    mf_error_format(&err, line, 0); /* must not write */
}

static void test_propagate(void **state)
{
    MfError a, b;

    (void)state;
    mf_error_clear(&a);
    mf_error_clear(&b);
    mf_error_propagate(&a, &b); /* nothing to copy */
    assert_false(mf_error_is_set(&a));
    mf_error_set(&b, MF_ERR_NOMEM, 3, "b");
    mf_error_propagate(&a, &b);
    assert_int_equal(a.code, MF_ERR_NOMEM);
    mf_error_clear(&b);
    mf_error_set(&b, MF_ERR_INVALID_ARG, 3, "c");
    mf_error_propagate(&a, &b); /* first kept */
    assert_string_equal(a.msg, "b");
    mf_error_propagate(NULL, &b);
    mf_error_propagate(&a, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_set_keeps_first),
        cmocka_unit_test(test_null_error_is_dropped),
        cmocka_unit_test(test_locate_once),
        cmocka_unit_test(test_format_edges),
        cmocka_unit_test(test_propagate),
    };

    return cmocka_run_group_tests_name("base/error", tests, NULL, NULL);
}
