/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuzz_pool(): the MfAllocator the harnesses hand to core/ (RamTable,
 * RecvConfig, IncomingConfig) for its large buffers.
 *
 * Under ASan it keeps freed buffers, by exact size, and hands them out
 * again: every allocation above 128 KiB is otherwise a fresh mmap plus
 * shadow mapping, and its free an munmap, which cost far more than the
 * receive path itself (a zstd decoder made and freed per input: 2.7 ms
 * against 21 us recycled).  A cached buffer is poisoned while it waits,
 * so a use after free is still reported.  Nothing is observable across
 * inputs: core/ zeroes what it needs zeroed (mf_alloc_in) and treats the
 * rest as uninitialised.
 *
 * Without ASan (replay build, valgrind, AFL++) it passes every call to
 * malloc/free, so valgrind still sees uninitialised reads.
 */
#ifndef MFCOLO_FUZZ_POOL_H
#define MFCOLO_FUZZ_POOL_H

#include "base/alloc.h"

const MfAllocator *fuzz_pool(void);

/*
 * End of an input: every buffer must have been given back (a buffer
 * still out is a leak in core/, reported as an oracle failure).
 */
void fuzz_pool_check_empty(void);

#endif /* MFCOLO_FUZZ_POOL_H */
