/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A tiny reference model of the secondary's memory (one or more RAM
 * blocks under COLO), written independently of core/ram and core/colo,
 * with plain arrays: guest bytes, cache bytes, and one byte per page for
 * the dirty, guest-dirty and received sets.
 *
 * Every tier that checks memory reuses it:
 *   - unit tests and the fuzz tier's model-based harness build a ModelOp
 *     (from a PRNG or from fuzz bytes) and call model_step(), which
 *     applies the op to the model and, through the same calls the receive
 *     path makes, to a real ColoState, checks I1/I2/I3 (colo-check.h)
 *     and compares the two (model_compare);
 *   - the fault and qtest tiers drive the model alongside the real
 *     receiver and call model_compare() at the points they care about.
 *
 * Semantics (the contract of colo/colo.h, stated again on purpose):
 *   packet (multifd): zero pages first, then normal pages (QEMU's order);
 *     every page becomes received; cache := data (zero page: zeros);
 *     PRECOPY: guest := cache for those pages; COLO: pages join dirty;
 *     FAILED_OVER: refused (COLO_ERR_PHASE).  An invalid offset refuses
 *     the whole packet before any change (RAM_ERR_*, checked normal
 *     pages first, then zero pages; per offset: block too small, range,
 *     alignment).
 *   main page: as a one-page packet but with any content/fill.
 *   enter COLO: PRECOPY only; clears dirty and guest-dirty.
 *   guest write (secondary vCPU): guest byte changes, page joins
 *     guest-dirty.  Outside the contract in PRECOPY (the secondary VM does
 *     not run then): model_step() skips such an op.
 *   flush: COLO only; every page in dirty or guest-dirty: guest := cache;
 *     both sets emptied.
 *   discard: COLO only (else no-op); every dirty page: cache := guest,
 *     received; dirty emptied.
 *   failover: discard, guest-dirty emptied, phase FAILED_OVER; idempotent.
 *
 * Allocation here is plain malloc unless the caller supplies an
 * MfAllocator (model_set_allocator: a fuzz harness recycles buffers
 * between inputs); this is test code, not under test.  model_step()
 * keeps the guest snapshot it takes for I2 and the page data of an op in
 * scratch buffers of the model (allocated at the first use, reused
 * after); under ASan only the op's own pages of the page-data buffer are
 * addressable during the op, so a read before or past them is reported.
 */
#ifndef MFCOLO_TESTS_MODEL_H
#define MFCOLO_TESTS_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/alloc.h"
#include "base/error.h"
#include "colo/colo.h"
#include "ram/ram.h"
#include "rng.h"

/* Codes of model_compare() / model_step() (outside core's ranges). */
typedef enum ModelError {
    MODEL_ERR_LAYOUT = 951, /* block count, name, length, page size */
    MODEL_ERR_PHASE,        /* phases differ */
    MODEL_ERR_GUEST,        /* guest bytes differ */
    MODEL_ERR_CACHE,        /* cache bytes differ */
    MODEL_ERR_DIRTY,        /* dirty bit differs */
    MODEL_ERR_GUEST_DIRTY,  /* guest-dirty bit differs */
    MODEL_ERR_RECEIVED,     /* received bit differs */
    MODEL_ERR_COUNTER,      /* dirty_pages or flushes differ */
    MODEL_ERR_RESULT,       /* real call succeeded/failed unlike model */
    MODEL_ERR_OP,           /* malformed op (block index, page count) */
} ModelError;

typedef struct ModelBlock {
    char name[RAM_BLOCK_NAME_MAX + 1];
    uint64_t used_length;
    uint64_t npages;
    uint8_t *guest;
    uint8_t *cache;
    uint8_t *dirty;       /* one byte per page, 0 or 1 */
    uint8_t *guest_dirty; /* (the three sets share dirty's buffer) */
    uint8_t *received;
    uint8_t *snap; /* scratch: the real guest before a COLO packet */
} ModelBlock;

typedef struct Model {
    uint32_t page_size;
    ColoPhase phase;
    uint64_t flushes;
    size_t nblocks;
    size_t capacity; /* of blocks and snap_guest */
    ModelBlock *blocks;
    const MfAllocator *alloc; /* NULL: malloc */
    uint8_t **snap_guest;     /* scratch: nblocks pointers (blocks' snap) */
    uint8_t *op_data;         /* scratch: MODEL_OP_MAX_PAGES pages */
} Model;

/* Where the first difference is (filled by model_compare on failure). */
typedef struct ModelDiff {
    size_t block;    /* index in the table */
    uint64_t offset; /* byte offset inside the block */
} ModelDiff;

void model_init(Model *m, uint32_t page_size);
/*
 * Take every buffer of @m from @a (NULL: malloc) instead; call after
 * model_init, before the first block.  @a must outlive @m.
 */
void model_set_allocator(Model *m, const MfAllocator *a);
/* Add a zeroed block; returns its index.  Aborts on malloc failure. */
size_t model_add_block(Model *m, const char *name, uint64_t used_length);
void model_destroy(Model *m);

/*
 * The error code the real path must give for a page at @offset in block
 * @bi (RAM_ERR_*), or MF_OK.
 */
int model_offset_error(const Model *m, size_t bi, uint64_t offset);

/*
 * Model operations.  Each returns the error code the real call must give
 * (MF_OK, COLO_ERR_PHASE, RAM_ERR_*); on an error the model is unchanged.
 * @data holds nnormal pages back to back.
 */
int model_recv_packet(Model *m, size_t bi, const uint64_t *normal,
                      const uint8_t *data, uint32_t nnormal,
                      const uint64_t *zero, uint32_t nzero);
int model_main_page(Model *m, size_t bi, uint64_t offset, const uint8_t *data,
                    uint8_t fill);
int model_enter_colo(Model *m);
void model_guest_write(Model *m, size_t bi, uint64_t byte, uint8_t value);
int model_flush(Model *m);
void model_discard(Model *m);
void model_failover(Model *m);

/* Pages currently in the model's dirty set (all blocks). */
uint64_t model_dirty_count(const Model *m);

/*
 * Compare the model with @s (and its table): layout, phase, counters,
 * then per block, page by page, guest, cache (when COLO parts exist),
 * dirty, guest-dirty, received.  On the first difference: false, an
 * MODEL_ERR_* in @err whose message names block, offset, both values,
 * and *@diff (may be NULL) set.  err->offset is the block offset.
 */
bool model_compare(const Model *m, const ColoState *s, ModelDiff *diff,
                   MfError *err);

/*
 * The real side of a packet: refused after failover first (the model's
 * order), then every offset checked, then the receive path's calls:
 * colo_place_packet_begin (record, zero pages by the zero-page rule),
 * the normal pages' data written into their slots,
 * colo_place_packet_end (received bits, precopy mirror).  At most
 * MODEL_OP_MAX_PAGES normal pages.  Errors: COLO_ERR_PHASE, RAM_ERR_*;
 * nothing changes on error.
 */
bool model_real_packet(ColoState *s, RamBlock *b, const uint64_t *normal,
                       const uint8_t *data, uint32_t nnormal,
                       const uint64_t *zero, uint32_t nzero, MfError *err);

/* The real side of a main-channel page (checks the offset first). */
bool model_real_main_page(ColoState *s, RamBlock *b, uint64_t offset,
                          const uint8_t *data, uint8_t fill, MfError *err);

/* ---- Operations shared by the PRNG and fuzz drivers ---- */

#define MODEL_OP_MAX_PAGES 8

typedef enum ModelOpKind {
    MODEL_OP_PACKET,
    MODEL_OP_MAIN_PAGE,
    MODEL_OP_ENTER_COLO,
    MODEL_OP_GUEST_WRITE,
    MODEL_OP_FLUSH,
    MODEL_OP_DISCARD,
    MODEL_OP_FAILOVER,
    MODEL_OP_COUNT,
} ModelOpKind;

typedef struct ModelOp {
    ModelOpKind kind;
    uint32_t block;   /* index */
    uint32_t nnormal; /* PACKET */
    uint32_t nzero;   /* PACKET */
    uint64_t normal[MODEL_OP_MAX_PAGES];
    uint64_t zero[MODEL_OP_MAX_PAGES];
    uint64_t offset; /* MAIN_PAGE page, GUEST_WRITE byte */
    bool use_fill;   /* MAIN_PAGE: fill instead of data */
    uint8_t fill;    /* MAIN_PAGE fill, GUEST_WRITE value */
    uint8_t pattern; /* page contents, model_page_data */
} ModelOp;

/* Contents of the @index-th page of an op with @pattern (not all zero). */
void model_page_data(uint8_t pattern, uint32_t index, uint8_t *page,
                     uint32_t page_size);

/*
 * Apply @op to the model and to @s (whose table has the same blocks in the
 * same order), check the real call's result code against the model's,
 * the invariant for the op (I1 after a precopy packet, I2 after a COLO
 * packet, I3 after a flush) and model_compare.  False with the first
 * failure in @err (*@diff set when memory differs).
 */
bool model_step(Model *m, ColoState *s, const ModelOp *op, ModelDiff *diff,
                MfError *err);

/* One-line description of @op for failure reports. */
void model_op_format(const ModelOp *op, char *buf, size_t size);

/*
 * The seed to use (the PRNG is rng.h's SupRng): $@env_name parsed as an
 * unsigned integer (decimal or 0x hex) when set, else @dflt.
 */
uint64_t model_seed_from_env(const char *env_name, uint64_t dflt);

/*
 * A random op valid or invalid in the current phase (mostly valid), with
 * offsets mostly in range and aligned, sometimes at or past the limits.
 */
void model_random_op(const Model *m, SupRng *r, ModelOp *op);

#endif /* MFCOLO_TESTS_MODEL_H */
