/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A counting MfAllocator for tests: every buffer it hands out is filled
 * with 0xa5 (so a caller that relies on zeroed memory without zeroing it
 * shows), it counts what is out, and it can refuse the Nth allocation.
 * Not thread-safe beyond what the atomics give: counts only.
 */
#ifndef MFCOLO_SUPPORT_COUNT_ALLOC_H
#define MFCOLO_SUPPORT_COUNT_ALLOC_H

#include <stddef.h>
#include <stdint.h>

#include "base/alloc.h"

#define SUP_COUNT_ALLOC_FILL 0xa5

typedef struct SupCountAlloc {
    MfAllocator ops;   /* hand &ops to core/ */
    uint64_t allocs;   /* successful allocations */
    uint64_t frees;    /* buffers given back */
    uint64_t bytes;    /* total bytes handed out */
    uint64_t largest;  /* largest single allocation */
    uint64_t fail_nth; /* 0: never; N: the Nth call returns NULL */
    uint64_t calls;
} SupCountAlloc;

/* A fresh counter whose ops point back at it. */
void sup_count_alloc_init(SupCountAlloc *c);

/* Buffers handed out and not yet given back. */
uint64_t sup_count_alloc_live(const SupCountAlloc *c);

#endif /* MFCOLO_SUPPORT_COUNT_ALLOC_H */
