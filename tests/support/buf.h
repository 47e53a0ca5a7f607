/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A growable byte buffer for test support (stream generation, corpora).
 *
 * Test support, not core: allocation failure aborts the process with a
 * message (generate streams before enabling any fault injection).
 */
#ifndef MFCOLO_SUPPORT_BUF_H
#define MFCOLO_SUPPORT_BUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct SupBuf {
    uint8_t *data; /* NULL while empty and never grown */
    size_t len;
    size_t cap;
} SupBuf;

#define SUP_BUF_INIT \
    { \
        NULL, 0, 0 \
    }

/* Append @n zeroed bytes; returns a pointer to them (valid until next grow). */
uint8_t *sup_buf_grow(SupBuf *b, size_t n);
void sup_buf_append(SupBuf *b, const void *p, size_t n);
void sup_buf_put_u8(SupBuf *b, uint8_t v);
void sup_buf_put_be16(SupBuf *b, uint16_t v);
void sup_buf_put_be32(SupBuf *b, uint32_t v);
void sup_buf_put_be64(SupBuf *b, uint64_t v);
/* Keep the first @len bytes (no-op if already shorter). */
void sup_buf_truncate(SupBuf *b, size_t len);
/* Release the memory; @b is empty and reusable afterwards. */
void sup_buf_free(SupBuf *b);

/* abort() with @what when @p is NULL (test-support allocation check). */
void *sup_check_alloc(void *p, const char *what);

#endif /* MFCOLO_SUPPORT_BUF_H */
