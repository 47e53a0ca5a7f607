/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The "ram" section's records (QEMU ram.c ram_load_precopy): MEM_SIZE
 * block list, ZERO and PAGE (with or without CONTINUE), EOS, MULTIFD_FLUSH;
 * then the section footer.  Every page is placed by colo
 * (colo_place_main_page: guest memory and/or the COLO cache by phase,
 * the zero-page rule, received and dirty bits); COLO off is a NULL
 * ColoState.
 */

#include "base/be.h"
#include "base/plant.h"
#include "incoming/incoming-int.h"
#include "ram/errors.h"
#include "wire/errors.h"

bool in_section_header(Incoming *in, uint8_t type, uint64_t start,
                       WireVmSectionHdr *hdr, uint8_t *raw, size_t *rawlen,
                       MfError *err)
{
    size_t avail = 1;
    size_t need;

    raw[0] = type;
    for (;;) {
        need = wire_vm_section_hdr_need(raw, avail);
        if (need <= avail) {
            break;
        }
        if (need > WIRE_VM_SECTION_HDR_MAX) {
            /* Cannot happen for START/PART/END/FULL; defensive. */
            mf_error_set(err, MF_ERR_INVALID_ARG, start,
                         "section header of %zu bytes", need);
            return in_fail_at(in, err, 0);
        }
        if (!in_read(in, raw + avail, need - avail, "section header", start,
                     err)) {
            return false;
        }
        avail = need;
    }
    if (!wire_vm_section_hdr_decode(raw, avail, hdr, rawlen, err)) {
        return in_fail_at(in, err, start);
    }
    return true;
}

static bool in_sync(Incoming *in, MfError *err)
{
    if (!in->cfg.multifd) {
        return true; /* QEMU: multifd_recv_sync_main is a no-op */
    }
    if (!recv_engine_sync(in->cfg.multifd, err)) {
        return false;
    }
    in->stats.syncs++;
    in->cp.syncs++;
    return true;
}

static bool in_mem_size(Incoming *in, InRamContext ctx, uint64_t total,
                        uint64_t start, MfError *err)
{
    uint64_t left = total;
    char name[WIRE_IDSTR_SIZE];
    uint64_t name_off, len_off, length;
    uint8_t nlen;
    RamBlock *b;

    if (ctx != IN_RAM_SECTION_START || in->mem_size_seen) {
        mf_error_set(err, INCOMING_ERR_MEM_SIZE, start,
                     "MEM_SIZE block list %s",
                     in->mem_size_seen ? "received twice"
                                       : "outside the \"ram\" SECTION_START");
        return in_fail_at(in, err, 0);
    }
    in->mem_size_seen = true;
    if (in->cfg.create_blocks && total > in->cfg.max_ram) {
        mf_error_set(err, INCOMING_ERR_RAM_TOO_LARGE, start,
                     "MEM_SIZE total %llu bytes above the limit %llu",
                     (unsigned long long)total,
                     (unsigned long long)in->cfg.max_ram);
        return in_fail_at(in, err, 0);
    }
    while (left > 0) {
        name_off = in_offset(in);
        if (!in_read_u8(in, &nlen, "MEM_SIZE block name", name_off, err) ||
            !in_read(in, name, nlen, "MEM_SIZE block name", name_off, err)) {
            return false;
        }
        name[nlen] = '\0';
        len_off = in_offset(in);
        if (!in_read_be64(in, &length, "MEM_SIZE block length", name_off,
                          err)) {
            return false;
        }
        if (length > left) {
            mf_error_set(err, INCOMING_ERR_MEM_SIZE, len_off,
                         "MEM_SIZE block \"%s\" length %llu exceeds the "
                         "%llu bytes left of the total %llu",
                         name, (unsigned long long)length,
                         (unsigned long long)left, (unsigned long long)total);
            return in_fail_at(in, err, 0);
        }
        if (in->cfg.create_blocks) {
            if (in->cfg.ram->nblocks >= INCOMING_MAX_BLOCKS) {
                mf_error_set(err, INCOMING_ERR_MEM_SIZE, name_off,
                             "MEM_SIZE block \"%s\": more than %u blocks "
                             "in the list (limit %u)",
                             name, (unsigned)in->cfg.ram->nblocks,
                             INCOMING_MAX_BLOCKS);
                return in_fail_at(in, err, 0);
            }
            if (!ram_table_add(in->cfg.ram, name, length, NULL, err)) {
                return in_fail_at(in, err, name_off);
            }
        } else {
            b = ram_table_lookup(in->cfg.ram, name, err);
            if (!b) {
                return in_fail_at(in, err, name_off);
            }
            if (b->used_length != length) {
                mf_error_set(err, INCOMING_ERR_BLOCK_LENGTH, len_off,
                             "MEM_SIZE block \"%s\" length %llu, local "
                             "used_length %llu",
                             name, (unsigned long long)length,
                             (unsigned long long)b->used_length);
                return in_fail_at(in, err, 0);
            }
        }
        /* length > 0 here: ram_table_add refuses 0 (RAM_ERR_BLOCK_LENGTH)
         * and no live block has used_length 0, so the loop ends. */
        left -= length;
    }
    return true;
}

/* The block a ZERO/PAGE record names (or CONTINUE). */
static RamBlock *in_record_block(Incoming *in, uint32_t flags, uint64_t start,
                                 MfError *err)
{
    char name[WIRE_IDSTR_SIZE];
    uint64_t name_off;
    uint8_t nlen;
    RamBlock *b;

    if (flags & WIRE_RAM_CONTINUE) {
        if (!in->cur_block && !MF_PLANTED(INCOMING_CONTINUE_NO_BLOCK)) {
            mf_error_set(err, INCOMING_ERR_NO_CURRENT_BLOCK, start,
                         "RAM record with CONTINUE but no block was named "
                         "before");
            in_fail_at(in, err, 0);
            return NULL;
        }
        return in->cur_block;
    }
    name_off = in_offset(in);
    if (!in_read_u8(in, &nlen, "RAM record block name", start, err) ||
        !in_read(in, name, nlen, "RAM record block name", start, err)) {
        return NULL;
    }
    name[nlen] = '\0';
    b = ram_table_lookup(in->cfg.ram, name, err);
    if (!b) {
        in_fail_at(in, err, name_off);
        return NULL;
    }
    in->cur_block = b;
    return b;
}

static bool in_page_record(Incoming *in, uint64_t addr, uint32_t flags,
                           uint64_t start, MfError *err)
{
    RamBlock *b;
    uint8_t fill;

    b = in_record_block(in, flags, start, err);
    if (!b) {
        return false;
    }
    if (!ram_block_check_offset(b, addr, err)) {
        return in_fail_at(in, err, start);
    }
    if (flags & WIRE_RAM_ZERO) {
        uint64_t fill_off = in_offset(in);

        if (!in_read_u8(in, &fill, "ZERO record fill byte", start, err)) {
            return false;
        }
        if (!wire_ram_zero_fill_check(fill, err)) {
            return in_fail_at(in, err, fill_off);
        }
        if (!colo_place_main_page(in->cfg.colo, b, addr, NULL, 0, err)) {
            return in_fail_at(in, err, start);
        }
        in->stats.zero_pages++;
        in->cp.zero_pages++;
    } else {
        if (!in_read(in, in->page, in->page_size, "PAGE record data", start,
                     err)) {
            return false;
        }
        if (!colo_place_main_page(in->cfg.colo, b, addr, in->page, 0, err)) {
            return in_fail_at(in, err, start);
        }
        in->stats.pages++;
        in->cp.pages++;
    }
    return true;
}

bool in_ram_section(Incoming *in, InRamContext ctx, uint32_t sid, MfError *err)
{
    uint8_t footer[WIRE_VM_FOOTER_SIZE];
    uint64_t start, word, addr;
    uint32_t flags;

    for (;;) {
        start = in_offset(in);
        if (!in_read_be64(in, &word, "RAM record", start, err)) {
            return false;
        }
        if (!wire_ram_record_decode(word, in->page_size, &addr, &flags, err)) {
            return in_fail_at(in, err, start);
        }
        if (flags & WIRE_RAM_MEM_SIZE) {
            if (!in_mem_size(in, ctx, addr, start, err)) {
                return false;
            }
        } else if (flags & (WIRE_RAM_ZERO | WIRE_RAM_PAGE)) {
            if (!in_page_record(in, addr, flags, start, err)) {
                return false;
            }
        } else if (flags & WIRE_RAM_MULTIFD_FLUSH) {
            if (!in->sync_decided) {
                in->flush_seen = true;
            }
            if (!in_sync(in, err)) {
                return false;
            }
        } else { /* EOS */
            if (!in->sync_decided) {
                in->sync_decided = true;
                if (in->sync_mode == INCOMING_SYNC_AUTO) {
                    in->sync_mode = in->flush_seen ? INCOMING_SYNC_ROUND
                                                   : INCOMING_SYNC_SECTION;
                }
                in->stats.sync_mode = in->sync_mode;
            }
            if (in->sync_mode == INCOMING_SYNC_SECTION && !in_sync(in, err)) {
                return false;
            }
            break;
        }
    }
    start = in_offset(in);
    if (!in_read(in, footer, sizeof(footer), "section footer", start, err)) {
        return false;
    }
    if (!wire_vm_footer_decode(footer, sid, err)) {
        return in_fail_at(in, err, start);
    }
    return true;
}
