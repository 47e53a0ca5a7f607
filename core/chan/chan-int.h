/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Internals shared by chan.c (common reads, peek buffer, errors),
 * chan-fd.c and chan-mem.c.  Not for other layers.
 */
#ifndef MFCOLO_CHAN_CHAN_INT_H
#define MFCOLO_CHAN_CHAN_INT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "base/error.h"
#include "chan/chan.h"

typedef enum ChanKind {
    CHAN_KIND_FD,
    CHAN_KIND_MEM,
    CHAN_KIND_SINK,
} ChanKind;

struct Chan {
    ChanKind kind;
    char label[MF_ERROR_WHERE_LEN];
    uint64_t rd_off;  /* bytes consumed (handed to the caller) */
    uint64_t wr_off;  /* bytes written */
    atomic_bool shut; /* chan_shutdown() was called */

    /* Bytes read ahead by chan_peek() on a non-socket fd. */
    uint8_t *peek;
    size_t peek_len;
    size_t peek_cap;

    /* CHAN_KIND_FD */
    int fd;
    bool owns_fd;
    bool is_socket;
    int wake[2]; /* non-socket: wake-up pipe, else -1 */

    /* CHAN_KIND_MEM */
    const uint8_t *data;
    size_t len;
    size_t pos;
    size_t max_chunk;

    /* CHAN_KIND_SINK */
    uint8_t *buf;
    size_t buf_len;
    size_t buf_cap;
};

/* A new channel of @kind with its label set (mfcolo/chan/alloc). */
Chan *chan_alloc(ChanKind kind, const char *label, MfError *err);

/*
 * Set a located error: where = label, offset = @offset (a stream
 * offset).  Returns false.  Does nothing if @err already holds one.
 */
bool chan_fail_impl(const Chan *c, MfError *err, int code,
                    const char *code_name, uint64_t offset, const char *fmt,
                    ...) __attribute__((format(printf, 6, 7)));
#define chan_fail(c, err, code, offset, ...) \
    chan_fail_impl((c), (err), (code), #code, (offset), __VA_ARGS__)

/* CHAN_ERR_IO for @op failing with @errnum at @offset. */
bool chan_fail_errno(const Chan *c, MfError *err, const char *op, int errnum,
                     uint64_t offset);

/* CHAN_ERR_SHUTDOWN at the current read offset. */
bool chan_fail_shutdown(const Chan *c, MfError *err);

/*
 * One raw read of the kind (peek buffer not involved, offsets not
 * updated): > 0 bytes, 0 at end of stream, -1 with @err set.
 */
ssize_t chan_fd_raw_readv(Chan *c, const struct iovec *iov, int iovcnt,
                          MfError *err);
ssize_t chan_mem_raw_readv(Chan *c, const struct iovec *iov, int iovcnt,
                           MfError *err);

/*
 * One recv(MSG_PEEK | MSG_WAITALL) on a socket (waits for at least one
 * byte): bytes seen (may be fewer than @len), 0 at end of stream, -1
 * with @err set.
 */
ssize_t chan_fd_peek_socket(Chan *c, void *buf, size_t len, MfError *err);

/* Memory source peek straight from its data: as chan_peek(). */
int chan_mem_peek(Chan *c, void *buf, size_t len, MfError *err);

/* One raw write: > 0 bytes written, -1 with @err set. */
ssize_t chan_fd_raw_write(Chan *c, const void *buf, size_t len, MfError *err);

/* Append to a sink (all or nothing): true, or false with @err set. */
bool chan_sink_write(Chan *c, const void *buf, size_t len, MfError *err);

/* Kind-specific parts of chan_shutdown() and chan_free(). */
void chan_fd_shutdown(Chan *c);
void chan_fd_release(Chan *c);

#endif /* MFCOLO_CHAN_CHAN_INT_H */
