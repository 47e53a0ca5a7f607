/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Page payloads compressed exactly as QEMU's multifd sender produces
 * them (migration/multifd-zstd.c, multifd-zlib.c, send side; the shape
 * seen in tests/data/qemu-7.2): one compressor per channel that lives for
 * the whole migration and is never reset.
 *
 *   zstd: one ZSTD_CStream at the given level (QEMU default 1); every
 *         page but the last of a packet is fed with ZSTD_e_continue, the
 *         last with ZSTD_e_flush, so each payload ends on a block
 *         boundary of one endless frame.
 *   zlib: one deflate stream (deflateInit, default level 1); pages fed
 *         with Z_NO_FLUSH, the last with Z_SYNC_FLUSH (payload ends with
 *         00 00 ff ff).
 *   none: the payload is the pages, concatenated.
 *
 * Test support only (the fake primary, unit tests, benchmarks).
 */
#ifndef MFCOLO_TESTS_QEMU_COMPRESS_H
#define MFCOLO_TESTS_QEMU_COMPRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire/multifd.h"

typedef struct QemuCompressor QemuCompressor;

/* Is @method available in this build (none always is)? */
bool qemu_compress_supported(WireCompression method);

/*
 * A sender-side compressor for one channel; @level as QEMU's
 * multifd-zstd-level / multifd-zlib-level (ignored for none).  NULL when
 * the method is not built in or the library fails.
 */
QemuCompressor *qemu_compressor_new(WireCompression method, uint32_t page_size,
                                    int level);

/*
 * Compress one packet's @npages pages (page_size bytes each) and return
 * the payload (valid until the next call or free), its length in
 * *@len; NULL on a library failure.  npages == 0 gives an empty payload
 * and leaves the stream untouched, as QEMU sends none.
 */
const uint8_t *qemu_compressor_packet(QemuCompressor *qc,
                                      const uint8_t *const *pages,
                                      uint32_t npages, size_t *len);

void qemu_compressor_free(QemuCompressor *qc);

#endif /* MFCOLO_TESTS_QEMU_COMPRESS_H */
