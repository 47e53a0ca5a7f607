/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The recv layer's own fault points (core built with MFCOLO_FAULTS):
 * every allocation and the thread start fail in turn, SQLite-style (the
 * Nth hit of any "mfcolo/recv/" point, N = 1, 2, ... until a run hits no
 * fault), once transient and once persistent.  Each run must end with
 * success or with the injected failure's code (MF_ERR_NOMEM,
 * RECV_ERR_THREAD), never hang (watchdog), never leak (valgrind setup),
 * and leave every page it reported synced in place.
 */
#define FIU_ENABLE 1 /* fiu_init() etc. are macros without it */
#include <fiu-control.h>
#include <fiu.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "codec/codec.h"
#include "recv/errors.h"
#include "recv/recv.h"

#include "recv-gen.h"

#define PS 4096u
#define NPAGES 32u

static pthread_mutex_t hits_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t hits, fail_at, fired;
static bool persistent;

static int count_cb(const char *name, int *failnum, void **failinfo,
                    unsigned *flags)
{
    int fail;

    (void)name;
    (void)failnum;
    (void)failinfo;
    (void)flags;
    pthread_mutex_lock(&hits_lock);
    hits++;
    fail = persistent ? hits >= fail_at : hits == fail_at;
    fired += fail;
    pthread_mutex_unlock(&hits_lock);
    return fail;
}

static void watchdog_fired(int sig)
{
    static const char msg[] = "watchdog: recv hung under a fault\n";

    (void)sig;
    if (write(2, msg, sizeof(msg) - 1) < 0) {
        _exit(2);
    }
    _exit(1);
}

/* One migration: 2 channels, @comp, threaded or deterministic. */
static bool run(WireCompression comp, RecvDriver driver, MfError *err)
{
    static const uint8_t uuid[WIRE_UUID_SIZE] = "fault-uuid-01234";
    SupBuf s[2];
    QemuCompressor *qc[2] = { NULL, NULL };
    RamTable t;
    RamBlock *b;
    RecvConfig cfg = { 0 };
    RecvEngine *e;
    uint8_t *src = malloc((size_t)NPAGES * PS);
    uint64_t off[NPAGES / 2];
    uint32_t c, i;
    bool ok = false, synced = false;

    assert_non_null(src);
    for (i = 0; i < NPAGES * PS; i++) {
        src[i] = (uint8_t)(i * 7 + i / PS + 1);
    }
    assert_true(ram_table_init(&t, PS, err));
    b = ram_table_add(&t, "pc.ram", (uint64_t)NPAGES * PS, NULL, err);
    assert_non_null(b);
    for (c = 0; c < 2; c++) {
        memset(&s[c], 0, sizeof(s[c]));
        rg_handshake(&s[c], uuid, (uint8_t)c);
        if (comp != WIRE_COMP_NONE) {
            qc[c] = qemu_compressor_new(comp, PS, 1);
            assert_non_null(qc[c]);
        }
        for (i = 0; i < NPAGES / 2; i++) {
            off[i] = (uint64_t)(2 * i + c) * PS;
        }
        rg_packet(&s[c], qc[c], comp, PS, 0, "pc.ram", src, off, NPAGES / 2, 0,
                  c);
        rg_sync(&s[c], PS, c);
    }
    cfg.channels = 2;
    cfg.page_size = PS;
    cfg.compression = comp;
    cfg.driver = driver;
    cfg.seed = 3;
    cfg.max_chunk = 700;
    alarm(getenv("MFCOLO_UNDER_VALGRIND") ? 120 : 10);
    e = recv_engine_new(&cfg, &t, NULL, err);
    if (e) {
        for (c = 0; c < 2; c++) {
            Chan *ch = chan_mem_new(s[c].data, s[c].len, 0, "mem", err);

            assert_non_null(ch);
            if (!recv_engine_add_channel(e, ch, err)) {
                break;
            }
        }
        synced = c == 2 && recv_engine_sync(e, err);
        ok = synced && recv_engine_finish(e, err);
        recv_engine_free(e);
    }
    alarm(0);
    if (synced) {
        assert_memory_equal(b->host, src, (size_t)NPAGES * PS);
    }
    for (c = 0; c < 2; c++) {
        sup_buf_free(&s[c]);
        qemu_compressor_free(qc[c]);
    }
    ram_table_destroy(&t);
    free(src);
    return ok;
}

static void loop(WireCompression comp, RecvDriver driver, bool persist)
{
    /* Writable: libfiu edits a wildcard name in place. */
    char points[] = "mfcolo/recv/*";
    uint64_t n;

    persistent = persist;
    for (n = 1; n < 1000; n++) {
        MfError err = { 0 };
        bool ok;

        hits = 0;
        fired = 0;
        fail_at = n;
        assert_int_equal(fiu_enable_external(points, 1, NULL, 0, count_cb), 0);
        ok = run(comp, driver, &err);
        fiu_disable(points);
        if (!fired) {
            if (!ok) {
                fail_msg("no fault at N=%llu but %s: %s", (unsigned long long)n,
                         err.code_name, err.msg);
            }
            return; /* the scenario completed without hitting a fault */
        }
        if (ok) {
            /* A failed allocation may be one the run could do without
             * (never here: every recv point is on the path). */
            fail_msg("fault %llu fired but the run succeeded",
                     (unsigned long long)n);
        }
        if (err.code != MF_ERR_NOMEM && err.code != RECV_ERR_THREAD) {
            fail_msg("fault %llu: unexpected %s: %s", (unsigned long long)n,
                     err.code_name, err.msg);
        }
    }
    fail_msg("fault loop did not converge");
}

static void t_threaded_none(void **state)
{
    (void)state;
    loop(WIRE_COMP_NONE, RECV_DRIVER_THREADED, false);
    loop(WIRE_COMP_NONE, RECV_DRIVER_THREADED, true);
}

static void t_threaded_zstd(void **state)
{
    (void)state;
    if (codec_supported(WIRE_COMP_ZSTD)) {
        loop(WIRE_COMP_ZSTD, RECV_DRIVER_THREADED, false);
        loop(WIRE_COMP_ZSTD, RECV_DRIVER_THREADED, true);
    }
}

static void t_det_zlib(void **state)
{
    (void)state;
    if (codec_supported(WIRE_COMP_ZLIB)) {
        loop(WIRE_COMP_ZLIB, RECV_DRIVER_DETERMINISTIC, false);
        loop(WIRE_COMP_ZLIB, RECV_DRIVER_DETERMINISTIC, true);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_threaded_none),
        cmocka_unit_test(t_threaded_zstd),
        cmocka_unit_test(t_det_zlib),
    };

    fiu_init(0);
    signal(SIGALRM, watchdog_fired);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
