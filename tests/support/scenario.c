/* SPDX-License-Identifier: GPL-2.0-or-later */
/* One-call fake-primary runs and saving streams to files. */
#include "scenario.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "workload.h"

void scenario_spec_init(ScenarioSpec *s, PrimaryStyle style, uint32_t channels,
                        WireCompression comp, uint64_t seed)
{
    memset(s, 0, sizeof(*s));
    primary_config_init(&s->cfg, style, channels, comp);
    s->cfg.seed = seed;
    s->precopy_rounds = 1;
    s->checkpoints = 3;
    s->incr_steps = 300;
    s->incr_start = 16 * 4096;
    s->incr_end = 80 * 4096;
    s->random_pages = 40;
    s->random_zero_percent = 25;
}

MemImage *scenario_default_image(uint64_t seed)
{
    MemImage *img = mem_image_new(4096);
    MemImage *rnd = mem_image_new(4096);
    SupRng rng;

    mem_image_add(img, "pc.ram", 1024 * 1024);
    mem_image_add(img, "pc.bios", 64 * 1024);
    mem_image_add(img, "/rom@etc/acpi/rsdp", 4096);
    /* Random pages in pc.ram and pc.bios only (rsdp stays zero). */
    mem_image_add(rnd, "pc.ram", 1024 * 1024);
    mem_image_add(rnd, "pc.bios", 64 * 1024);
    sup_rng_seed(&rng, seed);
    workload_random(rnd, &rng, 200, 0, NULL);
    for (size_t i = 0; i < rnd->nblocks; i++) {
        memcpy(img->blocks[i].data, rnd->blocks[i].data, rnd->blocks[i].size);
    }
    mem_image_free(rnd);
    return img;
}

static void dirty_some(const ScenarioSpec *s, Primary *p,
                       WorkloadIncrement *inc, SupRng *rng)
{
    if (s->incr_steps && s->incr_end > s->incr_start) {
        workload_increment_run(inc, primary_memory(p), s->incr_steps,
                               primary_dirty(p));
    }
    workload_random(primary_memory(p), rng, s->random_pages,
                    s->random_zero_percent, primary_dirty(p));
}

Primary *scenario_run(const ScenarioSpec *s)
{
    MemImage *own = s->image ? NULL : scenario_default_image(s->cfg.seed);
    const MemImage *img = s->image ? s->image : own;
    Primary *p = primary_new(&s->cfg, img);
    WorkloadIncrement inc;
    SupRng rng;
    uint64_t end = s->incr_end;

    mem_image_free(own);
    if (primary_memory(p)->nblocks == 0 ||
        end > primary_memory(p)->blocks[0].size) {
        end = 0;
    }
    workload_increment_init(&inc, 0, s->incr_start, end);
    sup_rng_seed(&rng, s->cfg.seed * 7 + 3);
    for (size_t i = 0; i < s->nfaults; i++) {
        primary_add_fault(p, &s->faults[i]);
    }
    primary_precopy_begin(p);
    for (uint32_t r = 0; r < s->precopy_rounds; r++) {
        dirty_some(s, p, &inc, &rng);
        primary_precopy_round(p);
    }
    dirty_some(s, p, &inc, &rng);
    primary_precopy_end(p);
    for (uint32_t k = 0; k < s->checkpoints && s->cfg.colo; k++) {
        dirty_some(s, p, &inc, &rng);
        primary_checkpoint(p);
    }
    return p;
}

static bool save_buf(const char *dir, const char *name, const SupBuf *b)
{
    char path[4096];
    FILE *f;
    bool ok;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "wb");
    if (!f) {
        return false;
    }
    ok = b->len == 0 || fwrite(b->data, 1, b->len, f) == b->len;
    if (fclose(f) != 0) {
        ok = false;
    }
    if (!ok && errno == 0) {
        errno = EIO;
    }
    return ok;
}

bool primary_save(const Primary *p, const char *dir)
{
    char name[64];

    for (size_t i = 0; i < primary_nconns(p); i++) {
        snprintf(name, sizeof(name), "conn-%zu.bin", i);
        if (!save_buf(dir, name, &primary_conn(p, i)->buf)) {
            return false;
        }
    }
    return save_buf(dir, "conn-0.d2s.bin", primary_replies(p));
}
