/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Oracles for the COLO memory invariants I1-I3 (docs/design.md,
 * Invariants), usable by every tier.
 *
 * Why here and not in core/colo: they are test oracles.  core/ holds only
 * what the suite verifies; an oracle compiled into core/ would be checked
 * by itself.  They read the real RamTable/ColoState from outside (guest,
 * cache and bitmaps) and know nothing of how core/colo computes them.
 *
 * Each returns true when the invariant holds, else false with a
 * CHECK_ERR_* code in @err whose message names the invariant, the block
 * and the byte offset inside the block (err->offset holds that offset).
 * Call them while no receiver thread runs.
 */
#ifndef MFCOLO_TESTS_COLO_CHECK_H
#define MFCOLO_TESTS_COLO_CHECK_H

#include <stdbool.h>
#include <stdint.h>

#include "base/error.h"
#include "colo/colo.h"
#include "ram/ram.h"

/* Codes of the oracles (outside core's ranges). */
typedef enum CheckError {
    CHECK_ERR_I1_MIRROR = 901,  /* precopy page: guest != cache */
    CHECK_ERR_I1_ZERO,          /* precopy zero page not zero */
    CHECK_ERR_I1_DIRTY,         /* precopy: a dirty bit is set */
    CHECK_ERR_I2_GUEST_WRITTEN, /* COLO receive changed guest memory */
    CHECK_ERR_I2_NOT_RECORDED,  /* COLO: received page without dirty bit */
    CHECK_ERR_I3_MIRROR,        /* after flush: guest != cache */
    CHECK_ERR_I3_DIRTY,         /* after flush: dirty bit left */
    CHECK_ERR_I3_GUEST_DIRTY,   /* after flush: guest-dirty bit left */
    CHECK_ERR_I3_COUNTER,       /* after flush: dirty_pages != 0 */
    CHECK_ERR_NO_CACHE,         /* the table has no COLO parts */
} CheckError;

/* A copy of every block's guest memory (for I2). */
typedef struct ColoCheckSnap {
    size_t nblocks;
    uint8_t **guest;
} ColoCheckSnap;

/* Copy the guest memory of every block of @t. Aborts on malloc failure. */
void colo_check_snap_take(ColoCheckSnap *snap, const RamTable *t);
void colo_check_snap_free(ColoCheckSnap *snap);

/*
 * I1 after a precopy packet for @b: each page in @normal and @zero is
 * identical in guest and cache, each zero page (not also listed as
 * normal: the normal data wins) is zero, and no dirty bit
 * is set in any block.
 */
bool colo_check_i1(const ColoState *s, const RamBlock *b,
                   const uint64_t *normal, uint32_t nnormal,
                   const uint64_t *zero, uint32_t nzero, MfError *err);

/*
 * I2 after a COLO packet for @b: guest memory of every block equals
 * @before (taken before the packet), and each page in @normal and @zero
 * has its dirty bit.
 */
bool colo_check_i2(const ColoState *s, const ColoCheckSnap *before,
                   const RamBlock *b, const uint64_t *normal, uint32_t nnormal,
                   const uint64_t *zero, uint32_t nzero, MfError *err);

/*
 * I3 after a flush: in every block guest == cache over used_length, the
 * dirty and guest-dirty bitmaps are empty, and dirty_pages is 0.
 */
bool colo_check_i3(const ColoState *s, MfError *err);

#endif /* MFCOLO_TESTS_COLO_CHECK_H */
