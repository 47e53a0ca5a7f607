/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Tests of tests/support/workload.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "oracle.h"
#include "sha256.h"
#include "workload.h"

#define PS 4096

/* Stopped anywhere, the incrementing guest satisfies check_guests_ram. */
static void test_increment_oracle(void **state)
{
    MemImage *img = mem_image_new(PS);
    PageSet *dirty;
    WorkloadIncrement w;

    (void)state;
    mem_image_add(img, "ram", 64 * PS);
    dirty = page_set_new(img);
    workload_increment_init(&w, 0, 8 * PS, 40 * PS);
    for (uint64_t steps = 0; steps < 32 * 300; steps += 37) {
        workload_increment_run(&w, img, 37, dirty);
        assert_true(oracle_check_guests_ram(img->blocks[0].data, 8 * PS,
                                            40 * PS, PS, NULL, NULL, 0));
    }
    /* Only the range was touched, every page of it. */
    assert_int_equal(page_set_count(dirty), 32);
    assert_false(page_set_test(dirty, 0, 7));
    assert_true(page_set_test(dirty, 0, 39));
    assert_false(page_set_test(dirty, 0, 40));
    /* Two steps in one place are caught. */
    img->blocks[0].data[20 * PS]++;
    img->blocks[0].data[20 * PS]++;
    assert_false(oracle_check_guests_ram(img->blocks[0].data, 8 * PS, 40 * PS,
                                         PS, NULL, NULL, 0));
    page_set_free(dirty);
    mem_image_free(img);
}

static void digest_all(const MemImage *img, uint8_t out[32])
{
    Sha256 c;

    sha256_init(&c);
    for (size_t i = 0; i < img->nblocks; i++) {
        sha256_update(&c, img->blocks[i].data, img->blocks[i].size);
    }
    sha256_final(&c, out);
}

static void run_random(uint64_t seed, uint8_t out[32], uint64_t *dirtied)
{
    MemImage *img = mem_image_new(PS);
    PageSet *dirty;
    SupRng rng;

    mem_image_add(img, "a", 50 * PS);
    mem_image_add(img, "b", 30 * PS);
    dirty = page_set_new(img);
    sup_rng_seed(&rng, seed);
    workload_random(img, &rng, 40, 20, dirty);
    digest_all(img, out);
    *dirtied = page_set_count(dirty);
    page_set_free(dirty);
    mem_image_free(img);
}

static void test_random_deterministic(void **state)
{
    uint8_t a[32], b[32], c[32];
    uint64_t na, nb, nc;

    (void)state;
    run_random(1, a, &na);
    run_random(1, b, &nb);
    run_random(2, c, &nc);
    assert_memory_equal(a, b, 32);
    assert_int_equal(na, nb);
    assert_memory_not_equal(a, c, 32);
    assert_true(na > 0 && na <= 40);
}

/* Non-zero writes leave a non-zero page; zero writes a zero page. */
static void test_random_zero_pages(void **state)
{
    MemImage *img = mem_image_new(PS);
    PageSet *dirty;
    SupRng rng;
    size_t b = 0;
    uint64_t pg = 0;
    int zero = 0, nonzero = 0;

    (void)state;
    mem_image_add(img, "a", 4 * PS);
    memset(img->blocks[0].data, 0x11, 4 * PS);
    dirty = page_set_new(img);
    sup_rng_seed(&rng, 77);
    workload_random(img, &rng, 2, 100, dirty);
    while (page_set_next(dirty, &b, &pg)) {
        const uint8_t *d = mem_image_page(img, b, pg);
        bool all_zero = true;

        for (int i = 0; i < PS; i++) {
            all_zero &= d[i] == 0;
        }
        zero += all_zero;
        nonzero += !all_zero;
        pg++;
    }
    assert_true(zero > 0);
    assert_int_equal(nonzero, 0);
    page_set_clear(dirty);
    workload_random(img, &rng, 50, 0, dirty);
    b = 0;
    pg = 0;
    while (page_set_next(dirty, &b, &pg)) {
        assert_int_not_equal(mem_image_page(img, b, pg)[0], 0);
        pg++;
    }
    page_set_free(dirty);
    mem_image_free(img);
}

static void test_sequential(void **state)
{
    MemImage *img = mem_image_new(PS);
    PageSet *dirty;
    WorkloadSequential w;
    WorkloadSequential w2;
    uint8_t first[100];

    (void)state;
    mem_image_add(img, "disk", 10 * PS);
    dirty = page_set_new(img);
    workload_sequential_init(&w, 0, 5);
    workload_sequential_run(&w, img, PS + 1, dirty);
    assert_int_equal(page_set_count(dirty), 2);
    assert_int_equal(w.cursor, PS + 1);
    memcpy(first, img->blocks[0].data, sizeof(first));
    /* Same seed, same bytes. */
    workload_sequential_init(&w2, 0, 5);
    memset(img->blocks[0].data, 0, 10 * PS);
    workload_sequential_run(&w2, img, 100, NULL);
    assert_memory_equal(first, img->blocks[0].data, sizeof(first));
    /* Wraps at the end of the block. */
    workload_sequential_run(&w, img, 10 * PS, dirty);
    assert_int_equal(page_set_count(dirty), 10);
    assert_int_equal(w.cursor, PS + 1);
    page_set_free(dirty);
    mem_image_free(img);
}

static bool page_is_zero(const MemImage *img, size_t b, uint64_t p)
{
    const uint8_t *pg = mem_image_page(img, b, p);

    for (uint32_t i = 0; i < mem_image_page_len(img, b, p); i++) {
        if (pg[i]) {
            return false;
        }
    }
    return true;
}

/* Whole pages of seeded bytes; the last page of every block, only it. */
static void test_fill_and_last_pages(void **state)
{
    MemImage *img = mem_image_new(PS);
    PageSet *dirty;
    SupRng rng;
    unsigned distinct = 0;
    uint8_t seen[256] = { 0 };

    (void)state;
    mem_image_add(img, "a", 4 * PS);
    mem_image_add(img, "b", PS);
    mem_image_add(img, "c", 3 * PS + 100); /* partial last page */
    dirty = page_set_new(img);
    sup_rng_seed(&rng, 5);
    workload_last_pages(img, &rng, dirty);
    assert_int_equal(page_set_count(dirty), 3);
    assert_true(page_set_test(dirty, 0, 3));
    assert_true(page_set_test(dirty, 1, 0));
    assert_true(page_set_test(dirty, 2, 3));
    for (uint64_t p = 0; p < 3; p++) {
        assert_true(page_is_zero(img, 0, p));
        assert_true(page_is_zero(img, 2, p));
    }
    assert_int_not_equal(mem_image_page(img, 0, 3)[0], 0);
    assert_int_not_equal(mem_image_page(img, 2, 3)[0], 0);
    /* Random bytes over the whole page, not a few of them. */
    for (uint32_t i = 0; i < PS; i++) {
        uint8_t v = mem_image_page(img, 0, 3)[i];

        distinct += !seen[v];
        seen[v] = 1;
    }
    assert_true(distinct > 200);
    assert_int_not_equal(mem_image_page(img, 0, 3)[PS - 1] |
                             mem_image_page(img, 0, 3)[PS - 2] |
                             mem_image_page(img, 0, 3)[PS - 3],
                         0);
    page_set_free(dirty);
    mem_image_free(img);
}

/* Only non-zero pages are zeroed, as many as asked, or all of them. */
static void test_zero_nonzero(void **state)
{
    MemImage *img = mem_image_new(PS);
    PageSet *dirty;
    SupRng rng;
    size_t b = 0;
    uint64_t p = 0;

    (void)state;
    mem_image_add(img, "ram", 64 * PS);
    dirty = page_set_new(img);
    sup_rng_seed(&rng, 9);
    for (uint64_t i = 0; i < 64; i += 2) {
        workload_fill_page(img, &rng, 0, i, NULL);
    }
    assert_int_equal(workload_zero_nonzero(img, &rng, 10, dirty), 10);
    assert_int_equal(page_set_count(dirty), 10);
    while (page_set_next(dirty, &b, &p)) {
        assert_int_equal(p % 2, 0); /* a page that was non-zero */
        assert_true(page_is_zero(img, b, p));
        p++;
    }
    /* 22 non-zero pages left: asking for 30 zeroes those 22. */
    page_set_clear(dirty);
    assert_int_equal(workload_zero_nonzero(img, &rng, 30, dirty), 22);
    assert_int_equal(page_set_count(dirty), 22);
    for (uint64_t i = 0; i < 64; i++) {
        assert_true(page_is_zero(img, 0, i));
    }
    page_set_free(dirty);
    mem_image_free(img);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_increment_oracle),
        cmocka_unit_test(test_random_deterministic),
        cmocka_unit_test(test_random_zero_pages),
        cmocka_unit_test(test_sequential),
        cmocka_unit_test(test_fill_and_last_pages),
        cmocka_unit_test(test_zero_nonzero),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
