/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Memory images and page sets for test support. */
#include "image.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/bitmap.h"
#include "buf.h"

static void image_die(const char *msg, const char *name)
{
    fprintf(stderr, "mfcolo test support: %s%s%s\n", msg, name ? ": " : "",
            name ? name : "");
    abort();
}

MemImage *mem_image_new(uint32_t page_size)
{
    MemImage *img;

    if (page_size == 0 || (page_size & (page_size - 1)) != 0) {
        image_die("page size not a power of two", NULL);
    }
    img = sup_check_alloc(calloc(1, sizeof(*img)), "image");
    img->page_size = page_size;
    return img;
}

MemBlock *mem_image_add(MemImage *img, const char *name, uint64_t size)
{
    MemBlock *b;
    size_t len = strlen(name);

    if (len == 0 || len > MEM_BLOCK_NAME_MAX) {
        image_die("bad block name length", name);
    }
    if (mem_image_find(img, name) >= 0) {
        image_die("duplicate block", name);
    }
    img->blocks = sup_check_alloc(
        realloc(img->blocks, (img->nblocks + 1) * sizeof(*img->blocks)),
        "blocks");
    b = &img->blocks[img->nblocks++];
    memset(b, 0, sizeof(*b));
    memcpy(b->name, name, len + 1);
    b->size = size;
    b->npages = (size + img->page_size - 1) / img->page_size;
    b->data = sup_check_alloc(calloc(size ? size : 1, 1), "block data");
    return b;
}

long mem_image_find(const MemImage *img, const char *name)
{
    for (size_t i = 0; i < img->nblocks; i++) {
        if (strcmp(img->blocks[i].name, name) == 0) {
            return (long)i;
        }
    }
    return -1;
}

MemImage *mem_image_clone(const MemImage *img)
{
    MemImage *c = mem_image_new(img->page_size);

    for (size_t i = 0; i < img->nblocks; i++) {
        MemBlock *b =
            mem_image_add(c, img->blocks[i].name, img->blocks[i].size);

        memcpy(b->data, img->blocks[i].data, b->size);
    }
    return c;
}

bool mem_image_same_layout(const MemImage *a, const MemImage *b)
{
    if (a->page_size != b->page_size || a->nblocks != b->nblocks) {
        return false;
    }
    for (size_t i = 0; i < a->nblocks; i++) {
        if (strcmp(a->blocks[i].name, b->blocks[i].name) != 0 ||
            a->blocks[i].size != b->blocks[i].size) {
            return false;
        }
    }
    return true;
}

void mem_image_copy(MemImage *dst, const MemImage *src)
{
    if (!mem_image_same_layout(dst, src)) {
        image_die("copy between different layouts", NULL);
    }
    for (size_t i = 0; i < src->nblocks; i++) {
        memcpy(dst->blocks[i].data, src->blocks[i].data, src->blocks[i].size);
    }
}

uint8_t *mem_image_page(const MemImage *img, size_t block, uint64_t page)
{
    return img->blocks[block].data + page * img->page_size;
}

uint32_t mem_image_page_len(const MemImage *img, size_t block, uint64_t page)
{
    uint64_t left = img->blocks[block].size - page * img->page_size;

    return left < img->page_size ? (uint32_t)left : img->page_size;
}

uint64_t mem_image_total(const MemImage *img)
{
    uint64_t t = 0;

    for (size_t i = 0; i < img->nblocks; i++) {
        t += img->blocks[i].size;
    }
    return t;
}

void mem_image_free(MemImage *img)
{
    if (!img) {
        return;
    }
    for (size_t i = 0; i < img->nblocks; i++) {
        free(img->blocks[i].data);
    }
    free(img->blocks);
    free(img);
}

MemImage *mem_image_new_pc(uint64_t ram_size)
{
    MemImage *img = mem_image_new(4096);

    mem_image_add(img, "pc.ram", ram_size);
    mem_image_add(img, "0000:00:02.0/vga.vram", 16 * 1024 * 1024);
    mem_image_add(img, "/rom@etc/acpi/tables", 128 * 1024);
    mem_image_add(img, "pc.bios", 256 * 1024);
    mem_image_add(img, "pc.rom", 128 * 1024);
    mem_image_add(img, "0000:00:02.0/vga.rom", 64 * 1024);
    mem_image_add(img, "/rom@etc/table-loader", 4096);
    mem_image_add(img, "/rom@etc/acpi/rsdp", 4096);
    return img;
}

PageSet *page_set_new(const MemImage *img)
{
    PageSet *s = sup_check_alloc(calloc(1, sizeof(*s)), "page set");

    s->nblocks = img->nblocks;
    s->npages =
        sup_check_alloc(calloc(img->nblocks + 1, sizeof(uint64_t)), "page set");
    s->bits =
        sup_check_alloc(calloc(img->nblocks + 1, sizeof(*s->bits)), "page set");
    for (size_t i = 0; i < img->nblocks; i++) {
        s->npages[i] = img->blocks[i].npages;
        s->bits[i] = sup_check_alloc(
            mf_bitmap_new("support/page-set", s->npages[i]), "page set bits");
    }
    return s;
}

static void page_set_check(const PageSet *s, size_t block, uint64_t page)
{
    if (block >= s->nblocks || page >= s->npages[block]) {
        image_die("page set index out of range", NULL);
    }
}

void page_set_add(PageSet *s, size_t block, uint64_t page)
{
    page_set_check(s, block, page);
    mf_bitmap_set(s->bits[block], page);
}

void page_set_remove(PageSet *s, size_t block, uint64_t page)
{
    page_set_check(s, block, page);
    mf_bitmap_clear(s->bits[block], page);
}

bool page_set_test(const PageSet *s, size_t block, uint64_t page)
{
    page_set_check(s, block, page);
    return mf_bitmap_test(s->bits[block], page);
}

void page_set_add_range(PageSet *s, size_t block, uint64_t first, uint64_t n)
{
    for (uint64_t p = first; p < first + n && p < s->npages[block]; p++) {
        mf_bitmap_set(s->bits[block], p);
    }
}

void page_set_add_all(PageSet *s)
{
    for (size_t i = 0; i < s->nblocks; i++) {
        page_set_add_range(s, i, 0, s->npages[i]);
    }
}

void page_set_union(PageSet *dst, const PageSet *src)
{
    if (dst->nblocks != src->nblocks) {
        image_die("page set union of different shapes", NULL);
    }
    for (size_t i = 0; i < src->nblocks; i++) {
        uint64_t p = 0;

        if (dst->npages[i] != src->npages[i]) {
            image_die("page set union of different shapes", NULL);
        }
        while ((p = mf_bitmap_find_next(src->bits[i], src->npages[i], p)) <
               src->npages[i]) {
            mf_bitmap_set(dst->bits[i], p);
            p++;
        }
    }
}

void page_set_clear(PageSet *s)
{
    for (size_t i = 0; i < s->nblocks; i++) {
        mf_bitmap_zero(s->bits[i], s->npages[i]);
    }
}

uint64_t page_set_count(const PageSet *s)
{
    uint64_t n = 0;

    for (size_t i = 0; i < s->nblocks; i++) {
        n += mf_bitmap_count(s->bits[i], s->npages[i]);
    }
    return n;
}

bool page_set_next(const PageSet *s, size_t *block, uint64_t *page)
{
    for (; *block < s->nblocks; (*block)++, *page = 0) {
        uint64_t p =
            mf_bitmap_find_next(s->bits[*block], s->npages[*block], *page);

        if (p < s->npages[*block]) {
            *page = p;
            return true;
        }
    }
    return false;
}

void page_set_free(PageSet *s)
{
    if (!s) {
        return;
    }
    for (size_t i = 0; i < s->nblocks; i++) {
        mf_bitmap_free(s->bits[i]);
    }
    free(s->bits);
    free(s->npages);
    free(s);
}
