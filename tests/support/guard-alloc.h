/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A guard-page MfAllocator for tests: every buffer gets its own mapping
 * with a PROT_NONE page touching one end of it, so that an access one
 * byte outside that end faults in the default run (no memory checker
 * needed).
 *
 * SUP_GUARD_BEFORE: the buffer starts right after the PROT_NONE page
 * (reads before the start fault).  SUP_GUARD_AFTER: the buffer ends
 * right before it (reads past the end fault); its start is then the end
 * minus the size, which is aligned for any array of one type (the size
 * is a multiple of the element size, itself a multiple of its
 * alignment).  Content is unspecified (fresh mappings are zero).
 * Not thread-safe.
 */
#ifndef MFCOLO_SUPPORT_GUARD_ALLOC_H
#define MFCOLO_SUPPORT_GUARD_ALLOC_H

#include <stddef.h>

#include "base/alloc.h"

#define SUP_GUARD_MAX 64

typedef enum SupGuardSide {
    SUP_GUARD_BEFORE,
    SUP_GUARD_AFTER,
} SupGuardSide;

typedef struct SupGuardAlloc {
    MfAllocator ops; /* hand &ops to core/ */
    SupGuardSide side;
    size_t page;
    void *ptr[SUP_GUARD_MAX]; /* NULL: slot free */
    void *base[SUP_GUARD_MAX];
    size_t len[SUP_GUARD_MAX];
} SupGuardAlloc;

/*
 * A fresh allocator guarding @side whose ops point back at it; at most
 * SUP_GUARD_MAX buffers may be out at once (the next alloc returns
 * NULL).  Freeing a pointer it did not hand out aborts.
 */
void sup_guard_alloc_init(SupGuardAlloc *g, SupGuardSide side);

/* Buffers handed out and not yet given back. */
size_t sup_guard_alloc_live(const SupGuardAlloc *g);

struct iovec;

/*
 * A copy of the @n entries of @src in a buffer of @g (SUP_GUARD_AFTER):
 * reading entry @n faults.  For the iovec-array bounds of chan_readv();
 * give it back with g->ops.free().  NULL when @g has no slot left.
 */
struct iovec *sup_guard_iovec(SupGuardAlloc *g, const struct iovec *src,
                              size_t n);

#endif /* MFCOLO_SUPPORT_GUARD_ALLOC_H */
