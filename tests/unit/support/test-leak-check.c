/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The leak check of the default run (tests/support/leak-check.h): it
 * sees core/'s allocations (a memory sink growing, a zstd decoder), and a
 * program that exits with one of them still live fails with status 1 and
 * the "leak-check:" report, while the same program that frees them exits
 * 0.  The programs are this one re-executed with a mode argument.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "chan/chan.h"
#include "codec/codec.h"
#include "leak-check.h"
#include "watchdog.h"

static const char *self_path;

/* A memory sink grown to 64 KiB (four growths from 4 KiB). */
static Chan *grown_sink(void)
{
    static uint8_t chunk[1024];
    MfError err = { 0 };
    Chan *c = chan_mem_sink_new("sink", &err);
    size_t len;
    int i;

    assert_non_null(c);
    for (i = 0; i < 64; i++) {
        assert_true(chan_write_full(c, chunk, sizeof(chunk), &err));
    }
    chan_mem_data(c, &len);
    assert_int_equal(len, 64 * 1024);
    return c;
}

/* Every growth of the sink hands its old buffer back: one block live. */
static void test_sink_growth_counted(void **state)
{
    SupLeakCount before = sup_leak_live(), mid, after;
    Chan *c;

    (void)state;
    c = grown_sink();
    mid = sup_leak_live();
    /* the Chan and its 64 KiB buffer, nothing of the smaller ones */
    assert_int_equal(mid.blocks - before.blocks, 2);
    assert_true(mid.bytes - before.bytes >= 64 * 1024);
    assert_true(mid.bytes - before.bytes < 64 * 1024 + 1024);
    chan_free(c);
    after = sup_leak_live();
    assert_int_equal(after.blocks, before.blocks);
    assert_int_equal(after.bytes, before.bytes);
}

/*
 * The decoders' own allocations (zstd's ZSTD_customMem, zlib's zalloc)
 * are core/'s too: they reach malloc/calloc through core/codec, tail
 * calls from inside libzstd and libz.
 */
static void test_codec_counted(void **state)
{
    static const struct {
        WireCompression method;
        size_t blocks; /* at least, after codec_new */
    } m[] = {
        { WIRE_COMP_ZSTD, 2 }, /* the Codec, the ZSTD_DStream */
        { WIRE_COMP_ZLIB, 3 }, /* the Codec, the z_stream, inflate state */
    };
    size_t i;

    (void)state;
    for (i = 0; i < 2; i++) {
        SupLeakCount before = sup_leak_live(), mid;
        MfError err = { 0 };
        Codec *c;

        if (!codec_supported(m[i].method)) {
            fail_msg("method %d not built in", (int)m[i].method);
        }
        c = codec_new(m[i].method, 4096, &err);
        assert_non_null(c);
        mid = sup_leak_live();
        assert_true(mid.blocks - before.blocks >= m[i].blocks);
        codec_free(c);
        assert_int_equal(sup_leak_live().blocks, before.blocks);
        assert_int_equal(sup_leak_live().bytes, before.bytes);
    }
}

/* Run this program with @mode; its exit status and stderr. */
static int run_mode(const char *mode, char *out, size_t size)
{
    int fds[2], status;
    char what[128];
    size_t got = 0;
    ssize_t n;
    pid_t pid;

    assert_int_equal(pipe(fds), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* dies with a hung parent */
        dup2(fds[1], 2);
        close(fds[0]);
        close(fds[1]);
        unsetenv("MFCOLO_LEAK_CHECK");
        /*
         * No whole-process watchdog thread in the mode (the 10 s watchdog
         * below bounds it): LeakSanitizer in the fork-child mode's child
         * would warn on stderr that it cannot suspend that thread.
         */
        unsetenv("MFCOLO_TEST_BOUND_S");
        execl(self_path, self_path, mode, (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    /* It normally ends in milliseconds. */
    snprintf(what, sizeof(what),
             "support/leak-check: the child in mode %s to end (read, waitpid)",
             mode);
    watchdog_arm(10, what);
    while (got + 1 < size &&
           (n = read(fds[0], out + got, size - 1 - got)) > 0) {
        got += (size_t)n;
    }
    out[got] = '\0';
    close(fds[0]);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    watchdog_disarm();
    assert_true(WIFEXITED(status));
    return WEXITSTATUS(status);
}

static void test_exit_with_live_block_fails(void **state)
{
    char err[4096], rest[100];
    size_t bytes = 0;

    (void)state;
    assert_int_equal(run_mode("free-sink", err, sizeof(err)), 0);
    assert_string_equal(err, "");
    assert_int_equal(run_mode("leak-sink", err, sizeof(err)), 1);
    /* the Chan and the sink's last buffer */
    assert_int_equal(
        sscanf(err, "leak-check: 2 blocks (%zu bytes) %99[^\n]", &bytes, rest),
        2);
    assert_string_equal(rest, "still live at exit (addr2line -e PROGRAM "
                              "OFFSET names the call)");
    assert_true(bytes > 65536 && bytes < 65536 + 1024);
    assert_non_null(strstr(err, "leak-check:   65536 bytes allocated at "));
    assert_non_null(strstr(err, "test-support-leak-check+0x"));
    /* a forked child holding its parent's blocks is not checked */
    assert_int_equal(run_mode("fork-child", err, sizeof(err)), 0);
    assert_string_equal(err, "");
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sink_growth_counted),
        cmocka_unit_test(test_codec_counted),
        cmocka_unit_test(test_exit_with_live_block_fails),
    };

    self_path = argv[0];
    if (argc == 2 && strcmp(argv[1], "free-sink") == 0) {
        chan_free(grown_sink());
        return 0;
    }
    if (argc == 2 && strcmp(argv[1], "leak-sink") == 0) {
        grown_sink(); /* the planted leak: never freed */
        return 0;
    }
    if (argc == 2 && strcmp(argv[1], "fork-child") == 0) {
        Chan *c = grown_sink();
        pid_t pid = fork();
        int status;

        if (pid == 0) {
            exit(0); /* the child holds c too */
        }
        waitpid(pid, &status, 0);
        chan_free(c);
        return WIFEXITED(status) ? WEXITSTATUS(status) : 2;
    }
    return cmocka_run_group_tests(tests, NULL, NULL);
}
