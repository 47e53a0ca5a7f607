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
 * Page placement is owned here: the receivers (recv for a multifd
 * packet, incoming for a main-channel page) validate what they read,
 * then hand the pages to colo_place_packet_begin()/_end() or
 * colo_place_main_page(), which check the phase, pick where the pages
 * land (the COLO cache, or guest memory when COLO is off), apply the
 * zero-page rule, set the received bits and record COLO pages.  The
 * receivers never touch guest memory or the cache themselves.
 *
 * The phase is sampled once per packet, at colo_place_packet_begin(), and
 * the sample serves until colo_place_packet_end(), so a phase change in
 * between can never leave a page unrecorded
 * (docs/qemu-reference.md#gap-phase).
 *
 * Threads: several channel threads may place distinct pages at once
 * while a vCPU thread calls colo_guest_dirty; bitmap updates and the
 * dirty_pages counter are atomic.  colo_enter, colo_flush, colo_discard,
 * colo_failover and colo_destroy need every receiver quiescent (after the
 * sync) and the vCPU stopped, as QEMU's BQL-held flush.
 *
 * The zero-page rule, one for both channels: a zero page is written
 * unless every place it lands is known to hold zeros already, which is
 * when the page was never received and its memory started zeroed (a COLO
 * cache, guest memory the table allocated) or, for guest memory of the
 * caller, reads as zeros.  Every write to the cache or guest memory here
 * (and colo_discard's restore of the cache) marks the page received, so a
 * page never received still holds what its memory started with; the
 * secondary's own writes happen in COLO phase, when guest memory is no
 * target.  (QEMU's main channel does not mark pages received in COLO
 * state; here it does, which keeps the rule sound for the cache.)
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
 * PRECOPY -> COLO (QEMU colo_incoming_start_dirty_log): clears every dirty
 * and guest_dirty bitmap.  COLO_ERR_PHASE from any other phase,
 * COLO_ERR_NO_CACHE when the table's COLO parts were released.
 */
bool colo_enter(ColoState *s, MfError *err);

/*
 * Where the pages of one multifd packet land, from
 * colo_place_packet_begin() to colo_place_packet_end().  Read-only for
 * the caller.
 */
typedef struct ColoPacket {
    ColoState *s; /* NULL: COLO off, pages land in guest memory */
    RamBlock *block;
    ColoPhase phase;        /* the packet's one sample */
    const uint64_t *normal; /* the caller's arrays, kept until _end */
    uint32_t nnormal;
    const uint64_t *zero;
    uint32_t nzero;
    uint32_t zero_writes; /* zero pages the zero-page rule wrote */
} ColoPacket;

/*
 * Start placing a multifd packet's pages in @b: @nnormal normal pages at
 * @normal (their data follows) and @nzero zero pages at @zero.  Every
 * offset must have passed ram_block_check_offset().  @s NULL: COLO is
 * off.  In order:
 *   - the phase is sampled; after failover the packet is refused
 *     (COLO_ERR_PHASE, MfError.offset 0);
 *   - the target is picked: the COLO cache (@s given), else guest memory;
 *     a block without one is refused (COLO_ERR_NO_CACHE, MfError.offset
 *     @block_at: where the caller's record names the block);
 *   - in COLO phase every normal and zero page is recorded in @b's dirty
 *     bitmap, before any byte is placed (zero pages too: they may
 *     overwrite a formerly non-zero page), so a packet that fails midway
 *     leaves every page it placed recorded;
 *   - each zero page is marked received and written by the zero-page
 *     rule (counted in @pk->zero_writes);
 *   - @slots[i] is set to where normal page i must be written (the
 *     caller writes the page data there: raw pages straight from the
 *     socket, or the decompressor's output).
 * On an error nothing is changed.  Thread-safe for distinct pages.
 */
bool colo_place_packet_begin(ColoPacket *pk, ColoState *s, RamBlock *b,
                             const uint64_t *normal, uint32_t nnormal,
                             const uint64_t *zero, uint32_t nzero,
                             uint8_t **slots, uint64_t block_at, MfError *err);

/*
 * Every normal page of @pk is in its slot: mark the normal pages
 * received; in PRECOPY with COLO mirror the packet into guest memory
 * (zero pages zeroed, unconditionally as QEMU's seed commit, then normal
 * pages copied from the cache).  Not called for a packet that failed
 * before its data was complete.
 */
void colo_place_packet_end(const ColoPacket *pk);

/*
 * Place a page that came on the main channel (RAM_SAVE_FLAG_PAGE with
 * @data, or ZERO with @data NULL and @fill) at @offset of @b, which must
 * have passed ram_block_check_offset().  @s NULL: COLO is off, the page
 * goes to guest memory.  PRECOPY: guest memory and cache; COLO: the cache
 * only, recorded before it is written.  A zero page with @fill 0 follows
 * the zero-page rule; every page is marked received.  COLO_ERR_PHASE
 * after failover, COLO_ERR_NO_CACHE for a block without a COLO cache
 * (MfError.offset 0 for both, nothing changed).  Thread-safe for distinct
 * pages.
 */
bool colo_place_main_page(ColoState *s, RamBlock *b, uint64_t offset,
                          const uint8_t *data, uint8_t fill, MfError *err);

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
