/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Receive throughput over loopback TCP, for compression none and zstd
 * and 1, 2 and 4 multifd channels.  In the same run, three receivers take
 * the same bytes from the same senders:
 *   sink    plain recv() into a scratch buffer (the ceiling: kernel copy)
 *   chan    chan_read_full/chan_readv_full + codec, pages placed in
 *           memory, one thread per channel (what a receive loop costs)
 *   engine  the recv engine (core/recv/recv.h, threaded driver) with
 *           full validation against a RAM table
 * and the table gives MB/s of page data (normal_pages x 4096 per second)
 * and each receiver's ratio to the sink.  Senders write pre-built
 * streams (handshake + 1344-byte headers + payloads, zstd compressed as
 * QEMU does: one stream per channel, level 1, ZSTD_e_flush per packet).
 *
 * usage: bench-recv [MIB_PER_CHANNEL (default 64)] [REPEATS (default 3)]
 * Best of REPEATS per cell.  Not a test: numbers depend on the machine.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "chan/chan.h"
#include "codec/codec.h"
#include "qemu-compress.h"
#include "ram/ram.h"
#include "recv/recv.h"
#include "wire/multifd.h"

#define PS 4096
#define NPP 128                 /* pages per packet */
#define BLOCK_BYTES (64u << 20) /* guest block the pages land in */
#define MAX_CH 4

typedef struct Stream {
    uint8_t *data;
    size_t len;
    uint64_t page_bytes;
} Stream;

typedef enum Mode {
    MODE_SINK,
    MODE_CHAN,
    MODE_ENGINE,
    MODE_COUNT
} Mode;
static const char *mode_name[MODE_COUNT] = { "sink", "chan+codec", "engine" };

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
    perror(what);
    exit(1);
}

static void append(Stream *s, size_t *cap, const void *p, size_t n)
{
    if (s->len + n > *cap) {
        while (s->len + n > *cap) {
            *cap = *cap ? *cap * 2 : (1u << 20);
        }
        s->data = realloc(s->data, *cap);
        if (!s->data) {
            die("realloc");
        }
    }
    memcpy(s->data + s->len, p, n);
    s->len += n;
}

/* Page contents: 1 in 4 random (incompressible), the rest patterned. */
static void fill_page(uint8_t *p, uint64_t n, uint64_t *rng)
{
    uint32_t k;

    if (n % 4 == 0) {
        for (k = 0; k < PS; k += 8) {
            *rng ^= *rng << 13;
            *rng ^= *rng >> 7;
            *rng ^= *rng << 17;
            memcpy(p + k, rng, 8);
        }
        return;
    }
    snprintf((char *)p, PS, "page %llu of the bench guest ",
             (unsigned long long)n);
    for (k = 40; k < PS; k++) {
        p[k] = (uint8_t)(k * (n % 7 + 1));
    }
}

static Stream build_stream(WireCompression comp, uint8_t id, uint32_t packets)
{
    uint8_t hdr[2048], hs[WIRE_HANDSHAKE_SIZE];
    uint64_t offsets[NPP], rng = 0x1234567 + id;
    uint8_t *pages = malloc((size_t)NPP * PS);
    const uint8_t *pp[NPP];
    QemuCompressor *qc = qemu_compressor_new(comp, PS, 1);
    WireHandshake h = { .magic = WIRE_MULTIFD_MAGIC,
                        .version = WIRE_MULTIFD_VERSION,
                        .id = id };
    Stream s = { NULL, 0, 0 };
    size_t cap = 0, plen;
    const uint8_t *payload;
    uint32_t p, i;

    if (!pages || !qc) {
        die("build_stream");
    }
    wire_handshake_encode(&h, hs);
    append(&s, &cap, hs, sizeof(hs));
    for (p = 0; p < packets; p++) {
        WirePacket pkt;

        memset(&pkt, 0, sizeof(pkt));
        for (i = 0; i < NPP; i++) {
            uint64_t n = ((uint64_t)id * packets + p) * NPP + i;

            offsets[i] = (n % (BLOCK_BYTES / PS)) * PS;
            pp[i] = pages + (size_t)i * PS;
            fill_page(pages + (size_t)i * PS, n, &rng);
        }
        payload = qemu_compressor_packet(qc, pp, NPP, &plen);
        if (!payload) {
            die("compress");
        }
        pkt.flags = comp;
        pkt.pages_alloc = NPP;
        pkt.normal_pages = NPP;
        pkt.next_packet_size = (uint32_t)plen;
        pkt.packet_num = p;
        snprintf(pkt.ramblock, sizeof(pkt.ramblock), "pc.ram");
        pkt.offsets = offsets;
        wire_packet_encode(&pkt, PS, NULL, hdr);
        append(&s, &cap, hdr, wire_packet_size(PS));
        append(&s, &cap, payload, plen);
        s.page_bytes += (uint64_t)NPP * PS;
    }
    qemu_compressor_free(qc);
    free(pages);
    return s;
}

/* Sender: write the whole stream, then half-close. */
typedef struct Send {
    pthread_t t;
    int fd;
    const Stream *s;
} Send;

static void *send_main(void *opaque)
{
    Send *x = opaque;
    size_t off = 0;

    while (off < x->s->len) {
        ssize_t n =
            send(x->fd, x->s->data + off, x->s->len - off, MSG_NOSIGNAL);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            break;
        }
        off += (size_t)n;
    }
    shutdown(x->fd, SHUT_WR);
    return NULL;
}

/* Receivers of the sink and chan modes, one thread per channel. */
typedef struct Recv {
    pthread_t t;
    int fd;
    Mode mode;
    WireCompression comp;
    uint8_t *host;
    uint64_t bytes;
    bool ok;
} Recv;

static void *sink_main(Recv *r)
{
    uint8_t *buf = malloc(1 << 20);
    ssize_t n;

    for (;;) {
        n = recv(r->fd, buf, 1 << 20, 0);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            break;
        }
        r->bytes += (uint64_t)n;
    }
    r->ok = n == 0;
    free(buf);
    return NULL;
}

static void *chan_main(Recv *r)
{
    uint8_t hs[WIRE_HANDSHAKE_SIZE], hdr[2048];
    uint8_t *payload = malloc(codec_max_payload());
    uint64_t offsets[NPP];
    uint8_t *pages[NPP];
    struct iovec iov[NPP];
    MfError err;
    Chan *c;
    Codec *codec;
    WirePacket pkt;
    uint32_t i;
    int rc;

    mf_error_clear(&err);
    c = chan_fd_new(r->fd, false, "bench", &err);
    codec = codec_new(r->comp, PS, &err);
    if (!c || !codec || !payload ||
        chan_read_full(c, hs, sizeof(hs), "handshake", &err) != 1) {
        goto out;
    }
    for (;;) {
        rc = chan_read_full(c, hdr, wire_packet_size(PS), "packet", &err);
        if (rc <= 0) {
            r->ok = rc == 0;
            break;
        }
        pkt.offsets = offsets;
        if (!wire_packet_decode(hdr, PS, &pkt, &err) ||
            !codec_check_packet(codec, &pkt, &err)) {
            break;
        }
        for (i = 0; i < pkt.normal_pages; i++) {
            pages[i] = r->host + offsets[i] % BLOCK_BYTES;
            iov[i].iov_base = pages[i];
            iov[i].iov_len = PS;
        }
        if (codec_is_raw(codec)) {
            rc = chan_readv_full(c, iov, (int)pkt.normal_pages, "pages", &err);
        } else {
            rc = chan_read_full(c, payload, codec_payload_len(codec, &pkt),
                                "payload", &err);
            if (rc == 1 && !codec_decompress(codec, payload,
                                             codec_payload_len(codec, &pkt),
                                             pages, pkt.normal_pages, &err)) {
                rc = -1;
            }
        }
        if (rc != 1) {
            break;
        }
        r->bytes += (uint64_t)pkt.normal_pages * PS;
    }
out:
    if (mf_error_is_set(&err)) {
        char line[300];

        mf_error_format(&err, line, sizeof(line));
        fprintf(stderr, "chan receiver: %s\n", line);
    }
    codec_free(codec);
    chan_free(c);
    free(payload);
    return NULL;
}

static void *recv_main(void *opaque)
{
    Recv *r = opaque;

    return r->mode == MODE_SINK ? sink_main(r) : chan_main(r);
}

/* Connected loopback TCP pairs: cli[i] -> srv[i]. */
static void tcp_pairs(int n, int *cli, int *srv)
{
    struct sockaddr_in a;
    socklen_t al = sizeof(a);
    int l = socket(AF_INET, SOCK_STREAM, 0), i, one = 1;

    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) < 0 ||
        listen(l, 16) < 0 || getsockname(l, (struct sockaddr *)&a, &al) < 0) {
        die("listen");
    }
    for (i = 0; i < n; i++) {
        cli[i] = socket(AF_INET, SOCK_STREAM, 0);
        if (cli[i] < 0 ||
            connect(cli[i], (struct sockaddr *)&a, sizeof(a)) < 0) {
            die("connect");
        }
        srv[i] = accept(l, NULL, NULL);
        if (srv[i] < 0) {
            die("accept");
        }
        setsockopt(cli[i], IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }
    close(l);
}

/* One timed transfer; returns seconds, or -1 on a receive failure. */
static double run_once(Mode mode, WireCompression comp, int nch,
                       Stream *streams, uint8_t *host)
{
    int cli[MAX_CH], srv[MAX_CH], i;
    Send snd[MAX_CH];
    Recv rcv[MAX_CH];
    RamTable ram;
    RecvEngine *e = NULL;
    MfError err;
    bool ok = true;
    double t0, t1;

    tcp_pairs(nch, cli, srv);
    mf_error_clear(&err);
    memset(rcv, 0, sizeof(rcv));
    if (mode == MODE_ENGINE) {
        RecvConfig cfg;

        memset(&cfg, 0, sizeof(cfg));
        cfg.channels = (uint32_t)nch;
        cfg.page_size = PS;
        cfg.compression = comp;
        cfg.driver = RECV_DRIVER_THREADED;
        if (!ram_table_init(&ram, PS, &err) ||
            !ram_table_add(&ram, "pc.ram", BLOCK_BYTES, host, &err)) {
            goto fail;
        }
        e = recv_engine_new(&cfg, &ram, NULL, &err);
        if (!e) {
            goto fail;
        }
    }
    t0 = now();
    for (i = 0; i < nch; i++) {
        snd[i].fd = cli[i];
        snd[i].s = &streams[i];
        pthread_create(&snd[i].t, NULL, send_main, &snd[i]);
    }
    for (i = 0; i < nch; i++) {
        if (mode == MODE_ENGINE) {
            Chan *c = chan_fd_new(srv[i], true, "multifd", &err);

            srv[i] = -1; /* owned by the channel now */
            if (!c || !recv_engine_add_channel(e, c, &err)) {
                ok = false;
            }
        } else {
            rcv[i].fd = srv[i];
            rcv[i].mode = mode;
            rcv[i].comp = comp;
            rcv[i].host = host;
            pthread_create(&rcv[i].t, NULL, recv_main, &rcv[i]);
        }
    }
    if (mode == MODE_ENGINE) {
        ok = recv_engine_finish(e, &err) && ok;
    } else {
        for (i = 0; i < nch; i++) {
            pthread_join(rcv[i].t, NULL);
            ok = ok && rcv[i].ok;
        }
    }
    t1 = now();
    for (i = 0; i < nch; i++) {
        pthread_join(snd[i].t, NULL);
        close(cli[i]);
        if (srv[i] >= 0) {
            close(srv[i]);
        }
    }
    if (mode == MODE_ENGINE) {
        recv_engine_free(e);
        ram_table_destroy(&ram);
    }
    if (!ok) {
        goto fail;
    }
    return t1 - t0;

fail:
    if (mf_error_is_set(&err)) {
        char line[300];

        mf_error_format(&err, line, sizeof(line));
        fprintf(stderr, "%s: %s\n", mode_name[mode], line);
    }
    return -1;
}

int main(int argc, char **argv)
{
    static const WireCompression comps[] = { WIRE_COMP_NONE, WIRE_COMP_ZSTD };
    static const int chans[] = { 1, 2, 4 };
    uint32_t mib = argc > 1 ? (uint32_t)atoi(argv[1]) : 64;
    int repeats = argc > 2 ? atoi(argv[2]) : 3;
    uint32_t packets = mib * 2; /* 512 KiB of pages per packet */
    uint8_t *host = aligned_alloc(4096, BLOCK_BYTES);
    size_t ci, ni;
    int failures = 0;

    if (!host || packets == 0 || repeats < 1) {
        fprintf(stderr, "usage: %s [MIB_PER_CHANNEL] [REPEATS]\n", argv[0]);
        return 2;
    }
    memset(host, 0, BLOCK_BYTES);
    printf("bench-recv: loopback TCP, %u MiB of pages per channel, best of "
           "%d, %ld CPUs\n",
           mib, repeats, sysconf(_SC_NPROCESSORS_ONLN));
    printf("%-5s %3s %9s | %10s | %10s %6s | %10s %6s\n", "comp", "ch",
           "wire MiB", "sink MB/s", "chan MB/s", "ratio", "engine MB/s",
           "ratio");
    for (ci = 0; ci < sizeof(comps) / sizeof(comps[0]); ci++) {
        for (ni = 0; ni < sizeof(chans) / sizeof(chans[0]); ni++) {
            Stream st[MAX_CH];
            double best[MODE_COUNT], mbs[MODE_COUNT];
            uint64_t page_bytes = 0, wire = 0;
            int i, m, r;

            if (!codec_supported(comps[ci])) {
                continue;
            }
            for (i = 0; i < chans[ni]; i++) {
                st[i] = build_stream(comps[ci], (uint8_t)i, packets);
                page_bytes += st[i].page_bytes;
                wire += st[i].len;
            }
            for (m = 0; m < MODE_COUNT; m++) {
                best[m] = -1;
            }
            /* interleave the modes so drift hits all of them alike */
            for (r = 0; r < repeats; r++) {
                for (m = 0; m < MODE_COUNT; m++) {
                    double t =
                        run_once((Mode)m, comps[ci], chans[ni], st, host);

                    if (t < 0) {
                        failures++;
                    } else if (best[m] < 0 || t < best[m]) {
                        best[m] = t;
                    }
                }
            }
            for (m = 0; m < MODE_COUNT; m++) {
                mbs[m] = best[m] > 0 ? page_bytes / best[m] / 1e6 : 0;
            }
            printf("%-5s %3d %9.1f | %10.0f | %10.0f %6.2f | %10.0f %6.2f\n",
                   wire_compression_name(comps[ci]), chans[ni],
                   wire / 1048576.0, mbs[MODE_SINK], mbs[MODE_CHAN],
                   mbs[MODE_SINK] > 0 ? mbs[MODE_CHAN] / mbs[MODE_SINK] : 0,
                   mbs[MODE_ENGINE],
                   mbs[MODE_SINK] > 0 ? mbs[MODE_ENGINE] / mbs[MODE_SINK] : 0);
            fflush(stdout);
            for (i = 0; i < chans[ni]; i++) {
                free(st[i].data);
            }
        }
    }
    printf("MB/s = page data (normal pages x 4096) per second; ratio = "
           "receiver / plain recv() sink on the same bytes.\n");
    free(host);
    return failures ? 1 : 0;
}
