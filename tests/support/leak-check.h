/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The leak check of the default run.  A test program linked with
 * leak_check_dep (tests/support/meson.build) has every malloc, calloc,
 * realloc and free that its statically linked code makes (core/, the
 * test itself, tests/support, the replay library) routed through
 * leak-check.c (ld --wrap), which keeps the set of blocks that are live.
 * When the program exits, a block still live fails it: the exit status
 * becomes 1 and stderr says
 *   "leak-check: N blocks (B bytes) still live at exit"
 * followed by one line per block (at most 20) with its size and the
 * address of the call that allocated it (addr2line -e PROGRAM OFFSET
 * names core/'s file and line).  Every allocation core/ makes goes
 * through malloc/calloc/free in its own objects (base/alloc.h, the zstd
 * and zlib allocators included), so a leak of core/ fails the plain
 * `meson test`, not only the valgrind or ASan setups.
 *
 * Blocks that the C library allocates for itself (stdio buffers,
 * strdup, open_memstream) are not seen, and a free() of such a block is
 * ignored.  Only the process that started the program checks: a forked
 * child exits without the check (it holds its parent's blocks).
 * MFCOLO_LEAK_CHECK=0 in the environment turns the check off.
 */
#ifndef MFCOLO_SUPPORT_LEAK_CHECK_H
#define MFCOLO_SUPPORT_LEAK_CHECK_H

#include <stddef.h>

typedef struct SupLeakCount {
    size_t blocks; /* live blocks */
    size_t bytes;  /* their sizes, as asked for */
} SupLeakCount;

/* What is live now. */
SupLeakCount sup_leak_live(void);

#endif /* MFCOLO_SUPPORT_LEAK_CHECK_H */
