/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Guest workloads over a memory image, deterministic for a seed.  Each
 * adds the pages it wrote to @dirtied (may be NULL), so a fake primary
 * (primary_dirty()) or a simulated secondary knows what changed.
 */
#ifndef MFCOLO_SUPPORT_WORKLOAD_H
#define MFCOLO_SUPPORT_WORKLOAD_H

#include <stdint.h>

#include "image.h"
#include "rng.h"

/*
 * QEMU migration-test's guest: forever, for each page of [start, end) of
 * a block, increment its first byte.  The cursor remembers where the
 * guest is, so a workload stopped anywhere leaves the pattern that
 * oracle_check_guests_ram() accepts.
 */
typedef struct WorkloadIncrement {
    size_t block;
    uint64_t start; /* byte offsets in the block, page aligned */
    uint64_t end;
    uint64_t cursor; /* next page offset to increment */
} WorkloadIncrement;

void workload_increment_init(WorkloadIncrement *w, size_t block, uint64_t start,
                             uint64_t end);
/* Increment @steps pages, continuing from the cursor and wrapping. */
void workload_increment_run(WorkloadIncrement *w, MemImage *img, uint64_t steps,
                            PageSet *dirtied);

/*
 * Random dirtying: @pages times pick a page (uniform over every block
 * and page) and rewrite it: with @zero_percent probability all zeros,
 * else seeded bytes (a random number of bytes at random places, first
 * byte always non-zero so the page is not zero).
 */
void workload_random(MemImage *img, SupRng *rng, uint64_t pages,
                     unsigned zero_percent, PageSet *dirtied);

/*
 * Whole random pages: fill page @page of @block with seeded bytes (every
 * byte, the first one non-zero so the page is not zero).
 */
void workload_fill_page(MemImage *img, SupRng *rng, size_t block, uint64_t page,
                        PageSet *dirtied);
/* workload_fill_page() on the last page of every block. */
void workload_last_pages(MemImage *img, SupRng *rng, PageSet *dirtied);
/*
 * Zero @pages pages picked uniformly among the pages that are not zero
 * now (all of them when fewer are): pages a primary sent as data on an
 * earlier pass become zero pages on the next.  Returns how many.
 */
uint64_t workload_zero_nonzero(MemImage *img, SupRng *rng, uint64_t pages,
                               PageSet *dirtied);

/*
 * Sequential writes (a file upload): write @bytes seeded bytes into the
 * block from the cursor on, wrapping at the block end.
 */
typedef struct WorkloadSequential {
    size_t block;
    uint64_t cursor;
    SupRng rng;
} WorkloadSequential;

void workload_sequential_init(WorkloadSequential *w, size_t block,
                              uint64_t seed);
void workload_sequential_run(WorkloadSequential *w, MemImage *img,
                             uint64_t bytes, PageSet *dirtied);

#endif /* MFCOLO_SUPPORT_WORKLOAD_H */
