/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests for core/wire/devstate.c (device-state packet header). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "base/be.h"
#include "wire/errors.h"
#include "wire/multifd.h"

static uint8_t buf[WIRE_DEVSTATE_HDR_SIZE];
static WireDevStatePacket out;
static MfError err;

static void build(uint32_t flags, uint32_t size)
{
    WireDevStatePacket pkt = { .flags = flags,
                               .instance_id = 3,
                               .next_packet_size = size };

    strcpy(pkt.idstr, "0000:00:02.0/vfio");
    wire_devstate_encode(&pkt, buf);
    memset(&out, 0, sizeof(out));
    mf_error_clear(&err);
}

static void expect_error(int code, uint64_t offset)
{
    assert_false(wire_devstate_decode(buf, &out, &err));
    assert_int_equal(err.code, code);
    assert_int_equal(err.offset, offset);
}

static void test_encode_layout(void **state)
{
    uint8_t want[WIRE_DEVSTATE_HDR_SIZE];

    (void)state;
    memset(want, 0, sizeof(want));
    mf_be32_store(want, 0x11223344);
    mf_be32_store(want + 4, 1);
    mf_be32_store(want + 8, 0x40);
    memcpy(want + 12, "0000:00:02.0/vfio", 17);
    mf_be32_store(want + 268, 3);
    mf_be32_store(want + 272, 1000);
    memset(buf, 0xcc, sizeof(buf));
    build(0x40, 1000);
    assert_memory_equal(buf, want, sizeof(want));
}

static void test_decode_ok(void **state)
{
    (void)state;
    build(WIRE_FLAG_DEVICE_STATE, 1);
    assert_true(wire_devstate_decode(buf, &out, &err));
    assert_int_equal(out.flags, 0x40);
    assert_int_equal(out.instance_id, 3);
    assert_int_equal(out.next_packet_size, 1);
    assert_string_equal(out.idstr, "0000:00:02.0/vfio");
    /* bytes after the NUL are dropped */
    build(WIRE_FLAG_DEVICE_STATE, 1);
    memset(buf + 12 + 18, 0xee, 256 - 18 - 1);
    memset(out.idstr, 0x55, sizeof(out.idstr));
    assert_true(wire_devstate_decode(buf, &out, &err));
    assert_string_equal(out.idstr, "0000:00:02.0/vfio");
    assert_int_equal(out.idstr[18], 0);
    assert_int_equal(out.idstr[254], 0);
    build(WIRE_FLAG_DEVICE_STATE, 0xffffffffu);
    assert_true(wire_devstate_decode(buf, &out, &err));
    assert_int_equal(out.next_packet_size, 0xffffffffu);
    /* compression bits are not checked */
    build(WIRE_FLAG_DEVICE_STATE | 0x3e, 5);
    assert_true(wire_devstate_decode(buf, &out, &err));
}

static void test_header_errors(void **state)
{
    (void)state;
    build(0x40, 5);
    buf[1] = 0;
    expect_error(WIRE_ERR_PACKET_MAGIC, 0);
    build(0x40, 5);
    buf[7] = 9;
    expect_error(WIRE_ERR_PACKET_VERSION, 4);
    build(0x00, 5);
    expect_error(WIRE_ERR_PACKET_DEVICE_STATE, 8);
    assert_string_equal(err.msg, "packet flags 0x0 lack the device-state "
                                 "bit 0x40: not a device-state packet");
}

static void test_sync(void **state)
{
    (void)state;
    build(0x41, 5);
    expect_error(WIRE_ERR_DEVSTATE_SYNC, 8);
    assert_string_equal(err.msg, "device-state packet flags 0x41 carry "
                                 "SYNC 0x1, not allowed");
    /* SYNC is reported before an empty size and a bad idstr */
    build(0x41, 0);
    buf[267] = 'x';
    expect_error(WIRE_ERR_DEVSTATE_SYNC, 8);
}

static void test_empty(void **state)
{
    (void)state;
    build(0x40, 0);
    expect_error(WIRE_ERR_DEVSTATE_EMPTY, 272);
    assert_string_equal(err.msg, "device-state packet next_packet_size 0, "
                                 "expected at least 1");
    build(0x40, 0);
    buf[267] = 'x';
    expect_error(WIRE_ERR_DEVSTATE_EMPTY, 272);
}

static void test_idstr(void **state)
{
    (void)state;
    /* 255 characters + NUL: accepted */
    build(0x40, 5);
    memset(buf + 12, 'v', 255);
    buf[267] = 0;
    assert_true(wire_devstate_decode(buf, &out, &err));
    assert_int_equal(strlen(out.idstr), 255);
    /* byte 255 not NUL: QEMU's rule, even with an earlier NUL */
    build(0x40, 5);
    buf[267] = 'x';
    expect_error(WIRE_ERR_DEVSTATE_IDSTR, 267);
    assert_string_equal(err.msg, "device-state idstr byte 255 is 0x78, "
                                 "expected NUL (limit 255 characters)");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_encode_layout), cmocka_unit_test(test_decode_ok),
        cmocka_unit_test(test_header_errors), cmocka_unit_test(test_sync),
        cmocka_unit_test(test_empty),         cmocka_unit_test(test_idstr),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
