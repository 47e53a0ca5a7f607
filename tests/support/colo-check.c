/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Oracles for I1-I3: see colo-check.h. */
#include "colo-check.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/bitmap.h"

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);

    if (!p) {
        fprintf(stderr, "colo-check: out of memory\n");
        abort();
    }
    return p;
}

void colo_check_snap_take(ColoCheckSnap *snap, const RamTable *t)
{
    size_t i;

    snap->nblocks = t->nblocks;
    snap->guest = xmalloc(t->nblocks * sizeof(*snap->guest));
    for (i = 0; i < t->nblocks; i++) {
        snap->guest[i] = xmalloc(t->blocks[i]->used_length);
        memcpy(snap->guest[i], t->blocks[i]->host, t->blocks[i]->used_length);
    }
}

void colo_check_snap_free(ColoCheckSnap *snap)
{
    size_t i;

    for (i = 0; i < snap->nblocks; i++) {
        free(snap->guest[i]);
    }
    free(snap->guest);
    snap->guest = NULL;
    snap->nblocks = 0;
}

/*
 * First byte where @a and @b differ, or @n.  memcmp decides whether there
 * is a difference at all (fast, also under ASan); only then is the first
 * differing byte searched for.
 */
static uint64_t first_diff(const uint8_t *a, const uint8_t *b, uint64_t n)
{
    uint64_t i;

    if (n == 0 || memcmp(a, b, n) == 0) {
        return n;
    }
    for (i = 0; i < n; i++) {
        if (a[i] != b[i]) {
            return i;
        }
    }
    return n;
}

static bool has_cache(const RamBlock *b, MfError *err)
{
    if (!b->colo_cache || !b->dirty || !b->guest_dirty) {
        return mf_error_set(err, CHECK_ERR_NO_CACHE, 0,
                            "block \"%.64s\" has no COLO cache", b->name);
    }
    return true;
}

static bool page_mirrored(const RamBlock *b, uint64_t off, int code,
                          const char *inv, MfError *err)
{
    uint64_t n = ram_block_page_bytes(b, off);
    uint64_t d = first_diff(b->host + off, b->colo_cache + off, n);

    if (d < n) {
        return mf_error_set_impl(
            err, code,
            code == CHECK_ERR_I1_MIRROR ? "CHECK_ERR_I1_MIRROR"
                                        : "CHECK_ERR_I3_MIRROR",
            off + d,
            "%s: block \"%.64s\" offset %" PRIu64
            ": guest 0x%02x != cache 0x%02x",
            inv, b->name, off + d, b->host[off + d], b->colo_cache[off + d]);
    }
    return true;
}

static bool bitmap_empty(const RamBlock *b, const unsigned long *map, int code,
                         const char *code_name, const char *what, MfError *err)
{
    uint64_t bit = mf_bitmap_find_next(map, b->npages, 0);

    if (bit < b->npages) {
        return mf_error_set_impl(err, code, code_name, bit * b->page_size,
                                 "%s bit set: block \"%.64s\" offset %" PRIu64,
                                 what, b->name, bit * b->page_size);
    }
    return true;
}

static bool listed(const uint64_t *offs, uint32_t n, uint64_t off)
{
    uint32_t i;

    for (i = 0; i < n; i++) {
        if (offs[i] == off) {
            return true;
        }
    }
    return false;
}

bool colo_check_i1(const ColoState *s, const RamBlock *b,
                   const uint64_t *normal, uint32_t nnormal,
                   const uint64_t *zero, uint32_t nzero, MfError *err)
{
    uint32_t i;
    size_t k;

    if (!has_cache(b, err)) {
        return false;
    }
    for (i = 0; i < nnormal; i++) {
        if (!page_mirrored(b, normal[i], CHECK_ERR_I1_MIRROR, "I1", err)) {
            return false;
        }
    }
    for (i = 0; i < nzero; i++) {
        uint64_t off = zero[i], n = ram_block_page_bytes(b, off), j;

        if (!page_mirrored(b, zero[i], CHECK_ERR_I1_MIRROR, "I1", err)) {
            return false;
        }
        if (listed(normal, nnormal, off)) {
            continue; /* also sent as a normal page: that data wins */
        }
        /* all zero iff byte 0 is zero and every byte equals the next */
        if (n == 0 || (b->host[off] == 0 &&
                       memcmp(b->host + off, b->host + off + 1, n - 1) == 0)) {
            continue;
        }
        for (j = 0; j < n; j++) {
            if (b->host[off + j]) {
                return mf_error_set(err, CHECK_ERR_I1_ZERO, off + j,
                                    "I1: block \"%.64s\" zero page %" PRIu64
                                    ": byte %" PRIu64 " is 0x%02x",
                                    b->name, off, off + j, b->host[off + j]);
            }
        }
    }
    for (k = 0; k < s->ram->nblocks; k++) {
        const RamBlock *o = s->ram->blocks[k];

        if (!has_cache(o, err) ||
            !bitmap_empty(o, o->dirty, CHECK_ERR_I1_DIRTY, "CHECK_ERR_I1_DIRTY",
                          "I1: dirty", err)) {
            return false;
        }
    }
    return true;
}

static bool page_recorded(const RamBlock *b, uint64_t off, MfError *err)
{
    if (!mf_bitmap_test(b->dirty, ram_block_page_index(b, off))) {
        return mf_error_set(err, CHECK_ERR_I2_NOT_RECORDED, off,
                            "I2: block \"%.64s\" offset %" PRIu64
                            " received without its dirty bit",
                            b->name, off);
    }
    return true;
}

bool colo_check_i2(const ColoState *s, const ColoCheckSnap *before,
                   const RamBlock *b, const uint64_t *normal, uint32_t nnormal,
                   const uint64_t *zero, uint32_t nzero, MfError *err)
{
    uint32_t i;
    size_t k;

    if (!has_cache(b, err)) {
        return false;
    }
    for (k = 0; k < s->ram->nblocks && k < before->nblocks; k++) {
        const RamBlock *o = s->ram->blocks[k];
        uint64_t d = first_diff(o->host, before->guest[k], o->used_length);

        if (d < o->used_length) {
            return mf_error_set(err, CHECK_ERR_I2_GUEST_WRITTEN, d,
                                "I2: block \"%.64s\" offset %" PRIu64
                                ": guest changed 0x%02x -> 0x%02x while "
                                "receiving in COLO",
                                o->name, d, before->guest[k][d], o->host[d]);
        }
    }
    for (i = 0; i < nnormal; i++) {
        if (!page_recorded(b, normal[i], err)) {
            return false;
        }
    }
    for (i = 0; i < nzero; i++) {
        if (!page_recorded(b, zero[i], err)) {
            return false;
        }
    }
    return true;
}

bool colo_check_i3(const ColoState *s, MfError *err)
{
    size_t k;
    uint64_t off;

    for (k = 0; k < s->ram->nblocks; k++) {
        const RamBlock *b = s->ram->blocks[k];

        if (!has_cache(b, err)) {
            return false;
        }
        /* page by page only to locate a difference memcmp has seen */
        if (memcmp(b->host, b->colo_cache, b->used_length) != 0) {
            for (off = 0; off < b->used_length; off += b->page_size) {
                if (!page_mirrored(b, off, CHECK_ERR_I3_MIRROR, "I3", err)) {
                    return false;
                }
            }
        }
        if (!bitmap_empty(b, b->dirty, CHECK_ERR_I3_DIRTY, "CHECK_ERR_I3_DIRTY",
                          "I3: dirty", err) ||
            !bitmap_empty(b, b->guest_dirty, CHECK_ERR_I3_GUEST_DIRTY,
                          "CHECK_ERR_I3_GUEST_DIRTY", "I3: guest-dirty", err)) {
            return false;
        }
    }
    if (s->dirty_pages != 0) {
        return mf_error_set(err, CHECK_ERR_I3_COUNTER, 0,
                            "I3: dirty_pages %" PRIu64 " after flush",
                            s->dirty_pages);
    }
    return true;
}
