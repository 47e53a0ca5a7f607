/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Tests of tests/support/oracle.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "oracle.h"
#include "sha256.h"

#define PS 4096

/* A range of pages whose first bytes are @firsts. */
static uint8_t *pages_with(const uint8_t *firsts, size_t n)
{
    uint8_t *m = calloc(n, PS);

    for (size_t i = 0; i < n; i++) {
        m[i * PS] = firsts[i];
        m[i * PS + 1] = 0xee; /* other bytes do not matter */
    }
    return m;
}

static bool check(const uint8_t *firsts, size_t n, uint64_t *bad)
{
    uint8_t *m = pages_with(firsts, n);
    char why[200];
    bool ok = oracle_check_guests_ram(m, 0, n * PS, PS, bad, why, sizeof(why));

    free(m);
    return ok;
}

static void test_guests_ram_accepts(void **state)
{
    static const uint8_t flat[] = { 7, 7, 7, 7 };
    static const uint8_t step[] = { 8, 8, 7, 7 };
    static const uint8_t wrap[] = { 0, 0, 255, 255 };
    static const uint8_t first_only[] = { 1, 0, 0, 0 };

    (void)state;
    assert_true(check(flat, 4, NULL));
    assert_true(check(step, 4, NULL));
    assert_true(check(wrap, 4, NULL));
    assert_true(check(first_only, 4, NULL));
    assert_true(oracle_check_guests_ram(NULL, 5, 5, PS, NULL, NULL, 0));
}

static void test_guests_ram_rejects(void **state)
{
    static const uint8_t up[] = { 7, 8 };
    static const uint8_t two_steps[] = { 9, 8, 7 };
    static const uint8_t jump[] = { 9, 9, 5 };
    static const uint8_t back[] = { 8, 7, 8 };
    uint64_t bad = 0;
    uint8_t *m;
    char why[200];

    (void)state;
    assert_false(check(up, 2, &bad));
    assert_int_equal(bad, PS);
    assert_false(check(two_steps, 3, &bad));
    assert_int_equal(bad, 2 * PS);
    assert_false(check(jump, 3, &bad));
    assert_int_equal(bad, 2 * PS);
    assert_false(check(back, 3, &bad));
    assert_int_equal(bad, 2 * PS);
    /* The message names the offset and the bytes. */
    m = pages_with(jump, 3);
    assert_false(
        oracle_check_guests_ram(m, 0, 3 * PS, PS, NULL, why, sizeof(why)));
    assert_non_null(strstr(why, "0x2000"));
    assert_non_null(strstr(why, "0x05"));
    /* A sub-range that avoids the bad page passes. */
    assert_true(oracle_check_guests_ram(m, 0, 2 * PS, PS, NULL, NULL, 0));
    free(m);
}

static void test_image_equal(void **state)
{
    MemImage *a = mem_image_new(PS), *b, *c;
    OracleDiff d;

    (void)state;
    mem_image_add(a, "one", 2 * PS);
    mem_image_add(a, "two", PS);
    b = mem_image_clone(a);
    assert_true(oracle_image_equal(a, b, &d));
    b->blocks[1].data[77] = 3;
    assert_false(oracle_image_equal(a, b, &d));
    assert_false(d.layout);
    assert_int_equal(d.block, 1);
    assert_int_equal(d.offset, 77);
    assert_int_equal(d.want, 0);
    assert_int_equal(d.got, 3);
    assert_string_equal(d.msg, "block two offset 0x4d: want 0x00 got 0x03");
    c = mem_image_new(PS);
    mem_image_add(c, "one", 2 * PS);
    mem_image_add(c, "two", 2 * PS);
    assert_false(oracle_image_equal(a, c, &d));
    assert_true(d.layout);
    assert_int_equal(d.block, 1);
    mem_image_free(a);
    mem_image_free(b);
    mem_image_free(c);
}

static void test_digests(void **state)
{
    MemImage *a = mem_image_new(PS);
    uint8_t dg[2][32];
    char hex[65];

    (void)state;
    mem_image_add(a, "x", PS);
    mem_image_add(a, "y", 3);
    memcpy(a->blocks[1].data, "abc", 3);
    sha256_digest(a->blocks[0].data, PS, dg[0]);
    sha256_digest("abc", 3, dg[1]);
    assert_int_equal(oracle_image_digests(a, (const uint8_t(*)[32])dg), -1);
    a->blocks[1].data[0] = 'A';
    assert_int_equal(oracle_image_digests(a, (const uint8_t(*)[32])dg), 1);
    oracle_sha256_hex("abc", 3, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223"
                             "b00361a396177a9cb410ff61f20015ad");
    mem_image_free(a);
}

/* The mismatch message names the block, the page and the first byte. */
static void test_block_range_equal(void **state)
{
    uint8_t want[3 * 4096];
    uint8_t got[3 * 4096];
    OracleDiff d;

    (void)state;
    for (size_t i = 0; i < sizeof(want); i++) {
        want[i] = (uint8_t)(i * 7 + 1);
    }
    memcpy(got, want, sizeof(got));
    assert_true(oracle_block_range_equal("pc.bios", 0x10000, want, got,
                                         sizeof(got), 4096, &d));
    assert_string_equal(d.msg, "");
    /* Two differences: the first one is reported. */
    got[4096 + 0x123] ^= 0xff;
    got[2 * 4096 + 5] = 0;
    assert_false(oracle_block_range_equal("pc.bios", 0x10000, want, got,
                                          sizeof(got), 4096, &d));
    assert_int_equal(d.offset, 0x11123);
    assert_int_equal(d.want, want[4096 + 0x123]);
    assert_int_equal(d.got, (uint8_t)(want[4096 + 0x123] ^ 0xff));
    assert_string_equal(d.msg, "block pc.bios page 17 (offset 0x11000): "
                               "first difference at byte 0x123 of the "
                               "page: expected 0xf6, got 0x09");
    /* A range that starts inside a page. */
    memcpy(got, want, sizeof(got));
    got[10] = 0xaa;
    assert_false(
        oracle_block_range_equal("pc.ram", 0xff8, want, got, 100, 4096, &d));
    assert_string_equal(d.msg, "block pc.ram page 1 (offset 0x1000): "
                               "first difference at byte 0x2 of the page: "
                               "expected 0x47, got 0xaa");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_guests_ram_accepts),
        cmocka_unit_test(test_guests_ram_rejects),
        cmocka_unit_test(test_image_equal),
        cmocka_unit_test(test_digests),
        cmocka_unit_test(test_block_range_equal),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
