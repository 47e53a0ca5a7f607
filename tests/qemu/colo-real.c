/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * COLO on a real QEMU secondary (docs/qemu-tier.md, "COLO on a real
 * secondary"): mfcolo's test primary (tests/support/primary.h) drives a
 * real qemu-system-x86_64 started through the qtest backend seam
 * (tests/qtest/lib, QT_BACKEND_QEMU, -incoming defer, x-colo) through
 * precopy with ENABLE_COLO, CHECKPOINT_READY, checkpoint after checkpoint
 * (REQUEST, REPLY, VMSTATE_SEND, RAM state, VMSTATE_SIZE + a recorded
 * device-state blob, RECEIVED, LOADED), then x-colo-lost-heartbeat.
 *
 * The guest is the halted guest of tests/data/qemu-colo-halted: its vCPU
 * never runs, so the secondary's pc.ram changes only by migration and by
 * this test's qtest writes, and the oracle is exact:
 *   I3  after each LOADED, pc.ram (the file behind it, and the workload
 *       window over qtest b64read) equals the image of that checkpoint;
 *   I4  after a failover, pc.ram equals the last LOADED checkpoint;
 *   a mismatch names the block, the page, and whether the page belongs
 *   to the checkpoint that was cut (and holds its content).
 *
 * Paths: qemu/colo/TRANSPORT/SCENARIO
 *   TRANSPORT  plain | multifd-{none,zstd}-{1,2,4}
 *   SCENARIO   checkpoints   4 checkpoints, failover after the last
 *              svm-dirty     the same, and between checkpoints the test
 *                            writes pages of the secondary's guest over
 *                            qtest (the secondary's own writes): the
 *                            next flush must restore the primary's pages
 *              cut/STAGE     2 checkpoints, then the 3rd is cut at STAGE
 *                            (before-request, after-reply, ram-partial,
 *                            sync-partial, after-flush, devstate-partial,
 *                            after-received, channel): failover, I4
 *
 * The outcome of a case is ok, or every oracle that failed, in order,
 * joined by '+' (i3-mismatch, i4-cut-visible, i4-mismatch, no-colo,
 * no-loaded, hang): "hang+i4-cut-visible".
 * tests/qemu/expect/colo-VERSION.txt lists the outcome expected of each
 * case that is not ok on that QEMU (a known defect; "A|B" when runs of
 * the same QEMU measured either); the test fails when the outcome differs
 * from the expectation either way, and says how.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base/be.h"
#include "image.h"
#include "expect.h"
#include "libqtest.h"
#include "primary.h"
#include "qemu-backend.h"
#include "rng.h"
#include "wire/stream.h"

#define RC_NCK 4    /* checkpoints of a full run */
#define RC_CUT_AT 3 /* the checkpoint a cut case cuts */
#define RC_PAGE 4096u
#define RC_BASE 0x200u               /* first workload page of pc.ram (2 MiB) */
#define RC_REWRITE 32u               /* pages rewritten at every checkpoint */
#define RC_TOZERO_AT (RC_BASE + 32u) /* 8 per checkpoint go to zero */
#define RC_ONCE_AT (RC_BASE + 128u)  /* 8 per checkpoint written once */
#define RC_PRECOPY_ONLY (RC_BASE + 100u)
#define RC_NEVER (RC_BASE + 250u)
#define RC_WINDOW 256u /* pages of the window read over qtest */
#define RC_MAX_CONNS 5

typedef enum RcCut {
    RC_CUT_NONE,
    RC_CUT_BEFORE_REQUEST,
    RC_CUT_AFTER_REPLY,
    RC_CUT_RAM_PARTIAL,
    RC_CUT_SYNC_PARTIAL,
    RC_CUT_AFTER_FLUSH,
    RC_CUT_DEVSTATE_PARTIAL,
    RC_CUT_AFTER_RECEIVED,
    RC_CUT_CHANNEL,
} RcCut;

static const char *const rc_cut_names[] = {
    "",
    "before-request",
    "after-reply",
    "ram-partial",
    "sync-partial",
    "after-flush",
    "devstate-partial",
    "after-received",
    "channel",
};

typedef struct RcRun {
    char name[256];
    uint32_t channels;
    WireCompression comp;
    bool svm_dirty;
    RcCut cut;
    QTestState *sec;
    int major;
    bool compat_shape;  /* MFCOLO_QEMU_COLO_SHAPE=compat */
    bool current_shape; /* QEMU >= 8 asked for its current shape */
    Primary *p;
    size_t nconns;
    int fd[RC_MAX_CONNS];
    uint64_t sent[RC_MAX_CONNS];
    uint8_t *tail;
    size_t tail_len;
    size_t tail_eof;
    uint8_t *blob;
    size_t blob_len;
    uint8_t *pages; /* precopy-pages.bin */
    size_t pages_len;
    uint8_t *ram;
    SupRng rng;
    uint64_t loaded; /* last checkpoint acknowledged with LOADED */
    char outcome[128];
    char detail[1024];
    int reply_ms;
} RcRun;

static struct timespec rc_t0;

/* Milliseconds since the test started. */
static long rc_ms(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long)((t.tv_sec - rc_t0.tv_sec) * 1000 +
                  (t.tv_nsec - rc_t0.tv_nsec) / 1000000);
}

/* ---- outcome ---- */

static void rc_outcome(RcRun *r, const char *what, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void rc_outcome(RcRun *r, const char *what, const char *fmt, ...)
{
    size_t n = strlen(r->detail);
    va_list ap;

    qt_log("%s: %s", r->name, what);
    /* Every failing oracle, in order: "hang+i4-cut-visible". */
    if (strstr(r->outcome, what)) {
        return;
    }
    snprintf(r->outcome + strlen(r->outcome),
             sizeof(r->outcome) - strlen(r->outcome), "%s%s",
             r->outcome[0] ? "+" : "", what);
    if (n && n + 2 < sizeof(r->detail)) {
        snprintf(r->detail + n, sizeof(r->detail) - n, "; ");
        n += 2;
    }
    va_start(ap, fmt);
    vsnprintf(r->detail + n, sizeof(r->detail) - n, fmt, ap);
    va_end(ap);
}

/* ---- data ---- */

static uint8_t *rc_load(const char *dir, const char *file, size_t *len)
{
    char path[4200];
    FILE *f;
    long n;
    uint8_t *b;

    snprintf(path, sizeof(path), "%s/qemu-colo-halted/%s", dir, file);
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

static void rc_load_data(RcRun *r)
{
    const char *root = getenv("MFCOLO_DATA_ROOT");
    const char *sub;
    char f[128];

    if (!root) {
        qt_fail("MFCOLO_DATA_ROOT is not set (run through meson test)");
    }
    if (r->major == 7) {
        sub = "7.2-colo";
    } else if (r->major == 10) {
        sub = "10.0.2-precopy";
    } else {
        qt_fail("no halted-guest device state recorded for QEMU %d "
                "(tests/data/qemu-colo-halted has 7.2 and 10.0.2)",
                r->major);
    }
    snprintf(f, sizeof(f), "%s/device-tail.bin", sub);
    r->tail = rc_load(root, f, &r->tail_len);
    snprintf(f, sizeof(f), "%s/devstate-0.bin", sub);
    r->blob = rc_load(root, f, &r->blob_len);
    snprintf(f, sizeof(f), "%s/precopy-pages.bin", sub);
    r->pages = rc_load(root, f, &r->pages_len);
    /* The blob is the tail's device sections through QEMU_VM_EOF. */
    r->tail_eof = r->blob_len - 1;
    if (r->tail_len <= r->blob_len || r->tail[r->tail_eof] != 0 ||
        r->blob[r->blob_len - 1] != 0) {
        qt_fail("%s: device tail and blob do not end in QEMU_VM_EOF", sub);
    }
}

/*
 * The recorded precopy pages (firmware, option ROMs, SeaBIOS data) into
 * @img: the secondary loads the recorded device state on top of them
 * (kvm-tpr-opt checks the option ROM it describes).  Records: u8 name
 * length, name, be64 offset, one page.
 */
static void rc_apply_pages(RcRun *r, MemImage *img)
{
    size_t o = 0;

    while (o < r->pages_len) {
        char name[256];
        uint8_t n = r->pages[o];
        uint64_t off = 0;
        long b;

        qt_check(o + 1 + n + 8 + RC_PAGE <= r->pages_len,
                 "precopy-pages.bin: truncated at %zu", o);
        memcpy(name, r->pages + o + 1, n);
        name[n] = 0;
        for (int i = 0; i < 8; i++) {
            off = off << 8 | r->pages[o + 1 + n + i];
        }
        b = mem_image_find(img, name);
        qt_check(b >= 0 && off + RC_PAGE <= img->blocks[b].size,
                 "precopy-pages.bin: %s offset 0x%" PRIx64 " not in the "
                 "layout",
                 name, off);
        memcpy(img->blocks[b].data + off, r->pages + o + 9 + n, RC_PAGE);
        o += 9 + n + RC_PAGE;
    }
}

/* ---- sockets ---- */

typedef struct RcSeg {
    const uint8_t *p;
    size_t n;
} RcSeg;

typedef struct RcJob {
    int fd;
    RcSeg seg[3];
    int nseg;
    int err;
    pthread_t th;
} RcJob;

static void *rc_job_run(void *opaque)
{
    RcJob *j = opaque;

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

/*
 * Write every job's segments, one thread per connection, and wait, at
 * most 2 x reply_ms (a local QEMU reads them in milliseconds): a
 * destination that stops reading is the outcome "hang", its sockets are
 * shut down (which ends the blocked sends) and the writers joined.
 */
static void rc_jobs(RcRun *r, RcJob *jobs, size_t n)
{
    struct timespec end;

    for (size_t i = 0; i < n; i++) {
        if (jobs[i].nseg &&
            pthread_create(&jobs[i].th, NULL, rc_job_run, &jobs[i])) {
            qt_fail("pthread_create");
        }
    }
    clock_gettime(CLOCK_REALTIME, &end);
    end.tv_sec += 2 * r->reply_ms / 1000;
    end.tv_nsec += (long)(2 * r->reply_ms % 1000) * 1000000;
    if (end.tv_nsec >= 1000000000) {
        end.tv_sec++;
        end.tv_nsec -= 1000000000;
    }
    for (size_t i = 0; i < n; i++) {
        if (jobs[i].nseg) {
            if (pthread_timedjoin_np(jobs[i].th, NULL, &end) != 0) {
                rc_outcome(r, "hang",
                           "conn %zu: its writer still sending after %d ms "
                           "(pthread_join): the destination stopped reading",
                           i, 2 * r->reply_ms);
                for (size_t c = 0; c < r->nconns; c++) {
                    shutdown(r->fd[c], SHUT_RDWR);
                }
                pthread_join(jobs[i].th, NULL);
            }
            if (jobs[i].err) {
                qt_log("%s: conn %zu: write: %s", r->name, i,
                       strerror(jobs[i].err));
            }
        }
    }
}

static void rc_seg(RcJob *j, const uint8_t *p, size_t n)
{
    if (n) {
        j->seg[j->nseg].p = p;
        j->seg[j->nseg].n = n;
        j->nseg++;
    }
}

/* Queue bytes [r->sent[c], upto) of connection @c on @j. */
static void rc_queue(RcRun *r, RcJob *j, size_t c, uint64_t upto)
{
    const PrimaryConn *pc = primary_conn(r->p, c);

    if (upto > pc->buf.len) {
        upto = pc->buf.len;
    }
    j->fd = r->fd[c];
    if (upto > r->sent[c]) {
        rc_seg(j, pc->buf.data + r->sent[c], upto - r->sent[c]);
        r->sent[c] = upto;
    }
}

/* Read one COLO message (be32) within r->reply_ms; -1 on EOF/timeout. */
static long rc_read_msg(RcRun *r)
{
    uint8_t b[4];
    size_t got = 0;

    while (got < 4) {
        struct pollfd pf = { .fd = r->fd[0], .events = POLLIN };
        ssize_t n;

        if (poll(&pf, 1, r->reply_ms) <= 0) {
            return -1;
        }
        n = recv(r->fd[0], b + got, 4 - got, 0);
        if (n <= 0) {
            return -1;
        }
        got += (size_t)n;
    }
    return (long)(((uint32_t)b[0] << 24) | ((uint32_t)b[1] << 16) |
                  ((uint32_t)b[2] << 8) | b[3]);
}

static bool rc_expect_msg(RcRun *r, long want, const char *what)
{
    long got = rc_read_msg(r);

    if (got != want) {
        qt_log("%s: waiting for %s: %s %ld", r->name, what,
               got < 0 ? "nothing (EOF or timeout)" : "got message", got);
        return false;
    }
    return true;
}

/* The primary dies: every socket is shut down and closed. */
static void rc_close_all(RcRun *r)
{
    for (size_t i = 0; i < r->nconns; i++) {
        if (r->fd[i] >= 0) {
            shutdown(r->fd[i], SHUT_RDWR);
            close(r->fd[i]);
            r->fd[i] = -1;
        }
    }
}

/* ---- workloads (primary side) ---- */

static void rc_fill(RcRun *r, uint64_t page)
{
    MemImage *m = primary_memory(r->p);
    uint8_t *d = mem_image_page(m, 0, page);

    for (uint32_t i = 0; i < RC_PAGE; i += 8) {
        uint64_t v = sup_rng_next(&r->rng);

        memcpy(d + i, &v, 8);
    }
    d[0] |= 1; /* never a zero page */
    page_set_add(primary_dirty(r->p), 0, page);
}

static void rc_zero(RcRun *r, uint64_t page)
{
    memset(mem_image_page(primary_memory(r->p), 0, page), 0, RC_PAGE);
    page_set_add(primary_dirty(r->p), 0, page);
}

/* Precopy contents: the pages later rewritten, zeroed, and a few more. */
static void rc_workload_precopy(RcRun *r)
{
    MemImage *m = primary_memory(r->p);

    for (uint64_t pg = RC_BASE; pg < RC_BASE + RC_WINDOW; pg++) {
        const uint8_t *d = mem_image_page(m, 0, pg);

        qt_check(!d[0] && !memcmp(d, d + 1, RC_PAGE - 1),
                 "workload page %" PRIu64 " holds recorded data", pg);
    }

    for (uint32_t i = 0; i < RC_REWRITE; i++) {
        rc_fill(r, RC_BASE + i);
    }
    for (uint32_t i = 0; i < 8 * RC_NCK; i++) {
        rc_fill(r, RC_TOZERO_AT + i);
    }
    rc_fill(r, RC_PRECOPY_ONLY);
    rc_fill(r, m->blocks[0].npages - 1); /* last page of pc.ram */
}

/* Checkpoint @k (1-based): rewrite, non-zero -> zero, written once. */
static void rc_workload_checkpoint(RcRun *r, unsigned k)
{
    for (uint32_t i = 0; i < RC_REWRITE; i++) {
        rc_fill(r, RC_BASE + i);
    }
    for (uint32_t i = 0; i < 8; i++) {
        rc_zero(r, RC_TOZERO_AT + 8 * (k - 1) + i);
        rc_fill(r, RC_ONCE_AT + 8 * (k - 1) + i);
    }
}

/*
 * The secondary's own writes after checkpoint @k was loaded: pages the
 * primary sent in checkpoint k (written once: they stay), a page
 * rewritten at every checkpoint, one sent only in precopy, one never
 * sent.  A correct secondary restores all of them at the next flush.
 */
static void rc_svm_writes(RcRun *r, unsigned k)
{
    uint64_t pages[] = { RC_ONCE_AT + 8 * (k - 1), RC_ONCE_AT + 8 * (k - 1) + 5,
                         RC_BASE + 3, RC_PRECOPY_ONLY, RC_NEVER };

    for (size_t i = 0; i < sizeof(pages) / sizeof(pages[0]); i++) {
        qtest_memset(r->sec, pages[i] * RC_PAGE, 0xee, RC_PAGE);
    }
}

/* ---- oracle ---- */

/*
 * Compare the secondary's pc.ram with stage @want; @cut (or 0) is the
 * stage of a checkpoint that was cut.  Returns the pages that differ;
 * *@cut_content counts those that hold the cut checkpoint's content.
 */
static uint64_t rc_compare(RcRun *r, const char *oracle, size_t want,
                           size_t cut, uint64_t *cut_content)
{
    const MemImage *w = primary_stage(r->p, want)->image;
    const MemImage *c = cut ? primary_stage(r->p, cut)->image : NULL;
    const MemBlock *b = &w->blocks[0];
    uint64_t bad = 0;

    *cut_content = 0;
    if (!qtest_ram_read(r->sec, 0, r->ram, b->size)) {
        qt_fail("%s: reading pc.ram (%s): %s", r->name, qtest_ram_path(r->sec),
                strerror(errno));
    }
    for (uint64_t pg = 0; pg < b->npages; pg++) {
        const uint8_t *e = b->data + pg * RC_PAGE;
        const uint8_t *g = r->ram + pg * RC_PAGE;
        const uint8_t *ce = c ? c->blocks[0].data + pg * RC_PAGE : NULL;
        bool in_cut;
        bool holds_cut;
        bool torn;
        uint32_t i;

        if (!memcmp(e, g, RC_PAGE)) {
            continue;
        }
        for (i = 0; e[i] == g[i]; i++) {
        }
        in_cut = ce && memcmp(ce, e, RC_PAGE);
        holds_cut = in_cut && !memcmp(ce, g, RC_PAGE);
        torn = in_cut && !holds_cut;
        for (uint32_t j = 0; torn && j < RC_PAGE; j++) {
            torn = g[j] == e[j] || g[j] == ce[j];
        }
        *cut_content += holds_cut || torn;
        if (bad++ < 8) {
            char older[96] = "";

            for (size_t j = want; !c && j-- > 0;) {
                const MemImage *o = primary_stage(r->p, j)->image;

                if (!memcmp(o->blocks[0].data + pg * RC_PAGE, g, RC_PAGE)) {
                    snprintf(older, sizeof(older),
                             "; it holds the content of stage %zu%s", j,
                             j ? "" : " (precopy)");
                    break;
                }
            }
            qt_log("%s: %s: block pc.ram page %" PRIu64 " (addr 0x%" PRIx64
                   ") byte %u: want 0x%02x (stage %zu) got 0x%02x; %s%s",
                   r->name, oracle, pg, pg * RC_PAGE, i, e[i], want, g[i],
                   !c        ? "no checkpoint was cut"
                   : !in_cut ? "not a page of the cut checkpoint"
                   : holds_cut
                       ? "a page of the cut checkpoint, holding its content"
                   : torn ? "a page of the cut checkpoint, torn: part of it "
                            "holds the cut checkpoint's content, the rest "
                            "the last LOADED one's"
                          : "a page of the cut checkpoint, holding neither",
                   older);
        }
    }
    if (bad > 8) {
        qt_log("%s: %s: ... %" PRIu64 " pages differ in all", r->name, oracle,
               bad);
    }
    return bad;
}

/* I3: after LOADED of checkpoint @k: the file and the qtest window. */
static void rc_check_i3(RcRun *r, unsigned k)
{
    uint64_t cc;
    uint64_t bad = rc_compare(r, "I3", k, 0, &cc);
    const MemImage *w = primary_stage(r->p, k)->image;
    static uint8_t win[RC_WINDOW * RC_PAGE];

    qtest_memread(r->sec, (uint64_t)RC_BASE * RC_PAGE, win, sizeof(win));
    if (memcmp(win, w->blocks[0].data + (uint64_t)RC_BASE * RC_PAGE,
               sizeof(win))) {
        qt_log("%s: I3: the qtest b64read window differs from checkpoint %u",
               r->name, k);
        bad += !bad;
    }
    if (bad) {
        rc_outcome(r, "i3-mismatch",
                   "after LOADED of checkpoint %u: %" PRIu64
                   " pages of pc.ram differ from it",
                   k, bad);
    }
}

/* ---- the run ---- */

static void rc_start(RcRun *r)
{
    QTestOpts o = { .backend = QT_BACKEND_QEMU, .incoming = true };
    PrimaryConfig cfg;
    MemImage *init;
    const char *u = QT_QEMU_UUID;
    int port;

    char line[160];
    char why[256];
    int probed = 0;

    /*
     * QEMU >= 8 on pc-i440fx-7.2 keeps 7.2's stream shape through its
     * compatibility properties (per-section sync, zero pages on main).
     * The current shape (per-round sync + MULTIFD_FLUSH, zero pages in
     * the packets) is asked for explicitly, as the 10.0.2 recordings
     * did; MFCOLO_QEMU_COLO_SHAPE=compat keeps the compat shape (sent
     * like 7.2).
     */
    if (qt_qemu_probe(qt_qemu_binary(NULL), qt_timeout_ms(), line, sizeof(line),
                      why, sizeof(why))) {
        sscanf(line, "QEMU emulator version %d", &probed);
    }
    r->current_shape = probed >= 8 && !r->compat_shape;
    if (r->current_shape) {
        o.args = "-global migration.multifd-flush-after-each-section=off";
    }
    r->sec = qtest_start_opts("secondary", &o);
    qtest_version_print(r->sec, stderr);
    r->major = qtest_version(r->sec)->major;
    rc_load_data(r);
    if (r->current_shape) {
        qtest_qmp_assert_success(r->sec,
                                 "{'execute': 'migrate-set-parameters', "
                                 "'arguments': {'zero-page-detection': "
                                 "'multifd'}}");
    }
    qt_log("%s: stream shape %s", r->name,
           r->current_shape ? "current (per-round sync, zero pages in packets)"
                            : "7.2 (per-section sync, zero pages on main)");
    qtest_qmp_assert_success(
        r->sec,
        "{'execute': 'migrate-set-capabilities', 'arguments': "
        "{'capabilities': [{'capability': 'x-colo', 'state': true}%s]}}",
        r->channels ? ", {'capability': 'multifd', 'state': true}" : "");
    if (r->channels) {
        qtest_qmp_assert_success(
            r->sec,
            "{'execute': 'migrate-set-parameters', 'arguments': "
            "{'multifd-channels': %u, 'multifd-compression': '%s'}}",
            r->channels, r->comp == WIRE_COMP_ZSTD ? "zstd" : "none");
    }
    port = qtest_migrate_incoming_port(r->sec);

    primary_config_init(&cfg, r->major == 7 ? PRIMARY_QEMU_7_2 : PRIMARY_QEMU_9,
                        r->channels, r->comp);
    for (size_t i = 0, j = 0; i < WIRE_UUID_SIZE; j++) {
        if (u[j] != '-') {
            unsigned v;

            sscanf(u + j, "%2x", &v);
            cfg.uuid[i++] = (uint8_t)v;
            j++;
        }
    }
    cfg.ram_section_id = r->major == 7 ? 2 : 1; /* as the recordings */
    cfg.seed = 1;
    cfg.device_section = false;
    cfg.vmdesc = false;
    cfg.device_state_size = (uint32_t)r->blob_len;
    cfg.keep_images = true;
    init = mem_image_new_pc(QT_QEMU_RAM_SIZE);
    rc_apply_pages(r, init);
    r->p = primary_new(&cfg, init);
    mem_image_free(init);
    r->nconns = 1 + r->channels;
    for (size_t i = 0; i < RC_MAX_CONNS; i++) {
        r->fd[i] = -1;
    }
    /* The main channel first, taken as such by every version. */
    r->fd[0] =
        qtest_connect_main_channel(r->sec, port, r->reply_ms, &r->sent[0]);
    for (size_t i = 1; i < r->nconns; i++) {
        r->fd[i] = qtest_connect_port(port);
    }
}

/* Precopy with the recorded device tail in place of the primary's EOF. */
static bool rc_precopy(RcRun *r)
{
    RcJob jobs[RC_MAX_CONNS] = { 0 };
    const PrimaryMark *eof;

    rc_workload_precopy(r);
    primary_precopy(r->p);
    qt_check(mf_be32_load(primary_conn(r->p, 0)->buf.data) ==
                 WIRE_VM_FILE_MAGIC,
             "the main stream does not start with the file magic already "
             "sent");
    eof = primary_find_mark(r->p, PM_VM_EOF, 0, 0);
    qt_assert(eof);
    rc_queue(r, &jobs[0], 0, eof->offset);
    rc_seg(&jobs[0], r->tail, r->tail_len);
    r->sent[0] = primary_stage(r->p, 0)->end[0];
    for (size_t c = 1; c < r->nconns; c++) {
        rc_queue(r, &jobs[c], c, primary_stage(r->p, 0)->end[c]);
    }
    rc_jobs(r, jobs, r->nconns);
    if (!rc_expect_msg(r, WIRE_COLO_CHECKPOINT_READY, "CHECKPOINT_READY")) {
        rc_outcome(r, "no-colo", "no CHECKPOINT_READY after precopy");
        return false;
    }
    return true;
}

static uint64_t rc_mark(RcRun *r, PrimaryMarkKind kind, unsigned stage,
                        size_t conn)
{
    const PrimaryMark *m = primary_find_mark(r->p, kind, stage, conn);

    qt_check(m, "%s: no mark %d in stage %u on conn %zu", r->name, kind, stage,
             conn);
    return m->offset;
}

/* Offset inside the first packet with a page on @conn in @stage. */
static uint64_t rc_inside_packet(RcRun *r, unsigned stage, size_t conn)
{
    const PrimaryStage *st = primary_stage(r->p, stage);
    uint64_t prev = UINT64_MAX;

    for (size_t i = 0; i < primary_nmarks(r->p); i++) {
        const PrimaryMark *m = primary_mark(r->p, i);

        if (m->kind != PM_PACKET || m->stage != stage || m->conn != conn) {
            continue;
        }
        if (prev != UINT64_MAX && m->offset - prev > RC_PAGE) {
            break;
        }
        prev = m->offset;
    }
    if (prev == UINT64_MAX) {
        return st->start[conn]; /* no packet: cut before anything */
    }
    for (size_t i = 0; i < primary_nmarks(r->p); i++) {
        const PrimaryMark *m = primary_mark(r->p, i);

        if (m->kind == PM_PACKET && m->stage == stage && m->conn == conn &&
            m->offset > prev) {
            return prev + (m->offset - prev) / 2;
        }
    }
    return prev + (st->end[conn] - prev) / 2;
}

/*
 * Checkpoint @k, cut at @cut (RC_CUT_NONE: complete).  Returns true when
 * LOADED came.
 */
static bool rc_checkpoint(RcRun *r, unsigned k, RcCut cut)
{
    RcJob jobs[RC_MAX_CONNS] = { 0 };
    const PrimaryStage *st;
    uint64_t lim[RC_MAX_CONNS];
    uint64_t dev;
    uint64_t send;
    uint64_t eos;
    uint64_t sync;
    bool loaded;

    rc_workload_checkpoint(r, k);
    primary_checkpoint(r->p);
    st = primary_stage(r->p, k);
    qt_log("%s: %ld ms: checkpoint %u generated", r->name, rc_ms(), k);
    if (cut == RC_CUT_BEFORE_REQUEST) {
        return false;
    }
    /* REQUEST, then REPLY. */
    rc_queue(r, &jobs[0], 0, st->start[0] + 4);
    rc_jobs(r, jobs, 1);
    memset(jobs, 0, sizeof(jobs));
    if (!rc_expect_msg(r, WIRE_COLO_CHECKPOINT_REPLY, "CHECKPOINT_REPLY")) {
        rc_outcome(r, "no-loaded", "checkpoint %u: no CHECKPOINT_REPLY", k);
        return false;
    }
    if (cut == RC_CUT_AFTER_REPLY) {
        return false;
    }
    send = rc_mark(r, PM_VMSTATE_SEND, k, 0);
    dev = rc_mark(r, PM_DEVICE_STATE, k, 0);
    eos = rc_mark(r, PM_EOS, k, 0);
    sync = r->channels ? rc_mark(r, PM_SYNC, k, 0) : eos;
    for (size_t c = 0; c < r->nconns; c++) {
        lim[c] = st->end[c];
    }
    switch (cut) {
    case RC_CUT_RAM_PARTIAL:
        if (r->channels) {
            lim[0] = sync;
            lim[1] = rc_inside_packet(r, k, 1);
        } else {
            lim[0] = send + 4 + (eos - send - 4) / 2;
        }
        break;
    case RC_CUT_SYNC_PARTIAL:
        lim[0] = sync;
        for (size_t c = 1; c < r->nconns; c++) {
            if (c - 1 >= r->channels / 2) {
                lim[c] = rc_mark(r, PM_SYNC, k, c);
            }
        }
        break;
    case RC_CUT_AFTER_FLUSH:
        lim[0] = eos + 8;
        break;
    case RC_CUT_DEVSTATE_PARTIAL:
        lim[0] = dev + r->blob_len / 2;
        break;
    case RC_CUT_CHANNEL:
        lim[1] = rc_inside_packet(r, k, 1);
        break;
    default:
        break;
    }
    /* Main: the rest with the recorded blob in place of the generated. */
    if (lim[0] > dev) {
        size_t nb = lim[0] - dev < r->blob_len ? lim[0] - dev : r->blob_len;

        rc_queue(r, &jobs[0], 0, dev);
        rc_seg(&jobs[0], r->blob, nb);
        r->sent[0] = dev + nb;
        rc_queue(r, &jobs[0], 0, lim[0]);
    } else {
        rc_queue(r, &jobs[0], 0, lim[0]);
    }
    for (size_t c = 1; c < r->nconns; c++) {
        rc_queue(r, &jobs[c], c, lim[c]);
    }
    rc_jobs(r, jobs, r->nconns);
    if (cut == RC_CUT_CHANNEL) {
        shutdown(r->fd[1], SHUT_RDWR);
    } else if (cut != RC_CUT_NONE && cut != RC_CUT_AFTER_RECEIVED) {
        return false;
    }
    if (!rc_expect_msg(r, WIRE_COLO_VMSTATE_RECEIVED, "VMSTATE_RECEIVED")) {
        if (cut == RC_CUT_NONE) {
            rc_outcome(r, "no-loaded", "checkpoint %u: no VMSTATE_RECEIVED", k);
        }
        return false;
    }
    if (cut == RC_CUT_AFTER_RECEIVED) {
        return false;
    }
    qt_log("%s: %ld ms: checkpoint %u: RECEIVED", r->name, rc_ms(), k);
    loaded = rc_expect_msg(r, WIRE_COLO_VMSTATE_LOADED, "VMSTATE_LOADED");
    qt_log("%s: %ld ms: checkpoint %u: LOADED %d", r->name, rc_ms(), k, loaded);
    if (!loaded && cut == RC_CUT_NONE) {
        rc_outcome(r, "no-loaded", "checkpoint %u: no VMSTATE_LOADED", k);
    }
    return loaded;
}

/* The primary is gone: COLO_EXIT, x-colo-lost-heartbeat, "completed". */
static void rc_failover(RcRun *r)
{
    json_t *ev;
    json_t *rep;
    char st[64] = "";
    int tmo = r->reply_ms;

    rc_close_all(r);
    ev = qtest_qmp_eventwait_ref(r->sec, "COLO_EXIT", tmo);
    if (ev) {
        char *t = json_dumps(ev, JSON_COMPACT);

        qt_log("%s: COLO_EXIT %s", r->name, t ? t : "");
        free(t);
        json_decref(ev);
    } else {
        qt_log("%s: no COLO_EXIT within %d ms", r->name, tmo);
    }
    rep =
        qtest_qmp_timeout(r->sec, tmo, "{'execute': 'x-colo-lost-heartbeat'}");
    if (!rep) {
        rc_outcome(r, "hang",
                   "x-colo-lost-heartbeat: no QMP reply within %d ms", tmo);
        return;
    }
    json_decref(rep);
    for (int i = 0; i < tmo / 20; i++) {
        json_t *q =
            qtest_qmp_timeout(r->sec, tmo, "{'execute': 'query-migrate'}");
        const char *s;

        if (!q) {
            rc_outcome(r, "hang", "query-migrate: no QMP reply");
            return;
        }
        s = json_string_value(
            json_object_get(json_object_get(q, "return"), "status"));
        snprintf(st, sizeof(st), "%s", s ? s : "");
        json_decref(q);
        if (!strcmp(st, "completed")) {
            break;
        }
        usleep(20000);
    }
    qt_log("%s: after x-colo-lost-heartbeat: status %s", r->name, st);
    if (strcmp(st, "completed")) {
        rc_outcome(r, "hang", "failover: status %s, not completed", st);
    }
}

static void rc_check_i4(RcRun *r, size_t cut_stage)
{
    uint64_t cc;
    uint64_t bad = rc_compare(r, "I4", r->loaded, cut_stage, &cc);

    if (!bad) {
        qt_log("%s: I4: pc.ram equals checkpoint %" PRIu64 " (the last "
               "LOADED)",
               r->name, r->loaded);
        return;
    }
    if (cut_stage && cc == bad) {
        rc_outcome(r, "i4-cut-visible",
                   "after failover: %" PRIu64 " pages of pc.ram differ from "
                   "checkpoint %" PRIu64 " (the last LOADED), all holding "
                   "checkpoint %zu, which was cut",
                   bad, r->loaded, cut_stage);
    } else if (!cut_stage) {
        rc_outcome(r, "i4-mismatch",
                   "after failover: %" PRIu64 " pages of pc.ram differ from "
                   "checkpoint %" PRIu64 " (the last LOADED)",
                   bad, r->loaded);
    } else {
        rc_outcome(r, "i4-mismatch",
                   "after failover: %" PRIu64 " pages of pc.ram differ from "
                   "checkpoint %" PRIu64 " (the last LOADED), %" PRIu64
                   " of them hold the cut checkpoint",
                   bad, r->loaded, cc);
    }
}

static void rc_run(RcRun *r)
{
    unsigned last = r->cut ? RC_CUT_AT : RC_NCK;
    size_t cut_stage = 0;

    rc_start(r);
    qt_log("%s: %ld ms: %s started, precopy", r->name, rc_ms(),
           qtest_version(r->sec)->line);
    if (!rc_precopy(r)) {
        rc_failover(r);
        return;
    }
    for (unsigned k = 1; k <= last; k++) {
        RcCut cut = k == last ? r->cut : RC_CUT_NONE;

        qt_log("%s: %ld ms: checkpoint %u%s%s", r->name, rc_ms(), k,
               cut ? ", cut at " : "", rc_cut_names[cut]);
        if (rc_checkpoint(r, k, cut)) {
            r->loaded = k;
            rc_check_i3(r, k);
            if (r->svm_dirty && k < last) {
                rc_svm_writes(r, k);
            }
        } else if (cut == RC_CUT_AFTER_RECEIVED) {
            /*
             * The secondary had all of checkpoint k and said so: it
             * flushes and loads it whether or not LOADED arrives.
             */
            r->loaded = k;
            break;
        } else {
            if (cut != RC_CUT_NONE) {
                cut_stage = k;
            }
            break;
        }
    }
    qt_log("%s: %" PRIu64 " checkpoints LOADED%s%s", r->name, r->loaded,
           r->cut ? ", cut at " : "", rc_cut_names[r->cut]);
    rc_failover(r);
    rc_check_i4(r, cut_stage);
}

/* ---- expectations ---- */

/*
 * @want is one outcome or several separated by '|' (an outcome that
 * varies between runs of the same QEMU, each measured): does @got match
 * one of them exactly?
 */
static bool rc_outcome_matches(const char *want, const char *got)
{
    size_t n = strlen(got);

    for (const char *w = want; w;
         w = strchr(w, '|') ? strchr(w, '|') + 1 : NULL) {
        if (!strncmp(w, got, n) && (w[n] == '\0' || w[n] == '|')) {
            return true;
        }
    }
    return false;
}

static bool rc_parse(RcRun *r, const char *path)
{
    char t[64];
    char s[128];
    char comp[16];
    unsigned n;

    snprintf(r->name, sizeof(r->name), "%s", path);
    if (sscanf(path, "qemu/colo/%63[^/]/%127s", t, s) != 2) {
        return false;
    }
    if (!strcmp(t, "plain")) {
        r->channels = 0;
    } else if (sscanf(t, "multifd-%15[a-z]-%u", comp, &n) == 2 && n >= 1 &&
               n <= 4 && (!strcmp(comp, "none") || !strcmp(comp, "zstd"))) {
        r->channels = n;
        r->comp = !strcmp(comp, "zstd") ? WIRE_COMP_ZSTD : WIRE_COMP_NONE;
    } else {
        return false;
    }
    if (!strcmp(s, "checkpoints")) {
        return true;
    }
    if (!strcmp(s, "svm-dirty")) {
        r->svm_dirty = true;
        return true;
    }
    if (strncmp(s, "cut/", 4)) {
        return false;
    }
    for (unsigned i = 1; i < sizeof(rc_cut_names) / sizeof(*rc_cut_names);
         i++) {
        if (!strcmp(s + 4, rc_cut_names[i])) {
            r->cut = (RcCut)i;
            /* cuts inside packets need a multifd channel */
            return r->cut != RC_CUT_CHANNEL || r->channels;
        }
    }
    return false;
}

int main(int argc, char **argv)
{
    static RcRun run;
    RcRun *r = &run;
    struct timespec t0;
    struct timespec t1;
    char want[128];
    char file[4300];
    const char *ms = getenv("MFCOLO_QEMU_REPLY_MS");
    json_t *alive;
    long wall;

    if (argc != 3 || strcmp(argv[1], "-p") || !rc_parse(r, argv[2])) {
        fprintf(stderr, "usage: qemu-colo-test -p qemu/colo/TRANSPORT/"
                        "SCENARIO (see the file's head comment)\n");
        return 2;
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    rc_t0 = t0;
    qt_set_seed(1, r->name);
    r->reply_ms = ms ? atoi(ms) : 10000;
    r->compat_shape = getenv("MFCOLO_QEMU_COLO_SHAPE") &&
                      !strcmp(getenv("MFCOLO_QEMU_COLO_SHAPE"), "compat");
    r->ram = malloc(QT_QEMU_RAM_SIZE);
    qt_assert(r->ram);
    sup_rng_seed(&r->rng, 0x636f6c6f);
    rc_run(r);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    wall = (long)((t1.tv_sec - t0.tv_sec) * 1000 +
                  (t1.tv_nsec - t0.tv_nsec) / 1000000);
    if (!r->outcome[0]) {
        snprintf(r->outcome, sizeof(r->outcome), "ok");
    }
    qemu_expect_lookup("colo", qtest_version(r->sec), r->name, want,
                       sizeof(want), file, sizeof(file));
    if (strcmp(r->outcome, "ok")) {
        qtest_dump_log(r->sec);
    }
    alive = qtest_qmp_timeout(r->sec, 1000, "{'execute': 'query-status'}");
    if (alive) {
        json_decref(alive);
        qtest_quit(r->sec);
    } else {
        qtest_kill_wait(r->sec, NULL);
    }
    printf("%s outcome %s (%s) checkpoints-loaded %" PRIu64 " wall_ms %ld\n",
           r->name, r->outcome, r->detail[0] ? r->detail : "every oracle held",
           r->loaded, wall);
    if (!rc_outcome_matches(want, r->outcome)) {
        printf("CHANGED: %s: expected %s (%s), got %s\n", r->name, want, file,
               r->outcome);
        return 1;
    }
    if (strcmp(r->outcome, "ok")) {
        printf("KNOWN DEFECT: %s: %s as recorded in %s (%s)\n", r->name,
               r->outcome, file, want);
    }
    return 0;
}
