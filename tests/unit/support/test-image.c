/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Tests of tests/support/image.c: memory images and page sets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "image.h"

static void test_layout(void **state)
{
    MemImage *img = mem_image_new(4096);
    MemImage *c;

    (void)state;
    mem_image_add(img, "a", 10000);
    mem_image_add(img, "b", 4096);
    assert_int_equal(img->blocks[0].npages, 3);
    assert_int_equal(mem_image_page_len(img, 0, 2), 10000 - 8192);
    assert_int_equal(mem_image_page_len(img, 0, 1), 4096);
    assert_int_equal(mem_image_find(img, "b"), 1);
    assert_int_equal(mem_image_find(img, "c"), -1);
    assert_int_equal(mem_image_total(img), 14096);
    img->blocks[0].data[9999] = 5;
    c = mem_image_clone(img);
    assert_true(mem_image_same_layout(img, c));
    assert_int_equal(c->blocks[0].data[9999], 5);
    c->blocks[0].data[9999] = 6;
    mem_image_copy(img, c);
    assert_int_equal(img->blocks[0].data[9999], 6);
    mem_image_free(c);
    mem_image_free(img);
    img = mem_image_new_pc(32 * 1024 * 1024);
    assert_int_equal(img->nblocks, 8);
    assert_string_equal(img->blocks[0].name, "pc.ram");
    assert_int_equal(img->blocks[0].size, 32 * 1024 * 1024);
    mem_image_free(img);
}

static void test_page_set(void **state)
{
    MemImage *img = mem_image_new(4096);
    PageSet *s, *t;
    size_t b = 0;
    uint64_t pg = 0;

    (void)state;
    mem_image_add(img, "a", 100 * 4096);
    mem_image_add(img, "b", 70 * 4096);
    s = page_set_new(img);
    t = page_set_new(img);
    assert_int_equal(page_set_count(s), 0);
    assert_false(page_set_next(s, &b, &pg));
    page_set_add(s, 1, 69);
    page_set_add(s, 0, 3);
    page_set_add_range(t, 0, 98, 10); /* clipped to 98, 99 */
    page_set_union(s, t);
    assert_int_equal(page_set_count(s), 4);
    b = 0;
    pg = 0;
    assert_true(page_set_next(s, &b, &pg));
    assert_int_equal(b, 0);
    assert_int_equal(pg, 3);
    pg++;
    assert_true(page_set_next(s, &b, &pg));
    assert_int_equal(pg, 98);
    pg = 100;
    assert_true(page_set_next(s, &b, &pg));
    assert_int_equal(b, 1);
    assert_int_equal(pg, 69);
    pg++;
    assert_false(page_set_next(s, &b, &pg));
    page_set_remove(s, 1, 69);
    assert_false(page_set_test(s, 1, 69));
    page_set_add_all(s);
    assert_int_equal(page_set_count(s), 170);
    page_set_clear(s);
    assert_int_equal(page_set_count(s), 0);
    page_set_free(s);
    page_set_free(t);
    mem_image_free(img);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layout),
        cmocka_unit_test(test_page_set),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
