/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Seed generator for the stream, main, model and handshake harnesses:
 * streams of the fake primary (tests/support/primary.h) in both QEMU
 * styles, every compression, with and without COLO checkpoints, framed
 * the way each harness reads its input.  Writes <dir>/<harness>/<name>;
 * make-seeds.py renames the files by SHA-1 into corpus/<harness>/.
 *
 * Usage: fuzz-gen-seeds DIR
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/be.h"
#include "buf.h"
#include "image.h"
#include "primary.h"
#include "rng.h"

static const char *out_dir;

static void put(const char *harness, const char *name, const SupBuf *b)
{
    char path[512];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", out_dir, harness);
    if (mkdir(path, 0755) != 0 && errno != EEXIST) {
        perror(path);
        exit(1);
    }
    snprintf(path, sizeof(path), "%s/%s/%s", out_dir, harness, name);
    f = fopen(path, "wb");
    if (!f || fwrite(b->data, 1, b->len, f) != b->len || fclose(f) != 0) {
        perror(path);
        exit(1);
    }
}

/* pc.ram 24 pages, pc.bios 4 pages: the stream harness's small table. */
static MemImage *small_image(uint64_t seed)
{
    MemImage *img = mem_image_new(4096);
    SupRng r;
    uint64_t p;

    mem_image_add(img, "pc.ram", 24 * 4096);
    mem_image_add(img, "pc.bios", 4 * 4096);
    sup_rng_seed(&r, seed);
    for (p = 0; p < 24; p++) {
        uint8_t *page = mem_image_page(img, 0, p);

        if (p % 3 == 0) {
            continue; /* zero page */
        }
        memset(page, (int)(p * 7 + 1), 4096);
        page[sup_rng_below(&r, 4096)] = (uint8_t)sup_rng_next(&r);
    }
    memset(mem_image_page(img, 1, 1), 0xf4, 4096);
    return img;
}

/* The secondary's workload between checkpoints: a few pages change. */
static void dirty_some(Primary *p, unsigned k)
{
    MemImage *img = primary_memory(p);
    unsigned i;

    for (i = 0; i < 5; i++) {
        uint64_t page = (k * 11 + i * 7) % 24;

        memset(mem_image_page(img, 0, page), (int)(k + i), 4096);
        page_set_add(primary_dirty(p), 0, page);
    }
    memset(mem_image_page(img, 0, (k * 5) % 24), 0, 4096); /* now zero */
    page_set_add(primary_dirty(p), 0, (k * 5) % 24);
}

static Primary *make(PrimaryStyle style, uint32_t channels,
                     WireCompression comp, bool colo, unsigned checkpoints,
                     uint64_t seed)
{
    PrimaryConfig cfg;
    MemImage *img = small_image(seed);
    Primary *p;
    unsigned k;

    primary_config_init(&cfg, style, channels, comp);
    cfg.colo = colo;
    cfg.seed = seed;
    cfg.max_packet_pages = 8;
    cfg.device_state_size = 64;
    cfg.keep_images = false;
    cfg.device_section = seed & 1;
    cfg.vmdesc = seed & 2;
    cfg.duplicate_pages = style == PRIMARY_QEMU_7_2;
    p = primary_new(&cfg, img);
    mem_image_free(img);
    primary_precopy(p);
    for (k = 0; k < checkpoints; k++) {
        dirty_some(p, k);
        primary_checkpoint(p);
    }
    return p;
}

static unsigned count_syncs(const Primary *p, size_t conn)
{
    unsigned n = 0;
    size_t i;

    for (i = 0; i < primary_nmarks(p); i++) {
        const PrimaryMark *m = primary_mark(p, i);

        n += m->kind == PM_SYNC && m->conn == conn;
    }
    return n;
}

static uint8_t comp_bits(WireCompression comp)
{
    return comp == WIRE_COMP_ZSTD ? 1 : comp == WIRE_COMP_ZLIB ? 2 : 0;
}

/* fuzz-stream: conf, syncs|chunk, seed, (be16 len, bytes)*, bytes. */
static void stream_seed(const Primary *p, uint32_t channels,
                        WireCompression comp, uint8_t colo_bits, uint8_t chunk,
                        const char *name)
{
    SupBuf b = { 0 };
    unsigned syncs = count_syncs(p, 1);
    uint32_t i;

    sup_buf_put_u8(
        &b, (uint8_t)((channels - 1) | comp_bits(comp) << 2 | colo_bits));
    sup_buf_put_u8(&b, (uint8_t)((syncs > 15 ? 15 : syncs) | chunk << 4));
    sup_buf_put_u8(&b, 7);
    for (i = 0; i < channels; i++) {
        const SupBuf *c = &primary_conn(p, 1 + i)->buf;

        if (i + 1 < channels) {
            if (c->len > 0xffff) {
                sup_buf_free(&b);
                return;
            }
            sup_buf_put_be16(&b, (uint16_t)c->len);
        }
        sup_buf_append(&b, c->data, c->len);
    }
    put("stream", name, &b);
    sup_buf_free(&b);
}

/*
 * fuzz-main: conf, seed|chunk, (be32 len, bytes)*, main bytes.  Byte 1:
 * scheduler seed 3; QEMU 9 style seeds unlimited deliveries, 7.2 style
 * ones at most 4 KiB per step (split packets).  Small deliveries (a few
 * bytes per step) cost several times more per input; the fuzzer reaches
 * them by mutating this byte.
 */
static void main_seed(const Primary *p, bool qemu72, uint32_t channels,
                      WireCompression comp, bool colo, uint8_t sync_bits,
                      const char *name)
{
    SupBuf b = { 0 };
    const SupBuf *m = &primary_conn(p, 0)->buf;
    uint32_t i;

    sup_buf_put_u8(&b, (uint8_t)(colo | channels << 1 | sync_bits << 3 |
                                 comp_bits(comp) << 5 | (!colo) << 7));
    sup_buf_put_u8(&b, qemu72 ? 0xc3 : 0x03);
    for (i = 0; i < channels; i++) {
        const SupBuf *c = &primary_conn(p, 1 + i)->buf;

        sup_buf_put_be32(&b, (uint32_t)c->len);
        sup_buf_append(&b, c->data, c->len);
    }
    sup_buf_append(&b, m->data, m->len);
    put("main", name, &b);
    sup_buf_free(&b);
}

static void handshake_seed(const Primary *p, uint32_t channels,
                           const char *name)
{
    SupBuf b = { 0 };
    uint32_t i;

    sup_buf_put_u8(&b, (uint8_t)((channels - 1) | 4));
    for (i = 0; i < channels; i++) {
        sup_buf_append(&b, primary_conn(p, 1 + i)->buf.data, 64);
    }
    put("handshake", name, &b);
    sup_buf_free(&b);
}

static void model_seeds(void)
{
    /* Structured: precopy packets, enter COLO, COLO packets with zero
     * pages, guest writes, sync, flush, a channel failure, failover. */
    static const uint8_t script[] = {
        0x09,                                /* 512 B pages, 5 pages */
        0,    0x04 | 0x20, 1, 0, 1,          /* packet: 1 normal 1 zero */
        1,    0x04,        2, 3, 0x41,       /* main page, fill */
        2,    0,           0,                /* enter COLO */
        0,    0x08 | 0x20, 9, 1, 2,    0,    /* 2 normal, 1 zero */
        3,    0,           0, 2, 17,   0x77, /* guest write */
        4,    0,           0,                /* sync */
        5,    0,           0,                /* flush */
        0,    0x04 | 0x40, 5, 3, 1,    4,    /* packet */
        6,    0,           0,                /* channel fails */
        3,    1,           0, 1, 3,    0x55, /* guest write */
        0,    0x04,        6, 2,             /* packet */
        7,    0,           0,                /* failover */
        0,    0x04,        6, 2,             /* refused after failover */
    };
    SupBuf b = { 0 };
    SupRng r;
    char name[32];
    unsigned s, i;

    sup_buf_append(&b, script, sizeof(script));
    put("model", "script", &b);
    sup_buf_free(&b);
    for (s = 0; s < 12; s++) {
        sup_rng_seed(&r, 1000 + s);
        sup_buf_put_u8(&b, (uint8_t)sup_rng_next(&r));
        for (i = 0; i < 40 + 10 * s; i++) {
            uint8_t kind = (uint8_t)sup_rng_below(&r, 8);

            /* Enter COLO early, fail over rarely. */
            if (i == 3) {
                kind = 2;
            } else if (kind == 7 && sup_rng_percent(&r, 80)) {
                kind = 5;
            }
            sup_buf_put_u8(&b, kind);
            sup_buf_put_u8(&b, (uint8_t)sup_rng_next(&r));
            sup_buf_put_u8(&b, (uint8_t)sup_rng_next(&r));
            sup_buf_put_u8(&b, (uint8_t)sup_rng_below(&r, 6));
            sup_buf_put_u8(&b, (uint8_t)sup_rng_below(&r, 6));
            sup_buf_put_u8(&b, (uint8_t)sup_rng_next(&r));
        }
        snprintf(name, sizeof(name), "random-%u", s);
        put("model", name, &b);
        sup_buf_free(&b);
    }
}

int main(int argc, char **argv)
{
    static const WireCompression comps[3] = {
        WIRE_COMP_NONE,
        WIRE_COMP_ZSTD,
        WIRE_COMP_ZLIB,
    };
    static const char *const cname[3] = { "none", "zstd", "zlib" };
    char name[96];
    unsigned ci, st;
    uint32_t ch;

    if (argc != 2) {
        fprintf(stderr, "usage: %s DIR\n", argv[0]);
        return 2;
    }
    out_dir = argv[1];
    for (st = 0; st < 2; st++) {
        PrimaryStyle style = st ? PRIMARY_QEMU_7_2 : PRIMARY_QEMU_9;
        const char *sname = st ? "72" : "9";

        for (ci = 0; ci < 3; ci++) {
            for (ch = 1; ch <= 2; ch++) {
                Primary *p = make(style, ch, comps[ci], false, 0, ch + ci);
                Primary *pc = make(style, ch, comps[ci], true, 2, 5 + ch);

                snprintf(name, sizeof(name), "%s-%s-%uch", sname, cname[ci],
                         ch);
                stream_seed(p, ch, comps[ci], 0, 0, name);
                snprintf(name, sizeof(name), "%s-%s-%uch-colo-precopy", sname,
                         cname[ci], ch);
                stream_seed(p, ch, comps[ci], 0x10, 3, name);
                snprintf(name, sizeof(name), "%s-%s-%uch-colo", sname,
                         cname[ci], ch);
                stream_seed(p, ch, comps[ci], 0x30, 1, name);
                snprintf(name, sizeof(name), "%s-%s-%uch", sname, cname[ci],
                         ch);
                main_seed(p, st, ch, comps[ci], false, st ? 0 : 1, name);
                snprintf(name, sizeof(name), "%s-%s-%uch-colo2", sname,
                         cname[ci], ch);
                main_seed(pc, st, ch, comps[ci], true, st ? 0 : 2, name);
                if (ci == 0) {
                    snprintf(name, sizeof(name), "%s-%uch", sname, ch);
                    handshake_seed(p, ch, name);
                }
                primary_free(p);
                primary_free(pc);
            }
        }
        /* Plain and COLO migration without multifd. */
        {
            Primary *p = make(style, 0, WIRE_COMP_NONE, false, 0, 3);
            Primary *pc = make(style, 0, WIRE_COMP_NONE, true, 3, 4);

            snprintf(name, sizeof(name), "%s-plain", sname);
            main_seed(p, st, 0, WIRE_COMP_NONE, false, 0, name);
            snprintf(name, sizeof(name), "%s-colo3", sname);
            main_seed(pc, st, 0, WIRE_COMP_NONE, true, 0, name);
            primary_free(p);
            primary_free(pc);
        }
    }
    model_seeds();
    return 0;
}
