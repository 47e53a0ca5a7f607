/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mfcolo-replay as a library: the whole command (arguments, files,
 * output, exit status) runs in-process, so the conformance suite can run
 * it under valgrind and the sanitizers and watch memory at every
 * checkpoint.  docs/replay.md documents the command.
 */
#ifndef MFCOLO_TOOLS_REPLAY_H
#define MFCOLO_TOOLS_REPLAY_H

#include <stdbool.h>
#include <stdio.h>

#include "incoming/incoming.h"
#include "ram/ram.h"

/* Exit statuses (docs/replay.md). */
enum {
    REPLAY_EXIT_OK = 0,     /* valid, complete stream */
    REPLAY_EXIT_STREAM = 1, /* the stream is invalid or incomplete */
    REPLAY_EXIT_USAGE = 2,  /* bad command line */
    REPLAY_EXIT_IO = 3,     /* an input/output file could not be used */
    REPLAY_EXIT_NOMEM = 4,  /* out of memory */
};

/* Optional observers (tests); every member may be NULL. */
typedef struct ReplayObserver {
    void *opaque;
    /* No per-block digest lines (saves hashing in long sweeps). */
    bool quiet;
    /* Precopy loaded (before COLO starts). */
    void (*precopy)(void *opaque, const RamTable *ram);
    /* A checkpoint was flushed (guest memory = that checkpoint). */
    void (*checkpoint)(void *opaque, const RamTable *ram,
                       const IncomingCheckpoint *cp);
    /* The run ended (memory as dumped); @status is the exit status. */
    void (*end)(void *opaque, const RamTable *ram, int status);
} ReplayObserver;

/*
 * Run "mfcolo-replay" with @argc/@argv (argv[0] is the program name).
 * Normal output goes to @out, the single error line to @errf.  Returns
 * the exit status.
 */
int replay_main(int argc, char **argv, FILE *out, FILE *errf,
                const ReplayObserver *obs);

/* "/rom@etc/acpi/tables" -> "_rom_etc_acpi_tables.bin" into @buf. */
void replay_dump_name(const char *block, char *buf, size_t size);

#endif /* MFCOLO_TOOLS_REPLAY_H */
