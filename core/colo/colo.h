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
 * A receiver samples the phase once per packet (colo_phase() or
 * colo_begin_packet()) and passes that sample to prepare and process, so
 * a phase change between the two can never leave a page unrecorded
 * (docs/qemu-reference.md#gap-phase).
 *
 * Threads: several channel threads may call colo_prepare_recv,
 * colo_process_recv and colo_load_main_page at once for distinct pages
 * while a vCPU thread calls colo_guest_dirty; bitmap updates and the
 * dirty_pages counter are atomic.  colo_enter, colo_flush, colo_discard,
 * colo_failover and colo_destroy need every receiver quiescent (after the
 * sync) and the vCPU stopped, as QEMU's BQL-held flush.
 *
 * Every write to a COLO cache also marks the page received, so the
 * zero-page rule (ram_block_zero_page_needs_write) stays sound for the
 * cache: a cache page that was never marked received is zero.  (QEMU's
 * main channel does not mark pages received in COLO state.)
 *
 * Errors are COLO_ERR_* (colo/errors.h).  No global state.  The oracles
 * that check I1-I3 live in tests/support/colo-check.h: they are test
 * oracles, not part of what the suite verifies.
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
    uint64_t pages;       /* pages copied cache -> guest */
    uint64_t runs;        /* contiguous runs copied */
    uint64_t guest_pages; /* pages the secondary dirtied itself (merged) */
} ColoFlushStats;

/*
 * Enable COLO on @ram (allocates caches and bitmaps, see
 * ram_table_enable_colo) and start in PRECOPY.  MF_ERR_NOMEM leaves @s
 * and @ram unchanged.
 */
bool colo_init(ColoState *s, RamTable *ram, MfError *err);

/* The current phase, one atomic sample. */
ColoPhase colo_phase(const ColoState *s);

/* Name of @phase ("precopy", "colo", "failed-over"). */
const char *colo_phase_name(ColoPhase phase);

/*
 * Sample the phase for one packet into *@phase.  COLO_ERR_PHASE after
 * failover (the secondary no longer accepts pages).
 */
bool colo_begin_packet(const ColoState *s, ColoPhase *phase, MfError *err);

/*
 * PRECOPY -> COLO (QEMU colo_incoming_start_dirty_log): clears every dirty
 * and guest_dirty bitmap.  COLO_ERR_PHASE from any other phase,
 * COLO_ERR_NO_CACHE when the table's COLO parts were released.
 */
bool colo_enter(ColoState *s, MfError *err);

/* Where received pages for @b are written: its COLO cache. */
uint8_t *colo_recv_base(const ColoState *s, const RamBlock *b);

/*
 * Before any page data of a packet is placed: in COLO phase record every
 * normal and zero page in @b's dirty bitmap (zero pages too: they may
 * overwrite a formerly non-zero page).  Nothing in other phases.  Offsets
 * must have passed ram_block_check_offset().  Thread-safe.
 */
void colo_prepare_recv(ColoState *s, RamBlock *b, ColoPhase phase,
                       const uint64_t *normal, uint32_t nnormal,
                       const uint64_t *zero, uint32_t nzero);

/*
 * After the pages of a packet are in the cache: in PRECOPY copy each
 * normal page cache -> guest and zero each zero page in the guest
 * (unconditionally, as QEMU's seed commit).  Nothing in other phases.
 * Thread-safe for disjoint pages.
 */
void colo_process_recv(ColoState *s, RamBlock *b, ColoPhase phase,
                       const uint64_t *normal, uint32_t nnormal,
                       const uint64_t *zero, uint32_t nzero);

/*
 * A page that came on the main channel (RAM_SAVE_FLAG_PAGE with @data, or
 * ZERO with @data NULL and @fill).  PRECOPY: written to guest and cache;
 * COLO: written to the cache and recorded; FAILED_OVER: ignored.  Marks
 * the page received.  The offset must have been checked with
 * ram_block_check_offset().
 */
void colo_load_main_page(ColoState *s, RamBlock *b, ColoPhase phase,
                         uint64_t offset, const uint8_t *data, uint8_t fill);

/*
 * The secondary's vCPU wrote the page at @offset (its dirty log).
 * Ignored when @offset is outside the block or COLO is not enabled.
 * Thread-safe.
 */
void colo_guest_dirty(RamBlock *b, uint64_t offset);

/*
 * Apply a checkpoint (QEMU colo_flush_ram_cache): merge each block's
 * guest_dirty into dirty, copy every run of dirty pages cache -> guest,
 * clear the bits.  Afterwards guest == cache and every bitmap is empty
 * (I3).  COLO_ERR_PHASE unless in COLO, COLO_ERR_NO_CACHE when the
 * table's COLO parts were released.  @stats may be NULL.
 */
bool colo_flush(ColoState *s, ColoFlushStats *stats, MfError *err);

/*
 * Drop what a partly received checkpoint left: clear the dirty bits
 * recorded since the last flush and restore those cache pages from the
 * guest (which holds the last checkpoint), so the cache mirrors the last
 * flushed checkpoint again (for a page the secondary also wrote since the
 * flush, the checkpoint value exists nowhere any more: its cache page gets
 * the secondary's version).  Guest memory is untouched (I4).  Needs
 * receivers quiescent and the vCPU stopped.  Nothing outside COLO phase.
 */
void colo_discard(ColoState *s);

/*
 * Fail over: discard, clear the guest dirty logs, then phase FAILED_OVER.
 * The guest keeps the last flushed checkpoint plus its own writes.
 * Idempotent.
 */
void colo_failover(ColoState *s);

/*
 * Release caches and bitmaps (QEMU colo_release_ram_cache, through
 * ram_table_disable_colo); the table and guest memory stay.  Idempotent.
 * Call it when no receiver runs any more; afterwards only colo_phase(),
 * colo_discard() and colo_failover() (no-ops on memory) may be called,
 * and colo_enter()/colo_flush() fail with COLO_ERR_NO_CACHE.
 */
void colo_destroy(ColoState *s);

#endif /* MFCOLO_COLO_COLO_H */
