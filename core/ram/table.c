/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The RAM block table: blocks, their memory, and the COLO parts. */
#include "ram/ram.h"

#include <inttypes.h>
#include <string.h>

#include "base/alloc.h"
#include "base/bitmap.h"
#include "ram/errors.h"

#define TABLE_MIN_CAPACITY 4

bool ram_table_init(RamTable *t, uint32_t page_size, MfError *err)
{
    if (page_size < RAM_PAGE_SIZE_MIN || page_size > RAM_PAGE_SIZE_MAX ||
        (page_size & (page_size - 1)) != 0) {
        return mf_error_set(err, RAM_ERR_PAGE_SIZE, 0,
                            "page_size %" PRIu32 " is not a power of two "
                            "from %u to %u",
                            page_size, RAM_PAGE_SIZE_MIN, RAM_PAGE_SIZE_MAX);
    }
    memset(t, 0, sizeof(*t));
    t->page_size = page_size;
    return true;
}

void ram_table_set_allocator(RamTable *t, const MfAllocator *a)
{
    t->allocator = a;
}

RamBlock *ram_table_find(const RamTable *t, const char *name)
{
    size_t i;

    for (i = 0; i < t->nblocks; i++) {
        if (strcmp(t->blocks[i]->name, name) == 0) {
            return t->blocks[i];
        }
    }
    return NULL;
}

RamBlock *ram_table_lookup(const RamTable *t, const char *name, MfError *err)
{
    RamBlock *b = ram_table_find(t, name);

    if (!b) {
        mf_error_set(err, RAM_ERR_UNKNOWN_BLOCK, 0,
                     "unknown RAM block \"%.64s\"", name);
    }
    return b;
}

static void block_free_colo(const RamTable *t, RamBlock *b)
{
    mf_free_in(t->allocator, b->colo_cache);
    mf_bitmap_free_in(t->allocator, b->dirty);
    mf_bitmap_free_in(t->allocator, b->guest_dirty);
    b->colo_cache = NULL;
    b->dirty = NULL;
    b->guest_dirty = NULL;
}

static bool block_alloc_colo(const RamTable *t, RamBlock *b, MfError *err)
{
    b->colo_cache =
        mf_alloc_in(t->allocator, "mfcolo/ram/alloc-cache", b->used_length, 1);
    b->dirty =
        mf_bitmap_new_in(t->allocator, "mfcolo/ram/alloc-dirty", b->npages);
    b->guest_dirty = mf_bitmap_new_in(
        t->allocator, "mfcolo/ram/alloc-guest-dirty", b->npages);
    if (!b->colo_cache || !b->dirty || !b->guest_dirty) {
        block_free_colo(t, b);
        return mf_error_set(err, MF_ERR_NOMEM, 0,
                            "cannot allocate the COLO cache of block "
                            "\"%.64s\" (used_length %" PRIu64 ")",
                            b->name, b->used_length);
    }
    return true;
}

static void block_free(const RamTable *t, RamBlock *b)
{
    block_free_colo(t, b);
    if (b->host_owned) {
        mf_free_in(t->allocator, b->host);
    }
    mf_bitmap_free_in(t->allocator, b->received);
    mf_free_in(t->allocator, b);
}

/* Room for one more block pointer; the table is unchanged on failure. */
static bool table_reserve(RamTable *t, MfError *err)
{
    RamBlock **blocks;
    size_t cap;

    if (t->nblocks < t->capacity) {
        return true;
    }
    cap = t->capacity ? t->capacity * 2 : TABLE_MIN_CAPACITY;
    blocks = mf_alloc_in(t->allocator, "mfcolo/ram/alloc-table", cap,
                         sizeof(*blocks));
    if (!blocks) {
        return mf_error_set(err, MF_ERR_NOMEM, 0,
                            "cannot grow the RAM block table to %zu blocks",
                            cap);
    }
    if (t->nblocks) {
        memcpy(blocks, t->blocks, t->nblocks * sizeof(*blocks));
    }
    mf_free_in(t->allocator, t->blocks);
    t->blocks = blocks;
    t->capacity = cap;
    return true;
}

static bool check_new_block(const RamTable *t, const char *name,
                            uint64_t used_length, MfError *err)
{
    size_t len = strnlen(name, RAM_BLOCK_NAME_MAX + 1);

    if (len == 0) {
        return mf_error_set(err, RAM_ERR_NAME_LENGTH, 0,
                            "RAM block name is empty");
    }
    if (len > RAM_BLOCK_NAME_MAX) {
        return mf_error_set(err, RAM_ERR_NAME_LENGTH, 0,
                            "RAM block name length exceeds %d bytes",
                            RAM_BLOCK_NAME_MAX);
    }
    if (ram_table_find(t, name)) {
        return mf_error_set(err, RAM_ERR_DUPLICATE_BLOCK, 0,
                            "RAM block \"%.64s\" already exists", name);
    }
    if (used_length == 0) {
        return mf_error_set(err, RAM_ERR_BLOCK_LENGTH, 0,
                            "RAM block \"%.64s\": used_length 0", name);
    }
#if SIZE_MAX < UINT64_MAX
    if (used_length > SIZE_MAX) {
        return mf_error_set(err, RAM_ERR_BLOCK_LENGTH, 0,
                            "RAM block \"%.64s\": used_length %" PRIu64
                            " exceeds %zu",
                            name, used_length, (size_t)SIZE_MAX);
    }
#endif
    return true;
}

RamBlock *ram_table_add(RamTable *t, const char *name, uint64_t used_length,
                        uint8_t *host, MfError *err)
{
    RamBlock *b;

    if (!check_new_block(t, name, used_length, err)) {
        return NULL;
    }
    b = mf_alloc_in(t->allocator, "mfcolo/ram/alloc-block", 1, sizeof(*b));
    if (!b) {
        mf_error_set(err, MF_ERR_NOMEM, 0,
                     "cannot allocate RAM block \"%.64s\"", name);
        return NULL;
    }
    memcpy(b->name, name, strlen(name) + 1);
    b->used_length = used_length;
    b->page_size = t->page_size;
    b->npages = used_length / t->page_size + (used_length % t->page_size != 0);
    b->host = host;
    if (!host) {
        b->host =
            mf_alloc_in(t->allocator, "mfcolo/ram/alloc-host", used_length, 1);
        b->host_owned = true;
    }
    b->received =
        mf_bitmap_new_in(t->allocator, "mfcolo/ram/alloc-received", b->npages);
    if (!b->host || !b->received) {
        mf_error_set(err, MF_ERR_NOMEM, 0,
                     "cannot allocate guest memory of RAM block \"%.64s\" "
                     "(used_length %" PRIu64 ")",
                     name, used_length);
        block_free(t, b);
        return NULL;
    }
    if ((t->colo && !block_alloc_colo(t, b, err)) || !table_reserve(t, err)) {
        block_free(t, b);
        return NULL;
    }
    t->blocks[t->nblocks++] = b;
    return b;
}

bool ram_table_enable_colo(RamTable *t, MfError *err)
{
    size_t i;

    if (t->colo) {
        return true;
    }
    for (i = 0; i < t->nblocks; i++) {
        if (!block_alloc_colo(t, t->blocks[i], err)) {
            while (i > 0) {
                block_free_colo(t, t->blocks[--i]);
            }
            return false;
        }
    }
    t->colo = true;
    return true;
}

void ram_table_disable_colo(RamTable *t)
{
    size_t i;

    for (i = 0; i < t->nblocks; i++) {
        block_free_colo(t, t->blocks[i]);
    }
    t->colo = false;
}

void ram_table_destroy(RamTable *t)
{
    size_t i;

    for (i = 0; i < t->nblocks; i++) {
        block_free(t, t->blocks[i]);
    }
    mf_free_in(t->allocator, t->blocks);
    t->blocks = NULL;
    t->nblocks = 0;
    t->capacity = 0;
    t->colo = false;
}
