/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Labels ("connection 3", "multifd 0", a caller's name) written into
 * fixed buffers without the printf machinery: they are made for every
 * connection, so a fuzzer accepting 100,000 connections a second pays for
 * each snprintf.
 */
#ifndef MFCOLO_BASE_LABEL_H
#define MFCOLO_BASE_LABEL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/*
 * Copy @src (NULL: "") into @dst of @size > 0 bytes, cut to fit, always
 * NUL-terminated; returns the length written.
 */
static inline size_t mf_label_copy(char *dst, size_t size, const char *src)
{
    size_t n = src ? strnlen(src, size - 1) : 0;

    memcpy(dst, src ? src : "", n);
    dst[n] = '\0';
    return n;
}

/* "@prefix@n" (decimal) into @dst of @size > 0 bytes, as mf_label_copy. */
static inline void mf_label_u32(char *dst, size_t size, const char *prefix,
                                uint32_t n)
{
    char digits[10];
    size_t len = mf_label_copy(dst, size, prefix);
    int i = 0;

    do {
        digits[i++] = (char)('0' + n % 10);
        n /= 10;
    } while (n);
    while (i > 0 && len + 1 < size) {
        dst[len++] = digits[--i];
    }
    dst[len] = '\0';
}

#endif /* MFCOLO_BASE_LABEL_H */
