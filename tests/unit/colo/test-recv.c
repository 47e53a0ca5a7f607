/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for core/colo/recv.c, the owner of page placement: a
 * multifd packet's pages (colo_place_packet_begin/_end; recording and
 * mirroring as QEMU's seed commit, docs/qemu-reference.md#colo-precopy
 * and #colo-phase), main-channel pages (colo_place_main_page), the
 * zero-page rule, exact errors, the guest's dirty log, and concurrent
 * channel threads.
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
#include "colo/errors.h"
#include "ram/ram.h"
#include "watchdog.h"

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

/* Begin a packet, write each normal page's data (@fill + i), end it. */
static bool place_packet(ColoState *s, RamBlock *b, const uint64_t *normal,
                         uint32_t nn, const uint64_t *zero, uint32_t nz,
                         uint8_t fill, ColoPacket *pk, MfError *err)
{
    uint8_t *slots[8];
    uint32_t i;

    if (!colo_place_packet_begin(pk, s, b, normal, nn, zero, nz, slots, 64,
                                 err)) {
        return false;
    }
    for (i = 0; i < nn; i++) {
        memset(slots[i], fill + (int)i, b->page_size);
    }
    colo_place_packet_end(pk);
    return true;
}

/* COLO off: pages land in guest memory; nothing recorded anywhere else. */
static void test_packet_without_colo(void **state)
{
    Fix *f = *state;
    uint64_t normal[2] = { 3 * PS, 0 };
    uint64_t zero[1] = { 7 * PS };
    uint8_t *slots[2];
    ColoPacket pk;
    MfError err = { 0 };

    assert_true(colo_place_packet_begin(&pk, NULL, f->a, normal, 2, zero, 1,
                                        slots, 64, &err));
    assert_ptr_equal(slots[0], f->a->host + 3 * PS);
    assert_ptr_equal(slots[1], f->a->host);
    assert_null(pk.s);
    assert_int_equal(pk.phase, COLO_PHASE_PRECOPY);
    /* the zero page is received at once, the normal ones at the end */
    assert_true(ram_block_is_received(f->a, 7 * PS));
    assert_false(ram_block_is_received(f->a, 3 * PS));
    assert_int_equal(pk.zero_writes, 0);
    memset(slots[0], 0xab, PS);
    memset(slots[1], 0xcd, PS);
    colo_place_packet_end(&pk);
    assert_bytes(f->a->host + 3 * PS, 0xab, PS);
    assert_bytes(f->a->host, 0xcd, PS);
    assert_bytes(f->a->host + PS, 0, 2 * PS);
    assert_bytes(f->a->colo_cache, 0, NPAGES * PS);
    assert_true(ram_block_is_received(f->a, 3 * PS));
    assert_true(ram_block_is_received(f->a, 0));
    assert_int_equal(mf_bitmap_count(f->a->received, NPAGES), 3);
    assert_true(mf_bitmap_empty(f->a->dirty, NPAGES));
    assert_int_equal(err.code, MF_OK);
}

/* Precopy: pages land in the cache; the end mirrors them into the guest. */
static void test_precopy_packet(void **state)
{
    Fix *f = *state;
    uint64_t normal[2] = { 3 * PS, 0 };
    uint64_t zero[2] = { 7 * PS, 9 * PS };
    uint8_t *slots[2];
    ColoPacket pk;
    MfError err = { 0 };

    memset(f->a->host + 7 * PS, 0xee, PS); /* stale guest data */
    memset(f->a->host + 9 * PS, 0xee, PS);
    assert_true(colo_place_packet_begin(&pk, &f->s, f->a, normal, 2, zero, 2,
                                        slots, 64, &err));
    assert_ptr_equal(slots[0], f->a->colo_cache + 3 * PS);
    assert_ptr_equal(slots[1], f->a->colo_cache);
    assert_true(mf_bitmap_empty(f->a->dirty, NPAGES));
    assert_int_equal(f->s.dirty_pages, 0);
    memset(slots[0], 0xab, PS);
    memset(slots[1], 0xcd, PS);
    assert_bytes(f->a->host + 3 * PS, 0, PS); /* not before the end */
    colo_place_packet_end(&pk);
    assert_bytes(f->a->host + 3 * PS, 0xab, PS);
    assert_bytes(f->a->host, 0xcd, PS);
    /* zero pages zeroed in the guest unconditionally (not received) */
    assert_bytes(f->a->host + 7 * PS, 0, PS);
    assert_bytes(f->a->host + 9 * PS, 0, PS);
    /* nothing else touched */
    assert_bytes(f->a->host + PS, 0, 2 * PS);
    assert_memory_equal(f->a->host, f->a->colo_cache, 10 * PS);
    assert_true(mf_bitmap_empty(f->a->dirty, NPAGES));
    assert_int_equal(mf_bitmap_count(f->a->received, NPAGES), 4);
    assert_int_equal(pk.zero_writes, 0);
}

/* A page both normal and zero in one packet still ends mirrored. */
static void test_precopy_duplicate_offsets(void **state)
{
    Fix *f = *state;
    uint64_t normal[1] = { 4 * PS };
    uint64_t zero[1] = { 4 * PS };
    ColoPacket pk;

    assert_true(place_packet(&f->s, f->a, normal, 1, zero, 1, 0x42, &pk, NULL));
    assert_bytes(f->a->colo_cache + 4 * PS, 0x42, PS);
    assert_memory_equal(f->a->host + 4 * PS, f->a->colo_cache + 4 * PS, PS);
}

/*
 * COLO: normal AND zero pages recorded at the begin, before any byte is
 * placed; the guest is never written.
 */
static void test_colo_packet(void **state)
{
    Fix *f = *state;
    uint64_t normal[3] = { 3 * PS, 64 * PS, 3 * PS };
    uint64_t zero[2] = { 5 * PS, 255 * PS };
    uint8_t *slots[3];
    ColoPacket pk;

    assert_true(colo_enter(&f->s, NULL));
    assert_true(colo_place_packet_begin(&pk, &f->s, f->a, normal, 3, zero, 2,
                                        slots, 64, NULL));
    assert_int_equal(pk.phase, COLO_PHASE_COLO);
    assert_true(mf_bitmap_test(f->a->dirty, 3));
    assert_true(mf_bitmap_test(f->a->dirty, 64));
    assert_true(mf_bitmap_test(f->a->dirty, 5));
    assert_true(mf_bitmap_test(f->a->dirty, 255));
    assert_int_equal(mf_bitmap_count(f->a->dirty, NPAGES), 4);
    assert_int_equal(f->s.dirty_pages, 4); /* duplicate counted once */

    memset(slots[0], 0xab, PS);
    colo_place_packet_end(&pk);
    assert_bytes(f->a->host, 0, NPAGES * PS);
    assert_bytes(f->a->colo_cache + 3 * PS, 0xab, PS);
    assert_int_equal(mf_bitmap_count(f->a->received, NPAGES), 4);

    /* recording again the same page does not count it twice */
    assert_true(place_packet(&f->s, f->a, normal, 1, NULL, 0, 1, &pk, NULL));
    assert_int_equal(f->s.dirty_pages, 4);
    /* zero-only and empty packets */
    zero[0] = 6 * PS;
    assert_true(place_packet(&f->s, f->a, NULL, 0, zero, 1, 0, &pk, NULL));
    assert_int_equal(f->s.dirty_pages, 5);
    assert_true(place_packet(&f->s, f->a, NULL, 0, NULL, 0, 0, &pk, NULL));
    assert_int_equal(f->s.dirty_pages, 5);
    assert_bytes(f->a->host, 0, NPAGES * PS);
}

/* A packet that fails midway (no end): every page it placed is recorded. */
static void test_colo_packet_fails_midway(void **state)
{
    Fix *f = *state;
    uint64_t normal[2] = { 10 * PS, 11 * PS };
    uint8_t *slots[2];
    ColoPacket pk;
    MfError err = { 0 };

    assert_true(colo_enter(&f->s, NULL));
    assert_true(colo_place_packet_begin(&pk, &f->s, f->a, normal, 2, NULL, 0,
                                        slots, 64, &err));
    memset(slots[0], 0x5e, 100); /* part of the first page, then EOF */
    assert_true(mf_bitmap_test(f->a->dirty, 10));
    assert_true(mf_bitmap_test(f->a->dirty, 11));
    assert_false(ram_block_is_received(f->a, 10 * PS));
    /* the discard of the partial checkpoint restores it from the guest */
    colo_discard(&f->s);
    assert_bytes(f->a->colo_cache + 10 * PS, 0, PS);
    assert_bytes(f->a->host, 0, NPAGES * PS);
}

/*
 * The zero-page rule in the cache: a page received before is zeroed
 * (counted), a page never received holds zeros already (not written).
 */
static void test_packet_zero_page_rule(void **state)
{
    Fix *f = *state;
    uint64_t page = 20 * PS, fresh = 21 * PS;
    ColoPacket pk;

    assert_true(colo_enter(&f->s, NULL));
    assert_true(place_packet(&f->s, f->a, &page, 1, NULL, 0, 0x5a, &pk, NULL));
    assert_bytes(f->a->colo_cache + page, 0x5a, PS);
    assert_true(place_packet(&f->s, f->a, NULL, 0, &page, 1, 0, &pk, NULL));
    assert_int_equal(pk.zero_writes, 1);
    assert_bytes(f->a->colo_cache + page, 0, PS);
    assert_true(place_packet(&f->s, f->a, NULL, 0, &fresh, 1, 0, &pk, NULL));
    assert_int_equal(pk.zero_writes, 0);
    assert_true(ram_block_is_received(f->a, fresh));
    assert_true(mf_bitmap_test(f->a->dirty, 21));
    assert_bytes(f->a->host, 0, NPAGES * PS);
}

/* Guest memory of the caller is looked at: a stale page is zeroed. */
static void test_zero_page_rule_caller_memory(void **state)
{
    RamTable t;
    RamBlock *b;
    static uint8_t mem[4 * PS];
    uint64_t zero[2] = { PS, 2 * PS };
    ColoPacket pk;

    (void)state;
    memset(mem, 0, sizeof(mem));
    mem[PS + 17] = 0x99; /* page 1 was never received but is not zero */
    assert_true(ram_table_init(&t, PS, NULL));
    b = ram_table_add(&t, "own", sizeof(mem), mem, NULL);
    assert_non_null(b);
    assert_true(place_packet(NULL, b, NULL, 0, zero, 2, 0, &pk, NULL));
    assert_int_equal(pk.zero_writes, 1); /* page 1 only */
    assert_bytes(mem, 0, sizeof(mem));
    assert_int_equal(mf_bitmap_count(b->received, b->npages), 2);
    /* the main channel follows the same rule */
    mem[3 * PS] = 0x98;
    assert_true(colo_place_main_page(NULL, b, 3 * PS, NULL, 0, NULL));
    assert_bytes(mem, 0, sizeof(mem));
    assert_true(ram_block_is_received(b, 3 * PS));
    ram_table_destroy(&t);
}

/* After failover a packet is refused before anything changes. */
static void test_packet_failed_over(void **state)
{
    Fix *f = *state;
    uint64_t normal[1] = { 2 * PS };
    uint64_t zero[1] = { 3 * PS };
    uint8_t *slots[1] = { NULL };
    ColoPacket pk;
    MfError err = { 0 };

    colo_failover(&f->s);
    assert_false(colo_place_packet_begin(&pk, &f->s, f->a, normal, 1, zero, 1,
                                         slots, 64, &err));
    assert_int_equal(err.code, COLO_ERR_PHASE);
    assert_string_equal(err.code_name, "COLO_ERR_PHASE");
    assert_int_equal(err.offset, 0);
    assert_false(err.located);
    assert_string_equal(err.msg,
                        "packet with 2 pages for block pc.ram after failover");
    assert_null(slots[0]);
    assert_true(mf_bitmap_empty(f->a->received, NPAGES));
    assert_true(mf_bitmap_empty(f->a->dirty, NPAGES));
    assert_int_equal(f->s.dirty_pages, 0);
}

/* A block without a COLO cache: refused, located at @block_at. */
static void test_packet_no_cache(void **state)
{
    Fix *f = *state;
    uint64_t zero[1] = { 3 * PS };
    uint8_t *cache = f->a->colo_cache;
    ColoPacket pk;
    MfError err = { 0 };

    f->a->colo_cache = NULL;
    assert_false(colo_place_packet_begin(&pk, &f->s, f->a, NULL, 0, zero, 1,
                                         NULL, 64, &err));
    assert_int_equal(err.code, COLO_ERR_NO_CACHE);
    assert_string_equal(err.code_name, "COLO_ERR_NO_CACHE");
    assert_int_equal(err.offset, 64);
    assert_string_equal(err.msg, "block pc.ram has no COLO cache");
    assert_false(ram_block_is_received(f->a, 3 * PS));
    /* the main channel: refused as well, offset 0 */
    mf_error_clear(&err);
    assert_false(colo_place_main_page(&f->s, f->a, 3 * PS, NULL, 0, &err));
    assert_int_equal(err.code, COLO_ERR_NO_CACHE);
    assert_int_equal(err.offset, 0);
    assert_string_equal(err.msg, "block pc.ram has no COLO cache");
    assert_false(ram_block_is_received(f->a, 3 * PS));
    /* the phase is checked first */
    colo_failover(&f->s);
    mf_error_clear(&err);
    assert_false(colo_place_packet_begin(&pk, &f->s, f->a, NULL, 0, zero, 1,
                                         NULL, 64, &err));
    assert_int_equal(err.code, COLO_ERR_PHASE);
    f->a->colo_cache = cache;
}

/*
 * The phase is the packet's one sample, not re-read at the end
 * (docs/qemu-reference.md#gap-phase).
 */
static void test_phase_sample_is_used(void **state)
{
    Fix *f = *state;
    uint64_t normal[1] = { 8 * PS };
    uint8_t *slots[1];
    ColoPacket pk;

    /* a packet sampled in precopy finishes as precopy */
    assert_true(colo_place_packet_begin(&pk, &f->s, f->a, normal, 1, NULL, 0,
                                        slots, 64, NULL));
    assert_true(colo_enter(&f->s, NULL));
    memset(slots[0], 0x31, PS);
    colo_place_packet_end(&pk);
    assert_bytes(f->a->host + 8 * PS, 0x31, PS);
    assert_true(mf_bitmap_empty(f->a->dirty, NPAGES));
}

static void test_main_page(void **state)
{
    Fix *f = *state;
    uint8_t page[PS];

    memset(page, 0x61, sizeof(page));
    /* precopy: guest and cache, received, not recorded */
    assert_true(colo_place_main_page(&f->s, f->a, 2 * PS, page, 0, NULL));
    assert_bytes(f->a->host + 2 * PS, 0x61, PS);
    assert_bytes(f->a->colo_cache + 2 * PS, 0x61, PS);
    assert_true(ram_block_is_received(f->a, 2 * PS));
    assert_true(mf_bitmap_empty(f->a->dirty, NPAGES));
    /* precopy zero record over a received page: both zeroed */
    assert_true(colo_place_main_page(&f->s, f->a, 2 * PS, NULL, 0, NULL));
    assert_bytes(f->a->host + 2 * PS, 0, PS);
    assert_bytes(f->a->colo_cache + 2 * PS, 0, PS);
    /* a zero page never received: marked received, nothing else */
    assert_true(colo_place_main_page(&f->s, f->a, 3 * PS, NULL, 0, NULL));
    assert_true(ram_block_is_received(f->a, 3 * PS));
    assert_int_equal(mf_bitmap_count(f->a->received, NPAGES), 2);

    assert_true(colo_enter(&f->s, NULL));
    /* COLO: cache only, recorded, received */
    assert_true(colo_place_main_page(&f->s, f->a, 10 * PS, page, 0, NULL));
    assert_bytes(f->a->colo_cache + 10 * PS, 0x61, PS);
    assert_bytes(f->a->host + 10 * PS, 0, PS);
    assert_true(mf_bitmap_test(f->a->dirty, 10));
    assert_true(ram_block_is_received(f->a, 10 * PS));
    assert_int_equal(f->s.dirty_pages, 1);
    assert_true(colo_place_main_page(&f->s, f->a, 11 * PS, NULL, 0x7, NULL));
    assert_bytes(f->a->colo_cache + 11 * PS, 0x7, PS);
    assert_bytes(f->a->host + 11 * PS, 0, PS);
    assert_int_equal(f->s.dirty_pages, 2);
    /* COLO zero page over a received page: cache zeroed, recorded */
    assert_true(colo_place_main_page(&f->s, f->a, 10 * PS, NULL, 0, NULL));
    assert_bytes(f->a->colo_cache + 10 * PS, 0, PS);
    assert_int_equal(f->s.dirty_pages, 2);
    /* a zero page never received: recorded, received */
    assert_true(colo_place_main_page(&f->s, f->a, 12 * PS, NULL, 0, NULL));
    assert_true(mf_bitmap_test(f->a->dirty, 12));
    assert_true(ram_block_is_received(f->a, 12 * PS));
    assert_int_equal(f->s.dirty_pages, 3);
    assert_bytes(f->a->host + 10 * PS, 0, 3 * PS);
}

static void test_main_page_without_colo(void **state)
{
    Fix *f = *state;
    uint8_t page[PS];

    memset(page, 0x62, sizeof(page));
    assert_true(colo_place_main_page(NULL, f->a, 5 * PS, page, 0, NULL));
    assert_bytes(f->a->host + 5 * PS, 0x62, PS);
    assert_bytes(f->a->colo_cache + 5 * PS, 0, PS);
    assert_true(ram_block_is_received(f->a, 5 * PS));
    assert_true(colo_place_main_page(NULL, f->a, 5 * PS, NULL, 0, NULL));
    assert_bytes(f->a->host + 5 * PS, 0, PS);
    assert_true(colo_place_main_page(NULL, f->a, 6 * PS, NULL, 0x3, NULL));
    assert_bytes(f->a->host + 6 * PS, 0x3, PS);
    assert_int_equal(mf_bitmap_count(f->a->received, NPAGES), 2);
    assert_true(mf_bitmap_empty(f->a->dirty, NPAGES));
}

/* After failover a main-channel page is refused, nothing changes. */
static void test_main_page_failed_over(void **state)
{
    Fix *f = *state;
    uint8_t page[PS];
    MfError err = { 0 };

    memset(page, 0x61, sizeof(page));
    assert_true(colo_enter(&f->s, NULL));
    colo_failover(&f->s);
    assert_false(colo_place_main_page(&f->s, f->a, 12 * PS, page, 0, &err));
    assert_int_equal(err.code, COLO_ERR_PHASE);
    assert_string_equal(err.code_name, "COLO_ERR_PHASE");
    assert_int_equal(err.offset, 0);
    assert_string_equal(err.msg, "main-channel page at offset 49152 of "
                                 "block pc.ram after failover");
    assert_bytes(f->a->colo_cache + 12 * PS, 0, PS);
    assert_bytes(f->a->host + 12 * PS, 0, PS);
    assert_false(ram_block_is_received(f->a, 12 * PS));
    assert_false(mf_bitmap_test(f->a->dirty, 12));
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
    bool failed;
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
                ColoPacket pk;

                if (!place_packet(a->s, a->b, normal, nn, zero, nz, 0, &pk,
                                  NULL)) {
                    a->failed = true;
                }
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
    /* Normally well under 0.1 s. */
    watchdog_arm(10, "colo/recv: the channel and vCPU threads of "
                     "test_concurrent_record to return (pthread_join)");
    for (i = 0; i <= THREADS; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
    }
    watchdog_disarm();
    for (i = 0; i < THREADS; i++) {
        assert_false(args[i].failed);
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
        T(test_packet_without_colo),
        T(test_precopy_packet),
        T(test_precopy_duplicate_offsets),
        T(test_colo_packet),
        T(test_colo_packet_fails_midway),
        T(test_packet_zero_page_rule),
        cmocka_unit_test(test_zero_page_rule_caller_memory),
        T(test_packet_failed_over),
        T(test_packet_no_cache),
        T(test_phase_sample_is_used),
        T(test_main_page),
        T(test_main_page_without_colo),
        T(test_main_page_failed_over),
        T(test_guest_dirty),
        cmocka_unit_test(test_guest_dirty_without_colo),
        T(test_concurrent_record),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
