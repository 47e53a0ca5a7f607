/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A counting MfAllocator for tests (count-alloc.h). */
#include "count-alloc.h"

#include <stdlib.h>
#include <string.h>

static void *count_alloc(void *opaque, size_t size)
{
    SupCountAlloc *c = opaque;
    void *p;

    if (++c->calls == c->fail_nth) {
        return NULL;
    }
    p = malloc(size);
    if (!p) {
        return NULL;
    }
    memset(p, SUP_COUNT_ALLOC_FILL, size);
    __atomic_add_fetch(&c->allocs, 1, __ATOMIC_RELAXED);
    __atomic_add_fetch(&c->bytes, size, __ATOMIC_RELAXED);
    if (size > c->largest) {
        c->largest = size;
    }
    return p;
}

static void count_free(void *opaque, void *ptr)
{
    SupCountAlloc *c = opaque;

    __atomic_add_fetch(&c->frees, 1, __ATOMIC_RELAXED);
    free(ptr);
}

void sup_count_alloc_init(SupCountAlloc *c)
{
    memset(c, 0, sizeof(*c));
    c->ops.alloc = count_alloc;
    c->ops.free = count_free;
    c->ops.opaque = c;
}

uint64_t sup_count_alloc_live(const SupCountAlloc *c)
{
    return __atomic_load_n(&c->allocs, __ATOMIC_RELAXED) -
           __atomic_load_n(&c->frees, __ATOMIC_RELAXED);
}
