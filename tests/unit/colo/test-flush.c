/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for core/colo/flush.c: applying a checkpoint
 * (docs/qemu-reference.md#flush), I3, and the zero-page case
 * (#gap-zero-pages there).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/bitmap.h"
#include "colo-check.h"
#include "colo/colo.h"
#include "colo/errors.h"
#include "model.h"
#include "ram/ram.h"

#include "colo-fixture.h"

static int setup(void **state)
{
    return colo_fix_setup(state, 130 * PS, 2 * PS + 100);
}

static void test_flush_phase(void **state)
{
    Fix *f = *state;
    MfError err = { 0 };
    ColoFlushStats st = { 1, 2, 3 };

    assert_false(colo_flush(&f->s, &st, &err));
    assert_int_equal(err.code, COLO_ERR_PHASE);
    assert_string_equal(err.msg,
                        "cannot flush the COLO cache in phase precopy");
    assert_int_equal(st.pages, 1); /* untouched on error */
    assert_int_equal(f->s.flushes, 0);
}

static void test_flush_empty(void **state)
{
    Fix *f = *state;
    MfError err = { 0 };
    ColoFlushStats st = { 1, 2, 3 };

    assert_true(colo_enter(&f->s, NULL));
    assert_true(colo_flush(&f->s, &st, &err));
    assert_int_equal(st.pages, 0);
    assert_int_equal(st.runs, 0);
    assert_int_equal(st.guest_pages, 0);
    assert_int_equal(f->s.flushes, 1);
    assert_true(colo_flush(&f->s, NULL, &err)); /* stats optional */
    assert_int_equal(f->s.flushes, 2);
    assert_true(colo_check_i3(&f->s, &err));
}

/* Runs of recorded and guest-dirtied pages, across words and blocks. */
static void test_flush_runs(void **state)
{
    Fix *f = *state;
    MfError err = { 0 };
    ColoFlushStats st;
    uint64_t pages[] = { 0, 1, 2, 63, 64, 65, 129 };
    uint64_t p;

    assert_true(colo_enter(&f->s, NULL));
    for (p = 0; p < 7; p++) {
        uint64_t off = pages[p] * PS;

        assert_true(colo_fix_begin(&f->s, f->a, &off, 1, NULL, 0));
        memset(f->a->colo_cache + off, 0x10 + (int)p, PS);
    }
    /* secondary dirtied page 3 (joins run 0-3) and 100 (alone) */
    f->a->host[3 * PS + 5] = 0xff;
    colo_guest_dirty(f->a, 3 * PS + 5);
    f->a->host[100 * PS] = 0xfe;
    colo_guest_dirty(f->a, 100 * PS);
    /* and the partial last page of b */
    memset(f->b->host + 2 * PS, 0x77, 100);
    colo_guest_dirty(f->b, 2 * PS + 99);

    assert_true(colo_flush(&f->s, &st, &err));
    assert_int_equal(st.pages, 7 + 2 + 1);
    assert_int_equal(st.runs, 4 + 1); /* 0-3, 63-65, 100, 129 | b:2 */
    assert_int_equal(st.guest_pages, 3);
    for (p = 0; p < 7; p++) {
        assert_int_equal(f->a->host[pages[p] * PS], 0x10 + (int)p);
        assert_int_equal(f->a->host[pages[p] * PS + PS - 1], 0x10 + (int)p);
    }
    assert_int_equal(f->a->host[3 * PS + 5], 0); /* restored */
    assert_int_equal(f->a->host[100 * PS], 0);
    assert_int_equal(f->b->host[2 * PS], 0);
    assert_int_equal(f->b->host[2 * PS + 99], 0);
    assert_true(colo_check_i3(&f->s, &err));
    assert_int_equal(f->s.dirty_pages, 0);
}

/*
 * A page non-zero at checkpoint k and zero at k+1 must be zero in the
 * guest after the flush of k+1 (docs/qemu-reference.md#gap-zero-pages).
 * Through the receive
 * path's steps (model_real_packet): the zero page is recorded, and the
 * zero-page rule zeroes the cache because the page was received before.
 */
static void test_zero_page_after_nonzero(void **state)
{
    Fix *f = *state;
    MfError err = { 0 };
    uint8_t data[PS];
    uint64_t off = 42 * PS;

    assert_true(colo_enter(&f->s, NULL));
    memset(data, 0xc3, sizeof(data));
    assert_true(model_real_packet(&f->s, f->a, &off, data, 1, NULL, 0, &err));
    assert_true(colo_flush(&f->s, NULL, &err)); /* checkpoint k */
    assert_int_equal(f->a->host[off], 0xc3);
    assert_int_equal(f->a->host[off + PS - 1], 0xc3);

    assert_true(model_real_packet(&f->s, f->a, NULL, NULL, 0, &off, 1, &err));
    assert_true(mf_bitmap_test(f->a->dirty, 42)); /* zero recorded */
    assert_int_equal(f->a->host[off], 0xc3);      /* not yet */
    assert_true(colo_flush(&f->s, NULL, &err));   /* checkpoint k+1 */
    assert_int_equal(f->a->host[off], 0);
    assert_int_equal(f->a->host[off + PS - 1], 0);
    assert_true(colo_check_i3(&f->s, &err));
}

/* The same when the non-zero version came during precopy. */
static void test_zero_page_after_precopy(void **state)
{
    Fix *f = *state;
    MfError err = { 0 };
    uint8_t data[PS];
    uint64_t off = 7 * PS;

    memset(data, 0x3c, sizeof(data));
    assert_true(model_real_packet(&f->s, f->a, &off, data, 1, NULL, 0, &err));
    assert_int_equal(f->a->host[off], 0x3c);
    assert_true(colo_enter(&f->s, NULL));
    assert_true(model_real_packet(&f->s, f->a, NULL, NULL, 0, &off, 1, &err));
    assert_true(colo_flush(&f->s, NULL, &err));
    assert_int_equal(f->a->host[off], 0);
}

/* The secondary dirtied a page the primary never sent: restored too. */
static void test_guest_only_page_restored(void **state)
{
    Fix *f = *state;
    MfError err = { 0 };
    ColoFlushStats st;

    assert_true(colo_enter(&f->s, NULL));
    memset(f->a->host + 9 * PS, 0x99, PS);
    colo_guest_dirty(f->a, 9 * PS);
    assert_true(colo_flush(&f->s, &st, &err));
    assert_int_equal(st.pages, 1);
    assert_int_equal(st.guest_pages, 1);
    assert_int_equal(f->a->host[9 * PS], 0);
    assert_int_equal(f->a->host[10 * PS - 1], 0);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, colo_fix_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_flush_phase),
        T(test_flush_empty),
        T(test_flush_runs),
        T(test_zero_page_after_nonzero),
        T(test_zero_page_after_precopy),
        T(test_guest_only_page_restored),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
