/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Main-channel records: file header, sections, commands, RAM, COLO. */
#include "wire/stream.h"

#include <string.h>

#include "base/be.h"
#include "wire/errors.h"

#define IDSTR_MAX (WIRE_IDSTR_SIZE - 1)
#define RAM_FLAGS_KNOWN \
    (WIRE_RAM_ZERO | WIRE_RAM_MEM_SIZE | WIRE_RAM_PAGE | WIRE_RAM_EOS | \
     WIRE_RAM_CONTINUE | WIRE_RAM_MULTIFD_FLUSH)
#define RAM_FLAGS_UNSUPPORTED \
    (WIRE_RAM_FULL | WIRE_RAM_XBZRLE | WIRE_RAM_HOOK | WIRE_RAM_COMPRESS_PAGE)
#define RAM_PAGE_SIZE_MIN 1024u /* MULTIFD_FLUSH 0x200 must fit below */
#define RAM_PAGE_SIZE_MAX 524288u

const char *wire_colo_message_name(uint32_t value)
{
    static const char *const names[WIRE_COLO_MESSAGE_MAX] = {
        "checkpoint-ready", "checkpoint-request", "checkpoint-reply",
        "vmstate-send",     "vmstate-size",       "vmstate-received",
        "vmstate-loaded",
    };

    return value < WIRE_COLO_MESSAGE_MAX ? names[value] : NULL;
}

const char *wire_vm_section_name(uint8_t type)
{
    switch (type) {
    case WIRE_VM_EOF:
        return "EOF";
    case WIRE_VM_SECTION_START:
        return "SECTION_START";
    case WIRE_VM_SECTION_PART:
        return "SECTION_PART";
    case WIRE_VM_SECTION_END:
        return "SECTION_END";
    case WIRE_VM_SECTION_FULL:
        return "SECTION_FULL";
    case WIRE_VM_SUBSECTION:
        return "SUBSECTION";
    case WIRE_VM_VMDESCRIPTION:
        return "VMDESCRIPTION";
    case WIRE_VM_CONFIGURATION:
        return "CONFIGURATION";
    case WIRE_VM_COMMAND:
        return "COMMAND";
    case WIRE_VM_SECTION_FOOTER:
        return "SECTION_FOOTER";
    default:
        return NULL;
    }
}

bool wire_vm_header_decode(const uint8_t buf[WIRE_VM_HEADER_SIZE], MfError *err)
{
    uint32_t magic = mf_be32_load(buf);
    uint32_t version = mf_be32_load(buf + 4);

    if (magic != WIRE_VM_FILE_MAGIC) {
        return mf_error_set(err, WIRE_ERR_VM_MAGIC, 0,
                            "stream magic 0x%08x, expected 0x%08x (QEVM)",
                            magic, WIRE_VM_FILE_MAGIC);
    }
    if (version != WIRE_VM_FILE_VERSION) {
        return mf_error_set(err, WIRE_ERR_VM_VERSION, 4,
                            "stream version %u, expected %u", version,
                            WIRE_VM_FILE_VERSION);
    }
    return true;
}

void wire_vm_header_encode(uint8_t buf[WIRE_VM_HEADER_SIZE])
{
    mf_be32_store(buf, WIRE_VM_FILE_MAGIC);
    mf_be32_store(buf + 4, WIRE_VM_FILE_VERSION);
}

bool wire_vm_section_type_check(uint8_t type, MfError *err)
{
    if (!wire_vm_section_name(type)) {
        return mf_error_set(err, WIRE_ERR_VM_SECTION_TYPE, 0,
                            "section type 0x%02x unknown (known: 0x00-0x08, "
                            "0x7e)",
                            type);
    }
    return true;
}

static bool section_has_name(uint8_t type)
{
    return type == WIRE_VM_SECTION_START || type == WIRE_VM_SECTION_FULL;
}

size_t wire_vm_section_hdr_need(const uint8_t *buf, size_t avail)
{
    if (avail < 1) {
        return 1;
    }
    if (section_has_name(buf[0])) {
        if (avail < 6) {
            return 6;
        }
        return 1 + 4 + 1 + (size_t)buf[5] + 4 + 4;
    }
    if (buf[0] == WIRE_VM_SECTION_PART || buf[0] == WIRE_VM_SECTION_END) {
        return WIRE_VM_SECTION_PART_SIZE;
    }
    return 1;
}

bool wire_vm_section_hdr_decode(const uint8_t *buf, size_t len,
                                WireVmSectionHdr *hdr, size_t *used,
                                MfError *err)
{
    size_t need = wire_vm_section_hdr_need(buf, len);
    size_t name_len;

    if (need > len) {
        return mf_error_set(err, MF_ERR_INVALID_ARG, len,
                            "section header needs %zu bytes, got %zu", need,
                            len);
    }
    memset(hdr, 0, sizeof(*hdr));
    hdr->type = buf[0];
    if (!section_has_name(buf[0]) && buf[0] != WIRE_VM_SECTION_PART &&
        buf[0] != WIRE_VM_SECTION_END) {
        return mf_error_set(err, WIRE_ERR_VM_SECTION_TYPE, 0,
                            "section type 0x%02x is not a section header "
                            "(0x01-0x04)",
                            buf[0]);
    }
    hdr->section_id = mf_be32_load(buf + 1);
    if (section_has_name(buf[0])) {
        name_len = buf[5];
        memcpy(hdr->idstr, buf + 6, name_len);
        hdr->instance_id = mf_be32_load(buf + 6 + name_len);
        hdr->version_id = mf_be32_load(buf + 10 + name_len);
    }
    *used = need;
    return true;
}

size_t wire_vm_section_hdr_encode(const WireVmSectionHdr *hdr, uint8_t *buf)
{
    size_t name_len;

    buf[0] = hdr->type;
    mf_be32_store(buf + 1, hdr->section_id);
    if (!section_has_name(hdr->type)) {
        return WIRE_VM_SECTION_PART_SIZE;
    }
    name_len = wire_idstr_encode(hdr->idstr, buf + 5) - 1;
    mf_be32_store(buf + 6 + name_len, hdr->instance_id);
    mf_be32_store(buf + 10 + name_len, hdr->version_id);
    return 14 + name_len;
}

bool wire_vm_footer_decode(const uint8_t buf[WIRE_VM_FOOTER_SIZE],
                           uint32_t section_id, MfError *err)
{
    uint32_t id = mf_be32_load(buf + 1);

    if (buf[0] != WIRE_VM_SECTION_FOOTER) {
        return mf_error_set(err, WIRE_ERR_VM_FOOTER, 0,
                            "section footer type 0x%02x, expected 0x%02x "
                            "for section %u",
                            buf[0], WIRE_VM_SECTION_FOOTER, section_id);
    }
    if (id != section_id) {
        return mf_error_set(err, WIRE_ERR_VM_FOOTER, 1,
                            "section footer id %u, expected %u", id,
                            section_id);
    }
    return true;
}

void wire_vm_footer_encode(uint32_t section_id,
                           uint8_t buf[WIRE_VM_FOOTER_SIZE])
{
    buf[0] = WIRE_VM_SECTION_FOOTER;
    mf_be32_store(buf + 1, section_id);
}

bool wire_vm_command_decode(const uint8_t buf[WIRE_VM_COMMAND_HDR_SIZE],
                            uint16_t *cmd, uint16_t *len, MfError *err)
{
    *cmd = mf_be16_load(buf + 1);
    *len = mf_be16_load(buf + 3);
    if (buf[0] != WIRE_VM_COMMAND) {
        return mf_error_set(err, WIRE_ERR_VM_SECTION_TYPE, 0,
                            "section type 0x%02x, expected COMMAND 0x%02x",
                            buf[0], WIRE_VM_COMMAND);
    }
    if (*cmd == 0 || *cmd > WIRE_CMD_MAX) {
        return mf_error_set(err, WIRE_ERR_VM_COMMAND, 1,
                            "command %u unknown (known 1..%u)", *cmd,
                            WIRE_CMD_MAX);
    }
    if (*cmd == WIRE_CMD_ENABLE_COLO && *len != 0) {
        return mf_error_set(err, WIRE_ERR_VM_COMMAND, 3,
                            "command ENABLE_COLO length %u, expected 0", *len);
    }
    return true;
}

void wire_vm_command_encode(uint16_t cmd, uint16_t len,
                            uint8_t buf[WIRE_VM_COMMAND_HDR_SIZE])
{
    buf[0] = WIRE_VM_COMMAND;
    mf_be16_store(buf + 1, cmd);
    mf_be16_store(buf + 3, len);
}

size_t wire_idstr_need(const uint8_t *buf, size_t avail)
{
    if (avail < 1) {
        return 1;
    }
    return 1 + (size_t)buf[0];
}

bool wire_idstr_decode(const uint8_t *buf, size_t len,
                       char name[WIRE_IDSTR_SIZE], size_t *used, MfError *err)
{
    size_t need = wire_idstr_need(buf, len);

    if (need > len) {
        return mf_error_set(err, MF_ERR_INVALID_ARG, len,
                            "name needs %zu bytes, got %zu", need, len);
    }
    memcpy(name, buf + 1, need - 1);
    name[need - 1] = '\0';
    *used = need;
    return true;
}

size_t wire_idstr_encode(const char *name, uint8_t *buf)
{
    size_t n = strnlen(name, IDSTR_MAX);

    buf[0] = (uint8_t)n;
    memcpy(buf + 1, name, n);
    return 1 + n;
}

/* The main flag of a record (without CONTINUE), 0 if none or several. */
static uint32_t ram_main_flag(uint32_t flags)
{
    uint32_t base = flags & ~(uint32_t)WIRE_RAM_CONTINUE;

    switch (base) {
    case WIRE_RAM_MEM_SIZE:
    case WIRE_RAM_ZERO:
    case WIRE_RAM_PAGE:
    case WIRE_RAM_EOS:
    case WIRE_RAM_MULTIFD_FLUSH:
        return base;
    default:
        return 0;
    }
}

bool wire_ram_record_decode(uint64_t word, uint32_t page_size, uint64_t *addr,
                            uint32_t *flags, MfError *err)
{
    uint32_t main_flag;

    if (page_size < RAM_PAGE_SIZE_MIN || page_size > RAM_PAGE_SIZE_MAX ||
        (page_size & (page_size - 1)) != 0) {
        return mf_error_set(err, MF_ERR_INVALID_ARG, 0,
                            "RAM record: page_size %u unusable (power of "
                            "two from %u to %u)",
                            page_size, RAM_PAGE_SIZE_MIN, RAM_PAGE_SIZE_MAX);
    }
    *flags = (uint32_t)(word & (page_size - 1));
    *addr = word & ~(uint64_t)(page_size - 1);
    if (*flags & RAM_FLAGS_UNSUPPORTED) {
        return mf_error_set(err, WIRE_ERR_RAM_FLAGS, 0,
                            "RAM record flags 0x%x carry unsupported 0x%x "
                            "(FULL 0x01, XBZRLE 0x40, HOOK 0x80, "
                            "COMPRESS_PAGE 0x100)",
                            *flags, *flags & RAM_FLAGS_UNSUPPORTED);
    }
    if (*flags & ~(uint32_t)RAM_FLAGS_KNOWN) {
        return mf_error_set(err, WIRE_ERR_RAM_FLAGS, 0,
                            "RAM record flags 0x%x carry unknown bits 0x%x "
                            "(known mask 0x%x)",
                            *flags, *flags & ~(uint32_t)RAM_FLAGS_KNOWN,
                            RAM_FLAGS_KNOWN);
    }
    main_flag = ram_main_flag(*flags);
    if (main_flag == 0) {
        return mf_error_set(err, WIRE_ERR_RAM_FLAGS, 0,
                            "RAM record flags 0x%x: need exactly one of "
                            "MEM_SIZE, ZERO, PAGE, EOS, MULTIFD_FLUSH",
                            *flags);
    }
    if ((*flags & WIRE_RAM_CONTINUE) && main_flag != WIRE_RAM_ZERO &&
        main_flag != WIRE_RAM_PAGE) {
        return mf_error_set(err, WIRE_ERR_RAM_FLAGS, 0,
                            "RAM record flags 0x%x: CONTINUE 0x20 allowed "
                            "with ZERO or PAGE only",
                            *flags);
    }
    return true;
}

uint64_t wire_ram_record_encode(uint64_t addr, uint32_t flags)
{
    return addr | flags;
}

bool wire_ram_zero_fill_check(uint8_t fill, MfError *err)
{
    if (fill != 0) {
        return mf_error_set(err, WIRE_ERR_RAM_ZERO_FILL, 0,
                            "ZERO record fill byte 0x%02x, expected 0x00",
                            fill);
    }
    return true;
}

bool wire_colo_message_check(uint32_t value, MfError *err)
{
    if (value >= WIRE_COLO_MESSAGE_MAX) {
        return mf_error_set(err, WIRE_ERR_COLO_MESSAGE, 0,
                            "COLO message %u unknown (limit %u)", value,
                            WIRE_COLO_MESSAGE_MAX - 1);
    }
    return true;
}

bool wire_colo_message_decode(const uint8_t buf[WIRE_COLO_MESSAGE_SIZE],
                              uint32_t *value, MfError *err)
{
    *value = mf_be32_load(buf);
    return wire_colo_message_check(*value, err);
}

void wire_colo_message_encode(uint32_t value,
                              uint8_t buf[WIRE_COLO_MESSAGE_SIZE])
{
    mf_be32_store(buf, value);
}
