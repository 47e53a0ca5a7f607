/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Per-page rules of a RAM block: offset validation, received bitmap. */
#include "ram/ram.h"

#include <inttypes.h>

#include "base/bitmap.h"
#include "ram/errors.h"

bool ram_block_check_offset(const RamBlock *b, uint64_t offset, MfError *err)
{
    /*
     * QEMU tests offset > used_length - page_size in unsigned arithmetic,
     * which wraps for a block shorter than a page
     * (docs/qemu-reference.md#unchecked): reject that
     * block first, then the subtraction cannot wrap and no sum can
     * overflow.
     */
    if (b->used_length < b->page_size) {
        return mf_error_set(err, RAM_ERR_BLOCK_TOO_SMALL, 0,
                            "RAM block \"%.64s\": used_length %" PRIu64
                            " is smaller than page_size %" PRIu32
                            " (offset %" PRIu64 ")",
                            b->name, b->used_length, b->page_size, offset);
    }
    if (offset > b->used_length - b->page_size) {
        return mf_error_set(err, RAM_ERR_OFFSET_RANGE, 0,
                            "RAM block \"%.64s\": offset %" PRIu64
                            " + page_size %" PRIu32
                            " exceeds used_length %" PRIu64,
                            b->name, offset, b->page_size, b->used_length);
    }
    if (offset % b->page_size != 0) {
        return mf_error_set(err, RAM_ERR_OFFSET_UNALIGNED, 0,
                            "RAM block \"%.64s\": offset %" PRIu64
                            " is not a multiple of page_size %" PRIu32,
                            b->name, offset, b->page_size);
    }
    return true;
}

void ram_block_set_received(RamBlock *b, uint64_t offset)
{
    mf_bitmap_set_atomic(b->received, ram_block_page_index(b, offset));
}

bool ram_block_is_received(const RamBlock *b, uint64_t offset)
{
    uint64_t bit = ram_block_page_index(b, offset);
    unsigned long word;

    word =
        __atomic_load_n(&b->received[bit / MF_BITS_PER_LONG], __ATOMIC_ACQUIRE);
    return (word >> (bit % MF_BITS_PER_LONG)) & 1;
}

bool ram_block_test_and_set_received(RamBlock *b, uint64_t offset)
{
    return mf_bitmap_test_and_set_atomic(b->received,
                                         ram_block_page_index(b, offset));
}
