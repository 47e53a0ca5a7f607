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
 * naming the channel label and that offset; they are set already located
 * (MfError.where = label, MfError.offset = stream offset).
 *
 * Shutdown: on sockets chan_shutdown() calls shutdown(2) SHUT_RDWR, so a
 * read or write blocked in another thread returns at once.  Other file
 * descriptors (pipes, files, ttys) get a private wake-up pipe: every
 * blocking read or write first polls the fd together with that pipe, and
 * chan_shutdown() writes a byte into it (writes there go in PIPE_BUF
 * pieces, which never sleep after POLLOUT).  Writes on a pipe whose
 * reader is gone raise SIGPIPE unless the process ignores it (sockets use
 * MSG_NOSIGNAL); the library never touches signal dispositions.
 *
 * Fault points (libfiu, fault build only; see base/fault.h):
 *   mfcolo/chan/read        every read(2)/readv(2)/recv(2) incl. MSG_PEEK,
 *                           and every in-memory read: fails with -1 and
 *                           errno mf_fault_errno(EIO).  EINTR as failinfo
 *                           is retried like a real EINTR (use it once).
 *   mfcolo/chan/write       every write(2)/send(2) and every write into a
 *                           memory sink: -1, errno mf_fault_errno(EIO).
 *   mfcolo/chan/poll        every poll(2) of a non-socket fd before a read
 *                           or write: -1, errno mf_fault_errno(EIO)
 *                           (EINTR retried).
 *   mfcolo/chan/wakeup-pipe creating the wake-up pipe of a non-socket fd
 *                           channel: chan_fd_new() fails with CHAN_ERR_IO
 *                           naming errno mf_fault_errno(EMFILE).
 *   mfcolo/chan/alloc       the Chan struct (chan_*_new: MF_ERR_NOMEM).
 *   mfcolo/chan/alloc-peek  growing the peek buffer of a non-socket
 *                           channel (chan_peek: MF_ERR_NOMEM).
 *   mfcolo/chan/alloc-sink  growing a memory sink (chan_write_full:
 *                           MF_ERR_NOMEM).
 * After any failure the channel stays usable for chan_free(); its offset
 * counts only bytes really delivered.
 */
#ifndef MFCOLO_CHAN_CHAN_H
#define MFCOLO_CHAN_CHAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "base/error.h"
#include "chan/errors.h"

typedef struct Chan Chan;

/*
 * Wrap @fd (not owned unless @owns_fd).  @label names the channel in
 * errors ("main", "multifd 0", "connection 3", ...; truncated to
 * MF_ERROR_WHERE_LEN - 1 bytes).  NULL + MF_ERR_NOMEM,
 * MF_ERR_INVALID_ARG (@fd not open) or CHAN_ERR_IO (no wake-up pipe;
 * located on @label at offset 0, since nothing was read); the fd is
 * closed on failure when owned.
 */
Chan *chan_fd_new(int fd, bool owns_fd, const char *label, MfError *err);

/*
 * Read-only stream over @data (not copied; must outlive the channel).
 * Each read returns at most @max_chunk bytes (0 = unlimited).
 */
Chan *chan_mem_new(const uint8_t *data, size_t len, size_t max_chunk,
                   const char *label, MfError *err);

/*
 * Write-only in-memory sink (grows); its bytes via chan_mem_data(), which
 * for a memory source returns the source's bytes and for an fd channel
 * NULL with *len = 0.  Reading a sink or writing a memory source is
 * CHAN_ERR_WRONG_KIND.
 */
Chan *chan_mem_sink_new(const char *label, MfError *err);
const uint8_t *chan_mem_data(const Chan *c, size_t *len);

/* Change the label used in errors (e.g. once the handshake gave an id). */
void chan_set_label(Chan *c, const char *label);
const char *chan_label(const Chan *c);

/* Bytes consumed so far (peeked bytes are not consumed). */
uint64_t chan_offset(const Chan *c);

/* Bytes written so far (the offset write errors name). */
uint64_t chan_written(const Chan *c);

/*
 * One read of up to the iovec's total length: returns the byte count
 * (> 0), 0 at end of stream, or -1 with @err set (CHAN_ERR_IO naming
 * errno, CHAN_ERR_SHUTDOWN after chan_shutdown()).  EINTR is retried.
 * Bytes left by chan_peek() come first.  A total length of 0 is
 * MF_ERR_INVALID_ARG (0 would read as end of stream).  Only the @iovcnt
 * entries of @iov are read (also by chan_readv_full()).
 */
ssize_t chan_readv(Chan *c, const struct iovec *iov, int iovcnt, MfError *err);

/*
 * Fill the whole iovec (zero-copy placement of pages).  Returns as
 * chan_read_full(); @iov itself is not modified.
 */
int chan_readv_full(Chan *c, const struct iovec *iov, int iovcnt,
                    const char *what, MfError *err);

/*
 * Read exactly @len bytes.  Returns 1 when done, 0 on a clean end of
 * stream before the first byte, -1 with @err set otherwise; an end of
 * stream after the first byte is CHAN_ERR_EOF, whose offset is the
 * stream offset where the data stopped and whose message names @what.
 */
int chan_read_full(Chan *c, void *buf, size_t len, const char *what,
                   MfError *err);

/*
 * Look at the next @len bytes without consuming them: the next reads
 * return them again.  Sockets use MSG_PEEK, so bytes already queued stay
 * in the kernel; bytes that arrive in pieces (and every non-socket fd)
 * are read into a small buffer of the channel that later reads drain
 * first (never a busy wait).  Returns as chan_read_full() (@what is
 * "peek").
 */
int chan_peek(Chan *c, void *buf, size_t len, MfError *err);

/*
 * Write all of @buf (EINTR and short writes handled).  CHAN_ERR_IO,
 * CHAN_ERR_SHUTDOWN, MF_ERR_NOMEM (sink).  A write(2) or send(2) that
 * takes no byte is CHAN_ERR_IO naming EIO, not retried.
 */
bool chan_write_full(Chan *c, const void *buf, size_t len, MfError *err);

/*
 * Make pending and later reads/writes fail promptly (shutdown(2) on
 * sockets, a flag otherwise).  Safe to call from another thread.
 */
void chan_shutdown(Chan *c);

/*
 * Free the channel: closes the fd when owned and every descriptor the
 * channel opened itself (the wake-up pipe).  NULL is a no-op.
 */
void chan_free(Chan *c);

#endif /* MFCOLO_CHAN_CHAN_H */
