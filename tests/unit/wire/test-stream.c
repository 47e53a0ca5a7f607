/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests for core/wire/stream.c (main-channel records). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "base/be.h"
#include "guard-alloc.h"
#include "wire/errors.h"
#include "wire/stream.h"

static MfError err;

static void reset(void)
{
    mf_error_clear(&err);
}

static void test_names(void **state)
{
    static const char *const colo[] = {
        "checkpoint-ready", "checkpoint-request", "checkpoint-reply",
        "vmstate-send",     "vmstate-size",       "vmstate-received",
        "vmstate-loaded",
    };
    static const struct {
        uint8_t type;
        const char *name;
    } sec[] = {
        { 0x00, "EOF" },           { 0x01, "SECTION_START" },
        { 0x02, "SECTION_PART" },  { 0x03, "SECTION_END" },
        { 0x04, "SECTION_FULL" },  { 0x05, "SUBSECTION" },
        { 0x06, "VMDESCRIPTION" }, { 0x07, "CONFIGURATION" },
        { 0x08, "COMMAND" },       { 0x7e, "SECTION_FOOTER" },
    };
    uint32_t i;

    (void)state;
    for (i = 0; i < 7; i++) {
        assert_string_equal(wire_colo_message_name(i), colo[i]);
    }
    assert_null(wire_colo_message_name(7));
    assert_null(wire_colo_message_name(0xffffffffu));
    for (i = 0; i < sizeof(sec) / sizeof(sec[0]); i++) {
        assert_string_equal(wire_vm_section_name(sec[i].type), sec[i].name);
    }
    assert_null(wire_vm_section_name(0x09));
    assert_null(wire_vm_section_name(0x7d));
    assert_null(wire_vm_section_name(0x7f));
    assert_null(wire_vm_section_name(0xff));
}

static void test_vm_header(void **state)
{
    uint8_t b[WIRE_VM_HEADER_SIZE];
    static const uint8_t want[] = { 'Q', 'E', 'V', 'M', 0, 0, 0, 3 };

    (void)state;
    wire_vm_header_encode(b);
    assert_memory_equal(b, want, sizeof(want));
    reset();
    assert_true(wire_vm_header_decode(b, &err));
    b[3] = 'N';
    assert_false(wire_vm_header_decode(b, &err));
    assert_int_equal(err.code, WIRE_ERR_VM_MAGIC);
    assert_int_equal(err.offset, 0);
    assert_string_equal(err.msg,
                        "stream magic 0x5145564e, expected 0x5145564d (QEVM)");
    b[3] = 'M';
    b[7] = 2; /* the obsolete v2 format */
    reset();
    assert_false(wire_vm_header_decode(b, &err));
    assert_int_equal(err.code, WIRE_ERR_VM_VERSION);
    assert_int_equal(err.offset, 4);
    assert_string_equal(err.msg, "stream version 2, expected 3");
    b[7] = 4;
    reset();
    assert_false(wire_vm_header_decode(b, &err));
    assert_int_equal(err.code, WIRE_ERR_VM_VERSION);
}

static void test_section_type_check(void **state)
{
    static const uint8_t ok[] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 0x7e };
    size_t i;

    (void)state;
    reset();
    for (i = 0; i < sizeof(ok); i++) {
        assert_true(wire_vm_section_type_check(ok[i], &err));
    }
    assert_false(wire_vm_section_type_check(0x09, &err));
    assert_int_equal(err.code, WIRE_ERR_VM_SECTION_TYPE);
    assert_int_equal(err.offset, 0);
    assert_string_equal(err.msg,
                        "section type 0x09 unknown (known: 0x00-0x08, 0x7e)");
    reset();
    assert_false(wire_vm_section_type_check(0xff, &err));
    assert_int_equal(err.code, WIRE_ERR_VM_SECTION_TYPE);
}

/* The "ram" SECTION_START of the 7.2 captures (conn-0.bin offset 31). */
static void test_section_start(void **state)
{
    static const uint8_t start[] = {
        0x01, 0, 0, 0, 2, 3, 'r', 'a', 'm', 0, 0, 0, 0, 0, 0, 0, 4,
    };
    WireVmSectionHdr hdr;
    uint8_t b[WIRE_VM_SECTION_HDR_MAX];
    size_t used = 0;

    (void)state;
    assert_int_equal(wire_vm_section_hdr_need(start, 0), 1);
    assert_int_equal(wire_vm_section_hdr_need(start, 1), 6);
    assert_int_equal(wire_vm_section_hdr_need(start, 5), 6);
    assert_int_equal(wire_vm_section_hdr_need(start, 6), 17);
    reset();
    assert_false(wire_vm_section_hdr_decode(start, 16, &hdr, &used, &err));
    assert_int_equal(err.code, MF_ERR_INVALID_ARG);
    reset();
    assert_false(wire_vm_section_hdr_decode(start, 0, &hdr, &used, &err));
    assert_int_equal(err.code, MF_ERR_INVALID_ARG);
    reset();
    assert_true(
        wire_vm_section_hdr_decode(start, sizeof(start), &hdr, &used, &err));
    assert_int_equal(used, 17);
    assert_int_equal(hdr.type, WIRE_VM_SECTION_START);
    assert_int_equal(hdr.section_id, 2);
    assert_string_equal(hdr.idstr, "ram");
    assert_int_equal(hdr.instance_id, 0);
    assert_int_equal(hdr.version_id, 4);
    assert_int_equal(wire_vm_section_hdr_encode(&hdr, b), 17);
    assert_memory_equal(b, start, sizeof(start));
}

static void test_section_full_long_name(void **state)
{
    WireVmSectionHdr hdr = { .type = WIRE_VM_SECTION_FULL,
                             .section_id = 9,
                             .instance_id = 1,
                             .version_id = 2 };
    WireVmSectionHdr out;
    uint8_t b[WIRE_VM_SECTION_HDR_MAX + 1];
    size_t used;

    (void)state;
    memset(hdr.idstr, 'n', 255);
    hdr.idstr[255] = '\0';
    assert_int_equal(wire_vm_section_hdr_encode(&hdr, b),
                     WIRE_VM_SECTION_HDR_MAX);
    assert_int_equal(b[5], 255);
    assert_int_equal(wire_vm_section_hdr_need(b, 6), WIRE_VM_SECTION_HDR_MAX);
    reset();
    assert_true(wire_vm_section_hdr_decode(b, sizeof(b), &out, &used, &err));
    assert_int_equal(used, WIRE_VM_SECTION_HDR_MAX);
    assert_int_equal(strlen(out.idstr), 255);
    assert_int_equal(out.instance_id, 1);
    assert_int_equal(out.version_id, 2);
    /* empty name */
    hdr.idstr[0] = '\0';
    assert_int_equal(wire_vm_section_hdr_encode(&hdr, b), 14);
    assert_true(wire_vm_section_hdr_decode(b, 14, &out, &used, &err));
    assert_string_equal(out.idstr, "");
}

static void test_section_part_end(void **state)
{
    WireVmSectionHdr hdr = { .type = WIRE_VM_SECTION_END,
                             .section_id = 0x01020304 };
    static const uint8_t want[] = { 0x03, 1, 2, 3, 4 };
    uint8_t b[WIRE_VM_SECTION_HDR_MAX];
    size_t used;

    (void)state;
    strcpy(hdr.idstr, "ignored");
    assert_int_equal(wire_vm_section_hdr_encode(&hdr, b), 5);
    assert_memory_equal(b, want, sizeof(want));
    assert_int_equal(wire_vm_section_hdr_need(b, 1), 5);
    reset();
    assert_true(wire_vm_section_hdr_decode(b, 5, &hdr, &used, &err));
    assert_int_equal(used, 5);
    assert_int_equal(hdr.section_id, 0x01020304);
    assert_string_equal(hdr.idstr, "");
    b[0] = WIRE_VM_SECTION_PART;
    assert_true(wire_vm_section_hdr_decode(b, 5, &hdr, &used, &err));
    assert_int_equal(hdr.type, WIRE_VM_SECTION_PART);
    assert_false(wire_vm_section_hdr_decode(b, 4, &hdr, &used, &err));
    assert_int_equal(err.code, MF_ERR_INVALID_ARG);
}

static void test_section_not_a_header(void **state)
{
    static const uint8_t types[] = { 0x00, 0x05, 0x06, 0x07, 0x08, 0x7e, 0x42 };
    WireVmSectionHdr hdr;
    uint8_t b[8] = { 0 };
    size_t used;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(types); i++) {
        b[0] = types[i];
        assert_int_equal(wire_vm_section_hdr_need(b, 1), 1);
        reset();
        assert_false(
            wire_vm_section_hdr_decode(b, sizeof(b), &hdr, &used, &err));
        assert_int_equal(err.code, WIRE_ERR_VM_SECTION_TYPE);
        assert_int_equal(err.offset, 0);
    }
    assert_string_equal(err.msg, "section type 0x42 is not a section "
                                 "header (0x01-0x04)");
}

static void test_footer(void **state)
{
    uint8_t b[WIRE_VM_FOOTER_SIZE];
    static const uint8_t want[] = { 0x7e, 0, 0, 0, 2 };

    (void)state;
    wire_vm_footer_encode(2, b);
    assert_memory_equal(b, want, sizeof(want));
    reset();
    assert_true(wire_vm_footer_decode(b, 2, &err));
    assert_false(wire_vm_footer_decode(b, 3, &err));
    assert_int_equal(err.code, WIRE_ERR_VM_FOOTER);
    assert_int_equal(err.offset, 1);
    assert_string_equal(err.msg, "section footer id 2, expected 3");
    b[0] = 0x7f;
    reset();
    assert_false(wire_vm_footer_decode(b, 2, &err));
    assert_int_equal(err.code, WIRE_ERR_VM_FOOTER);
    assert_int_equal(err.offset, 0);
    assert_string_equal(err.msg, "section footer type 0x7f, expected 0x7e "
                                 "for section 2");
}

static void test_command(void **state)
{
    uint8_t b[WIRE_VM_COMMAND_HDR_SIZE];
    static const uint8_t want[] = { 0x08, 0, 8, 0, 0 };
    uint16_t cmd = 0;
    uint16_t len = 0;
    uint16_t c;

    (void)state;
    wire_vm_command_encode(WIRE_CMD_ENABLE_COLO, 0, b);
    assert_memory_equal(b, want, sizeof(want));
    reset();
    assert_true(wire_vm_command_decode(b, &cmd, &len, &err));
    assert_int_equal(cmd, 8);
    assert_int_equal(len, 0);
    for (c = 1; c <= WIRE_CMD_MAX; c++) {
        wire_vm_command_encode(c, c == WIRE_CMD_ENABLE_COLO ? 0 : 4, b);
        assert_true(wire_vm_command_decode(b, &cmd, &len, &err));
    }
    wire_vm_command_encode(0, 0, b);
    assert_false(wire_vm_command_decode(b, &cmd, &len, &err));
    assert_int_equal(err.code, WIRE_ERR_VM_COMMAND);
    assert_int_equal(err.offset, 1);
    assert_string_equal(err.msg, "command 0 unknown (known 1..11)");
    wire_vm_command_encode(WIRE_CMD_MAX + 1, 0, b);
    reset();
    assert_false(wire_vm_command_decode(b, &cmd, &len, &err));
    assert_int_equal(err.code, WIRE_ERR_VM_COMMAND);
    wire_vm_command_encode(WIRE_CMD_ENABLE_COLO, 1, b);
    reset();
    assert_false(wire_vm_command_decode(b, &cmd, &len, &err));
    assert_int_equal(err.code, WIRE_ERR_VM_COMMAND);
    assert_int_equal(err.offset, 3);
    assert_string_equal(err.msg, "command ENABLE_COLO length 1, expected 0");
    wire_vm_command_encode(WIRE_CMD_ENABLE_COLO, 0, b);
    b[0] = 0x07;
    reset();
    assert_false(wire_vm_command_decode(b, &cmd, &len, &err));
    assert_int_equal(err.code, WIRE_ERR_VM_SECTION_TYPE);
    assert_int_equal(err.offset, 0);
}

static void test_idstr(void **state)
{
    uint8_t b[1 + 255 + 1] = { 0 };
    char name[WIRE_IDSTR_SIZE];
    char longname[300];
    size_t used = 0;

    (void)state;
    assert_int_equal(wire_idstr_need(b, 0), 1);
    assert_int_equal(wire_idstr_encode("pc.ram", b), 7);
    assert_int_equal(b[0], 6);
    assert_int_equal(wire_idstr_need(b, 1), 7);
    reset();
    assert_true(wire_idstr_decode(b, 7, name, &used, &err));
    assert_string_equal(name, "pc.ram");
    assert_int_equal(used, 7);
    assert_false(wire_idstr_decode(b, 6, name, &used, &err));
    assert_int_equal(err.code, MF_ERR_INVALID_ARG);
    reset();
    assert_false(wire_idstr_decode(b, 0, name, &used, &err));
    assert_int_equal(err.code, MF_ERR_INVALID_ARG);
    /* names are cut at 255 bytes */
    memset(longname, 'z', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    assert_int_equal(wire_idstr_encode(longname, b), 256);
    assert_int_equal(b[0], 255);
    reset();
    assert_true(wire_idstr_decode(b, 256, name, &used, &err));
    assert_int_equal(strlen(name), 255);
    /* empty name decodes (the lookup rejects it, not the wire) */
    assert_int_equal(wire_idstr_encode("", b), 1);
    assert_true(wire_idstr_decode(b, 1, name, &used, &err));
    assert_string_equal(name, "");
    assert_int_equal(used, 1);
}

/*
 * A name read from a buffer that ends right before a PROT_NONE page, into
 * a WIRE_IDSTR_SIZE array that does too: neither is touched past its end
 * (an access there faults), for the shortest and longest names.
 */
static void test_idstr_stays_inside(void **state)
{
    static const size_t lens[] = { 0, 1, 6, 255 };
    SupGuardAlloc g;
    size_t k;

    (void)state;
    sup_guard_alloc_init(&g, SUP_GUARD_AFTER);
    for (k = 0; k < sizeof(lens) / sizeof(lens[0]); k++) {
        size_t n = lens[k], used = 0;
        uint8_t *buf = g.ops.alloc(g.ops.opaque, 1 + n);
        uint8_t *cut = g.ops.alloc(g.ops.opaque, n ? n : 1);
        char *name = g.ops.alloc(g.ops.opaque, WIRE_IDSTR_SIZE);
        char want[WIRE_IDSTR_SIZE];

        assert_non_null(buf);
        assert_non_null(cut);
        assert_non_null(name);
        assert_int_equal((uintptr_t)(buf + 1 + n) % g.page, 0);
        assert_int_equal((uintptr_t)(cut + (n ? n : 1)) % g.page, 0);
        assert_int_equal((uintptr_t)(name + WIRE_IDSTR_SIZE) % g.page, 0);
        memset(want, 'a' + (int)k, n);
        want[n] = '\0';
        buf[0] = (uint8_t)n;
        memcpy(buf + 1, want, n);
        memset(name, 0x5a, WIRE_IDSTR_SIZE);
        reset();
        assert_true(wire_idstr_decode(buf, 1 + n, name, &used, &err));
        assert_int_equal(used, 1 + n);
        assert_string_equal(name, want);
        /* one byte short: refused, nothing read past the buffer */
        if (n > 0) {
            char msg[64];

            cut[0] = (uint8_t)n;
            memcpy(cut + 1, want, n - 1);
            snprintf(msg, sizeof(msg), "name needs %zu bytes, got %zu", 1 + n,
                     n);
            reset();
            assert_false(wire_idstr_decode(cut, n, name, &used, &err));
            assert_int_equal(err.code, MF_ERR_INVALID_ARG);
            assert_int_equal(err.offset, n);
            assert_string_equal(err.msg, msg);
        }
        g.ops.free(g.ops.opaque, name);
        g.ops.free(g.ops.opaque, cut);
        g.ops.free(g.ops.opaque, buf);
    }
    assert_int_equal(sup_guard_alloc_live(&g), 0);
}

static void ram_ok(uint64_t word, uint32_t ps, uint64_t addr, uint32_t flags)
{
    uint64_t a = 1;
    uint32_t f = 1;

    reset();
    assert_true(wire_ram_record_decode(word, ps, &a, &f, &err));
    assert_int_equal(a, addr);
    assert_int_equal(f, flags);
    assert_int_equal(wire_ram_record_encode(addr, flags), word);
}

static void ram_bad(uint64_t word, uint32_t ps, int code)
{
    uint64_t a;
    uint32_t f;

    reset();
    assert_false(wire_ram_record_decode(word, ps, &a, &f, &err));
    assert_int_equal(err.code, code);
    assert_int_equal(err.offset, 0);
}

static void test_ram_record(void **state)
{
    (void)state;
    /* MEM_SIZE word of the 7.2 captures (conn-0.bin offset 43) */
    ram_ok(0x3092004ULL, 4096, 0x3092000ULL, 0x04);
    ram_ok(0x100000 | 0x08, 4096, 0x100000, 0x08);
    ram_ok(0x101000 | 0x28, 4096, 0x101000, 0x28);
    ram_ok(0x2000 | 0x02, 4096, 0x2000, 0x02);
    ram_ok(0x3000 | 0x22, 4096, 0x3000, 0x22);
    ram_ok(0x10, 4096, 0, 0x10);
    ram_ok(0x200, 4096, 0, 0x200);
    ram_ok(0xfffffffffffff000ULL | 0x08, 4096, 0xfffffffffffff000ULL, 0x08);
    /* the split follows the page size */
    ram_ok(0x10000 | 0x08, 65536, 0x10000, 0x08);
    ram_ok(0x400 | 0x08, 1024, 0x400, 0x08);
    ram_ok(0x80000 | 0x10, 524288, 0x80000, 0x10);
}

static void test_ram_record_errors(void **state)
{
    (void)state;
    ram_bad(0x01, 4096, WIRE_ERR_RAM_FLAGS);
    assert_string_equal(err.msg, "RAM record flags 0x1 carry unsupported "
                                 "0x1 (FULL 0x01, XBZRLE 0x40, HOOK 0x80, "
                                 "COMPRESS_PAGE 0x100)");
    ram_bad(0x40, 4096, WIRE_ERR_RAM_FLAGS);
    ram_bad(0x80, 4096, WIRE_ERR_RAM_FLAGS);
    ram_bad(0x100, 4096, WIRE_ERR_RAM_FLAGS);
    ram_bad(0x400, 4096, WIRE_ERR_RAM_FLAGS);
    assert_string_equal(err.msg, "RAM record flags 0x400 carry unknown bits "
                                 "0x400 (known mask 0x23e)");
    ram_bad(0x808, 4096, WIRE_ERR_RAM_FLAGS);
    ram_bad(0, 4096, WIRE_ERR_RAM_FLAGS);
    assert_string_equal(err.msg, "RAM record flags 0x0: need exactly one of "
                                 "MEM_SIZE, ZERO, PAGE, EOS, MULTIFD_FLUSH");
    ram_bad(0x20, 4096, WIRE_ERR_RAM_FLAGS);
    ram_bad(0x0a, 4096, WIRE_ERR_RAM_FLAGS);
    ram_bad(0x18, 4096, WIRE_ERR_RAM_FLAGS);
    ram_bad(0x210, 4096, WIRE_ERR_RAM_FLAGS);
    ram_bad(0x24, 4096, WIRE_ERR_RAM_FLAGS);
    assert_string_equal(err.msg, "RAM record flags 0x24: CONTINUE 0x20 "
                                 "allowed with ZERO or PAGE only");
    ram_bad(0x30, 4096, WIRE_ERR_RAM_FLAGS);
    ram_bad(0x220, 4096, WIRE_ERR_RAM_FLAGS);
    /* unusable page sizes */
    ram_bad(0x08, 0, MF_ERR_INVALID_ARG);
    ram_bad(0x08, 512, MF_ERR_INVALID_ARG);
    ram_bad(0x08, 3072, MF_ERR_INVALID_ARG);
    ram_bad(0x08, 1048576, MF_ERR_INVALID_ARG);
    ram_bad(0x08, 0x80000000u, MF_ERR_INVALID_ARG);
}

/*
 * Every flag bit a record can carry (page size 512 KiB: bits 0..18),
 * alone and beside PAGE: the unsupported ones (FULL 0x01, XBZRLE 0x40,
 * HOOK 0x80, COMPRESS_PAGE 0x100) are refused as unsupported before any
 * other check, every bit above MULTIFD_FLUSH 0x200 as unknown, each with
 * its exact message.
 */
static void test_ram_record_every_flag_bit(void **state)
{
    static const char unsup[] = "(FULL 0x01, XBZRLE 0x40, HOOK 0x80, "
                                "COMPRESS_PAGE 0x100)";
    const uint32_t ps = 524288;
    uint32_t b, k;
    char msg[160];

    (void)state;
    for (b = 0; b < 19; b++) {
        for (k = 0; k < 2; k++) {
            uint32_t bit = 1u << b;
            uint32_t flags = bit | (k ? WIRE_RAM_PAGE : 0);
            uint64_t word = 0x1380000ULL | flags;

            if (bit & (WIRE_RAM_FULL | WIRE_RAM_XBZRLE | WIRE_RAM_HOOK |
                       WIRE_RAM_COMPRESS_PAGE)) {
                ram_bad(word, ps, WIRE_ERR_RAM_FLAGS);
                snprintf(msg, sizeof(msg),
                         "RAM record flags 0x%x carry unsupported 0x%x %s",
                         flags, bit, unsup);
            } else if (bit > WIRE_RAM_MULTIFD_FLUSH) {
                ram_bad(word, ps, WIRE_ERR_RAM_FLAGS);
                snprintf(msg, sizeof(msg),
                         "RAM record flags 0x%x carry unknown bits 0x%x "
                         "(known mask 0x23e)",
                         flags, bit);
            } else if (bit == WIRE_RAM_CONTINUE
                           ? !k /* CONTINUE alone */
                           : k && bit != WIRE_RAM_PAGE /* two main flags */) {
                ram_bad(word, ps, WIRE_ERR_RAM_FLAGS);
                snprintf(msg, sizeof(msg),
                         "RAM record flags 0x%x: need exactly one of "
                         "MEM_SIZE, ZERO, PAGE, EOS, MULTIFD_FLUSH",
                         flags);
            } else {
                ram_ok(word, ps, 0x1380000ULL, flags);
                continue;
            }
            assert_string_equal(err.msg, msg);
        }
    }
}

static void test_zero_fill(void **state)
{
    (void)state;
    reset();
    assert_true(wire_ram_zero_fill_check(0, &err));
    assert_false(wire_ram_zero_fill_check(1, &err));
    assert_int_equal(err.code, WIRE_ERR_RAM_ZERO_FILL);
    assert_int_equal(err.offset, 0);
    assert_string_equal(err.msg, "ZERO record fill byte 0x01, expected 0x00");
    reset();
    assert_false(wire_ram_zero_fill_check(0xff, &err));
    assert_int_equal(err.code, WIRE_ERR_RAM_ZERO_FILL);
}

static void test_colo_messages(void **state)
{
    uint8_t b[WIRE_COLO_MESSAGE_SIZE];
    static const uint8_t want[] = { 0, 0, 0, 4 };
    uint32_t v;
    uint32_t i;

    (void)state;
    reset();
    for (i = 0; i <= WIRE_COLO_VMSTATE_LOADED; i++) {
        assert_true(wire_colo_message_check(i, &err));
        wire_colo_message_encode(i, b);
        assert_true(wire_colo_message_decode(b, &v, &err));
        assert_int_equal(v, i);
    }
    wire_colo_message_encode(WIRE_COLO_VMSTATE_SIZE, b);
    assert_memory_equal(b, want, sizeof(want));
    assert_false(wire_colo_message_check(7, &err));
    assert_int_equal(err.code, WIRE_ERR_COLO_MESSAGE);
    assert_string_equal(err.msg, "COLO message 7 unknown (limit 6)");
    reset();
    wire_colo_message_encode(0xffffffffu, b);
    assert_false(wire_colo_message_decode(b, &v, &err));
    assert_int_equal(err.code, WIRE_ERR_COLO_MESSAGE);
    assert_int_equal(err.offset, 0);
    assert_int_equal(v, 0xffffffffu);
}

/* Codes are stable numbers (docs/wire.md lists them; CI logs cite them). */
static void test_error_codes(void **state)
{
    (void)state;
    assert_int_equal(WIRE_ERR_CHANNEL_MAGIC, 201);
    assert_int_equal(WIRE_ERR_PACKET_MAGIC, 204);
    assert_int_equal(WIRE_ERR_PACKET_BLOCK_NAME_EMPTY, 212);
    assert_int_equal(WIRE_ERR_DEVSTATE_IDSTR, 215);
    assert_int_equal(WIRE_ERR_COLO_MESSAGE, 220);
    assert_int_equal(WIRE_ERR_VM_FOOTER, 221);
    assert_int_equal(WIRE_ERR_VM_COMMAND, 222);
    assert_int_equal(WIRE_ERR_RAM_ZERO_FILL, 223);
    assert_true((int)WIRE_ERR_RAM_ZERO_FILL < (int)MF_ERR_CHAN_RANGE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_vm_header),
        cmocka_unit_test(test_section_type_check),
        cmocka_unit_test(test_section_start),
        cmocka_unit_test(test_section_full_long_name),
        cmocka_unit_test(test_section_part_end),
        cmocka_unit_test(test_section_not_a_header),
        cmocka_unit_test(test_footer),
        cmocka_unit_test(test_command),
        cmocka_unit_test(test_idstr),
        cmocka_unit_test(test_idstr_stays_inside),
        cmocka_unit_test(test_ram_record),
        cmocka_unit_test(test_ram_record_errors),
        cmocka_unit_test(test_ram_record_every_flag_bit),
        cmocka_unit_test(test_zero_fill),
        cmocka_unit_test(test_colo_messages),
        cmocka_unit_test(test_error_codes),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
