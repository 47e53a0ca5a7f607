/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Hostile inputs for a real QEMU destination, made deterministically from
 * the QEMU 7.2 precopy recordings (tests/data/qemu-7.2/nocomp-2ch,
 * zstd-2ch, zlib-2ch): the main channel and the device state stay the recording's
 * own, so a destination of the recorded command line loads them, and each
 * case differs from the recording only where its fault is.
 *
 * A case is a list of edits of the recorded files: bytes replaced at an
 * offset, a file cut at a length, a file added (a copy of a recorded
 * channel, edited).  The edits are spelled out in HostileInput.patch (and
 * in tests/qemu/hostile-inputs.txt with the SHA-256 of every file), so the
 * input of every finding is reproducible from the committed recordings by
 * hand as well as by this generator.
 *
 * Files of a case: "main.bin" then "chan-<k>.bin" for each multifd
 * connection, in the order they are given to `mfcolo-qemu send` and
 * mfcolo-replay.  chan-<k>.bin is the recorded channel whose handshake id
 * is k (the recordings hold them in accept order).
 *
 * Test support: allocation failure aborts.
 */
#ifndef MFCOLO_TESTS_QEMU_HOSTILE_CASES_H
#define MFCOLO_TESTS_QEMU_HOSTILE_CASES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define HOSTILE_MAX_FILES 5
#define HOSTILE_MAX_PACKETS 64
/* The uuid of the recordings (-uuid of their command lines). */
#define HOSTILE_UUID "6d756c74-6966-6463-6170-747572652121"

/* One recorded multifd channel, walked packet by packet. */
typedef struct HostileChan {
    SupBuf buf;
    uint8_t id; /* handshake id */
    size_t npackets;
    uint64_t pkt[HOSTILE_MAX_PACKETS];     /* header offsets */
    uint32_t normal[HOSTILE_MAX_PACKETS];  /* normal_pages */
    uint64_t payload[HOSTILE_MAX_PACKETS]; /* payload bytes after header */
} HostileChan;

/* The recordings the cases are made from, under <root>/qemu-7.2. */
#define HOSTILE_NRECORDINGS 3
extern const char *const hostile_recordings[HOSTILE_NRECORDINGS];
/* Index of @dir in hostile_recordings (0 when unknown). */
size_t hostile_recording_index(const char *dir);

/* A recording: "nocomp-2ch", "zstd-2ch" or "zlib-2ch". */
typedef struct HostileRecording {
    char dir[32];
    const char *compression; /* "none", "zstd", "zlib" */
    SupBuf main;
    uint64_t section_part;  /* the "ram" SECTION_PART on main */
    uint64_t mem_size_name; /* u8 length of the first MEM_SIZE name */
    uint64_t device_state;  /* first SECTION_FULL (device state) */
    size_t nchans;
    HostileChan chan[2]; /* by handshake id */
} HostileRecording;

typedef struct HostileFile {
    char name[32];
    SupBuf buf;
} HostileFile;

/* A generated case. */
typedef struct HostileInput {
    const char *compression;
    size_t nfiles; /* files[0] is main.bin */
    HostileFile files[HOSTILE_MAX_FILES];
    char patch[1024]; /* the edits, "; "-separated */
} HostileInput;

/* What a case does to the recording (hostile-cases.c spells each out). */
typedef enum HostileKind {
    HK_CLEAN,          /* the recording as is (a control) */
    HK_HS_FIELD,       /* handshake of @chan: @width bytes at @at = @value */
    HK_HS_UUID,        /* handshake of @chan: uuid[0] ^= 0xff */
    HK_HS_RESERVED,    /* handshake of @chan: bytes 25..63 = 0xff */
    HK_PKT_FIELD,      /* packet @pkt of @chan: @width bytes at @at = @value */
    HK_PKT_FLAGS_OR,   /* packet @pkt of @chan: flags |= @value */
    HK_PKT_FLAGS_COMP, /* packet @pkt of @chan: compression bits = @value */
    HK_PKT_NEXT_DELTA, /* packet @pkt of @chan: next_packet_size += @value */
    HK_PKT_NAME,       /* packet @pkt of @chan: ramblock = @name */
    HK_PKT_NAME_FULL,  /* packet @pkt of @chan: 256 bytes 'A', no NUL */
    HK_PKT_OFFSET,     /* packet @pkt of @chan: offsets[0] = @value */
    HK_PKT_OFFSET_ADD, /* packet @pkt of @chan: offsets[0] += @value */
    HK_PKT_PAYLOAD,    /* packet @pkt of @chan: 64 payload bytes ^= 0x5a */
    HK_PKT_ZERO_ONLY,  /* packet @pkt of @chan: normal_pages 0, zero_pages
                        * @value, the rest (flags, next_packet_size,
                        * offsets, payload) as recorded */
    HK_PKT_DEVSTATE,   /* packet @pkt of @chan: flags |= 0x40 (device
                        * state, QEMU >= 10.0) and bytes 272..275 (the
                        * device-state next_packet_size) = @value */
    HK_CUT_PKT,        /* @chan cut at packet @pkt's header + @value */
    HK_CUT_AT,         /* @chan cut at byte @value */
    HK_CUT_LAST_SYNC,  /* @chan cut at its last SYNC packet */
    HK_EXTRA_CONN,     /* one more connection: a copy of @chan */
    HK_MAIN_CUT_PART,  /* main cut at the ram SECTION_PART + @value */
    HK_MAIN_CUT_DEV,   /* main cut at the device state + @value */
    HK_MAIN_MEM_SIZE,  /* main: first MEM_SIZE name, last char = 'x' */
} HostileKind;

/* Which packet of a channel. */
typedef enum HostilePkt {
    HP_DATA,  /* the first packet with pages */
    HP_FIRST, /* the first packet (a pure SYNC in 7.2) */
} HostilePkt;

typedef struct HostileCase {
    const char *name;      /* "<recording>/<fault>", e.g. "zstd/hs-magic" */
    const char *what;      /* one line */
    const char *recording; /* one of hostile_recordings */
    bool slice;            /* in the default suite's slice */
    HostileKind kind;
    uint8_t chan;      /* multifd channel id the edit applies to */
    HostilePkt pkt;    /* packet kinds: which packet */
    uint32_t at;       /* field offset (HK_*_FIELD) */
    uint32_t width;    /* field bytes: 1, 4 or 8 */
    uint64_t value;    /* see the kind */
    const char *name2; /* HK_PKT_NAME */
    bool hold;         /* connections stay open after the last byte */
} HostileCase;

/* Every case, in a fixed order. */
size_t hostile_ncases(void);
const HostileCase *hostile_case(size_t i);
/* By name; NULL if unknown. */
const HostileCase *hostile_case_find(const char *name);

/*
 * Load <root>/qemu-7.2/<dir> (conn-0.bin main, conn-1/2.bin channels)
 * and walk it.  False with @why on a missing file or a shape this
 * generator does not know (then the cases would not be what they say).
 */
bool hostile_recording_load(const char *root, const char *dir,
                            HostileRecording *r, char *why, size_t why_len);
void hostile_recording_free(HostileRecording *r);

/* Make @c from @r (which must be c->recording). */
void hostile_make(const HostileCase *c, const HostileRecording *r,
                  HostileInput *in);
void hostile_input_free(HostileInput *in);

/*
 * Write the files into @dir (created if missing).  False with @why on an
 * I/O error.
 */
bool hostile_input_write(const HostileInput *in, const char *dir, char *why,
                         size_t why_len);

/*
 * The manifest line of a case: "<name> <compression> <file>:<size>:
 * <sha256>... | <patch>" (no newline) into @out.
 */
void hostile_manifest_line(const HostileCase *c, const HostileInput *in,
                           char *out, size_t size);

#endif /* MFCOLO_TESTS_QEMU_HOSTILE_CASES_H */
