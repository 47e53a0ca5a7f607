/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Channel operations common to every kind: errors, labels, offsets, the
 * peek buffer of non-socket fds, exact reads and writes.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/label.h"
#include "chan/chan-int.h"

/* Largest window of iovecs handed to one readv by chan_readv_full(). */
#define CHAN_IOV_WINDOW 64

Chan *chan_alloc(ChanKind kind, const char *label, MfError *err)
{
    Chan *c = mf_alloc("mfcolo/chan/alloc", 1, sizeof(*c));

    if (!c) {
        mf_error_set(err, MF_ERR_NOMEM, 0, "out of memory for channel %s",
                     label ? label : "");
        return NULL;
    }
    c->kind = kind;
    c->fd = -1;
    c->wake[0] = -1;
    c->wake[1] = -1;
    atomic_init(&c->shut, false);
    chan_set_label(c, label);
    return c;
}

bool chan_fail_impl(const Chan *c, MfError *err, int code,
                    const char *code_name, uint64_t offset, const char *fmt,
                    ...)
{
    char msg[MF_ERROR_MSG_LEN];
    va_list ap;

    if (!err || mf_error_is_set(err)) {
        return false;
    }
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    mf_error_set_impl(err, code, code_name, 0, "%s", msg);
    mf_error_locate(err, c->label, offset);
    return false;
}

bool chan_fail_errno(const Chan *c, MfError *err, const char *op, int errnum,
                     uint64_t offset)
{
    const char *name = strerrorname_np(errnum);
    const char *desc = strerrordesc_np(errnum);

    return chan_fail(c, err, CHAN_ERR_IO, offset, "%s failed: %s (%s)", op,
                     name ? name : "unknown errno",
                     desc ? desc : "unknown error");
}

bool chan_fail_shutdown(const Chan *c, MfError *err)
{
    return chan_fail(c, err, CHAN_ERR_SHUTDOWN, c->rd_off,
                     "channel was shut down");
}

void chan_set_label(Chan *c, const char *label)
{
    mf_label_copy(c->label, sizeof(c->label), label);
}

const char *chan_label(const Chan *c)
{
    return c->label;
}

uint64_t chan_offset(const Chan *c)
{
    return c->rd_off;
}

uint64_t chan_written(const Chan *c)
{
    return c->wr_off;
}

const uint8_t *chan_mem_data(const Chan *c, size_t *len)
{
    switch (c->kind) {
    case CHAN_KIND_MEM:
        *len = c->len;
        return c->data;
    case CHAN_KIND_SINK:
        *len = c->buf_len;
        return c->buf;
    default:
        *len = 0;
        return NULL;
    }
}

/* Hand out bytes of the peek buffer; returns the count copied. */
static size_t chan_take_peeked(Chan *c, const struct iovec *iov, int iovcnt)
{
    size_t done = 0;
    int i;

    for (i = 0; i < iovcnt && done < c->peek_len; i++) {
        size_t n = iov[i].iov_len;

        if (n > c->peek_len - done) {
            n = c->peek_len - done;
        }
        memcpy(iov[i].iov_base, c->peek + done, n);
        done += n;
    }
    memmove(c->peek, c->peek + done, c->peek_len - done);
    c->peek_len -= done;
    return done;
}

ssize_t chan_readv(Chan *c, const struct iovec *iov, int iovcnt, MfError *err)
{
    size_t total = 0;
    ssize_t n;
    int i;

    for (i = 0; i < iovcnt; i++) {
        total += iov[i].iov_len;
    }
    if (total == 0) {
        mf_error_set(err, MF_ERR_INVALID_ARG, 0,
                     "chan_readv on %s with nothing to read", c->label);
        return -1;
    }
    if (atomic_load(&c->shut)) {
        chan_fail_shutdown(c, err);
        return -1;
    }
    if (c->peek_len > 0) {
        n = (ssize_t)chan_take_peeked(c, iov, iovcnt);
    } else if (c->kind == CHAN_KIND_FD) {
        n = chan_fd_raw_readv(c, iov, iovcnt, err);
    } else if (c->kind == CHAN_KIND_MEM) {
        n = chan_mem_raw_readv(c, iov, iovcnt, err);
    } else {
        chan_fail(c, err, CHAN_ERR_WRONG_KIND, c->rd_off,
                  "cannot read from a write-only memory sink");
        return -1;
    }
    if (n > 0) {
        c->rd_off += (uint64_t)n;
    }
    return n;
}

int chan_readv_full(Chan *c, const struct iovec *iov, int iovcnt,
                    const char *what, MfError *err)
{
    struct iovec win[CHAN_IOV_WINDOW];
    size_t total = 0, done = 0, skip = 0;
    int idx = 0, i, nwin;
    ssize_t n;

    for (i = 0; i < iovcnt; i++) {
        total += iov[i].iov_len;
    }
    while (done < total) {
        /* Skip exhausted entries, then build a window from (idx, skip). */
        while (iov[idx].iov_len == skip) {
            idx++;
            skip = 0;
        }
        for (nwin = 0; nwin < CHAN_IOV_WINDOW && idx + nwin < iovcnt; nwin++) {
            size_t off = nwin == 0 ? skip : 0;

            win[nwin].iov_base = (uint8_t *)iov[idx + nwin].iov_base + off;
            win[nwin].iov_len = iov[idx + nwin].iov_len - off;
        }
        n = chan_readv(c, win, nwin, err);
        if (n < 0) {
            return -1;
        }
        if (n == 0) {
            if (done == 0) {
                return 0;
            }
            chan_fail(c, err, CHAN_ERR_EOF, c->rd_off,
                      "end of stream in %s after %zu of %zu bytes", what, done,
                      total);
            return -1;
        }
        done += (size_t)n;
        /* Advance (idx, skip) by n bytes. */
        while (n > 0) {
            size_t left = iov[idx].iov_len - skip;

            if ((size_t)n < left) {
                skip += (size_t)n;
                n = 0;
            } else {
                n -= (ssize_t)left;
                idx++;
                skip = 0;
            }
        }
    }
    return 1;
}

int chan_read_full(Chan *c, void *buf, size_t len, const char *what,
                   MfError *err)
{
    struct iovec iov = { .iov_base = buf, .iov_len = len };

    return chan_readv_full(c, &iov, 1, what, err);
}

/* Make room for @len bytes in the peek buffer. */
static bool chan_peek_reserve(Chan *c, size_t len, MfError *err)
{
    uint8_t *p;

    if (len <= c->peek_cap) {
        return true;
    }
    p = mf_alloc("mfcolo/chan/alloc-peek", len, 1);
    if (!p) {
        return chan_fail(c, err, MF_ERR_NOMEM, c->rd_off,
                         "out of memory for a %zu byte peek on %s", len,
                         c->label);
    }
    if (c->peek_len) {
        memcpy(p, c->peek, c->peek_len);
    }
    mf_free(c->peek);
    c->peek = p;
    c->peek_cap = len;
    return true;
}

/* Non-socket fd: read ahead into the peek buffer. */
static int chan_peek_buffered(Chan *c, void *buf, size_t len, MfError *err)
{
    struct iovec iov;
    ssize_t n;

    if (!chan_peek_reserve(c, len, err)) {
        return -1;
    }
    while (c->peek_len < len) {
        iov.iov_base = c->peek + c->peek_len;
        iov.iov_len = len - c->peek_len;
        n = chan_fd_raw_readv(c, &iov, 1, err);
        if (n < 0) {
            return -1;
        }
        if (n == 0) {
            if (c->peek_len == 0) {
                return 0;
            }
            chan_fail(c, err, CHAN_ERR_EOF, c->rd_off + c->peek_len,
                      "end of stream in peek after %zu of %zu bytes",
                      c->peek_len, len);
            return -1;
        }
        c->peek_len += (size_t)n;
    }
    memcpy(buf, c->peek, len);
    return 1;
}

int chan_peek(Chan *c, void *buf, size_t len, MfError *err)
{
    ssize_t n;

    if (len == 0) {
        mf_error_set(err, MF_ERR_INVALID_ARG, 0,
                     "chan_peek on %s with nothing to peek", c->label);
        return -1;
    }
    if (atomic_load(&c->shut)) {
        chan_fail_shutdown(c, err);
        return -1;
    }
    switch (c->kind) {
    case CHAN_KIND_FD:
        if (c->is_socket && c->peek_len == 0) {
            /*
             * Bytes already queued stay in the socket.  If only part of
             * them is there (AF_UNIX ignores MSG_WAITALL with MSG_PEEK),
             * read them into the peek buffer and wait for the rest with
             * ordinary blocking reads: no busy loop.
             */
            n = chan_fd_peek_socket(c, buf, len, err);
            if (n <= 0 || (size_t)n == len) {
                return n < 0 ? -1 : n == 0 ? 0 : 1;
            }
        }
        return chan_peek_buffered(c, buf, len, err);
    case CHAN_KIND_MEM:
        return chan_mem_peek(c, buf, len, err);
    default:
        chan_fail(c, err, CHAN_ERR_WRONG_KIND, c->rd_off,
                  "cannot peek into a write-only memory sink");
        return -1;
    }
}

bool chan_write_full(Chan *c, const void *buf, size_t len, MfError *err)
{
    const uint8_t *p = buf;
    ssize_t n;

    if (atomic_load(&c->shut)) {
        return chan_fail(c, err, CHAN_ERR_SHUTDOWN, c->wr_off,
                         "channel was shut down");
    }
    if (c->kind == CHAN_KIND_MEM) {
        return chan_fail(c, err, CHAN_ERR_WRONG_KIND, c->wr_off,
                         "cannot write to a read-only memory channel");
    }
    if (c->kind == CHAN_KIND_SINK) {
        return chan_sink_write(c, buf, len, err);
    }
    while (len > 0) {
        n = chan_fd_raw_write(c, p, len, err);
        if (n < 0) {
            return false;
        }
        p += n;
        len -= (size_t)n;
        c->wr_off += (uint64_t)n;
    }
    return true;
}

void chan_shutdown(Chan *c)
{
    atomic_store(&c->shut, true);
    if (c->kind == CHAN_KIND_FD) {
        chan_fd_shutdown(c);
    }
}

void chan_free(Chan *c)
{
    if (!c) {
        return;
    }
    if (c->kind == CHAN_KIND_FD) {
        chan_fd_release(c);
    }
    mf_free(c->peek);
    mf_free(c->buf);
    mf_free(c);
}
