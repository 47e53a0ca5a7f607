/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A guard-page MfAllocator for tests (guard-alloc.h). */
#include "guard-alloc.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

static void *guard_alloc(void *opaque, size_t size)
{
    SupGuardAlloc *g = opaque;
    size_t data = (size + g->page - 1) / g->page * g->page;
    size_t len = data + g->page;
    uint8_t *base, *none, *ptr;
    int i;

    for (i = 0; i < SUP_GUARD_MAX && g->ptr[i]; i++) {
    }
    if (i == SUP_GUARD_MAX) {
        return NULL;
    }
    base = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                -1, 0);
    if (base == MAP_FAILED) {
        return NULL;
    }
    if (g->side == SUP_GUARD_BEFORE) {
        none = base;
        ptr = base + g->page;
    } else {
        none = base + data;
        ptr = none - size;
    }
    if (mprotect(none, g->page, PROT_NONE) != 0) {
        munmap(base, len);
        return NULL;
    }
    g->ptr[i] = ptr;
    g->base[i] = base;
    g->len[i] = len;
    return ptr;
}

static void guard_free(void *opaque, void *ptr)
{
    SupGuardAlloc *g = opaque;
    int i;

    if (!ptr) {
        return;
    }
    for (i = 0; i < SUP_GUARD_MAX; i++) {
        if (g->ptr[i] == ptr) {
            munmap(g->base[i], g->len[i]);
            g->ptr[i] = NULL;
            return;
        }
    }
    fprintf(stderr, "guard-alloc: free of %p, which it did not hand out\n",
            ptr);
    abort();
}

void sup_guard_alloc_init(SupGuardAlloc *g, SupGuardSide side)
{
    memset(g, 0, sizeof(*g));
    g->ops.alloc = guard_alloc;
    g->ops.free = guard_free;
    g->ops.opaque = g;
    g->side = side;
    g->page = (size_t)sysconf(_SC_PAGESIZE);
}

size_t sup_guard_alloc_live(const SupGuardAlloc *g)
{
    size_t n = 0;
    int i;

    for (i = 0; i < SUP_GUARD_MAX; i++) {
        n += g->ptr[i] != NULL;
    }
    return n;
}

struct iovec *sup_guard_iovec(SupGuardAlloc *g, const struct iovec *src,
                              size_t n)
{
    struct iovec *iov = g->ops.alloc(g->ops.opaque, n * sizeof(*iov));

    if (iov) {
        memcpy(iov, src, n * sizeof(*iov));
    }
    return iov;
}
