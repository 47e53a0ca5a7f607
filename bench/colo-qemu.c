/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The real-secondary driver of bench/colo-checkpoint --qemu (see
 * colo-qemu.h).  The session follows tests/qemu/colo-real.c without
 * cuts and oracles; only the timing points, the workloads and the
 * final memory check are the benchmark's own.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base/be.h"
#include "colo-qemu.h"
#include "image.h"
#include "libqtest.h"
#include "qemu-backend.h"
#include "rng.h"
#include "wire/stream.h"

#define CQ_PAGE 4096u
#define CQ_MAX_CONNS (1 + COLO_QEMU_MAX_CHANNELS)

typedef struct CqSeg {
    const uint8_t *p;
    size_t n;
} CqSeg;

typedef struct CqJob {
    int fd;
    CqSeg seg[3];
    int nseg;
    int err;
    pthread_t th;
} CqJob;

typedef struct CqRun {
    const ColoQemuConfig *cfg;
    QTestState *sec;
    Primary *p;
    size_t nconns;
    int fd[CQ_MAX_CONNS];
    uint64_t sent[CQ_MAX_CONNS];
    uint8_t *tail, *blob, *pages;
    size_t tail_len, blob_len, pages_len;
    SupRng rng;
    uint64_t cursor; /* sequential writer, byte offset in the window */
    bool quickack;
} CqRun;

static double cq_now(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + t.tv_nsec / 1e9;
}

static uint8_t *cq_load(const CqRun *r, const char *sub, const char *file,
                        size_t *len)
{
    char path[4200];
    FILE *f;
    long n;
    uint8_t *b;

    snprintf(path, sizeof(path), "%s/qemu-colo-halted/%s/%s", r->cfg->data_root,
             sub, file);
    f = fopen(path, "rb");
    if (!f) {
        qt_fail("%s: %s", path, strerror(errno));
    }
    if (fseek(f, 0, SEEK_END) || (n = ftell(f)) <= 0 || fseek(f, 0, SEEK_SET)) {
        qt_fail("%s: cannot size", path);
    }
    b = malloc((size_t)n);
    if (!b || fread(b, 1, (size_t)n, f) != (size_t)n) {
        qt_fail("%s: cannot read", path);
    }
    fclose(f);
    *len = (size_t)n;
    return b;
}

/* The recorded precopy pages (u8 name length, name, be64 offset, page). */
static void cq_apply_pages(CqRun *r, MemImage *img)
{
    size_t o = 0;

    while (o < r->pages_len) {
        char name[256];
        uint8_t n = r->pages[o];
        uint64_t off = 0;
        long b;

        qt_check(o + 1 + n + 8 + CQ_PAGE <= r->pages_len,
                 "precopy-pages.bin: truncated at %zu", o);
        memcpy(name, r->pages + o + 1, n);
        name[n] = 0;
        for (int i = 0; i < 8; i++) {
            off = off << 8 | r->pages[o + 1 + n + i];
        }
        b = mem_image_find(img, name);
        qt_check(b >= 0 && off + CQ_PAGE <= img->blocks[b].size,
                 "precopy-pages.bin: %s page not in the layout", name);
        qt_check(b != 0 || off < COLO_QEMU_WIN_START ||
                     off >= COLO_QEMU_WIN_START + COLO_QEMU_WIN_BYTES,
                 "precopy-pages.bin: a recorded pc.ram page inside the "
                 "workload window");
        memcpy(img->blocks[b].data + off, r->pages + o + 9 + n, CQ_PAGE);
        o += 9 + n + CQ_PAGE;
    }
}

static void *cq_job_run(void *opaque)
{
    CqJob *j = opaque;

    for (int i = 0; i < j->nseg && !j->err; i++) {
        size_t off = 0;

        while (off < j->seg[i].n) {
            ssize_t w =
                send(j->fd, j->seg[i].p + off, j->seg[i].n - off, MSG_NOSIGNAL);

            if (w < 0 && errno == EINTR) {
                continue;
            }
            if (w <= 0) {
                j->err = w < 0 ? errno : EIO;
                break;
            }
            off += (size_t)w;
        }
    }
    return NULL;
}

static void cq_jobs_start(CqJob *jobs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (jobs[i].nseg &&
            pthread_create(&jobs[i].th, NULL, cq_job_run, &jobs[i])) {
            qt_fail("pthread_create");
        }
    }
}

/* Join every writer; false if one failed (QEMU closed the connection). */
static bool cq_jobs_join(CqJob *jobs, size_t n)
{
    bool ok = true;

    for (size_t i = 0; i < n; i++) {
        if (jobs[i].nseg) {
            pthread_join(jobs[i].th, NULL);
            ok = ok && !jobs[i].err;
        }
    }
    return ok;
}

static void cq_seg(CqJob *j, const uint8_t *p, size_t n)
{
    if (n) {
        j->seg[j->nseg].p = p;
        j->seg[j->nseg].n = n;
        j->nseg++;
    }
}

static void cq_queue(CqRun *r, CqJob *j, size_t c, uint64_t upto)
{
    const PrimaryConn *pc = primary_conn(r->p, c);

    j->fd = r->fd[c];
    if (upto > r->sent[c]) {
        cq_seg(j, pc->buf.data + r->sent[c], upto - r->sent[c]);
        r->sent[c] = upto;
    }
}

/* One be32 COLO message within the bound; -1 on EOF or timeout. */
static long cq_read_msg(CqRun *r)
{
    uint8_t b[4];
    size_t got = 0;

    while (got < 4) {
        struct pollfd pf = { .fd = r->fd[0], .events = POLLIN };
        ssize_t n;

        if (poll(&pf, 1, r->cfg->reply_ms) <= 0) {
            return -1;
        }
        n = recv(r->fd[0], b + got, 4 - got, 0);
        if (n <= 0) {
            return -1;
        }
        got += (size_t)n;
    }
    if (r->quickack) {
        /* ACK the message now (see colo-qemu.h) */
        int one = 1;

        setsockopt(r->fd[0], IPPROTO_TCP, TCP_QUICKACK, &one, sizeof(one));
    }
    return (long)(((uint32_t)b[0] << 24) | ((uint32_t)b[1] << 16) |
                  ((uint32_t)b[2] << 8) | b[3]);
}

static bool cq_expect(CqRun *r, long want, const char *what, char *why,
                      size_t why_size)
{
    long got = cq_read_msg(r);

    if (got != want) {
        snprintf(why, why_size, "waiting for %s: %s %ld", what,
                 got < 0 ? "nothing within the bound (or EOF)" : "got message",
                 got);
        return false;
    }
    return true;
}

/* ---- workloads ---- */

static void cq_fill_page(CqRun *r, uint64_t page)
{
    uint8_t *d = mem_image_page(primary_memory(r->p), 0, page);

    for (uint32_t i = 0; i < CQ_PAGE; i += 8) {
        uint64_t v = sup_rng_next(&r->rng);

        memcpy(d + i, &v, 8);
    }
    d[0] |= 1;
    page_set_add(primary_dirty(r->p), 0, page);
}

/* Sequential seeded bytes from the cursor on, wrapping in the window. */
static void cq_sequential(CqRun *r, uint64_t bytes)
{
    MemImage *m = primary_memory(r->p);
    uint8_t *base = m->blocks[0].data + COLO_QEMU_WIN_START;

    while (bytes) {
        uint64_t at = r->cursor % COLO_QEMU_WIN_BYTES;
        uint64_t n = COLO_QEMU_WIN_BYTES - at;
        uint64_t i;

        n = n < bytes ? n : bytes;
        for (i = 0; i + 8 <= n; i += 8) {
            uint64_t v = sup_rng_next(&r->rng) | 1;

            memcpy(base + at + i, &v, 8);
        }
        for (; i < n; i++) {
            base[at + i] = (uint8_t)(sup_rng_next(&r->rng) | 1);
        }
        page_set_add_range(primary_dirty(r->p), 0,
                           (COLO_QEMU_WIN_START + at) / CQ_PAGE,
                           (at % CQ_PAGE + n + CQ_PAGE - 1) / CQ_PAGE);
        r->cursor += n;
        bytes -= n;
    }
}

static void cq_idle(CqRun *r)
{
    uint64_t first = COLO_QEMU_WIN_START / CQ_PAGE;
    uint64_t n = COLO_QEMU_WIN_BYTES / CQ_PAGE;

    for (uint32_t i = 0; i < r->cfg->idle_pages; i++) {
        cq_fill_page(r, first + sup_rng_next(&r->rng) % n);
    }
}

/* ---- the session ---- */

static void cq_start(CqRun *r, ColoQemuResult *res)
{
    const ColoQemuConfig *cfg = r->cfg;
    QTestOpts o = { .backend = QT_BACKEND_QEMU, .incoming = true };
    const char *bin = cfg->binary ? cfg->binary : qt_qemu_binary(NULL);
    const char *u = QT_QEMU_UUID;
    const char *sub;
    PrimaryConfig pc;
    MemImage *init;
    char why[256];
    char args[1024];
    int probed = 0;
    int major;
    int port;

    if (!qt_qemu_probe(bin, qt_timeout_ms(), res->version, sizeof(res->version),
                       why, sizeof(why))) {
        qt_fail("QEMU binary: %s", why);
    }
    sscanf(res->version, "QEMU emulator version %d", &probed);
    o.binary = bin;
    /* the current stream shape (QEMU >= 8), as colo-real.c asks for it;
     * $MFCOLO_BENCH_QEMU_ARGS: more arguments (e.g. -trace for a look
     * inside the secondary; its stderr is qtest_log_path()) */
    snprintf(args, sizeof(args), "%s %s",
             probed >= 8
                 ? "-global migration.multifd-flush-after-each-section=off"
                 : "",
             getenv("MFCOLO_BENCH_QEMU_ARGS") ? getenv("MFCOLO_BENCH_QEMU_ARGS")
                                              : "");
    o.args = args;
    r->sec = qtest_start_opts("colo-bench-secondary", &o);
    major = qtest_version(r->sec)->major;
    if (major == 7) {
        sub = "7.2-colo";
    } else if (major == 10) {
        sub = "10.0.2-precopy";
    } else {
        qt_fail("no halted-guest device state recorded for QEMU %d "
                "(tests/data/qemu-colo-halted has 7.2 and 10.0.2)",
                major);
    }
    r->tail = cq_load(r, sub, "device-tail.bin", &r->tail_len);
    r->blob = cq_load(r, sub, "devstate-0.bin", &r->blob_len);
    r->pages = cq_load(r, sub, "precopy-pages.bin", &r->pages_len);
    qt_check(r->tail_len > r->blob_len && r->tail[r->blob_len - 1] == 0,
             "%s: device tail and blob do not end in QEMU_VM_EOF", sub);
    if (probed >= 8) {
        qtest_qmp_assert_success(r->sec,
                                 "{'execute': 'migrate-set-parameters', "
                                 "'arguments': {'zero-page-detection': "
                                 "'multifd'}}");
    }
    qtest_qmp_assert_success(
        r->sec,
        "{'execute': 'migrate-set-capabilities', 'arguments': "
        "{'capabilities': [{'capability': 'x-colo', 'state': true}%s]}}",
        cfg->channels ? ", {'capability': 'multifd', 'state': true}" : "");
    if (cfg->channels) {
        qtest_qmp_assert_success(
            r->sec,
            "{'execute': 'migrate-set-parameters', 'arguments': "
            "{'multifd-channels': %u, 'multifd-compression': '%s'}}",
            cfg->channels, cfg->comp == WIRE_COMP_ZSTD ? "zstd" : "none");
    }
    port = qtest_migrate_incoming_port(r->sec);

    primary_config_init(&pc, probed >= 8 ? PRIMARY_QEMU_9 : PRIMARY_QEMU_7_2,
                        cfg->channels, cfg->comp);
    for (size_t i = 0, j = 0; i < WIRE_UUID_SIZE; j++) {
        if (u[j] != '-') {
            unsigned v;

            sscanf(u + j, "%2x", &v);
            pc.uuid[i++] = (uint8_t)v;
            j++;
        }
    }
    pc.ram_section_id = major == 7 ? 2 : 1; /* as the recordings */
    pc.seed = cfg->seed;
    pc.device_section = false;
    pc.vmdesc = false;
    pc.device_state_size = (uint32_t)r->blob_len;
    pc.keep_images = false;
    init = mem_image_new_pc(QT_QEMU_RAM_SIZE);
    cq_apply_pages(r, init);
    r->p = primary_new(&pc, init);
    mem_image_free(init);
    r->nconns = 1 + cfg->channels;
    /* The main channel first, taken as such by every version. */
    r->fd[0] =
        qtest_connect_main_channel(r->sec, port, cfg->reply_ms, &r->sent[0]);
    for (size_t i = 1; i < r->nconns; i++) {
        r->fd[i] = qtest_connect_port(port);
    }
}

static bool cq_precopy(CqRun *r, char *why, size_t why_size)
{
    CqJob jobs[CQ_MAX_CONNS] = { 0 };
    const PrimaryMark *eof;

    primary_precopy(r->p);
    qt_check(mf_be32_load(primary_conn(r->p, 0)->buf.data) ==
                 WIRE_VM_FILE_MAGIC,
             "the main stream does not start with the file magic already "
             "sent");
    eof = primary_find_mark(r->p, PM_VM_EOF, 0, 0);
    qt_assert(eof);
    cq_queue(r, &jobs[0], 0, eof->offset);
    cq_seg(&jobs[0], r->tail, r->tail_len);
    r->sent[0] = primary_stage(r->p, 0)->end[0];
    for (size_t c = 1; c < r->nconns; c++) {
        cq_queue(r, &jobs[c], c, primary_stage(r->p, 0)->end[c]);
    }
    cq_jobs_start(jobs, r->nconns);
    if (!cq_jobs_join(jobs, r->nconns)) {
        snprintf(why, why_size, "precopy: QEMU closed a connection");
        return false;
    }
    return cq_expect(r, WIRE_COLO_CHECKPOINT_READY, "CHECKPOINT_READY", why,
                     why_size);
}

static bool cq_checkpoint(CqRun *r, unsigned k, ColoQemuSample *s, char *why,
                          size_t why_size)
{
    CqJob jobs[CQ_MAX_CONNS] = { 0 };
    const PrimaryStage *st;
    uint64_t dev;
    double t0, t1, t2;
    bool wrote;

    if (r->cfg->load_bytes) {
        cq_sequential(r, r->cfg->load_bytes);
    } else {
        cq_idle(r);
    }
    primary_checkpoint(r->p);
    st = primary_stage(r->p, k);
    memset(s, 0, sizeof(*s));
    s->pages = st->pages;
    for (size_t c = 0; c < r->nconns; c++) {
        s->bytes += st->end[c] - st->start[c];
    }
    /* REQUEST, then REPLY (untimed: the secondary stops its VM). */
    cq_queue(r, &jobs[0], 0, st->start[0] + 4);
    cq_jobs_start(jobs, 1);
    cq_jobs_join(jobs, 1);
    memset(jobs, 0, sizeof(jobs));
    if (!cq_expect(r, WIRE_COLO_CHECKPOINT_REPLY, "CHECKPOINT_REPLY", why,
                   why_size)) {
        return false;
    }
    /* VMSTATE_SEND onwards; the recorded blob in place of the opaque. */
    dev = primary_find_mark(r->p, PM_DEVICE_STATE, k, 0)->offset;
    cq_queue(r, &jobs[0], 0, dev);
    cq_seg(&jobs[0], r->blob, r->blob_len);
    r->sent[0] = dev + r->blob_len;
    cq_queue(r, &jobs[0], 0, st->end[0]);
    for (size_t c = 1; c < r->nconns; c++) {
        cq_queue(r, &jobs[c], c, st->end[c]);
    }
    t0 = cq_now();
    cq_jobs_start(jobs, r->nconns);
    wrote = cq_jobs_join(jobs, r->nconns);
    if (!cq_expect(r, WIRE_COLO_VMSTATE_RECEIVED, "VMSTATE_RECEIVED", why,
                   why_size)) {
        return false;
    }
    t1 = cq_now();
    if (!cq_expect(r, WIRE_COLO_VMSTATE_LOADED, "VMSTATE_LOADED", why,
                   why_size)) {
        return false;
    }
    t2 = cq_now();
    if (!wrote) {
        snprintf(why, why_size, "checkpoint %u: a write failed", k);
        return false;
    }
    s->received = t1 - t0;
    s->loaded = t2 - t1;
    s->total = t2 - t0;
    return true;
}

bool colo_qemu_session(const ColoQemuConfig *cfg, ColoQemuSample *out,
                       ColoQemuResult *res, char *why, size_t why_size)
{
    CqRun run;
    CqRun *r = &run;
    bool ok;
    uint8_t *ram;

    memset(r, 0, sizeof(*r));
    memset(res, 0, sizeof(*res));
    why[0] = 0;
    r->cfg = cfg;
    for (size_t i = 0; i < CQ_MAX_CONNS; i++) {
        r->fd[i] = -1;
    }
    qt_check(cfg->channels <= COLO_QEMU_MAX_CHANNELS &&
                 cfg->load_bytes <= COLO_QEMU_WIN_BYTES,
             "colo-qemu: at most %d channels and %llu bytes per checkpoint",
             COLO_QEMU_MAX_CHANNELS, (unsigned long long)COLO_QEMU_WIN_BYTES);
    sup_rng_seed(&r->rng, cfg->seed);
    r->quickack = !getenv("MFCOLO_BENCH_DELAYED_ACK");
    cq_start(r, res);
    ok = cq_precopy(r, why, why_size);
    for (uint32_t k = 1; ok && k <= cfg->checkpoints; k++) {
        ok = cq_checkpoint(r, k, &out[k - 1], why, why_size);
        res->measured += ok;
    }
    if (ok) {
        const MemBlock *b = &primary_memory(r->p)->blocks[0];

        ram = malloc(b->size);
        qt_assert(ram);
        if (!qtest_ram_read(r->sec, 0, ram, b->size)) {
            qt_fail("reading pc.ram (%s): %s", qtest_ram_path(r->sec),
                    strerror(errno));
        }
        for (uint64_t pg = 0; pg < b->size / CQ_PAGE; pg++) {
            res->pages_differ += memcmp(ram + pg * CQ_PAGE,
                                        b->data + pg * CQ_PAGE, CQ_PAGE) != 0;
        }
        res->memory_equal = res->pages_differ == 0;
        free(ram);
    }
    for (size_t i = 0; i < r->nconns; i++) {
        if (r->fd[i] >= 0) {
            close(r->fd[i]);
        }
    }
    /* A fresh QEMU per session: this one is killed by its pid. */
    qtest_kill_wait(r->sec, NULL);
    qtest_quit(r->sec);
    free(r->tail);
    free(r->blob);
    free(r->pages);
    res->primary = r->p;
    return ok;
}
