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
#define WIRE_CMD_MAX 11u

typedef enum WireRamFlag {
    WIRE_RAM_FULL = 0x01, /* obsolete, rejected */
    WIRE_RAM_ZERO = 0x02,
    WIRE_RAM_MEM_SIZE = 0x04,
    WIRE_RAM_PAGE = 0x08,
    WIRE_RAM_EOS = 0x10,
    WIRE_RAM_CONTINUE = 0x20,
    WIRE_RAM_XBZRLE = 0x40,        /* not modelled, rejected */
    WIRE_RAM_HOOK = 0x80,          /* RDMA only, rejected */
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

/* 8 bytes: WIRE_ERR_VM_MAGIC, WIRE_ERR_VM_VERSION. */
bool wire_vm_header_decode(const uint8_t buf[WIRE_VM_HEADER_SIZE],
                           MfError *err);
void wire_vm_header_encode(uint8_t buf[WIRE_VM_HEADER_SIZE]);

/* Known section type byte? WIRE_ERR_VM_SECTION_TYPE otherwise. */
bool wire_vm_section_type_check(uint8_t type, MfError *err);

/*
 * A RAM record word split at the target page size: @addr holds the bits
 * above the page offset, @flags the bits below.  Checks the combination
 * (one of MEM_SIZE, ZERO, PAGE, EOS, MULTIFD_FLUSH, with CONTINUE allowed
 * on ZERO and PAGE only): WIRE_ERR_RAM_FLAGS naming the value otherwise.
 */
bool wire_ram_record_decode(uint64_t word, uint32_t page_size,
                            uint64_t *addr, uint32_t *flags, MfError *err);
uint64_t wire_ram_record_encode(uint64_t addr, uint32_t flags);

/* COLO message value check: WIRE_ERR_COLO_MESSAGE for >= 7. */
bool wire_colo_message_check(uint32_t value, MfError *err);

#endif /* MFCOLO_WIRE_STREAM_H */
