/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "recv-scenario.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *xalloc(size_t n)
{
    void *p = calloc(1, n ? n : 1);

    if (!p) {
        fprintf(stderr, "recv-scenario: out of memory\n");
        abort();
    }
    return p;
}

static bool page_is_zero(const uint8_t *p, uint32_t ps)
{
    return p[0] == 0 && memcmp(p, p + 1, ps - 1) == 0;
}

/* New content for page @i of @mem: zero, a pattern or random. */
static void fill_page(uint8_t *mem, uint32_t ps, uint32_t i, uint64_t *rng)
{
    uint8_t *p = mem + (size_t)i * ps;
    uint64_t kind = rg_rand(rng) % 4;
    uint32_t k;

    if (kind == 0) {
        memset(p, 0, ps);
    } else if (kind == 1) {
        memset(p, (int)(rg_rand(rng) % 255) + 1, ps);
    } else {
        for (k = 0; k < ps; k += 8) {
            uint64_t v = rg_rand(rng);

            memcpy(p + k, &v, 8);
        }
    }
}

typedef struct Gen {
    Scenario *sc;
    QemuCompressor *qc[RS_MAX_CHANNELS];
    uint64_t rng;
    uint64_t num;
    /* Last packet per channel in this stage: offset, had data. */
    size_t last_at[RS_MAX_CHANNELS];
    bool last_data[RS_MAX_CHANNELS];
    size_t last_end[RS_MAX_CHANNELS];
    bool has_packet[RS_MAX_CHANNELS];
} Gen;

/* Append a copy of the packet header at @at (the buffer may move). */
static size_t copy_header(RgStream *s, size_t at, uint32_t page_size)
{
    size_t len = wire_packet_size(page_size), to = s->len;
    uint8_t *tmp = xalloc(len);

    memcpy(tmp, s->data + at, len);
    rg_put(s, tmp, len);
    free(tmp);
    return to;
}

static void emit_packet(Gen *g, uint32_t c, const uint8_t *mem,
                        const uint64_t *off, uint32_t n)
{
    const RsConfig *cfg = &g->sc->cfg;
    uint64_t normal[128], zero[128], all[256];
    uint32_t nn = 0, nz = 0, i;

    for (i = 0; i < n; i++) {
        if (!cfg->old_style && page_is_zero(mem + off[i], cfg->page_size)) {
            zero[nz++] = off[i];
        } else {
            normal[nn++] = off[i];
        }
    }
    memcpy(all, normal, nn * sizeof(uint64_t));
    memcpy(all + nn, zero, nz * sizeof(uint64_t));
    g->last_at[c] = rg_packet(&g->sc->s[c], g->qc[c], cfg->comp, cfg->page_size,
                              0, "pc.ram", mem, all, nn, nz, g->num++);
    g->last_data[c] = nn > 0;
    g->last_end[c] = g->sc->s[c].len;
    g->has_packet[c] = true;
    g->sc->packets++;
}

static void emit_stage(Gen *g, uint32_t k, const uint8_t *mem)
{
    Scenario *sc = g->sc;
    const RsConfig *cfg = &sc->cfg;
    uint64_t off[128];
    uint32_t i, n = 0, c, want = 0;
    uint64_t prev = UINT64_MAX;

    for (c = 0; c < cfg->channels; c++) {
        g->last_data[c] = false;
    }
    for (i = 0; i <= cfg->npages; i++) {
        bool flush = i == cfg->npages ? n > 0 : n == want && n > 0;

        if (flush) {
            c = (uint32_t)(rg_rand(&g->rng) % cfg->channels);
            emit_packet(g, c, mem, off, n);
            prev = off[n - 1];
            n = 0;
            /* QEMU 7.2 repeats the last page of a full packet. */
            if (cfg->old_style && rg_rand(&g->rng) % 4 == 0) {
                off[n++] = prev;
            }
        }
        if (i == cfg->npages) {
            break;
        }
        if (n == 0 || want == 0) {
            want = 1 + (uint32_t)(rg_rand(&g->rng) % cfg->max_packet);
        }
        if (sc->sent[k][i]) {
            off[n++] = (uint64_t)i * cfg->page_size;
        }
    }
    for (c = 0; c < cfg->channels; c++) {
        RgStream *s = &sc->s[c];

        if (cfg->old_style && g->last_data[c] && g->last_end[c] == s->len &&
            rg_rand(&g->rng) % 2 == 0) {
            /* SYNC rides on the data packet (flags low byte). */
            size_t at;

            s->data[g->last_at[c] + 11] |= WIRE_FLAG_SYNC;
            sc->stage_end[c][k] = s->len;
            /* Then an empty packet with stale fields (next stage). */
            at = copy_header(s, g->last_at[c], cfg->page_size);
            memset(s->data + at + 8, 0, 4);
            memset(s->data + at + 16, 0, 4);
        } else if (cfg->old_style && g->has_packet[c]) {
            /* 7.2 pure SYNC: pages_alloc set, stale fields. */
            size_t at = copy_header(s, g->last_at[c], cfg->page_size);

            memset(s->data + at + 8, 0, 4);
            s->data[at + 11] = WIRE_FLAG_SYNC;
            memset(s->data + at + 16, 0, 4);
            memset(s->data + at + 32, 0, 4);
            sc->stage_end[c][k] = s->len;
        } else if (cfg->old_style) {
            rg_header(s, cfg->page_size, WIRE_FLAG_SYNC, NULL, NULL, 0, 0, 0,
                      c);
            sc->stage_end[c][k] = s->len;
        } else {
            rg_sync(s, cfg->page_size, g->num++);
            sc->stage_end[c][k] = s->len;
        }
        g->last_end[c] = 0;
    }
}

void rs_build(Scenario *sc, const RsConfig *cfg)
{
    size_t bytes = (size_t)cfg->npages * cfg->page_size;
    Gen g;
    uint8_t *mem;
    uint32_t c, k, i;

    memset(sc, 0, sizeof(*sc));
    memset(&g, 0, sizeof(g));
    sc->cfg = *cfg;
    g.sc = sc;
    g.rng = cfg->seed * 0x100000001b3ull + 17;
    for (c = 0; c < cfg->channels; c++) {
        rg_init(&sc->s[c]);
        rg_handshake(&sc->s[c], cfg->uuid, (uint8_t)c);
        g.last_at[c] = 0;
        if (cfg->comp != WIRE_COMP_NONE) {
            g.qc[c] = qemu_compressor_new(cfg->comp, cfg->page_size, 1);
            if (!g.qc[c]) {
                abort();
            }
        }
    }
    mem = xalloc(bytes);
    for (k = 0; k <= cfg->checkpoints; k++) {
        sc->sent[k] = xalloc(cfg->npages);
        for (i = 0; i < cfg->npages; i++) {
            if (k == 0 || rg_rand(&g.rng) % 4 == 0) {
                sc->sent[k][i] = 1;
                fill_page(mem, cfg->page_size, i, &g.rng);
            }
        }
        emit_stage(&g, k, mem);
        sc->image[k] = xalloc(bytes);
        memcpy(sc->image[k], mem, bytes);
    }
    free(mem);
    for (c = 0; c < cfg->channels; c++) {
        qemu_compressor_free(g.qc[c]);
    }
}

void rs_free(Scenario *sc)
{
    uint32_t c, k;

    for (c = 0; c < RS_MAX_CHANNELS; c++) {
        rg_free(&sc->s[c]);
    }
    for (k = 0; k < RS_MAX_STAGES; k++) {
        free(sc->image[k]);
        free(sc->sent[k]);
    }
}
