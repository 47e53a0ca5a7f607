/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The fault points of core/chan (libfiu, fault build): each simulated
 * failure gives its exact error, EINTR is retried, allocation failures
 * are reported and nothing leaks.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>

#define FIU_ENABLE 1 /* fiu_init() etc. are macros without it */
#include <fiu-control.h>
#include <fiu.h>

#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "chan/chan.h"
#include "../../support/watchdog.h"

static const uint8_t data[] = "0123456789";

/* fiu_disable() of a wildcard removes only that entry: name every point. */
static int reset(void **state)
{
    static const char *points[] = {
        "mfcolo/chan/read",       "mfcolo/chan/write",
        "mfcolo/chan/poll",       "mfcolo/chan/wakeup-pipe",
        "mfcolo/chan/alloc",      "mfcolo/chan/alloc-peek",
        "mfcolo/chan/alloc-sink",
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(points) / sizeof(points[0]); i++) {
        fiu_disable(points[i]);
    }
    return 0;
}

/*
 * One failure of @name with errno @errnum.  Not FIU_ONETIME: libfiu 1.1
 * leaks the name of a one-time point when it disarms itself, so an
 * external callback counts instead (one point armed at a time).
 */
static int once_left;

static int once_cb(const char *name, int *failnum, void **failinfo,
                   unsigned *flags)
{
    (void)name;
    (void)failnum;
    (void)failinfo;
    (void)flags;
    if (once_left > 0) {
        once_left--;
        return 1;
    }
    return 0;
}

static void fail_once(const char *name, int errnum)
{
    reset(NULL); /* re-enabling an armed point leaks its name in libfiu */
    once_left = 1;
    assert_int_equal(
        fiu_enable_external(name, 1, (void *)(intptr_t)errnum, 0, once_cb), 0);
}

/*
 * The fd tests read pipes and sockets whose bytes they wrote before each
 * read, in one thread: a read that waits means the channel asked for
 * more than was written.  A watchdog bounds each test (normally a few
 * milliseconds); the teardown stops it.
 */
static void arm(const char *what)
{
    watchdog_arm(10, what);
}

static int disarm(void **state)
{
    watchdog_disarm();
    return reset(state);
}

static void fail_always(const char *name, int errnum)
{
    reset(NULL);
    assert_int_equal(fiu_enable(name, 1, (void *)(intptr_t)errnum, 0), 0);
}

static void test_mem_read_fault(void **state)
{
    Chan *c = chan_mem_new(data, 10, 0, "mem", NULL);
    uint8_t buf[10];
    MfError err;

    (void)state;
    assert_non_null(c);
    mf_error_clear(&err);
    assert_int_equal(chan_read_full(c, buf, 3, "a", &err), 1);
    fail_once("mfcolo/chan/read", EIO);
    assert_int_equal(chan_read_full(c, buf, 3, "b", &err), -1);
    assert_int_equal(err.code, CHAN_ERR_IO);
    assert_string_equal(err.where, "mem");
    assert_int_equal(err.offset, 3);
    assert_string_equal(err.msg, "read failed: EIO (Input/output error)");
    /* EINTR is retried, transparently */
    fail_once("mfcolo/chan/read", EINTR);
    mf_error_clear(&err);
    assert_int_equal(chan_read_full(c, buf, 7, "c", &err), 1);
    assert_memory_equal(buf, "3456789", 7);
    /* peek goes through the same point */
    chan_free(c);
    c = chan_mem_new(data, 10, 0, "mem", NULL);
    fail_once("mfcolo/chan/read", ECONNRESET);
    mf_error_clear(&err);
    assert_int_equal(chan_peek(c, buf, 4, &err), -1);
    assert_int_equal(err.code, CHAN_ERR_IO);
    assert_string_equal(err.msg, "recv (peek) failed: ECONNRESET "
                                 "(Connection reset by peer)");
    fail_once("mfcolo/chan/read", EINTR);
    mf_error_clear(&err);
    assert_int_equal(chan_peek(c, buf, 4, &err), 1);
    chan_free(c);
}

static void test_fd_read_and_poll_faults(void **state)
{
    int p[2];
    uint8_t buf[8];
    MfError err;
    Chan *c;

    (void)state;
    arm("chan/faults: test_fd_read_and_poll_faults: a channel read or "
        "poll of a pipe");
    assert_int_equal(pipe(p), 0);
    c = chan_fd_new(p[0], true, "pipe", NULL);
    assert_non_null(c);
    assert_int_equal(write(p[1], "abcdefgh", 8), 8);
    mf_error_clear(&err);
    fail_once("mfcolo/chan/read", EINTR);
    assert_int_equal(chan_read_full(c, buf, 2, "a", &err), 1);
    fail_once("mfcolo/chan/poll", EINTR);
    assert_int_equal(chan_read_full(c, buf, 2, "b", &err), 1);
    fail_once("mfcolo/chan/poll", ENOMEM);
    assert_int_equal(chan_read_full(c, buf, 2, "c", &err), -1);
    assert_int_equal(err.code, CHAN_ERR_IO);
    assert_int_equal(err.offset, 4);
    assert_string_equal(err.msg, "poll failed: ENOMEM (Cannot allocate "
                                 "memory)");
    fail_once("mfcolo/chan/read", EIO);
    mf_error_clear(&err);
    assert_int_equal(chan_read_full(c, buf, 2, "d", &err), -1);
    assert_int_equal(err.code, CHAN_ERR_IO);
    /* the peek buffer reads through the same point */
    fail_once("mfcolo/chan/read", EIO);
    mf_error_clear(&err);
    assert_int_equal(chan_peek(c, buf, 2, &err), -1);
    assert_int_equal(err.code, CHAN_ERR_IO);
    mf_error_clear(&err);
    assert_int_equal(chan_read_full(c, buf, 4, "e", &err), 1);
    assert_memory_equal(buf, "efgh", 4);
    close(p[1]);
    chan_free(c);
}

static void test_socket_peek_fault(void **state)
{
    int sv[2];
    uint8_t buf[4];
    MfError err;
    Chan *c;

    (void)state;
    arm("chan/faults: test_socket_peek_fault: a channel peek of a socket");
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    c = chan_fd_new(sv[0], true, "sock", NULL);
    assert_non_null(c);
    assert_int_equal(write(sv[1], "QEVM", 4), 4);
    fail_once("mfcolo/chan/read", EINTR);
    mf_error_clear(&err);
    assert_int_equal(chan_peek(c, buf, 4, &err), 1);
    fail_always("mfcolo/chan/read", EIO);
    assert_int_equal(chan_peek(c, buf, 4, &err), -1);
    assert_int_equal(err.code, CHAN_ERR_IO);
    assert_string_equal(err.msg, "recv (peek) failed: EIO (Input/output "
                                 "error)");
    fiu_disable("mfcolo/chan/read");
    close(sv[1]);
    chan_free(c);
}

static void test_write_faults(void **state)
{
    int sv[2];
    uint8_t buf[4];
    MfError err;
    Chan *c, *sink;
    const uint8_t *got;
    size_t len;

    (void)state;
    arm("chan/faults: test_write_faults: a write or read of a socket");
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    c = chan_fd_new(sv[0], true, "reply", NULL);
    assert_non_null(c);
    mf_error_clear(&err);
    fail_once("mfcolo/chan/write", EINTR);
    assert_true(chan_write_full(c, "ok", 2, &err));
    assert_int_equal(read(sv[1], buf, 2), 2);
    fail_once("mfcolo/chan/write", EPIPE);
    assert_false(chan_write_full(c, "xy", 2, &err));
    assert_int_equal(err.code, CHAN_ERR_IO);
    assert_int_equal(err.offset, 2);
    assert_string_equal(err.msg, "write failed: EPIPE (Broken pipe)");
    close(sv[1]);
    chan_free(c);

    sink = chan_mem_sink_new("sink", NULL);
    assert_non_null(sink);
    fail_once("mfcolo/chan/write", EINTR);
    mf_error_clear(&err);
    assert_true(chan_write_full(sink, "ab", 2, &err));
    fail_once("mfcolo/chan/write", ENOSPC);
    assert_false(chan_write_full(sink, "cd", 2, &err));
    assert_int_equal(err.code, CHAN_ERR_IO);
    assert_string_equal(err.msg, "write failed: ENOSPC (No space left on "
                                 "device)");
    /* room left in the buffer: no allocation, the point is not hit */
    fail_once("mfcolo/chan/alloc-sink", 0);
    mf_error_clear(&err);
    assert_true(chan_write_full(sink, "ef", 2, &err));
    fiu_disable("mfcolo/chan/alloc-sink");
    got = chan_mem_data(sink, &len);
    assert_int_equal(len, 4);
    assert_memory_equal(got, "abef", 4);
    chan_free(sink);

    sink = chan_mem_sink_new("sink", NULL);
    fail_once("mfcolo/chan/alloc-sink", 0);
    mf_error_clear(&err);
    assert_false(chan_write_full(sink, "ab", 2, &err));
    assert_int_equal(err.code, MF_ERR_NOMEM);
    got = chan_mem_data(sink, &len);
    assert_null(got);
    assert_int_equal(len, 0);
    chan_free(sink);
}

static void test_alloc_faults(void **state)
{
    int p[2];
    uint8_t buf[4];
    MfError err;
    Chan *c;

    (void)state;
    arm("chan/faults: test_alloc_faults: a channel peek or read of a pipe");
    fail_once("mfcolo/chan/alloc", 0);
    mf_error_clear(&err);
    assert_null(chan_mem_new(data, 10, 0, "m", &err));
    assert_int_equal(err.code, MF_ERR_NOMEM);
    fail_once("mfcolo/chan/alloc", 0);
    mf_error_clear(&err);
    assert_null(chan_mem_sink_new("s", &err));
    assert_int_equal(err.code, MF_ERR_NOMEM);

    /* fd channels: the owned fd is closed on failure */
    assert_int_equal(pipe(p), 0);
    fail_once("mfcolo/chan/alloc", 0);
    mf_error_clear(&err);
    assert_null(chan_fd_new(p[0], true, "pipe", &err));
    assert_int_equal(err.code, MF_ERR_NOMEM);
    assert_int_equal(fcntl(p[0], F_GETFD), -1);
    close(p[1]);

    assert_int_equal(pipe(p), 0);
    fail_once("mfcolo/chan/wakeup-pipe", EMFILE);
    mf_error_clear(&err);
    assert_null(chan_fd_new(p[0], true, "pipe", &err));
    assert_int_equal(err.code, CHAN_ERR_IO);
    assert_string_equal(err.where, "pipe");
    assert_int_equal(err.offset, 0); /* nothing was read yet */
    assert_string_equal(err.msg, "pipe2 (wake-up pipe) failed: EMFILE (Too "
                                 "many open files)");
    assert_int_equal(fcntl(p[0], F_GETFD), -1);
    close(p[1]);

    /* no errno pinned: the point simulates EMFILE (chan.h) */
    assert_int_equal(pipe(p), 0);
    fail_once("mfcolo/chan/wakeup-pipe", 0);
    mf_error_clear(&err);
    assert_null(chan_fd_new(p[0], true, "pipe", &err));
    assert_int_equal(err.code, CHAN_ERR_IO);
    assert_string_equal(err.msg, "pipe2 (wake-up pipe) failed: EMFILE (Too "
                                 "many open files)");
    assert_int_equal(fcntl(p[0], F_GETFD), -1);
    close(p[1]);

    assert_int_equal(pipe(p), 0);
    c = chan_fd_new(p[0], true, "pipe", NULL);
    assert_non_null(c);
    assert_int_equal(write(p[1], "abcd", 4), 4);
    fail_once("mfcolo/chan/alloc-peek", 0);
    mf_error_clear(&err);
    assert_int_equal(chan_peek(c, buf, 4, &err), -1);
    assert_int_equal(err.code, MF_ERR_NOMEM);
    mf_error_clear(&err);
    assert_int_equal(chan_read_full(c, buf, 4, "all", &err), 1);
    close(p[1]);
    chan_free(c);
}

/* chan_readv of a memory source that fails: -1 exactly, error set. */
static void test_mem_readv_fault(void **state)
{
    Chan *c = chan_mem_new(data, 10, 4, "mem", NULL);
    uint8_t buf[8];
    struct iovec iov = { buf, sizeof(buf) };
    MfError err;

    (void)state;
    assert_non_null(c);
    mf_error_clear(&err);
    assert_int_equal(chan_readv(c, &iov, 1, &err), 4);
    fail_once("mfcolo/chan/read", EIO);
    assert_int_equal(chan_readv(c, &iov, 1, &err), -1);
    assert_int_equal(err.code, CHAN_ERR_IO);
    assert_string_equal(err.where, "mem");
    assert_int_equal(err.offset, 4);
    assert_string_equal(err.msg, "read failed: EIO (Input/output error)");
    assert_int_equal(chan_offset(c), 4);
    chan_free(c);
}

/*
 * Only EINTR and EAGAIN are retried on a socket: ENOMEM (errno 12, one
 * above EAGAIN = EWOULDBLOCK on Linux) from a read, a peek or a write
 * fails with CHAN_ERR_IO although the socket is ready for the retry.
 */
static void test_socket_enomem_is_not_retried(void **state)
{
    int sv[2];
    uint8_t buf[4];
    MfError err;
    Chan *c;

    (void)state;
    arm("chan/faults: test_socket_enomem_is_not_retried: a read, peek or "
        "write of a socket");
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    c = chan_fd_new(sv[0], true, "sock", NULL);
    assert_non_null(c);
    assert_int_equal(write(sv[1], "abcdef", 6), 6);
    mf_error_clear(&err);
    assert_int_equal(chan_read_full(c, buf, 2, "ab", &err), 1);
    fail_once("mfcolo/chan/read", ENOMEM);
    assert_int_equal(chan_read_full(c, buf, 2, "cd", &err), -1);
    assert_int_equal(err.code, CHAN_ERR_IO);
    assert_int_equal(err.offset, 2);
    assert_string_equal(err.msg, "read failed: ENOMEM (Cannot allocate "
                                 "memory)");
    fail_once("mfcolo/chan/read", ENOMEM);
    mf_error_clear(&err);
    assert_int_equal(chan_peek(c, buf, 2, &err), -1);
    assert_int_equal(err.code, CHAN_ERR_IO);
    assert_int_equal(err.offset, 2);
    assert_string_equal(err.msg, "recv (peek) failed: ENOMEM (Cannot "
                                 "allocate memory)");
    fail_once("mfcolo/chan/write", ENOMEM);
    mf_error_clear(&err);
    assert_false(chan_write_full(c, "xyz", 3, &err));
    assert_int_equal(err.code, CHAN_ERR_IO);
    assert_string_equal(err.where, "sock");
    assert_int_equal(err.offset, 0);
    assert_string_equal(err.msg, "write failed: ENOMEM (Cannot allocate "
                                 "memory)");
    assert_int_equal(chan_written(c), 0);
    /* nothing was consumed or sent */
    mf_error_clear(&err);
    assert_int_equal(chan_read_full(c, buf, 4, "cdef", &err), 1);
    assert_memory_equal(buf, "cdef", 4);
    assert_int_equal(recv(sv[1], buf, sizeof(buf), MSG_DONTWAIT), -1);
    assert_int_equal(errno, EAGAIN);
    close(sv[1]);
    chan_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_mem_read_fault, reset),
        cmocka_unit_test_teardown(test_fd_read_and_poll_faults, disarm),
        cmocka_unit_test_teardown(test_socket_peek_fault, disarm),
        cmocka_unit_test_teardown(test_write_faults, disarm),
        cmocka_unit_test_teardown(test_alloc_faults, disarm),
        cmocka_unit_test_teardown(test_mem_readv_fault, reset),
        cmocka_unit_test_teardown(test_socket_enomem_is_not_retried, disarm),
    };

    fiu_init(0);
    return cmocka_run_group_tests_name("chan/faults", tests, NULL, NULL);
}
