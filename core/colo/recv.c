/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Receiving pages with COLO enabled (QEMU multifd-colo.c and the COLO
 * branch of ram_load_precopy): where pages go, what is recorded.
 */
#include "colo/colo.h"

#include <string.h>

#include "base/bitmap.h"
#include "base/plant.h"

uint8_t *colo_recv_base(const ColoState *s, const RamBlock *b)
{
    (void)s;
    return b->colo_cache;
}

/* Record one page for the next flush; count it once. */
static void record_page(ColoState *s, RamBlock *b, uint64_t offset)
{
    if (!mf_bitmap_test_and_set_atomic(b->dirty,
                                       ram_block_page_index(b, offset))) {
        __atomic_add_fetch(&s->dirty_pages, 1, __ATOMIC_RELAXED);
    }
}

void colo_prepare_recv(ColoState *s, RamBlock *b, ColoPhase phase,
                       const uint64_t *normal, uint32_t nnormal,
                       const uint64_t *zero, uint32_t nzero)
{
    uint32_t i;

    if (phase != COLO_PHASE_COLO) {
        return;
    }
    for (i = 0; i < nnormal; i++) {
        record_page(s, b, normal[i]);
    }
    for (i = 0; i < nzero && !MF_PLANTED(COLO_ZERO_UNRECORDED); i++) {
        record_page(s, b, zero[i]);
    }
}

void colo_process_recv(ColoState *s, RamBlock *b, ColoPhase phase,
                       const uint64_t *normal, uint32_t nnormal,
                       const uint64_t *zero, uint32_t nzero)
{
    uint32_t i;

    (void)s;
    if (phase != COLO_PHASE_PRECOPY) {
        return;
    }
    /*
     * Zero pages first, as they were placed: a page listed both as zero
     * and as normal (a hostile packet) holds the normal data in the
     * cache, and must in the guest too (QEMU zeroes last: guest != cache).
     */
    for (i = 0; i < nzero; i++) {
        memset(b->host + zero[i], 0, b->page_size);
    }
    for (i = 0; i < nnormal; i++) {
        memcpy(b->host + normal[i], b->colo_cache + normal[i], b->page_size);
    }
}

static void put_page(uint8_t *dst, const uint8_t *data, uint8_t fill,
                     uint32_t size)
{
    if (data) {
        memcpy(dst, data, size);
    } else {
        memset(dst, fill, size);
    }
}

void colo_load_main_page(ColoState *s, RamBlock *b, ColoPhase phase,
                         uint64_t offset, const uint8_t *data, uint8_t fill)
{
    switch (phase) {
    case COLO_PHASE_PRECOPY:
        put_page(b->host + offset, data, fill, b->page_size);
        put_page(b->colo_cache + offset, data, fill, b->page_size);
        break;
    case COLO_PHASE_COLO:
        record_page(s, b, offset);
        put_page(b->colo_cache + offset, data, fill, b->page_size);
        break;
    default: /* COLO_PHASE_FAILED_OVER: the secondary runs alone */
        return;
    }
    ram_block_set_received(b, offset);
}

void colo_guest_dirty(RamBlock *b, uint64_t offset)
{
    if (!b->guest_dirty || offset >= b->used_length) {
        return;
    }
    mf_bitmap_set_atomic(b->guest_dirty, ram_block_page_index(b, offset));
}
