/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A channel: an ordered byte stream read (and for the main channel's
 * replies, written) by the receiver.  Two kinds: a file descriptor
 * (socket, pipe or file; EINTR retried, short reads continued) and an
 * in-memory stream (tests, fuzzing, replay of captures) that can deliver
 * its bytes in fragments of a bounded size.
 *
 * Every channel counts the bytes consumed so far (chan_offset()), which
 * is the stream offset errors name.  Errors are CHAN_ERR_* (chan/errors.h)
 * naming the channel label and that offset.
 */
#ifndef MFCOLO_CHAN_CHAN_H
#define MFCOLO_CHAN_CHAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "base/error.h"

typedef struct Chan Chan;

/*
 * Wrap @fd (not owned unless @owns_fd).  @label names the channel in
 * errors ("main", "multifd 0", "connection 3", ...).  NULL + MF_ERR_NOMEM.
 */
Chan *chan_fd_new(int fd, bool owns_fd, const char *label, MfError *err);

/*
 * Read-only stream over @data (not copied; must outlive the channel).
 * Each read returns at most @max_chunk bytes (0 = unlimited).
 */
Chan *chan_mem_new(const uint8_t *data, size_t len, size_t max_chunk,
                   const char *label, MfError *err);

/* Write-only in-memory sink (grows); its bytes via chan_mem_data(). */
Chan *chan_mem_sink_new(const char *label, MfError *err);
const uint8_t *chan_mem_data(const Chan *c, size_t *len);

/* Change the label used in errors (e.g. once the handshake gave an id). */
void chan_set_label(Chan *c, const char *label);
const char *chan_label(const Chan *c);

/* Bytes consumed so far. */
uint64_t chan_offset(const Chan *c);

/*
 * One read of up to the iovec's total length: returns the byte count
 * (> 0), 0 at end of stream, or -1 with @err set (CHAN_ERR_IO naming
 * errno, CHAN_ERR_SHUTDOWN after chan_shutdown()).  EINTR is retried.
 */
ssize_t chan_readv(Chan *c, const struct iovec *iov, int iovcnt,
                   MfError *err);

/*
 * Read exactly @len bytes.  Returns 1 when done, 0 on a clean end of
 * stream before the first byte, -1 with @err set otherwise; an end of
 * stream after the first byte is CHAN_ERR_EOF, whose offset is the
 * stream offset where the data stopped and whose message names @what.
 */
int chan_read_full(Chan *c, void *buf, size_t len, const char *what,
                   MfError *err);

/*
 * Look at the next @len bytes without consuming them (MSG_PEEK on
 * sockets, buffered otherwise).  Returns as chan_read_full().
 */
int chan_peek(Chan *c, void *buf, size_t len, MfError *err);

/* Write all of @buf (EINTR and short writes handled). CHAN_ERR_IO. */
bool chan_write_full(Chan *c, const void *buf, size_t len, MfError *err);

/*
 * Make pending and later reads/writes fail promptly (shutdown(2) on
 * sockets, a flag otherwise).  Safe to call from another thread.
 */
void chan_shutdown(Chan *c);

/* Free the channel (closes the fd when owned). NULL is a no-op. */
void chan_free(Chan *c);

#endif /* MFCOLO_CHAN_CHAN_H */
