/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Page placement (QEMU multifd-colo.c and the COLO branch of
 * ram_load_precopy): where received pages land, the zero-page rule, what
 * is recorded.  The one place that writes received pages into guest
 * memory or the COLO cache.
 */
#include "colo/colo.h"

#include <inttypes.h>
#include <string.h>

#include "base/bitmap.h"
#include "base/plant.h"
#include "colo/errors.h"

/* Record one page for the next flush; count it once. */
static void record_page(ColoState *s, RamBlock *b, uint64_t offset)
{
    if (!mf_bitmap_test_and_set_atomic(b->dirty,
                                       ram_block_page_index(b, offset))) {
        __atomic_add_fetch(&s->dirty_pages, 1, __ATOMIC_RELAXED);
    }
}

static bool page_is_zero(const uint8_t *p, size_t n)
{
    return p[0] == 0 && memcmp(p, p + 1, n - 1) == 0;
}

/*
 * The zero-page rule (colo/colo.h): mark the page received; true when
 * zeros must be written.  @guest: guest memory is one of the targets
 * (the COLO cache, when one, always starts zeroed).
 */
static bool zero_page_needs_write(RamBlock *b, uint64_t offset, bool guest)
{
    if (ram_block_test_and_set_received(b, offset)) {
        return true;
    }
    return guest && !b->host_owned &&
           !page_is_zero(b->host + offset, b->page_size);
}

/* The packet's phase, or COLO_ERR_PHASE after failover. */
static bool sample_phase(ColoState *s, ColoPhase *phase)
{
    *phase = s ? colo_phase(s) : COLO_PHASE_PRECOPY;
    return *phase != COLO_PHASE_FAILED_OVER;
}

bool colo_place_packet_begin(ColoPacket *pk, ColoState *s, RamBlock *b,
                             const uint64_t *normal, uint32_t nnormal,
                             const uint64_t *zero, uint32_t nzero,
                             uint8_t **slots, uint64_t block_at, MfError *err)
{
    ColoPhase phase;
    uint8_t *target;
    uint32_t i;

    if (!sample_phase(s, &phase)) {
        return mf_error_set(err, COLO_ERR_PHASE, 0,
                            "packet with %" PRIu32 " pages for block %s "
                            "after failover",
                            nnormal + nzero, b->name);
    }
    target = s ? b->colo_cache : b->host;
    if (!target) {
        return mf_error_set(err, COLO_ERR_NO_CACHE, block_at,
                            "block %s has no COLO cache", b->name);
    }
    *pk = (ColoPacket){
        .s = s,
        .block = b,
        .phase = phase,
        .normal = normal,
        .nnormal = nnormal,
        .zero = zero,
        .nzero = nzero,
    };
    if (phase == COLO_PHASE_COLO) {
        for (i = 0; i < nnormal; i++) {
            record_page(s, b, normal[i]);
        }
        for (i = 0; i < nzero && !MF_PLANTED(COLO_ZERO_UNRECORDED); i++) {
            record_page(s, b, zero[i]);
        }
    }
    for (i = 0; i < nzero; i++) {
        if (zero_page_needs_write(b, zero[i], !s)) {
            memset(target + zero[i], 0, b->page_size);
            pk->zero_writes++;
        }
    }
    for (i = 0; i < nnormal; i++) {
        slots[i] = target + normal[i];
    }
    return true;
}

void colo_place_packet_end(const ColoPacket *pk)
{
    RamBlock *b = pk->block;
    uint32_t i;

    for (i = 0; i < pk->nnormal; i++) {
        ram_block_set_received(b, pk->normal[i]);
    }
    if (!pk->s || pk->phase != COLO_PHASE_PRECOPY) {
        return;
    }
    /*
     * Zero pages first, as they were placed: a page listed both as zero
     * and as normal (a hostile packet) holds the normal data in the
     * cache, and must in the guest too (QEMU zeroes last: guest != cache).
     */
    for (i = 0; i < pk->nzero; i++) {
        memset(b->host + pk->zero[i], 0, b->page_size);
    }
    for (i = 0; i < pk->nnormal; i++) {
        memcpy(b->host + pk->normal[i], b->colo_cache + pk->normal[i],
               b->page_size);
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

bool colo_place_main_page(ColoState *s, RamBlock *b, uint64_t offset,
                          const uint8_t *data, uint8_t fill, MfError *err)
{
    ColoPhase phase;
    bool guest, cache;

    if (!sample_phase(s, &phase)) {
        return mf_error_set(err, COLO_ERR_PHASE, 0,
                            "main-channel page at offset %" PRIu64
                            " of block %s after failover",
                            offset, b->name);
    }
    if (s && !b->colo_cache) {
        return mf_error_set(err, COLO_ERR_NO_CACHE, 0,
                            "block %s has no COLO cache", b->name);
    }
    guest = phase == COLO_PHASE_PRECOPY;
    cache = s != NULL;
    if (phase == COLO_PHASE_COLO) {
        record_page(s, b, offset);
    }
    if (!data && fill == 0 && !zero_page_needs_write(b, offset, guest)) {
        return true;
    }
    if (guest) {
        put_page(b->host + offset, data, fill, b->page_size);
    }
    if (cache) {
        put_page(b->colo_cache + offset, data, fill, b->page_size);
    }
    ram_block_set_received(b, offset);
    return true;
}

void colo_guest_dirty(RamBlock *b, uint64_t offset)
{
    if (!b->guest_dirty || offset >= b->used_length) {
        return;
    }
    mf_bitmap_set_atomic(b->guest_dirty, ram_block_page_index(b, offset));
}
