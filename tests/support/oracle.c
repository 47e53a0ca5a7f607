/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Memory oracles: QEMU's guest-RAM rule, image compare, digests. */
#include "oracle.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "sha256.h"

bool oracle_check_guests_ram(const uint8_t *mem, uint64_t start, uint64_t end,
                             uint32_t page_size, uint64_t *bad_offset,
                             char *why, size_t why_len)
{
    uint8_t last;
    bool hit_edge = false;

    if (start >= end) {
        return true;
    }
    last = mem[start];
    for (uint64_t off = start; off < end; off += page_size) {
        uint8_t b = mem[off];

        if (b == last) {
            continue;
        }
        if ((uint8_t)(b + 1) == last && !hit_edge) {
            hit_edge = true;
            last = b;
            continue;
        }
        if (bad_offset) {
            *bad_offset = off;
        }
        if (why && why_len) {
            snprintf(why, why_len,
                     "memory content inconsistency at 0x%" PRIx64
                     ": first byte 0x%02x, previous 0x%02x, "
                     "second step %s",
                     off, b, last,
                     hit_edge ? "(already had one)" : "(not one lower)");
        }
        return false;
    }
    return true;
}

bool oracle_image_equal(const MemImage *want, const MemImage *got,
                        OracleDiff *diff)
{
    OracleDiff d;

    memset(&d, 0, sizeof(d));
    if (!mem_image_same_layout(want, got)) {
        d.layout = true;
        snprintf(d.msg, sizeof(d.msg),
                 "layouts differ (%zu vs %zu blocks, "
                 "page %u vs %u)",
                 want->nblocks, got->nblocks, want->page_size, got->page_size);
        for (size_t i = 0; i < want->nblocks && i < got->nblocks; i++) {
            if (strcmp(want->blocks[i].name, got->blocks[i].name) ||
                want->blocks[i].size != got->blocks[i].size) {
                d.block = i;
                snprintf(d.msg, sizeof(d.msg),
                         "layouts differ at block %zu: "
                         "%.60s (%" PRIu64 " bytes) vs %.60s (%" PRIu64
                         " bytes)",
                         i, want->blocks[i].name, want->blocks[i].size,
                         got->blocks[i].name, got->blocks[i].size);
                break;
            }
        }
        if (diff) {
            *diff = d;
        }
        return false;
    }
    for (size_t i = 0; i < want->nblocks; i++) {
        const MemBlock *a = &want->blocks[i];
        const MemBlock *b = &got->blocks[i];

        if (memcmp(a->data, b->data, a->size) == 0) {
            continue;
        }
        for (uint64_t off = 0; off < a->size; off++) {
            if (a->data[off] != b->data[off]) {
                d.block = i;
                d.offset = off;
                d.want = a->data[off];
                d.got = b->data[off];
                snprintf(d.msg, sizeof(d.msg),
                         "block %.100s offset 0x%" PRIx64
                         ": want 0x%02x got 0x%02x",
                         a->name, off, d.want, d.got);
                break;
            }
        }
        if (diff) {
            *diff = d;
        }
        return false;
    }
    if (diff) {
        *diff = d;
    }
    return true;
}

bool oracle_block_range_equal(const char *block, uint64_t base,
                              const uint8_t *want, const uint8_t *got,
                              size_t len, uint32_t page_size, OracleDiff *diff)
{
    OracleDiff d;
    uint64_t off;
    uint64_t page;

    memset(&d, 0, sizeof(d));
    if (memcmp(want, got, len) == 0) {
        if (diff) {
            *diff = d;
        }
        return true;
    }
    for (off = 0; want[off] == got[off]; off++) {
        continue;
    }
    d.offset = base + off;
    d.want = want[off];
    d.got = got[off];
    page = d.offset / page_size;
    snprintf(d.msg, sizeof(d.msg),
             "block %.100s page %" PRIu64 " (offset 0x%" PRIx64
             "): first difference at byte 0x%" PRIx64
             " of the page: expected 0x%02x, got 0x%02x",
             block, page, page * page_size, d.offset - page * page_size, d.want,
             d.got);
    if (diff) {
        *diff = d;
    }
    return false;
}

long oracle_image_digests(const MemImage *got, const uint8_t (*digest)[32])
{
    for (size_t i = 0; i < got->nblocks; i++) {
        uint8_t d[SHA256_DIGEST_SIZE];

        sha256_digest(got->blocks[i].data, got->blocks[i].size, d);
        if (memcmp(d, digest[i], sizeof(d)) != 0) {
            return (long)i;
        }
    }
    return -1;
}

void oracle_sha256_hex(const void *data, size_t len, char hex[65])
{
    sha256_hex(data, len, SHA256_DIGEST_SIZE, hex);
}
