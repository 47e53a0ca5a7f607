/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The fault-point catalogue as data: every libfiu point of core/ with the
 * failure it simulates and the error codes the receiver may end with when
 * it fires (docs/faults.md is the prose of the same table; a test checks
 * that core/, this table and the document name the same points).
 */
#ifndef MFCOLO_FAULTS_CATALOGUE_H
#define MFCOLO_FAULTS_CATALOGUE_H

#include <stdbool.h>
#include <stddef.h>

#define CATALOGUE_MAX_CODES 3

typedef struct FaultPoint {
    const char *name;               /* "mfcolo/chan/read" */
    const char *simulates;          /* "read(2) fails, errno EIO (failinfo)" */
    int codes[CATALOGUE_MAX_CODES]; /* allowed outcomes, 0-terminated */
} FaultPoint;

size_t catalogue_count(void);
const FaultPoint *catalogue_point(size_t i);
/* The entry named exactly @name, or NULL. */
const FaultPoint *catalogue_find(const char *name);
/* Is @code an outcome the entry allows? */
bool catalogue_allows(const FaultPoint *fp, int code);

#endif /* MFCOLO_FAULTS_CATALOGUE_H */
