/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Main-channel records this project models (QEMU migration/savevm.c,
 * migration/ram.c, migration/colo.c, qapi COLOMessage).  Pure functions
 * over byte buffers; the incoming layer reads the bytes and calls these
 * to decode and check them.  Error offsets are relative to the buffer.
 *
 * Layout summary (all big-endian):
 *   file header     be32 0x5145564d "QEVM", be32 3
 *   section start   u8 0x01|0x04, be32 section_id, u8 len, idstr[len],
 *                   be32 instance_id, be32 version_id
 *   section part    u8 0x02|0x03, be32 section_id
 *   footer          u8 0x7e, be32 section_id
 *   configuration   u8 0x07, be32 len, name[len]
 *   command         u8 0x08, be16 cmd, be16 len, data[len]
 *   eof             u8 0x00
 *   vm description  u8 0x06, be32 len, json[len]
 *   RAM record      be64 addr|flags; flags are the bits below page size
 *   COLO message    be32 value (0..6); VMSTATE_SIZE is followed by be64
 */
#ifndef MFCOLO_WIRE_STREAM_H
#define MFCOLO_WIRE_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

#define WIRE_VM_FILE_MAGIC 0x5145564du
#define WIRE_VM_FILE_VERSION 3u
#define WIRE_VM_HEADER_SIZE 8

typedef enum WireVmSection {
    WIRE_VM_EOF = 0x00,
    WIRE_VM_SECTION_START = 0x01,
    WIRE_VM_SECTION_PART = 0x02,
    WIRE_VM_SECTION_END = 0x03,
    WIRE_VM_SECTION_FULL = 0x04,
    WIRE_VM_SUBSECTION = 0x05,
    WIRE_VM_VMDESCRIPTION = 0x06,
    WIRE_VM_CONFIGURATION = 0x07,
    WIRE_VM_COMMAND = 0x08,
    WIRE_VM_SECTION_FOOTER = 0x7e,
} WireVmSection;

/* MIG_CMD_* values; only ENABLE_COLO is acted upon. */
#define WIRE_CMD_ENABLE_COLO 8u
#define WIRE_CMD_MAX 11u /* highest known value (SWITCHOVER_START) */

/* Fixed-size pieces of the main channel, type byte included. */
#define WIRE_VM_FOOTER_SIZE 5       /* 0x7e, be32 section_id */
#define WIRE_VM_COMMAND_HDR_SIZE 5  /* 0x08, be16 cmd, be16 len */
#define WIRE_VM_SECTION_PART_SIZE 5 /* 0x02|0x03, be32 section_id */
/* START/FULL: type, id, len, idstr[255], instance_id, version_id. */
#define WIRE_VM_SECTION_HDR_MAX (1 + 4 + 1 + 255 + 4 + 4)
#define WIRE_IDSTR_SIZE 256 /* u8-counted names, incl. NUL */
#define WIRE_COLO_MESSAGE_SIZE 4

typedef enum WireRamFlag {
    WIRE_RAM_FULL = 0x01, /* obsolete, rejected */
    WIRE_RAM_ZERO = 0x02,
    WIRE_RAM_MEM_SIZE = 0x04,
    WIRE_RAM_PAGE = 0x08,
    WIRE_RAM_EOS = 0x10,
    WIRE_RAM_CONTINUE = 0x20,
    WIRE_RAM_XBZRLE = 0x40,         /* not modelled, rejected */
    WIRE_RAM_HOOK = 0x80,           /* RDMA only, rejected */
    WIRE_RAM_COMPRESS_PAGE = 0x100, /* removed in 9.1, rejected */
    WIRE_RAM_MULTIFD_FLUSH = 0x200,
} WireRamFlag;

typedef enum WireColoMessage {
    WIRE_COLO_CHECKPOINT_READY = 0,
    WIRE_COLO_CHECKPOINT_REQUEST = 1,
    WIRE_COLO_CHECKPOINT_REPLY = 2,
    WIRE_COLO_VMSTATE_SEND = 3,
    WIRE_COLO_VMSTATE_SIZE = 4,
    WIRE_COLO_VMSTATE_RECEIVED = 5,
    WIRE_COLO_VMSTATE_LOADED = 6,
    WIRE_COLO_MESSAGE_MAX = 7,
} WireColoMessage;

/* "checkpoint-request", ... (QAPI names) or NULL. */
const char *wire_colo_message_name(uint32_t value);

/* "SECTION_START", "EOF", ... for a WireVmSection value, NULL otherwise. */
const char *wire_vm_section_name(uint8_t type);

/* 8 bytes: WIRE_ERR_VM_MAGIC, WIRE_ERR_VM_VERSION. */
bool wire_vm_header_decode(const uint8_t buf[WIRE_VM_HEADER_SIZE],
                           MfError *err);
void wire_vm_header_encode(uint8_t buf[WIRE_VM_HEADER_SIZE]);

/*
 * Known section type byte (a WireVmSection value)?  WIRE_ERR_VM_SECTION_TYPE
 * (offset 0) otherwise.
 */
bool wire_vm_section_type_check(uint8_t type, MfError *err);

/*
 * Pull-parser helpers for the variable-size pieces.  A "need" function
 * looks at the @avail bytes already read and returns how many bytes the
 * whole piece takes; when that is still unknown it returns a larger
 * count than @avail (read that many and ask again).  It never reads past
 * @avail and never fails; the decoder then checks the piece.
 */

/* A section header: SECTION_START/FULL (with name) or PART/END. */
typedef struct WireVmSectionHdr {
    uint8_t type;
    uint32_t section_id;
    char idstr[WIRE_IDSTR_SIZE]; /* START/FULL only, "" otherwise */
    uint32_t instance_id;        /* START/FULL only, 0 otherwise */
    uint32_t version_id;         /* START/FULL only, 0 otherwise */
} WireVmSectionHdr;

/* Bytes of the section header at @buf: 5, or 14 + name length. */
size_t wire_vm_section_hdr_need(const uint8_t *buf, size_t avail);
/*
 * Decode a section header of @len >= need bytes; *@used = its size.
 * WIRE_ERR_VM_SECTION_TYPE (offset 0) when the type is not START, PART,
 * END or FULL; MF_ERR_INVALID_ARG when @len is short of the need.
 */
bool wire_vm_section_hdr_decode(const uint8_t *buf, size_t len,
                                WireVmSectionHdr *hdr, size_t *used,
                                MfError *err);
/*
 * Encode into @buf (WIRE_VM_SECTION_HDR_MAX bytes suffice); returns the
 * size written.  Names longer than 255 bytes are cut at 255, as QEMU's
 * idstr cannot be longer.
 */
size_t wire_vm_section_hdr_encode(const WireVmSectionHdr *hdr, uint8_t *buf);

/*
 * Section footer 0x7e + be32 id: WIRE_ERR_VM_FOOTER when the type byte is
 * not 0x7e (offset 0) or the id is not @section_id (offset 1).
 */
bool wire_vm_footer_decode(const uint8_t buf[WIRE_VM_FOOTER_SIZE],
                           uint32_t section_id, MfError *err);
void wire_vm_footer_encode(uint32_t section_id,
                           uint8_t buf[WIRE_VM_FOOTER_SIZE]);

/*
 * QEMU_VM_COMMAND header (0x08, be16 cmd, be16 len; @len data bytes
 * follow).  WIRE_ERR_VM_SECTION_TYPE (offset 0) if the type byte is not
 * 0x08; WIRE_ERR_VM_COMMAND for cmd 0 or > WIRE_CMD_MAX (offset 1) and
 * for ENABLE_COLO with a length other than 0 (offset 3).
 */
bool wire_vm_command_decode(const uint8_t buf[WIRE_VM_COMMAND_HDR_SIZE],
                            uint16_t *cmd, uint16_t *len, MfError *err);
void wire_vm_command_encode(uint16_t cmd, uint16_t len,
                            uint8_t buf[WIRE_VM_COMMAND_HDR_SIZE]);

/*
 * A u8-counted name (RAM record block names, MEM_SIZE entries): u8 len,
 * then len bytes.  need = 1 + len.  Decode copies it NUL-terminated into
 * @name and sets *@used; MF_ERR_INVALID_ARG when @len is short.  The name
 * may be empty; looking it up is the caller's job.
 */
size_t wire_idstr_need(const uint8_t *buf, size_t avail);
bool wire_idstr_decode(const uint8_t *buf, size_t len,
                       char name[WIRE_IDSTR_SIZE], size_t *used, MfError *err);
/* Encode (cut at 255 bytes); returns 1 + length written. */
size_t wire_idstr_encode(const char *name, uint8_t *buf);

/*
 * A RAM record word split at the target page size: @addr holds the bits
 * above the page offset, @flags the bits below.  Checks the combination
 * (one of MEM_SIZE, ZERO, PAGE, EOS, MULTIFD_FLUSH, with CONTINUE allowed
 * on ZERO and PAGE only): WIRE_ERR_RAM_FLAGS naming the value otherwise.
 */
bool wire_ram_record_decode(uint64_t word, uint32_t page_size, uint64_t *addr,
                            uint32_t *flags, MfError *err);
uint64_t wire_ram_record_encode(uint64_t addr, uint32_t flags);
/*
 * The contract of wire_ram_record_decode, in detail: @page_size must be a
 * power of two from 1 KiB to 512 KiB (so that every flag fits below it),
 * else MF_ERR_INVALID_ARG; any flag bit outside the known ones, XBZRLE,
 * HOOK, COMPRESS_PAGE, FULL, two main flags at once, no main flag, or
 * CONTINUE on anything but ZERO/PAGE is WIRE_ERR_RAM_FLAGS (offset 0, the
 * record word).
 */

/* The byte after a ZERO record must be 0: WIRE_ERR_RAM_ZERO_FILL. */
bool wire_ram_zero_fill_check(uint8_t fill, MfError *err);

/* COLO message value check: WIRE_ERR_COLO_MESSAGE for >= 7. */
bool wire_colo_message_check(uint32_t value, MfError *err);
/* be32 message: decode + check (WIRE_ERR_COLO_MESSAGE, offset 0). */
bool wire_colo_message_decode(const uint8_t buf[WIRE_COLO_MESSAGE_SIZE],
                              uint32_t *value, MfError *err);
void wire_colo_message_encode(uint32_t value,
                              uint8_t buf[WIRE_COLO_MESSAGE_SIZE]);

#endif /* MFCOLO_WIRE_STREAM_H */
