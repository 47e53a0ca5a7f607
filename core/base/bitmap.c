/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "base/bitmap.h"

#include <string.h>

#include "base/alloc.h"

#define WORD(bit) ((bit) / MF_BITS_PER_LONG)
#define MASK(bit) (1UL << ((bit) % MF_BITS_PER_LONG))

unsigned long *mf_bitmap_new(const char *point, uint64_t nbits)
{
    return mf_alloc(point, MF_BITMAP_WORDS(nbits), sizeof(unsigned long));
}

void mf_bitmap_free(unsigned long *map)
{
    mf_free(map);
}

unsigned long *mf_bitmap_new_in(const MfAllocator *a, const char *point,
                                uint64_t nbits)
{
    return mf_alloc_in(a, point, MF_BITMAP_WORDS(nbits), sizeof(unsigned long));
}

void mf_bitmap_free_in(const MfAllocator *a, unsigned long *map)
{
    mf_free_in(a, map);
}

void mf_bitmap_set(unsigned long *map, uint64_t bit)
{
    map[WORD(bit)] |= MASK(bit);
}

void mf_bitmap_clear(unsigned long *map, uint64_t bit)
{
    map[WORD(bit)] &= ~MASK(bit);
}

bool mf_bitmap_test(const unsigned long *map, uint64_t bit)
{
    return (map[WORD(bit)] & MASK(bit)) != 0;
}

void mf_bitmap_zero(unsigned long *map, uint64_t nbits)
{
    memset(map, 0, MF_BITMAP_WORDS(nbits) * sizeof(unsigned long));
}

bool mf_bitmap_test_and_set_atomic(unsigned long *map, uint64_t bit)
{
    unsigned long old;

    old = __atomic_fetch_or(&map[WORD(bit)], MASK(bit), __ATOMIC_SEQ_CST);
    return (old & MASK(bit)) != 0;
}

void mf_bitmap_set_atomic(unsigned long *map, uint64_t bit)
{
    __atomic_fetch_or(&map[WORD(bit)], MASK(bit), __ATOMIC_SEQ_CST);
}

void mf_bitmap_take_atomic(unsigned long *dst, unsigned long *src,
                           uint64_t nbits)
{
    uint64_t i;

    for (i = 0; i < MF_BITMAP_WORDS(nbits); i++) {
        if (__atomic_load_n(&src[i], __ATOMIC_RELAXED)) {
            dst[i] |= __atomic_exchange_n(&src[i], 0, __ATOMIC_SEQ_CST);
        }
    }
}

static uint64_t find_next(const unsigned long *map, uint64_t nbits,
                          uint64_t start, unsigned long invert)
{
    uint64_t i;
    unsigned long word;

    if (start >= nbits) {
        return nbits;
    }
    i = WORD(start);
    word = (map[i] ^ invert) & (~0UL << (start % MF_BITS_PER_LONG));
    for (;;) {
        if (word) {
            uint64_t bit = i * MF_BITS_PER_LONG + __builtin_ctzl(word);

            return bit < nbits ? bit : nbits;
        }
        i++;
        if (i >= MF_BITMAP_WORDS(nbits)) {
            return nbits;
        }
        word = map[i] ^ invert;
    }
}

uint64_t mf_bitmap_find_next(const unsigned long *map, uint64_t nbits,
                             uint64_t start)
{
    return find_next(map, nbits, start, 0);
}

uint64_t mf_bitmap_find_next_zero(const unsigned long *map, uint64_t nbits,
                                  uint64_t start)
{
    return find_next(map, nbits, start, ~0UL);
}

bool mf_bitmap_next_run(const unsigned long *map, uint64_t nbits,
                        uint64_t *start, uint64_t *len)
{
    uint64_t first = mf_bitmap_find_next(map, nbits, *start);

    if (first >= nbits) {
        return false;
    }
    *start = first;
    *len = mf_bitmap_find_next_zero(map, nbits, first) - first;
    return true;
}

void mf_bitmap_clear_range(unsigned long *map, uint64_t start, uint64_t len)
{
    uint64_t end = start + len;

    while (start < end && start % MF_BITS_PER_LONG) {
        mf_bitmap_clear(map, start++);
    }
    if (end - start >= MF_BITS_PER_LONG) {
        uint64_t words = (end - start) / MF_BITS_PER_LONG;

        memset(&map[WORD(start)], 0, words * sizeof(unsigned long));
        start += words * MF_BITS_PER_LONG;
    }
    while (start < end) {
        mf_bitmap_clear(map, start++);
    }
}

uint64_t mf_bitmap_count(const unsigned long *map, uint64_t nbits)
{
    uint64_t i, n = 0;

    for (i = 0; i < nbits / MF_BITS_PER_LONG; i++) {
        n += __builtin_popcountl(map[i]);
    }
    if (nbits % MF_BITS_PER_LONG) {
        n += __builtin_popcountl(map[i] &
                                 ((1UL << (nbits % MF_BITS_PER_LONG)) - 1));
    }
    return n;
}

bool mf_bitmap_empty(const unsigned long *map, uint64_t nbits)
{
    return mf_bitmap_find_next(map, nbits, 0) >= nbits;
}
