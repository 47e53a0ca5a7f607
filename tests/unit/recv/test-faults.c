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

/* Stream of channel @id: handshake, @n pages from page @first, a SYNC. */
static void one_stream(SupBuf *s, uint8_t id, const uint8_t *src,
                       uint32_t first, uint32_t n)
{
    static const uint8_t uuid[WIRE_UUID_SIZE] = "fault-uuid-01234";
    uint64_t off[NPAGES];
    uint32_t i;

    memset(s, 0, sizeof(*s));
    rg_handshake(s, uuid, id);
    for (i = 0; i < n; i++) {
        off[i] = (uint64_t)(first + i) * PS;
    }
    rg_packet(s, NULL, WIRE_COMP_NONE, PS, 0, "pc.ram", src, off, n, 0, id);
    rg_sync(s, PS, id);
}

/*
 * A channel thread that cannot start: RECV_ERR_THREAD naming the channel
 * by its id, at the stream offset right after its handshake (64), and
 * the engine's first error.
 */
static void t_thread_create_located(void **state)
{
    uint8_t src[PS] = { 1 };
    SupBuf s;
    RamTable t;
    RecvConfig cfg = { 0 };
    RecvEngine *e;
    MfError err = { 0 }, first = { 0 };
    Chan *c;

    (void)state;
    assert_true(ram_table_init(&t, PS, &err));
    assert_non_null(ram_table_add(&t, "pc.ram", PS, NULL, &err));
    one_stream(&s, 1, src, 0, 1);
    cfg.channels = 2;
    cfg.page_size = PS;
    cfg.driver = RECV_DRIVER_THREADED;
    e = recv_engine_new(&cfg, &t, NULL, &err);
    assert_non_null(e);
    c = chan_mem_new(s.data, s.len, 0, "mem", &err);
    assert_non_null(c);
    assert_int_equal(fiu_enable("mfcolo/recv/thread-create", 1, NULL, 0), 0);
    assert_false(recv_engine_add_channel(e, c, &err));
    fiu_disable("mfcolo/recv/thread-create");
    assert_int_equal(err.code, RECV_ERR_THREAD);
    assert_true(err.located);
    assert_string_equal(err.where, "multifd 1");
    assert_int_equal(err.offset, 64);
    assert_string_equal(err.msg, "cannot start the receive thread: "
                                 "Resource temporarily unavailable");
    recv_engine_error(e, &first);
    assert_int_equal(first.code, RECV_ERR_THREAD);
    assert_string_equal(first.where, "multifd 1");
    assert_int_equal(first.offset, 64);
    recv_engine_free(e);
    sup_buf_free(&s);
    ram_table_destroy(&t);
}

/* Fails every in-memory read after the first (the handshake's). */
static int reads_after_first_cb(const char *name, int *failnum, void **failinfo,
                                unsigned *flags)
{
    int fail;

    (void)name;
    (void)failnum;
    (void)failinfo;
    (void)flags;
    pthread_mutex_lock(&hits_lock);
    fail = ++hits >= 2;
    pthread_mutex_unlock(&hits_lock);
    return fail;
}

/*
 * A read error on a multifd channel is the engine's first error exactly
 * as the channel reported it: CHAN_ERR_IO on "multifd 0" at the offset
 * of the read (64: the first read after the handshake), both drivers.
 */
static void t_read_error_located(void **state)
{
    static const RecvDriver drivers[2] = { RECV_DRIVER_DETERMINISTIC,
                                           RECV_DRIVER_THREADED };
    char points[] = "mfcolo/chan/read";
    uint8_t src[PS] = { 1 };
    int k;

    (void)state;
    for (k = 0; k < 2; k++) {
        SupBuf s;
        RamTable t;
        RecvConfig cfg = { 0 };
        RecvEngine *e;
        MfError err = { 0 }, first = { 0 };
        Chan *c;

        assert_true(ram_table_init(&t, PS, &err));
        assert_non_null(ram_table_add(&t, "pc.ram", PS, NULL, &err));
        one_stream(&s, 0, src, 0, 1);
        cfg.channels = 1;
        cfg.page_size = PS;
        cfg.driver = drivers[k];
        cfg.seed = 5;
        e = recv_engine_new(&cfg, &t, NULL, &err);
        assert_non_null(e);
        c = chan_mem_new(s.data, s.len, 0, "mem", &err);
        assert_non_null(c);
        hits = 0;
        assert_int_equal(
            fiu_enable_external(points, 1, NULL, 0, reads_after_first_cb), 0);
        alarm(getenv("MFCOLO_UNDER_VALGRIND") ? 120 : 10);
        assert_true(recv_engine_add_channel(e, c, &err));
        assert_false(recv_engine_sync(e, &err));
        alarm(0);
        fiu_disable(points);
        assert_int_equal(err.code, CHAN_ERR_IO);
        assert_true(err.located);
        assert_string_equal(err.where, "multifd 0");
        assert_int_equal(err.offset, 64);
        assert_string_equal(err.msg, "read failed: EIO (Input/output error)");
        recv_engine_error(e, &first);
        assert_int_equal(first.code, CHAN_ERR_IO);
        assert_int_equal(first.offset, 64);
        recv_engine_free(e);
        sup_buf_free(&s);
        ram_table_destroy(&t);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_threaded_none),
        cmocka_unit_test(t_threaded_zstd),
        cmocka_unit_test(t_det_zlib),
        cmocka_unit_test(t_thread_create_located),
        cmocka_unit_test(t_read_error_located),
    };

    fiu_init(0);
    signal(SIGALRM, watchdog_fired);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
