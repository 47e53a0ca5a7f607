/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The RAM block table of the secondary: per block its name, used_length,
 * guest memory, COLO cache, the COLO dirty bitmap, the guest's own dirty
 * log and the received bitmap (QEMU's receivedmap), all one bit per page.
 *
 * Errors are RAM_ERR_* (ram/errors.h).  Offsets named in errors are the
 * offsets inside the block (callers locate them in the stream).
 */
#ifndef MFCOLO_RAM_RAM_H
#define MFCOLO_RAM_RAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

#define RAM_BLOCK_NAME_MAX 255 /* bytes, without the NUL */

typedef struct RamBlock {
    char name[RAM_BLOCK_NAME_MAX + 1];
    uint64_t used_length;
    uint32_t page_size;
    uint64_t npages;            /* bits per bitmap: ceil(used/page) */
    uint8_t *host;              /* guest memory */
    bool host_owned;            /* allocated (and freed) by the table */
    uint8_t *colo_cache;        /* NULL until ram_table_enable_colo() */
    unsigned long *dirty;       /* COLO: pages to copy at the next flush */
    unsigned long *guest_dirty; /* COLO: pages the secondary wrote */
    unsigned long *received;    /* pages received at least once */
} RamBlock;

typedef struct RamTable {
    uint32_t page_size;
    size_t nblocks;
    size_t capacity;
    RamBlock **blocks;
} RamTable;

/*
 * Empty table for @page_size: a power of two from 512 to 524288, else
 * RAM_ERR_PAGE_SIZE.
 */
bool ram_table_init(RamTable *t, uint32_t page_size, MfError *err);

/*
 * Add a block.  @host is the guest memory (at least @used_length bytes,
 * owned by the caller) or NULL to have the table allocate zeroed memory.
 * RAM_ERR_NAME_LENGTH (empty or over 255 bytes), RAM_ERR_DUPLICATE_BLOCK,
 * RAM_ERR_BLOCK_LENGTH (0), MF_ERR_NOMEM.  The received bitmap is
 * allocated here; the COLO parts by ram_table_enable_colo().
 */
RamBlock *ram_table_add(RamTable *t, const char *name, uint64_t used_length,
                        uint8_t *host, MfError *err);

/* Block named @name (exact match), or NULL. */
RamBlock *ram_table_find(const RamTable *t, const char *name);

/*
 * Allocate every block's COLO cache (zeroed, as QEMU: not a copy of the
 * guest) and its dirty and guest_dirty bitmaps.  MF_ERR_NOMEM leaves the
 * table as it was.  Idempotent.
 */
bool ram_table_enable_colo(RamTable *t, MfError *err);

/* Free every block (and the memory the table allocated). */
void ram_table_destroy(RamTable *t);

/*
 * May a page be placed at @offset?  RAM_ERR_BLOCK_TOO_SMALL (block shorter
 * than a page), RAM_ERR_OFFSET_RANGE (offset + page_size > used_length),
 * RAM_ERR_OFFSET_UNALIGNED (offset not a multiple of page_size).
 */
bool ram_block_check_offset(const RamBlock *b, uint64_t offset,
                            MfError *err);

static inline uint64_t ram_block_page_index(const RamBlock *b,
                                            uint64_t offset)
{
    return offset / b->page_size;
}

/* Mark the page at @offset received. Thread-safe. */
void ram_block_set_received(RamBlock *b, uint64_t offset);

/*
 * The zero-page rule (QEMU multifd-zero-page.c): memory starts zeroed, so
 * a zero page needs writing only if the page was received before.  Marks
 * the page received and returns true when the caller must write zeros.
 * Thread-safe.
 */
bool ram_block_zero_page_needs_write(RamBlock *b, uint64_t offset);

#endif /* MFCOLO_RAM_RAM_H */
