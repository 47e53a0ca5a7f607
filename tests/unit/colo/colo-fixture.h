/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The fixture shared by the colo unit tests: a RamTable of 4 KiB pages
 * with two blocks "a" and "b" (sizes chosen by the test, "b" may end in
 * a partial page) and a ColoState on it, in phase precopy.
 * colo_fix_setup() returns -1 (cmocka: setup failed) on any error.
 */
#ifndef MFCOLO_TESTS_COLO_FIXTURE_H
#define MFCOLO_TESTS_COLO_FIXTURE_H

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

#endif /* MFCOLO_TESTS_COLO_FIXTURE_H */
