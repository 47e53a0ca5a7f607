/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Applying a checkpoint: QEMU colo_flush_ram_cache. */
#include "colo/colo.h"

#include <string.h>

#include "base/bitmap.h"
#include "colo/errors.h"

/* Copy the run of @len pages from page @start cache -> guest. */
static void copy_run(RamBlock *b, uint64_t start, uint64_t len)
{
    uint64_t off = start * b->page_size;
    uint64_t bytes = len * b->page_size;

    if (bytes > b->used_length - off) {
        bytes = b->used_length - off; /* the last page may be short */
    }
    memcpy(b->host + off, b->colo_cache + off, bytes);
}

static void flush_block(RamBlock *b, ColoFlushStats *st)
{
    uint64_t start = 0, len;

    st->guest_pages += mf_bitmap_count(b->guest_dirty, b->npages);
    mf_bitmap_take_atomic(b->dirty, b->guest_dirty, b->npages);
    while (mf_bitmap_next_run(b->dirty, b->npages, &start, &len)) {
        copy_run(b, start, len);
        mf_bitmap_clear_range(b->dirty, start, len);
        st->pages += len;
        st->runs++;
        start += len;
    }
}

bool colo_flush(ColoState *s, ColoFlushStats *stats, MfError *err)
{
    ColoPhase phase = colo_phase(s);
    ColoFlushStats st = { 0 };
    size_t i;

    if (phase != COLO_PHASE_COLO) {
        return mf_error_set(err, COLO_ERR_PHASE, 0,
                            "cannot flush the COLO cache in phase %s",
                            colo_phase_name(phase));
    }
    if (!s->ram->colo) {
        return mf_error_set(err, COLO_ERR_NO_CACHE, 0,
                            "cannot flush: the COLO cache was released");
    }
    for (i = 0; i < s->ram->nblocks; i++) {
        flush_block(s->ram->blocks[i], &st);
    }
    __atomic_store_n(&s->dirty_pages, 0, __ATOMIC_RELAXED);
    s->flushes++;
    if (stats) {
        *stats = st;
    }
    return true;
}
