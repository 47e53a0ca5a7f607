/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Memory oracles: what a correct secondary's memory must look like.
 */
#ifndef MFCOLO_SUPPORT_ORACLE_H
#define MFCOLO_SUPPORT_ORACLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "image.h"

/*
 * QEMU's check_guests_ram rule over the pages of [start, end) of @mem:
 * walking up, every page's first byte equals the previous one, except at
 * most once where it is one lower ((b + 1) % 256 == previous: the point
 * where the incrementing guest stopped).  On failure fills @bad_offset
 * (may be NULL) with the offset of the first bad page and @why (may be
 * NULL) with a message naming the offset and the bytes.
 */
bool oracle_check_guests_ram(const uint8_t *mem, uint64_t start, uint64_t end,
                             uint32_t page_size, uint64_t *bad_offset,
                             char *why, size_t why_len);

typedef struct OracleDiff {
    bool layout;     /* layouts differ (count, names, sizes, page) */
    size_t block;    /* first differing block */
    uint64_t offset; /* first differing byte in it */
    uint8_t want, got;
    char msg[256]; /* "block pc.ram offset 0x1000: want 0x01 got 0x00" */
} OracleDiff;

/* @got equals @want byte for byte?  Else @diff (may be NULL) says where. */
bool oracle_image_equal(const MemImage *want, const MemImage *got,
                        OracleDiff *diff);

/*
 * Bytes [@base, @base + @len) of block @block read back from a real
 * destination (@got) against the expected bytes (@want).  On a
 * difference @diff (may be NULL; .block stays 0) gets the first differing
 * byte and the message
 *   "block NAME page P (offset 0xOFF): first difference at byte 0xB of
 *    the page: expected 0xWW, got 0xGG"
 * with P the page index in the block and 0xOFF the page's offset.
 */
bool oracle_block_range_equal(const char *block, uint64_t base,
                              const uint8_t *want, const uint8_t *got,
                              size_t len, uint32_t page_size, OracleDiff *diff);

/* Compare the blocks of @got with per-block SHA-256 digests (in block
 * order, as PrimaryStage.digest); -1 if all match, else the first
 * mismatching block index. */
long oracle_image_digests(const MemImage *got, const uint8_t (*digest)[32]);

/* SHA-256 hex of @len bytes (compare with expected-ramblocks.json). */
void oracle_sha256_hex(const void *data, size_t len, char hex[65]);

#endif /* MFCOLO_SUPPORT_ORACLE_H */
