/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Harness: decode of encode is the identity, and encode of decode gives
 * back the accepted bytes, for every fixed-size wire format: handshake,
 * RAM packet, device-state header, RAM record words, COLO messages, and
 * the main-channel records: QEVM header, section headers (START/FULL
 * with name, PART/END), footers, QEMU_VM_COMMAND headers, u8-counted
 * names and be32 COLO messages.
 *
 * Input: byte 0 selects the format (modulo 7), the rest is the value or
 * the bytes.  For byte formats both directions are checked: bytes that
 * decode re-encode to the same bytes, and encoded fields decode back.
 *
 * Target functions: wire_handshake_encode wire_packet_encode
 * wire_devstate_encode wire_ram_record_encode wire_ram_record_decode
 * wire_colo_message_check wire_vm_section_hdr_decode
 * wire_vm_section_hdr_encode wire_vm_footer_decode wire_vm_command_decode
 * wire_idstr_decode wire_colo_message_decode wire_vm_header_decode
 */
#include "fuzz.h"

#include "base/be.h"
#include "wire/errors.h"
#include "wire/multifd.h"
#include "wire/stream.h"

static void roundtrip_handshake(FuzzInput *in)
{
    WireHandshake hs = { .magic = WIRE_MULTIFD_MAGIC,
                         .version = WIRE_MULTIFD_VERSION };
    WireHandshake back;
    uint8_t buf[WIRE_HANDSHAKE_SIZE];
    size_t got, i;
    const uint8_t *uuid = fuzz_bytes(in, WIRE_UUID_SIZE, &got);
    MfError err;

    for (i = 0; i < got; i++) {
        hs.uuid[i] = uuid[i];
    }
    hs.id = fuzz_u8(in);
    wire_handshake_encode(&hs, buf);
    mf_error_clear(&err);
    FUZZ_CHECK(wire_handshake_decode(buf, &back, &err), "%s", err.msg);
    FUZZ_CHECK(back.id == hs.id && !memcmp(back.uuid, hs.uuid, 16),
               "handshake changed");
}

static void roundtrip_packet(FuzzInput *in)
{
    static uint64_t offsets[128], back_offsets[128];
    static const uint32_t comps[4] = { WIRE_COMP_NONE, WIRE_COMP_ZLIB,
                                       WIRE_COMP_ZSTD, WIRE_COMP_QATZIP };
    uint8_t buf[1344];
    WirePacket pkt = { .offsets = offsets };
    WirePacket back = { .offsets = back_offsets };
    size_t got, i;
    const uint8_t *name;
    MfError err;

    pkt.flags = (fuzz_u8(in) & WIRE_FLAG_SYNC) | comps[fuzz_u8(in) & 3];
    pkt.pages_alloc = fuzz_u8(in) % 129;
    pkt.normal_pages =
        pkt.pages_alloc ? fuzz_u8(in) % (pkt.pages_alloc + 1) : 0;
    pkt.zero_pages =
        (pkt.pages_alloc - pkt.normal_pages)
            ? fuzz_u8(in) % (pkt.pages_alloc - pkt.normal_pages + 1)
            : 0;
    pkt.next_packet_size = fuzz_u32(in);
    pkt.packet_num = ((uint64_t)fuzz_u32(in) << 32) | fuzz_u32(in);
    name = fuzz_bytes(in, 1 + fuzz_u8(in) % 255, &got);
    memset(pkt.ramblock, 0, sizeof(pkt.ramblock));
    for (i = 0; i < got && name[i]; i++) {
        pkt.ramblock[i] = (char)name[i];
    }
    if (i == 0) {
        pkt.ramblock[0] = 'x';
    }
    for (i = 0; i < wire_packet_pages(&pkt); i++) {
        offsets[i] = ((uint64_t)fuzz_u32(in) << 12);
    }
    wire_packet_encode(&pkt, 4096, NULL, buf);
    mf_error_clear(&err);
    FUZZ_CHECK(wire_packet_decode(buf, 4096, &back, &err), "%s", err.msg);
    FUZZ_CHECK(back.flags == pkt.flags && back.pages_alloc == pkt.pages_alloc &&
                   back.normal_pages == pkt.normal_pages &&
                   back.zero_pages == pkt.zero_pages &&
                   back.packet_num == pkt.packet_num &&
                   back.next_packet_size == pkt.next_packet_size,
               "packet fields changed");
    if (wire_packet_pages(&pkt)) {
        FUZZ_CHECK(strcmp(back.ramblock, pkt.ramblock) == 0, "name changed");
        FUZZ_CHECK(memcmp(back_offsets, offsets, wire_packet_pages(&pkt) * 8) ==
                       0,
                   "offsets changed");
    }
}

static void roundtrip_ram_record(FuzzInput *in)
{
    uint64_t word = ((uint64_t)fuzz_u32(in) << 32) | fuzz_u32(in);
    uint64_t addr;
    uint32_t flags;
    MfError err;

    mf_error_clear(&err);
    if (wire_ram_record_decode(word, 4096, &addr, &flags, &err)) {
        FUZZ_CHECK(wire_ram_record_encode(addr, flags) == word,
                   "record 0x%llx re-encodes differently",
                   (unsigned long long)word);
        FUZZ_CHECK(flags < 4096 && addr % 4096 == 0, "split wrong");
    } else {
        FUZZ_CHECK(err.code == WIRE_ERR_RAM_FLAGS, "code %d", err.code);
    }
}

static void roundtrip_colo(FuzzInput *in)
{
    uint32_t v = fuzz_u32(in);
    MfError err;

    mf_error_clear(&err);
    if (wire_colo_message_check(v, &err)) {
        FUZZ_CHECK(v < WIRE_COLO_MESSAGE_MAX && wire_colo_message_name(v),
                   "message %u accepted", v);
    } else {
        FUZZ_CHECK(v >= WIRE_COLO_MESSAGE_MAX &&
                       err.code == WIRE_ERR_COLO_MESSAGE,
                   "message %u", v);
    }
}

/* Section header bytes: decode -> encode gives the same bytes. */
static void roundtrip_section(FuzzInput *in)
{
    uint8_t buf[WIRE_VM_SECTION_HDR_MAX + 8] = { 0 };
    uint8_t again[WIRE_VM_SECTION_HDR_MAX];
    WireVmSectionHdr hdr, back;
    size_t got, need, used, len;
    const uint8_t *p = fuzz_bytes(in, sizeof(buf), &got);
    MfError err;

    memcpy(buf, p, got);
    need = wire_vm_section_hdr_need(buf, got);
    FUZZ_CHECK(need >= 1, "need 0");
    if (need > got) {
        return; /* a reader would wait for more bytes */
    }
    mf_error_clear(&err);
    if (!wire_vm_section_hdr_decode(buf, got, &hdr, &used, &err)) {
        FUZZ_CHECK(err.code == WIRE_ERR_VM_SECTION_TYPE, "code %d", err.code);
        return;
    }
    FUZZ_CHECK(used == need, "used %zu need %zu", used, need);
    len = wire_vm_section_hdr_encode(&hdr, again);
    /* A name with a NUL inside decodes to its first part (as QEMU's
     * counted strings): only then may the bytes differ. */
    FUZZ_CHECK((len == used && !memcmp(again, buf, len)) ||
                   ((hdr.type == WIRE_VM_SECTION_START ||
                     hdr.type == WIRE_VM_SECTION_FULL) &&
                    strlen(hdr.idstr) < buf[5]),
               "section header re-encodes differently");
    mf_error_clear(&err);
    FUZZ_CHECK(wire_vm_section_hdr_decode(again, len, &back, &used, &err), "%s",
               err.msg);
    FUZZ_CHECK(back.type == hdr.type && back.section_id == hdr.section_id &&
                   !strcmp(back.idstr, hdr.idstr) &&
                   back.instance_id == hdr.instance_id &&
                   back.version_id == hdr.version_id,
               "section fields changed");
}

/* Footer, command header, QEVM header, COLO message: fixed bytes. */
static void roundtrip_fixed(FuzzInput *in)
{
    uint8_t buf[8] = { 0 }, again[8];
    size_t got;
    const uint8_t *p = fuzz_bytes(in, sizeof(buf), &got);
    uint16_t cmd, len;
    uint32_t v;
    MfError err;

    memcpy(buf, p, got);
    mf_error_clear(&err);
    if (wire_vm_footer_decode(buf, mf_be32_load(buf + 1), &err)) {
        wire_vm_footer_encode(mf_be32_load(buf + 1), again);
        FUZZ_CHECK(!memcmp(again, buf, WIRE_VM_FOOTER_SIZE), "footer");
    } else {
        FUZZ_CHECK(buf[0] != 0x7e && err.code == WIRE_ERR_VM_FOOTER,
                   "footer 0x%02x refused", buf[0]);
    }
    mf_error_clear(&err);
    if (wire_vm_command_decode(buf, &cmd, &len, &err)) {
        FUZZ_CHECK(cmd >= 1 && cmd <= WIRE_CMD_MAX &&
                       (cmd != WIRE_CMD_ENABLE_COLO || len == 0),
                   "command %u len %u accepted", cmd, len);
        wire_vm_command_encode(cmd, len, again);
        FUZZ_CHECK(!memcmp(again, buf, WIRE_VM_COMMAND_HDR_SIZE), "command");
    } else {
        FUZZ_CHECK(err.code == WIRE_ERR_VM_SECTION_TYPE ||
                       err.code == WIRE_ERR_VM_COMMAND,
                   "command code %d", err.code);
    }
    mf_error_clear(&err);
    if (wire_vm_header_decode(buf, &err)) {
        wire_vm_header_encode(again);
        FUZZ_CHECK(!memcmp(again, buf, WIRE_VM_HEADER_SIZE), "QEVM header");
    } else {
        FUZZ_CHECK(err.code == WIRE_ERR_VM_MAGIC ||
                       err.code == WIRE_ERR_VM_VERSION,
                   "header code %d", err.code);
    }
    mf_error_clear(&err);
    if (wire_colo_message_decode(buf, &v, &err)) {
        FUZZ_CHECK(v < WIRE_COLO_MESSAGE_MAX, "message %u", v);
        wire_colo_message_encode(v, again);
        FUZZ_CHECK(!memcmp(again, buf, WIRE_COLO_MESSAGE_SIZE), "message");
    } else {
        FUZZ_CHECK(err.code == WIRE_ERR_COLO_MESSAGE, "message code %d",
                   err.code);
    }
}

/* A u8-counted name and a section header built from fields. */
static void roundtrip_names(FuzzInput *in)
{
    WireVmSectionHdr hdr = { 0 }, back;
    uint8_t buf[WIRE_VM_SECTION_HDR_MAX];
    char name[WIRE_IDSTR_SIZE];
    size_t got, i, len, used;
    const uint8_t *p;
    MfError err;

    hdr.type = (fuzz_u8(in) % 4) + WIRE_VM_SECTION_START;
    hdr.section_id = fuzz_u32(in);
    if (hdr.type == WIRE_VM_SECTION_START || hdr.type == WIRE_VM_SECTION_FULL) {
        hdr.instance_id = fuzz_u32(in);
        hdr.version_id = fuzz_u32(in);
        p = fuzz_bytes(in, 1 + fuzz_u8(in), &got);
        for (i = 0; i < got && i < WIRE_IDSTR_SIZE - 1 && p[i]; i++) {
            hdr.idstr[i] = (char)p[i];
        }
    }
    len = wire_vm_section_hdr_encode(&hdr, buf);
    FUZZ_CHECK(wire_vm_section_hdr_need(buf, len) == len, "need != size");
    mf_error_clear(&err);
    FUZZ_CHECK(wire_vm_section_hdr_decode(buf, len, &back, &used, &err), "%s",
               err.msg);
    FUZZ_CHECK(used == len && back.type == hdr.type &&
                   back.section_id == hdr.section_id &&
                   !strcmp(back.idstr, hdr.idstr) &&
                   back.instance_id == hdr.instance_id &&
                   back.version_id == hdr.version_id,
               "section fields changed");

    len = wire_idstr_encode(hdr.idstr, buf);
    FUZZ_CHECK(len == 1 + strlen(hdr.idstr) && wire_idstr_need(buf, len) == len,
               "idstr size");
    mf_error_clear(&err);
    FUZZ_CHECK(wire_idstr_decode(buf, len, name, &used, &err) && used == len &&
                   !strcmp(name, hdr.idstr),
               "idstr changed");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FuzzInput in;

    fuzz_input_init(&in, data, size);
    switch (fuzz_u8(&in) % 7) {
    case 0:
        roundtrip_handshake(&in);
        break;
    case 1:
        roundtrip_packet(&in);
        break;
    case 2:
        roundtrip_ram_record(&in);
        break;
    case 3:
        roundtrip_colo(&in);
        break;
    case 4:
        roundtrip_section(&in);
        break;
    case 5:
        roundtrip_fixed(&in);
        break;
    default:
        roundtrip_names(&in);
        break;
    }
    return 0;
}
