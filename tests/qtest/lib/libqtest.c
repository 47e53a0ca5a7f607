/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A small libqtest for mfcolo-vm (see libqtest.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "libqtest.h"

#define QT_MAX_VMS 8
#define QT_MAX_EVENTS 256

struct QTestState {
    char name[32];
    pid_t pid;
    bool reaped;
    bool may_die; /* killed on purpose: any exit status is fine */
    int status;
    int qmp_fd;
    int qtest_fd;
    char log[4096];
    char rbuf[1 << 16]; /* QMP input not yet parsed */
    size_t rlen;
    char *qbuf; /* qtest input not yet parsed */
    size_t qlen;
    size_t qcap;
    json_t *events[QT_MAX_EVENTS];
    int nevents;
};

static QTestState *qt_vms[QT_MAX_VMS];
static char qt_dir[4096];
static uint64_t qt_seed_val;
static char qt_scenario[256];
static bool qt_handlers;

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool under_valgrind(void)
{
    const char *e = getenv("MFCOLO_UNDER_VALGRIND");

    return e && *e == '1';
}

int qt_timeout_ms(void)
{
    const char *e = getenv("MFCOLO_QTEST_TIMEOUT_MS");
    int v = e ? atoi(e) : 0;

    return v > 0 ? v : under_valgrind() ? 120000 : 20000;
}

void qt_log(const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "# ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n");
}

void qt_set_seed(uint64_t seed, const char *scenario)
{
    qt_seed_val = seed;
    snprintf(qt_scenario, sizeof(qt_scenario), "%s", scenario);
}

uint64_t qt_seed(void)
{
    return qt_seed_val;
}

/* ---- cleanup: children, then the temporary directory ---- */

static void rm_tree(const char *path)
{
    DIR *d = opendir(path);
    struct dirent *e;

    if (d) {
        while ((e = readdir(d)) != NULL) {
            char sub[4400];
            struct stat st;

            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) {
                continue;
            }
            snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
            if (lstat(sub, &st) == 0 && S_ISDIR(st.st_mode)) {
                rm_tree(sub);
            } else {
                unlink(sub);
            }
        }
        closedir(d);
    }
    rmdir(path);
}

static void qt_cleanup(void)
{
    int i;

    for (i = 0; i < QT_MAX_VMS; i++) {
        QTestState *s = qt_vms[i];
        if (s && !s->reaped && s->pid > 0) {
            kill(s->pid, SIGKILL);
            while (waitpid(s->pid, &s->status, 0) < 0 && errno == EINTR) {
            }
            s->reaped = true;
        }
    }
    if (qt_dir[0]) {
        const char *keep = getenv("MFCOLO_QTEST_KEEP");
        if (keep && *keep == '1') {
            fprintf(stderr, "# kept %s (MFCOLO_QTEST_KEEP=1)\n", qt_dir);
        } else {
            rm_tree(qt_dir);
        }
        qt_dir[0] = '\0';
    }
}

static void qt_signal(int sig)
{
    /* Kill the children first (async-signal-safe), then best effort. */
    int i;

    for (i = 0; i < QT_MAX_VMS; i++) {
        if (qt_vms[i] && !qt_vms[i]->reaped && qt_vms[i]->pid > 0) {
            kill(qt_vms[i]->pid, SIGKILL);
        }
    }
    qt_cleanup();
    signal(sig, SIG_DFL);
    raise(sig);
}

static void qt_install_handlers(void)
{
    static const int sigs[] = { SIGTERM, SIGINT, SIGHUP, SIGALRM };
    size_t i;

    if (qt_handlers) {
        return;
    }
    qt_handlers = true;
    atexit(qt_cleanup);
    for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
        struct sigaction sa;
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = qt_signal;
        sigaction(sigs[i], &sa, NULL);
    }
    signal(SIGPIPE, SIG_IGN);
}

/*
 * Directories of test processes that died by SIGKILL (nothing can clean
 * up then) carry their pid: remove those whose process is gone.
 */
static void qt_remove_stale(const char *base)
{
    DIR *d = opendir(base);
    struct dirent *e;

    while (d && (e = readdir(d)) != NULL) {
        long pid;
        char path[4400];

        if (sscanf(e->d_name, "mfcolo-qtest-%ld-", &pid) == 1 && pid > 0 &&
            kill((pid_t)pid, 0) < 0 && errno == ESRCH) {
            snprintf(path, sizeof(path), "%s/%s", base, e->d_name);
            rm_tree(path);
        }
    }
    if (d) {
        closedir(d);
    }
}

const char *qt_tmpdir(void)
{
    if (!qt_dir[0]) {
        const char *base = getenv("TMPDIR");
        qt_install_handlers();
        base = base && *base ? base : "/tmp";
        qt_remove_stale(base);
        snprintf(qt_dir, sizeof(qt_dir), "%s/mfcolo-qtest-%ld-XXXXXX", base,
                 (long)getpid());
        if (!mkdtemp(qt_dir)) {
            qt_dir[0] = '\0';
            fprintf(stderr, "mkdtemp: %s\n", strerror(errno));
            exit(1);
        }
    }
    return qt_dir;
}

void qtest_dump_log(QTestState *s)
{
    FILE *f = fopen(s->log, "r");
    char line[512];
    long size;
    int n = 0;

    if (!f) {
        return;
    }
    fseek(f, 0, SEEK_END);
    size = ftell(f);
    fseek(f, size > 6000 ? size - 6000 : 0, SEEK_SET);
    fprintf(stderr, "# ---- tail of %s's log ----\n", s->name);
    while (fgets(line, sizeof(line), f) && n++ < 200) {
        fprintf(stderr, "#   %s", line);
    }
    fclose(f);
}

void qt_fail(const char *fmt, ...)
{
    va_list ap;
    int i;

    fprintf(stderr, "FAIL: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n");
    for (i = 0; i < QT_MAX_VMS; i++) {
        if (qt_vms[i]) {
            qtest_dump_log(qt_vms[i]);
        }
    }
    fprintf(stderr,
            "# scenario %s, seed %" PRIu64 "\n# replay: MFCOLO_SEED=%" PRIu64
            " %s -p %s\n",
            qt_scenario, qt_seed_val, qt_seed_val,
            program_invocation_short_name, qt_scenario);
    exit(1);
}

/* ---- starting a VM ---- */

static int listen_unix(const char *path)
{
    struct sockaddr_un sa;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (fd < 0 || strlen(path) >= sizeof(sa.sun_path)) {
        qt_fail("socket path %s: %s", path, strerror(errno));
    }
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    strcpy(sa.sun_path, path);
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 1) < 0) {
        qt_fail("listen on %s: %s", path, strerror(errno));
    }
    return fd;
}

static int accept_timeout(QTestState *s, int lfd, const char *what)
{
    int64_t end = now_ms() + qt_timeout_ms();

    while (now_ms() < end) {
        struct pollfd p = { .fd = lfd, .events = POLLIN };
        int r = poll(&p, 1, 100);
        if (r > 0) {
            int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
            if (fd >= 0) {
                return fd;
            }
        }
        if (!qtest_alive(s)) {
            qt_fail("%s exited (status 0x%x) before connecting %s", s->name,
                    s->status, what);
        }
    }
    qt_fail("%s did not connect %s", s->name, what);
}

QTestState *qtest_start(const char *name, const char *args)
{
    const char *bin = getenv("MFCOLO_VM_BINARY");
    const char *dir = qt_tmpdir();
    QTestState *s = calloc(1, sizeof(*s));
    char qmp_path[4200];
    char qtest_path[4200];
    char qmp_arg[4300];
    char qtest_arg[4300];
    char *argv[96];
    char *copy;
    char *save = NULL;
    char *tok;
    int argc = 0;
    int lq;
    int lt;
    int slot;
    json_t *greet;

    if (!bin) {
        qt_fail("MFCOLO_VM_BINARY is not set (run through meson test)");
    }
    for (slot = 0; slot < QT_MAX_VMS && qt_vms[slot]; slot++) {
    }
    if (!s || slot == QT_MAX_VMS) {
        qt_fail("too many VMs");
    }
    snprintf(s->name, sizeof(s->name), "%s", name);
    snprintf(qmp_path, sizeof(qmp_path), "%s/%s.qmp", dir, name);
    snprintf(qtest_path, sizeof(qtest_path), "%s/%s.qtest", dir, name);
    snprintf(s->log, sizeof(s->log), "%s/%s.log", dir, name);
    unlink(qmp_path);
    unlink(qtest_path);
    lq = listen_unix(qmp_path);
    lt = listen_unix(qtest_path);
    snprintf(qmp_arg, sizeof(qmp_arg), "unix:%s", qmp_path);
    snprintf(qtest_arg, sizeof(qtest_arg), "unix:%s", qtest_path);

    copy = strdup(args ? args : "");
    /*
     * Under `meson test --setup valgrind` the secondary (where core/ runs)
     * runs under memcheck too; its report fails the test (qt_scan_log and
     * the exit status).  The primary stays native: it only generates.
     */
    if (under_valgrind() && strstr(copy, "-incoming")) {
        static char supp[4200];
        const char *sf = getenv("MFCOLO_VALGRIND_SUPP");

        snprintf(supp, sizeof(supp), "--suppressions=%s", sf ? sf : "");
        argv[argc++] = "valgrind";
        argv[argc++] = "--quiet";
        argv[argc++] = "--error-exitcode=1";
        argv[argc++] = "--leak-check=full";
        argv[argc++] = "--errors-for-leak-kinds=definite,indirect,possible";
        argv[argc++] = "--show-leak-kinds=definite,indirect,possible";
        argv[argc++] = "--num-callers=30";
        if (sf) {
            argv[argc++] = supp;
        }
    }
    argv[argc++] = (char *)bin;
    argv[argc++] = "-name";
    argv[argc++] = s->name;
    argv[argc++] = "-qmp";
    argv[argc++] = qmp_arg;
    argv[argc++] = "-qtest";
    argv[argc++] = qtest_arg;
    for (tok = strtok_r(copy, " ", &save); tok && argc < 95;
         tok = strtok_r(NULL, " ", &save)) {
        argv[argc++] = tok;
    }
    argv[argc] = NULL;

    qt_vms[slot] = s;
    s->pid = fork();
    if (s->pid < 0) {
        qt_fail("fork: %s", strerror(errno));
    }
    if (s->pid == 0) {
        int fd = open(s->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execvp(argv[0], argv);
        _exit(127);
    }
    free(copy);
    s->qmp_fd = accept_timeout(s, lq, "QMP");
    s->qtest_fd = accept_timeout(s, lt, "qtest");
    close(lq);
    close(lt);
    unlink(qmp_path);
    unlink(qtest_path);

    greet = qtest_qmp_eventwait_ref(s, "__greeting__", qt_timeout_ms());
    if (!greet) {
        qt_fail("%s: no QMP greeting", s->name);
    }
    json_decref(greet);
    qtest_qmp_assert_success(s, "{'execute': 'qmp_capabilities'}");
    return s;
}

const char *qtest_name(const QTestState *s)
{
    return s->name;
}

pid_t qtest_pid(const QTestState *s)
{
    return s->pid;
}

/* ---- QMP ---- */

/* Read what is available (waiting up to @timeout_ms); false on EOF. */
static bool qmp_fill(QTestState *s, int timeout_ms)
{
    struct pollfd p = { .fd = s->qmp_fd, .events = POLLIN };
    ssize_t n;

    if (s->qmp_fd < 0) {
        return false;
    }
    if (poll(&p, 1, timeout_ms) <= 0) {
        return true;
    }
    if (s->rlen == sizeof(s->rbuf)) {
        qt_fail("%s: QMP message too long", s->name);
    }
    n = read(s->qmp_fd, s->rbuf + s->rlen, sizeof(s->rbuf) - s->rlen);
    if (n < 0 && errno == EINTR) {
        return true;
    }
    if (n <= 0) {
        close(s->qmp_fd);
        s->qmp_fd = -1;
        return false;
    }
    s->rlen += (size_t)n;
    return true;
}

/* Next complete JSON object from the buffer, or NULL. */
static json_t *qmp_take(QTestState *s)
{
    json_error_t err;
    json_t *obj;
    size_t skip = 0;

    while (skip < s->rlen && strchr(" \t\r\n", s->rbuf[skip])) {
        skip++;
    }
    memmove(s->rbuf, s->rbuf + skip, s->rlen - skip);
    s->rlen -= skip;
    if (!s->rlen) {
        return NULL;
    }
    obj = json_loadb(s->rbuf, s->rlen, JSON_DISABLE_EOF_CHECK, &err);
    if (!obj) {
        if (json_error_code(&err) == json_error_premature_end_of_input) {
            return NULL;
        }
        qt_fail("%s: bad QMP JSON: %s", s->name, err.text);
    }
    memmove(s->rbuf, s->rbuf + err.position, s->rlen - err.position);
    s->rlen -= err.position;
    return obj;
}

static void queue_event(QTestState *s, json_t *ev)
{
    if (s->nevents == QT_MAX_EVENTS) {
        json_decref(s->events[0]);
        memmove(s->events, s->events + 1,
                sizeof(s->events[0]) * (QT_MAX_EVENTS - 1));
        s->nevents--;
    }
    s->events[s->nevents++] = ev;
}

/* Read one message, queueing events; the first non-event is returned. */
static json_t *qmp_receive(QTestState *s, int timeout_ms)
{
    int64_t end = now_ms() + timeout_ms;

    for (;;) {
        json_t *obj;

        while ((obj = qmp_take(s)) != NULL) {
            if (json_object_get(obj, "QMP")) {
                /* greeting: queue as a pseudo event */
                json_t *ev = json_pack("{s:s,s:O}", "event", "__greeting__",
                                       "data", json_object_get(obj, "QMP"));
                json_decref(obj);
                queue_event(s, ev);
                continue;
            }
            if (json_object_get(obj, "event")) {
                queue_event(s, obj);
                continue;
            }
            return obj;
        }
        if (now_ms() >= end) {
            return NULL;
        }
        if (!qmp_fill(s, (int)(end - now_ms()))) {
            return NULL;
        }
    }
}

static json_t *qmp_vsend(QTestState *s, const char *fmt, va_list ap)
{
    char text[4096];
    char *p;
    json_error_t err;
    json_t *cmd;
    char *out;
    size_t n;
    size_t off = 0;
    json_t *reply;

    vsnprintf(text, sizeof(text), fmt, ap);
    for (p = text; *p; p++) {
        if (*p == '\'') {
            *p = '"';
        }
    }
    cmd = json_loads(text, 0, &err);
    if (!cmd) {
        qt_fail("bad QMP command in test: %s (%s)", text, err.text);
    }
    out = json_dumps(cmd, JSON_COMPACT);
    json_decref(cmd);
    n = strlen(out);
    while (s->qmp_fd >= 0 && off < n) {
        ssize_t r = write(s->qmp_fd, out + off, n - off);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            break;
        }
        off += (size_t)r;
    }
    if (s->qmp_fd >= 0 && write(s->qmp_fd, "\n", 1) != 1) {
        off = 0;
    }
    free(out);
    if (off < n) {
        return NULL;
    }
    reply = qmp_receive(s, qt_timeout_ms());
    return reply;
}

json_t *qtest_qmp(QTestState *s, const char *fmt, ...)
{
    va_list ap;
    json_t *r;

    va_start(ap, fmt);
    r = qmp_vsend(s, fmt, ap);
    va_end(ap);
    return r;
}

static json_t *qmp_vok(QTestState *s, const char *fmt, va_list ap)
{
    va_list ap2;
    json_t *r;
    json_t *ret;
    char cmd[512];

    va_copy(ap2, ap);
    vsnprintf(cmd, sizeof(cmd), fmt, ap2);
    va_end(ap2);
    r = qmp_vsend(s, fmt, ap);
    if (!r) {
        qt_fail("%s: no reply to %s", s->name, cmd);
    }
    ret = json_object_get(r, "return");
    if (!ret) {
        char *t = json_dumps(r, JSON_COMPACT);
        qt_fail("%s: %s failed: %s", s->name, cmd, t);
    }
    json_incref(ret);
    json_decref(r);
    return ret;
}

json_t *qtest_qmp_ok(QTestState *s, const char *fmt, ...)
{
    va_list ap;
    json_t *r;

    va_start(ap, fmt);
    r = qmp_vok(s, fmt, ap);
    va_end(ap);
    return r;
}

void qtest_qmp_assert_success(QTestState *s, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    json_decref(qmp_vok(s, fmt, ap));
    va_end(ap);
}

static json_t *event_pop(QTestState *s, const char *name)
{
    int i;

    for (i = 0; i < s->nevents; i++) {
        const char *n =
            json_string_value(json_object_get(s->events[i], "event"));
        if (n && strcmp(n, name) == 0) {
            json_t *ev = s->events[i];
            json_t *data = json_object_get(ev, "data");
            json_t *ret = data ? json_incref(data) : json_object();

            json_decref(ev);
            memmove(s->events + i, s->events + i + 1,
                    sizeof(s->events[0]) * (size_t)(s->nevents - i - 1));
            s->nevents--;
            return ret;
        }
    }
    return NULL;
}

json_t *qtest_qmp_eventwait_ref(QTestState *s, const char *name, int timeout_ms)
{
    int64_t end = now_ms() + timeout_ms;

    for (;;) {
        json_t *obj;
        json_t *ev = event_pop(s, name);

        if (ev) {
            return ev;
        }
        while ((obj = qmp_take(s)) != NULL) {
            if (json_object_get(obj, "QMP")) {
                json_t *g = json_pack("{s:s,s:O}", "event", "__greeting__",
                                      "data", json_object_get(obj, "QMP"));
                json_decref(obj);
                queue_event(s, g);
            } else if (json_object_get(obj, "event")) {
                queue_event(s, obj);
            } else {
                json_decref(obj); /* a stray reply (after a timeout) */
            }
        }
        ev = event_pop(s, name);
        if (ev) {
            return ev;
        }
        if (now_ms() >= end || !qmp_fill(s, (int)(end - now_ms()))) {
            return NULL;
        }
    }
}

void qtest_qmp_eventwait(QTestState *s, const char *name)
{
    json_t *ev = qtest_qmp_eventwait_ref(s, name, qt_timeout_ms());

    if (!ev) {
        qt_fail("%s: timed out waiting for event %s", s->name, name);
    }
    json_decref(ev);
}

int qtest_qmp_drain(QTestState *s, const char *name)
{
    int n = 0;
    json_t *ev;

    while (qmp_fill(s, 0) && s->rlen) {
        json_t *obj = qmp_take(s);
        if (!obj) {
            break;
        }
        if (json_object_get(obj, "event")) {
            queue_event(s, obj);
        } else {
            json_decref(obj);
        }
    }
    if (!name) {
        while (s->nevents) {
            json_decref(s->events[--s->nevents]);
            n++;
        }
        return n;
    }
    while ((ev = event_pop(s, name)) != NULL) {
        json_decref(ev);
        n++;
    }
    return n;
}

void qtest_migrate_status(QTestState *s, char *buf, size_t size)
{
    json_t *r = qtest_qmp_ok(s, "{'execute': 'query-migrate'}");
    const char *st = json_string_value(json_object_get(r, "status"));

    snprintf(buf, size, "%s", st ? st : "");
    json_decref(r);
}

void qtest_wait_migration_status(QTestState *s, const char *want)
{
    int64_t end = now_ms() + qt_timeout_ms();
    char st[64] = "";

    while (now_ms() < end) {
        qtest_migrate_status(s, st, sizeof(st));
        if (strcmp(st, want) == 0) {
            return;
        }
        if (strcmp(st, "failed") == 0 && strcmp(want, "failed") != 0) {
            qt_fail("%s: migration failed while waiting for '%s'", s->name,
                    want);
        }
        usleep(5000);
    }
    qt_fail("%s: migration status '%s', waited for '%s'", s->name, st, want);
}

/* ---- qtest ---- */

char *qtest_raw(QTestState *s, const char *line)
{
    size_t n = strlen(line);
    size_t off = 0;
    int64_t end = now_ms() + qt_timeout_ms();

    while (off < n) {
        ssize_t r = write(s->qtest_fd, line + off, n - off);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            qt_fail("%s: qtest write: %s", s->name, strerror(errno));
        }
        off += (size_t)r;
    }
    if (write(s->qtest_fd, "\n", 1) != 1) {
        qt_fail("%s: qtest write failed", s->name);
    }
    for (;;) {
        char *nl = s->qbuf ? memchr(s->qbuf, '\n', s->qlen) : NULL;
        struct pollfd p = { .fd = s->qtest_fd, .events = POLLIN };
        ssize_t r;

        if (nl) {
            size_t len = (size_t)(nl - s->qbuf);
            char *out = malloc(len + 1);
            memcpy(out, s->qbuf, len);
            out[len] = '\0';
            memmove(s->qbuf, nl + 1, s->qlen - len - 1);
            s->qlen -= len + 1;
            return out;
        }
        if (s->qcap - s->qlen < 65536) {
            s->qcap = s->qcap ? s->qcap * 2 : 1 << 20;
            s->qbuf = realloc(s->qbuf, s->qcap);
            if (!s->qbuf) {
                qt_fail("out of memory");
            }
        }
        if (now_ms() >= end || poll(&p, 1, (int)(end - now_ms())) <= 0) {
            qt_fail("%s: no qtest reply to '%.40s'", s->name, line);
        }
        r = read(s->qtest_fd, s->qbuf + s->qlen, s->qcap - s->qlen);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            qt_fail("%s: qtest connection closed", s->name);
        }
        s->qlen += (size_t)r;
    }
}

static uint64_t qtest_read_sized(QTestState *s, const char *op, uint64_t addr)
{
    char line[80];
    char *r;
    uint64_t v;

    snprintf(line, sizeof(line), "%s 0x%" PRIx64, op, addr);
    r = qtest_raw(s, line);
    if (strncmp(r, "OK 0x", 5) != 0) {
        qt_fail("%s: '%s' answered '%s'", s->name, line, r);
    }
    v = strtoull(r + 3, NULL, 16);
    free(r);
    return v;
}

static void qtest_write_sized(QTestState *s, const char *op, uint64_t addr,
                              uint64_t v)
{
    char line[96];
    char *r;

    snprintf(line, sizeof(line), "%s 0x%" PRIx64 " 0x%" PRIx64, op, addr, v);
    r = qtest_raw(s, line);
    if (strcmp(r, "OK") != 0) {
        qt_fail("%s: '%s' answered '%s'", s->name, line, r);
    }
    free(r);
}

uint8_t qtest_readb(QTestState *s, uint64_t a)
{
    return (uint8_t)qtest_read_sized(s, "readb", a);
}

uint16_t qtest_readw(QTestState *s, uint64_t a)
{
    return (uint16_t)qtest_read_sized(s, "readw", a);
}

uint32_t qtest_readl(QTestState *s, uint64_t a)
{
    return (uint32_t)qtest_read_sized(s, "readl", a);
}

uint64_t qtest_readq(QTestState *s, uint64_t a)
{
    return qtest_read_sized(s, "readq", a);
}

void qtest_writeb(QTestState *s, uint64_t a, uint8_t v)
{
    qtest_write_sized(s, "writeb", a, v);
}

void qtest_writew(QTestState *s, uint64_t a, uint16_t v)
{
    qtest_write_sized(s, "writew", a, v);
}

void qtest_writel(QTestState *s, uint64_t a, uint32_t v)
{
    qtest_write_sized(s, "writel", a, v);
}

void qtest_writeq(QTestState *s, uint64_t a, uint64_t v)
{
    qtest_write_sized(s, "writeq", a, v);
}

static int hexv(char c)
{
    return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
}

void qtest_memread(QTestState *s, uint64_t addr, void *buf, size_t len)
{
    uint8_t *out = buf;

    while (len > 0) {
        size_t n = len > 65536 ? 65536 : len;
        char line[80];
        char *r;
        size_t i;

        snprintf(line, sizeof(line), "read 0x%" PRIx64 " %zu", addr, n);
        r = qtest_raw(s, line);
        if (strncmp(r, "OK 0x", 5) != 0 || strlen(r) != 5 + 2 * n) {
            qt_fail("%s: '%s' answered '%.60s'", s->name, line, r);
        }
        for (i = 0; i < n; i++) {
            out[i] = (uint8_t)(hexv(r[5 + 2 * i]) << 4 | hexv(r[6 + 2 * i]));
        }
        free(r);
        out += n;
        addr += n;
        len -= n;
    }
}

void qtest_memwrite(QTestState *s, uint64_t addr, const void *buf, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    const uint8_t *in = buf;
    char *line = malloc(len * 2 + 80);
    int off;
    size_t i;
    char *r;

    off = sprintf(line, "write 0x%" PRIx64 " %zu 0x", addr, len);
    for (i = 0; i < len; i++) {
        line[off + 2 * i] = hex[in[i] >> 4];
        line[off + 2 * i + 1] = hex[in[i] & 15];
    }
    line[off + 2 * len] = '\0';
    r = qtest_raw(s, line);
    if (strcmp(r, "OK") != 0) {
        qt_fail("%s: write answered '%s'", s->name, r);
    }
    free(r);
    free(line);
}

void qtest_memset(QTestState *s, uint64_t addr, uint8_t v, size_t len)
{
    char line[96];
    char *r;

    snprintf(line, sizeof(line), "memset 0x%" PRIx64 " %zu 0x%02x", addr, len,
             v);
    r = qtest_raw(s, line);
    if (strcmp(r, "OK") != 0) {
        qt_fail("%s: '%s' answered '%s'", s->name, line, r);
    }
    free(r);
}

/* ---- process control ---- */

/* Sanitizer and valgrind reports in a VM's log fail the test. */
static void qt_scan_log(QTestState *s)
{
    static const char *const bad[] = {
        "runtime error:",  "AddressSanitizer",   "LeakSanitizer",
        "ThreadSanitizer", "ERROR SUMMARY: 1",   "Invalid read",
        "Invalid write",   "definitely lost in",
    };
    FILE *f = fopen(s->log, "r");
    char line[1024];
    size_t i;

    while (f && fgets(line, sizeof(line), f)) {
        for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
            if (strstr(line, bad[i])) {
                fclose(f);
                qt_fail("%s reported: %s", s->name, line);
            }
        }
    }
    if (f) {
        fclose(f);
    }
}

void qtest_expect_death(QTestState *s)
{
    s->may_die = true;
}

void qtest_kill(QTestState *s, int sig)
{
    s->may_die = true;
    if (!s->reaped && s->pid > 0) {
        kill(s->pid, sig);
    }
}

bool qtest_wait_exit(QTestState *s, int timeout_ms, int *status)
{
    int64_t end = now_ms() + timeout_ms;

    while (!s->reaped) {
        pid_t r = waitpid(s->pid, &s->status, WNOHANG);
        if (r == s->pid) {
            s->reaped = true;
            break;
        }
        if (r < 0 && errno != EINTR) {
            s->reaped = true;
            break;
        }
        if (now_ms() >= end) {
            return false;
        }
        usleep(2000);
    }
    if (status) {
        *status = s->status;
    }
    return true;
}

bool qtest_alive(QTestState *s)
{
    return !qtest_wait_exit(s, 0, NULL);
}

void qtest_quit(QTestState *s)
{
    int i;

    if (!s) {
        return;
    }
    if (qtest_alive(s)) {
        json_t *r = qtest_qmp(s, "{'execute': 'quit'}");
        json_decref(r);
        if (!qtest_wait_exit(s, qt_timeout_ms(), NULL)) {
            qt_log("%s did not quit: SIGKILL", s->name);
            kill(s->pid, SIGKILL);
            qtest_wait_exit(s, qt_timeout_ms(), NULL);
        }
    }
    qt_scan_log(s);
    if (!s->may_die && (!WIFEXITED(s->status) || WEXITSTATUS(s->status) != 0)) {
        qt_fail("%s ended badly: %s %d", s->name,
                WIFSIGNALED(s->status) ? "signal" : "exit status",
                WIFSIGNALED(s->status) ? WTERMSIG(s->status)
                                       : WEXITSTATUS(s->status));
    }
    if (s->qmp_fd >= 0) {
        close(s->qmp_fd);
    }
    close(s->qtest_fd);
    for (i = 0; i < s->nevents; i++) {
        json_decref(s->events[i]);
    }
    if (!getenv("MFCOLO_QTEST_KEEP")) {
        unlink(s->log);
    }
    for (i = 0; i < QT_MAX_VMS; i++) {
        if (qt_vms[i] == s) {
            qt_vms[i] = NULL;
        }
    }
    free(s->qbuf);
    free(s);
}
