/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Expected outcomes per QEMU version (tests/qemu/expect/PREFIX-VERSION.txt,
 * lines "CASE OUTCOME", '#' comments), for the scenario tests of the qemu
 * tier: a known defect of a version is recorded there, and the test fails
 * when the outcome differs from the record in either direction.
 */
#ifndef MFCOLO_QEMU_EXPECT_H
#define MFCOLO_QEMU_EXPECT_H

#include <stddef.h>

#include "qemu-backend.h"

/*
 * The recorded outcome of case @name on QEMU @v into @want ("ok" when the
 * file does not list it, or when there is no file), and the file used (or
 * why none) into @file.  The file is $MFCOLO_QEMU_EXPECT_DIR/
 * $MFCOLO_QEMU_EXPECT.txt when that variable is set, else
 * PREFIX-M.m.u.txt, else PREFIX-M.m.txt.  Gate mode ($MFCOLO_QEMU_GATE,
 * ci/qemu-gate) judges raw behaviour: every case is expected "ok".
 * Fails the test when MFCOLO_QEMU_EXPECT_DIR is unset or a file cannot
 * be read.
 */
void qemu_expect_lookup(const char *prefix, const QTestVersion *v,
                        const char *name, char *want, size_t size, char *file,
                        size_t fsize);

#endif /* MFCOLO_QEMU_EXPECT_H */
