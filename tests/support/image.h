/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A VM memory image for test support: named RAM blocks (like QEMU's
 * RAMBlocks: idstr and used_length) holding their bytes, and a PageSet,
 * one bit per target page per block (what a workload dirtied, what a
 * checkpoint must carry).
 *
 * Page p of a block covers [p * page_size, (p + 1) * page_size); a block
 * whose size is not a multiple of the page size has a last, partial page
 * (QEMU never has one; tests of such blocks may).  Allocation failure
 * aborts (test support).
 */
#ifndef MFCOLO_SUPPORT_IMAGE_H
#define MFCOLO_SUPPORT_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MEM_BLOCK_NAME_MAX 255

typedef struct MemBlock {
    char name[MEM_BLOCK_NAME_MAX + 1];
    uint64_t size;   /* used_length in bytes */
    uint64_t npages; /* ceil(size / page_size) */
    uint8_t *data;   /* size bytes, zeroed at creation */
} MemBlock;

typedef struct MemImage {
    uint32_t page_size;
    size_t nblocks;
    MemBlock *blocks;
} MemImage;

/* An empty image; @page_size must be a power of two (else abort). */
MemImage *mem_image_new(uint32_t page_size);
/* Add a zeroed block; abort on an empty/too long/duplicate name. */
MemBlock *mem_image_add(MemImage *img, const char *name, uint64_t size);
/* Index of block @name, or -1. */
long mem_image_find(const MemImage *img, const char *name);
/* Deep copy (layout and bytes). */
MemImage *mem_image_clone(const MemImage *img);
/* Copy every byte of @src into @dst; the layouts must be equal (abort). */
void mem_image_copy(MemImage *dst, const MemImage *src);
/* Same page size, block names and sizes, in the same order? */
bool mem_image_same_layout(const MemImage *a, const MemImage *b);
/* Pointer to page @page of block @block (caller checks the range). */
uint8_t *mem_image_page(const MemImage *img, size_t block, uint64_t page);
/* Bytes of page @page (page_size, or less for a partial last page). */
uint32_t mem_image_page_len(const MemImage *img, size_t block, uint64_t page);
/* Sum of block sizes. */
uint64_t mem_image_total(const MemImage *img);
void mem_image_free(MemImage *img);

/* QEMU's pc machine layout of the captures (8 blocks, 32 MiB pc.ram). */
MemImage *mem_image_new_pc(uint64_t ram_size);

typedef struct PageSet {
    size_t nblocks;
    uint64_t *npages;     /* per block */
    unsigned long **bits; /* per block, npages bits */
} PageSet;

/* An empty set shaped like @img. */
PageSet *page_set_new(const MemImage *img);
void page_set_add(PageSet *s, size_t block, uint64_t page);
void page_set_remove(PageSet *s, size_t block, uint64_t page);
bool page_set_test(const PageSet *s, size_t block, uint64_t page);
/* Add every page of every block. */
void page_set_add_all(PageSet *s);
/* Add pages [first, first + n) of @block (clipped to the block). */
void page_set_add_range(PageSet *s, size_t block, uint64_t first, uint64_t n);
/* @dst |= @src (same shape, else abort). */
void page_set_union(PageSet *dst, const PageSet *src);
void page_set_clear(PageSet *s);
uint64_t page_set_count(const PageSet *s);
/*
 * Iterate in (block, page) order: finds the first member at or after
 * (*block, *page); false when none.  Start with *block = 0, *page = 0 and
 * advance *page by one after each hit.
 */
bool page_set_next(const PageSet *s, size_t *block, uint64_t *page);
void page_set_free(PageSet *s);

#endif /* MFCOLO_SUPPORT_IMAGE_H */
