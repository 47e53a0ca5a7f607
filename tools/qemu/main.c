/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mfcolo-qemu send: one recorded or generated multifd stream (the files
 * mfcolo-replay takes) into a fresh real QEMU destination, and what
 * became of it (docs/qemu-tier.md).  The QEMU is started through the
 * qtest library's backend seam (tests/qtest/lib/qemu-backend.h), the
 * one way this project starts a real QEMU.
 *
 * Output: "key: value" lines; the last one is
 *   outcome: completed|failed|crash SIGNAME|hang[: QEMU's message]
 * Exit status 0 whatever the outcome; 1 when the tool could not run
 * (QEMU would not start or refused its setup), 2 on bad arguments or
 * unreadable files.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "libqtest.h"
#include "qemu-backend.h"

#define MQ_MAX_CHANNELS 16
#define MQ_MAX_EXTRA 32
#define MQ_DEFAULT_BOUND_MS 3000
#define MQ_SETUP_BOUND_MS 10000

typedef struct MqStream {
    const char *path;
    uint8_t *data;
    size_t size;
    size_t sent;
    int fd;
    bool closed; /* write side shut down (or the peer closed it) */
    int error;   /* errno of a failed write */
} MqStream;

typedef struct MqArgs {
    const char *qemu;
    const char *qemu_source;
    const char *compression;
    const char *dump_dir;
    int bound_ms;
    bool hold;
    MqStream main;
    MqStream ch[MQ_MAX_CHANNELS];
    int nch;
    const char *qemu_args[MQ_MAX_EXTRA]; /* --qemu-arg */
    int nqemu_args;
    const char *params[MQ_MAX_EXTRA]; /* --param NAME=VALUE */
    int nparams;
} MqArgs;

static const char usage_text[] =
    "usage: mfcolo-qemu send [--qemu BIN] --main FILE [--channel FILE]...\n"
    "                        --compression none|zstd|zlib [--dump DIR]\n"
    "                        [--timeout-ms N] [--hold] [--qemu-arg ARG]...\n"
    "                        [--param NAME=VALUE]...\n"
    "\n"
    "Start a fresh real QEMU destination (-incoming defer, the machine of\n"
    "tests/data/qemu-7.2), set multifd (when channels are given),\n"
    "multifd-channels = the number of --channel files and\n"
    "multifd-compression, connect the main channel, then the channels in\n"
    "order, send the files' bytes and wait for the outcome.\n"
    "\n"
    "  --qemu BIN        the binary (default: $QTEST_QEMU_BINARY, else\n"
    "                    $MFCOLO_QEMU, else " QT_QEMU_DEFAULT_BINARY ")\n"
    "  --main FILE       bytes of the main channel\n"
    "  --channel FILE    bytes of one multifd channel (repeat, at most 16)\n"
    "  --compression M   none, zstd or zlib\n"
    "  --dump DIR        write the RAM blocks that can be read exactly\n"
    "                    (pc.ram from its backing file; pc.bios over qtest\n"
    "                    when QEMU answers) to DIR/<name>.bin\n"
    "  --timeout-ms N    bound of every wait after the last byte\n"
    "                    (default 3000)\n"
    "  --qemu-arg ARG    one more argument for QEMU's command line, e.g.\n"
    "                    --qemu-arg -global --qemu-arg\n"
    "                    migration.multifd-flush-after-each-section=off\n"
    "  --param N=V       one more migrate-set-parameters value (V: an\n"
    "                    integer, true/false, else a string)\n"
    "  --hold            keep the connections open after the last byte\n"
    "                    (default: shut down their write side, as a source\n"
    "                    that ended)\n"
    "\n"
    "Last line: outcome: completed|failed|crash SIGNAME|hang[: message].\n"
    "Exit status 0 whatever the outcome; 1: the tool could not run; 2: bad\n"
    "arguments or unreadable files.\n";

static int64_t mq_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void __attribute__((noreturn)) usage_error(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

static void usage_error(const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "mfcolo-qemu: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n(mfcolo-qemu --help for the usage)\n");
    exit(2);
}

static void load_file(MqStream *st, const char *path)
{
    FILE *f = fopen(path, "rb");
    long size;

    st->path = path;
    st->fd = -1;
    if (!f) {
        usage_error("%s: cannot open: %s", path, strerror(errno));
    }
    if (fseek(f, 0, SEEK_END) < 0 || (size = ftell(f)) < 0 ||
        fseek(f, 0, SEEK_SET) < 0) {
        usage_error("%s: cannot read its size: %s", path, strerror(errno));
    }
    st->size = (size_t)size;
    st->data = malloc(st->size ? st->size : 1);
    if (!st->data) {
        usage_error("%s: out of memory for %zu bytes", path, st->size);
    }
    if (st->size && fread(st->data, 1, st->size, f) != st->size) {
        usage_error("%s: short read", path);
    }
    fclose(f);
}

static void parse_args(int argc, char **argv, MqArgs *a)
{
    int i;

    memset(a, 0, sizeof(*a));
    a->bound_ms = MQ_DEFAULT_BOUND_MS;
    if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        fputs(usage_text, stdout);
        exit(0);
    }
    if (argc < 2 || strcmp(argv[1], "send") != 0) {
        usage_error("the only command is 'send'");
    }
    for (i = 2; i < argc; i++) {
        const char *o = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;

        if (!strcmp(o, "--help") || !strcmp(o, "-h")) {
            fputs(usage_text, stdout);
            exit(0);
        }
        if (!strcmp(o, "--hold")) {
            a->hold = true;
            continue;
        }
        if (!v) {
            usage_error("%s needs a value", o);
        }
        i++;
        if (!strcmp(o, "--qemu-arg")) {
            if (a->nqemu_args == MQ_MAX_EXTRA) {
                usage_error("more than %d --qemu-arg", MQ_MAX_EXTRA);
            }
            if (!*v || strchr(v, ' ')) {
                usage_error("--qemu-arg '%s': one argument, no blanks", v);
            }
            a->qemu_args[a->nqemu_args++] = v;
        } else if (!strcmp(o, "--param")) {
            const char *eq = strchr(v, '=');

            if (a->nparams == MQ_MAX_EXTRA) {
                usage_error("more than %d --param", MQ_MAX_EXTRA);
            }
            if (!eq || eq == v || strchr(v, '\'') || strchr(v, '"') ||
                strchr(v, '\\')) {
                usage_error("--param '%s': not NAME=VALUE (no quotes)", v);
            }
            a->params[a->nparams++] = v;
        } else if (!strcmp(o, "--qemu")) {
            a->qemu = v;
            a->qemu_source = "--qemu";
        } else if (!strcmp(o, "--main")) {
            if (a->main.path) {
                usage_error("--main given twice");
            }
            load_file(&a->main, v);
        } else if (!strcmp(o, "--channel")) {
            if (a->nch == MQ_MAX_CHANNELS) {
                usage_error("more than %d --channel files", MQ_MAX_CHANNELS);
            }
            load_file(&a->ch[a->nch++], v);
        } else if (!strcmp(o, "--compression")) {
            if (strcmp(v, "none") && strcmp(v, "zstd") && strcmp(v, "zlib")) {
                usage_error("--compression %s: not none, zstd or zlib", v);
            }
            a->compression = v;
        } else if (!strcmp(o, "--dump")) {
            a->dump_dir = v;
        } else if (!strcmp(o, "--timeout-ms")) {
            char *end;
            long n = strtol(v, &end, 10);

            if (*end || n <= 0 || n > 3600000) {
                usage_error("--timeout-ms %s: not a number of ms in "
                            "1..3600000",
                            v);
            }
            a->bound_ms = (int)n;
        } else {
            usage_error("unknown option %s", o);
        }
    }
    if (!a->main.path) {
        usage_error("--main FILE is required");
    }
    if (!a->compression) {
        usage_error("--compression none|zstd|zlib is required");
    }
    if (!a->qemu) {
        a->qemu = qt_qemu_binary(&a->qemu_source);
    }
}

/*
 * Has the listener on 127.0.0.1:@port an empty accept queue?  For a
 * listening socket /proc/net/tcp's rx_queue is the number of connections
 * waiting to be accepted.  -1 when the listener is not found.
 */
static int accept_queue(int port)
{
    FILE *f = fopen("/proc/net/tcp", "r");
    char line[512];
    int found = -1;

    if (!f) {
        return -1;
    }
    while (fgets(line, sizeof(line), f)) {
        unsigned laddr;
        unsigned lport;
        unsigned st;
        unsigned long txq;
        unsigned long rxq;

        if (sscanf(line, " %*d: %x:%x %*x:%*x %x %lx:%lx", &laddr, &lport, &st,
                   &txq, &rxq) == 5 &&
            (int)lport == port && st == 0x0a) {
            found = (int)rxq;
            break;
        }
    }
    fclose(f);
    return found;
}

/*
 * Connect to 127.0.0.1:@port; with @wait_accept, wait (bounded) until
 * QEMU accepted the connection.  Only the main channel waits: 7.2 takes
 * the first accepted connection as main, and it reads each multifd
 * channel's handshake in its main loop right after accepting it, so it
 * accepts the next one only once the previous one has sent.
 */
static int connect_port(int port, int bound_ms, const char *what,
                        bool wait_accept)
{
    struct sockaddr_in sa;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int64_t t0 = mq_now();
    int q = 0;

    if (fd < 0) {
        qt_fail("socket: %s", strerror(errno));
    }
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        printf("connect-%s: refused: %s\n", what, strerror(errno));
        close(fd);
        return -1;
    }
    while (wait_accept && mq_now() - t0 < bound_ms) {
        q = accept_queue(port);
        if (q <= 0) {
            break;
        }
        usleep(1000);
    }
    if (!wait_accept) {
        printf("connect-%s: connected\n", what);
    } else if (q > 0) {
        printf("connect-%s: not accepted within %d ms\n", what, bound_ms);
    } else if (q < 0) {
        printf("connect-%s: no listener on port %d any more\n", what, port);
    } else {
        printf("connect-%s: accepted after %" PRId64 " ms\n", what,
               mq_now() - t0);
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    return fd;
}

static void stream_end(MqStream *st, bool hold)
{
    if (!st->closed && st->fd >= 0 && !hold) {
        shutdown(st->fd, SHUT_WR);
    }
    st->closed = true;
}

/*
 * Write every stream as the socket takes it (QEMU reads main and the
 * channels concurrently; writing one after the other can deadlock).
 * Stops when all is sent, QEMU died, or nothing moved for @bound_ms.
 */
static void send_all(QTestState *s, MqArgs *a)
{
    MqStream *all[MQ_MAX_CHANNELS + 1];
    int n = 0;
    int i;
    int64_t last = mq_now();

    all[n++] = &a->main;
    for (i = 0; i < a->nch; i++) {
        all[n++] = &a->ch[i];
    }
    for (;;) {
        struct pollfd p[MQ_MAX_CHANNELS + 1];
        MqStream *ps[MQ_MAX_CHANNELS + 1];
        int np = 0;
        int r;

        for (i = 0; i < n; i++) {
            if (all[i]->fd < 0) {
                all[i]->closed = true;
            }
            if (!all[i]->closed && all[i]->sent == all[i]->size) {
                stream_end(all[i], a->hold);
            }
            if (!all[i]->closed) {
                p[np].fd = all[i]->fd;
                p[np].events = POLLOUT;
                ps[np++] = all[i];
            }
        }
        if (!np) {
            return;
        }
        if (!qtest_alive(s)) {
            printf("send: QEMU ended while sending\n");
            return;
        }
        if (mq_now() - last >= a->bound_ms) {
            printf("send: stalled, nothing written for %d ms\n", a->bound_ms);
            return;
        }
        r = poll(p, (nfds_t)np, 50);
        if (r < 0 && errno != EINTR) {
            qt_fail("poll: %s", strerror(errno));
        }
        for (i = 0; r > 0 && i < np; i++) {
            MqStream *st = ps[i];
            ssize_t w;

            if (!(p[i].revents & (POLLOUT | POLLERR | POLLHUP))) {
                continue;
            }
            w = send(st->fd, st->data + st->sent, st->size - st->sent,
                     MSG_NOSIGNAL);
            if (w > 0) {
                st->sent += (size_t)w;
                last = mq_now();
            } else if (w < 0 && errno != EAGAIN && errno != EINTR) {
                st->error = errno;
                st->closed = true;
            }
        }
    }
}

static const char *sig_name(int sig)
{
    const char *d = sigabbrev_np(sig);
    static char buf[32];

    if (d) {
        snprintf(buf, sizeof(buf), "SIG%s", d);
    } else {
        snprintf(buf, sizeof(buf), "SIG%d", sig);
    }
    return buf;
}

typedef enum MqOutcome {
    MQ_COMPLETED,
    MQ_FAILED,
    MQ_CRASH,
    MQ_HANG,
} MqOutcome;

typedef struct MqResult {
    MqOutcome outcome;
    int signal;
    char status[64];   /* last query-migrate status seen */
    char message[512]; /* QEMU's own words */
    bool qmp_silent;   /* QMP stopped answering */
} MqResult;

static void ended(QTestState *s, int status, MqResult *res)
{
    char line[512] = "";

    qtest_log_last_line(s, line, sizeof(line));
    if (WIFSIGNALED(status)) {
        res->outcome = MQ_CRASH;
        res->signal = WTERMSIG(status);
    } else {
        res->outcome = MQ_FAILED;
        if (!res->message[0] && !line[0]) {
            snprintf(line, sizeof(line), "QEMU exited with status %d",
                     WEXITSTATUS(status));
        }
    }
    if (!res->message[0]) {
        snprintf(res->message, sizeof(res->message), "%s", line);
    }
    printf("qemu-exit: %s %d\n", WIFSIGNALED(status) ? "signal" : "status",
           WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
}

/* Poll query-migrate until completed/failed, QEMU ends, or the bound. */
static void watch(QTestState *s, int bound_ms, MqResult *res)
{
    int64_t end = mq_now() + bound_ms;
    int status;

    for (;;) {
        int64_t left = end - mq_now();
        json_t *r;
        const char *st;

        if (qtest_wait_exit(s, 0, &status)) {
            ended(s, status, res);
            return;
        }
        if (left <= 0) {
            break;
        }
        r = qtest_qmp_timeout(s, (int)left, "{'execute': 'query-migrate'}");
        if (!r) {
            if (qtest_wait_exit(s, 50, &status)) {
                ended(s, status, res);
                return;
            }
            res->qmp_silent = true;
            break;
        }
        st = json_string_value(
            json_object_get(json_object_get(r, "return"), "status"));
        snprintf(res->status, sizeof(res->status), "%s", st ? st : "");
        if (st && !strcmp(st, "completed")) {
            res->outcome = MQ_COMPLETED;
            json_decref(r);
            return;
        }
        if (st && !strcmp(st, "failed")) {
            const char *e = json_string_value(
                json_object_get(json_object_get(r, "return"), "error-desc"));

            res->outcome = MQ_FAILED;
            if (e) {
                snprintf(res->message, sizeof(res->message), "%s", e);
            } else {
                qtest_log_last_line(s, res->message, sizeof(res->message));
            }
            json_decref(r);
            return;
        }
        json_decref(r);
        usleep(10000);
    }
    res->outcome = MQ_HANG;
    qtest_log_last_line(s, res->message, sizeof(res->message));
    printf("hang: %s after %d ms (query-migrate status '%s')\n",
           res->qmp_silent ? "QMP stopped answering" : "no final status",
           bound_ms, res->status);
}

static bool write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    bool ok = f && fwrite(data, 1, len, f) == len;

    if (f && fclose(f) != 0) {
        ok = false;
    }
    return ok;
}

/*
 * mfcolo-replay's dump name (docs/replay.md, --dump): the block name with
 * every character outside [A-Za-z0-9._-] replaced by '_', plus ".bin".
 * (Not linked from tools/replay: its library pulls core/colo, whose
 * colo_failover clashes with the qtest library's.)
 */
static void dump_name(const char *block, char *buf, size_t size)
{
    size_t i;
    size_t n = 0;

    for (i = 0; block[i] && n + 5 < size; i++) {
        char c = block[i];
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                  (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';

        buf[n++] = ok ? c : '_';
    }
    snprintf(buf + n, size - n, ".bin");
}

static void dump_block(const char *dir, const char *block, const void *data,
                       size_t len, const char *how)
{
    char name[256];
    char path[4400];

    dump_name(block, name, sizeof(name));
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    if (!write_file(path, data, len)) {
        qt_fail("--dump: cannot write %s: %s", path, strerror(errno));
    }
    printf("dump: %s %zu bytes (%s)\n", path, len, how);
}

/* pc.ram from its file always; pc.bios over qtest while QEMU answers. */
static void dump(QTestState *s, const char *dir, int bound_ms)
{
    uint8_t *buf = malloc(QT_QEMU_RAM_SIZE);
    json_t *r;

    if (!buf) {
        qt_fail("--dump: out of memory");
    }
    if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
        qt_fail("--dump: cannot create %s: %s", dir, strerror(errno));
    }
    if (!qtest_ram_read(s, 0, buf, QT_QEMU_RAM_SIZE)) {
        qt_fail("--dump: cannot read pc.ram's file %s: %s", qtest_ram_path(s),
                strerror(errno));
    }
    dump_block(dir, "pc.ram", buf, QT_QEMU_RAM_SIZE, "the file backing pc.ram");
    r = qtest_alive(s)
            ? qtest_qmp_timeout(s, bound_ms, "{'execute': 'query-status'}")
            : NULL;
    if (r) {
        QTestRamBlock b[QT_MAX_RAMBLOCKS];
        const QTestRamBlock *bios;
        int n;

        json_decref(r);
        qtest_set_timeout(s, bound_ms);
        n = qtest_ramblocks(s, b, QT_MAX_RAMBLOCKS);
        bios = qtest_ramblock_find(b, n, "pc.bios");
        if (bios && bios->used <= QT_QEMU_RAM_SIZE &&
            qtest_memread_try(s, 0x100000000ull - bios->used, buf, bios->used,
                              bound_ms)) {
            char how[96];

            snprintf(how, sizeof(how), "qtest b64read at 0x%" PRIx64,
                     (uint64_t)(0x100000000ull - bios->used));
            dump_block(dir, "pc.bios", buf, bios->used, how);
        } else {
            printf("dump: pc.bios not read (%s)\n",
                   bios ? "no qtest answer" : "no such block");
        }
    } else {
        printf("dump: only pc.ram (QEMU does not answer)\n");
    }
    free(buf);
}

/* Close and free every stream of @a (the files parse_args() loaded). */
static void mq_streams_free(MqArgs *a)
{
    int i;

    for (i = 0; i < a->nch; i++) {
        if (a->ch[i].fd >= 0) {
            close(a->ch[i].fd);
        }
        free(a->ch[i].data);
    }
    if (a->main.fd >= 0) {
        close(a->main.fd);
    }
    free(a->main.data);
}

int main(int argc, char **argv)
{
    MqArgs a;
    MqResult res;
    QTestOpts o = { .backend = QT_BACKEND_QEMU, .incoming = true };
    QTestState *s;
    char line[160];
    char why[512];
    int64_t t0 = mq_now();
    int64_t t_started;
    int64_t t_sent;
    char *extra;
    int port;
    int status;
    int i;

    setvbuf(stdout, NULL, _IOLBF, 0);
    parse_args(argc, argv, &a);
    if (!qt_qemu_probe(a.qemu, MQ_SETUP_BOUND_MS, line, sizeof(line), why,
                       sizeof(why))) {
        fprintf(stderr, "mfcolo-qemu: cannot run QEMU (from %s): %s\n",
                a.qemu_source, why);
        mq_streams_free(&a);
        return 1;
    }
    o.binary = a.qemu;
    {
        size_t len = 1;

        for (i = 0; i < a.nqemu_args; i++) {
            len += strlen(a.qemu_args[i]) + 1;
        }
        extra = calloc(1, len);
        if (!extra) {
            fprintf(stderr, "mfcolo-qemu: out of memory\n");
            mq_streams_free(&a);
            return 1;
        }
        for (i = 0; i < a.nqemu_args; i++) {
            strcat(extra, i ? " " : "");
            strcat(extra, a.qemu_args[i]);
        }
        o.args = extra;
    }
    o.timeout_ms =
        a.bound_ms > MQ_SETUP_BOUND_MS ? a.bound_ms : MQ_SETUP_BOUND_MS;
    s = qtest_start_opts("dst", &o);
    t_started = mq_now();
    qtest_version_print(s, stdout);
    printf("qemu-pid: %ld\n", (long)qtest_pid(s));
    if (a.nqemu_args) {
        printf("qemu-args: %s\n", extra);
    }

    qtest_qmp_assert_success(
        s,
        "{'execute': 'migrate-set-capabilities', 'arguments': "
        "{'capabilities': [{'capability': 'events', 'state': true}, "
        "{'capability': 'multifd', 'state': %s}]}}",
        a.nch > 0 ? "true" : "false");
    if (a.nch > 0) {
        qtest_qmp_assert_success(s,
                                 "{'execute': 'migrate-set-parameters', "
                                 "'arguments': {'multifd-channels': %d, "
                                 "'multifd-compression': '%s'}}",
                                 a.nch, a.compression);
    } else {
        qtest_qmp_assert_success(s,
                                 "{'execute': 'migrate-set-parameters', "
                                 "'arguments': {'multifd-compression': '%s'}}",
                                 a.compression);
    }
    for (i = 0; i < a.nparams; i++) {
        const char *eq = strchr(a.params[i], '=');
        const char *val = eq + 1;
        char *end;
        bool num = *val && (strtoll(val, &end, 10), !*end);
        bool boolean = !strcmp(val, "true") || !strcmp(val, "false");

        qtest_qmp_assert_success(s,
                                 "{'execute': 'migrate-set-parameters', "
                                 "'arguments': {'%.*s': %s%s%s}}",
                                 (int)(eq - a.params[i]), a.params[i],
                                 num || boolean ? "" : "'", val,
                                 num || boolean ? "" : "'");
        printf("setup: %s\n", a.params[i]);
    }
    printf("setup: multifd %s, multifd-channels %d, multifd-compression %s\n",
           a.nch > 0 ? "on" : "off", a.nch, a.compression);
    port = qtest_migrate_incoming_port(s);
    printf("incoming: tcp:127.0.0.1:%d\n", port);

    a.main.fd = connect_port(port, a.bound_ms, "main", true);
    for (i = 0; i < a.nch; i++) {
        char what[32];

        snprintf(what, sizeof(what), "channel-%d", i + 1);
        a.ch[i].fd = connect_port(port, a.bound_ms, what, false);
    }
    send_all(s, &a);
    t_sent = mq_now();
    printf("sent: main %zu/%zu", a.main.sent, a.main.size);
    for (i = 0; i < a.nch; i++) {
        printf(", channel-%d %zu/%zu", i + 1, a.ch[i].sent, a.ch[i].size);
    }
    printf(" bytes%s\n", a.hold ? " (connections held open)" : "");
    if (a.main.error) {
        printf("send: main: %s\n", strerror(a.main.error));
    }
    for (i = 0; i < a.nch; i++) {
        if (a.ch[i].error) {
            printf("send: channel-%d: %s\n", i + 1, strerror(a.ch[i].error));
        }
    }

    memset(&res, 0, sizeof(res));
    watch(s, a.bound_ms, &res);
    printf("timing: start %" PRId64 " ms, send %" PRId64 " ms, outcome %" PRId64
           " ms after the last byte\n",
           t_started - t0, t_sent - t_started, mq_now() - t_sent);
    if (a.dump_dir) {
        dump(s, a.dump_dir, a.bound_ms);
    }
    if (qtest_alive(s)) {
        qtest_set_timeout(s, a.bound_ms);
        if (!qtest_kill_wait(s, &status)) {
            qt_fail("pid %ld survived SIGKILL for %d ms", (long)qtest_pid(s),
                    a.bound_ms);
        }
        printf("qemu-killed: pid %ld (SIGKILL), reaped\n", (long)qtest_pid(s));
    }
    mq_streams_free(&a);
    free(extra);

    switch (res.outcome) {
    case MQ_COMPLETED:
        printf("outcome: completed");
        break;
    case MQ_FAILED:
        printf("outcome: failed");
        break;
    case MQ_CRASH:
        printf("outcome: crash %s", sig_name(res.signal));
        break;
    case MQ_HANG:
        printf("outcome: hang");
        break;
    }
    if (res.message[0]) {
        printf(": %s", res.message);
    }
    printf("\n");
    return 0;
}
