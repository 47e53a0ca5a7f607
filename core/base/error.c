/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "base/error.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "base/label.h"

void mf_error_clear(MfError *err)
{
    if (!err) {
        return;
    }
    memset(err, 0, sizeof(*err));
}

bool mf_error_set_impl(MfError *err, int code, const char *code_name,
                       uint64_t offset, const char *fmt, ...)
{
    va_list ap;

    if (!err || err->code != MF_OK) {
        return false;
    }
    err->code = code;
    err->code_name = code_name;
    err->offset = offset;
    err->located = false;
    err->where[0] = '\0';
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
    return false;
}

void mf_error_locate(MfError *err, const char *where, uint64_t base)
{
    if (!err || err->code == MF_OK || err->located) {
        return;
    }
    err->offset += base;
    mf_label_copy(err->where, sizeof(err->where), where);
    err->located = true;
}

void mf_error_propagate(MfError *dst, const MfError *src)
{
    if (!dst || !src || src->code == MF_OK || dst->code != MF_OK) {
        return;
    }
    *dst = *src;
}

void mf_error_format(const MfError *err, char *buf, size_t size)
{
    if (size == 0) {
        return;
    }
    if (!err || err->code == MF_OK) {
        snprintf(buf, size, "no error");
    } else if (err->located) {
        snprintf(buf, size, "%s: offset %" PRIu64 ": %s", err->where,
                 err->offset, err->msg);
    } else {
        snprintf(buf, size, "%s", err->msg);
    }
}
