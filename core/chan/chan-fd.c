/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * File-descriptor channels: sockets (shutdown(2) wakes blocked calls)
 * and other fds (a wake-up pipe polled together with the fd).  EINTR is
 * retried, short reads and writes are the callers' loops (chan.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/fault.h"
#include "chan/chan-int.h"

Chan *chan_fd_new(int fd, bool owns_fd, const char *label, MfError *err)
{
    struct stat st;
    Chan *c;

    if (fd < 0 || fstat(fd, &st) < 0) {
        mf_error_set(err, MF_ERR_INVALID_ARG, 0,
                     "channel %s: fd %d is not open", label ? label : "", fd);
        goto fail;
    }
    c = chan_alloc(CHAN_KIND_FD, label, err);
    if (!c) {
        goto fail;
    }
    c->fd = fd;
    c->is_socket = S_ISSOCK(st.st_mode);
    if (!c->is_socket) {
        if (mf_fault("mfcolo/chan/wakeup-pipe")) {
            errno = mf_fault_errno(EMFILE);
            chan_fail_errno(c, err, "pipe2 (wake-up pipe)", errno, 0);
            mf_free(c);
            goto fail;
        }
        if (pipe2(c->wake, O_CLOEXEC | O_NONBLOCK) < 0) {
            chan_fail_errno(c, err, "pipe2 (wake-up pipe)", errno, 0);
            mf_free(c);
            goto fail;
        }
    }
    c->owns_fd = owns_fd;
    return c;

fail:
    if (owns_fd && fd >= 0) {
        close(fd);
    }
    return NULL;
}

/*
 * Non-socket fd: wait until @fd is ready for @events or the channel is
 * shut down.  True when ready; false with @err set otherwise.
 */
static bool chan_fd_wait(Chan *c, short events, uint64_t offset, MfError *err)
{
    /* A successful poll(2) sets every revents; a failed one is not read. */
    struct pollfd pfd[2] = {
        { .fd = c->fd, .events = events },
        { .fd = c->wake[0], .events = POLLIN },
    };
    int r;

    for (;;) {
        if (atomic_load(&c->shut)) {
            return chan_fail(c, err, CHAN_ERR_SHUTDOWN, offset,
                             "channel was shut down");
        }
        if (mf_fault("mfcolo/chan/poll")) {
            errno = mf_fault_errno(EIO);
            r = -1;
        } else {
            r = poll(pfd, 2, -1);
        }
        if (r < 0) {
            if (errno == EINTR) {
                continue;
            }
            return chan_fail_errno(c, err, "poll", errno, offset);
        }
        if (pfd[1].revents || atomic_load(&c->shut)) {
            return chan_fail(c, err, CHAN_ERR_SHUTDOWN, offset,
                             "channel was shut down");
        }
        if (pfd[0].revents) {
            /* Readable, writable, hung up or failed: the call says. */
            return true;
        }
    }
}

/* Socket in non-blocking mode: wait for @events (shutdown wakes it). */
static bool chan_socket_wait(Chan *c, short events, uint64_t offset,
                             MfError *err)
{
    struct pollfd pfd = { .fd = c->fd, .events = events };

    while (poll(&pfd, 1, -1) < 0) {
        if (errno != EINTR) {
            return chan_fail_errno(c, err, "poll", errno, offset);
        }
    }
    return true;
}

ssize_t chan_fd_raw_readv(Chan *c, const struct iovec *iov, int iovcnt,
                          MfError *err)
{
    uint64_t at = c->rd_off + c->peek_len;
    ssize_t r;

    for (;;) {
        if (!c->is_socket && !chan_fd_wait(c, POLLIN, at, err)) {
            return -1;
        }
        if (atomic_load(&c->shut)) {
            chan_fail(c, err, CHAN_ERR_SHUTDOWN, at, "channel was shut down");
            return -1;
        }
        if (mf_fault("mfcolo/chan/read")) {
            errno = mf_fault_errno(EIO);
            r = -1;
        } else {
            r = readv(c->fd, iov, iovcnt);
        }
        if (r >= 0) {
            break;
        }
        if (errno == EINTR) {
            continue;
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            if (c->is_socket && !chan_socket_wait(c, POLLIN, at, err)) {
                return -1;
            }
            continue;
        }
        chan_fail_errno(c, err, "read", errno, at);
        return -1;
    }
    if (r == 0 && atomic_load(&c->shut)) {
        chan_fail(c, err, CHAN_ERR_SHUTDOWN, at, "channel was shut down");
        return -1;
    }
    return r;
}

ssize_t chan_fd_peek_socket(Chan *c, void *buf, size_t len, MfError *err)
{
    ssize_t r;

    for (;;) {
        if (mf_fault("mfcolo/chan/read")) {
            errno = mf_fault_errno(EIO);
            r = -1;
        } else {
            r = recv(c->fd, buf, len, MSG_PEEK | MSG_WAITALL);
        }
        if (r >= 0) {
            break;
        }
        if (errno == EINTR) {
            continue;
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            if (!chan_socket_wait(c, POLLIN, c->rd_off, err)) {
                return -1;
            }
            if (atomic_load(&c->shut)) {
                break;
            }
            continue;
        }
        chan_fail_errno(c, err, "recv (peek)", errno, c->rd_off);
        return -1;
    }
    if (atomic_load(&c->shut)) {
        chan_fail_shutdown(c, err);
        return -1;
    }
    return r;
}

ssize_t chan_fd_raw_write(Chan *c, const void *buf, size_t len, MfError *err)
{
    ssize_t r;

    for (;;) {
        if (!c->is_socket && !chan_fd_wait(c, POLLOUT, c->wr_off, err)) {
            return -1;
        }
        if (atomic_load(&c->shut)) {
            chan_fail(c, err, CHAN_ERR_SHUTDOWN, c->wr_off,
                      "channel was shut down");
            return -1;
        }
        if (mf_fault("mfcolo/chan/write")) {
            errno = mf_fault_errno(EIO);
            r = -1;
        } else if (c->is_socket) {
            r = send(c->fd, buf, len, MSG_NOSIGNAL);
        } else {
            /*
             * After POLLOUT a pipe takes PIPE_BUF bytes without blocking;
             * a larger write(2) could sleep where chan_shutdown() cannot
             * wake it.
             */
            r = write(c->fd, buf, len < PIPE_BUF ? len : PIPE_BUF);
        }
        if (r > 0) {
            return r;
        }
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (c->is_socket && !chan_socket_wait(c, POLLOUT, c->wr_off, err)) {
                return -1;
            }
            continue;
        }
        if (atomic_load(&c->shut)) {
            chan_fail(c, err, CHAN_ERR_SHUTDOWN, c->wr_off,
                      "channel was shut down");
            return -1;
        }
        chan_fail_errno(c, err, "write", r < 0 ? errno : EIO, c->wr_off);
        return -1;
    }
}

void chan_fd_shutdown(Chan *c)
{
    static const char byte = 'x';
    ssize_t r;

    if (c->is_socket) {
        shutdown(c->fd, SHUT_RDWR);
        return;
    }
    /* Non-blocking: a full pipe already wakes every poller. */
    do {
        r = write(c->wake[1], &byte, 1);
    } while (r < 0 && errno == EINTR);
}

void chan_fd_release(Chan *c)
{
    if (c->wake[0] >= 0) {
        close(c->wake[0]);
        close(c->wake[1]);
    }
    if (c->owns_fd && c->fd >= 0) {
        close(c->fd);
    }
}
