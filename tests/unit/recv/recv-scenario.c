/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "recv-scenario.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "rng.h"

/* New content for page @i of block 0: zero, a pattern or random. */
static void fill_page(MemImage *mem, uint64_t i, SupRng *rng)
{
    uint8_t *p = mem_image_page(mem, 0, i);
    uint32_t ps = mem->page_size, k;
    uint64_t kind = sup_rng_below(rng, 4);

    if (kind == 0) {
        memset(p, 0, ps);
    } else if (kind == 1) {
        memset(p, (int)sup_rng_below(rng, 255) + 1, ps);
    } else {
        for (k = 0; k < ps; k += 8) {
            uint64_t v = sup_rng_next(rng);

            memcpy(p + k, &v, 8);
        }
    }
}

static void primary_cfg(const RsConfig *cfg, PrimaryConfig *pc)
{
    primary_config_init(pc, cfg->old_style ? PRIMARY_QEMU_7_2 : PRIMARY_QEMU_9,
                        cfg->channels, cfg->comp);
    pc->page_size = cfg->page_size;
    memcpy(pc->uuid, cfg->uuid, WIRE_UUID_SIZE);
    pc->seed = cfg->seed;
    pc->max_packet_pages = cfg->max_packet;
    pc->random_split = true;
    pc->colo = true;
    pc->device_state_size = 16;
    pc->keep_images = true;
    if (cfg->old_style) {
        /* 7.2 sends zero pages on main: keep every page on multifd. */
        pc->zero_pages = PRIMARY_ZERO_NONE;
        pc->duplicate_pages = cfg->seed % 2 == 0;
    }
}

/* Record stage @k of the primary: ends, syncs, image. */
static void record_stage(Scenario *sc, uint32_t k)
{
    const PrimaryStage *st = primary_stage(sc->p, k);
    size_t i, n = primary_nmarks(sc->p);
    uint32_t c, count[RS_MAX_CHANNELS] = { 0 };

    for (c = 0; c < sc->cfg.channels; c++) {
        sc->stage_end[c][k] = (size_t)st->end[1 + c];
    }
    for (i = 0; i < n; i++) {
        const PrimaryMark *m = primary_mark(sc->p, i);

        if (m->stage == k && m->conn >= 1 && m->conn <= sc->cfg.channels) {
            count[m->conn - 1] += m->kind == PM_SYNC;
            sc->packets += m->kind == PM_PACKET;
        }
    }
    for (c = 1; c < sc->cfg.channels; c++) {
        if (count[c] != count[0]) {
            fprintf(stderr,
                    "recv-scenario: stage %u: %u syncs on channel "
                    "0, %u on %u\n",
                    k, count[0], count[c], c);
            abort();
        }
    }
    sc->syncs[k] = count[0];
    sc->image[k] = st->image->blocks[0].data;
}

void rs_build(Scenario *sc, const RsConfig *cfg)
{
    PrimaryConfig pc;
    MemImage *init;
    PageSet *dirty;
    SupRng rng;
    uint32_t c, k, i;

    if (cfg->channels < 1 || cfg->channels > RS_MAX_CHANNELS ||
        cfg->checkpoints >= RS_MAX_STAGES) {
        abort();
    }
    memset(sc, 0, sizeof(*sc));
    sc->cfg = *cfg;
    sup_rng_seed(&rng, cfg->seed * 0x100000001b3ull + 17);
    init = mem_image_new(cfg->page_size);
    mem_image_add(init, "pc.ram", (uint64_t)cfg->npages * cfg->page_size);
    for (i = 0; i < cfg->npages; i++) {
        fill_page(init, i, &rng);
    }
    primary_cfg(cfg, &pc);
    sc->p = primary_new(&pc, init);
    mem_image_free(init);
    dirty = primary_dirty(sc->p);
    for (k = 0; k <= cfg->checkpoints; k++) {
        sc->sent[k] = sup_check_alloc(calloc(1, cfg->npages), "sent");
        if (k == 0) {
            memset(sc->sent[k], 1, cfg->npages);
            primary_precopy(sc->p);
        } else {
            for (i = 0; i < cfg->npages; i++) {
                if (sup_rng_below(&rng, 4) == 0) {
                    fill_page(primary_memory(sc->p), i, &rng);
                    page_set_add(dirty, 0, i);
                }
                sc->sent[k][i] = page_set_test(dirty, 0, i);
            }
            primary_checkpoint(sc->p);
        }
        record_stage(sc, k);
    }
    for (c = 0; c < cfg->channels; c++) {
        const PrimaryConn *conn = primary_conn(sc->p, 1 + c);

        sc->s[c].data = conn->buf.data;
        sc->s[c].len = conn->buf.len;
    }
}

void rs_free(Scenario *sc)
{
    uint32_t k;

    for (k = 0; k < RS_MAX_STAGES; k++) {
        free(sc->sent[k]);
    }
    primary_free(sc->p);
    memset(sc, 0, sizeof(*sc));
}
