/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Every size bound of the main-channel parser (core/incoming) at its
 * value and one byte past it: the value is accepted (the stream loads,
 * the hook sees exactly that many bytes), one more is refused with the
 * bound's own code at the offset that names it.  The bounds
 * (docs/incoming.md, docs/verification.md "Second guards"):
 *
 * - max_device_state over the precopy device state, with and without
 *   the VM description after it, and over a checkpoint's VMSTATE_SIZE;
 * - INCOMING_VMDESC_MAX over the VM description, after device sections
 *   and after a QEMU_VM_EOF without them;
 * - max_ram over a MEM_SIZE total, a block's length over what is left of
 *   the total (replay, blocks created from the list);
 * - a 255-byte block name in a MEM_SIZE list (the RAM table's limit);
 * - the CONFIGURATION machine name, 255 bytes and 256.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "incoming/incoming.h"
#include "ram/ram.h"
#include "secondary.h"
#include "stream-build.h"

#define MAXDEV 1000u
/* sb_section_start of "timer": type, id, name length, name, ids */
#define DEV_SECTION_HDR (1 + 4 + 1 + 5 + 4 + 4)

typedef struct Fx {
    SupBuf s;
    Secondary *sec;
    bool colo;
    bool replay; /* blocks from the MEM_SIZE list */
    uint64_t max_devstate;
    uint64_t max_ram;
    MfError err;
    IncomingOutcome outcome;
    bool ok;
    int loads[2]; /* per IncomingDeviceStateKind */
    size_t len[2];
} Fx;

static bool h_load(void *opaque, IncomingDeviceStateKind kind,
                   const uint8_t *data, size_t len, MfError *err)
{
    Fx *fx = opaque;
    int k = kind == INCOMING_DEVSTATE_PRECOPY ? 0 : 1;

    (void)data;
    (void)err;
    fx->loads[k]++;
    fx->len[k] = len;
    return true;
}

static void fx_run(Fx *fx)
{
    static const SecondaryBlock blocks[] = {
        { "pc.ram", SB_RAM_LEN, NULL },
        { "small", SB_SMALL_LEN, NULL },
    };
    SecondaryOptions so = { 0 };
    MfError e = { 0 };
    Chan *main, *reply;

    so.page_size = SB_PAGE;
    so.create_blocks = fx->replay;
    if (!fx->replay) {
        so.blocks = blocks;
        so.nblocks = 2;
    }
    so.colo = fx->colo;
    so.expect_end = true;
    so.max_device_state = fx->max_devstate;
    so.max_ram = fx->max_ram;
    so.hooks.opaque = fx;
    so.hooks.load_device_state = h_load;
    fx->sec = secondary_build(&so, &e);
    assert_non_null(fx->sec);
    main = chan_mem_new(fx->s.data, fx->s.len, 0, "main", &e);
    reply = chan_mem_sink_new("reply", &e);
    assert_non_null(main);
    assert_non_null(reply);
    assert_true(secondary_attach_main(fx->sec, main, reply, &e));
    fx->ok = incoming_run(fx->sec->in, &fx->outcome, &fx->err);
}

static void fx_done(Fx *fx)
{
    secondary_free(fx->sec);
    sup_buf_free(&fx->s);
    memset(fx, 0, sizeof(*fx));
}

static void expect_ok(Fx *fx, IncomingOutcome outcome)
{
    if (!fx->ok) {
        char line[300];

        mf_error_format(&fx->err, line, sizeof(line));
        fail_msg("want success, got %s: %s",
                 fx->err.code_name ? fx->err.code_name : "-", line);
    }
    assert_int_equal(fx->outcome, outcome);
}

static void expect_err(Fx *fx, int code, uint64_t offset, const char *msg)
{
    char line[300];

    mf_error_format(&fx->err, line, sizeof(line));
    if (fx->ok || fx->err.code != code || fx->err.offset != offset) {
        print_error("want code %d offset %llu, got ok=%d: %s (%s, %d)\n", code,
                    (unsigned long long)offset, fx->ok, line,
                    fx->err.code_name ? fx->err.code_name : "-", fx->err.code);
    }
    assert_false(fx->ok);
    assert_int_equal(fx->err.code, code);
    assert_true(fx->err.located);
    assert_string_equal(fx->err.where, "main");
    assert_int_equal(fx->err.offset, offset);
    assert_string_equal(fx->err.msg, msg);
}

/*
 * Precopy whose device state (first section's type byte up to and
 * including QEMU_VM_EOF) is @dev bytes: one FULL section of opaque 0x11
 * bytes.  Returns the offset of the device state.
 */
static uint64_t build_precopy_dev(SupBuf *b, bool colo, size_t dev)
{
    uint64_t start;
    size_t opaque = dev - DEV_SECTION_HDR - 5 - 1;

    sb_begin(b, colo);
    sb_ram_end(b);
    start = b->len;
    sb_section_start(b, WIRE_VM_SECTION_FULL, 0, "timer", 0, 2);
    memset(sup_buf_grow(b, opaque), 0x11, opaque);
    sb_footer(b, 0);
    sup_buf_put_u8(b, WIRE_VM_EOF);
    assert_int_equal(b->len - start, dev);
    return start;
}

/* ---- max_device_state ---- */

static void test_precopy_device_state(void **state)
{
    Fx fx = { 0 };
    uint64_t start;
    char msg[200];

    (void)state;
    /* exactly the bound, then the VM description */
    fx.max_devstate = MAXDEV;
    build_precopy_dev(&fx.s, false, MAXDEV);
    sb_vmdesc(&fx.s);
    fx_run(&fx);
    expect_ok(&fx, INCOMING_COMPLETED);
    assert_int_equal(fx.loads[0], 1);
    assert_int_equal(fx.len[0], MAXDEV);
    fx_done(&fx);

    /* one byte more: refused where the reading stopped, the bound named */
    fx.max_devstate = MAXDEV;
    start = build_precopy_dev(&fx.s, false, MAXDEV + 1);
    sb_vmdesc(&fx.s);
    fx_run(&fx);
    snprintf(msg, sizeof(msg),
             "precopy device state from offset %llu exceeds the bound of %u "
             "bytes up to QEMU_VM_EOF",
             (unsigned long long)start, MAXDEV);
    expect_err(&fx, INCOMING_ERR_DEVICE_STATE_SIZE, start + MAXDEV + 18, msg);
    assert_int_equal(fx.loads[0], 0);
    fx_done(&fx);
}

/* A plain stream may end right after QEMU_VM_EOF: the same bound. */
static void test_precopy_device_state_no_vmdesc(void **state)
{
    Fx fx = { 0 };
    uint64_t start;
    char msg[200];

    (void)state;
    fx.max_devstate = MAXDEV;
    build_precopy_dev(&fx.s, false, MAXDEV);
    fx_run(&fx);
    expect_ok(&fx, INCOMING_COMPLETED);
    assert_int_equal(fx.len[0], MAXDEV);
    fx_done(&fx);

    fx.max_devstate = MAXDEV;
    start = build_precopy_dev(&fx.s, false, MAXDEV + 1);
    fx_run(&fx);
    snprintf(msg, sizeof(msg),
             "precopy device state from offset %llu exceeds the bound of %u "
             "bytes up to QEMU_VM_EOF",
             (unsigned long long)start, MAXDEV);
    expect_err(&fx, INCOMING_ERR_DEVICE_STATE_SIZE, start + MAXDEV + 1, msg);
    assert_int_equal(fx.loads[0], 0);
    fx_done(&fx);
}

/* A checkpoint's VMSTATE_SIZE: the device state of a COLO checkpoint. */
static void test_checkpoint_device_state(void **state)
{
    Fx fx = { 0 };
    uint64_t at;

    (void)state;
    fx.colo = true;
    fx.max_devstate = MAXDEV;
    build_precopy_dev(&fx.s, true, 100);
    sb_vmdesc(&fx.s);
    sb_cp_begin(&fx.s);
    sb_cp_end(&fx.s, MAXDEV);
    fx_run(&fx);
    expect_ok(&fx, INCOMING_FAILED_OVER);
    assert_int_equal(fx.loads[1], 1);
    assert_int_equal(fx.len[1], MAXDEV);
    fx_done(&fx);

    fx.colo = true;
    fx.max_devstate = MAXDEV;
    build_precopy_dev(&fx.s, true, 100);
    sb_vmdesc(&fx.s);
    sb_cp_begin(&fx.s);
    sb_cp_end(&fx.s, MAXDEV + 1);
    at = fx.s.len - (MAXDEV + 1) - 8;
    fx_run(&fx);
    expect_err(&fx, INCOMING_ERR_DEVICE_STATE_SIZE, at,
               "VMSTATE_SIZE 1001 above the bound 1000");
    assert_int_equal(fx.loads[1], 0);
    fx_done(&fx);
}

/* ---- INCOMING_VMDESC_MAX ---- */

/*
 * 0x06, be32 @len, a JSON start and filler: @len bytes, or only the JSON
 * start when @whole is false (a refused length is not read past).
 */
static void put_vmdesc(SupBuf *b, uint32_t len, bool whole)
{
    static const char start[] = "{\"page_size\":";
    size_t n = whole ? len : sizeof(start) - 1;
    uint8_t *p;

    sup_buf_put_u8(b, WIRE_VM_VMDESCRIPTION);
    sup_buf_put_be32(b, len);
    p = sup_buf_grow(b, n);
    memset(p, ' ', n);
    memcpy(p, start, sizeof(start) - 1);
}

static void test_vmdesc_after_devices(void **state)
{
    Fx fx = { 0 };
    uint64_t at;
    char msg[200];

    (void)state;
    assert_int_equal(INCOMING_VMDESC_MAX, 64u * 1024 * 1024);
    build_precopy_dev(&fx.s, false, 100);
    put_vmdesc(&fx.s, INCOMING_VMDESC_MAX, true);
    fx_run(&fx);
    expect_ok(&fx, INCOMING_COMPLETED);
    assert_int_equal(fx.len[0], 100);
    fx_done(&fx);

    at = build_precopy_dev(&fx.s, false, 100) + 100 + 1;
    put_vmdesc(&fx.s, INCOMING_VMDESC_MAX + 1, false);
    fx_run(&fx);
    snprintf(msg, sizeof(msg), "VM description length %u (13..%u)",
             INCOMING_VMDESC_MAX + 1, INCOMING_VMDESC_MAX);
    expect_err(&fx, INCOMING_ERR_VMDESC_SIZE, at, msg);
    fx_done(&fx);
}

/* QEMU_VM_EOF with no device section, then the description. */
static void test_vmdesc_without_devices(void **state)
{
    Fx fx = { 0 };
    uint64_t at;
    char msg[200];

    (void)state;
    sb_begin(&fx.s, false);
    sb_ram_end(&fx.s);
    sup_buf_put_u8(&fx.s, WIRE_VM_EOF);
    put_vmdesc(&fx.s, INCOMING_VMDESC_MAX, true);
    fx_run(&fx);
    expect_ok(&fx, INCOMING_COMPLETED);
    fx_done(&fx);

    sb_begin(&fx.s, false);
    sb_ram_end(&fx.s);
    sup_buf_put_u8(&fx.s, WIRE_VM_EOF);
    at = fx.s.len + 1;
    put_vmdesc(&fx.s, INCOMING_VMDESC_MAX + 1, false);
    fx_run(&fx);
    snprintf(msg, sizeof(msg), "VM description length %u above the bound %u",
             INCOMING_VMDESC_MAX + 1, INCOMING_VMDESC_MAX);
    expect_err(&fx, INCOMING_ERR_VMDESC_SIZE, at, msg);
    fx_done(&fx);
}

/* ---- MEM_SIZE (replay: the list creates the blocks) ---- */

static uint64_t build_mem_size(SupBuf *b, uint64_t total, uint64_t small)
{
    uint64_t at;

    sb_header(b);
    sb_config(b, "pc-i440fx-7.2");
    sb_section_start(b, WIRE_VM_SECTION_START, SB_RAM_SID, "ram", 0, 4);
    at = b->len;
    sb_record(b, total, WIRE_RAM_MEM_SIZE);
    sb_name(b, "pc.ram");
    sup_buf_put_be64(b, SB_RAM_LEN);
    sb_name(b, "small");
    sup_buf_put_be64(b, small);
    sb_eos(b);
    sb_footer(b, SB_RAM_SID);
    sb_ram_end(b);
    sb_devices_end(b);
    return at;
}

static void test_mem_size_total(void **state)
{
    const uint64_t total = SB_RAM_LEN + SB_SMALL_LEN;
    Fx fx = { 0 };
    uint64_t at;

    (void)state;
    fx.replay = true;
    fx.max_ram = total;
    build_mem_size(&fx.s, total, SB_SMALL_LEN);
    fx_run(&fx);
    expect_ok(&fx, INCOMING_COMPLETED);
    assert_int_equal(fx.sec->ram.nblocks, 2);
    fx_done(&fx);

    fx.replay = true;
    fx.max_ram = total - 1;
    at = build_mem_size(&fx.s, total, SB_SMALL_LEN);
    fx_run(&fx);
    expect_err(&fx, INCOMING_ERR_RAM_TOO_LARGE, at,
               "MEM_SIZE total 69632 bytes above the limit 69631");
    fx_done(&fx);
}

/* The last block may take what is left of the total, not a byte more. */
static void test_mem_size_block_left(void **state)
{
    const uint64_t total = SB_RAM_LEN + SB_SMALL_LEN;
    Fx fx = { 0 };
    uint64_t at;

    (void)state;
    fx.replay = true;
    at = build_mem_size(&fx.s, total, SB_SMALL_LEN + 1);
    fx_run(&fx);
    /* record word, "pc.ram", its length, "small", then its length */
    expect_err(&fx, INCOMING_ERR_MEM_SIZE, at + 8 + 7 + 8 + 6,
               "MEM_SIZE block \"small\" length 4097 exceeds the 4096 bytes "
               "left of the total 69632");
    fx_done(&fx);
}

/* A block name of 255 bytes, the longest a RAM block has. */
static void test_mem_size_name_255(void **state)
{
    char name[256];
    Fx fx = { 0 };

    (void)state;
    memset(name, 'n', 255);
    name[255] = '\0';
    fx.replay = true;
    sb_header(&fx.s);
    sb_config(&fx.s, "pc-i440fx-7.2");
    sb_section_start(&fx.s, WIRE_VM_SECTION_START, SB_RAM_SID, "ram", 0, 4);
    sb_record(&fx.s, SB_PAGE, WIRE_RAM_MEM_SIZE);
    sb_name(&fx.s, name);
    sup_buf_put_be64(&fx.s, SB_PAGE);
    sb_eos(&fx.s);
    sb_footer(&fx.s, SB_RAM_SID);
    sb_section_part(&fx.s, WIRE_VM_SECTION_END, SB_RAM_SID);
    sb_page(&fx.s, name, 0, 0x3c);
    sb_eos(&fx.s);
    sb_footer(&fx.s, SB_RAM_SID);
    sb_devices_end(&fx.s);
    fx_run(&fx);
    expect_ok(&fx, INCOMING_COMPLETED);
    assert_non_null(ram_table_find(&fx.sec->ram, name));
    assert_int_equal(ram_table_find(&fx.sec->ram, name)->host[4095], 0x3c);
    fx_done(&fx);
}

/* The CONFIGURATION machine name: 1..255 bytes. */
static void test_configuration_name(void **state)
{
    char name[257];
    Fx fx = { 0 };

    (void)state;
    memset(name, 'm', 256);
    name[255] = '\0';
    sb_header(&fx.s);
    sb_config(&fx.s, name);
    sb_section_start(&fx.s, WIRE_VM_SECTION_START, SB_RAM_SID, "ram", 0, 4);
    sb_mem_size(&fx.s);
    sb_eos(&fx.s);
    sb_footer(&fx.s, SB_RAM_SID);
    sb_end(&fx.s);
    fx_run(&fx);
    expect_ok(&fx, INCOMING_COMPLETED);
    fx_done(&fx);

    name[255] = 'm';
    name[256] = '\0';
    sb_header(&fx.s);
    sb_config(&fx.s, name);
    fx_run(&fx);
    expect_err(&fx, INCOMING_ERR_CONFIGURATION, 9,
               "CONFIGURATION machine name length 256 (1..255)");
    fx_done(&fx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_precopy_device_state),
        cmocka_unit_test(test_precopy_device_state_no_vmdesc),
        cmocka_unit_test(test_checkpoint_device_state),
        cmocka_unit_test(test_vmdesc_after_devices),
        cmocka_unit_test(test_vmdesc_without_devices),
        cmocka_unit_test(test_mem_size_total),
        cmocka_unit_test(test_mem_size_block_left),
        cmocka_unit_test(test_mem_size_name_255),
        cmocka_unit_test(test_configuration_name),
    };

    return cmocka_run_group_tests_name("incoming/bounds", tests, NULL, NULL);
}
