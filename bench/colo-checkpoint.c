/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Checkpoint memory-transfer time of a simulated COLO pair (issue 16,
 * part a): mfcolo's test primary (tests/support primary + sender, byte
 * exact QEMU streams, paced by the COLO message exchange) into mfcolo's
 * core secondary (tests/support secondary builder), over loopback TCP,
 * in one process with threads.
 *
 * Per checkpoint, on the secondary, from the parser's stage and device
 * hooks and the engine's event trace (no timing code in core/):
 *   total    VMSTATE_SEND read .. checkpoint_done (RAM received, flushed,
 *            device state loaded); the sum of the four parts below
 *   receive  VMSTATE_SEND .. the last multifd channel posted its SYNC
 *            (every page of the checkpoint placed); plain: .. VMSTATE_SIZE
 *   sync     that SYNC .. VMSTATE_SIZE read (the main thread's release
 *            and the rest of the RAM section); plain: 0
 *   flush    VMSTATE_RECEIVED sent .. device state handed over (colo_flush)
 *   device   VMSTATE_SIZE .. RECEIVED (the blob) + the device hook
 *
 * Runs: idle (a few random pages per checkpoint) and load (sequential
 * upload-like writes of RATE x INTERVAL bytes per checkpoint) x plain,
 * multifd 1 2 4 8 x none, zstd.  The interval is not waited for: the
 * workload between checkpoints is what the guest would dirty in it.
 * Baselines in the same run: a raw recv() sink moving each checkpoint's
 * bytes over the same number of loopback sockets, and memcpy of each
 * checkpoint's flushed pages.
 *
 * usage: colo-checkpoint [--short] [--checkpoints N] [--sessions S]
 *                        [--guest-mib M] [--rate MBPS] [--interval-ms I]
 *                        [--idle-pages P] [--qemu BIN] [--only SEL]...
 *
 * --qemu BIN (part b): the secondary is a fresh real QEMU per session
 * (colo-qemu.h), timed on the primary: recv = VMSTATE_SEND written ..
 * VMSTATE_RECEIVED read, flush = RECEIVED .. VMSTATE_LOADED read, sync
 * and device 0; guest 32 MiB, the load wraps in 4..31 MiB of it; the
 * seam's temporary folder (pc.ram's file) in /dev/shm unless $TMPDIR.
 * --only SEL (repeatable) keeps the runs matching SEL: a transport
 * (plain, multifd-N), a compression (none, zstd) or idle/load.
 * --out DIR also writes DIR/samples.tsv (one line per checkpoint, in
 * ms, with the process and main-thread CPU time), DIR/summary.tsv (one
 * line per run: the figures and ratios printed) and DIR/meta.txt (the
 * parameters, CPUs, load average before and after) for bench/report.
 * Not a test: numbers depend on the machine.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "codec/codec.h"
#include "colo-qemu.h"
#include "primary.h"
#include "rng.h"
#include "secondary.h"
#include "sender.h"
#include "workload.h"

#define PS 4096
#ifndef MFCOLO_BENCH_DATA_ROOT
#define MFCOLO_BENCH_DATA_ROOT ""
#endif
#define MAX_CONN 9
#define NTRANSPORTS 5

static const uint32_t transports[NTRANSPORTS] = { 0, 1, 2, 4, 8 };

typedef struct Params {
    uint32_t checkpoints; /* per session */
    uint32_t sessions;
    uint64_t guest_bytes;
    double rate_mbps;
    uint32_t interval_ms;
    uint32_t idle_pages;
    const char *qemu; /* part b: a real QEMU secondary */
    const char *data_root;
    const char *only[16];
    int nonly;
} Params;

typedef struct Sample {
    double total, recv, sync, flush, dev; /* seconds */
    double sink, copy;                    /* baselines, seconds */
    uint64_t pages;                       /* flushed */
    uint64_t bytes;                       /* on every connection */
    double cpu;        /* process CPU time in the checkpoint */
    double main_cpu;   /* the secondary main thread's CPU time in it */
    double flush_cpu;  /* the main thread's CPU time in the flush */
    long flush_minflt; /* the main thread's minor faults in the flush */
    double flush_sys;  /* of flush_cpu, in the kernel */
    long flush_nivcsw; /* the main thread preempted in the flush */
    uint32_t session;
} Sample;

typedef struct Samples {
    Sample *v;
    size_t n, cap;
} Samples;

/* What the hooks see, per session. */
typedef struct Probe {
    bool multifd;
    uint64_t t_ram, t_dev, t_load, t_flushed;
    uint64_t c_ram, m_ram, m_load, m_flushed; /* CPU clocks, ns */
    struct rusage r_load, r_flushed;          /* the main thread's */
    uint64_t last_sync; /* written by channel threads (trace) */
    Samples *out;
} Probe;

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t cpu_ns(clockid_t clk)
{
    struct timespec ts;

    clock_gettime(clk, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static double tv_s(const struct timeval *tv)
{
    return tv->tv_sec + tv->tv_usec / 1e6;
}

static void die(const char *what)
{
    perror(what);
    exit(1);
}

static void samples_push(Samples *s, const Sample *x)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 256;
        s->v = realloc(s->v, s->cap * sizeof(*s->v));
        if (!s->v) {
            die("realloc");
        }
    }
    s->v[s->n++] = *x;
}

static void probe_stage(void *opaque, IncomingStage stage)
{
    Probe *p = opaque;

    switch (stage) {
    case INCOMING_STAGE_CP_RAM:
        p->t_ram = now_ns();
        p->c_ram = cpu_ns(CLOCK_PROCESS_CPUTIME_ID);
        p->m_ram = cpu_ns(CLOCK_THREAD_CPUTIME_ID);
        __atomic_store_n(&p->last_sync, 0, __ATOMIC_SEQ_CST);
        break;
    case INCOMING_STAGE_CP_DEVICE:
        p->t_dev = now_ns();
        break;
    case INCOMING_STAGE_CP_LOADING:
        p->t_load = now_ns();
        p->m_load = cpu_ns(CLOCK_THREAD_CPUTIME_ID);
        getrusage(RUSAGE_THREAD, &p->r_load);
        break;
    default:
        break;
    }
}

static bool probe_device(void *opaque, IncomingDeviceStateKind kind,
                         const uint8_t *data, size_t len, MfError *err)
{
    Probe *p = opaque;

    (void)data;
    (void)len;
    (void)err;
    if (kind == INCOMING_DEVSTATE_CHECKPOINT) {
        p->t_flushed = now_ns();
        p->m_flushed = cpu_ns(CLOCK_THREAD_CPUTIME_ID);
        getrusage(RUSAGE_THREAD, &p->r_flushed);
    }
    return true;
}

static void probe_done(void *opaque, const IncomingCheckpoint *cp)
{
    Probe *p = opaque;
    uint64_t t = now_ns();
    uint64_t ls = __atomic_load_n(&p->last_sync, __ATOMIC_SEQ_CST);
    Sample s;

    memset(&s, 0, sizeof(s));
    if (p->multifd && ls > p->t_ram && ls <= p->t_dev) {
        s.recv = (ls - p->t_ram) / 1e9;
        s.sync = (p->t_dev - ls) / 1e9;
    } else {
        s.recv = (p->t_dev - p->t_ram) / 1e9;
    }
    s.dev = ((p->t_load - p->t_dev) + (t - p->t_flushed)) / 1e9;
    s.flush = (p->t_flushed - p->t_load) / 1e9;
    s.total = (t - p->t_ram) / 1e9;
    s.pages = cp->flush.pages;
    s.cpu = (cpu_ns(CLOCK_PROCESS_CPUTIME_ID) - p->c_ram) / 1e9;
    s.main_cpu = (cpu_ns(CLOCK_THREAD_CPUTIME_ID) - p->m_ram) / 1e9;
    s.flush_cpu = (p->m_flushed - p->m_load) / 1e9;
    s.flush_minflt = p->r_flushed.ru_minflt - p->r_load.ru_minflt;
    s.flush_sys = tv_s(&p->r_flushed.ru_stime) - tv_s(&p->r_load.ru_stime);
    s.flush_nivcsw = p->r_flushed.ru_nivcsw - p->r_load.ru_nivcsw;
    samples_push(p->out, &s);
}

static void probe_trace(void *opaque, const RecvEvent *ev)
{
    Probe *p = opaque;

    if (ev->kind == RECV_EV_SYNC) {
        __atomic_store_n(&p->last_sync, now_ns(), __ATOMIC_SEQ_CST);
    }
}

/* Connected loopback TCP pairs: cli[i] -> srv[i]. */
static void tcp_pairs(int n, int *cli, int *srv)
{
    struct sockaddr_in a;
    socklen_t al = sizeof(a);
    int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), i, one = 1;

    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) < 0 ||
        listen(l, 16) < 0 || getsockname(l, (struct sockaddr *)&a, &al) < 0) {
        die("listen");
    }
    for (i = 0; i < n; i++) {
        cli[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (cli[i] < 0 ||
            connect(cli[i], (struct sockaddr *)&a, sizeof(a)) < 0) {
            die("connect");
        }
        srv[i] = accept(l, NULL, NULL);
        if (srv[i] < 0) {
            die("accept");
        }
        setsockopt(cli[i], IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        setsockopt(srv[i], IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }
    close(l);
}

/* Raw sink: move @len bytes of @data from @fd_out to @fd_in. */
typedef struct SinkJob {
    pthread_t ts, tr;
    int fd_out, fd_in;
    const uint8_t *data;
    size_t len;
    uint8_t *scratch;
} SinkJob;

static void *sink_send(void *opaque)
{
    SinkJob *j = opaque;
    size_t off = 0;

    while (off < j->len) {
        ssize_t n = send(j->fd_out, j->data + off, j->len - off, MSG_NOSIGNAL);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            die("sink send");
        }
        off += (size_t)n;
    }
    return NULL;
}

static void *sink_recv(void *opaque)
{
    SinkJob *j = opaque;
    size_t off = 0;

    while (off < j->len) {
        size_t want = j->len - off < (1u << 20) ? j->len - off : (1u << 20);
        ssize_t n = recv(j->fd_in, j->scratch, want, 0);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            die("sink recv");
        }
        off += (size_t)n;
    }
    return NULL;
}

/*
 * Baselines for every checkpoint of @p (stage k + 1 -> samples[first +
 * k]): the same bytes per connection through a raw sink, and memcpy of
 * the flushed pages between two pre-faulted buffers.
 */
static void baselines(const Primary *p, Samples *s, size_t first, uint8_t *src,
                      uint8_t *dst, uint64_t guest_bytes)
{
    size_t nconn = primary_nconns(p), k, i;
    int cli[MAX_CONN], srv[MAX_CONN];
    SinkJob job[MAX_CONN];

    tcp_pairs((int)nconn, cli, srv);
    for (i = 0; i < nconn; i++) {
        job[i].scratch = malloc(1u << 20);
        if (!job[i].scratch) {
            die("malloc");
        }
    }
    for (k = 0; first + k < s->n && k + 1 < primary_nstages(p); k++) {
        const PrimaryStage *st = primary_stage(p, k + 1);
        Sample *x = &s->v[first + k];
        uint64_t t0, bytes = 0, pages;

        t0 = now_ns();
        for (i = 0; i < nconn; i++) {
            job[i].fd_out = cli[i];
            job[i].fd_in = srv[i];
            job[i].data = primary_conn(p, i)->buf.data + st->start[i];
            job[i].len = st->end[i] - st->start[i];
            bytes += job[i].len;
            pthread_create(&job[i].ts, NULL, sink_send, &job[i]);
            pthread_create(&job[i].tr, NULL, sink_recv, &job[i]);
        }
        for (i = 0; i < nconn; i++) {
            pthread_join(job[i].tr, NULL);
            pthread_join(job[i].ts, NULL);
        }
        x->sink = (now_ns() - t0) / 1e9;
        x->bytes = bytes;
        pages = x->pages < guest_bytes / PS ? x->pages : guest_bytes / PS;
        t0 = now_ns();
        memcpy(dst, src, pages * PS);
        x->copy = (now_ns() - t0) / 1e9;
    }
    for (i = 0; i < nconn; i++) {
        free(job[i].scratch);
        close(cli[i]);
        close(srv[i]);
    }
}

/* One session: precopy then @par->checkpoints checkpoints. */
static bool run_session(const Params *par, bool load, uint32_t channels,
                        WireCompression comp, uint64_t seed, Samples *out,
                        uint8_t *src, uint8_t *dst)
{
    MemImage *img = mem_image_new(PS);
    PrimaryConfig cfg;
    Primary *p;
    WorkloadSequential seq;
    SupRng rng;
    SenderConn conns[MAX_CONN];
    SenderOptions so = { 0 };
    SenderResult res[MAX_CONN];
    SecondaryOptions opts = { 0 };
    SecondaryBlock blk = { "pc.ram", par->guest_bytes, NULL };
    Secondary *sec;
    Sender *snd;
    Probe probe = { 0 };
    IncomingOutcome outcome;
    MfError err;
    int cli[MAX_CONN], srv[MAX_CONN];
    uint64_t per_cp =
        (uint64_t)(par->rate_mbps * 1e6 * par->interval_ms / 1000.0);
    size_t first = out->n, i, n;
    uint32_t k;
    bool ok;

    mem_image_add(img, "pc.ram", par->guest_bytes);
    primary_config_init(&cfg, PRIMARY_QEMU_9, channels, comp);
    cfg.colo = true;
    cfg.keep_images = false;
    cfg.device_section = true; /* as QEMU: a device section, EOF, vmdesc */
    cfg.vmdesc = true;
    cfg.device_state_size = 13429;
    cfg.seed = seed;
    p = primary_new(&cfg, img);
    mem_image_free(img);
    primary_precopy(p);
    workload_sequential_init(&seq, 0, seed);
    sup_rng_seed(&rng, seed);
    for (k = 0; k < par->checkpoints; k++) {
        if (load) {
            workload_sequential_run(&seq, primary_memory(p), per_cp,
                                    primary_dirty(p));
        } else {
            workload_random(primary_memory(p), &rng, par->idle_pages, 0,
                            primary_dirty(p));
        }
        primary_checkpoint(p);
    }

    n = primary_nconns(p);
    tcp_pairs((int)n, cli, srv);
    for (i = 0; i < n; i++) {
        conns[i].fd = cli[i];
        conns[i].stop_at = UINT64_MAX;
        conns[i].at_end = SENDER_SHUTDOWN;
    }
    so.pace = true;
    so.reply_timeout_ms = 30000;
    snd = sender_start(p, conns, &so);

    mf_error_clear(&err);
    probe.multifd = channels > 0;
    probe.out = out;
    opts.page_size = PS;
    opts.blocks = &blk;
    opts.nblocks = 1;
    opts.colo = true;
    opts.multifd.channels = channels;
    opts.multifd.compression = comp;
    opts.multifd.driver = RECV_DRIVER_THREADED;
    memcpy(opts.multifd.uuid, cfg.uuid, sizeof(cfg.uuid));
    opts.multifd.expect_uuid = true;
    opts.sync = INCOMING_SYNC_AUTO;
    opts.hooks.opaque = &probe;
    opts.hooks.stage = probe_stage;
    opts.hooks.load_device_state = probe_device;
    opts.hooks.checkpoint_done = probe_done;
    sec = secondary_build(&opts, &err);
    ok = sec != NULL;
    if (ok && sec->engine) {
        recv_engine_set_trace(sec->engine, probe_trace, &probe);
    }
    for (i = 1; ok && i < n; i++) {
        Chan *c = chan_fd_new(srv[i], true, "multifd", &err);

        srv[i] = -1;
        ok = c && secondary_add_channel(sec, c, &err);
    }
    if (ok) {
        Chan *m = chan_fd_new(srv[0], true, "main", &err);
        Chan *r = m ? chan_fd_new(srv[0], false, "main", &err) : NULL;

        srv[0] = -1;
        if (!r) {
            chan_free(m);
            ok = false;
        } else {
            ok = secondary_attach_main(sec, m, r, &err);
        }
    }
    ok = ok && incoming_run(sec->in, &outcome, &err) &&
         outcome == INCOMING_FAILED_OVER;
    if (!ok) {
        char line[300];

        mf_error_format(&err, line, sizeof(line));
        fprintf(stderr, "session %s ch %u %s: %s\n", load ? "load" : "idle",
                channels, wire_compression_name(comp), line);
        sender_abort(snd);
    }
    sender_join(snd, res);
    ok = ok && res[0].replies_ok;
    secondary_free(sec);
    for (i = 0; i < n; i++) {
        close(cli[i]);
        if (srv[i] >= 0) {
            close(srv[i]);
        }
    }
    if (ok && out->n - first != par->checkpoints) {
        fprintf(stderr, "%zu checkpoints measured, %u sent\n", out->n - first,
                par->checkpoints);
        ok = false;
    }
    if (ok) {
        baselines(p, out, first, src, dst, par->guest_bytes);
    }
    for (i = first; i < out->n; i++) {
        out->v[i].session = (uint32_t)seed - 1;
    }
    primary_free(p);
    return ok;
}

/*
 * Part b: the same session against a fresh real QEMU secondary; the
 * primary's two times go to recv and flush (colo-qemu.h).
 */
static bool run_qemu_session(const Params *par, bool load, uint32_t channels,
                             WireCompression comp, uint64_t seed, Samples *out,
                             uint8_t *src, uint8_t *dst)
{
#ifdef MFCOLO_BENCH_QEMU
    ColoQemuConfig cfg = { 0 };
    ColoQemuResult res;
    ColoQemuSample *v = calloc(par->checkpoints, sizeof(*v));
    size_t first = out->n;
    char why[300];
    bool ok;
    uint32_t k;

    if (!v) {
        die("calloc");
    }
    cfg.binary = par->qemu;
    cfg.data_root = par->data_root;
    cfg.channels = channels;
    cfg.comp = comp;
    cfg.checkpoints = par->checkpoints;
    cfg.seed = seed;
    cfg.load_bytes =
        load ? (uint64_t)(par->rate_mbps * 1e6 * par->interval_ms / 1000.0) : 0;
    cfg.idle_pages = par->idle_pages;
    cfg.reply_ms = 10000;
    ok = colo_qemu_session(&cfg, v, &res, why, sizeof(why));
    for (k = 0; k < res.measured; k++) {
        Sample s = { 0 };

        s.recv = v[k].received;
        s.flush = v[k].loaded;
        s.total = v[k].total;
        s.pages = v[k].pages;
        s.session = (uint32_t)seed - 1;
        samples_push(out, &s);
    }
    if (!ok) {
        fprintf(stderr, "session %s ch %u %s: %s\n", load ? "load" : "idle",
                channels, wire_compression_name(comp), why);
    } else if (!res.memory_equal) {
        fprintf(stderr,
                "session %s ch %u %s: after the last LOADED %llu pages of "
                "pc.ram differ from the primary's\n",
                load ? "load" : "idle", channels, wire_compression_name(comp),
                (unsigned long long)res.pages_differ);
        ok = false;
    }
    if (ok) {
        baselines(res.primary, out, first, src, dst, par->guest_bytes);
    }
    primary_free(res.primary);
    free(v);
    return ok;
#else
    (void)par, (void)load, (void)channels, (void)comp, (void)seed;
    (void)out, (void)src, (void)dst;
    return false;
#endif
}

/* Is the run (compression @comp, @load, @channels) selected by --only? */
static bool selected(const Params *par, WireCompression comp, bool load,
                     uint32_t channels)
{
    char t[32];
    bool kind[3] = { false, false, false }, hit[3] = { false, false, false };
    int i;

    if (channels == 0) {
        snprintf(t, sizeof(t), "plain");
    } else {
        snprintf(t, sizeof(t), "multifd-%u", channels);
    }
    for (i = 0; i < par->nonly; i++) {
        const char *o = par->only[i];
        int c = !strcmp(o, "none") || !strcmp(o, "zstd")   ? 1
                : !strcmp(o, "idle") || !strcmp(o, "load") ? 2
                                                           : 0;

        kind[c] = true;
        hit[c] = hit[c] || !strcmp(o, c == 0   ? t
                                      : c == 1 ? wire_compression_name(comp)
                                      : load   ? "load"
                                               : "idle");
    }
    return (!kind[0] || hit[0]) && (!kind[1] || hit[1]) && (!kind[2] || hit[2]);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

typedef struct Figures {
    double mean, p50, p99, max;
} Figures;

/* Of the double at byte offset @field of each sample (nearest rank). */
/* "%.2f" of @num / @den, or "-" when @den is not a positive figure. */
static const char *ratio_text(double num, double den, char *buf, size_t size)
{
    if (den > 0) {
        snprintf(buf, size, "%.2f", num / den);
    } else {
        snprintf(buf, size, "-");
    }
    return buf;
}

static Figures figures(const Samples *s, size_t field)
{
    Figures f = { 0, 0, 0, 0 };
    double *v = malloc((s->n ? s->n : 1) * sizeof(double));
    size_t i;

    if (!v) {
        die("malloc");
    }
    for (i = 0; i < s->n; i++) {
        v[i] = *(const double *)((const char *)&s->v[i] + field);
        f.mean += v[i];
    }
    if (s->n) {
        qsort(v, s->n, sizeof(double), cmp_double);
        f.mean /= s->n;
        f.p50 = v[(s->n + 1) / 2 - 1];
        f.p99 = v[(99 * s->n + 99) / 100 - 1];
        f.max = v[s->n - 1];
    }
    free(v);
    return f;
}

#define FIELD(name) offsetof(Sample, name)

static const char *transport_name(uint32_t ch, char *buf, size_t len)
{
    if (ch == 0) {
        snprintf(buf, len, "plain");
    } else {
        snprintf(buf, len, "multifd-%u", ch);
    }
    return buf;
}

/* The first line of @path into @buf ("?" if unreadable). */
static void read_line(const char *path, char *buf, size_t len)
{
    FILE *f = fopen(path, "r");

    snprintf(buf, len, "?");
    if (f) {
        if (fgets(buf, (int)len, f)) {
            buf[strcspn(buf, "\n")] = 0;
        }
        fclose(f);
    }
}

static FILE *out_open(const char *dir, const char *name)
{
    char path[4096];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "w");
    if (!f) {
        perror(path);
    }
    return f;
}

/* --out: samples.tsv and summary.tsv of every run measured. */
static bool write_out(const char *dir, Samples all[2][2][NTRANSPORTS],
                      const WireCompression *comps)
{
    FILE *fs = out_open(dir, "samples.tsv");
    FILE *fm = out_open(dir, "summary.tsv");
    size_t ci, w, t, i;
    char name[32];
    bool ok;

    if (fs) {
        fprintf(fs, "comp\trun\ttransport\tchannels\tsession\tindex\t"
                    "total_ms\trecv_ms\tsync_ms\tflush_ms\tdevice_ms\t"
                    "sink_ms\tmemcpy_ms\tpages\tbytes\tcpu_ms\t"
                    "main_cpu_ms\tflush_cpu_ms\tflush_minflt\t"
                    "flush_sys_ms\tflush_nivcsw\n");
    }
    if (fm) {
        fprintf(fm, "comp\trun\ttransport\tchannels\tn\tmean_ms\tp50_ms\t"
                    "p99_ms\tmax_ms\trecv_ms\tsync_ms\tflush_ms\t"
                    "device_ms\tsink_ms\tmemcpy_ms\tmb_per_cp\t"
                    "ratio_mean\tratio_p99\trecv_sink\tflush_memcpy\t"
                    "cpu_ms\tmain_cpu_ms\tflush_cpu_ms\n");
    }
    for (ci = 0; ci < 2 && fs && fm; ci++) {
        for (w = 0; w < 2; w++) {
            Figures base = figures(&all[ci][w][0], FIELD(total));

            for (t = 0; t < NTRANSPORTS; t++) {
                const Samples *x = &all[ci][w][t];
                const char *cn = wire_compression_name(comps[ci]);
                const char *rn = w ? "load" : "idle";
                Figures f = figures(x, FIELD(total));
                double sink = figures(x, FIELD(sink)).mean;
                double copy = figures(x, FIELD(copy)).mean;
                double mb = 0;

                if (!x->n) {
                    continue;
                }
                transport_name(transports[t], name, sizeof(name));
                for (i = 0; i < x->n; i++) {
                    const Sample *v = &x->v[i];

                    mb += v->bytes / 1e6;
                    fprintf(fs,
                            "%s\t%s\t%s\t%u\t%u\t%zu\t%.4f\t%.4f\t%.4f\t"
                            "%.4f\t%.4f\t%.4f\t%.4f\t%llu\t%llu\t%.4f\t"
                            "%.4f\t%.4f\t%ld\t%.4f\t%ld\n",
                            cn, rn, name, transports[t], v->session, i,
                            v->total * 1e3, v->recv * 1e3, v->sync * 1e3,
                            v->flush * 1e3, v->dev * 1e3, v->sink * 1e3,
                            v->copy * 1e3, (unsigned long long)v->pages,
                            (unsigned long long)v->bytes, v->cpu * 1e3,
                            v->main_cpu * 1e3, v->flush_cpu * 1e3,
                            v->flush_minflt, v->flush_sys * 1e3,
                            v->flush_nivcsw);
                }
                fprintf(fm,
                        "%s\t%s\t%s\t%u\t%zu\t%.4f\t%.4f\t%.4f\t%.4f\t"
                        "%.4f\t%.4f\t%.4f\t%.4f\t%.4f\t%.4f\t%.4f\t%.4f\t"
                        "%.4f\t%.4f\t%.4f\t%.4f\t%.4f\t%.4f\n",
                        cn, rn, name, transports[t], x->n, f.mean * 1e3,
                        f.p50 * 1e3, f.p99 * 1e3, f.max * 1e3,
                        figures(x, FIELD(recv)).mean * 1e3,
                        figures(x, FIELD(sync)).mean * 1e3,
                        figures(x, FIELD(flush)).mean * 1e3,
                        figures(x, FIELD(dev)).mean * 1e3, sink * 1e3,
                        copy * 1e3, mb / x->n,
                        base.mean > 0 ? f.mean / base.mean : 0,
                        base.p99 > 0 ? f.p99 / base.p99 : 0,
                        sink > 0 ? figures(x, FIELD(recv)).mean / sink : 0,
                        copy > 0 ? figures(x, FIELD(flush)).mean / copy : 0,
                        figures(x, FIELD(cpu)).mean * 1e3,
                        figures(x, FIELD(main_cpu)).mean * 1e3,
                        figures(x, FIELD(flush_cpu)).mean * 1e3);
            }
        }
    }
    ok = fs && fm && !ferror(fs) && !ferror(fm);
    if (fs && fclose(fs) != 0) {
        ok = false;
    }
    if (fm && fclose(fm) != 0) {
        ok = false;
    }
    return ok;
}

static void usage(const char *argv0)
{
    fprintf(stderr,
            "usage: %s [--short] [--checkpoints N] [--sessions S] "
            "[--guest-mib M] [--rate MBPS] [--interval-ms I] [--out DIR] "
            "[--idle-pages P] [--qemu BIN] [--only SEL]...\n",
            argv0);
    exit(2);
}

int main(int argc, char **argv)
{
    static const WireCompression comps[] = { WIRE_COMP_NONE, WIRE_COMP_ZSTD };
    Params par = { 50, 4, 64ull << 20, 20, 600, 8, NULL, NULL, { NULL }, 0 };
    Samples all[2][2][NTRANSPORTS];
    bool is_short = false;
    const char *out_dir = NULL;
    FILE *meta = NULL;
    char load0[128], load1[128];
    uint64_t t_start;
    uint8_t *src, *dst;
    int failures = 0, a;
    size_t ci, w, t;
    uint32_t s;
    char name[32];

    for (a = 1; a < argc; a++) {
        const char *v = a + 1 < argc ? argv[a + 1] : NULL;

        if (!strcmp(argv[a], "--short")) {
            is_short = true;
            par.checkpoints = 30;
            par.sessions = 1;
            par.guest_bytes = 16ull << 20;
            par.rate_mbps = 40;
            par.interval_ms = 100;
        } else if (!v) {
            usage(argv[0]);
        } else if (!strcmp(argv[a], "--checkpoints")) {
            par.checkpoints = (uint32_t)atoi(v), a++;
        } else if (!strcmp(argv[a], "--sessions")) {
            par.sessions = (uint32_t)atoi(v), a++;
        } else if (!strcmp(argv[a], "--guest-mib")) {
            par.guest_bytes = (uint64_t)atoi(v) << 20, a++;
        } else if (!strcmp(argv[a], "--rate")) {
            par.rate_mbps = atof(v), a++;
        } else if (!strcmp(argv[a], "--interval-ms")) {
            par.interval_ms = (uint32_t)atoi(v), a++;
        } else if (!strcmp(argv[a], "--idle-pages")) {
            par.idle_pages = (uint32_t)atoi(v), a++;
        } else if (!strcmp(argv[a], "--out")) {
            out_dir = v, a++;
        } else if (!strcmp(argv[a], "--qemu")) {
#ifndef MFCOLO_BENCH_QEMU
            fprintf(stderr,
                    "%s: --qemu: built without the qtest seam "
                    "(jansson)\n",
                    argv[0]);
            return 2;
#endif
            par.qemu = v, a++;
        } else if (!strcmp(argv[a], "--only") && par.nonly < 16) {
            par.only[par.nonly++] = v, a++;
        } else {
            usage(argv[0]);
        }
    }
    if (par.checkpoints == 0 || par.sessions == 0 || par.guest_bytes < PS) {
        usage(argv[0]);
    }
    if (par.qemu) {
        double cp = par.rate_mbps * 1e6 * par.interval_ms / 1000.0;

        par.guest_bytes = COLO_QEMU_GUEST_BYTES;
        /* pc.ram is a shared file mapping in the seam's temporary
         * folder: on a disk file system the flush's writes into it cost
         * page-cache work a real secondary's RAM does not have */
        if (!getenv("TMPDIR") && access("/dev/shm", W_OK) == 0) {
            setenv("TMPDIR", "/dev/shm", 1);
        }
        par.data_root = getenv("MFCOLO_DATA_ROOT") ? getenv("MFCOLO_DATA_ROOT")
                                                   : MFCOLO_BENCH_DATA_ROOT;
        if (cp > (double)COLO_QEMU_WIN_BYTES) {
            fprintf(stderr,
                    "%s: --qemu: %.0f bytes per checkpoint do not fit the "
                    "guest's %llu-byte window\n",
                    argv[0], cp, (unsigned long long)COLO_QEMU_WIN_BYTES);
            return 2;
        }
    }
    src = malloc(par.guest_bytes);
    dst = malloc(par.guest_bytes);
    if (!src || !dst) {
        die("malloc");
    }
    memset(src, 0x5a, par.guest_bytes);
    memset(dst, 0, par.guest_bytes);
    memset(all, 0, sizeof(all));
    printf("colo-checkpoint%s: loopback TCP, %ld CPUs, guest %llu MiB, "
           "%u x %u checkpoints per run, interval %u ms (simulated), "
           "load %.0f MB/s = %.2f MB per checkpoint, idle %u pages\n",
           is_short ? " --short" : "", sysconf(_SC_NPROCESSORS_ONLN),
           (unsigned long long)(par.guest_bytes >> 20), par.sessions,
           par.checkpoints, par.interval_ms, par.rate_mbps,
           par.rate_mbps * par.interval_ms / 1000.0, par.idle_pages);
    if (par.qemu) {
        printf("secondary: real QEMU %s (TCG), fresh per run; recv = "
               "VMSTATE_SEND..RECEIVED, flush = RECEIVED..LOADED, "
               "timed on the primary; %s; pc.ram in %s\n",
               par.qemu,
               getenv("MFCOLO_BENCH_DELAYED_ACK") ? "delayed ACK" : "quick ACK",
               getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    }
    fflush(stdout);
    read_line("/proc/loadavg", load0, sizeof(load0));
    t_start = now_ns();
    if (out_dir) {
        if (mkdir(out_dir, 0777) < 0 && errno != EEXIST) {
            die(out_dir);
        }
        meta = out_open(out_dir, "meta.txt");
        if (!meta) {
            return 1;
        }
        fprintf(meta, "command:");
        for (a = 0; a < argc; a++) {
            fprintf(meta, " %s", argv[a]);
        }
        fprintf(meta,
                "\nshort: %d\ncpus: %ld\nguest_mib: %llu\nsessions: %u\n"
                "checkpoints_per_session: %u\ninterval_ms: %u\n"
                "rate_mbps: %.1f\nidle_pages: %u\noptimized: %s\n"
                "loadavg_before: %s\n",
                is_short, sysconf(_SC_NPROCESSORS_ONLN),
                (unsigned long long)(par.guest_bytes >> 20), par.sessions,
                par.checkpoints, par.interval_ms, par.rate_mbps, par.idle_pages,
#ifdef __OPTIMIZE__
                "yes",
#else
                "no",
#endif
                load0);
        if (par.qemu) {
            fprintf(meta, "secondary: real QEMU %s\n", par.qemu);
        }
    }

    /* Sessions interleave the transports so drift hits all alike. */
    for (ci = 0; ci < 2; ci++) {
        if (!codec_supported(comps[ci])) {
            continue;
        }
        for (s = 0; s < par.sessions; s++) {
            for (w = 0; w < 2; w++) {
                for (t = 0; t < NTRANSPORTS; t++) {
                    if (!selected(&par, comps[ci], w == 1, transports[t])) {
                        continue;
                    }
                    if (!(par.qemu ? run_qemu_session : run_session)(
                            &par, w == 1, transports[t], comps[ci], 1 + s,
                            &all[ci][w][t], src, dst)) {
                        failures++;
                    }
                }
            }
        }
    }

    if (!is_short) {
        printf("\n%-4s %-4s %-10s %5s | %8s %8s %8s %8s | %7s %7s %7s "
               "%7s | %6s\n",
               "comp", "run", "transport", "n", "mean ms", "p50", "p99", "max",
               "recv", "sync", "flush", "device", "MB/cp");
    }
    for (ci = 0; ci < 2 && !is_short; ci++) {
        for (w = 0; w < 2; w++) {
            for (t = 0; t < NTRANSPORTS; t++) {
                const Samples *x = &all[ci][w][t];
                Figures f = figures(x, FIELD(total));
                double mb = 0;

                if (!selected(&par, comps[ci], w == 1, transports[t])) {
                    continue;
                }
                size_t i;

                for (i = 0; i < x->n; i++) {
                    mb += x->v[i].bytes / 1e6;
                }
                printf("%-4s %-4s %-10s %5zu | %8.2f %8.2f %8.2f %8.2f | "
                       "%7.2f %7.2f %7.2f %7.2f | %6.2f\n",
                       wire_compression_name(comps[ci]), w ? "load" : "idle",
                       transport_name(transports[t], name, sizeof(name)), x->n,
                       f.mean * 1e3, f.p50 * 1e3, f.p99 * 1e3, f.max * 1e3,
                       figures(x, FIELD(recv)).mean * 1e3,
                       figures(x, FIELD(sync)).mean * 1e3,
                       figures(x, FIELD(flush)).mean * 1e3,
                       figures(x, FIELD(dev)).mean * 1e3, x->n ? mb / x->n : 0);
            }
        }
    }

    printf("\nratios to plain in the same run (mean, p99 of total); "
           "recv/sink = receive / raw socket sink, flush/memcpy\n");
    for (ci = 0; ci < 2; ci++) {
        for (w = 0; w < 2; w++) {
            Figures base = figures(&all[ci][w][0], FIELD(total));

            for (t = 0; t < NTRANSPORTS; t++) {
                const Samples *x = &all[ci][w][t];
                Figures f = figures(x, FIELD(total));
                double rs = figures(x, FIELD(sink)).mean;
                double cp = figures(x, FIELD(copy)).mean;
                char r_mean[16], r_p99[16], r_sink[16], r_copy[16];

                if (!selected(&par, comps[ci], w == 1, transports[t])) {
                    continue;
                }

                /* No plain (or no sink, no memcpy) in this run: "-", not
                 * a ratio of 0 that reads like a measurement. */
                printf("%s %s mean %s p99 %s comp %s recv/sink %s "
                       "flush/memcpy %s\n",
                       w ? "load" : "idle",
                       transport_name(transports[t], name, sizeof(name)),
                       ratio_text(f.mean, base.mean, r_mean, sizeof(r_mean)),
                       ratio_text(f.p99, base.p99, r_p99, sizeof(r_p99)),
                       wire_compression_name(comps[ci]),
                       ratio_text(figures(x, FIELD(recv)).mean, rs, r_sink,
                                  sizeof(r_sink)),
                       ratio_text(figures(x, FIELD(flush)).mean, cp, r_copy,
                                  sizeof(r_copy)));
            }
        }
    }
    if (meta) {
        read_line("/proc/loadavg", load1, sizeof(load1));
        fprintf(meta, "loadavg_after: %s\nwall_s: %.0f\nfailures: %d\n", load1,
                (now_ns() - t_start) / 1e9, failures);
        if (!write_out(out_dir, all, comps) || fclose(meta) != 0) {
            fprintf(stderr, "%s: could not write %s\n", argv[0], out_dir);
            failures++;
        }
    }
    for (ci = 0; ci < 2; ci++) {
        for (w = 0; w < 2; w++) {
            for (t = 0; t < NTRANSPORTS; t++) {
                free(all[ci][w][t].v);
            }
        }
    }
    free(src);
    free(dst);
    if (failures) {
        fprintf(stderr, "%d sessions failed\n", failures);
    }
    return failures ? 1 : 0;
}
