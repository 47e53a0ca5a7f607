/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Page payloads of a multifd channel (QEMU multifd-nocomp.c, -zlib.c,
 * -zstd.c, receive side).
 *
 * none: the payload is normal_pages raw pages in offset order; the
 *       receiver reads them straight into place (codec_is_raw()).
 * zstd, zlib: the payload is next_packet_size bytes of ONE stream per
 *       channel that continues across packets (the decompressor is never
 *       reset); it must inflate to exactly normal_pages x page_size.
 *
 * Errors are CODEC_ERR_* (codec/errors.h); offsets are relative to the
 * packet header (0) or the payload start, the recv layer locates them.
 *
 * Fault points (libfiu, fault build only; see base/fault.h):
 *   mfcolo/codec/alloc       the Codec struct and zlib's z_stream
 *                            (codec_new: MF_ERR_NOMEM).
 *   mfcolo/codec/init        creating the library decoder (codec_new:
 *                            CODEC_ERR_INIT).
 *   mfcolo/codec/alloc-zlib  every allocation zlib makes (inflateInit:
 *                            CODEC_ERR_INIT; the window on the first
 *                            inflate: CODEC_ERR_DECOMPRESS Z_MEM_ERROR).
 *   mfcolo/codec/alloc-zstd  every allocation zstd makes (the decoder:
 *                            codec_new CODEC_ERR_INIT; its buffers on the
 *                            first decompress: CODEC_ERR_DECOMPRESS).
 *   mfcolo/codec/step        every ZSTD_decompressStream / inflate call
 *                            (codec_decompress: CODEC_ERR_DECOMPRESS).
 * A codec that failed in codec_decompress() must not be used again
 * (its stream state is lost), only freed.
 */
#ifndef MFCOLO_CODEC_CODEC_H
#define MFCOLO_CODEC_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/alloc.h"
#include "base/error.h"
#include "wire/multifd.h"

typedef struct Codec Codec;

/* Is @method built in?  (zstd/zlib depend on the build.) */
bool codec_supported(WireCompression method);

/*
 * A decoder for one channel.  CODEC_ERR_UNSUPPORTED for a method not
 * built in, MF_ERR_NOMEM / CODEC_ERR_INIT when the library fails; these
 * errors are at offset 0 (no packet was decoded).
 */
Codec *codec_new(WireCompression method, uint32_t page_size, MfError *err);

/*
 * As codec_new(), with the library's state (the zstd decoder and its
 * window, zlib's stream and window) from @a (NULL: the C library).  @a
 * must outlive the codec.
 */
Codec *codec_new_in(WireCompression method, uint32_t page_size,
                    const MfAllocator *a, MfError *err);

/*
 * Largest payload a packet may announce: 2 x WIRE_MULTIFD_PACKET_BYTES
 * (QEMU's receive buffer).
 */
size_t codec_max_payload(void);

/*
 * Check a decoded RAM packet that carries pages against this codec:
 * CODEC_ERR_METHOD (compression value differs from the configured one),
 * CODEC_ERR_PAYLOAD_SIZE (zstd/zlib next_packet_size above
 * codec_max_payload(), or 0 with normal pages), CODEC_ERR_UNEXPECTED_PAYLOAD
 * (zstd/zlib: no normal pages but next_packet_size != 0; QEMU asserts).
 * Packets without pages are not checked (their fields are stale).
 */
bool codec_check_packet(const Codec *c, const WirePacket *pkt, MfError *err);

/* Bytes of payload that follow @pkt on the wire (0 without pages). */
size_t codec_payload_len(const Codec *c, const WirePacket *pkt);

/* True for none: payload bytes are the pages themselves. */
bool codec_is_raw(const Codec *c);

/*
 * zstd/zlib: decompress the whole payload @in of @len bytes into
 * @npages pages at @pages[i] (page_size bytes each), continuing the
 * channel's stream.  CODEC_ERR_DECOMPRESS (library error, message names
 * it), CODEC_ERR_SIZE (output not exactly npages x page_size: too little,
 * or input left over / more output pending; zlib also when the payload
 * does not end between deflate blocks on a byte boundary, as
 * Z_SYNC_FLUSH leaves it),
 * CODEC_ERR_PAYLOAD_SIZE (@len above codec_max_payload()),
 * CODEC_ERR_UNEXPECTED_PAYLOAD (@npages 0 and @len > 0).  none copies
 * the payload, which must be exactly the pages (CODEC_ERR_SIZE).
 */
bool codec_decompress(Codec *c, const uint8_t *in, size_t len,
                      uint8_t *const *pages, uint32_t npages, MfError *err);

void codec_free(Codec *c);

#endif /* MFCOLO_CODEC_CODEC_H */
