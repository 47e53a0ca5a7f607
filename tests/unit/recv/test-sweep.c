/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Deterministic-driver sweep: per seed a scenario (channels 1..8, none /
 * zstd / zlib, old or new sender shapes, precopy + checkpoints) is run
 * with a seeded scheduler delivering 1..max_chunk bytes at a time (down
 * to single bytes), checking I1-I3 after every stage; the same seed is
 * then run again and must give the same event hash and memory.
 *
 * Usage: test-recv-sweep [N]  (N seeds from 1, default 50).
 * MFCOLO_SEED=<n> runs that one seed (printed by any failure).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "codec/codec.h"

#include "recv-run.h"
#include "rng.h"

static uint64_t first_seed = 1;
static uint64_t nseeds = 50;

/* What the sweep covered (printed at the end). */
static struct {
    uint64_t runs, single_byte, old_style, colo, checkpoints, packets;
    uint64_t comp[3];
} cover;

typedef struct MemIo {
    const Scenario *sc;
    size_t max_chunk;
} MemIo;

static Chan *mem_open(void *opaque, uint32_t c)
{
    MemIo *io = opaque;
    MfError err = { 0 };
    Chan *ch = chan_mem_new(io->sc->s[c].data, io->sc->s[c].len, io->max_chunk,
                            "test", &err);

    if (!ch) {
        abort();
    }
    return ch;
}

static void seed_config(uint64_t seed, RsConfig *cfg, RsRun *run)
{
    static const WireCompression comps[3] = { WIRE_COMP_NONE, WIRE_COMP_ZSTD,
                                              WIRE_COMP_ZLIB };
    static const size_t chunks[8] = { 1, 2, 3, 13, 100, 1345, 4096, 0 };
    SupRng r;

    sup_rng_seed(&r, seed);
    memset(cfg, 0, sizeof(*cfg));
    memset(run, 0, sizeof(*run));
    cfg->channels = 1 + (uint32_t)sup_rng_below(&r, 8);
    cfg->comp = comps[sup_rng_below(&r, 3)];
    if (!codec_supported(cfg->comp)) {
        cfg->comp = WIRE_COMP_NONE;
    }
    cfg->page_size = 4096;
    run->max_chunk = chunks[sup_rng_below(&r, 8)];
    /* Single-byte delivery on a smaller memory keeps the suite fast. */
    cfg->npages = run->max_chunk && run->max_chunk < 8 ? 12 : 48;
    cfg->checkpoints = (uint32_t)sup_rng_below(&r, 4);
    cfg->max_packet = 1 + (uint32_t)sup_rng_below(&r, 24);
    cfg->old_style = sup_rng_below(&r, 2);
    cfg->seed = seed;
    memcpy(cfg->uuid, "sweep-uuid-01234", WIRE_UUID_SIZE);
    run->driver = RECV_DRIVER_DETERMINISTIC;
    run->seed = seed;
    run->colo = cfg->checkpoints > 0 || sup_rng_below(&r, 2);
}

static void run_seed(uint64_t seed)
{
    Scenario sc;
    RsConfig cfg;
    RsRun run, again;
    MemIo mio;
    RsIo io = { mem_open, NULL, NULL, &mio };
    char why[400];

    seed_config(seed, &cfg, &run);
    rs_build(&sc, &cfg);
    cover.runs++;
    cover.single_byte += run.max_chunk == 1;
    cover.old_style += cfg.old_style;
    cover.colo += run.colo;
    cover.checkpoints += cfg.checkpoints;
    cover.packets += sc.packets;
    cover.comp[cfg.comp == WIRE_COMP_NONE   ? 0
               : cfg.comp == WIRE_COMP_ZSTD ? 1
                                            : 2]++;
    mio.sc = &sc;
    mio.max_chunk = 0;
    again = run;
    if (!rs_run(&sc, &run, &io, why, sizeof(why))) {
        rs_free(&sc);
        fail_msg("seed %llu (%u channels, comp 0x%x, chunk %zu, %u "
                 "checkpoints, %s): %s; replay with MFCOLO_SEED=%llu",
                 (unsigned long long)seed, cfg.channels, cfg.comp,
                 run.max_chunk, cfg.checkpoints, cfg.old_style ? "7.2" : "9.x",
                 why, (unsigned long long)seed);
    }
    if (!rs_run(&sc, &again, &io, why, sizeof(why)) ||
        again.trace_hash != run.trace_hash || again.events != run.events) {
        rs_free(&sc);
        fail_msg("seed %llu: not deterministic (%s); replay with "
                 "MFCOLO_SEED=%llu",
                 (unsigned long long)seed, why, (unsigned long long)seed);
    }
    rs_free(&sc);
}

static void t_sweep(void **state)
{
    uint64_t s;

    (void)state;
    for (s = first_seed; s < first_seed + nseeds; s++) {
        run_seed(s);
    }
    print_message(
        "sweep: %llu seeds from %llu: %llu single-byte, %llu "
        "7.2-style, %llu COLO, %llu checkpoints, %llu packets, "
        "none/zstd/zlib %llu/%llu/%llu\n",
        (unsigned long long)cover.runs, (unsigned long long)first_seed,
        (unsigned long long)cover.single_byte,
        (unsigned long long)cover.old_style, (unsigned long long)cover.colo,
        (unsigned long long)cover.checkpoints,
        (unsigned long long)cover.packets, (unsigned long long)cover.comp[0],
        (unsigned long long)cover.comp[1], (unsigned long long)cover.comp[2]);
}

/* Different seeds schedule differently (the seed is really used). */
static void t_seeds_differ(void **state)
{
    Scenario sc;
    RsConfig cfg;
    RsRun a, b;
    MemIo mio;
    RsIo io = { mem_open, NULL, NULL, &mio };
    char why[400];

    (void)state;
    seed_config(3, &cfg, &a);
    cfg.channels = 4;
    a.max_chunk = 50;
    rs_build(&sc, &cfg);
    mio.sc = &sc;
    mio.max_chunk = 0;
    b = a;
    b.seed = a.seed + 1;
    assert_true(rs_run(&sc, &a, &io, why, sizeof(why)));
    assert_true(rs_run(&sc, &b, &io, why, sizeof(why)));
    assert_int_not_equal(a.trace_hash, b.trace_hash);
    rs_free(&sc);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_sweep),
        cmocka_unit_test(t_seeds_differ),
    };
    const char *one = getenv("MFCOLO_SEED");

    if (argc > 1) {
        nseeds = strtoull(argv[1], NULL, 0);
    }
    if (one && *one) {
        first_seed = strtoull(one, NULL, 0);
        nseeds = 1;
    }
    return cmocka_run_group_tests(tests, NULL, NULL);
}
