/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Plain allocation with a fault point at every call site.
 *
 * Unlike QEMU's g_malloc, these return NULL on failure and every caller
 * handles it; the fault tier makes each site fail in turn.  @point names
 * the site ("mfcolo/ram/alloc-cache", ...).  Memory is always zeroed.
 *
 * Large buffers (guest memory, COLO caches, decompression state) can come
 * from an allocator the embedder supplies (MfAllocator, given in the
 * table's or engine's configuration); NULL means the C library.  A fuzz
 * harness uses this to recycle buffers between inputs instead of mapping
 * megabytes afresh for every one.
 */
#ifndef MFCOLO_BASE_ALLOC_H
#define MFCOLO_BASE_ALLOC_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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

/*
 * An embedder's allocator.  @alloc returns @size (> 0) bytes, content
 * unspecified, or NULL; @free takes back a non-NULL pointer @alloc
 * returned.  Both are called with @opaque, from whichever thread the
 * owner runs in (the threaded receive driver: channel threads).
 */
typedef struct MfAllocator {
    void *(*alloc)(void *opaque, size_t size);
    void (*free)(void *opaque, void *ptr);
    void *opaque;
} MfAllocator;

/*
 * @size bytes (at least 1), uninitialised, from @a or malloc() when @a
 * is NULL; NULL on failure or when @point's fault fires.
 */
static inline void *mf_alloc_raw(const MfAllocator *a, const char *point,
                                 size_t size)
{
    if (mf_fault(point)) {
        return NULL;
    }
    size = size ? size : 1;
    return a ? a->alloc(a->opaque, size) : malloc(size);
}

/*
 * Zeroed @nmemb x @size bytes from @a (as mf_alloc() when @a is NULL);
 * NULL on failure, on overflow or when @point's fault fires.
 */
static inline void *mf_alloc_in(const MfAllocator *a, const char *point,
                                size_t nmemb, size_t size)
{
    size_t bytes;
    void *p;

    if (!a) {
        return mf_alloc(point, nmemb, size);
    }
    if (size && nmemb > SIZE_MAX / size) {
        return NULL;
    }
    bytes = nmemb * size;
    bytes = bytes ? bytes : 1;
    p = mf_alloc_raw(a, point, bytes);
    if (p) {
        memset(p, 0, bytes);
    }
    return p;
}

/* Give back what mf_alloc_raw()/mf_alloc_in() returned; NULL is a no-op. */
static inline void mf_free_in(const MfAllocator *a, void *ptr)
{
    if (!ptr) {
        return;
    }
    if (a) {
        a->free(a->opaque, ptr);
    } else {
        free(ptr);
    }
}

#endif /* MFCOLO_BASE_ALLOC_H */
