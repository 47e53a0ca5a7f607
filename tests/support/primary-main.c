/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The fake primary's main channel: QEMU's savevm stream pieces (header,
 * CONFIGURATION, COMMAND, "ram" sections and RAM records, footers, EOF,
 * VMDESCRIPTION) and the COLO messages, with the main-channel faults.
 */
#include "primary-int.h"

#include <stdio.h>
#include <string.h>

#include "base/be.h"

#define RAM_SECTION_VERSION 4 /* QEMU's "ram" SaveVMHandlers version */

void pm_put_header(Primary *p)
{
    uint8_t hdr[WIRE_VM_HEADER_SIZE];

    wire_vm_header_encode(hdr);
    sup_buf_append(primary_main_buf(p), hdr, sizeof(hdr));
}

void pm_put_configuration(Primary *p)
{
    SupBuf *b = primary_main_buf(p);
    size_t len = strlen(p->machine);

    sup_buf_put_u8(b, WIRE_VM_CONFIGURATION);
    sup_buf_put_be32(b, (uint32_t)len);
    sup_buf_append(b, p->machine, len);
}

void pm_put_enable_colo(Primary *p)
{
    SupBuf *b = primary_main_buf(p);

    sup_buf_put_u8(b, WIRE_VM_COMMAND);
    sup_buf_put_be16(b, WIRE_CMD_ENABLE_COLO);
    sup_buf_put_be16(b, 0);
}

void pm_put_section_start(Primary *p)
{
    SupBuf *b = primary_main_buf(p);

    sup_buf_put_u8(b, WIRE_VM_SECTION_START);
    sup_buf_put_be32(b, p->cfg.ram_section_id);
    sup_buf_put_u8(b, 3);
    sup_buf_append(b, "ram", 3);
    sup_buf_put_be32(b, 0);
    sup_buf_put_be32(b, RAM_SECTION_VERSION);
}

void pm_put_section_part(Primary *p, uint8_t type)
{
    SupBuf *b = primary_main_buf(p);

    sup_buf_put_u8(b, type);
    sup_buf_put_be32(b, p->cfg.ram_section_id);
}

void pm_put_footer(Primary *p, uint32_t section_id)
{
    SupBuf *b = primary_main_buf(p);

    sup_buf_put_u8(b, WIRE_VM_SECTION_FOOTER);
    sup_buf_put_be32(b, section_id);
}

void pm_put_mem_size(Primary *p)
{
    SupBuf *b = primary_main_buf(p);

    sup_buf_put_be64(
        b, wire_ram_record_encode(mem_image_total(p->mem), WIRE_RAM_MEM_SIZE));
    for (size_t i = 0; i < p->mem->nblocks; i++) {
        const MemBlock *blk = &p->mem->blocks[i];
        size_t len = strlen(blk->name);

        sup_buf_put_u8(b, (uint8_t)len);
        sup_buf_append(b, blk->name, len);
        sup_buf_put_be64(b, blk->size);
    }
}

void pm_put_flag(Primary *p, uint32_t flag)
{
    sup_buf_put_be64(primary_main_buf(p), wire_ram_record_encode(0, flag));
}

/*
 * One PAGE or ZERO record (QEMU ram.c save_page_header + body): be64
 * offset|flags, the block name unless CONTINUE, then one fill byte (ZERO)
 * or one page of data (PAGE; a partial last page is zero-padded).
 */
void pm_put_ram_page(Primary *p, size_t block, uint64_t page, bool zero)
{
    SupBuf *b = primary_main_buf(p);
    const MemBlock *blk = &p->mem->blocks[block];
    uint64_t offset = page * p->cfg.page_size;
    uint32_t flags = zero ? WIRE_RAM_ZERO : WIRE_RAM_PAGE;
    uint64_t nth = p->ram_records++;
    PrimaryFaultSlot *f_flags =
        primary_fault_find(p, PF_RAM_RECORD_FLAGS, 0, nth);
    PrimaryFaultSlot *f_name =
        primary_fault_find(p, PF_RAM_RECORD_NAME, 0, nth);
    PrimaryFaultSlot *f_off =
        primary_fault_find(p, PF_RAM_RECORD_OFFSET, 0, nth);
    const char *name = blk->name;
    bool cont = p->last_block == (long)block;
    uint64_t word;
    uint32_t len;

    if (f_name) {
        name = f_name->name;
        cont = false;
    }
    if (f_off) {
        offset = f_off->f.value;
    }
    word = offset | flags | (cont ? WIRE_RAM_CONTINUE : 0);
    if (f_flags) {
        word = (word & ~(uint64_t)(p->cfg.page_size - 1)) |
               (f_flags->f.value & (p->cfg.page_size - 1));
    }
    sup_buf_put_be64(b, word);
    if (!cont) {
        size_t nlen = strlen(name);

        sup_buf_put_u8(b, (uint8_t)nlen);
        sup_buf_append(b, name, nlen);
    }
    p->last_block = (long)block;
    if (zero) {
        sup_buf_put_u8(b, 0);
        return;
    }
    len = mem_image_page_len(p->mem, block, page);
    sup_buf_append(b, mem_image_page(p->mem, block, page), len);
    if (len < p->cfg.page_size) {
        sup_buf_grow(b, p->cfg.page_size - len);
    }
}

/* A device section QEMU has and the receiver does not model ("timer"). */
void pm_put_device_section(Primary *p)
{
    SupBuf *b = primary_main_buf(p);
    static const uint8_t timer_state[24] = {
        0, 0,    0,    0,    0, 0, 0, 0, 0, 0, 0, 0,
        0, 0x0f, 0x42, 0x40, 0, 0, 0, 0, 0, 0, 0, 1,
    };

    sup_buf_put_u8(b, WIRE_VM_SECTION_FULL);
    sup_buf_put_be32(b, 0);
    sup_buf_put_u8(b, 5);
    sup_buf_append(b, "timer", 5);
    sup_buf_put_be32(b, 0);
    sup_buf_put_be32(b, 2);
    sup_buf_append(b, timer_state, sizeof(timer_state));
    pm_put_footer(p, 0);
}

void pm_put_eof(Primary *p)
{
    sup_buf_put_u8(primary_main_buf(p), WIRE_VM_EOF);
}

void pm_put_vmdesc(Primary *p)
{
    SupBuf *b = primary_main_buf(p);
    char json[160];
    int len = snprintf(json, sizeof(json),
                       "{\"page_size\": %u, \"devices\": [{\"name\": "
                       "\"timer\", \"instance_id\": 0, \"vmsd_name\": "
                       "\"timer\", \"version\": 2}]}",
                       p->cfg.page_size);

    sup_buf_put_u8(b, WIRE_VM_VMDESCRIPTION);
    sup_buf_put_be32(b, (uint32_t)len);
    sup_buf_append(b, json, (size_t)len);
}

void pm_put_colo_message(Primary *p, uint32_t msg)
{
    for (size_t i = 0; i < p->nfaults; i++) {
        const PrimaryFault *f = &p->faults[i].f;

        if (f->kind == PF_COLO_MESSAGE && f->stage == p->stage &&
            f->index == msg) {
            msg = (uint32_t)f->value;
            break;
        }
    }
    sup_buf_put_be32(primary_main_buf(p), msg);
}

/* VMSTATE_SIZE, be64 N, then N bytes of opaque device state. */
void pm_put_vmstate(Primary *p)
{
    SupBuf *b = primary_main_buf(p);
    uint64_t n = p->cfg.device_state_size;
    uint64_t announced = n;
    SupRng r;
    uint8_t *blob;

    for (size_t i = 0; i < p->nfaults; i++) {
        const PrimaryFault *f = &p->faults[i].f;

        if (f->kind == PF_VMSTATE_SIZE_LIE && f->stage == p->stage) {
            announced = n + f->value;
        }
    }
    pm_put_colo_message(p, WIRE_COLO_VMSTATE_SIZE);
    sup_buf_put_be64(b, announced);
    primary_mark_add(p, PM_DEVICE_STATE, PRIMARY_MAIN_CONN);
    blob = sup_buf_grow(b, n);
    sup_rng_seed(&r, p->cfg.seed * 1000003u + p->stage);
    for (uint64_t i = 0; i < n; i++) {
        blob[i] = (uint8_t)sup_rng_next(&r);
    }
    if (n) {
        blob[n - 1] = WIRE_VM_EOF; /* QEMU's blob ends with QEMU_VM_EOF */
    }
}
