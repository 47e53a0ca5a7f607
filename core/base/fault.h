/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Fault points (libfiu's fiu-local.h pattern).
 *
 * Built with the meson feature "faults" (MFCOLO_FAULTS defined, -lfiu),
 * mf_fault("mfcolo/<layer>/<what>") asks libfiu whether this hit must
 * fail; otherwise it is the constant false and costs nothing.  Every
 * point is catalogued in docs/faults.md with the failure it simulates
 * and the outcome the receiver must produce.
 */
#ifndef MFCOLO_BASE_FAULT_H
#define MFCOLO_BASE_FAULT_H

#include <stdbool.h>
#include <stdint.h>

#ifdef MFCOLO_FAULTS
/* <fiu.h> turns fiu_fail() into the constant 0 unless FIU_ENABLE is set. */
#ifndef FIU_ENABLE
#define FIU_ENABLE 1
#endif
#include <fiu.h>

static inline bool mf_fault(const char *point)
{
    return fiu_fail(point) != 0;
}

/*
 * The errno a failing I/O point simulates: the point's failinfo when the
 * test pinned one, else @dflt.  Only meaningful right after mf_fault()
 * returned true in the same thread.
 */
static inline int mf_fault_errno(int dflt)
{
    void *info = fiu_failinfo();

    return info ? (int)(intptr_t)info : dflt;
}
#else
static inline bool mf_fault(const char *point)
{
    (void)point;
    return false;
}

static inline int mf_fault_errno(int dflt)
{
    return dflt;
}
#endif

#endif /* MFCOLO_BASE_FAULT_H */
