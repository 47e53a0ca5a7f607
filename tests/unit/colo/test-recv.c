/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for core/colo/recv.c: prepare-receive and process-receive as
 * QEMU's seed commit (docs/qemu-reference.md#colo-precopy and
 * #colo-phase), main-channel pages, the guest's
 * dirty log, and concurrent channel threads.
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
#include "colo/colo.h"
#include "ram/ram.h"

#define PS 4096u
#define NPAGES 256

typedef struct Fix {
    RamTable t;
    ColoState s;
    RamBlock *a;
} Fix;

static int setup(void **state)
{
    Fix *f = calloc(1, sizeof(*f));

    if (!f || !ram_table_init(&f->t, PS, NULL)) {
        return -1;
    }
    f->a = ram_table_add(&f->t, "pc.ram", NPAGES * PS, NULL, NULL);
    if (!f->a || !colo_init(&f->s, &f->t, NULL)) {
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    Fix *f = *state;

    colo_destroy(&f->s);
    ram_table_destroy(&f->t);
    free(f);
    return 0;
}

static void assert_bytes(const uint8_t *p, uint8_t v, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        assert_int_equal(p[i], v);
    }
}

static void test_recv_base(void **state)
{
    Fix *f = *state;

    assert_ptr_equal(colo_recv_base(&f->s, f->a), f->a->colo_cache);
    assert_ptr_not_equal(colo_recv_base(&f->s, f->a), f->a->host);
}

/* Precopy: nothing recorded; process mirrors the cache into the guest. */
static void test_precopy_packet(void **state)
{
    Fix *f = *state;
    uint64_t normal[2] = { 3 * PS, 0 };
    uint64_t zero[2] = { 7 * PS, 9 * PS };

    memset(f->a->host + 7 * PS, 0xee, PS); /* stale guest data */
    memset(f->a->host + 9 * PS, 0xee, PS);
    colo_prepare_recv(&f->s, f->a, COLO_PHASE_PRECOPY, normal, 2, zero, 2);
    assert_true(mf_bitmap_empty(f->a->dirty, NPAGES));
    assert_int_equal(f->s.dirty_pages, 0);
    memset(f->a->colo_cache + 3 * PS, 0xab, PS);
    memset(f->a->colo_cache, 0xcd, PS);
    colo_process_recv(&f->s, f->a, COLO_PHASE_PRECOPY, normal, 2, zero, 2);
    assert_bytes(f->a->host + 3 * PS, 0xab, PS);
    assert_bytes(f->a->host, 0xcd, PS);
    /* zero pages zeroed in the guest unconditionally (not received) */
    assert_bytes(f->a->host + 7 * PS, 0, PS);
    assert_bytes(f->a->host + 9 * PS, 0, PS);
    /* nothing else touched */
    assert_bytes(f->a->host + PS, 0, 2 * PS);
    assert_true(mf_bitmap_empty(f->a->dirty, NPAGES));
}

/* A page both normal and zero in one packet still ends mirrored. */
static void test_precopy_duplicate_offsets(void **state)
{
    Fix *f = *state;
    uint64_t normal[1] = { 4 * PS };
    uint64_t zero[1] = { 4 * PS };

    memset(f->a->colo_cache + 4 * PS, 0x42, PS);
    colo_process_recv(&f->s, f->a, COLO_PHASE_PRECOPY, normal, 1, zero, 1);
    assert_memory_equal(f->a->host + 4 * PS, f->a->colo_cache + 4 * PS, PS);
}

/* COLO: normal AND zero pages recorded; guest never written. */
static void test_colo_packet(void **state)
{
    Fix *f = *state;
    uint64_t normal[3] = { 3 * PS, 64 * PS, 3 * PS };
    uint64_t zero[2] = { 5 * PS, 255 * PS };

    assert_true(colo_enter(&f->s, NULL));
    colo_prepare_recv(&f->s, f->a, COLO_PHASE_COLO, normal, 3, zero, 2);
    assert_true(mf_bitmap_test(f->a->dirty, 3));
    assert_true(mf_bitmap_test(f->a->dirty, 64));
    assert_true(mf_bitmap_test(f->a->dirty, 5));
    assert_true(mf_bitmap_test(f->a->dirty, 255));
    assert_int_equal(mf_bitmap_count(f->a->dirty, NPAGES), 4);
    assert_int_equal(f->s.dirty_pages, 4); /* duplicate counted once */

    memset(f->a->colo_cache + 3 * PS, 0xab, PS);
    colo_process_recv(&f->s, f->a, COLO_PHASE_COLO, normal, 3, zero, 2);
    assert_bytes(f->a->host, 0, NPAGES * PS);

    /* recording again the same page does not count it twice */
    colo_prepare_recv(&f->s, f->a, COLO_PHASE_COLO, normal, 1, NULL, 0);
    assert_int_equal(f->s.dirty_pages, 4);
    /* zero-only and empty packets */
    zero[0] = 6 * PS;
    colo_prepare_recv(&f->s, f->a, COLO_PHASE_COLO, NULL, 0, zero, 1);
    assert_int_equal(f->s.dirty_pages, 5);
    colo_prepare_recv(&f->s, f->a, COLO_PHASE_COLO, NULL, 0, NULL, 0);
    assert_int_equal(f->s.dirty_pages, 5);
}

/*
 * The phase is the caller's one sample, not re-read
 * (docs/qemu-reference.md#gap-phase).
 */
static void test_phase_sample_is_used(void **state)
{
    Fix *f = *state;
    uint64_t normal[1] = { 8 * PS };

    assert_true(colo_enter(&f->s, NULL));
    /* a packet sampled in precopy finishes as precopy */
    memset(f->a->colo_cache + 8 * PS, 0x31, PS);
    colo_process_recv(&f->s, f->a, COLO_PHASE_PRECOPY, normal, 1, NULL, 0);
    assert_bytes(f->a->host + 8 * PS, 0x31, PS);
    /* a sample of failed-over does nothing */
    colo_prepare_recv(&f->s, f->a, COLO_PHASE_FAILED_OVER, normal, 1, NULL, 0);
    colo_process_recv(&f->s, f->a, COLO_PHASE_FAILED_OVER, normal, 1, NULL, 0);
    assert_true(mf_bitmap_empty(f->a->dirty, NPAGES));
}

static void test_main_page(void **state)
{
    Fix *f = *state;
    uint8_t page[PS];

    memset(page, 0x61, sizeof(page));
    /* precopy: guest and cache, received, not recorded */
    colo_load_main_page(&f->s, f->a, COLO_PHASE_PRECOPY, 2 * PS, page, 0);
    assert_bytes(f->a->host + 2 * PS, 0x61, PS);
    assert_bytes(f->a->colo_cache + 2 * PS, 0x61, PS);
    assert_true(ram_block_is_received(f->a, 2 * PS));
    assert_true(mf_bitmap_empty(f->a->dirty, NPAGES));
    /* precopy zero record with fill */
    colo_load_main_page(&f->s, f->a, COLO_PHASE_PRECOPY, 2 * PS, NULL, 0);
    assert_bytes(f->a->host + 2 * PS, 0, PS);
    assert_bytes(f->a->colo_cache + 2 * PS, 0, PS);

    assert_true(colo_enter(&f->s, NULL));
    /* COLO: cache only, recorded, received */
    colo_load_main_page(&f->s, f->a, COLO_PHASE_COLO, 10 * PS, page, 0);
    assert_bytes(f->a->colo_cache + 10 * PS, 0x61, PS);
    assert_bytes(f->a->host + 10 * PS, 0, PS);
    assert_true(mf_bitmap_test(f->a->dirty, 10));
    assert_true(ram_block_is_received(f->a, 10 * PS));
    assert_int_equal(f->s.dirty_pages, 1);
    colo_load_main_page(&f->s, f->a, COLO_PHASE_COLO, 11 * PS, NULL, 0x7);
    assert_bytes(f->a->colo_cache + 11 * PS, 0x7, PS);
    assert_bytes(f->a->host + 11 * PS, 0, PS);
    assert_int_equal(f->s.dirty_pages, 2);

    /* failed over: ignored */
    colo_load_main_page(&f->s, f->a, COLO_PHASE_FAILED_OVER, 12 * PS, page, 0);
    assert_bytes(f->a->colo_cache + 12 * PS, 0, PS);
    assert_false(ram_block_is_received(f->a, 12 * PS));
    assert_false(mf_bitmap_test(f->a->dirty, 12));
    /* a phase value outside the enum: ignored as well */
    colo_load_main_page(&f->s, f->a, (ColoPhase)42, 13 * PS, page, 0);
    assert_bytes(f->a->colo_cache + 13 * PS, 0, PS);
    assert_false(ram_block_is_received(f->a, 13 * PS));
}

static void test_guest_dirty(void **state)
{
    Fix *f = *state;

    colo_guest_dirty(f->a, 0);
    colo_guest_dirty(f->a, 5 * PS + 17);     /* any byte of page 5 */
    colo_guest_dirty(f->a, NPAGES * PS - 1); /* last byte */
    colo_guest_dirty(f->a, NPAGES * PS);     /* outside: ignored */
    colo_guest_dirty(f->a, UINT64_MAX);
    assert_true(mf_bitmap_test(f->a->guest_dirty, 0));
    assert_true(mf_bitmap_test(f->a->guest_dirty, 5));
    assert_true(mf_bitmap_test(f->a->guest_dirty, NPAGES - 1));
    assert_int_equal(mf_bitmap_count(f->a->guest_dirty, NPAGES), 3);
    assert_true(mf_bitmap_empty(f->a->dirty, NPAGES));
}

static void test_guest_dirty_without_colo(void **state)
{
    RamTable t;
    RamBlock *b;

    (void)state;
    assert_true(ram_table_init(&t, PS, NULL));
    b = ram_table_add(&t, "x", PS, NULL, NULL);
    colo_guest_dirty(b, 0); /* no log: ignored, no crash */
    assert_null(b->guest_dirty);
    ram_table_destroy(&t);
}

/* ---- concurrency: channel threads + a vCPU thread ---- */

#define THREADS 4

typedef struct ChanArg {
    ColoState *s;
    RamBlock *b;
    int id;
} ChanArg;

/* Channel @id receives every page p with p % THREADS == id, 8 a packet,
 * each page twice (a later round), normal and zero pages mixed. */
static void *chan_thread(void *opaque)
{
    ChanArg *a = opaque;
    uint64_t normal[8], zero[8];
    uint32_t nn = 0, nz = 0;
    int round;
    uint64_t p;

    for (round = 0; round < 2; round++) {
        for (p = (uint64_t)a->id; p < NPAGES; p += THREADS) {
            if (p % 3 == 0) {
                zero[nz++] = p * PS;
            } else {
                normal[nn++] = p * PS;
            }
            if (nn == 8 || nz == 8 || p + THREADS >= NPAGES) {
                ColoPhase ph = colo_phase(a->s);

                colo_prepare_recv(a->s, a->b, ph, normal, nn, zero, nz);
                colo_process_recv(a->s, a->b, ph, normal, nn, zero, nz);
                nn = nz = 0;
            }
        }
    }
    return NULL;
}

static void *vcpu_thread(void *opaque)
{
    ChanArg *a = opaque;
    uint64_t p;

    for (p = 0; p < NPAGES; p += 2) {
        colo_guest_dirty(a->b, p * PS + 1);
    }
    return NULL;
}

static void test_concurrent_record(void **state)
{
    Fix *f = *state;
    pthread_t th[THREADS + 1];
    ChanArg args[THREADS + 1];
    int i;

    assert_true(colo_enter(&f->s, NULL));
    for (i = 0; i <= THREADS; i++) {
        args[i] = (ChanArg){ .s = &f->s, .b = f->a, .id = i };
        assert_int_equal(pthread_create(&th[i], NULL,
                                        i < THREADS ? chan_thread : vcpu_thread,
                                        &args[i]),
                         0);
    }
    for (i = 0; i <= THREADS; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
    }
    /* every page recorded exactly once, whatever the interleaving */
    assert_int_equal(mf_bitmap_count(f->a->dirty, NPAGES), NPAGES);
    assert_int_equal(f->s.dirty_pages, NPAGES);
    assert_int_equal(mf_bitmap_count(f->a->guest_dirty, NPAGES), NPAGES / 2);
    assert_bytes(f->a->host, 0, NPAGES * PS);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_recv_base),
        T(test_precopy_packet),
        T(test_precopy_duplicate_offsets),
        T(test_colo_packet),
        T(test_phase_sample_is_used),
        T(test_main_page),
        T(test_guest_dirty),
        cmocka_unit_test(test_guest_dirty_without_colo),
        T(test_concurrent_record),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
