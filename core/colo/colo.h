/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The secondary's memory state machine (QEMU migration/multifd-colo.c,
 * ram.c colo_* functions).
 *
 * Phases: PRECOPY (every received page lands in the cache and is copied
 * to the guest: cache == guest), COLO (pages land in the cache only and
 * are recorded in the block's dirty bitmap; a flush copies them, plus the
 * pages the secondary dirtied itself, from cache to guest), FAILED_OVER
 * (the secondary runs alone; receiving is refused).
 *
 * A receiver samples the phase once per packet (colo_phase()) and passes
 * that sample to prepare and process, so a phase change between the two
 * can never leave a page unrecorded (facts sheet 7.4).
 *
 * Errors are COLO_ERR_* (colo/errors.h).  No global state.
 */
#ifndef MFCOLO_COLO_COLO_H
#define MFCOLO_COLO_COLO_H

#include <stdbool.h>
#include <stdint.h>

#include "base/error.h"
#include "ram/ram.h"

typedef enum ColoPhase {
    COLO_PHASE_PRECOPY,
    COLO_PHASE_COLO,
    COLO_PHASE_FAILED_OVER,
} ColoPhase;

typedef struct ColoState {
    RamTable *ram;
    ColoPhase phase;      /* read with colo_phase() */
    uint64_t dirty_pages; /* pages recorded since the last flush */
    uint64_t flushes;     /* checkpoints applied */
} ColoState;

typedef struct ColoFlushStats {
    uint64_t pages;      /* pages copied cache -> guest */
    uint64_t runs;       /* contiguous runs copied */
    uint64_t guest_pages; /* of which dirtied by the secondary itself */
} ColoFlushStats;

/*
 * Enable COLO on @ram (allocates caches and bitmaps, see
 * ram_table_enable_colo) and start in PRECOPY.  MF_ERR_NOMEM.
 */
bool colo_init(ColoState *s, RamTable *ram, MfError *err);

/* The current phase, one atomic sample. */
ColoPhase colo_phase(const ColoState *s);

/*
 * PRECOPY -> COLO (QEMU colo_incoming_start_dirty_log): clears every dirty
 * and guest_dirty bitmap.  COLO_ERR_PHASE from any other phase.
 */
bool colo_enter(ColoState *s, MfError *err);

/* Where received pages for @b are written: its COLO cache. */
uint8_t *colo_recv_base(const ColoState *s, const RamBlock *b);

/*
 * Before any page data of a packet is placed: in COLO phase record every
 * normal and zero page in @b's dirty bitmap (zero pages too: they may
 * overwrite a formerly non-zero page).  Nothing in PRECOPY.  Thread-safe.
 */
void colo_prepare_recv(ColoState *s, RamBlock *b, ColoPhase phase,
                       const uint64_t *normal, uint32_t nnormal,
                       const uint64_t *zero, uint32_t nzero);

/*
 * After the pages of a packet are in the cache: in PRECOPY copy each
 * normal page cache -> guest and zero each zero page in the guest.
 * Nothing in COLO.  Thread-safe for disjoint pages.
 */
void colo_process_recv(ColoState *s, RamBlock *b, ColoPhase phase,
                       const uint64_t *normal, uint32_t nnormal,
                       const uint64_t *zero, uint32_t nzero);

/*
 * A page that came on the main channel (RAM_SAVE_FLAG_PAGE with @data, or
 * ZERO with @data NULL and @fill).  PRECOPY: written to guest and cache;
 * COLO: written to the cache and recorded.  The offset must have been
 * checked with ram_block_check_offset().
 */
void colo_load_main_page(ColoState *s, RamBlock *b, ColoPhase phase,
                         uint64_t offset, const uint8_t *data, uint8_t fill);

/* The secondary's vCPU wrote the page at @offset (its dirty log). */
void colo_guest_dirty(RamBlock *b, uint64_t offset);

/*
 * Apply a checkpoint (QEMU colo_flush_ram_cache): merge each block's
 * guest_dirty into dirty, copy every run of dirty pages cache -> guest,
 * clear the bits.  Afterwards guest == cache and every bitmap is empty
 * (I3).  COLO_ERR_PHASE unless in COLO.  @stats may be NULL.
 */
bool colo_flush(ColoState *s, ColoFlushStats *stats, MfError *err);

/*
 * Drop what a partly received checkpoint left: clear the dirty bits
 * recorded since the last flush (the cache pages they name are no longer
 * trusted).  Guest memory is untouched (I4).
 */
void colo_discard(ColoState *s);

/*
 * Fail over: discard, then phase FAILED_OVER.  The guest keeps the last
 * flushed checkpoint plus its own writes.  Idempotent.
 */
void colo_failover(ColoState *s);

/* Release caches and bitmaps (QEMU colo_release_ram_cache). */
void colo_destroy(ColoState *s);

#endif /* MFCOLO_COLO_COLO_H */
