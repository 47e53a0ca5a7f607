/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <fcntl.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/bitmap.h"
#include "scenario.h"
#include "secondary.h"
#include "sender.h"
#include "sha256.h"

#define PAGE 4096u
#define RAM_PAGES 64u
#define BIOS_PAGES 4u

static const ScenarioDef defs[] = {
    /* name, channels, comp, style, cps, failover, driver, chunk, fd, full */
    { "precopy-1ch-none", 1, WIRE_COMP_NONE, PRIMARY_QEMU_9, 0, -1,
      RECV_DRIVER_DETERMINISTIC, 0, false, false },
    { "precopy-4ch-none", 4, WIRE_COMP_NONE, PRIMARY_QEMU_9, 0, -1,
      RECV_DRIVER_DETERMINISTIC, 0, false, false },
    { "precopy-1ch-zstd", 1, WIRE_COMP_ZSTD, PRIMARY_QEMU_9, 0, -1,
      RECV_DRIVER_DETERMINISTIC, 0, false, false },
    { "precopy-4ch-zstd", 4, WIRE_COMP_ZSTD, PRIMARY_QEMU_9, 0, -1,
      RECV_DRIVER_DETERMINISTIC, 0, false, false },
    { "colo-2ch-zstd", 2, WIRE_COMP_ZSTD, PRIMARY_QEMU_9, 3, -1,
      RECV_DRIVER_DETERMINISTIC, 0, false, false },
    { "failover-2ch-none", 2, WIRE_COMP_NONE, PRIMARY_QEMU_9, 3, 1,
      RECV_DRIVER_DETERMINISTIC, 0, false, false },
    { "precopy-4ch-threaded", 4, WIRE_COMP_NONE, PRIMARY_QEMU_9, 0, -1,
      RECV_DRIVER_THREADED, 0, false, false },
    /* fd channels: socket + pipes, paced sender threads, threaded driver */
    { "colo-2ch-pipes", 2, WIRE_COMP_NONE, PRIMARY_QEMU_9, 2, -1,
      RECV_DRIVER_THREADED, 1000, true, false },
    /* short reads: every channel delivers at most a few bytes a read */
    { "short-2ch-zstd-1b", 2, WIRE_COMP_ZSTD, PRIMARY_QEMU_9, 1, -1,
      RECV_DRIVER_DETERMINISTIC, 1, false, false },
    { "short-colo-2ch-7b", 2, WIRE_COMP_NONE, PRIMARY_QEMU_7_2, 2, -1,
      RECV_DRIVER_DETERMINISTIC, 7, false, false },
    /* exhaustive suite only */
    { "precopy-2ch-zlib", 2, WIRE_COMP_ZLIB, PRIMARY_QEMU_9, 0, -1,
      RECV_DRIVER_DETERMINISTIC, 0, false, true },
    { "colo-2ch-qemu72", 2, WIRE_COMP_NONE, PRIMARY_QEMU_7_2, 3, -1,
      RECV_DRIVER_DETERMINISTIC, 0, false, true },
    /* threads + COLO need a paced sender (see scenario.h) */
    { "colo-4ch-zstd-threaded", 4, WIRE_COMP_ZSTD, PRIMARY_QEMU_9, 2, -1,
      RECV_DRIVER_THREADED, 0, true, true },
    { "failover-4ch-zstd-threaded", 4, WIRE_COMP_ZSTD, PRIMARY_QEMU_9, 3, 2,
      RECV_DRIVER_THREADED, 0, true, true },

};

struct Scenario {
    const ScenarioDef *def;
    Primary *p;
};

size_t scenario_count(void)
{
    return sizeof(defs) / sizeof(defs[0]);
}

const ScenarioDef *scenario_def(size_t i)
{
    return i < scenario_count() ? &defs[i] : NULL;
}

const ScenarioDef *scenario_find(const char *name)
{
    size_t i;

    for (i = 0; i < scenario_count(); i++) {
        if (!strcmp(defs[i].name, name)) {
            return &defs[i];
        }
    }
    return NULL;
}

static void touch(Primary *p, size_t block, uint64_t page, uint8_t v)
{
    memset(mem_image_page(primary_memory(p), block, page), v, PAGE);
    page_set_add(primary_dirty(p), block, page);
}

Scenario *scenario_new(const ScenarioDef *def)
{
    Scenario *s = calloc(1, sizeof(*s));
    MemImage *img = mem_image_new(PAGE);
    PrimaryConfig cfg;
    uint64_t i;
    int k;

    if (!s) {
        abort();
    }
    s->def = def;
    mem_image_add(img, "pc.ram", RAM_PAGES * PAGE);
    mem_image_add(img, "pc.bios", BIOS_PAGES * PAGE);
    for (i = 0; i < RAM_PAGES; i += 2) {
        memset(mem_image_page(img, 0, i), (int)(i + 1), PAGE);
    }
    memset(mem_image_page(img, 1, 1), 0xb1, PAGE);
    primary_config_init(&cfg, def->style, def->channels, def->comp);
    cfg.colo = def->checkpoints > 0;
    cfg.device_section = true;
    cfg.vmdesc = true;
    cfg.max_packet_pages = 8;
    cfg.device_state_size = 512;
    cfg.keep_images = true;
    s->p = primary_new(&cfg, img);
    mem_image_free(img);
    primary_precopy(s->p);
    for (k = 0; k < def->checkpoints; k++) {
        for (i = (uint64_t)k; i < RAM_PAGES; i += 5) {
            touch(s->p, 0, i, (uint8_t)(0x40 + k + i));
        }
        touch(s->p, 0, 2, 0); /* a data page becomes zero */
        touch(s->p, 1, (uint64_t)k % BIOS_PAGES, (uint8_t)(0x90 + k));
        primary_checkpoint(s->p);
    }
    return s;
}

void scenario_free(Scenario *s)
{
    if (s) {
        primary_free(s->p);
        free(s);
    }
}

/* ---- one run ---- */

typedef struct Run {
    const Scenario *s;
    Secondary *sec; /* NULL until its RAM table and COLO state exist */
    Sender *sender;
    int pipes[16][2];
    size_t npipes;
    int main_fd; /* fd scenarios: the main socket (also replies) */
    bool precopy_done;
    int requests; /* CHECKPOINT_REQUESTs seen */
    bool failover_sent;
} Run;

static void hook_precopy_done(void *opaque)
{
    ((Run *)opaque)->precopy_done = true;
}

static void hook_stage(void *opaque, IncomingStage stage)
{
    Run *r = opaque;

    if (stage == INCOMING_STAGE_CP_REQUESTED) {
        r->requests++;
    }
    if (stage == INCOMING_STAGE_CP_RAM && r->s->def->failover_at >= 0 &&
        r->requests == r->s->def->failover_at + 1 && !r->failover_sent) {
        r->failover_sent = true;
        incoming_request_failover(r->sec->in);
    }
}

/* A channel over conn @i: memory, or the read end of a pipe. */
static Chan *run_chan(Run *r, size_t i, const char *label, MfError *err)
{
    const PrimaryConn *c = primary_conn(r->s->p, i);

    if (!r->s->def->fd) {
        return chan_mem_new(c->buf.data, c->buf.len, r->s->def->chunk, label,
                            err);
    }
    return chan_fd_new(r->pipes[i][0], true, label, err);
}

static bool run_setup(Run *r, MfError *err)
{
    const ScenarioDef *d = r->s->def;
    SecondaryOptions opts = { 0 };
    Chan *main, *reply;
    size_t i, n = primary_nconns(r->s->p);

    if (d->fd) {
        SenderConn conns[16];
        SenderOptions so = { 0 };

        for (i = 0; i < n; i++) {
            /* main: a socket (replies flow back); multifd: pipes */
            if (i == 0 ? socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
                                    r->pipes[i]) < 0
                       : pipe2(r->pipes[i], O_CLOEXEC) < 0) {
                abort();
            }
            r->npipes++;
            conns[i].fd = r->pipes[i][1];
            conns[i].stop_at = UINT64_MAX;
            conns[i].at_end = SENDER_CLOSE; /* closes the write end */
        }
        so.chunk = d->chunk;
        /* Like QEMU's primary: a checkpoint's multifd data only after its
         * VMSTATE_SEND, so no page of it can arrive during precopy. */
        so.pace = d->checkpoints > 0;
        r->sender = sender_start(r->s->p, conns, &so);
    }
    opts.page_size = PAGE;
    opts.create_blocks = true;
    opts.colo = true;
    opts.multifd.channels = d->channels;
    opts.multifd.compression = d->comp;
    opts.multifd.driver = d->driver;
    opts.multifd.seed = 7;
    opts.multifd.max_chunk = d->chunk;
    opts.expect_end = true;
    opts.sync = INCOMING_SYNC_AUTO;
    opts.hooks.opaque = r;
    opts.hooks.precopy_done = hook_precopy_done;
    opts.hooks.stage = hook_stage;
    r->sec = secondary_build(&opts, err);
    if (!r->sec) {
        return false;
    }
    for (i = 1; i < n; i++) {
        Chan *ch = run_chan(r, i, "multifd", err);

        if (d->fd) {
            r->pipes[i][0] = -1; /* owned by the channel (or closed) */
        }
        if (!ch || !secondary_add_channel(r->sec, ch, err)) {
            return false;
        }
    }
    main = run_chan(r, 0, "main", err);
    if (d->fd) {
        r->main_fd = r->pipes[0][0];
        r->pipes[0][0] = -1;
    }
    if (!main) {
        return false;
    }
    reply = d->fd ? chan_fd_new(r->main_fd, false, "main", err)
                  : chan_mem_sink_new("reply", err);
    if (!reply) {
        chan_free(main);
        return false;
    }
    return secondary_attach_main(r->sec, main, reply, err);
}

static void run_teardown(Run *r)
{
    size_t i;

    secondary_free(r->sec);
    for (i = 0; i < r->npipes; i++) {
        if (r->pipes[i][0] >= 0) {
            close(r->pipes[i][0]); /* writers see EPIPE and stop */
        }
    }
    if (r->sender) {
        sender_abort(r->sender);
        sender_join(r->sender, NULL);
    }
}

static bool fail(ScenarioResult *res, ScenarioCheck c, const char *fmt,
                 const char *a, unsigned long long b)
{
    res->check = c;
    snprintf(res->why, sizeof(res->why), fmt, a, b);
    return false;
}

/* Guest memory of every block == the primary's at @stage. */
static bool check_stage(const Run *r, size_t stage, ScenarioResult *res)
{
    const PrimaryStage *ps;
    uint8_t d[SHA256_DIGEST_SIZE];
    size_t i;

    if (stage >= primary_nstages(r->s->p)) {
        return fail(res, SCEN_MEMORY, "%s stage %llu does not exist",
                    "expected", (unsigned long long)stage);
    }
    ps = primary_stage(r->s->p, stage);
    if (r->sec->ram.nblocks != primary_memory(r->s->p)->nblocks) {
        return fail(res, SCEN_MEMORY, "%s: %llu blocks", "layout",
                    (unsigned long long)r->sec->ram.nblocks);
    }
    for (i = 0; i < r->sec->ram.nblocks; i++) {
        const RamBlock *b = r->sec->ram.blocks[i];

        sha256_digest(b->host, b->used_length, d);
        if (memcmp(d, ps->digest[i], sizeof(d))) {
            return fail(res, SCEN_MEMORY,
                        "guest memory of %.64s is not stage %llu (I4)", b->name,
                        (unsigned long long)stage);
        }
    }
    return true;
}

static bool page_is_zero(const uint8_t *p, size_t len)
{
    return len == 0 || (p[0] == 0 && !memcmp(p, p + 1, len - 1));
}

/*
 * After a failed precopy: no dirty bit (I1), and every guest page is
 * either still zero or exactly what the primary sent for it (a page of a
 * packet cut by the fault may be in the cache without having reached the
 * guest yet, so guest == cache is not required for it).
 */
static bool check_precopy_guest(const Run *r, ScenarioResult *res)
{
    const MemImage *want = primary_stage(r->s->p, 0)->image;
    size_t i;
    uint64_t pg;

    for (i = 0; i < r->sec->ram.nblocks; i++) {
        const RamBlock *b = r->sec->ram.blocks[i];
        long wi = want ? mem_image_find(want, b->name) : -1;

        if (b->dirty && !mf_bitmap_empty(b->dirty, b->npages)) {
            return fail(res, SCEN_INVARIANT,
                        "I1: dirty bit set in block %.64s during precopy%llu",
                        b->name, 0);
        }
        if (wi < 0 || want->blocks[wi].size != b->used_length) {
            return fail(res, SCEN_MEMORY,
                        "block %.64s: %llu bytes, unlike "
                        "the primary's",
                        b->name, (unsigned long long)b->used_length);
        }
        for (pg = 0; pg < b->npages; pg++) {
            const uint8_t *g = b->host + pg * b->page_size;
            uint32_t len = mem_image_page_len(want, (size_t)wi, pg);

            if (!page_is_zero(g, len) &&
                memcmp(g, mem_image_page(want, (size_t)wi, pg), len)) {
                return fail(res, SCEN_MEMORY,
                            "guest page of block %.64s at 0x%llx is neither "
                            "zero nor the page sent",
                            b->name, (unsigned long long)pg * b->page_size);
            }
        }
    }
    return true;
}

static bool check_replies(const Run *r, ScenarioResult *res, bool whole)
{
    if (r->s->def->fd) {
        return true; /* replies went to the paced sender */
    }
    const SupBuf *want = primary_replies(r->s->p);
    size_t len = 0;
    const Chan *reply = r->sec ? r->sec->reply : NULL;
    const uint8_t *got = reply ? chan_mem_data(reply, &len) : NULL;

    if (len > want->len || (len && memcmp(got, want->data, len)) ||
        (whole && len != want->len)) {
        return fail(res, SCEN_INVARIANT, "%s: %llu reply bytes differ",
                    "replies", (unsigned long long)len);
    }
    return true;
}

static void run_check(const Run *r, ScenarioResult *res)
{
    const ScenarioDef *d = r->s->def;
    int want_cps = d->failover_at >= 0 ? d->failover_at : d->checkpoints;

    if (res->ok) {
        IncomingOutcome want =
            d->checkpoints ? INCOMING_FAILED_OVER : INCOMING_COMPLETED;

        if (res->outcome != want || res->st.checkpoints != (uint64_t)want_cps) {
            fail(res, SCEN_OUTCOME, "outcome %s, %llu checkpoints",
                 res->outcome == INCOMING_COMPLETED ? "completed"
                                                    : "failed-over",
                 (unsigned long long)res->st.checkpoints);
            return;
        }
        if (check_stage(r, (size_t)want_cps, res)) {
            check_replies(r, res, d->failover_at < 0);
        }
        return;
    }
    if (!res->setup_failed && (!res->err.located || !res->err.where[0])) {
        fail(res, SCEN_UNLOCATED, "error %s names no channel%llu",
             res->err.code_name ? res->err.code_name : "?", 0);
        return;
    }
    if (!res->setup_failed && r->precopy_done) {
        if (d->checkpoints &&
            colo_phase(&r->sec->colo) != COLO_PHASE_FAILED_OVER) {
            fail(res, SCEN_INVARIANT, "phase %s after a failed COLO run%llu",
                 colo_phase_name(colo_phase(&r->sec->colo)), 0);
            return;
        }
        /* I4: the last checkpoint whose flush completed */
        if (!check_stage(r, (size_t)(d->checkpoints ? r->sec->colo.flushes : 0),
                         res)) {
            return;
        }
    } else if (r->sec && !check_precopy_guest(r, res)) {
        return;
    }
    check_replies(r, res, false);
}

void scenario_run(const Scenario *s, ScenarioResult *res)
{
    Run r;

    memset(&r, 0, sizeof(r));
    memset(res, 0, sizeof(*res));
    r.s = s;
    if (!run_setup(&r, &res->err)) {
        res->setup_failed = true;
    } else {
        res->ok = incoming_run(r.sec->in, &res->outcome, &res->err);
        incoming_get_stats(r.sec->in, &res->st);
    }
    if (r.sec && r.sec->engine && s->def->driver == RECV_DRIVER_THREADED) {
        MfError ignored = { 0 };

        /*
         * After an error in precopy, incoming_run returns without
         * cancelling the engine: channel threads still run (and may still
         * copy a precopy page into guest memory).  Stop and join them, as
         * a live secondary must, before looking at memory.
         */
        if (!res->ok) {
            recv_engine_cancel(r.sec->engine, NULL);
        }
        recv_engine_finish(r.sec->engine, &ignored);
    }
    if (res->ok) {
        memset(&res->err, 0, sizeof(res->err));
    }
    run_check(&r, res);
    run_teardown(&r);
}

const char *scenario_check_name(ScenarioCheck c)
{
    static const char *const names[] = {
        "ok",
        "memory mismatch",
        "invariant",
        "unlocated error",
        "wrong outcome",
    };

    return names[c];
}
