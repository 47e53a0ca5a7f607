/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Review test of recv_engine_add_channel (core/recv/handshake.c): a
 * connection whose peer stops inside the 64-byte handshake blocks the
 * caller in its read.  recv_engine_cancel ("shut every channel down,
 * safe from any thread") must wake it: add_channel returns false with
 * the cancel reason, and the engine frees cleanly.  A watchdog turns a
 * hang into a failure.
 *
 * Deterministic: the canceller waits until the reader has consumed the
 * 30 bytes written so far (FIONREAD == 0), so the reader is inside the
 * handshake read, waiting for the other 34, when cancel is called.
 *
 * Two handshakes at once: a second connection offered (from the main
 * thread, its 64 bytes all there) while the first still waits inside its
 * handshake read must take another free handshake slot (the first is
 * held), be placed by the id it sends, and the first must then complete
 * too; both end cleanly.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "chan/chan.h"
#include "recv/errors.h"
#include "recv/recv.h"

#define PS 4096u

typedef struct Adder {
    RecvEngine *e;
    Chan *c;
    MfError err;
    bool ok;
} Adder;

static void *adder_main(void *opaque)
{
    Adder *a = opaque;

    a->ok = recv_engine_add_channel(a->e, a->c, &a->err);
    return NULL;
}

static void watchdog_fired(int sig)
{
    static const char msg[] = "watchdog: add_channel hung\n";

    (void)sig;
    if (write(2, msg, sizeof(msg) - 1) < 0) {
        _exit(2);
    }
    _exit(1);
}

static void t_cancel_wakes_handshake_read(void **state)
{
    RecvConfig rc = { 0 };
    MfError err = { 0 }, why = { 0 };
    RamTable t;
    RecvEngine *e;
    Adder a = { 0 };
    pthread_t th;
    uint8_t partial[30] = { 0x11, 0x22, 0x33, 0x44, 0, 0, 0, 1 };
    int sv[2], pending = 1;

    (void)state;
    assert_true(ram_table_init(&t, PS, &err));
    assert_non_null(ram_table_add(&t, "pc.ram", 16 * PS, NULL, &err));
    rc.channels = 2;
    rc.page_size = PS;
    rc.compression = WIRE_COMP_NONE;
    rc.driver = RECV_DRIVER_THREADED;
    e = recv_engine_new(&rc, &t, NULL, &err);
    assert_non_null(e);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    assert_int_equal(write(sv[1], partial, sizeof(partial)),
                     (ssize_t)sizeof(partial));
    a.e = e;
    a.c = chan_fd_new(sv[0], true, "test", &err);
    assert_non_null(a.c);

    signal(SIGALRM, watchdog_fired);
    alarm(getenv("MFCOLO_UNDER_VALGRIND") ? 100 : 10);
    assert_int_equal(pthread_create(&th, NULL, adder_main, &a), 0);
    while (pending > 0) {
        assert_int_equal(ioctl(sv[0], FIONREAD, &pending), 0);
        sched_yield();
    }
    mf_error_set(&why, MF_ERR_INVALID_ARG, 0, "main channel failed");
    recv_engine_cancel(e, &why);
    assert_int_equal(pthread_join(th, NULL), 0);
    alarm(0);

    assert_false(a.ok);
    assert_int_equal(a.err.code, MF_ERR_INVALID_ARG);
    assert_string_equal(a.err.msg, "main channel failed");
    recv_engine_free(e);
    close(sv[1]);
    ram_table_destroy(&t);
}

/* Wait until the reader of @fd consumed everything written to it. */
static void wait_drained(int fd)
{
    int pending = 1;

    while (pending > 0) {
        assert_int_equal(ioctl(fd, FIONREAD, &pending), 0);
        sched_yield();
    }
}

static void t_two_handshakes_at_once(void **state)
{
    RecvConfig rc = { 0 };
    MfError err = { 0 };
    RamTable t;
    RecvEngine *e;
    Adder a = { 0 };
    pthread_t th;
    RecvChannelStats st;
    WireHandshake hs = { 0 };
    uint8_t buf[2][WIRE_HANDSHAKE_SIZE];
    Chan *c[2];
    int sv[2][2];
    int i;

    (void)state;
    assert_true(ram_table_init(&t, PS, &err));
    assert_non_null(ram_table_add(&t, "pc.ram", 16 * PS, NULL, &err));
    rc.channels = 2;
    rc.page_size = PS;
    rc.compression = WIRE_COMP_NONE;
    rc.driver = RECV_DRIVER_THREADED;
    e = recv_engine_new(&rc, &t, NULL, &err);
    assert_non_null(e);
    hs.magic = WIRE_MULTIFD_MAGIC;
    hs.version = WIRE_MULTIFD_VERSION;
    memset(hs.uuid, 0x5a, sizeof(hs.uuid));
    /* connection 0 sends id 1, connection 1 sends id 0 */
    for (i = 0; i < 2; i++) {
        hs.id = (uint8_t)(1 - i);
        wire_handshake_encode(&hs, buf[i]);
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv[i]), 0);
        c[i] = chan_fd_new(sv[i][0], true, "test", &err);
        assert_non_null(c[i]);
    }

    signal(SIGALRM, watchdog_fired);
    alarm(getenv("MFCOLO_UNDER_VALGRIND") ? 100 : 10);
    /* connection 0 inside its handshake read, 30 of 64 bytes consumed */
    assert_int_equal(write(sv[0][1], buf[0], 30), 30);
    a.e = e;
    a.c = c[0];
    assert_int_equal(pthread_create(&th, NULL, adder_main, &a), 0);
    wait_drained(sv[0][0]);
    /* connection 1, whole handshake there, added meanwhile */
    assert_int_equal(write(sv[1][1], buf[1], sizeof(buf[1])),
                     (ssize_t)sizeof(buf[1]));
    close(sv[1][1]);
    assert_true(recv_engine_add_channel(e, c[1], &err));
    assert_false(recv_engine_ready(e));
    assert_true(recv_engine_channel_stats(e, 0, &st));
    assert_false(recv_engine_channel_stats(e, 1, &st));
    /* then connection 0 completes */
    assert_int_equal(write(sv[0][1], buf[0] + 30, 34), 34);
    close(sv[0][1]);
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_true(a.ok);
    assert_true(recv_engine_ready(e));
    assert_true(recv_engine_finish(e, &err));
    alarm(0);
    assert_int_equal(err.code, MF_OK);
    for (i = 0; i < 2; i++) {
        assert_true(recv_engine_channel_stats(e, (uint32_t)i, &st));
        assert_int_equal(st.packets, 0);
    }
    recv_engine_free(e);
    ram_table_destroy(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_cancel_wakes_handshake_read),
        cmocka_unit_test(t_two_handshakes_at_once),
    };

    return cmocka_run_group_tests_name("recv-review-handshake", tests, NULL,
                                       NULL);
}
