/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests for core/colo/state.c: phases, discard, failover, release. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/bitmap.h"
#include "colo/colo.h"
#include "colo/errors.h"
#include "ram/ram.h"

#include "colo-fixture.h"

static int setup(void **state)
{
    return colo_fix_setup(state, 8 * PS, 3 * PS + 7);
}

static void test_init(void **state)
{
    Fix *f = *state;

    assert_ptr_equal(f->s.ram, &f->t);
    assert_int_equal(colo_phase(&f->s), COLO_PHASE_PRECOPY);
    assert_int_equal(f->s.dirty_pages, 0);
    assert_int_equal(f->s.flushes, 0);
    assert_true(f->t.colo);
    assert_non_null(f->a->colo_cache);
    assert_non_null(f->b->guest_dirty);
}

static void test_phase_names(void **state)
{
    (void)state;
    assert_string_equal(colo_phase_name(COLO_PHASE_PRECOPY), "precopy");
    assert_string_equal(colo_phase_name(COLO_PHASE_COLO), "colo");
    assert_string_equal(colo_phase_name(COLO_PHASE_FAILED_OVER), "failed-over");
    assert_string_equal(colo_phase_name((ColoPhase)42), "invalid");
}

static void test_enter(void **state)
{
    Fix *f = *state;
    MfError err = { 0 };

    /* bits left from precopy (none should be, but enter clears them) */
    mf_bitmap_set(f->a->dirty, 3);
    mf_bitmap_set(f->b->guest_dirty, 0);
    f->s.dirty_pages = 1;
    assert_true(colo_enter(&f->s, &err));
    assert_int_equal(colo_phase(&f->s), COLO_PHASE_COLO);
    assert_true(mf_bitmap_empty(f->a->dirty, f->a->npages));
    assert_true(mf_bitmap_empty(f->b->guest_dirty, f->b->npages));
    assert_int_equal(f->s.dirty_pages, 0);

    assert_false(colo_enter(&f->s, &err));
    assert_int_equal(err.code, COLO_ERR_PHASE);
    assert_string_equal(err.msg, "cannot enter COLO from phase colo");
    assert_int_equal(colo_phase(&f->s), COLO_PHASE_COLO);

    colo_failover(&f->s);
    mf_error_clear(&err);
    assert_false(colo_enter(&f->s, &err));
    assert_int_equal(err.code, COLO_ERR_PHASE);
    assert_string_equal(err.msg, "cannot enter COLO from phase failed-over");
}

/* A packet samples the phase once; after failover it is refused. */
static void test_packet_phase(void **state)
{
    Fix *f = *state;
    MfError err = { 0 };
    ColoPacket pk = { .phase = COLO_PHASE_FAILED_OVER };

    assert_true(colo_place_packet_begin(&pk, &f->s, f->a, NULL, 0, NULL, 0,
                                        NULL, 0, &err));
    assert_int_equal(pk.phase, COLO_PHASE_PRECOPY);
    assert_true(colo_enter(&f->s, NULL));
    assert_true(colo_place_packet_begin(&pk, &f->s, f->a, NULL, 0, NULL, 0,
                                        NULL, 0, &err));
    assert_int_equal(pk.phase, COLO_PHASE_COLO);
    colo_failover(&f->s);
    assert_false(colo_place_packet_begin(&pk, &f->s, f->a, NULL, 0, NULL, 0,
                                         NULL, 0, &err));
    assert_int_equal(err.code, COLO_ERR_PHASE);
    assert_string_equal(err.code_name, "COLO_ERR_PHASE");
    assert_string_equal(err.msg,
                        "packet with 0 pages for block a after failover");
}

static void test_discard(void **state)
{
    Fix *f = *state;
    uint64_t pages[2] = { 2 * PS, 5 * PS };
    uint64_t zero[1] = { 0 };
    uint64_t i;

    memset(f->a->host, 0x11, f->a->used_length);
    memset(f->a->colo_cache, 0x11, f->a->used_length);
    /* precopy: discard does nothing */
    mf_bitmap_set(f->a->dirty, 1);
    colo_discard(&f->s);
    assert_true(mf_bitmap_test(f->a->dirty, 1));
    assert_true(colo_enter(&f->s, NULL));

    /* a partial checkpoint: pages recorded, cache partly written */
    assert_true(colo_fix_begin(&f->s, f->a, pages, 2, zero, 1));
    assert_int_equal(f->s.dirty_pages, 3);
    memset(f->a->colo_cache + 2 * PS, 0x22, 100);
    memset(f->a->colo_cache, 0, PS);
    f->a->host[7 * PS] = 0x33; /* secondary wrote page 7 */
    colo_guest_dirty(f->a, 7 * PS);
    colo_discard(&f->s);

    assert_int_equal(f->s.dirty_pages, 0);
    assert_true(mf_bitmap_empty(f->a->dirty, f->a->npages));
    /* the guest's own log stays for the next flush */
    assert_true(mf_bitmap_test(f->a->guest_dirty, 7));
    for (i = 0; i < f->a->used_length; i++) {
        if (i != 7 * PS) {
            assert_int_equal(f->a->host[i], 0x11);       /* guest untouched */
            assert_int_equal(f->a->colo_cache[i], 0x11); /* cache restored */
        }
    }
    assert_int_equal(f->a->host[7 * PS], 0x33);
    assert_int_equal(f->a->colo_cache[7 * PS], 0x11); /* not discarded */
    assert_true(ram_block_is_received(f->a, 0));
    assert_true(ram_block_is_received(f->a, 2 * PS));
    assert_true(ram_block_is_received(f->a, 5 * PS));
    assert_false(ram_block_is_received(f->a, 7 * PS));
}

static void test_discard_partial_last_page(void **state)
{
    Fix *f = *state;
    uint64_t i;

    assert_true(colo_enter(&f->s, NULL));
    memset(f->b->host, 0x44, f->b->used_length);
    memset(f->b->colo_cache, 0x55, f->b->used_length);
    mf_bitmap_set_atomic(f->b->dirty, 3); /* the 7-byte last page */
    f->s.dirty_pages = 1;
    colo_discard(&f->s);
    for (i = 3 * PS; i < f->b->used_length; i++) {
        assert_int_equal(f->b->colo_cache[i], 0x44);
    }
    assert_int_equal(f->b->colo_cache[3 * PS - 1], 0x55);
}

static void test_failover(void **state)
{
    Fix *f = *state;
    MfError err = { 0 };
    uint64_t page = PS;

    assert_true(colo_enter(&f->s, NULL));
    assert_true(colo_fix_begin(&f->s, f->a, &page, 1, NULL, 0));
    f->a->colo_cache[PS] = 0x99;
    colo_guest_dirty(f->a, 0);
    f->a->host[0] = 0x77;
    colo_failover(&f->s);
    assert_int_equal(colo_phase(&f->s), COLO_PHASE_FAILED_OVER);
    assert_true(mf_bitmap_empty(f->a->dirty, f->a->npages));
    assert_true(mf_bitmap_empty(f->a->guest_dirty, f->a->npages));
    assert_int_equal(f->a->host[PS], 0);   /* partial page never applied */
    assert_int_equal(f->a->host[0], 0x77); /* own write kept */
    assert_int_equal(f->s.dirty_pages, 0);
    colo_failover(&f->s); /* idempotent */
    assert_int_equal(colo_phase(&f->s), COLO_PHASE_FAILED_OVER);
    assert_false(colo_flush(&f->s, NULL, &err));
    assert_int_equal(err.code, COLO_ERR_PHASE);
}

static void test_failover_from_precopy(void **state)
{
    Fix *f = *state;

    f->a->host[0] = 1;
    colo_failover(&f->s);
    assert_int_equal(colo_phase(&f->s), COLO_PHASE_FAILED_OVER);
    assert_int_equal(f->a->host[0], 1);
}

static void test_destroy(void **state)
{
    Fix *f = *state;
    MfError err = { 0 };

    colo_destroy(&f->s);
    assert_false(f->t.colo);
    assert_null(f->a->colo_cache);
    assert_null(f->a->dirty);
    assert_non_null(f->a->host);
    colo_destroy(&f->s); /* idempotent */

    assert_false(colo_enter(&f->s, &err));
    assert_int_equal(err.code, COLO_ERR_NO_CACHE);
    assert_string_equal(err.msg,
                        "cannot enter COLO: the COLO cache was released");

    /* in COLO phase when released: flush refuses, discard is a no-op */
    __atomic_store_n(&f->s.phase, COLO_PHASE_COLO, __ATOMIC_RELAXED);
    mf_error_clear(&err);
    assert_false(colo_flush(&f->s, NULL, &err));
    assert_int_equal(err.code, COLO_ERR_NO_CACHE);
    assert_string_equal(err.msg, "cannot flush: the COLO cache was released");
    colo_discard(&f->s);
    colo_failover(&f->s);
    assert_int_equal(colo_phase(&f->s), COLO_PHASE_FAILED_OVER);
    colo_guest_dirty(f->a, 0); /* no log any more: ignored */
}

static void test_destroy_unused(void **state)
{
    ColoState s;

    (void)state;
    memset(&s, 0, sizeof(s));
    colo_destroy(&s); /* never initialised: no table, nothing to free */
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, colo_fix_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_init),     cmocka_unit_test(test_phase_names),
        T(test_enter),    T(test_packet_phase),
        T(test_discard),  T(test_discard_partial_last_page),
        T(test_failover), T(test_failover_from_precopy),
        T(test_destroy),  cmocka_unit_test(test_destroy_unused),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
