/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Error values of mfcolo's core.
 *
 * Every failure is an MfError: a numeric code (each layer owns a range of
 * codes in its own <layer>/errors.h), the code's symbolic name, a message
 * that names the field, its value and the limit it broke, and where the
 * bad byte is: a channel label ("main", "multifd 1", ...) and a byte
 * offset in that channel's stream.
 *
 * Setting an error never allocates: the message lives in the struct.
 * Layers that decode buffers (wire) record an offset relative to the
 * buffer they were given; the layer that owns the stream (recv, incoming)
 * calls mf_error_locate() once to turn it into a stream offset and name
 * the channel.
 */
#ifndef MFCOLO_BASE_ERROR_H
#define MFCOLO_BASE_ERROR_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MF_ERROR_MSG_LEN 200
#define MF_ERROR_WHERE_LEN 32

/* Ranges of error codes; 0 is success, each layer numbers from its base. */
enum {
    MF_OK = 0,
    MF_ERR_BASE_RANGE = 100,
    MF_ERR_WIRE_RANGE = 200,
    MF_ERR_CHAN_RANGE = 300,
    MF_ERR_CODEC_RANGE = 400,
    MF_ERR_RAM_RANGE = 500,
    MF_ERR_COLO_RANGE = 600,
    MF_ERR_RECV_RANGE = 700,
    MF_ERR_INCOMING_RANGE = 800,
};

/* Codes of the base layer. */
typedef enum MfBaseError {
    MF_ERR_NOMEM = MF_ERR_BASE_RANGE + 1, /* an allocation failed */
    MF_ERR_INVALID_ARG,                   /* caller broke a contract */
} MfBaseError;

typedef struct MfError {
    int code;              /* MF_OK when no error is set */
    const char *code_name; /* e.g. "WIRE_ERR_PACKET_MAGIC" (static) */
    uint64_t offset;       /* offset of the offending byte */
    bool located;          /* offset is a stream offset, where is set */
    char where[MF_ERROR_WHERE_LEN]; /* channel label, "" until located */
    char msg[MF_ERROR_MSG_LEN];
} MfError;

/* Reset @err to "no error". @err may be NULL. */
void mf_error_clear(MfError *err);

/* True when @err holds an error. */
static inline bool mf_error_is_set(const MfError *err)
{
    return err && err->code != MF_OK;
}

/*
 * Record an error.  @offset is the offset of the offending byte, relative
 * to the buffer being decoded (wire) or to the stream (callers that know
 * it).  Keeps the first error: if @err already holds one, nothing changes.
 * @err may be NULL (the error is dropped).  Returns false so callers can
 * write "return mf_error_set(...)".
 */
bool mf_error_set_impl(MfError *err, int code, const char *code_name,
                       uint64_t offset, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

#define mf_error_set(err, code, offset, ...) \
    mf_error_set_impl((err), (code), #code, (offset), __VA_ARGS__)

/*
 * Turn a buffer-relative offset into a stream offset: add @base and name
 * the channel @where.  Only the first call on a given error has an effect.
 */
void mf_error_locate(MfError *err, const char *where, uint64_t base);

/* Copy @src into @dst unless @dst already holds an error. */
void mf_error_propagate(MfError *dst, const MfError *src);

/*
 * One line for users: "<where>: offset <N>: <msg>", or "<msg>" when the
 * error was never located.  Always NUL-terminates; truncates silently.
 */
void mf_error_format(const MfError *err, char *buf, size_t size);

#endif /* MFCOLO_BASE_ERROR_H */
