/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for core/ram/page.c: offset validation on both sides of each
 * limit, the received bitmap and its test-and-set.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/bitmap.h"
#include "ram/errors.h"
#include "ram/ram.h"
#include "watchdog.h"

static void expect_offset(const RamBlock *b, uint64_t offset, int code)
{
    MfError err = { 0 };
    bool ok = ram_block_check_offset(b, offset, &err);

    if (code == MF_OK) {
        assert_true(ok);
        assert_int_equal(err.code, MF_OK);
    } else {
        assert_false(ok);
        assert_int_equal(err.code, code);
        assert_int_equal(err.offset, 0);
        assert_false(err.located);
    }
}

static void check_limits(uint32_t ps)
{
    RamTable t;
    RamBlock *b, *odd, *one, *small;

    assert_true(ram_table_init(&t, ps, NULL));
    b = ram_table_add(&t, "b", 4 * (uint64_t)ps, NULL, NULL);
    odd = ram_table_add(&t, "odd", 4 * (uint64_t)ps + 100, NULL, NULL);
    one = ram_table_add(&t, "one", ps, NULL, NULL);
    small = ram_table_add(&t, "small", ps - 1, NULL, NULL);
    assert_non_null(small);

    expect_offset(b, 0, MF_OK);
    expect_offset(b, ps, MF_OK);
    expect_offset(b, 3 * (uint64_t)ps, MF_OK); /* used_length - ps */
    expect_offset(b, 4 * (uint64_t)ps, RAM_ERR_OFFSET_RANGE);
    expect_offset(b, 3 * (uint64_t)ps + 1, RAM_ERR_OFFSET_RANGE);
    expect_offset(b, 5 * (uint64_t)ps, RAM_ERR_OFFSET_RANGE);
    expect_offset(b, 1, RAM_ERR_OFFSET_UNALIGNED);
    expect_offset(b, ps / 2, RAM_ERR_OFFSET_UNALIGNED);
    expect_offset(b, 3 * (uint64_t)ps - 1, RAM_ERR_OFFSET_UNALIGNED);
    /* offset + page_size would wrap to a small value */
    expect_offset(b, UINT64_MAX, RAM_ERR_OFFSET_RANGE);
    expect_offset(b, UINT64_MAX - ps + 1, RAM_ERR_OFFSET_RANGE);
    expect_offset(b, UINT64_MAX - ps + 2, RAM_ERR_OFFSET_RANGE);
    expect_offset(b, (UINT64_MAX / ps) * ps, RAM_ERR_OFFSET_RANGE);
    expect_offset(b, UINT64_MAX - 4 * (uint64_t)ps + 1, RAM_ERR_OFFSET_RANGE);

    /* a partial last page never fits */
    expect_offset(odd, 3 * (uint64_t)ps, MF_OK);
    expect_offset(odd, 4 * (uint64_t)ps, RAM_ERR_OFFSET_RANGE);

    expect_offset(one, 0, MF_OK);
    expect_offset(one, 1, RAM_ERR_OFFSET_RANGE);
    expect_offset(one, ps, RAM_ERR_OFFSET_RANGE);

    /* QEMU's used_length - page_size wraps here and accepts anything */
    expect_offset(small, 0, RAM_ERR_BLOCK_TOO_SMALL);
    expect_offset(small, ps, RAM_ERR_BLOCK_TOO_SMALL);
    expect_offset(small, UINT64_MAX, RAM_ERR_BLOCK_TOO_SMALL);
    ram_table_destroy(&t);
}

static void test_limits_512(void **state)
{
    (void)state;
    check_limits(512);
}

static void test_limits_4096(void **state)
{
    (void)state;
    check_limits(4096);
}

static void test_limits_524288(void **state)
{
    (void)state;
    check_limits(524288);
}

static void test_messages(void **state)
{
    RamTable t;
    RamBlock *b, *small;
    MfError err = { 0 };

    (void)state;
    assert_true(ram_table_init(&t, 4096, NULL));
    b = ram_table_add(&t, "pc.ram", 16384, NULL, NULL);
    small = ram_table_add(&t, "tiny", 4095, NULL, NULL);

    assert_false(ram_block_check_offset(b, 16384, &err));
    assert_string_equal(err.code_name, "RAM_ERR_OFFSET_RANGE");
    assert_string_equal(err.msg, "RAM block \"pc.ram\": offset 16384 + "
                                 "page_size 4096 exceeds used_length 16384");
    mf_error_clear(&err);
    assert_false(ram_block_check_offset(b, 4097, &err));
    assert_string_equal(err.code_name, "RAM_ERR_OFFSET_UNALIGNED");
    assert_string_equal(err.msg, "RAM block \"pc.ram\": offset 4097 is "
                                 "not a multiple of page_size 4096");
    mf_error_clear(&err);
    assert_false(ram_block_check_offset(small, 0, &err));
    assert_string_equal(err.code_name, "RAM_ERR_BLOCK_TOO_SMALL");
    assert_string_equal(err.msg, "RAM block \"tiny\": used_length 4095 is "
                                 "smaller than page_size 4096 (offset 0)");
    /* the first error is kept */
    assert_false(ram_block_check_offset(b, 1, &err));
    assert_string_equal(err.code_name, "RAM_ERR_BLOCK_TOO_SMALL");
    assert_false(ram_block_check_offset(b, 1, NULL));
    ram_table_destroy(&t);
}

static void test_page_helpers(void **state)
{
    RamTable t;
    RamBlock *b;

    (void)state;
    assert_true(ram_table_init(&t, 4096, NULL));
    b = ram_table_add(&t, "b", 2 * 4096 + 10, NULL, NULL);
    assert_int_equal(ram_block_page_index(b, 0), 0);
    assert_int_equal(ram_block_page_index(b, 4095), 0);
    assert_int_equal(ram_block_page_index(b, 4096), 1);
    assert_int_equal(ram_block_page_index(b, 8192), 2);
    assert_int_equal(ram_block_page_bytes(b, 0), 4096);
    assert_int_equal(ram_block_page_bytes(b, 4096), 4096);
    assert_int_equal(ram_block_page_bytes(b, 8192), 10);
    ram_table_destroy(&t);
}

static void test_test_and_set_received(void **state)
{
    RamTable t;
    RamBlock *b;

    (void)state;
    assert_true(ram_table_init(&t, 4096, NULL));
    b = ram_table_add(&t, "b", 70 * 4096, NULL, NULL);

    /* never received: answers false, and now it is received */
    assert_false(ram_block_is_received(b, 0));
    assert_false(ram_block_test_and_set_received(b, 0));
    assert_true(ram_block_is_received(b, 0));
    /* received before: answers true, stays received */
    assert_true(ram_block_test_and_set_received(b, 0));
    assert_true(ram_block_test_and_set_received(b, 0));

    /* ram_block_set_received is seen by a later test-and-set */
    assert_false(ram_block_is_received(b, 65 * 4096));
    ram_block_set_received(b, 65 * 4096);
    assert_true(ram_block_is_received(b, 65 * 4096));
    assert_true(ram_block_test_and_set_received(b, 65 * 4096));

    /* neighbours are independent (same word, next word) */
    assert_false(ram_block_is_received(b, 4096));
    assert_false(ram_block_is_received(b, 64 * 4096));
    assert_false(ram_block_is_received(b, 66 * 4096));
    assert_false(ram_block_test_and_set_received(b, 69 * 4096));
    assert_int_equal(mf_bitmap_count(b->received, b->npages), 3);
    ram_table_destroy(&t);
}

typedef struct MarkArg {
    RamBlock *b;
    uint64_t first;
    uint64_t step;
    uint64_t newly; /* pages this thread saw unreceived */
} MarkArg;

static void *mark_pages(void *opaque)
{
    MarkArg *a = opaque;
    uint64_t p;

    for (p = a->first; p < a->b->npages; p += a->step) {
        if (!ram_block_test_and_set_received(a->b, p * 4096)) {
            a->newly++;
        }
        ram_block_set_received(a->b, p * 4096);
    }
    return NULL;
}

/*
 * Four threads mark interleaved pages (so every word is shared) and two
 * of them cover the same pages: each page is reported "not received"
 * exactly once whatever the interleaving.
 */
static void test_received_threads(void **state)
{
    RamTable t;
    RamBlock *b;
    pthread_t th[4];
    MarkArg args[4];
    int i;

    (void)state;
    assert_true(ram_table_init(&t, 4096, NULL));
    b = ram_table_add(&t, "b", 1000 * 4096, NULL, NULL);
    for (i = 0; i < 4; i++) {
        args[i] = (MarkArg){ .b = b, .first = i % 3, .step = 3 };
        assert_int_equal(pthread_create(&th[i], NULL, mark_pages, &args[i]), 0);
    }
    /* Normally well under 0.1 s. */
    watchdog_arm(10, "ram/page: the four marking threads of "
                     "test_received_threads to return (pthread_join)");
    for (i = 0; i < 4; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
    }
    watchdog_disarm();
    assert_int_equal(
        args[0].newly + args[1].newly + args[2].newly + args[3].newly, 1000);
    assert_int_equal(mf_bitmap_count(b->received, b->npages), 1000);
    ram_table_destroy(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_limits_512),
        cmocka_unit_test(test_limits_4096),
        cmocka_unit_test(test_limits_524288),
        cmocka_unit_test(test_messages),
        cmocka_unit_test(test_page_helpers),
        cmocka_unit_test(test_test_and_set_received),
        cmocka_unit_test(test_received_threads),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
