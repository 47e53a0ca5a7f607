/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * One mfcolo-vm: QMP shapes (replies, errors, events) and the qtest line
 * protocol (QEMU's reply formats), and that the harness leaves nothing
 * behind.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libqtest.h"

static void expect_reply(QTestState *s, const char *line, const char *want)
{
    char *r = qtest_raw(s, line);

    if (strcmp(r, want) != 0) {
        qt_fail("'%s' answered '%s', want '%s'", line, r, want);
    }
    free(r);
}

static void expect_prefix(QTestState *s, const char *line, const char *want)
{
    char *r = qtest_raw(s, line);

    if (strncmp(r, want, strlen(want)) != 0) {
        qt_fail("'%s' answered '%s', want '%s...'", line, r, want);
    }
    free(r);
}

static void test_qmp(QTestState *s)
{
    json_t *r;
    json_t *err;

    /* Unknown command: QEMU's CommandNotFound class. */
    r = qtest_qmp(s, "{'execute': 'no-such-command', 'id': 7}");
    err = json_object_get(r, "error");
    qt_check(err && !strcmp(json_string_value(json_object_get(err, "class")),
                            "CommandNotFound"),
             "unknown command: no CommandNotFound error");
    qt_check(json_integer_value(json_object_get(r, "id")) == 7,
             "reply does not echo the id");
    json_decref(r);

    /* Second qmp_capabilities is an error, as in QEMU. */
    r = qtest_qmp(s, "{'execute': 'qmp_capabilities'}");
    qt_check(json_object_get(r, "error") != NULL,
             "second qmp_capabilities accepted");
    json_decref(r);

    /* Bad parameter value. */
    r = qtest_qmp(s, "{'execute': 'migrate-set-parameters', 'arguments': "
                     "{'multifd-compression': 'lz4'}}");
    qt_check(json_object_get(r, "error") != NULL, "lz4 accepted");
    json_decref(r);

    r = qtest_qmp_ok(s, "{'execute': 'query-status'}");
    qt_check(
        !strcmp(json_string_value(json_object_get(r, "status")), "running") &&
            json_is_true(json_object_get(r, "running")),
        "query-status: not running at start");
    json_decref(r);

    qtest_qmp_assert_success(s, "{'execute': 'stop'}");
    qtest_qmp_eventwait(s, "STOP");
    r = qtest_qmp_ok(s, "{'execute': 'query-status'}");
    qt_check(!strcmp(json_string_value(json_object_get(r, "status")), "paused"),
             "query-status after stop");
    json_decref(r);

    /* x-colo-lost-heartbeat outside COLO: an error. */
    r = qtest_qmp(s, "{'execute': 'x-colo-lost-heartbeat'}");
    qt_check(json_object_get(r, "error") != NULL,
             "x-colo-lost-heartbeat accepted outside COLO");
    json_decref(r);

    r = qtest_qmp_ok(s, "{'execute': 'query-migrate'}");
    qt_check(json_object_get(r, "status") == NULL,
             "query-migrate has a status before any migration");
    json_decref(r);
}

static void test_qtest(QTestState *s)
{
    uint8_t buf[300];
    uint8_t back[300];
    size_t i;

    /* The guest is stopped (test_qmp): memory only changes by us. */
    qtest_writeq(s, 0x1000, 0x1122334455667788ull);
    qt_check(qtest_readb(s, 0x1000) == 0x88, "readb little-endian");
    qt_check(qtest_readw(s, 0x1000) == 0x7788, "readw");
    qt_check(qtest_readl(s, 0x1004) == 0x11223344, "readl");
    qt_check(qtest_readq(s, 0x1000) == 0x1122334455667788ull, "readq");
    expect_reply(s, "readb 0x1001", "OK 0x77");
    expect_reply(s, "readw 0x1000", "OK 0x7788");
    expect_reply(s, "readl 0x1000", "OK 0x55667788");
    expect_reply(s, "readq 0x1000", "OK 0x1122334455667788");
    expect_reply(s, "writel 0x2000 0xdeadbeef", "OK");
    expect_reply(s, "read 0x2000 4", "OK 0xefbeadde");
    expect_reply(s, "write 0x2000 2 0x0102", "OK");
    expect_reply(s, "read 0x2000 4", "OK 0x0102adde");
    expect_reply(s, "memset 0x2000 3 0xff", "OK");
    expect_reply(s, "read 0x2000 4", "OK 0xffffffde");
    expect_prefix(s, "frobnicate 1", "FAIL");
    expect_prefix(s, "readb", "FAIL");
    expect_prefix(s, "readb 0x7fffffffffff", "FAIL");
    for (i = 0; i < sizeof(buf); i++) {
        buf[i] = (uint8_t)(i * 7 + 3);
    }
    /* Across the boundary between the two blocks. */
    qtest_memwrite(s, 0x100000 - 150, buf, sizeof(buf));
    qtest_memread(s, 0x100000 - 150, back, sizeof(back));
    qt_check(!memcmp(buf, back, sizeof(buf)), "memwrite/memread differ");
    qtest_memset(s, 0x3000, 0xab, 16);
    qt_check(qtest_readq(s, 0x3008) == 0xababababababababull, "memset");
}

/*
 * A test that fails (qt_fail) or is terminated (SIGTERM, as meson does on
 * a timeout) must leave no VM process and no temporary file: run one in a
 * child, learn its VM's pid and its directory, end it, then look.
 */
static void test_cleanup(bool by_signal)
{
    int pfd[2];
    pid_t child;
    char info[4400];
    ssize_t n;
    long vm_pid = 0;
    char dir[4300] = "";
    struct stat st;
    int status;
    int i;

    qt_check(pipe(pfd) == 0, "pipe");
    child = fork();
    qt_check(child >= 0, "fork");
    if (child == 0) {
        QTestState *s;
        int len;

        close(pfd[0]);
        /* Its FAIL report is expected: keep it out of the test log. */
        freopen("/dev/null", "w", stderr);
        s = qtest_start("doomed", "-m 256K -workload none");
        len = snprintf(info, sizeof(info), "%ld %s", (long)qtest_pid(s),
                       qt_tmpdir());
        if (write(pfd[1], info, (size_t)len) != len) {
            _exit(3);
        }
        close(pfd[1]);
        if (by_signal) {
            pause();
        }
        qt_fail("deliberate failure (cleanup test)");
    }
    close(pfd[1]);
    /* The child's waits are bounded by qt_timeout_ms(); so are these. */
    qt_check(poll(&(struct pollfd){ .fd = pfd[0], .events = POLLIN }, 1,
                  qt_timeout_ms()) == 1,
             "watchdog: no report from the child (pid %ld) within %d ms "
             "(poll)",
             (long)child, qt_timeout_ms());
    n = read(pfd[0], info, sizeof(info) - 1);
    close(pfd[0]);
    qt_check(n > 0, "no report from the child");
    info[n] = '\0';
    qt_check(sscanf(info, "%ld %4299s", &vm_pid, dir) == 2, "bad report");
    if (by_signal) {
        kill(child, SIGTERM);
    }
    for (i = 0; waitpid(child, &status, WNOHANG) != child; i++) {
        if (i * 10 > qt_timeout_ms()) {
            kill(child, SIGKILL);
            qt_fail("watchdog: the child (pid %ld) did not end within %d ms "
                    "(waitpid)",
                    (long)child, qt_timeout_ms());
        }
        usleep(10000);
    }
    if (by_signal) {
        qt_check(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM,
                 "child did not end by SIGTERM (status 0x%x)", status);
    } else {
        qt_check(WIFEXITED(status) && WEXITSTATUS(status) == 1,
                 "child did not fail (status 0x%x)", status);
    }
    /* The VM was the child's child: killed and reaped there. */
    for (i = 0; i < 200 && kill((pid_t)vm_pid, 0) == 0; i++) {
        usleep(10000);
    }
    qt_check(kill((pid_t)vm_pid, 0) < 0 && errno == ESRCH,
             "VM %ld survived its test's %s", vm_pid,
             by_signal ? "SIGTERM" : "failure");
    qt_check(stat(dir, &st) < 0 && errno == ENOENT,
             "%s left behind after the test's %s", dir,
             by_signal ? "SIGTERM" : "failure");
}

int main(void)
{
    QTestState *s;
    const char *dir;
    DIR *d;
    struct dirent *e;
    int left = 0;

    qt_set_seed(1, "/mfcolo/vm/protocol");
    test_cleanup(false);
    test_cleanup(true);
    s = qtest_start("vm", "-block pc.ram=1M -block vga.vram=256K "
                          "-workload increment,delay-us=1000");
    test_qmp(s);
    test_qtest(s);
    qtest_qmp_assert_success(s, "{'execute': 'cont'}");
    qtest_qmp_eventwait(s, "RESUME");
    qtest_quit(s);

    /* Nothing left but the (empty) private directory itself. */
    dir = qt_tmpdir();
    d = opendir(dir);
    while (d && (e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
            qt_log("left behind: %s/%s", dir, e->d_name);
            left++;
        }
    }
    if (d) {
        closedir(d);
    }
    qt_check(left == 0, "%d files left in %s", left, dir);
    printf("ok /mfcolo/vm/protocol\n");
    return 0;
}
