/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The fixture shared by the colo unit tests: a RamTable of 4 KiB pages
 * with two blocks "a" and "b" (sizes chosen by the test, "b" may end in
 * a partial page) and a ColoState on it, in phase precopy.
 * colo_fix_setup() returns -1 (cmocka: setup failed) on any error.
 * colo_fix_begin() records pages as a receiver does.
 */
#ifndef MFCOLO_TESTS_COLO_FIXTURE_H
#define MFCOLO_TESTS_COLO_FIXTURE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "colo/colo.h"
#include "ram/ram.h"

#define PS 4096u

typedef struct Fix {
    RamTable t;
    ColoState s;
    RamBlock *a, *b;
} Fix;

static inline int colo_fix_setup(void **state, uint64_t a_len, uint64_t b_len)
{
    Fix *f = calloc(1, sizeof(*f));

    if (!f || !ram_table_init(&f->t, PS, NULL)) {
        free(f);
        return -1;
    }
    f->a = ram_table_add(&f->t, "a", a_len, NULL, NULL);
    f->b = ram_table_add(&f->t, "b", b_len, NULL, NULL);
    if (!f->a || !f->b || !colo_init(&f->s, &f->t, NULL)) {
        ram_table_destroy(&f->t);
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

static inline int colo_fix_teardown(void **state)
{
    Fix *f = *state;

    colo_destroy(&f->s);
    ram_table_destroy(&f->t);
    free(f);
    return 0;
}

/*
 * Begin a packet of @nn normal and @nz zero pages on @b without its data
 * (a partial packet: in COLO phase every page is recorded).  The slots
 * are not written; true on success.
 */
static inline bool colo_fix_begin(ColoState *s, RamBlock *b,
                                  const uint64_t *normal, uint32_t nn,
                                  const uint64_t *zero, uint32_t nz)
{
    uint8_t *slots[8];
    ColoPacket pk;

    return nn <= 8 && colo_place_packet_begin(&pk, s, b, normal, nn, zero, nz,
                                              slots, 0, NULL);
}

#endif /* MFCOLO_TESTS_COLO_FIXTURE_H */
