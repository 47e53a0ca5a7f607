/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Growable byte buffer for test support. */
#include "buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/be.h"

void *sup_check_alloc(void *p, const char *what)
{
    if (!p) {
        fprintf(stderr, "mfcolo test support: out of memory (%s)\n", what);
        abort();
    }
    return p;
}

uint8_t *sup_buf_grow(SupBuf *b, size_t n)
{
    uint8_t *at;

    if (n > SIZE_MAX - b->len) {
        sup_check_alloc(NULL, "buffer size overflow");
    }
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;

        while (cap < b->len + n) {
            cap = cap > SIZE_MAX / 2 ? b->len + n : cap * 2;
        }
        b->data = sup_check_alloc(realloc(b->data, cap), "buffer");
        b->cap = cap;
    }
    at = b->data + b->len;
    memset(at, 0, n);
    b->len += n;
    return at;
}

void sup_buf_append(SupBuf *b, const void *p, size_t n)
{
    if (n) {
        memcpy(sup_buf_grow(b, n), p, n);
    }
}

void sup_buf_put_u8(SupBuf *b, uint8_t v)
{
    *sup_buf_grow(b, 1) = v;
}

void sup_buf_put_be16(SupBuf *b, uint16_t v)
{
    mf_be16_store(sup_buf_grow(b, 2), v);
}

void sup_buf_put_be32(SupBuf *b, uint32_t v)
{
    mf_be32_store(sup_buf_grow(b, 4), v);
}

void sup_buf_put_be64(SupBuf *b, uint64_t v)
{
    mf_be64_store(sup_buf_grow(b, 8), v);
}

void sup_buf_truncate(SupBuf *b, size_t len)
{
    if (len < b->len) {
        b->len = len;
    }
}

void sup_buf_free(SupBuf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}
