/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * In-memory channels: a read-only source delivering at most max_chunk
 * bytes per read (fragmentation for tests, fuzzing and replay), and a
 * growing write-only sink.
 */
#include <errno.h>
#include <string.h>

#include "base/alloc.h"
#include "chan/chan-int.h"

#define CHAN_SINK_MIN_CAP 4096

Chan *chan_mem_new(const uint8_t *data, size_t len, size_t max_chunk,
                   const char *label, MfError *err)
{
    Chan *c = chan_alloc(CHAN_KIND_MEM, label, err);

    if (!c) {
        return NULL;
    }
    c->data = data;
    c->len = data ? len : 0;
    c->max_chunk = max_chunk;
    return c;
}

Chan *chan_mem_sink_new(const char *label, MfError *err)
{
    return chan_alloc(CHAN_KIND_SINK, label, err);
}

ssize_t chan_mem_raw_readv(Chan *c, const struct iovec *iov, int iovcnt,
                           MfError *err)
{
    size_t n = c->len - c->pos, done = 0;
    int i;

    while (mf_fault("mfcolo/chan/read")) {
        int e = mf_fault_errno(EIO);

        if (e != EINTR) {
            chan_fail_errno(c, err, "read", e, c->rd_off);
            return -1;
        }
    }
    if (c->max_chunk && n > c->max_chunk) {
        n = c->max_chunk;
    }
    for (i = 0; i < iovcnt && done < n; i++) {
        size_t k = iov[i].iov_len;

        if (k > n - done) {
            k = n - done;
        }
        memcpy(iov[i].iov_base, c->data + c->pos + done, k);
        done += k;
    }
    c->pos += done;
    return (ssize_t)done;
}

int chan_mem_peek(Chan *c, void *buf, size_t len, MfError *err)
{
    size_t left = c->len - c->pos;

    while (mf_fault("mfcolo/chan/read")) {
        int e = mf_fault_errno(EIO);

        if (e != EINTR) {
            chan_fail_errno(c, err, "recv (peek)", e, c->rd_off);
            return -1;
        }
    }
    if (left == 0) {
        return 0;
    }
    if (left < len) {
        chan_fail(c, err, CHAN_ERR_EOF, c->rd_off + left,
                  "end of stream in peek after %zu of %zu bytes", left, len);
        return -1;
    }
    memcpy(buf, c->data + c->pos, len);
    return 1;
}

bool chan_sink_write(Chan *c, const void *buf, size_t len, MfError *err)
{
    size_t cap;
    uint8_t *p;

    while (mf_fault("mfcolo/chan/write")) {
        int e = mf_fault_errno(EIO);

        if (e != EINTR) {
            return chan_fail_errno(c, err, "write", e, c->wr_off);
        }
    }
    if (len > c->buf_cap - c->buf_len) {
        cap = c->buf_cap ? c->buf_cap : CHAN_SINK_MIN_CAP;
        while (cap - c->buf_len < len) {
            if (cap > SIZE_MAX / 2) {
                cap = c->buf_len + len;
                break;
            }
            cap *= 2;
        }
        if (cap < c->buf_len || cap - c->buf_len < len) {
            return mf_error_set(err, MF_ERR_NOMEM, 0,
                                "memory sink %s cannot grow by %zu bytes",
                                c->label, len);
        }
        p = mf_alloc("mfcolo/chan/alloc-sink", cap, 1);
        if (!p) {
            return chan_fail(c, err, MF_ERR_NOMEM, c->wr_off,
                             "out of memory growing memory sink %s to "
                             "%zu bytes",
                             c->label, cap);
        }
        if (c->buf_len) {
            memcpy(p, c->buf, c->buf_len);
        }
        mf_free(c->buf);
        c->buf = p;
        c->buf_cap = cap;
    }
    if (len) {
        memcpy(c->buf + c->buf_len, buf, len);
    }
    c->buf_len += len;
    c->wr_off += len;
    return true;
}
