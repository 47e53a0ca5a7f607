/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The RAM block table of the secondary: per block its name, used_length,
 * guest memory, COLO cache, the COLO dirty bitmap, the guest's own dirty
 * log and the received bitmap (QEMU's receivedmap), all one bit per page.
 *
 * Errors are RAM_ERR_* (ram/errors.h).  Messages name the block, the
 * offending value and the limit; offsets in messages are offsets inside
 * the block.  MfError.offset is left 0: the caller that owns the stream
 * locates the error at the byte where the offending field starts
 * (mf_error_locate(err, label, field_stream_offset)).
 *
 * Allocation fault points (base/alloc.h): "mfcolo/ram/alloc-table" (the
 * block array), "mfcolo/ram/alloc-block", "mfcolo/ram/alloc-host",
 * "mfcolo/ram/alloc-received", "mfcolo/ram/alloc-cache",
 * "mfcolo/ram/alloc-dirty", "mfcolo/ram/alloc-guest-dirty".  Every failure
 * returns MF_ERR_NOMEM, frees what the call had allocated and leaves the
 * table exactly as it was.
 *
 * Threads: building and destroying the table is single-threaded; the
 * per-page bitmap operations below are atomic.
 */
#ifndef MFCOLO_RAM_RAM_H
#define MFCOLO_RAM_RAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/alloc.h"
#include "base/error.h"

#define RAM_BLOCK_NAME_MAX 255 /* bytes, without the NUL */
#define RAM_PAGE_SIZE_MIN 512u
#define RAM_PAGE_SIZE_MAX 524288u /* MULTIFD_PACKET_SIZE: one page a packet */

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
    bool colo;                    /* every block has its COLO parts */
    const MfAllocator *allocator; /* guest memory and caches; NULL: libc */
} RamTable;

/*
 * Empty table for @page_size: a power of two from 512 to 524288, else
 * RAM_ERR_PAGE_SIZE.
 */
bool ram_table_init(RamTable *t, uint32_t page_size, MfError *err);

/*
 * Everything the table allocates (blocks, bitmaps, guest memory when
 * ram_table_add gets @host NULL, the COLO caches) comes from @a (NULL:
 * calloc), zeroed by the table.  Call before the first block is added;
 * @a must outlive the table.
 */
void ram_table_set_allocator(RamTable *t, const MfAllocator *a);

/*
 * Add a block.  @host is the guest memory (at least @used_length bytes,
 * owned by the caller) or NULL to have the table allocate zeroed memory.
 * RAM_ERR_NAME_LENGTH (empty or over 255 bytes), RAM_ERR_DUPLICATE_BLOCK,
 * RAM_ERR_BLOCK_LENGTH (0, or more than the address space), MF_ERR_NOMEM.
 * A block shorter than a page is accepted (QEMU has such blocks) but no
 * page can ever be placed in it (ram_block_check_offset).  The received
 * bitmap is allocated here; the COLO parts too when the table already has
 * COLO enabled, else by ram_table_enable_colo().
 */
RamBlock *ram_table_add(RamTable *t, const char *name, uint64_t used_length,
                        uint8_t *host, MfError *err);

/* Block named @name (exact match), or NULL. */
RamBlock *ram_table_find(const RamTable *t, const char *name);

/*
 * Block named @name, or NULL with RAM_ERR_UNKNOWN_BLOCK (the message
 * names the block).
 */
RamBlock *ram_table_lookup(const RamTable *t, const char *name, MfError *err);

/*
 * Allocate every block's COLO cache (zeroed, as QEMU: not a copy of the
 * guest) and its dirty and guest_dirty bitmaps.  MF_ERR_NOMEM leaves the
 * table as it was.  Idempotent.
 */
bool ram_table_enable_colo(RamTable *t, MfError *err);

/*
 * Free every block's COLO cache and dirty bitmaps (QEMU
 * colo_release_ram_cache); blocks, guest memory and received bitmaps
 * stay.  Idempotent.
 */
void ram_table_disable_colo(RamTable *t);

/* Free every block (and the memory the table allocated).  Idempotent. */
void ram_table_destroy(RamTable *t);

/*
 * May a page be placed at @offset?  RAM_ERR_BLOCK_TOO_SMALL (block shorter
 * than a page), RAM_ERR_OFFSET_RANGE (offset + page_size > used_length,
 * computed without overflow for any 64-bit offset),
 * RAM_ERR_OFFSET_UNALIGNED (offset not a multiple of page_size), checked
 * in that order.
 */
bool ram_block_check_offset(const RamBlock *b, uint64_t offset, MfError *err);

static inline uint64_t ram_block_page_index(const RamBlock *b, uint64_t offset)
{
    return offset / b->page_size;
}

/* Bytes of the page at @offset inside the block (the last may be short). */
static inline uint64_t ram_block_page_bytes(const RamBlock *b, uint64_t offset)
{
    uint64_t left = b->used_length - offset;

    return left < b->page_size ? left : b->page_size;
}

/* Mark the page at @offset received. Thread-safe. */
void ram_block_set_received(RamBlock *b, uint64_t offset);

/* Was the page at @offset received?  Thread-safe. */
bool ram_block_is_received(const RamBlock *b, uint64_t offset);

/*
 * Mark the page at @offset received and return whether it was received
 * before (one atomic test-and-set).  The zero-page rule (colo/colo.h)
 * is built on it.  @offset must have passed ram_block_check_offset().
 * Thread-safe.
 */
bool ram_block_test_and_set_received(RamBlock *b, uint64_t offset);

#endif /* MFCOLO_RAM_RAM_H */
