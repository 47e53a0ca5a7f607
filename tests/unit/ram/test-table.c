/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests for core/ram/table.c: the RAM block table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/bitmap.h"
#include "ram/errors.h"
#include "ram/ram.h"

#include "count-alloc.h"

static void expect_page_size(uint32_t page_size, bool ok)
{
    RamTable t;
    MfError err = { 0 };

    assert_int_equal(ram_table_init(&t, page_size, &err), ok);
    if (ok) {
        assert_int_equal(err.code, MF_OK);
        assert_int_equal(t.page_size, page_size);
        assert_int_equal(t.nblocks, 0);
        assert_null(t.blocks);
        assert_false(t.colo);
        ram_table_destroy(&t);
    } else {
        assert_int_equal(err.code, RAM_ERR_PAGE_SIZE);
        assert_string_equal(err.code_name, "RAM_ERR_PAGE_SIZE");
    }
}

static void test_init_page_sizes(void **state)
{
    (void)state;
    expect_page_size(0, false);
    expect_page_size(1, false);
    expect_page_size(256, false);
    expect_page_size(511, false);
    expect_page_size(512, true);
    expect_page_size(513, false);
    expect_page_size(3072, false);
    expect_page_size(4096, true);
    expect_page_size(65536, true);
    expect_page_size(524287, false);
    expect_page_size(524288, true);
    expect_page_size(524289, false);
    expect_page_size(1048576, false);
    expect_page_size(UINT32_MAX, false);
    expect_page_size(0x80000000u, false);
}

static void test_init_message(void **state)
{
    RamTable t;
    MfError err = { 0 };

    (void)state;
    assert_false(ram_table_init(&t, 256, &err));
    assert_string_equal(err.msg, "page_size 256 is not a power of two "
                                 "from 512 to 524288");
    assert_int_equal(err.offset, 0);
    assert_false(err.located);
    assert_false(ram_table_init(&t, 3, NULL)); /* NULL err allowed */
}

static void test_add_allocates_zeroed(void **state)
{
    RamTable t;
    MfError err = { 0 };
    RamBlock *b;
    uint64_t i;

    (void)state;
    assert_true(ram_table_init(&t, 4096, &err));
    b = ram_table_add(&t, "pc.ram", 5 * 4096 + 1, NULL, &err);
    assert_non_null(b);
    assert_int_equal(err.code, MF_OK);
    assert_string_equal(b->name, "pc.ram");
    assert_int_equal(b->used_length, 5 * 4096 + 1);
    assert_int_equal(b->page_size, 4096);
    assert_int_equal(b->npages, 6);
    assert_true(b->host_owned);
    for (i = 0; i < b->used_length; i++) {
        assert_int_equal(b->host[i], 0);
    }
    assert_non_null(b->received);
    assert_true(mf_bitmap_empty(b->received, b->npages));
    assert_null(b->colo_cache);
    assert_null(b->dirty);
    assert_null(b->guest_dirty);
    assert_int_equal(t.nblocks, 1);
    assert_ptr_equal(t.blocks[0], b);
    ram_table_destroy(&t);
}

static void test_add_caller_host(void **state)
{
    RamTable t;
    RamBlock *b;
    uint8_t mem[2 * 512];

    (void)state;
    memset(mem, 0xaa, sizeof(mem));
    assert_true(ram_table_init(&t, 512, NULL));
    b = ram_table_add(&t, "vga", sizeof(mem), mem, NULL);
    assert_non_null(b);
    assert_ptr_equal(b->host, mem);
    assert_false(b->host_owned);
    assert_int_equal(b->npages, 2);
    assert_int_equal(mem[0], 0xaa); /* untouched */
    ram_table_destroy(&t);          /* must not free mem (valgrind) */
    assert_int_equal(mem[1023], 0xaa);
}

static void test_name_length_limits(void **state)
{
    RamTable t;
    MfError err = { 0 };
    char name[RAM_BLOCK_NAME_MAX + 2];
    RamBlock *b;

    (void)state;
    assert_true(ram_table_init(&t, 4096, NULL));
    memset(name, 'n', RAM_BLOCK_NAME_MAX);
    name[RAM_BLOCK_NAME_MAX] = '\0'; /* 255 bytes */
    b = ram_table_add(&t, name, 4096, NULL, &err);
    assert_non_null(b);
    assert_int_equal(strlen(b->name), 255);
    assert_ptr_equal(ram_table_find(&t, name), b);

    memset(name, 'm', RAM_BLOCK_NAME_MAX + 1);
    name[RAM_BLOCK_NAME_MAX + 1] = '\0'; /* 256 bytes */
    assert_null(ram_table_add(&t, name, 4096, NULL, &err));
    assert_int_equal(err.code, RAM_ERR_NAME_LENGTH);
    assert_string_equal(err.msg, "RAM block name length exceeds 255 bytes");
    assert_int_equal(t.nblocks, 1);

    mf_error_clear(&err);
    assert_null(ram_table_add(&t, "", 4096, NULL, &err));
    assert_int_equal(err.code, RAM_ERR_NAME_LENGTH);
    assert_string_equal(err.msg, "RAM block name is empty");

    mf_error_clear(&err);
    assert_non_null(ram_table_add(&t, "x", 4096, NULL, &err)); /* 1 byte */
    assert_int_equal(t.nblocks, 2);
    ram_table_destroy(&t);
}

static void test_duplicate_and_length(void **state)
{
    RamTable t;
    MfError err = { 0 };
    RamBlock *b;

    (void)state;
    assert_true(ram_table_init(&t, 4096, NULL));
    b = ram_table_add(&t, "pc.ram", 8192, NULL, &err);
    assert_non_null(b);
    assert_null(ram_table_add(&t, "pc.ram", 4096, NULL, &err));
    assert_int_equal(err.code, RAM_ERR_DUPLICATE_BLOCK);
    assert_string_equal(err.msg, "RAM block \"pc.ram\" already exists");
    assert_int_equal(t.nblocks, 1);
    assert_int_equal(b->used_length, 8192); /* the first stays */

    /* a name differing only in the last byte is another block */
    assert_non_null(ram_table_add(&t, "pc.raM", 4096, NULL, NULL));
    assert_non_null(ram_table_add(&t, "pc.ra", 4096, NULL, NULL));

    mf_error_clear(&err);
    assert_null(ram_table_add(&t, "empty", 0, NULL, &err));
    assert_int_equal(err.code, RAM_ERR_BLOCK_LENGTH);
    assert_string_equal(err.msg, "RAM block \"empty\": used_length 0");
    assert_int_equal(t.nblocks, 3);

    /* one byte and page_size - 1 bytes are valid blocks */
    b = ram_table_add(&t, "tiny", 1, NULL, NULL);
    assert_non_null(b);
    assert_int_equal(b->npages, 1);
    b = ram_table_add(&t, "small", 4095, NULL, NULL);
    assert_non_null(b);
    assert_int_equal(b->npages, 1);
    b = ram_table_add(&t, "page", 4096, NULL, NULL);
    assert_int_equal(b->npages, 1);
    b = ram_table_add(&t, "page+1", 4097, NULL, NULL);
    assert_int_equal(b->npages, 2);
    ram_table_destroy(&t);
}

static void test_find_and_lookup(void **state)
{
    RamTable t;
    MfError err = { 0 };
    RamBlock *blocks[20];
    char name[16];
    int i;

    (void)state;
    assert_true(ram_table_init(&t, 4096, NULL));
    assert_null(ram_table_find(&t, "none")); /* empty table */
    for (i = 0; i < 20; i++) {               /* grows past 4, 8, 16 */
        snprintf(name, sizeof(name), "blk%d", i);
        blocks[i] = ram_table_add(&t, name, 4096 * (i + 1), NULL, &err);
        assert_non_null(blocks[i]);
    }
    assert_int_equal(t.nblocks, 20);
    assert_true(t.capacity >= 20);
    for (i = 0; i < 20; i++) {
        snprintf(name, sizeof(name), "blk%d", i);
        assert_ptr_equal(ram_table_find(&t, name), blocks[i]);
        assert_ptr_equal(ram_table_lookup(&t, name, &err), blocks[i]);
        assert_int_equal(blocks[i]->used_length, 4096 * (i + 1));
    }
    assert_int_equal(err.code, MF_OK);
    assert_null(ram_table_find(&t, "blk")); /* no prefix match */
    assert_null(ram_table_find(&t, "blk19x"));
    assert_null(ram_table_find(&t, "BLK1"));
    assert_null(ram_table_lookup(&t, "pc.ram", &err));
    assert_int_equal(err.code, RAM_ERR_UNKNOWN_BLOCK);
    assert_string_equal(err.code_name, "RAM_ERR_UNKNOWN_BLOCK");
    assert_string_equal(err.msg, "unknown RAM block \"pc.ram\"");
    ram_table_destroy(&t);
}

static void test_enable_colo(void **state)
{
    RamTable t;
    MfError err = { 0 };
    RamBlock *a, *b, *c;
    uint8_t *cache;
    uint64_t i;

    (void)state;
    assert_true(ram_table_init(&t, 4096, NULL));
    assert_true(ram_table_enable_colo(&t, &err)); /* empty table */
    ram_table_disable_colo(&t);
    assert_false(t.colo);

    a = ram_table_add(&t, "a", 3 * 4096, NULL, NULL);
    b = ram_table_add(&t, "b", 100, NULL, NULL);
    memset(a->host, 0x5a, a->used_length);
    assert_true(ram_table_enable_colo(&t, &err));
    assert_true(t.colo);
    assert_non_null(a->colo_cache);
    for (i = 0; i < a->used_length; i++) {
        assert_int_equal(a->colo_cache[i], 0); /* not a copy of guest */
    }
    assert_non_null(a->dirty);
    assert_non_null(a->guest_dirty);
    assert_true(mf_bitmap_empty(a->dirty, a->npages));
    assert_true(mf_bitmap_empty(a->guest_dirty, a->npages));
    assert_non_null(b->colo_cache);

    /* idempotent: nothing is reallocated */
    cache = a->colo_cache;
    assert_true(ram_table_enable_colo(&t, &err));
    assert_ptr_equal(a->colo_cache, cache);

    /* a block added later gets its COLO parts at once */
    c = ram_table_add(&t, "c", 4096, NULL, &err);
    assert_non_null(c);
    assert_non_null(c->colo_cache);
    assert_non_null(c->dirty);
    assert_non_null(c->guest_dirty);

    ram_table_disable_colo(&t);
    assert_false(t.colo);
    assert_null(a->colo_cache);
    assert_null(c->dirty);
    assert_null(b->guest_dirty);
    assert_non_null(a->host);
    assert_non_null(a->received);
    ram_table_disable_colo(&t);                   /* idempotent */
    assert_true(ram_table_enable_colo(&t, &err)); /* again */
    assert_non_null(c->colo_cache);
    ram_table_destroy(&t);
    assert_int_equal(t.nblocks, 0);
    assert_null(t.blocks);
    ram_table_destroy(&t); /* idempotent */
}

/* Everything the table allocates comes from the embedder's allocator. */
static void test_allocator(void **state)
{
    static uint8_t own[3 * 4096];
    SupCountAlloc ca;
    MfError err = { 0 };
    RamBlock *a, *b;
    RamTable t;

    (void)state;
    sup_count_alloc_init(&ca);
    assert_true(ram_table_init(&t, 4096, &err));
    ram_table_set_allocator(&t, &ca.ops);
    a = ram_table_add(&t, "pc.ram", 5 * 4096, NULL, &err);
    assert_non_null(a);
    /* block, guest memory, received bitmap, the block array */
    assert_int_equal(ca.allocs, 4);
    assert_int_equal(ca.largest, 5 * 4096);
    assert_true(a->host[0] == 0 && !memcmp(a->host, a->host + 1, 5 * 4096 - 1));
    assert_int_equal(a->received[0], 0);
    /* Caller's guest memory is not the allocator's business. */
    b = ram_table_add(&t, "own", sizeof(own), own, &err);
    assert_non_null(b);
    assert_int_equal(ca.allocs, 6);
    assert_int_equal(ca.largest, 5 * 4096);
    /* cache, dirty and guest_dirty bitmaps of both blocks, zeroed */
    assert_true(ram_table_enable_colo(&t, &err));
    assert_int_equal(ca.allocs, 12);
    assert_true(a->colo_cache[0] == 0 &&
                !memcmp(a->colo_cache, a->colo_cache + 1, 5 * 4096 - 1));
    assert_true(b->colo_cache[0] == 0 &&
                !memcmp(b->colo_cache, b->colo_cache + 1, sizeof(own) - 1));
    assert_int_equal(a->dirty[0] | a->guest_dirty[0], 0);
    ram_table_disable_colo(&t);
    assert_int_equal(sup_count_alloc_live(&ca), 6);
    /* A refusal is MF_ERR_NOMEM naming the block; nothing leaks. */
    ca.fail_nth = ca.calls + 1;
    assert_null(ram_table_add(&t, "bios", 4096, NULL, &err));
    assert_int_equal(err.code, MF_ERR_NOMEM);
    assert_string_equal(err.msg, "cannot allocate RAM block \"bios\"");
    assert_int_equal(sup_count_alloc_live(&ca), 6);
    ram_table_destroy(&t);
    assert_int_equal(sup_count_alloc_live(&ca), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_page_sizes),
        cmocka_unit_test(test_init_message),
        cmocka_unit_test(test_add_allocates_zeroed),
        cmocka_unit_test(test_add_caller_host),
        cmocka_unit_test(test_name_length_limits),
        cmocka_unit_test(test_duplicate_and_length),
        cmocka_unit_test(test_find_and_lookup),
        cmocka_unit_test(test_enable_colo),
        cmocka_unit_test(test_allocator),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
