/* SPDX-License-Identifier: GPL-2.0-or-later */
/* COLO phases: init, enter, discard, failover, release. */
#include "colo/colo.h"

#include <string.h>

#include "base/bitmap.h"
#include "colo/errors.h"

bool colo_init(ColoState *s, RamTable *ram, MfError *err)
{
    if (!ram_table_enable_colo(ram, err)) {
        return false;
    }
    memset(s, 0, sizeof(*s));
    s->ram = ram;
    s->phase = COLO_PHASE_PRECOPY;
    return true;
}

ColoPhase colo_phase(const ColoState *s)
{
    return __atomic_load_n(&s->phase, __ATOMIC_ACQUIRE);
}

const char *colo_phase_name(ColoPhase phase)
{
    switch (phase) {
    case COLO_PHASE_PRECOPY:
        return "precopy";
    case COLO_PHASE_COLO:
        return "colo";
    case COLO_PHASE_FAILED_OVER:
        return "failed-over";
    }
    return "invalid";
}

static void set_phase(ColoState *s, ColoPhase phase)
{
    __atomic_store_n(&s->phase, phase, __ATOMIC_RELEASE);
}

bool colo_enter(ColoState *s, MfError *err)
{
    ColoPhase phase = colo_phase(s);
    size_t i;

    if (phase != COLO_PHASE_PRECOPY) {
        return mf_error_set(err, COLO_ERR_PHASE, 0,
                            "cannot enter COLO from phase %s",
                            colo_phase_name(phase));
    }
    if (!s->ram->colo) {
        return mf_error_set(err, COLO_ERR_NO_CACHE, 0,
                            "cannot enter COLO: the COLO cache was "
                            "released");
    }
    for (i = 0; i < s->ram->nblocks; i++) {
        RamBlock *b = s->ram->blocks[i];

        mf_bitmap_zero(b->dirty, b->npages);
        mf_bitmap_zero(b->guest_dirty, b->npages);
    }
    s->dirty_pages = 0;
    set_phase(s, COLO_PHASE_COLO);
    return true;
}

void colo_discard(ColoState *s)
{
    size_t i;

    if (colo_phase(s) != COLO_PHASE_COLO || !s->ram->colo) {
        return;
    }
    for (i = 0; i < s->ram->nblocks; i++) {
        RamBlock *b = s->ram->blocks[i];
        uint64_t start = 0, len, p;

        while (mf_bitmap_next_run(b->dirty, b->npages, &start, &len)) {
            for (p = start; p < start + len; p++) {
                uint64_t off = p * b->page_size;

                memcpy(b->colo_cache + off, b->host + off,
                       ram_block_page_bytes(b, off));
                ram_block_set_received(b, off);
            }
            mf_bitmap_clear_range(b->dirty, start, len);
            start += len;
        }
    }
    __atomic_store_n(&s->dirty_pages, 0, __ATOMIC_RELAXED);
}

void colo_failover(ColoState *s)
{
    size_t i;

    if (colo_phase(s) == COLO_PHASE_FAILED_OVER) {
        return;
    }
    colo_discard(s);
    for (i = 0; s->ram->colo && i < s->ram->nblocks; i++) {
        RamBlock *b = s->ram->blocks[i];

        mf_bitmap_zero(b->guest_dirty, b->npages);
    }
    set_phase(s, COLO_PHASE_FAILED_OVER);
}

void colo_destroy(ColoState *s)
{
    if (s->ram) {
        ram_table_disable_colo(s->ram);
    }
}
