/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for file-descriptor channels (core/chan/chan-fd.c): pipes
 * (wake-up pipe + poll), socketpairs (MSG_PEEK, shutdown(2)), regular
 * files; short reads, EOF positions, EINTR and shutdown while a call is
 * blocked in another thread.
 *
 * "Blocked" is established without timing: the other thread publishes its
 * tid and the test waits until /proc says that thread sleeps in the
 * kernel (state S), which for these threads can only be the channel's
 * poll/read/write.  Signals come from a handler installed without
 * SA_RESTART, sent with pthread_kill to that thread only.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "chan/chan.h"
#include "guard-alloc.h"
#include "watchdog.h"

/*
 * Every test reads, peeks and writes pipes and sockets in its own thread,
 * most of them with the writing end still open: a channel that asks for
 * more than was written waits for ever.  The setup arms a watchdog for
 * the whole test, named after it; waits on a job's thread re-arm it with
 * their own message and hand it back to the test's afterwards.
 */
static char test_watch_what[160];

static void test_watch(void)
{
    watchdog_arm(10, test_watch_what);
}

static int test_watch_start(void **state)
{
    snprintf(test_watch_what, sizeof(test_watch_what),
             "chan/fd: %s: a channel read, peek or write of a pipe or "
             "socket in the test's thread",
             (const char *)*state);
    test_watch();
    return 0;
}

static int test_watch_stop(void **state)
{
    (void)state;
    watchdog_disarm();
    return 0;
}

#define FD_TEST(fn) \
    cmocka_unit_test_prestate_setup_teardown(fn, test_watch_start, \
                                             test_watch_stop, (void *)#fn)

/*
 * poll(2) as core/chan calls it: a definition in this binary wins over
 * libc's at link time.  While poll_fail_errno is non-zero every call
 * fails with it (what a kernel short of memory does); otherwise it is
 * ppoll(2), which the channel never calls itself.
 */
static atomic_int poll_fail_errno;

int poll(struct pollfd *fds, nfds_t nfds, int timeout)
{
    struct timespec ts;
    int e = atomic_load(&poll_fail_errno);

    if (e) {
        errno = e;
        return -1;
    }
    if (timeout < 0) {
        return ppoll(fds, nfds, NULL, NULL);
    }
    ts.tv_sec = timeout / 1000;
    ts.tv_nsec = (long)(timeout % 1000) * 1000000;
    return ppoll(fds, nfds, &ts, NULL);
}

/*
 * write(2) as core/chan calls it, defined here as poll() is: while
 * write_zero_left > 0, a write to write_zero_fd takes no byte and
 * returns 0 (as a device or file system may); every other call is
 * writev(2) of one entry, which the channel never calls itself.
 */
static atomic_int write_zero_fd = -1;
static atomic_int write_zero_left;

ssize_t write(int fd, const void *buf, size_t count)
{
    struct iovec iov = { .iov_base = (void *)buf, .iov_len = count };

    if (fd == atomic_load(&write_zero_fd) &&
        atomic_fetch_sub(&write_zero_left, 1) > 0) {
        return 0;
    }
    return writev(fd, &iov, 1);
}

static atomic_int signals_seen;

static void on_signal(int sig)
{
    (void)sig;
    atomic_fetch_add(&signals_seen, 1);
}

static void install_handler(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sa.sa_flags = 0; /* no SA_RESTART: blocked syscalls fail with EINTR */
    sigemptyset(&sa.sa_mask);
    assert_int_equal(sigaction(SIGUSR1, &sa, NULL), 0);
}

/* A thread running one channel call. */
typedef struct Job {
    pthread_t thread;
    atomic_int tid;
    Chan *c;
    enum {
        JOB_READ,
        JOB_PEEK,
        JOB_WRITE
    } op;
    uint8_t *buf;
    size_t len;
    int ret;
    MfError err;
} Job;

static void *job_main(void *opaque)
{
    Job *j = opaque;

    atomic_store(&j->tid, (int)gettid());
    switch (j->op) {
    case JOB_READ:
        j->ret = chan_read_full(j->c, j->buf, j->len, "job data", &j->err);
        break;
    case JOB_PEEK:
        j->ret = chan_peek(j->c, j->buf, j->len, &j->err);
        break;
    case JOB_WRITE:
        j->ret = chan_write_full(j->c, j->buf, j->len, &j->err) ? 1 : -1;
        break;
    }
    return NULL;
}

static void job_start(Job *j, Chan *c, int op, uint8_t *buf, size_t len)
{
    memset(j, 0, sizeof(*j));
    j->c = c;
    j->op = op;
    j->buf = buf;
    j->len = len;
    mf_error_clear(&j->err);
    assert_int_equal(pthread_create(&j->thread, NULL, job_main, j), 0);
}

/* Wait until the job's thread sleeps in the kernel. */
static void job_wait_blocked(Job *j)
{
    char path[64], line[512], *p;
    int tid;

    watchdog_arm(10, "chan/fd: the job's thread to block in the kernel");
    while ((tid = atomic_load(&j->tid)) == 0) {
        usleep(1000);
    }
    snprintf(path, sizeof(path), "/proc/self/task/%d/stat", tid);
    for (;;) {
        FILE *f = fopen(path, "r");

        assert_non_null(f);
        assert_non_null(fgets(line, sizeof(line), f));
        fclose(f);
        p = strrchr(line, ')');
        assert_non_null(p);
        if (p[2] == 'S') {
            test_watch();
            return;
        }
        usleep(1000);
    }
}

static void job_join(Job *j)
{
    watchdog_arm(10, "chan/fd: the job's thread to return (pthread_join)");
    assert_int_equal(pthread_join(j->thread, NULL), 0);
    test_watch();
}

/* Interrupt the blocked job once with SIGUSR1 and wait until it blocks
 * again (so the interrupted call was retried, not abandoned). */
static void job_interrupt(Job *j)
{
    int before = atomic_load(&signals_seen);

    job_wait_blocked(j);
    assert_int_equal(pthread_kill(j->thread, SIGUSR1), 0);
    while (atomic_load(&signals_seen) == before) {
        usleep(1000);
    }
    job_wait_blocked(j);
}

static Chan *fd_chan(int fd, bool owns, const char *label)
{
    MfError err;
    Chan *c;

    mf_error_clear(&err);
    c = chan_fd_new(fd, owns, label, &err);
    assert_non_null(c);
    assert_false(mf_error_is_set(&err));
    return c;
}

static void write_all(int fd, const void *buf, size_t len)
{
    assert_int_equal(write(fd, buf, len), (ssize_t)len);
}

static void test_pipe_short_reads(void **state)
{
    int p[2];
    Chan *c;
    uint8_t buf[16];
    struct iovec iov = { buf, sizeof(buf) };
    MfError err;
    Job j;

    (void)state;
    assert_int_equal(pipe(p), 0);
    c = fd_chan(p[0], true, "pipe");
    mf_error_clear(&err);
    write_all(p[1], "abc", 3);
    /* one read returns what is there */
    assert_int_equal(chan_readv(c, &iov, 1, &err), 3);
    assert_int_equal(chan_offset(c), 3);
    /* read_full continues across partial writes */
    write_all(p[1], "de", 2);
    job_start(&j, c, JOB_READ, buf, 10);
    job_wait_blocked(&j);
    write_all(p[1], "fgh", 3);
    job_wait_blocked(&j);
    write_all(p[1], "ijklm", 5);
    job_join(&j);
    assert_int_equal(j.ret, 1);
    assert_memory_equal(buf, "defghijklm", 10);
    assert_int_equal(chan_offset(c), 13);
    close(p[1]);
    chan_free(c);
}

static void test_pipe_eof_positions(void **state)
{
    int p[2];
    Chan *c;
    uint8_t buf[8];
    MfError err;

    (void)state;
    assert_int_equal(pipe(p), 0);
    c = fd_chan(p[0], true, "main");
    write_all(p[1], "QEVM\0\0", 6);
    close(p[1]);
    mf_error_clear(&err);
    assert_int_equal(chan_read_full(c, buf, 4, "magic", &err), 1);
    assert_int_equal(chan_read_full(c, buf, 4, "version", &err), -1);
    assert_int_equal(err.code, CHAN_ERR_EOF);
    assert_string_equal(err.where, "main");
    assert_int_equal(err.offset, 6);
    assert_string_equal(err.msg, "end of stream in version after 2 of 4 "
                                 "bytes");
    mf_error_clear(&err);
    assert_int_equal(chan_read_full(c, buf, 4, "next", &err), 0);
    assert_false(mf_error_is_set(&err));
    chan_free(c);
}

static void test_pipe_peek_is_read_again(void **state)
{
    int p[2];
    Chan *c;
    uint8_t buf[16];
    struct iovec iov[2];
    MfError err;

    (void)state;
    assert_int_equal(pipe(p), 0);
    c = fd_chan(p[0], true, "conn 1");
    write_all(p[1], "\x11\x22\x33\x44rest", 8);
    mf_error_clear(&err);
    assert_int_equal(chan_peek(c, buf, 2, &err), 1);
    assert_memory_equal(buf, "\x11\x22", 2);
    assert_int_equal(chan_peek(c, buf, 4, &err), 1); /* grows the buffer */
    assert_memory_equal(buf, "\x11\x22\x33\x44", 4);
    assert_int_equal(chan_offset(c), 0);
    /* the peeked bytes come first, then the fd */
    memset(buf, 0, sizeof(buf));
    iov[0].iov_base = buf;
    iov[0].iov_len = 1;
    iov[1].iov_base = buf + 1;
    iov[1].iov_len = 2;
    assert_int_equal(chan_readv(c, iov, 2, &err), 3);
    assert_memory_equal(buf, "\x11\x22\x33", 3);
    assert_int_equal(chan_read_full(c, buf, 5, "rest", &err), 1);
    assert_memory_equal(buf, "\x44rest", 5);
    assert_int_equal(chan_offset(c), 8);

    /* peek cut by EOF after the first byte, then the bytes still read */
    write_all(p[1], "ab", 2);
    close(p[1]);
    assert_int_equal(chan_peek(c, buf, 4, &err), -1);
    assert_int_equal(err.code, CHAN_ERR_EOF);
    assert_int_equal(err.offset, 10);
    assert_string_equal(err.where, "conn 1");
    mf_error_clear(&err);
    assert_int_equal(chan_read_full(c, buf, 2, "tail", &err), 1);
    assert_memory_equal(buf, "ab", 2);
    assert_int_equal(chan_peek(c, buf, 4, &err), 0);
    assert_false(mf_error_is_set(&err));
    chan_free(c);
}

/*
 * A chan_readv() served from peeked bytes of a pipe fills the @iovcnt
 * entries of @iov and reads nothing past them, also when more bytes are
 * peeked than they hold: an iovec array that ends at a guard page (a
 * read one entry past it faults) reads whole, and the bytes left over
 * come next.
 */
static void test_peeked_readv_stays_inside_the_iovec_array(void **state)
{
    uint8_t a[2], b[3], buf[8];
    struct iovec *iov;
    SupGuardAlloc g;
    MfError err;
    Chan *c;
    int p[2];

    (void)state;
    assert_int_equal(pipe(p), 0);
    c = fd_chan(p[0], true, "peeked");
    write_all(p[1], "abcdefgh", 8);
    mf_error_clear(&err);
    assert_int_equal(chan_peek(c, buf, 8, &err), 1);
    sup_guard_alloc_init(&g, SUP_GUARD_AFTER);
    iov = sup_guard_iovec(&g, (struct iovec[]){ { a, 2 }, { b, 3 } }, 2);
    assert_non_null(iov);
    assert_int_equal((uintptr_t)(iov + 2) % g.page, 0); /* then the guard */
    assert_int_equal(chan_readv(c, iov, 2, &err), 5);
    assert_false(mf_error_is_set(&err));
    assert_memory_equal(a, "ab", 2);
    assert_memory_equal(b, "cde", 3);
    assert_int_equal(chan_offset(c), 5);
    g.ops.free(g.ops.opaque, iov);
    assert_int_equal(sup_guard_alloc_live(&g), 0);
    assert_int_equal(chan_read_full(c, buf, 3, "rest", &err), 1);
    assert_memory_equal(buf, "fgh", 3);
    assert_int_equal(chan_offset(c), 8);
    close(p[1]);
    chan_free(c);
}

static void test_socket_peek_and_eof(void **state)
{
    int sv[2];
    Chan *c;
    uint8_t buf[16];
    MfError err;

    (void)state;
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    c = fd_chan(sv[0], true, "sock");
    write_all(sv[1], "QEVMdata", 8);
    mf_error_clear(&err);
    assert_int_equal(chan_peek(c, buf, 4, &err), 1);
    assert_memory_equal(buf, "QEVM", 4);
    assert_int_equal(chan_offset(c), 0);
    assert_int_equal(chan_read_full(c, buf, 8, "all", &err), 1);
    assert_memory_equal(buf, "QEVMdata", 8);

    /* a peek waiting for more bytes gets them */
    Job j;
    write_all(sv[1], "xy", 2);
    job_start(&j, c, JOB_PEEK, buf, 4);
    job_wait_blocked(&j);
    write_all(sv[1], "zw", 2);
    job_join(&j);
    assert_int_equal(j.ret, 1);
    assert_memory_equal(buf, "xyzw", 4);
    assert_int_equal(chan_read_full(c, buf, 4, "xyzw", &err), 1);

    /* EOF inside a peek: where data stops; the bytes are still there */
    write_all(sv[1], "ab", 2);
    assert_int_equal(shutdown(sv[1], SHUT_WR), 0);
    assert_int_equal(chan_peek(c, buf, 4, &err), -1);
    assert_int_equal(err.code, CHAN_ERR_EOF);
    assert_int_equal(err.offset, 14);
    mf_error_clear(&err);
    assert_int_equal(chan_read_full(c, buf, 2, "tail", &err), 1);
    assert_int_equal(chan_peek(c, buf, 4, &err), 0);
    assert_int_equal(chan_read_full(c, buf, 4, "next", &err), 0);
    assert_false(mf_error_is_set(&err));
    close(sv[1]);
    chan_free(c);
}

/*
 * A socket peek that finds one byte queued of the two it asks for does
 * not return before it has both: here the stream ends after that byte,
 * so the peek is CHAN_ERR_EOF at offset 1, and the byte is still read.
 */
static void test_socket_peek_of_one_byte_then_eof(void **state)
{
    uint8_t buf[2] = { 0, 0 };
    MfError err;
    Chan *c;
    int sv[2];

    (void)state;
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    c = fd_chan(sv[0], true, "sock");
    write_all(sv[1], "a", 1);
    assert_int_equal(shutdown(sv[1], SHUT_WR), 0);
    mf_error_clear(&err);
    assert_int_equal(chan_peek(c, buf, 2, &err), -1);
    assert_int_equal(err.code, CHAN_ERR_EOF);
    assert_string_equal(err.where, "sock");
    assert_int_equal(err.offset, 1);
    assert_string_equal(err.msg, "end of stream in peek after 1 of 2 bytes");
    mf_error_clear(&err);
    assert_int_equal(chan_read_full(c, buf, 1, "a", &err), 1);
    assert_memory_equal(buf, "a", 1);
    assert_int_equal(chan_peek(c, buf, 2, &err), 0);
    assert_false(mf_error_is_set(&err));
    close(sv[1]);
    chan_free(c);
}

static void test_socket_eof_inside_read(void **state)
{
    int sv[2];
    Chan *c;
    uint8_t buf[1344];
    MfError err;

    (void)state;
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    c = fd_chan(sv[0], true, "multifd 0");
    memset(buf, 0x5a, sizeof(buf));
    write_all(sv[1], buf, 64);
    write_all(sv[1], buf, 100);
    close(sv[1]);
    mf_error_clear(&err);
    assert_int_equal(chan_read_full(c, buf, 64, "handshake", &err), 1);
    assert_int_equal(chan_read_full(c, buf, 1344, "packet header", &err), -1);
    assert_int_equal(err.code, CHAN_ERR_EOF);
    assert_int_equal(err.offset, 164);
    assert_string_equal(err.msg, "end of stream in packet header after 100 "
                                 "of 1344 bytes");
    chan_free(c);
}

static void test_eintr_is_retried_on_read(void **state)
{
    int p[2], sv[2];
    uint8_t buf[8];
    Chan *c;
    Job j;

    (void)state;
    install_handler();
    /* pipe: blocked in poll */
    assert_int_equal(pipe(p), 0);
    c = fd_chan(p[0], true, "pipe");
    write_all(p[1], "ab", 2);
    job_start(&j, c, JOB_READ, buf, 6);
    job_interrupt(&j);
    job_interrupt(&j);
    write_all(p[1], "cdef", 4);
    job_join(&j);
    assert_int_equal(j.ret, 1);
    assert_false(mf_error_is_set(&j.err));
    assert_memory_equal(buf, "abcdef", 6);
    close(p[1]);
    chan_free(c);

    /* socket: blocked in readv */
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    c = fd_chan(sv[0], true, "sock");
    job_start(&j, c, JOB_READ, buf, 4);
    job_interrupt(&j);
    write_all(sv[1], "wxyz", 4);
    job_join(&j);
    assert_int_equal(j.ret, 1);
    assert_memory_equal(buf, "wxyz", 4);

    /* socket: blocked in recv(MSG_PEEK | MSG_WAITALL) */
    job_start(&j, c, JOB_PEEK, buf, 4);
    job_interrupt(&j);
    write_all(sv[1], "pq", 2);
    job_interrupt(&j);
    write_all(sv[1], "rs", 2);
    job_join(&j);
    assert_int_equal(j.ret, 1);
    assert_memory_equal(buf, "pqrs", 4);
    close(sv[1]);
    chan_free(c);
}

static void test_eintr_is_retried_on_write(void **state)
{
    enum {
        BIG = 1 << 20
    };
    int p[2];
    uint8_t *big = malloc(BIG), *back = malloc(BIG);
    Chan *c, *r;
    MfError err;
    size_t i;
    Job j;

    (void)state;
    assert_non_null(big);
    assert_non_null(back);
    for (i = 0; i < BIG; i++) {
        big[i] = (uint8_t)(i * 13 + (i >> 12));
    }
    install_handler();
    assert_int_equal(pipe(p), 0);
    c = fd_chan(p[1], true, "out");
    r = fd_chan(p[0], true, "in");
    job_start(&j, c, JOB_WRITE, big, BIG); /* pipe holds 64 KiB */
    job_interrupt(&j);
    mf_error_clear(&err);
    assert_int_equal(chan_read_full(r, back, BIG, "back", &err), 1);
    job_join(&j);
    assert_int_equal(j.ret, 1);
    assert_memory_equal(back, big, BIG);
    assert_int_equal(chan_written(c), BIG);
    chan_free(c);
    chan_free(r);
    free(big);
    free(back);
}

static void test_shutdown_unblocks_socket_read(void **state)
{
    int sv[2];
    uint8_t buf[64];
    Chan *c;
    Job j;

    (void)state;
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    c = fd_chan(sv[0], true, "multifd 1");
    write_all(sv[1], "12345", 5);
    job_start(&j, c, JOB_READ, buf, 64);
    job_wait_blocked(&j);
    chan_shutdown(c);
    job_join(&j);
    assert_int_equal(j.ret, -1);
    assert_int_equal(j.err.code, CHAN_ERR_SHUTDOWN);
    assert_string_equal(j.err.where, "multifd 1");
    assert_int_equal(j.err.offset, 5);
    /* later calls fail at once */
    mf_error_clear(&j.err);
    assert_int_equal(chan_read_full(c, buf, 1, "x", &j.err), -1);
    assert_int_equal(j.err.code, CHAN_ERR_SHUTDOWN);
    mf_error_clear(&j.err);
    assert_false(chan_write_full(c, "x", 1, &j.err));
    assert_int_equal(j.err.code, CHAN_ERR_SHUTDOWN);
    close(sv[1]);
    chan_free(c);
}

static void test_shutdown_unblocks_socket_peek(void **state)
{
    int sv[2];
    uint8_t buf[4];
    Chan *c;
    Job j;

    (void)state;
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    c = fd_chan(sv[0], true, "conn");
    job_start(&j, c, JOB_PEEK, buf, 4);
    job_wait_blocked(&j);
    chan_shutdown(c);
    job_join(&j);
    assert_int_equal(j.ret, -1);
    assert_int_equal(j.err.code, CHAN_ERR_SHUTDOWN);
    close(sv[1]);
    chan_free(c);
}

static void test_shutdown_unblocks_pipe_read_and_write(void **state)
{
    enum {
        BIG = 1 << 20
    };
    int p[2];
    uint8_t buf[8], *big = calloc(1, BIG);
    Chan *r, *w;
    Job j;

    (void)state;
    assert_non_null(big);
    assert_int_equal(pipe(p), 0);
    r = fd_chan(p[0], true, "pipe in");
    w = fd_chan(p[1], true, "pipe out");
    job_start(&j, r, JOB_READ, buf, 8);
    job_wait_blocked(&j);
    chan_shutdown(r);
    job_join(&j);
    assert_int_equal(j.ret, -1);
    assert_int_equal(j.err.code, CHAN_ERR_SHUTDOWN);
    assert_string_equal(j.err.where, "pipe in");

    job_start(&j, w, JOB_WRITE, big, BIG); /* blocks once 64 KiB are in */
    job_wait_blocked(&j);
    chan_shutdown(w);
    job_join(&j);
    assert_int_equal(j.ret, -1);
    assert_int_equal(j.err.code, CHAN_ERR_SHUTDOWN);
    assert_true(chan_written(w) > 0);
    assert_true(chan_written(w) < BIG);
    assert_int_equal(j.err.offset, chan_written(w));
    chan_free(r);
    chan_free(w);
    free(big);
}

static void test_nonblocking_socket_waits(void **state)
{
    enum {
        BIG = 1 << 21
    };
    int sv[2];
    uint8_t buf[4], *big = calloc(1, BIG), *back = malloc(BIG);
    Chan *c, *w;
    MfError err;
    Job j;

    (void)state;
    assert_non_null(big);
    assert_non_null(back);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    assert_int_equal(fcntl(sv[0], F_SETFL, O_NONBLOCK), 0);
    assert_int_equal(fcntl(sv[1], F_SETFL, O_NONBLOCK), 0);
    c = fd_chan(sv[0], true, "nb in");
    w = fd_chan(sv[1], true, "nb out");
    job_start(&j, c, JOB_READ, buf, 4); /* EAGAIN, then poll */
    job_wait_blocked(&j);
    mf_error_clear(&err);
    assert_true(chan_write_full(w, "abcd", 4, &err));
    job_join(&j);
    assert_int_equal(j.ret, 1);
    assert_memory_equal(buf, "abcd", 4);

    job_start(&j, c, JOB_PEEK, buf, 4); /* EAGAIN on MSG_PEEK */
    job_wait_blocked(&j);
    assert_true(chan_write_full(w, "efgh", 4, &err));
    job_join(&j);
    assert_int_equal(j.ret, 1);
    assert_memory_equal(buf, "efgh", 4);
    assert_int_equal(chan_read_full(c, buf, 4, "efgh", &err), 1);

    job_start(&j, w, JOB_WRITE, big, BIG); /* socket buffer fills */
    job_wait_blocked(&j);
    assert_int_equal(chan_read_full(c, back, BIG, "big", &err), 1);
    job_join(&j);
    assert_int_equal(j.ret, 1);
    assert_memory_equal(back, big, BIG);
    chan_free(c);
    chan_free(w);
    free(big);
    free(back);
}

static void test_io_errors(void **state)
{
    int fd, sv[2];
    uint8_t buf[4];
    struct iovec iov = { buf, sizeof(buf) };
    Chan *c;
    MfError err;

    (void)state;
    /* reading an fd opened write-only */
    fd = open("/dev/null", O_WRONLY);
    assert_true(fd >= 0);
    c = fd_chan(fd, true, "wronly");
    mf_error_clear(&err);
    assert_int_equal(chan_read_full(c, buf, 4, "x", &err), -1);
    assert_int_equal(err.code, CHAN_ERR_IO);
    assert_string_equal(err.code_name, "CHAN_ERR_IO");
    assert_string_equal(err.where, "wronly");
    assert_int_equal(err.offset, 0);
    assert_string_equal(err.msg, "read failed: EBADF (Bad file descriptor)");
    /* one read: exactly -1 (chan.h), the same error */
    mf_error_clear(&err);
    assert_int_equal(chan_readv(c, &iov, 1, &err), -1);
    assert_int_equal(err.code, CHAN_ERR_IO);
    assert_int_equal(err.offset, 0);
    assert_string_equal(err.msg, "read failed: EBADF (Bad file descriptor)");
    assert_int_equal(chan_offset(c), 0);
    chan_free(c);

    /* writing an fd opened read-only */
    fd = open("/dev/null", O_RDONLY);
    assert_true(fd >= 0);
    c = fd_chan(fd, true, "rdonly");
    mf_error_clear(&err);
    assert_false(chan_write_full(c, "x", 1, &err));
    assert_int_equal(err.code, CHAN_ERR_IO);
    assert_string_equal(err.msg, "write failed: EBADF (Bad file descriptor)");
    /* and /dev/null reads as an empty stream */
    mf_error_clear(&err);
    assert_int_equal(chan_read_full(c, buf, 4, "x", &err), 0);
    chan_free(c);

    /* peer gone: EPIPE, no SIGPIPE on sockets */
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    close(sv[1]);
    c = fd_chan(sv[0], true, "gone");
    mf_error_clear(&err);
    assert_false(chan_write_full(c, "x", 1, &err));
    assert_int_equal(err.code, CHAN_ERR_IO);
    assert_string_equal(err.msg, "write failed: EPIPE (Broken pipe)");
    chan_free(c);
}

static void test_new_rejects_bad_fd_and_owns(void **state)
{
    int p[2];
    MfError err;
    Chan *c;

    (void)state;
    mf_error_clear(&err);
    assert_null(chan_fd_new(-1, false, "none", &err));
    assert_int_equal(err.code, MF_ERR_INVALID_ARG);
    assert_string_equal(err.msg, "channel none: fd -1 is not open");

    assert_int_equal(pipe(p), 0);
    close(p[1]);
    mf_error_clear(&err);
    assert_null(chan_fd_new(p[1], true, "closed", &err));
    assert_int_equal(err.code, MF_ERR_INVALID_ARG);

    /* not owned: left open; owned: closed by chan_free */
    c = fd_chan(p[0], false, "borrowed");
    chan_free(c);
    assert_true(fcntl(p[0], F_GETFD) >= 0);
    c = fd_chan(p[0], true, "owned");
    assert_null(chan_mem_data(c, &(size_t){ 1 }));
    chan_free(c);
    assert_int_equal(fcntl(p[0], F_GETFD), -1);
    assert_int_equal(errno, EBADF);
}

/*
 * The smallest write: one byte, on a pipe and on a socket, goes out in
 * one write(2)/send(2) that returns 1, counts once, and reads back.
 */
static void test_one_byte_writes(void **state)
{
    uint8_t back[2];
    MfError err;
    Chan *c;
    int p[2], sock;

    (void)state;
    for (sock = 0; sock <= 1; sock++) {
        if (sock) {
            assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, p), 0);
        } else {
            assert_int_equal(pipe(p), 0);
        }
        c = fd_chan(p[1], true, "one");
        mf_error_clear(&err);
        assert_true(chan_write_full(c, "x", 1, &err));
        assert_false(mf_error_is_set(&err));
        assert_int_equal(chan_written(c), 1);
        assert_true(chan_write_full(c, "y", 1, &err));
        assert_int_equal(chan_written(c), 2);
        assert_int_equal(read(p[0], back, 2), 2);
        assert_memory_equal(back, "xy", 2);
        chan_free(c);
        close(p[0]);
    }
}

/*
 * A write(2) that takes none of the bytes asked for is not retried (it
 * could spin for ever): chan_write_full() fails with CHAN_ERR_IO naming
 * EIO, at the offset of the bytes already written, and counts nothing.
 */
static void test_write_of_no_bytes_is_an_error(void **state)
{
    uint8_t back[4];
    MfError err;
    Chan *c;
    int p[2];

    (void)state;
    assert_int_equal(pipe(p), 0);
    c = fd_chan(p[1], true, "zero");
    mf_error_clear(&err);
    assert_true(chan_write_full(c, "ab", 2, &err));
    atomic_store(&write_zero_fd, p[1]);
    atomic_store(&write_zero_left, 1);
    assert_false(chan_write_full(c, "cd", 2, &err));
    atomic_store(&write_zero_fd, -1);
    assert_int_equal(atomic_load(&write_zero_left), 0);
    assert_int_equal(err.code, CHAN_ERR_IO);
    assert_string_equal(err.where, "zero");
    assert_int_equal(err.offset, 2);
    assert_string_equal(err.msg, "write failed: EIO (Input/output error)");
    assert_int_equal(chan_written(c), 2);
    chan_free(c);
    assert_int_equal(read(p[0], back, sizeof(back)), 2);
    assert_memory_equal(back, "ab", 2);
    close(p[0]);
}

/*
 * A process out of descriptors: the wake-up pipe of a pipe channel
 * cannot be made.  chan_fd_new() fails with CHAN_ERR_IO naming pipe2's
 * errno, located on the label at offset 0, and closes the owned fd.  The
 * soft RLIMIT_NOFILE is set just above the lowest free descriptor, so
 * pipe2(2) gets one and fails on the second (EMFILE).
 */
static void test_new_without_descriptors(void **state)
{
    struct rlimit saved, low;
    MfError err;
    Chan *c;
    int p[2], free_fd;

    (void)state;
    assert_int_equal(pipe(p), 0);
    free_fd = dup(p[1]);
    assert_true(free_fd >= 0);
    close(free_fd);
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &saved), 0);
    low = saved;
    low.rlim_cur = (rlim_t)free_fd + 1;
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
    mf_error_clear(&err);
    c = chan_fd_new(p[0], true, "no fds", &err);
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &saved), 0);
    assert_null(c);
    assert_int_equal(err.code, CHAN_ERR_IO);
    assert_string_equal(err.code_name, "CHAN_ERR_IO");
    assert_string_equal(err.where, "no fds");
    assert_int_equal(err.offset, 0);
    assert_string_equal(err.msg, "pipe2 (wake-up pipe) failed: EMFILE (Too "
                                 "many open files)");
    assert_int_equal(fcntl(p[0], F_GETFD), -1);
    close(p[1]);
}

static void test_regular_file(void **state)
{
    char path[] = "/tmp/mfcolo-chan-XXXXXX";
    int fd = mkstemp(path);
    uint8_t buf[8];
    Chan *c;
    MfError err;

    (void)state;
    assert_true(fd >= 0);
    unlink(path);
    c = fd_chan(fd, false, "file");
    mf_error_clear(&err);
    assert_true(chan_write_full(c, "0123456", 7, &err));
    chan_free(c);
    assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
    c = fd_chan(fd, true, "file");
    assert_int_equal(chan_peek(c, buf, 3, &err), 1);
    assert_memory_equal(buf, "012", 3);
    assert_int_equal(chan_read_full(c, buf, 4, "a", &err), 1);
    assert_memory_equal(buf, "0123", 4);
    assert_int_equal(chan_read_full(c, buf, 4, "b", &err), -1);
    assert_int_equal(err.code, CHAN_ERR_EOF);
    assert_int_equal(err.offset, 7);
    chan_free(c);
}

/*
 * A non-blocking socket waits in poll(2) after EAGAIN; when that poll
 * fails, the read, peek or write fails with CHAN_ERR_IO naming it, at
 * the stream offset, at once (no retry of a call that cannot wait).
 */
static void test_socket_poll_failure(void **state)
{
    int sv[2];
    uint8_t buf[4], fill[4096];
    struct iovec iov = { buf, sizeof(buf) };
    MfError err;
    Chan *c;

    (void)state;
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    assert_int_equal(fcntl(sv[0], F_SETFL, O_NONBLOCK), 0);
    c = fd_chan(sv[0], true, "nb");
    write_all(sv[1], "abc", 3);
    mf_error_clear(&err);
    assert_int_equal(chan_read_full(c, buf, 3, "abc", &err), 1);
    assert_true(chan_write_full(c, "xy", 2, &err));
    /* fill the send queue: the next send(2) gets EAGAIN */
    memset(fill, 0, sizeof(fill));
    while (send(sv[0], fill, sizeof(fill), MSG_DONTWAIT) > 0) {
        continue;
    }
    assert_int_equal(errno, EAGAIN);
    while (send(sv[0], fill, 1, MSG_DONTWAIT) > 0) {
        continue;
    }
    assert_int_equal(errno, EAGAIN);

    atomic_store(&poll_fail_errno, ENOMEM);
    assert_int_equal(chan_readv(c, &iov, 1, &err), -1);
    assert_int_equal(err.code, CHAN_ERR_IO);
    assert_string_equal(err.where, "nb");
    assert_int_equal(err.offset, 3);
    assert_string_equal(err.msg, "poll failed: ENOMEM (Cannot allocate "
                                 "memory)");
    mf_error_clear(&err);
    assert_int_equal(chan_peek(c, buf, 4, &err), -1);
    assert_int_equal(err.code, CHAN_ERR_IO);
    assert_int_equal(err.offset, 3);
    assert_string_equal(err.msg, "poll failed: ENOMEM (Cannot allocate "
                                 "memory)");
    mf_error_clear(&err);
    assert_false(chan_write_full(c, "z", 1, &err));
    assert_int_equal(err.code, CHAN_ERR_IO);
    assert_string_equal(err.where, "nb");
    assert_int_equal(err.offset, 2);
    assert_string_equal(err.msg, "poll failed: ENOMEM (Cannot allocate "
                                 "memory)");
    atomic_store(&poll_fail_errno, 0);
    assert_int_equal(chan_offset(c), 3);
    assert_int_equal(chan_written(c), 2);
    close(sv[1]);
    chan_free(c);
}

/* Descriptors this process has open: the entries of /proc/self/fd. */
static int open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    int n = 0;

    assert_non_null(d);
    while ((e = readdir(d)) != NULL) {
        n += e->d_name[0] != '.';
    }
    closedir(d);
    return n;
}

/*
 * chan_free() closes every descriptor the channel opened (a pipe
 * channel's wake-up pipe, both ends; also after chan_shutdown() wrote
 * into it) and the fd when owned: the process has as many descriptors
 * open as before the fd and its channel were made.
 */
static void test_free_closes_every_descriptor(void **state)
{
    int p[2], before, sock, owns, shut;
    Chan *c;

    (void)state;
    for (sock = 0; sock <= 1; sock++) {
        for (owns = 0; owns <= 1; owns++) {
            for (shut = 0; shut <= 1; shut++) {
                before = open_fds();
                if (sock) {
                    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, p), 0);
                } else {
                    assert_int_equal(pipe(p), 0);
                }
                c = fd_chan(p[0], owns, "fds");
                if (shut) {
                    chan_shutdown(c);
                }
                chan_free(c);
                assert_int_equal(fcntl(p[0], F_GETFD) >= 0, !owns);
                if (!owns) {
                    close(p[0]);
                }
                close(p[1]);
                assert_int_equal(open_fds(), before);
            }
        }
    }
}

/* chan_mem_data() of an fd channel: no bytes, NULL and *len = 0. */
static void test_mem_data_of_fd_channel(void **state)
{
    int p[2];
    size_t len = 7;
    Chan *c;

    (void)state;
    assert_int_equal(pipe(p), 0);
    c = fd_chan(p[0], true, "pipe");
    assert_null(chan_mem_data(c, &len));
    assert_int_equal(len, 0);
    close(p[1]);
    chan_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        FD_TEST(test_pipe_short_reads),
        FD_TEST(test_pipe_eof_positions),
        FD_TEST(test_pipe_peek_is_read_again),
        FD_TEST(test_peeked_readv_stays_inside_the_iovec_array),
        FD_TEST(test_socket_peek_and_eof),
        FD_TEST(test_socket_peek_of_one_byte_then_eof),
        FD_TEST(test_socket_eof_inside_read),
        FD_TEST(test_eintr_is_retried_on_read),
        FD_TEST(test_eintr_is_retried_on_write),
        FD_TEST(test_shutdown_unblocks_socket_read),
        FD_TEST(test_shutdown_unblocks_socket_peek),
        FD_TEST(test_shutdown_unblocks_pipe_read_and_write),
        FD_TEST(test_nonblocking_socket_waits),
        FD_TEST(test_io_errors),
        FD_TEST(test_new_rejects_bad_fd_and_owns),
        FD_TEST(test_one_byte_writes),
        FD_TEST(test_write_of_no_bytes_is_an_error),
        FD_TEST(test_new_without_descriptors),
        FD_TEST(test_regular_file),
        FD_TEST(test_socket_poll_failure),
        FD_TEST(test_mem_data_of_fd_channel),
        FD_TEST(test_free_closes_every_descriptor),
    };

    return cmocka_run_group_tests_name("chan/fd", tests, NULL, NULL);
}
