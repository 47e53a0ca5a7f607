/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The real-QEMU side of the backend seam (see qemu-backend.h). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "qemu-backend.h"

static int64_t qb_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const char *qt_qemu_binary(const char **source)
{
    static const char *const vars[] = { "QTEST_QEMU_BINARY", "MFCOLO_QEMU" };
    size_t i;

    for (i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
        const char *v = getenv(vars[i]);

        if (v && *v) {
            if (source) {
                *source = vars[i];
            }
            return v;
        }
    }
    if (source) {
        *source = "default";
    }
    return QT_QEMU_DEFAULT_BINARY;
}

/* Reap @pid within @timeout_ms, SIGKILL and reap otherwise. */
static int qb_reap(pid_t pid, int timeout_ms, bool *killed)
{
    int64_t end = qb_now_ms() + timeout_ms;
    int status = 0;

    *killed = false;
    for (;;) {
        pid_t r = waitpid(pid, &status, WNOHANG);

        if (r == pid || (r < 0 && errno != EINTR)) {
            return status;
        }
        if (qb_now_ms() >= end) {
            break;
        }
        usleep(2000);
    }
    kill(pid, SIGKILL);
    *killed = true;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return status;
}

bool qt_qemu_probe(const char *bin, int timeout_ms, char *line,
                   size_t line_size, char *why, size_t why_size)
{
    /* `-version` takes ~0.3 s: remember the last success per binary */
    static char cached_bin[4096];
    static char cached_line[160];
    static struct stat cached_st;
    struct stat st;
    char out[1024];
    size_t got = 0;
    int64_t end = qb_now_ms() + timeout_ms;
    int pfd[2];
    pid_t pid;
    int status;
    bool killed;
    size_t n;

    if (access(bin, F_OK) < 0) {
        snprintf(why, why_size, "%s does not exist", bin);
        return false;
    }
    if (access(bin, X_OK) < 0) {
        snprintf(why, why_size, "%s is not executable: %s", bin,
                 strerror(errno));
        return false;
    }
    if (stat(bin, &st) == 0 && !strcmp(bin, cached_bin) &&
        st.st_ino == cached_st.st_ino && st.st_dev == cached_st.st_dev &&
        st.st_mtime == cached_st.st_mtime) {
        snprintf(line, line_size, "%s", cached_line);
        return true;
    }
    if (pipe2(pfd, O_CLOEXEC) < 0) {
        snprintf(why, why_size, "pipe: %s", strerror(errno));
        return false;
    }
    pid = fork();
    if (pid < 0) {
        snprintf(why, why_size, "fork: %s", strerror(errno));
        close(pfd[0]);
        close(pfd[1]);
        return false;
    }
    if (pid == 0) {
        int devnull = open("/dev/null", O_RDONLY);

        prctl(PR_SET_PDEATHSIG, SIGKILL);
        dup2(pfd[1], 1);
        dup2(pfd[1], 2);
        if (devnull >= 0) {
            dup2(devnull, 0);
        }
        execl(bin, bin, "-version", (char *)NULL);
        _exit(127);
    }
    close(pfd[1]);
    while (got < sizeof(out) - 1) {
        struct pollfd p = { .fd = pfd[0], .events = POLLIN };
        int64_t left = end - qb_now_ms();
        ssize_t r;

        if (left <= 0 || poll(&p, 1, (int)left) <= 0) {
            break;
        }
        r = read(pfd[0], out + got, sizeof(out) - 1 - got);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            break;
        }
        got += (size_t)r;
    }
    close(pfd[0]);
    out[got] = '\0';
    status =
        qb_reap(pid, (int)(end > qb_now_ms() ? end - qb_now_ms() : 0), &killed);
    n = strcspn(out, "\r\n");
    out[n] = '\0';
    if (killed) {
        snprintf(why, why_size, "%s -version did not end within %d ms", bin,
                 timeout_ms);
        return false;
    }
    if (WIFSIGNALED(status)) {
        snprintf(why, why_size, "%s -version died of signal %d", bin,
                 WTERMSIG(status));
        return false;
    }
    if (WEXITSTATUS(status) != 0) {
        snprintf(why, why_size, "%s -version exited with status %d: %s", bin,
                 WEXITSTATUS(status), out);
        return false;
    }
    if (strncmp(out, "QEMU emulator version ", 22) != 0) {
        snprintf(why, why_size,
                 "%s -version printed '%.100s', not 'QEMU emulator "
                 "version ...'",
                 bin, out);
        return false;
    }
    snprintf(line, line_size, "%s", out);
    if (strlen(bin) < sizeof(cached_bin) && stat(bin, &cached_st) == 0) {
        snprintf(cached_bin, sizeof(cached_bin), "%s", bin);
        snprintf(cached_line, sizeof(cached_line), "%.159s", out);
    }
    return true;
}

void qtest_version_print(const QTestState *s, FILE *f)
{
    const QTestVersion *v = qtest_version(s);

    fprintf(f, "qemu-binary: %s\n", qtest_binary(s));
    if (qtest_backend(s) == QT_BACKEND_QEMU) {
        fprintf(f, "qemu-version: %s (QMP query-version %d.%d.%d %s)\n",
                v->line, v->major, v->minor, v->micro, v->package);
    } else {
        fprintf(f, "qemu-version: %s\n", v->line);
    }
}

/*
 * One data line of `info ramblock`:
 *   "  NAME  PSIZE UNIT  0xOFFSET 0xUSED 0xTOTAL [HVA RO ...]"
 * The name has no blanks; the first three 0x numbers are what we need.
 */
static bool parse_ramblock(const char *line, QTestRamBlock *b)
{
    char copy[512];
    char *save = NULL;
    char *tok;
    uint64_t num[3];
    int n = 0;

    snprintf(copy, sizeof(copy), "%s", line);
    tok = strtok_r(copy, " \t", &save);
    if (!tok || strlen(tok) >= sizeof(b->name)) {
        return false;
    }
    snprintf(b->name, sizeof(b->name), "%s", tok);
    while (n < 3 && (tok = strtok_r(NULL, " \t", &save)) != NULL) {
        char *end;

        if (strncmp(tok, "0x", 2) != 0) {
            continue;
        }
        errno = 0;
        num[n] = strtoull(tok, &end, 16);
        if (errno || *end) {
            return false;
        }
        n++;
    }
    if (n != 3) {
        return false;
    }
    b->offset = num[0];
    b->used = num[1];
    b->total = num[2];
    return true;
}

int qtest_ramblocks(QTestState *s, QTestRamBlock *out, int max)
{
    json_t *r = qtest_qmp_ok(s, "{'execute': 'human-monitor-command', "
                                "'arguments': {'command-line': "
                                "'info ramblock'}}");
    const char *text = json_string_value(r);
    const char *p = text;
    bool header = false;
    int n = 0;

    if (!text) {
        qt_fail("%s: info ramblock: the reply is not a string", qtest_name(s));
    }
    while (*p) {
        size_t len = strcspn(p, "\r\n");
        char line[512];

        snprintf(line, sizeof(line), "%.*s", (int)len, p);
        p += len;
        p += strspn(p, "\r\n");
        if (!line[strspn(line, " \t")]) {
            continue;
        }
        if (!header) {
            if (!strstr(line, "Block Name") || !strstr(line, "Used")) {
                qt_fail("%s: info ramblock: unexpected header '%s'",
                        qtest_name(s), line);
            }
            header = true;
            continue;
        }
        if (n == max) {
            qt_fail("%s: info ramblock: more than %d blocks", qtest_name(s),
                    max);
        }
        if (!parse_ramblock(line, &out[n])) {
            qt_fail("%s: info ramblock: cannot parse '%s'", qtest_name(s),
                    line);
        }
        n++;
    }
    if (!header || n == 0) {
        qt_fail("%s: info ramblock listed no block: '%.200s'", qtest_name(s),
                text);
    }
    json_decref(r);
    return n;
}

const QTestRamBlock *qtest_ramblock_find(const QTestRamBlock *b, int n,
                                         const char *name)
{
    int i;

    for (i = 0; i < n; i++) {
        if (strcmp(b[i].name, name) == 0) {
            return &b[i];
        }
    }
    return NULL;
}

bool qtest_ram_read(QTestState *s, uint64_t off, void *buf, size_t len)
{
    const char *path = qtest_ram_path(s);
    size_t got = 0;
    int fd;

    if (!path) {
        errno = ENOENT;
        return false;
    }
    if (off > QT_QEMU_RAM_SIZE || len > QT_QEMU_RAM_SIZE - off) {
        errno = ERANGE;
        return false;
    }
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return false;
    }
    while (got < len) {
        ssize_t r = pread(fd, (char *)buf + got, len - got, (off_t)(off + got));

        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            int e = r < 0 ? errno : EIO;

            close(fd);
            errno = e;
            return false;
        }
        got += (size_t)r;
    }
    close(fd);
    return true;
}

int qtest_migrate_incoming_port(QTestState *s)
{
    json_t *r;
    json_t *addr;
    const char *port;
    long v;
    char *end;

    qtest_qmp_assert_success(s, "{'execute': 'migrate-incoming', "
                                "'arguments': {'uri': 'tcp:127.0.0.1:0'}}");
    r = qtest_qmp_ok(s, "{'execute': 'query-migrate'}");
    addr = json_array_get(json_object_get(r, "socket-address"), 0);
    port = json_string_value(json_object_get(addr, "port"));
    if (!port) {
        char *t = json_dumps(r, JSON_COMPACT);

        qt_fail("%s: query-migrate names no listening port: %s", qtest_name(s),
                t ? t : "?");
    }
    v = strtol(port, &end, 10);
    if (*end || v <= 0 || v > 65535) {
        qt_fail("%s: query-migrate port '%s'", qtest_name(s), port);
    }
    json_decref(r);
    return (int)v;
}

int qtest_connect_port(int port)
{
    struct sockaddr_in a = { .sin_family = AF_INET };
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;

    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a))) {
        qt_fail("connect 127.0.0.1:%d: %s", port, strerror(errno));
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}

int qtest_connect_main_channel(QTestState *s, int port, int timeout_ms,
                               uint64_t *sent)
{
    static const uint8_t magic[4] = { 0x51, 0x45, 0x56, 0x4d }; /* QEVM */
    int fd = qtest_connect_port(port);
    json_t *r;

    *sent = 0;
    if (write(fd, magic, sizeof(magic)) != (ssize_t)sizeof(magic)) {
        qt_fail("%s: main channel: writing the file magic: %s", qtest_name(s),
                strerror(errno));
    }
    *sent = sizeof(magic);
    r = qtest_qmp_timeout(s, timeout_ms, "{'execute': 'query-migrate'}");
    if (!r) {
        qt_fail("%s: QMP did not answer within %d ms after the main channel "
                "connected (%" PRIu64 " bytes sent on it)",
                qtest_name(s), timeout_ms, *sent);
    }
    json_decref(r);
    return fd;
}

QTestState *qtest_start_vm_for(QTestState *src, const char *name)
{
    QTestRamBlock blocks[QT_MAX_RAMBLOCKS];
    QTestOpts o = { .backend = QT_BACKEND_VM };
    char args[4096];
    int n, i, len;

    n = qtest_ramblocks(src, blocks, QT_MAX_RAMBLOCKS);
    if (n < 1 || strcmp(blocks[0].name, "pc.ram")) {
        qt_fail("%s: the first RAM block of %s is not pc.ram", name,
                qtest_name(src));
    }
    len = snprintf(args, sizeof(args),
                   "-incoming defer -workload none -uuid %s", QT_QEMU_UUID);
    for (i = 0; i < n; i++) {
        len += snprintf(args + len, sizeof(args) - (size_t)len,
                        " -block %s=%" PRIu64, blocks[i].name, blocks[i].used);
        if ((size_t)len >= sizeof(args)) {
            qt_fail("%s: too many RAM blocks for the command line", name);
        }
    }
    o.args = args;
    return qtest_start_opts(name, &o);
}
