/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "recv-run.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/bitmap.h"
#include "colo-check.h"
#include "rng.h"

typedef struct Ctx {
    char *why;
    size_t len;
} Ctx;

static bool failf(Ctx *x, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(x->why, x->len, fmt, ap);
    va_end(ap);
    return false;
}

static bool fail_err(Ctx *x, const char *what, const MfError *err)
{
    char line[300];

    mf_error_format(err, line, sizeof(line));
    return failf(x, "%s: %s (%s)", what, line,
                 err->code_name ? err->code_name : "?");
}

static bool same(Ctx *x, const char *what, uint32_t k, const uint8_t *a,
                 const uint8_t *b, size_t n, uint32_t ps)
{
    size_t i;

    for (i = 0; i < n; i += ps) {
        if (memcmp(a + i, b + i, ps) != 0) {
            return failf(x, "stage %u: %s differs at page %zu", k, what,
                         i / ps);
        }
    }
    return true;
}

static bool run_stages(const Scenario *sc, RsRun *run, const RsIo *io,
                       RecvEngine *e, RamBlock *b, ColoState *colo, Ctx *x)
{
    const RsConfig *cfg = &sc->cfg;
    size_t bytes = (size_t)cfg->npages * cfg->page_size;
    uint8_t *snap = malloc(bytes);
    SupRng rng;
    MfError err = { 0 };
    uint32_t k, i, n;
    bool ok = false;

    if (!snap) {
        abort();
    }
    sup_rng_seed(&rng, run->seed ^ 0x5eed);
    for (k = 0; k <= cfg->checkpoints; k++) {
        if (k == 1 && !colo_enter(colo, &err)) {
            fail_err(x, "colo_enter", &err);
            goto out;
        }
        if (k >= 1) {
            /* The secondary runs and writes a page of its own. */
            uint32_t p = (uint32_t)sup_rng_below(&rng, cfg->npages);

            b->host[(size_t)p * cfg->page_size + 5] ^= 0xff;
            colo_guest_dirty(b, (uint64_t)p * cfg->page_size);
            memcpy(snap, b->host, bytes);
        }
        if (io->send_stage) {
            io->send_stage(io->opaque, k);
        }
        /* Every sync point of the stage (setup, rounds, sections). */
        for (n = 0; n < sc->syncs[k]; n++) {
            if (!recv_engine_sync(e, &err)) {
                fail_err(x, "sync", &err);
                goto out;
            }
        }
        if (k == 0) {
            if (!same(x, "guest vs primary", k, b->host, sc->image[0], bytes,
                      cfg->page_size)) {
                goto out;
            }
            if (colo && (!same(x, "cache vs guest (I1)", k, b->colo_cache,
                               b->host, bytes, cfg->page_size) ||
                         !mf_bitmap_empty(b->dirty, b->npages))) {
                if (!x->why[0]) {
                    failf(x, "stage 0: dirty bit set in precopy (I1)");
                }
                goto out;
            }
            continue;
        }
        /* I2: guest untouched, exactly the sent pages recorded. */
        if (!same(x, "guest changed during COLO receive (I2)", k, b->host, snap,
                  bytes, cfg->page_size)) {
            goto out;
        }
        for (i = 0; i < cfg->npages; i++) {
            size_t at = (size_t)i * cfg->page_size;

            if (mf_bitmap_test(b->dirty, i) != (sc->sent[k][i] != 0)) {
                failf(x, "stage %u: page %u dirty bit %d, sent %d (I2)", k, i,
                      mf_bitmap_test(b->dirty, i), sc->sent[k][i]);
                goto out;
            }
            if (sc->sent[k][i] && memcmp(b->colo_cache + at, sc->image[k] + at,
                                         cfg->page_size) != 0) {
                failf(x, "stage %u: cache page %u differs", k, i);
                goto out;
            }
        }
        if (!colo_flush(colo, NULL, &err)) {
            fail_err(x, "flush", &err);
            goto out;
        }
        if (!colo_check_i3(colo, &err)) {
            fail_err(x, "I3", &err);
            goto out;
        }
        if (!same(x, "guest after flush vs primary (I3/I4)", k, b->host,
                  sc->image[k], bytes, cfg->page_size)) {
            goto out;
        }
    }
    if (io->send_end) {
        io->send_end(io->opaque);
    }
    if (!recv_engine_finish(e, &err)) {
        fail_err(x, "finish", &err);
        goto out;
    }
    ok = true;
out:
    free(snap);
    return ok;
}

bool rs_run(const Scenario *sc, RsRun *run, const RsIo *io, char *why,
            size_t len)
{
    const RsConfig *cfg = &sc->cfg;
    RecvConfig rc = { 0 };
    RamTable t;
    ColoState colo;
    RamBlock *b;
    RecvEngine *e;
    MfError err = { 0 };
    Ctx x = { why, len };
    uint32_t order[RS_MAX_CHANNELS], i;
    SupRng rng;
    bool ok = false;

    why[0] = '\0';
    if (!ram_table_init(&t, cfg->page_size, &err)) {
        return fail_err(&x, "ram_table_init", &err);
    }
    b = ram_table_add(&t, "pc.ram", (uint64_t)cfg->npages * cfg->page_size,
                      NULL, &err);
    if (!b || (run->colo && !colo_init(&colo, &t, &err))) {
        ram_table_destroy(&t);
        return fail_err(&x, "ram setup", &err);
    }
    rc.channels = cfg->channels;
    rc.page_size = cfg->page_size;
    rc.compression = cfg->comp;
    rc.expect_uuid = true;
    memcpy(rc.uuid, cfg->uuid, WIRE_UUID_SIZE);
    rc.driver = run->driver;
    rc.seed = run->seed;
    rc.max_chunk = run->max_chunk;
    e = recv_engine_new(&rc, &t, run->colo ? &colo : NULL, &err);
    if (!e) {
        fail_err(&x, "recv_engine_new", &err);
        goto out_ram;
    }
    /* Connections arrive in a seeded order. */
    sup_rng_seed(&rng, run->seed);
    for (i = 0; i < cfg->channels; i++) {
        order[i] = i;
    }
    for (i = cfg->channels; i > 1; i--) {
        uint32_t j = (uint32_t)sup_rng_below(&rng, i), tmp = order[i - 1];

        order[i - 1] = order[j];
        order[j] = tmp;
    }
    for (i = 0; i < cfg->channels; i++) {
        if (!recv_engine_add_channel(e, io->open(io->opaque, order[i]), &err)) {
            fail_err(&x, "add_channel", &err);
            goto out_engine;
        }
    }
    ok = run_stages(sc, run, io, e, b, run->colo ? &colo : NULL, &x);
    run->trace_hash = recv_engine_trace_hash(e);
    run->events = recv_engine_events(e);
out_engine:
    if (!ok && io->send_end) {
        io->send_end(io->opaque);
    }
    recv_engine_free(e);
out_ram:
    if (run->colo) {
        colo_destroy(&colo);
    }
    ram_table_destroy(&t);
    return ok;
}
