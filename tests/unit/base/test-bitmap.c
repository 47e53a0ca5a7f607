/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests for core/base/bitmap.c and be.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/be.h"
#include "base/bitmap.h"
#include "guard-alloc.h"

static void test_be_roundtrip(void **state)
{
    uint8_t buf[8];
    static const uint8_t want[8] = { 0x01, 0x02, 0x03, 0x04,
                                     0x05, 0x06, 0x07, 0x08 };

    (void)state;
    mf_be64_store(buf, 0x0102030405060708ULL);
    assert_memory_equal(buf, want, 8);
    assert_int_equal(mf_be64_load(buf), 0x0102030405060708ULL);
    assert_int_equal(mf_be32_load(buf), 0x01020304u);
    assert_int_equal(mf_be16_load(buf), 0x0102u);
    mf_be32_store(buf, 0xfffefdfcu);
    assert_int_equal(buf[0], 0xff);
    assert_int_equal(buf[3], 0xfc);
    mf_be16_store(buf, 0xabcd);
    assert_int_equal(buf[0], 0xab);
    assert_int_equal(buf[1], 0xcd);
}

static void test_set_test_clear(void **state)
{
    unsigned long *map = mf_bitmap_new("test", 130);

    (void)state;
    assert_non_null(map);
    assert_true(mf_bitmap_empty(map, 130));
    mf_bitmap_set(map, 0);
    mf_bitmap_set(map, 63);
    mf_bitmap_set(map, 64);
    mf_bitmap_set(map, 129);
    assert_true(mf_bitmap_test(map, 63));
    assert_false(mf_bitmap_test(map, 62));
    assert_int_equal(mf_bitmap_count(map, 130), 4);
    assert_int_equal(mf_bitmap_count(map, 129), 3); /* tail masked */
    mf_bitmap_clear(map, 63);
    assert_false(mf_bitmap_test(map, 63));
    assert_false(mf_bitmap_test_and_set_atomic(map, 5));
    assert_true(mf_bitmap_test_and_set_atomic(map, 5));
    mf_bitmap_set_atomic(map, 6);
    assert_true(mf_bitmap_test(map, 6));
    mf_bitmap_zero(map, 130);
    assert_true(mf_bitmap_empty(map, 130));
    mf_bitmap_free(map);
}

static void test_find_and_runs(void **state)
{
    unsigned long *map = mf_bitmap_new("test", 200);
    uint64_t start = 0, len = 0;

    (void)state;
    assert_int_equal(mf_bitmap_find_next(map, 200, 0), 200);
    assert_int_equal(mf_bitmap_find_next(map, 200, 500), 200);
    assert_int_equal(mf_bitmap_find_next_zero(map, 200, 0), 0);
    assert_false(mf_bitmap_next_run(map, 200, &start, &len));
    for (uint64_t i = 60; i < 140; i++) {
        mf_bitmap_set(map, i);
    }
    mf_bitmap_set(map, 199);
    assert_int_equal(mf_bitmap_find_next(map, 200, 0), 60);
    assert_int_equal(mf_bitmap_find_next_zero(map, 200, 60), 140);
    assert_true(mf_bitmap_next_run(map, 200, &start, &len));
    assert_int_equal(start, 60);
    assert_int_equal(len, 80);
    start = 100;
    assert_true(mf_bitmap_next_run(map, 200, &start, &len));
    assert_int_equal(start, 100);
    assert_int_equal(len, 40);
    start = 140;
    assert_true(mf_bitmap_next_run(map, 200, &start, &len));
    assert_int_equal(start, 199);
    assert_int_equal(len, 1);
    /* A set bit beyond nbits in the last word is never reported. */
    assert_int_equal(mf_bitmap_find_next(map, 150, 140), 150);
    mf_bitmap_clear_range(map, 61, 78);
    assert_int_equal(mf_bitmap_count(map, 200), 3);
    assert_true(mf_bitmap_test(map, 60));
    assert_true(mf_bitmap_test(map, 139));
    assert_false(mf_bitmap_test(map, 138));
    mf_bitmap_free(map);
}

static void test_take_atomic(void **state)
{
    unsigned long *a = mf_bitmap_new("test", 300);
    unsigned long *b = mf_bitmap_new("test", 300);

    (void)state;
    mf_bitmap_set(a, 1);
    mf_bitmap_set(b, 2);
    mf_bitmap_set(b, 299);
    mf_bitmap_take_atomic(a, b, 300);
    assert_true(mf_bitmap_empty(b, 300));
    assert_int_equal(mf_bitmap_count(a, 300), 3);
    assert_true(mf_bitmap_test(a, 299));
    mf_bitmap_free(a);
    mf_bitmap_free(b);
}

/*
 * Every operation stays inside the map's MF_BITMAP_WORDS(nbits) words:
 * each map ends right before a PROT_NONE page, so reading the word after
 * it faults.  Found by ci/mutate (docs/verification.md): a search loop
 * that stopped at i > WORDS instead of i >= WORDS read one word past the
 * map when nothing was found, with the same result.
 */
static void test_ops_stay_inside_the_map(void **state)
{
    static const uint64_t sizes[] = { 1, 63, 64, 65, 128, 200, 4096 };
    SupGuardAlloc g;
    size_t k;

    (void)state;
    sup_guard_alloc_init(&g, SUP_GUARD_AFTER);
    for (k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
        uint64_t n = sizes[k], words = MF_BITMAP_WORDS(n), b;
        unsigned long *map = mf_bitmap_new_in(&g.ops, "test", n);
        unsigned long *src = mf_bitmap_new_in(&g.ops, "test", n);
        uint64_t start = 0, len = 0;

        assert_non_null(map);
        assert_non_null(src);
        /* the word after the map is the guard page */
        assert_int_equal((uintptr_t)(map + words) % g.page, 0);
        assert_int_equal((uintptr_t)(src + words) % g.page, 0);
        mf_bitmap_zero(map, n);
        mf_bitmap_zero(src, n);

        /* nothing set: every search runs to the last word */
        assert_int_equal(mf_bitmap_find_next(map, n, 0), n);
        assert_int_equal(mf_bitmap_find_next(map, n, n - 1), n);
        assert_true(mf_bitmap_empty(map, n));
        assert_false(mf_bitmap_next_run(map, n, &start, &len));
        assert_int_equal(mf_bitmap_count(map, n), 0);

        /* every bit of every word set: the zero search runs to the end */
        for (b = 0; b < words * MF_BITS_PER_LONG; b++) {
            mf_bitmap_set(src, b);
        }
        mf_bitmap_take_atomic(map, src, n);
        assert_true(mf_bitmap_empty(src, n));
        assert_int_equal(mf_bitmap_find_next_zero(map, n, 0), n);
        assert_int_equal(mf_bitmap_find_next_zero(map, n, n - 1), n);
        assert_int_equal(mf_bitmap_count(map, n), n);
        start = 0;
        assert_true(mf_bitmap_next_run(map, n, &start, &len));
        assert_int_equal(start, 0);
        assert_int_equal(len, n);
        assert_int_equal(mf_bitmap_find_next(map, n, n - 1), n - 1);

        mf_bitmap_clear_range(map, 0, n);
        assert_int_equal(mf_bitmap_count(map, n), 0);
        mf_bitmap_free_in(&g.ops, map);
        mf_bitmap_free_in(&g.ops, src);
    }
    assert_int_equal(sup_guard_alloc_live(&g), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_be_roundtrip),
        cmocka_unit_test(test_set_test_clear),
        cmocka_unit_test(test_find_and_runs),
        cmocka_unit_test(test_take_atomic),
        cmocka_unit_test(test_ops_stay_inside_the_map),
    };

    return cmocka_run_group_tests_name("base/bitmap", tests, NULL, NULL);
}
