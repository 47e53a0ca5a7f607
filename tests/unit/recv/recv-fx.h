/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The fixture of the recv unit tests (test-channel.c, test-engine.c): a
 * RAM table with "pc.ram" (and optionally the 100-byte "tiny" block, too
 * short for any page), COLO on or off, the sender's copy of pc.ram filled
 * from a seed, one SupBuf per stream the test builds (recv-gen.h), and
 * an engine configuration the test may change before recv_fx_engine().
 * Allocation failure fails the test (cmocka assertions).
 */
#ifndef MFCOLO_TESTS_RECV_FX_H
#define MFCOLO_TESTS_RECV_FX_H

#include <stdbool.h>
#include <stdint.h>

#include "base/error.h"
#include "buf.h"
#include "colo/colo.h"
#include "ram/ram.h"
#include "recv/recv.h"

#define RECV_FX_PAGE 4096u
#define RECV_FX_STREAMS 8

typedef struct RecvFxSpec {
    uint64_t npages; /* pages of pc.ram */
    uint64_t seed;   /* of the sender's copy */
    bool tiny;       /* add the "tiny" block */
    bool colo;       /* colo_init on the table */
} RecvFxSpec;

typedef struct RecvFx {
    RamTable t;
    ColoState colo;
    bool has_colo;
    RamBlock *b;    /* pc.ram */
    RamBlock *tiny; /* NULL unless spec.tiny */
    uint8_t *src;   /* the sender's pc.ram: splitmix64 words, each odd */
    SupBuf s[RECV_FX_STREAMS];
    RecvConfig cfg; /* for recv_fx_engine: page size set, the rest 0 */
    RecvEngine *e;
} RecvFx;

void recv_fx_init(RecvFx *f, const RecvFxSpec *spec);
/* The engine over the table (and COLO state) with f->cfg. */
void recv_fx_engine(RecvFx *f);
/* Free the engine, the COLO state, the table, the copy and the streams. */
void recv_fx_destroy(RecvFx *f);

/* A memory channel over stream @s, labelled "test". */
Chan *recv_fx_mem_chan(const SupBuf *s);

/* @e is exactly @code, located on @where at stream @offset. */
void recv_fx_expect_err(const MfError *e, int code, const char *where,
                        uint64_t offset);

#endif /* MFCOLO_TESTS_RECV_FX_H */
