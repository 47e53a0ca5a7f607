/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Known-answer tests of tests/support/sha256.c (FIPS 180-4 examples). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sha256.h"

static void hex_of(const char *msg, size_t len, char *hex)
{
    sha256_hex(msg, len, SHA256_DIGEST_SIZE, hex);
}

static void test_known_answers(void **state)
{
    static const struct {
        const char *msg;
        const char *hex;
    } kat[] = {
        { "",
          "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
        { "abc",
          "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
        { "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
          "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1" },
        { "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmn"
          "hijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
          "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1" },
    };
    char hex[65];

    (void)state;
    for (size_t i = 0; i < sizeof(kat) / sizeof(kat[0]); i++) {
        hex_of(kat[i].msg, strlen(kat[i].msg), hex);
        assert_string_equal(hex, kat[i].hex);
    }
}

static void test_million_a(void **state)
{
    char *a = malloc(1000000);
    char hex[65];

    (void)state;
    memset(a, 'a', 1000000);
    hex_of(a, 1000000, hex);
    assert_string_equal(hex, "cdc76e5c9914fb9281a1c7e284d73e67"
                             "f1809a48a497200e046d39ccc7112cd0");
    free(a);
}

/* Any split of the input gives the one-shot digest (padding edges). */
static void test_incremental(void **state)
{
    uint8_t data[300];
    uint8_t one[32], inc[32];

    (void)state;
    for (size_t i = 0; i < sizeof(data); i++) {
        data[i] = (uint8_t)(i * 7 + 1);
    }
    for (size_t len = 0; len <= sizeof(data); len += 1) {
        sha256_digest(data, len, one);
        for (size_t cut = 0; cut <= len; cut += 17) {
            Sha256 c;

            sha256_init(&c);
            sha256_update(&c, data, cut);
            sha256_update(&c, data + cut, len - cut);
            sha256_final(&c, inc);
            assert_memory_equal(one, inc, 32);
        }
    }
}

static void test_hex_prefix(void **state)
{
    char hex[17];

    (void)state;
    sha256_hex("abc", 3, 8, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_answers),
        cmocka_unit_test(test_million_a),
        cmocka_unit_test(test_incremental),
        cmocka_unit_test(test_hex_prefix),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
