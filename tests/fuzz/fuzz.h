/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Helpers shared by the fuzz harnesses: a cursor that turns the input
 * bytes into parameters (like libFuzzer's FuzzedDataProvider, in C), and
 * the oracle failure that makes every engine report a crash.
 *
 * Harnesses are deterministic (no time, no rand(), no state kept between
 * inputs) and free everything they allocate.
 */
#ifndef MFCOLO_FUZZ_H
#define MFCOLO_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct FuzzInput {
    const uint8_t *data;
    size_t size;
    size_t pos;
} FuzzInput;

static inline void fuzz_input_init(FuzzInput *in, const uint8_t *data,
                                   size_t size)
{
    in->data = data;
    in->size = size;
    in->pos = 0;
}

static inline size_t fuzz_remaining(const FuzzInput *in)
{
    return in->size - in->pos;
}

/* Next byte, or 0 once the input is exhausted. */
static inline uint8_t fuzz_u8(FuzzInput *in)
{
    return in->pos < in->size ? in->data[in->pos++] : 0;
}

static inline uint32_t fuzz_u32(FuzzInput *in)
{
    uint32_t v = 0;
    int i;

    for (i = 0; i < 4; i++) {
        v = (v << 8) | fuzz_u8(in);
    }
    return v;
}

/* Up to @want bytes in place; *@got tells how many. */
static inline const uint8_t *fuzz_bytes(FuzzInput *in, size_t want, size_t *got)
{
    const uint8_t *p = in->data + in->pos;

    *got = want < fuzz_remaining(in) ? want : fuzz_remaining(in);
    in->pos += *got;
    return p;
}

/*
 * MFCOLO_FUZZ_VERBOSE=1: harnesses print each input's outcome (for
 * checking that seeds reach deep; never while fuzzing).
 */
static inline int fuzz_verbose(void)
{
    static int v = -1;

    if (v < 0) {
        const char *e = getenv("MFCOLO_FUZZ_VERBOSE");

        v = e && *e == '1';
    }
    return v;
}

/* An oracle was violated: report and abort so every engine sees it. */
#define FUZZ_FAIL(...) \
    do { \
        fprintf(stderr, "fuzz oracle violated at %s:%d: ", __FILE__, \
                __LINE__); \
        fprintf(stderr, __VA_ARGS__); \
        fprintf(stderr, "\n"); \
        abort(); \
    } while (0)

#define FUZZ_CHECK(cond, ...) \
    do { \
        if (!(cond)) { \
            FUZZ_FAIL(__VA_ARGS__); \
        } \
    } while (0)

/*
 * Every failure carries a code of some layer of core/ (base .. incoming)
 * and a message; @located: it also names a channel.
 */
#define FUZZ_CHECK_ERROR(err, want_where) \
    do { \
        FUZZ_CHECK((err)->code > MF_ERR_BASE_RANGE && \
                       (err)->code < MF_ERR_INCOMING_RANGE + 100 && \
                       (err)->msg[0] != '\0', \
                   "error without a code or message: %d '%s'", (err)->code, \
                   (err)->msg); \
        FUZZ_CHECK(!(want_where) || ((err)->located && (err)->where[0]), \
                   "unlocated error %s: %s", (err)->code_name, (err)->msg); \
    } while (0)

#endif /* MFCOLO_FUZZ_H */
