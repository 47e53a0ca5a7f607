/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The threaded driver over real loopback TCP connections: {none, zstd,
 * zlib} x {1, 2, 4, 8 channels} x {precopy, precopy + 3 COLO
 * checkpoints}, I1-I3 checked after every stage (recv-run.h).  The sender
 * writes one stage at a time, as a COLO primary does (it waits for the
 * secondary between checkpoints), so channel threads run while the main
 * thread checks memory only at sync points.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "codec/codec.h"

#include "recv-run.h"

typedef struct TcpIo {
    const Scenario *sc;
    int lfd;
    struct sockaddr_in addr;
    int cfd[RS_MAX_CHANNELS];
    size_t sent[RS_MAX_CHANNELS];
} TcpIo;

static void write_all(int fd, const uint8_t *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);

        if (w <= 0) {
            fail_msg("write to the loopback socket failed");
        }
        p += w;
        n -= (size_t)w;
    }
}

static void send_to(TcpIo *io, uint32_t c, size_t end)
{
    if (end > io->sent[c]) {
        write_all(io->cfd[c], io->sc->s[c].data + io->sent[c],
                  end - io->sent[c]);
        io->sent[c] = end;
    }
}

static Chan *tcp_open(void *opaque, uint32_t c)
{
    TcpIo *io = opaque;
    MfError err = { 0 };
    int one = 1, fd;
    Chan *ch;

    io->cfd[c] = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(io->cfd[c] >= 0);
    assert_int_equal(
        connect(io->cfd[c], (struct sockaddr *)&io->addr, sizeof(io->addr)), 0);
    setsockopt(io->cfd[c], IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    fd = accept(io->lfd, NULL, NULL);
    assert_true(fd >= 0);
    send_to(io, c, WIRE_HANDSHAKE_SIZE);
    ch = chan_fd_new(fd, true, "tcp", &err);
    assert_non_null(ch);
    return ch;
}

static void tcp_send_stage(void *opaque, uint32_t k)
{
    TcpIo *io = opaque;
    uint32_t c;

    for (c = 0; c < io->sc->cfg.channels; c++) {
        send_to(io, c, io->sc->stage_end[c][k]);
    }
}

static void tcp_send_end(void *opaque)
{
    TcpIo *io = opaque;
    uint32_t c;

    for (c = 0; c < io->sc->cfg.channels; c++) {
        if (io->cfd[c] >= 0) {
            send_to(io, c, io->sc->s[c].len);
            close(io->cfd[c]);
            io->cfd[c] = -1;
        }
    }
}

static void watchdog_fired(int sig)
{
    static const char msg[] =
        "watchdog: recv/tcp: a loopback run (its channel threads, the sync, "
        "the join) still running after 10 s (100 s under valgrind)\n";

    (void)sig;
    if (write(2, msg, sizeof(msg) - 1) < 0) {
        _exit(2);
    }
    _exit(1);
}

static void run_one(WireCompression comp, uint32_t channels, bool colo,
                    bool old_style, uint64_t seed)
{
    Scenario sc;
    RsConfig cfg = { 0 };
    RsRun run = { 0 };
    TcpIo tio = { 0 };
    RsIo io = { tcp_open, tcp_send_stage, tcp_send_end, &tio };
    socklen_t alen = sizeof(tio.addr);
    char why[400];
    uint32_t c;
    bool ok;

    cfg.channels = channels;
    cfg.comp = comp;
    cfg.page_size = 4096;
    cfg.npages = 256;
    cfg.checkpoints = colo ? 3 : 0;
    cfg.max_packet = 128;
    cfg.old_style = old_style;
    cfg.seed = seed;
    memcpy(cfg.uuid, "loopback-uuid-01", WIRE_UUID_SIZE);
    rs_build(&sc, &cfg);
    tio.sc = &sc;
    for (c = 0; c < RS_MAX_CHANNELS; c++) {
        tio.cfd[c] = -1;
    }
    tio.lfd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(tio.lfd >= 0);
    tio.addr.sin_family = AF_INET;
    tio.addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(
        bind(tio.lfd, (struct sockaddr *)&tio.addr, sizeof(tio.addr)), 0);
    assert_int_equal(getsockname(tio.lfd, (struct sockaddr *)&tio.addr, &alen),
                     0);
    assert_int_equal(listen(tio.lfd, RS_MAX_CHANNELS), 0);
    run.driver = RECV_DRIVER_THREADED;
    run.seed = seed;
    run.colo = colo;
    /* One run takes about 0.1 s (the whole test about 3 s). */
    alarm(getenv("MFCOLO_UNDER_VALGRIND") ? 100 : 10);
    ok = rs_run(&sc, &run, &io, why, sizeof(why));
    alarm(0);
    tcp_send_end(&tio);
    close(tio.lfd);
    rs_free(&sc);
    if (!ok) {
        fail_msg("%s, %u channels, %s, %s sender, seed %llu: %s",
                 wire_compression_name(comp), channels,
                 colo ? "3 COLO checkpoints" : "precopy",
                 old_style ? "7.2" : "9.x", (unsigned long long)seed, why);
    }
}

static void run_comp(WireCompression comp)
{
    static const uint32_t chans[4] = { 1, 2, 4, 8 };
    uint32_t i;

    if (!codec_supported(comp)) {
        fail_msg("%s not built in", wire_compression_name(comp));
    }
    for (i = 0; i < 4; i++) {
        run_one(comp, chans[i], false, i % 2, 100 + i);
        run_one(comp, chans[i], true, (i + 1) % 2, 200 + i);
    }
}

static void t_none(void **state)
{
    (void)state;
    run_comp(WIRE_COMP_NONE);
}

static void t_zstd(void **state)
{
    (void)state;
    run_comp(WIRE_COMP_ZSTD);
}

static void t_zlib(void **state)
{
    (void)state;
    run_comp(WIRE_COMP_ZLIB);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_none),
        cmocka_unit_test(t_zstd),
        cmocka_unit_test(t_zlib),
    };

    signal(SIGALRM, watchdog_fired);
    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
