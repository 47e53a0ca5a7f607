/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The QEMU 7.2 shape check that the fake primary's 7.2 style must pass
 * (refdecode.c) also holds on the real QEMU 7.2 multifd captures, so the
 * check describes QEMU, not the generator.  argv[1]: the captures
 * directory (a missing one fails).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "refdecode.h"

static const char *captures_dir;

static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *data;
    long n;

    if (!f) {
        fail_msg("cannot open %s", path);
    }
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    data = malloc((size_t)n + 1);
    assert_int_equal(fread(data, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return data;
}

static void test_captures_have_72_shape(void **state)
{
    static const struct {
        const char *dir;
        WireCompression comp;
    } runs[] = {
        { "nocomp-2ch", WIRE_COMP_NONE },
        { "zstd-2ch", WIRE_COMP_ZSTD },
        { "zlib-2ch", WIRE_COMP_ZLIB },
    };
    size_t rides = 0;

    (void)state;
    for (size_t r = 0; r < 3; r++) {
        for (int c = 1; c <= 2; c++) {
            char path[4096];
            char why[200] = "";
            size_t len, n_rides = 0;
            uint8_t *data;

            snprintf(path, sizeof(path), "%s/qemu-7.2/%s/conn-%d.bin",
                     captures_dir, runs[r].dir, c);
            data = slurp(path, &len);
            /* 3 RAM_SAVE_FLAG_EOS on main: 3 SYNC per channel. */
            if (!ref_check_72_shape(data, len, 4096, runs[r].comp, 3, &n_rides,
                                    NULL, why, sizeof(why))) {
                fail_msg("%s: %s", path, why);
            }
            rides += n_rides;
            free(data);
        }
    }
    assert_true(rides > 0); /* the captures have SYNC riding on data */
}

/* COLO over multifd (QEMU 7.2): 3 precopy EOS + 1 checkpoint EOS. */
static void test_colo_capture_has_72_shape(void **state)
{
    (void)state;
    for (int c = 1; c <= 2; c++) {
        char path[4096];
        char why[200] = "";
        size_t len;
        uint8_t *data;

        snprintf(path, sizeof(path),
                 "%s/qemu-7.2-colo/kvm-multifd2/"
                 "conn-%d.bin",
                 captures_dir, c);
        data = slurp(path, &len);
        if (!ref_check_72_shape(data, len, 4096, WIRE_COMP_NONE, 4, NULL, NULL,
                                why, sizeof(why))) {
            fail_msg("%s: %s", path, why);
        }
        free(data);
    }
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_captures_have_72_shape),
        cmocka_unit_test(test_colo_capture_has_72_shape),
    };

    if (argc < 2) {
        fprintf(stderr, "usage: %s CAPTURES_DIR\n", argv[0]);
        return 1;
    }
    captures_dir = argv[1];
    return cmocka_run_group_tests(tests, NULL, NULL);
}
