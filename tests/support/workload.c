/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Deterministic guest workloads over a memory image. */
#include "workload.h"

#include <string.h>

static void mark(PageSet *dirtied, size_t block, uint64_t page)
{
    if (dirtied) {
        page_set_add(dirtied, block, page);
    }
}

void workload_increment_init(WorkloadIncrement *w, size_t block, uint64_t start,
                             uint64_t end)
{
    w->block = block;
    w->start = start;
    w->end = end;
    w->cursor = start;
}

void workload_increment_run(WorkloadIncrement *w, MemImage *img, uint64_t steps,
                            PageSet *dirtied)
{
    MemBlock *b = &img->blocks[w->block];

    if (w->start >= w->end || w->end > b->size) {
        return;
    }
    for (uint64_t i = 0; i < steps; i++) {
        b->data[w->cursor]++;
        mark(dirtied, w->block, w->cursor / img->page_size);
        w->cursor += img->page_size;
        if (w->cursor >= w->end) {
            w->cursor = w->start;
        }
    }
}

void workload_random(MemImage *img, SupRng *rng, uint64_t pages,
                     unsigned zero_percent, PageSet *dirtied)
{
    uint64_t total = 0;

    for (size_t i = 0; i < img->nblocks; i++) {
        total += img->blocks[i].npages;
    }
    for (uint64_t n = 0; n < pages && total; n++) {
        uint64_t pick = sup_rng_below(rng, total);
        size_t block = 0;
        uint8_t *pg;
        uint32_t len;

        while (pick >= img->blocks[block].npages) {
            pick -= img->blocks[block].npages;
            block++;
        }
        pg = mem_image_page(img, block, pick);
        len = mem_image_page_len(img, block, pick);
        if (sup_rng_percent(rng, zero_percent)) {
            memset(pg, 0, len);
        } else {
            unsigned writes = 1 + (unsigned)sup_rng_below(rng, 16);

            for (unsigned k = 0; k < writes; k++) {
                pg[sup_rng_below(rng, len)] = (uint8_t)sup_rng_next(rng);
            }
            pg[0] = (uint8_t)(1 + sup_rng_below(rng, 255));
        }
        mark(dirtied, block, pick);
    }
}

void workload_fill_page(MemImage *img, SupRng *rng, size_t block, uint64_t page,
                        PageSet *dirtied)
{
    uint8_t *pg = mem_image_page(img, block, page);
    uint32_t len = mem_image_page_len(img, block, page);

    for (uint32_t i = 0; i < len; i++) {
        pg[i] = (uint8_t)sup_rng_next(rng);
    }
    pg[0] = (uint8_t)(1 + sup_rng_below(rng, 255));
    mark(dirtied, block, page);
}

void workload_last_pages(MemImage *img, SupRng *rng, PageSet *dirtied)
{
    for (size_t b = 0; b < img->nblocks; b++) {
        if (img->blocks[b].npages) {
            workload_fill_page(img, rng, b, img->blocks[b].npages - 1, dirtied);
        }
    }
}

static bool page_nonzero(const MemImage *img, size_t block, uint64_t page)
{
    const uint8_t *pg = mem_image_page(img, block, page);
    uint32_t len = mem_image_page_len(img, block, page);

    for (uint32_t i = 0; i < len; i++) {
        if (pg[i]) {
            return true;
        }
    }
    return false;
}

uint64_t workload_zero_nonzero(MemImage *img, SupRng *rng, uint64_t pages,
                               PageSet *dirtied)
{
    uint64_t left = 0;
    uint64_t done = 0;

    for (size_t b = 0; b < img->nblocks; b++) {
        for (uint64_t p = 0; p < img->blocks[b].npages; p++) {
            left += page_nonzero(img, b, p);
        }
    }
    /* Selection sampling: each non-zero page in turn, in order. */
    for (size_t b = 0; b < img->nblocks && done < pages; b++) {
        for (uint64_t p = 0; p < img->blocks[b].npages && done < pages; p++) {
            if (!page_nonzero(img, b, p)) {
                continue;
            }
            if (sup_rng_below(rng, left) < pages - done) {
                memset(mem_image_page(img, b, p), 0,
                       mem_image_page_len(img, b, p));
                mark(dirtied, b, p);
                done++;
            }
            left--;
        }
    }
    return done;
}

void workload_sequential_init(WorkloadSequential *w, size_t block,
                              uint64_t seed)
{
    w->block = block;
    w->cursor = 0;
    sup_rng_seed(&w->rng, seed);
}

void workload_sequential_run(WorkloadSequential *w, MemImage *img,
                             uint64_t bytes, PageSet *dirtied)
{
    MemBlock *b = &img->blocks[w->block];

    if (b->size == 0) {
        return;
    }
    for (uint64_t i = 0; i < bytes; i++) {
        if (w->cursor >= b->size) {
            w->cursor = 0;
        }
        b->data[w->cursor] = (uint8_t)sup_rng_next(&w->rng);
        mark(dirtied, w->block, w->cursor / img->page_size);
        w->cursor++;
    }
}
