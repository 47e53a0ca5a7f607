/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Hand-built main-channel byte sequences for the incoming unit tests:
 * each helper appends one item in QEMU's encoding.  Kept next to the
 * tests on purpose: they spell the bytes out, independently of the fake
 * primary, so a bug shared by the primary and the parser cannot hide.
 */
#ifndef MFCOLO_TESTS_INCOMING_STREAM_BUILD_H
#define MFCOLO_TESTS_INCOMING_STREAM_BUILD_H

#include <string.h>

#include "buf.h"
#include "wire/stream.h"

#define SB_PAGE 4096u
#define SB_RAM_SID 2u

static inline void sb_header(SupBuf *b)
{
    sup_buf_put_be32(b, WIRE_VM_FILE_MAGIC);
    sup_buf_put_be32(b, WIRE_VM_FILE_VERSION);
}

static inline void sb_config(SupBuf *b, const char *machine)
{
    sup_buf_put_u8(b, WIRE_VM_CONFIGURATION);
    sup_buf_put_be32(b, (uint32_t)strlen(machine));
    sup_buf_append(b, machine, strlen(machine));
}

static inline void sb_command(SupBuf *b, uint16_t cmd, uint16_t len,
                              const void *data)
{
    sup_buf_put_u8(b, WIRE_VM_COMMAND);
    sup_buf_put_be16(b, cmd);
    sup_buf_put_be16(b, len);
    if (len) {
        sup_buf_append(b, data, len);
    }
}

static inline void sb_section_start(SupBuf *b, uint8_t type, uint32_t sid,
                                    const char *name, uint32_t inst,
                                    uint32_t ver)
{
    sup_buf_put_u8(b, type);
    sup_buf_put_be32(b, sid);
    sup_buf_put_u8(b, (uint8_t)strlen(name));
    sup_buf_append(b, name, strlen(name));
    sup_buf_put_be32(b, inst);
    sup_buf_put_be32(b, ver);
}

static inline void sb_section_part(SupBuf *b, uint8_t type, uint32_t sid)
{
    sup_buf_put_u8(b, type);
    sup_buf_put_be32(b, sid);
}

static inline void sb_footer(SupBuf *b, uint32_t sid)
{
    sup_buf_put_u8(b, WIRE_VM_SECTION_FOOTER);
    sup_buf_put_be32(b, sid);
}

static inline void sb_record(SupBuf *b, uint64_t addr, uint32_t flags)
{
    sup_buf_put_be64(b, addr | flags);
}

static inline void sb_name(SupBuf *b, const char *name)
{
    sup_buf_put_u8(b, (uint8_t)strlen(name));
    sup_buf_append(b, name, strlen(name));
}

/* PAGE record; @name NULL = CONTINUE.  Data: @fill repeated. */
static inline void sb_page(SupBuf *b, const char *name, uint64_t addr,
                           uint8_t fill)
{
    sb_record(b, addr, WIRE_RAM_PAGE | (name ? 0 : WIRE_RAM_CONTINUE));
    if (name) {
        sb_name(b, name);
    }
    memset(sup_buf_grow(b, SB_PAGE), fill, SB_PAGE);
}

/* ZERO record; @name NULL = CONTINUE. */
static inline void sb_zero(SupBuf *b, const char *name, uint64_t addr,
                           uint8_t fill)
{
    sb_record(b, addr, WIRE_RAM_ZERO | (name ? 0 : WIRE_RAM_CONTINUE));
    if (name) {
        sb_name(b, name);
    }
    sup_buf_put_u8(b, fill);
}

static inline void sb_eos(SupBuf *b)
{
    sb_record(b, 0, WIRE_RAM_EOS);
}

/* The test machine: "pc.ram" 64 KiB and "small" 4 KiB. */
#define SB_RAM_LEN (64u * 1024)
#define SB_SMALL_LEN 4096u

static inline void sb_mem_size(SupBuf *b)
{
    sb_record(b, SB_RAM_LEN + SB_SMALL_LEN, WIRE_RAM_MEM_SIZE);
    sb_name(b, "pc.ram");
    sup_buf_put_be64(b, SB_RAM_LEN);
    sb_name(b, "small");
    sup_buf_put_be64(b, SB_SMALL_LEN);
}

/* QEVM header, CONFIGURATION, [ENABLE_COLO], ram START + MEM_SIZE. */
static inline void sb_begin(SupBuf *b, bool colo)
{
    sb_header(b);
    sb_config(b, "pc-i440fx-7.2");
    if (colo) {
        sb_command(b, WIRE_CMD_ENABLE_COLO, 0, NULL);
    }
    sb_section_start(b, WIRE_VM_SECTION_START, SB_RAM_SID, "ram", 0, 4);
    sb_mem_size(b);
    sb_eos(b);
    sb_footer(b, SB_RAM_SID);
}

static inline void sb_vmdesc(SupBuf *b)
{
    static const char json[] = "{\"page_size\": 4096, \"devices\": []}";

    sup_buf_put_u8(b, WIRE_VM_VMDESCRIPTION);
    sup_buf_put_be32(b, sizeof(json) - 1);
    sup_buf_append(b, json, sizeof(json) - 1);
}

/* A device section ("timer", 3 opaque bytes), EOF, VM description. */
static inline void sb_devices_end(SupBuf *b)
{
    static const uint8_t state[3] = { 0x7e, 0x00, 0x06 }; /* decoys */

    sb_section_start(b, WIRE_VM_SECTION_FULL, 0, "timer", 0, 2);
    sup_buf_append(b, state, sizeof(state));
    sb_footer(b, 0);
    sup_buf_put_u8(b, WIRE_VM_EOF);
    sb_vmdesc(b);
}

/* The "ram" section's END part, empty: EOS and footer. */
static inline void sb_ram_end(SupBuf *b)
{
    sb_section_part(b, WIRE_VM_SECTION_END, SB_RAM_SID);
    sb_eos(b);
    sb_footer(b, SB_RAM_SID);
}

/* ram END, then the device state and the end. */
static inline void sb_end(SupBuf *b)
{
    sb_ram_end(b);
    sb_devices_end(b);
}

static inline void sb_colo(SupBuf *b, uint32_t msg)
{
    sup_buf_put_be32(b, msg);
}

/* REQUEST, SEND, the ram END section of @nrec records built by the caller
 * is between sb_cp_begin and sb_cp_end. */
static inline void sb_cp_begin(SupBuf *b)
{
    sb_colo(b, WIRE_COLO_CHECKPOINT_REQUEST);
    sb_colo(b, WIRE_COLO_VMSTATE_SEND);
    sb_section_part(b, WIRE_VM_SECTION_END, SB_RAM_SID);
}

static inline void sb_cp_end(SupBuf *b, uint32_t blob_len)
{
    sb_eos(b);
    sb_footer(b, SB_RAM_SID);
    sup_buf_put_u8(b, WIRE_VM_EOF);
    sb_colo(b, WIRE_COLO_VMSTATE_SIZE);
    sup_buf_put_be64(b, blob_len);
    memset(sup_buf_grow(b, blob_len), 0xd5, blob_len);
}

#endif /* MFCOLO_TESTS_INCOMING_STREAM_BUILD_H */
