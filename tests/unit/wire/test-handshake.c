/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests for core/wire/handshake.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "base/be.h"
#include "wire/errors.h"
#include "wire/multifd.h"

static const uint8_t uuid[WIRE_UUID_SIZE] = {
    0x6d, 0x75, 0x6c, 0x74, 0x69, 0x66, 0x64, 0x63,
    0x61, 0x70, 0x74, 0x75, 0x72, 0x65, 0x21, 0x21,
};

static void test_classify(void **state)
{
    static const uint8_t qevm[4] = { 'Q', 'E', 'V', 'M' };
    static const uint8_t mfd[4] = { 0x11, 0x22, 0x33, 0x44 };
    static const uint8_t bad[4] = { 0x44, 0x33, 0x22, 0x11 };
    WireChannelKind kind = WIRE_CHANNEL_MULTIFD;
    MfError err;

    (void)state;
    mf_error_clear(&err);
    assert_true(wire_classify_channel(qevm, &kind, &err));
    assert_int_equal(kind, WIRE_CHANNEL_MAIN);
    assert_true(wire_classify_channel(mfd, &kind, &err));
    assert_int_equal(kind, WIRE_CHANNEL_MULTIFD);
    assert_false(mf_error_is_set(&err));
    assert_false(wire_classify_channel(bad, &kind, &err));
    assert_int_equal(err.code, WIRE_ERR_CHANNEL_MAGIC);
    assert_int_equal(err.offset, 0);
    assert_string_equal(err.msg, "channel magic 0x44332211 is neither "
                                 "QEVM 0x5145564d nor multifd 0x11223344");
    assert_int_equal(kind, WIRE_CHANNEL_MULTIFD); /* untouched */
}

static void test_encode_exact(void **state)
{
    WireHandshake hs = { .magic = WIRE_MULTIFD_MAGIC,
                         .version = WIRE_MULTIFD_VERSION,
                         .id = 1 };
    uint8_t buf[WIRE_HANDSHAKE_SIZE];
    uint8_t want[WIRE_HANDSHAKE_SIZE] = { 0x11, 0x22, 0x33, 0x44, 0, 0, 0, 1 };

    (void)state;
    memcpy(hs.uuid, uuid, sizeof(uuid));
    memcpy(want + 8, uuid, sizeof(uuid));
    want[24] = 1;
    memset(buf, 0xcc, sizeof(buf));
    wire_handshake_encode(&hs, buf);
    assert_memory_equal(buf, want, sizeof(want)); /* 39 zero bytes */
}

static void test_decode(void **state)
{
    WireHandshake hs = { .magic = WIRE_MULTIFD_MAGIC,
                         .version = WIRE_MULTIFD_VERSION,
                         .id = 255 };
    WireHandshake out;
    uint8_t buf[WIRE_HANDSHAKE_SIZE];
    MfError err;

    (void)state;
    memcpy(hs.uuid, uuid, sizeof(uuid));
    wire_handshake_encode(&hs, buf);
    mf_error_clear(&err);
    assert_true(wire_handshake_decode(buf, &out, &err));
    assert_int_equal(out.magic, WIRE_MULTIFD_MAGIC);
    assert_int_equal(out.version, 1);
    assert_int_equal(out.id, 255);
    assert_memory_equal(out.uuid, uuid, sizeof(uuid));
    /* reserved bytes are ignored */
    memset(buf + 25, 0xff, WIRE_HANDSHAKE_SIZE - 25);
    assert_true(wire_handshake_decode(buf, &out, &err));
    assert_int_equal(out.id, 255);
    assert_false(mf_error_is_set(&err));
}

static void test_bad_magic(void **state)
{
    WireHandshake hs = { .magic = 0x5145564d, .version = 1 };
    WireHandshake out;
    uint8_t buf[WIRE_HANDSHAKE_SIZE];
    MfError err;

    (void)state;
    wire_handshake_encode(&hs, buf);
    mf_error_clear(&err);
    assert_false(wire_handshake_decode(buf, &out, &err));
    assert_int_equal(err.code, WIRE_ERR_HANDSHAKE_MAGIC);
    assert_int_equal(err.offset, 0);
    assert_string_equal(err.msg,
                        "handshake magic 0x5145564d, expected 0x11223344");
}

static void test_bad_version(void **state)
{
    static const uint32_t bad[] = { 0, 2, 0xffffffffu };
    WireHandshake hs = { .magic = WIRE_MULTIFD_MAGIC };
    WireHandshake out;
    uint8_t buf[WIRE_HANDSHAKE_SIZE];
    MfError err;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        hs.version = bad[i];
        wire_handshake_encode(&hs, buf);
        mf_error_clear(&err);
        assert_false(wire_handshake_decode(buf, &out, &err));
        assert_int_equal(err.code, WIRE_ERR_HANDSHAKE_VERSION);
        assert_int_equal(err.offset, 4);
    }
    assert_string_equal(err.msg, "handshake version 4294967295, expected 1");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_classify),    cmocka_unit_test(test_encode_exact),
        cmocka_unit_test(test_decode),      cmocka_unit_test(test_bad_magic),
        cmocka_unit_test(test_bad_version),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
