/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Plain allocation with a fault point at every call site.
 *
 * Unlike QEMU's g_malloc, these return NULL on failure and every caller
 * handles it; the fault tier makes each site fail in turn.  @point names
 * the site ("mfcolo/ram/alloc-cache", ...).  Memory is always zeroed.
 */
#ifndef MFCOLO_BASE_ALLOC_H
#define MFCOLO_BASE_ALLOC_H

#include <stddef.h>
#include <stdlib.h>

#include "base/fault.h"

static inline void *mf_alloc(const char *point, size_t nmemb, size_t size)
{
    if (mf_fault(point)) {
        return NULL;
    }
    return calloc(nmemb ? nmemb : 1, size ? size : 1);
}

static inline void mf_free(void *ptr)
{
    free(ptr);
}

#endif /* MFCOLO_BASE_ALLOC_H */
