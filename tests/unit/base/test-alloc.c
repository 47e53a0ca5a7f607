/* SPDX-License-Identifier: GPL-2.0-or-later */
/* base/alloc.h: the embedder's allocator (MfAllocator) and libc. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "base/alloc.h"
#include "count-alloc.h"

static void test_in_zeroes(void **state)
{
    SupCountAlloc ca;
    uint8_t *p;

    (void)state;
    sup_count_alloc_init(&ca);
    p = mf_alloc_in(&ca.ops, "mfcolo/test/alloc", 3, 1000);
    assert_non_null(p);
    assert_int_equal(ca.largest, 3000);
    assert_true(p[0] == 0 && !memcmp(p, p + 1, 2999));
    mf_free_in(&ca.ops, p);
    assert_int_equal(ca.frees, 1);
}

static void test_raw_is_allocators(void **state)
{
    SupCountAlloc ca;
    uint8_t *p;

    (void)state;
    sup_count_alloc_init(&ca);
    p = mf_alloc_raw(&ca.ops, "mfcolo/test/alloc", 16);
    assert_non_null(p);
    assert_int_equal(p[15], SUP_COUNT_ALLOC_FILL); /* not zeroed */
    mf_free_in(&ca.ops, p);
    /* Size 0 asks for one byte, never for nothing. */
    p = mf_alloc_raw(&ca.ops, "mfcolo/test/alloc", 0);
    assert_non_null(p);
    assert_int_equal(ca.largest, 16);
    assert_int_equal(ca.bytes, 17);
    mf_free_in(&ca.ops, p);
    assert_int_equal(sup_count_alloc_live(&ca), 0);
}

static void test_overflow_and_refusal(void **state)
{
    SupCountAlloc ca;

    (void)state;
    sup_count_alloc_init(&ca);
    assert_null(mf_alloc_in(&ca.ops, "mfcolo/test/alloc", SIZE_MAX / 2, 3));
    assert_int_equal(ca.calls, 0); /* refused before asking */
    ca.fail_nth = 1;
    assert_null(mf_alloc_in(&ca.ops, "mfcolo/test/alloc", 1, 8));
    mf_free_in(&ca.ops, NULL);
    assert_int_equal(ca.frees, 0);
}

static void test_libc(void **state)
{
    uint8_t *p;

    (void)state;
    p = mf_alloc_in(NULL, "mfcolo/test/alloc", 4, 4);
    assert_non_null(p);
    assert_true(p[0] == 0 && !memcmp(p, p + 1, 15));
    mf_free_in(NULL, p);
    p = mf_alloc_raw(NULL, "mfcolo/test/alloc", 8);
    assert_non_null(p);
    mf_free_in(NULL, p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_in_zeroes),
        cmocka_unit_test(test_raw_is_allocators),
        cmocka_unit_test(test_overflow_and_refusal),
        cmocka_unit_test(test_libc),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
