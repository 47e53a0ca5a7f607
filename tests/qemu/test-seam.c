/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The backend seam on a real QEMU (tests/qtest/lib/qemu-backend.h):
 *
 *   test-seam start   version probe, the RAM block list against the
 *                     recording of the same version, qtest b64 round trip
 *                     of a few pages, read back from pc.ram's file too
 *   test-seam hang    a SIGSTOPped QEMU is detected within its bound (a
 *                     late reply, after SIGCONT, is not taken for the
 *                     next command's) and killed by pid
 *   test-seam refuse  x-mfcolo-* on a real QEMU fails with its message
 *                     (runs itself as `test-seam refuse-child`)
 *   test-seam main-channel
 *                     qtest_connect_main_channel() on a multifd
 *                     destination: QMP answers right after (7.2 accepts
 *                     the connection, 8.0 and later peek at the magic
 *                     sent with it), and again while it is held open
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "libqtest.h"
#include "qemu-backend.h"

static int64_t ms_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* xorshift64: the test's own bytes, fixed seed. */
static uint64_t rng_next(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

static QTestState *start_qemu(const char *name)
{
    QTestOpts o = { .backend = QT_BACKEND_QEMU, .timeout_ms = 10000 };
    QTestState *s = qtest_start_opts(name, &o);

    qtest_version_print(s, stderr);
    return s;
}

/* tests/data/qemu-M.m.u, else qemu-M.m: the recording of this version. */
static json_t *expected_blocks(const QTestVersion *v, char *dir, size_t size)
{
    const char *root = getenv("MFCOLO_DATA_ROOT");
    char path[4400];
    json_error_t err;
    json_t *j;
    int i;

    qt_check(root, "MFCOLO_DATA_ROOT is not set (run through meson test)");
    for (i = 0; i < 2; i++) {
        if (i == 0) {
            snprintf(dir, size, "%s/qemu-%d.%d.%d", root, v->major, v->minor,
                     v->micro);
        } else {
            snprintf(dir, size, "%s/qemu-%d.%d", root, v->major, v->minor);
        }
        snprintf(path, sizeof(path), "%s/expected-ramblocks.json", dir);
        if (access(path, R_OK) == 0) {
            j = json_load_file(path, 0, &err);
            qt_check(j, "%s: %s", path, err.text);
            return j;
        }
    }
    qt_fail("no recording of QEMU %d.%d.%d under %s "
            "(qemu-%d.%d.%d/ or qemu-%d.%d/ with expected-ramblocks.json)",
            v->major, v->minor, v->micro, root, v->major, v->minor, v->micro,
            v->major, v->minor);
}

static void check_blocks(QTestState *s)
{
    QTestRamBlock b[QT_MAX_RAMBLOCKS];
    int n = qtest_ramblocks(s, b, QT_MAX_RAMBLOCKS);
    char dir[4200];
    json_t *exp = expected_blocks(qtest_version(s), dir, sizeof(dir));
    json_t *blocks = json_object_get(exp, "ramblocks");
    const char *name;
    json_t *val;
    int i = 0;

    for (i = 0; i < n; i++) {
        qt_log("ramblock %-24s offset 0x%09" PRIx64 " used 0x%08" PRIx64
               " total 0x%08" PRIx64,
               b[i].name, b[i].offset, b[i].used, b[i].total);
    }
    qt_check(json_object_size(blocks) == (size_t)n,
             "info ramblock lists %d blocks, %s/expected-ramblocks.json %zu", n,
             dir, json_object_size(blocks));
    i = 0;
    json_object_foreach(blocks, name, val)
    {
        uint64_t used =
            (uint64_t)json_integer_value(json_object_get(val, "used_length"));

        qt_check(strcmp(b[i].name, name) == 0,
                 "block %d is '%s', the recording has '%s'", i, b[i].name,
                 name);
        qt_check(b[i].used == used,
                 "block %s: used 0x%" PRIx64 ", the recording 0x%" PRIx64, name,
                 b[i].used, used);
        qt_check(b[i].total >= b[i].used, "block %s: total < used", name);
        i++;
    }
    qt_check(qtest_ramblock_find(b, n, "pc.ram") &&
                 qtest_ramblock_find(b, n, "pc.ram")->used == QT_QEMU_RAM_SIZE,
             "pc.ram is not %u bytes", QT_QEMU_RAM_SIZE);
    qt_check(!qtest_ramblock_find(b, n, "no.such.block"), "find: bogus hit");
    json_decref(exp);
}

/* Write random pages over b64write, read them back (qtest and file). */
static void check_memory(QTestState *s)
{
    static const struct {
        uint64_t addr;
        size_t len;
    } spans[] = {
        { 0x1000, 4096 },       /* one page below the VGA window */
        { 0x100ff0, 8192 },     /* unaligned, across two page borders */
        { 0x800000, 3 * 4096 }, /* three pages */
        { 0x1fff000, 4096 },    /* the last page of pc.ram */
        { 0x12345, 1 },         /* one byte */
        { 0x200001, 5 },        /* b64 padding cases: 5 bytes */
    };
    uint64_t x = 0x6d66636f6c6f2121ull;
    size_t i;

    for (i = 0; i < sizeof(spans) / sizeof(spans[0]); i++) {
        size_t len = spans[i].len;
        uint8_t *w = malloc(len);
        uint8_t *r = malloc(len);
        uint8_t *f = malloc(len);
        size_t k;

        qt_assert(w && r && f);
        for (k = 0; k < len; k++) {
            w[k] = (uint8_t)rng_next(&x);
        }
        qtest_memwrite(s, spans[i].addr, w, len);
        memset(r, 0, len);
        qtest_memread(s, spans[i].addr, r, len);
        for (k = 0; k < len && r[k] == w[k]; k++) {
        }
        qt_check(k == len,
                 "qtest read 0x%" PRIx64 "+%zu: byte %zu is 0x%02x, wrote "
                 "0x%02x",
                 spans[i].addr, len, k, r[k], w[k]);
        qt_check(qtest_ram_read(s, spans[i].addr, f, len), "pc.ram file: %s",
                 strerror(errno));
        for (k = 0; k < len && f[k] == w[k]; k++) {
        }
        qt_check(k == len,
                 "pc.ram file at 0x%" PRIx64 "+%zu: byte %zu is 0x%02x, wrote "
                 "0x%02x",
                 spans[i].addr, len, k, f[k], w[k]);
        free(w);
        free(r);
        free(f);
    }
    /* memset, then the edges must be untouched */
    {
        uint8_t r[4096 + 2];
        size_t k;

        qtest_memset(s, 0x1000, 0x5a, 4096);
        qtest_memread(s, 0xfff, r, sizeof(r));
        qt_check(r[0] == 0, "memset wrote below its range: 0x%02x", r[0]);
        for (k = 1; k <= 4096; k++) {
            qt_check(r[k] == 0x5a, "memset: byte %zu is 0x%02x", k - 1, r[k]);
        }
        qt_check(r[4097] == 0, "memset wrote past its range: 0x%02x", r[4097]);
    }
    qt_check(!qtest_ram_read(s, QT_QEMU_RAM_SIZE - 1, &x, 2),
             "qtest_ram_read past pc.ram's end succeeded");
    qt_log("b64 round trip: %zu spans exact over qtest and pc.ram's file",
           sizeof(spans) / sizeof(spans[0]));
}

static int test_start(void)
{
    QTestState *s = start_qemu("dst");
    const QTestVersion *v = qtest_version(s);
    char st[64];

    qt_check(strncmp(v->line, "QEMU emulator version ", 22) == 0,
             "-version: '%s'", v->line);
    {
        char want[32];

        snprintf(want, sizeof(want), "%d.%d.%d", v->major, v->minor, v->micro);
        qt_check(strncmp(v->line + 22, want, strlen(want)) == 0,
                 "-version says '%s', QMP query-version %s", v->line, want);
    }
    check_blocks(s);
    check_memory(s);
    qtest_migrate_status(s, st, sizeof(st));
    qt_check(strcmp(st, "") == 0, "query-migrate status '%s' before any", st);
    qtest_quit(s);
    printf("ok seam/start\n");
    return 0;
}

static int test_hang(void)
{
    QTestState *s = start_qemu("hung");
    pid_t pid = qtest_pid(s);
    const int bound = 500;
    uint8_t b[16];
    int64_t t0;
    int64_t took;
    int status = 0;
    json_t *r;

    qtest_set_timeout(s, 2000);
    r = qtest_qmp_timeout(s, bound, "{'execute': 'query-status'}");
    qt_check(r, "a running QEMU did not answer query-status in %d ms", bound);
    json_decref(r);
    qt_check(kill(pid, SIGSTOP) == 0, "SIGSTOP: %s", strerror(errno));
    t0 = ms_now();
    r = qtest_qmp_timeout(s, bound, "{'execute': 'query-status'}");
    took = ms_now() - t0;
    qt_check(!r, "a stopped QEMU answered query-status");
    qt_check(took >= bound - 5 && took < bound + 400,
             "QMP silence detected after %" PRId64 " ms, bound %d", took,
             bound);
    /* resumed, the late answer to query-status must not be taken for
     * the answer to the next command */
    qt_check(kill(pid, SIGCONT) == 0, "SIGCONT: %s", strerror(errno));
    r = qtest_qmp_timeout(s, 2000, "{'execute': 'query-version'}");
    qt_check(r && json_object_get(json_object_get(r, "return"), "qemu"),
             "after SIGCONT, query-version got %s",
             r ? json_dumps(r, JSON_COMPACT) : "no reply");
    json_decref(r);
    qt_check(kill(pid, SIGSTOP) == 0, "SIGSTOP: %s", strerror(errno));
    t0 = ms_now();
    qt_check(!qtest_memread_try(s, 0x1000, b, sizeof(b), bound),
             "a stopped QEMU answered qtest");
    took = ms_now() - t0;
    qt_check(took < bound + 400, "qtest silence detected after %" PRId64 " ms",
             took);
    t0 = ms_now();
    qt_check(qtest_kill_wait(s, &status), "SIGKILL did not end pid %ld",
             (long)pid);
    took = ms_now() - t0;
    qt_check(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
             "pid %ld ended with status 0x%x, not SIGKILL", (long)pid, status);
    qt_check(kill(pid, 0) < 0 && errno == ESRCH, "pid %ld still exists",
             (long)pid);
    qt_log("stopped QEMU pid %ld: silence seen within %d ms, killed and "
           "reaped in %" PRId64 " ms",
           (long)pid, bound, took);
    qtest_quit(s);
    printf("ok seam/hang\n");
    return 0;
}

static int test_refuse_child(void)
{
    QTestState *s = start_qemu("real");

    qtest_qmp(s, "{'execute': 'x-mfcolo-stats'}");
    printf("x-mfcolo-stats was sent to a real QEMU\n");
    return 0;
}

static int test_refuse(const char *self)
{
    char cmd[4400];
    char out[8192];
    size_t got;
    FILE *p;
    int st;
    const char *want = "FAIL: real: 'x-mfcolo-stats' is a command of the "
                       "simulator (mfcolo-vm); real is a real QEMU (";

    snprintf(cmd, sizeof(cmd), "'%s' refuse-child 2>&1", self);
    p = popen(cmd, "r");
    qt_check(p, "popen: %s", strerror(errno));
    got = fread(out, 1, sizeof(out) - 1, p);
    out[got] = '\0';
    st = pclose(p);
    fprintf(stderr, "%s", out);
    qt_check(WIFEXITED(st) && WEXITSTATUS(st) == 1,
             "the child ended with status 0x%x, not exit 1", st);
    qt_check(strstr(out, want), "the child did not print '%s'", want);
    printf("ok seam/refuse\n");
    return 0;
}

static int test_main_channel(void)
{
    QTestOpts o = { .backend = QT_BACKEND_QEMU,
                    .incoming = true,
                    .timeout_ms = 10000 };
    QTestState *s = qtest_start_opts("dst", &o);
    const int bound = 2000;
    uint64_t sent = 0;
    int64_t t0;
    int64_t took;
    int port;
    int fd;
    json_t *r;

    qtest_qmp_assert_success(s, "{'execute': 'migrate-set-capabilities', "
                                "'arguments': {'capabilities': "
                                "[{'capability': 'multifd', 'state': true}]}}");
    qtest_qmp_assert_success(s, "{'execute': 'migrate-set-parameters', "
                                "'arguments': {'multifd-channels': 2}}");
    port = qtest_migrate_incoming_port(s);
    t0 = ms_now();
    fd = qtest_connect_main_channel(s, port, bound, &sent);
    took = ms_now() - t0;
    qt_check(fd >= 0, "no main channel fd");
    qt_check(sent == 4,
             "%" PRIu64 " bytes sent with the main channel, not "
             "the 4 of the file magic",
             sent);
    /* Once more, with the channel held open and nothing else sent: a
     * destination that waits for more of it would stop answering. */
    r = qtest_qmp_timeout(s, bound, "{'execute': 'query-migrate'}");
    qt_check(r,
             "QMP silent for %d ms with the main channel connected "
             "(4 bytes sent)",
             bound);
    json_decref(r);
    qt_log("main channel connected, QMP answered: %" PRId64 " ms", took);
    close(fd);
    qtest_kill_wait(s, NULL);
    qtest_quit(s);
    printf("ok seam/main-channel\n");
    return 0;
}

int main(int argc, char **argv)
{
    const char *t = argc > 1 ? argv[1] : "";

    if (!strcmp(t, "start")) {
        return test_start();
    } else if (!strcmp(t, "hang")) {
        return test_hang();
    } else if (!strcmp(t, "refuse")) {
        return test_refuse(argv[0]);
    } else if (!strcmp(t, "main-channel")) {
        return test_main_channel();
    } else if (!strcmp(t, "refuse-child")) {
        return test_refuse_child();
    }
    fprintf(stderr, "usage: %s start|hang|refuse|main-channel\n", argv[0]);
    return 2;
}
