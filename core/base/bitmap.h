/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Bitmaps of unsigned long words, one bit per page.
 *
 * Plain operations are for a single owner.  The *_atomic operations may
 * race with each other from several threads (multifd channels recording
 * pages, a vCPU logging its writes); mf_bitmap_take_atomic moves a bitmap
 * another thread keeps setting into one the caller owns.
 */
#ifndef MFCOLO_BASE_BITMAP_H
#define MFCOLO_BASE_BITMAP_H

#include <stdbool.h>
#include <stdint.h>

#include "base/alloc.h"

#define MF_BITS_PER_LONG (sizeof(unsigned long) * 8)
#define MF_BITMAP_WORDS(nbits) \
    (((nbits) + MF_BITS_PER_LONG - 1) / MF_BITS_PER_LONG)

/* A zeroed bitmap of @nbits bits, or NULL (allocation fault @point). */
unsigned long *mf_bitmap_new(const char *point, uint64_t nbits);
void mf_bitmap_free(unsigned long *map);
/* As above, from @a (NULL: the C library). */
unsigned long *mf_bitmap_new_in(const MfAllocator *a, const char *point,
                                uint64_t nbits);
void mf_bitmap_free_in(const MfAllocator *a, unsigned long *map);

void mf_bitmap_set(unsigned long *map, uint64_t bit);
void mf_bitmap_clear(unsigned long *map, uint64_t bit);
bool mf_bitmap_test(const unsigned long *map, uint64_t bit);
void mf_bitmap_zero(unsigned long *map, uint64_t nbits);

/* Set @bit; return whether it was already set.  Thread-safe. */
bool mf_bitmap_test_and_set_atomic(unsigned long *map, uint64_t bit);
/* Set @bit.  Thread-safe. */
void mf_bitmap_set_atomic(unsigned long *map, uint64_t bit);

/* OR @src into @dst and zero @src, word by word, atomically on @src. */
void mf_bitmap_take_atomic(unsigned long *dst, unsigned long *src,
                           uint64_t nbits);

/* First set bit at or after @start, or @nbits when there is none. */
uint64_t mf_bitmap_find_next(const unsigned long *map, uint64_t nbits,
                             uint64_t start);
/* First clear bit at or after @start, or @nbits when there is none. */
uint64_t mf_bitmap_find_next_zero(const unsigned long *map, uint64_t nbits,
                                  uint64_t start);

/*
 * Find the first run of set bits at or after *@start: on success store its
 * first bit in *@start and its length in *@len and return true; return
 * false when no bit at or after *@start is set.
 */
bool mf_bitmap_next_run(const unsigned long *map, uint64_t nbits,
                        uint64_t *start, uint64_t *len);

/* Clear @len bits from @start. */
void mf_bitmap_clear_range(unsigned long *map, uint64_t start, uint64_t len);

uint64_t mf_bitmap_count(const unsigned long *map, uint64_t nbits);
bool mf_bitmap_empty(const unsigned long *map, uint64_t nbits);

#endif /* MFCOLO_BASE_BITMAP_H */
