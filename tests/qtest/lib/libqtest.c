/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A small libqtest for mfcolo-vm and real QEMUs (see libqtest.h). */
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
#include "qemu-backend.h"

#define QT_MAX_VMS 8
#define QT_MAX_EVENTS 256

struct QTestState {
    char name[32];
    QTestBackend backend;
    char binary[4096];
    int timeout_ms;
    char ram_path[4200]; /* QT_BACKEND_QEMU: the file behind pc.ram */
    QTestVersion version;
    int qmp_stale; /* replies still owed to commands that timed out */
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
    if (qt_scenario[0]) {
        fprintf(stderr,
                "# scenario %s, seed %" PRIu64
                "\n# replay: MFCOLO_SEED=%" PRIu64 " %s -p %s\n",
                qt_scenario, qt_seed_val, qt_seed_val,
                program_invocation_short_name, qt_scenario);
    }
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
    int64_t end = now_ms() + s->timeout_ms;

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
    qt_fail("%s did not connect %s within %d ms", s->name, what, s->timeout_ms);
}

/* Append the real QEMU's command line (qemu-backend.h) to @argv. */
static int qemu_argv(QTestState *s, char **argv, int argc, bool incoming,
                     char **obj_arg)
{
    static char machine[] = QT_QEMU_MACHINE ",memory-backend=pc.ram";
    char *obj = malloc(4400);

    if (!obj) {
        qt_fail("out of memory");
    }
    snprintf(s->ram_path, sizeof(s->ram_path), "%s/%s.pc.ram", qt_tmpdir(),
             s->name);
    snprintf(obj, 4400,
             "memory-backend-file,id=pc.ram,size=%uM,mem-path=%s,share=on",
             QT_QEMU_RAM_SIZE >> 20, s->ram_path);
    *obj_arg = obj;
    argv[argc++] = "-qtest-log";
    argv[argc++] = "/dev/null";
    argv[argc++] = "-machine";
    argv[argc++] = machine;
    argv[argc++] = "-accel";
    argv[argc++] = "tcg";
    argv[argc++] = "-m";
    argv[argc++] = "32";
    argv[argc++] = "-smp";
    argv[argc++] = "1";
    argv[argc++] = "-nodefaults";
    argv[argc++] = "-display";
    argv[argc++] = "none";
    argv[argc++] = "-device";
    argv[argc++] = "VGA";
    argv[argc++] = "-uuid";
    argv[argc++] = QT_QEMU_UUID;
    argv[argc++] = "-S";
    argv[argc++] = "-object";
    argv[argc++] = obj;
    if (incoming) {
        argv[argc++] = "-incoming";
        argv[argc++] = "defer";
    }
    return argc;
}

QTestState *qtest_start(const char *name, const char *args)
{
    return qtest_start_backend(QT_BACKEND_VM, name, args);
}

QTestState *qtest_start_backend(QTestBackend backend, const char *name,
                                const char *args)
{
    QTestOpts o = { .backend = backend, .args = args };

    return qtest_start_opts(name, &o);
}

QTestState *qtest_start_opts(const char *name, const QTestOpts *o)
{
    const char *bin = o->binary;
    const char *src = "QTestOpts.binary";
    const char *args = o->args;
    const char *dir = qt_tmpdir();
    QTestState *s = calloc(1, sizeof(*s));
    char qmp_path[4200];
    char qtest_path[4200];
    char qmp_arg[4300];
    char qtest_arg[4300];
    char *argv[128];
    char *obj_arg = NULL;
    char *copy;
    char *save = NULL;
    char *tok;
    int argc = 0;
    int lq;
    int lt;
    int slot;
    json_t *greet;

    if (!bin && o->backend == QT_BACKEND_VM) {
        bin = getenv("MFCOLO_VM_BINARY");
        if (!bin) {
            qt_fail("MFCOLO_VM_BINARY is not set (run through meson test)");
        }
    } else if (!bin) {
        bin = qt_qemu_binary(&src);
    }
    for (slot = 0; slot < QT_MAX_VMS && qt_vms[slot]; slot++) {
    }
    if (!s || slot == QT_MAX_VMS) {
        qt_fail("too many VMs");
    }
    s->backend = o->backend;
    s->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : qt_timeout_ms();
    snprintf(s->binary, sizeof(s->binary), "%s", bin);
    snprintf(s->name, sizeof(s->name), "%s", name);
    if (s->backend == QT_BACKEND_QEMU) {
        char why[512];

        if (!qt_qemu_probe(bin, s->timeout_ms, s->version.line,
                           sizeof(s->version.line), why, sizeof(why))) {
            qt_fail("QEMU binary (from %s): %s", src, why);
        }
    } else {
        snprintf(s->version.line, sizeof(s->version.line), "mfcolo-vm");
    }
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
     * A real QEMU never runs under valgrind.
     */
    if (under_valgrind() && s->backend == QT_BACKEND_VM &&
        strstr(copy, "-incoming")) {
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
    if (s->backend == QT_BACKEND_QEMU) {
        argc = qemu_argv(s, argv, argc, o->incoming, &obj_arg);
    }
    for (tok = strtok_r(copy, " ", &save); tok && argc < 127;
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
    free(obj_arg);
    s->qmp_fd = accept_timeout(s, lq, "QMP");
    s->qtest_fd = accept_timeout(s, lt, "qtest");
    close(lq);
    close(lt);
    unlink(qmp_path);
    unlink(qtest_path);

    greet = qtest_qmp_eventwait_ref(s, "__greeting__", s->timeout_ms);
    if (!greet) {
        qt_fail("%s: no QMP greeting", s->name);
    }
    json_decref(greet);
    qtest_qmp_assert_success(s, "{'execute': 'qmp_capabilities'}");
    if (s->backend == QT_BACKEND_QEMU) {
        json_t *v = qtest_qmp_ok(s, "{'execute': 'query-version'}");
        json_t *q = json_object_get(v, "qemu");
        const char *pkg = json_string_value(json_object_get(v, "package"));

        s->version.major = (int)json_integer_value(json_object_get(q, "major"));
        s->version.minor = (int)json_integer_value(json_object_get(q, "minor"));
        s->version.micro = (int)json_integer_value(json_object_get(q, "micro"));
        snprintf(s->version.package, sizeof(s->version.package), "%s",
                 pkg ? pkg : "");
        json_decref(v);
        if (s->version.major <= 0) {
            qt_fail("%s: query-version reported no version", s->name);
        }
    }
    return s;
}

QTestBackend qtest_backend(const QTestState *s)
{
    return s->backend;
}

const char *qtest_binary(const QTestState *s)
{
    return s->binary;
}

int qtest_timeout(const QTestState *s)
{
    return s->timeout_ms;
}

void qtest_set_timeout(QTestState *s, int timeout_ms)
{
    s->timeout_ms = timeout_ms > 0 ? timeout_ms : qt_timeout_ms();
}

const char *qtest_log_path(const QTestState *s)
{
    return s->log;
}

bool qtest_log_last_line(QTestState *s, char *buf, size_t size)
{
    FILE *f = fopen(s->log, "r");
    char line[1024];
    bool found = false;

    if (!f) {
        return false;
    }
    while (fgets(line, sizeof(line), f)) {
        size_t n = strcspn(line, "\r\n");

        line[n] = '\0';
        if (n > 0 && size > 0) {
            snprintf(buf, size, "%s", line);
            found = true;
        }
    }
    fclose(f);
    return found;
}

const QTestVersion *qtest_version(const QTestState *s)
{
    return &s->version;
}

const char *qtest_ram_path(const QTestState *s)
{
    return s->backend == QT_BACKEND_QEMU ? s->ram_path : NULL;
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
            if (s->qmp_stale > 0) {
                /* the late answer to a command that timed out */
                s->qmp_stale--;
                json_decref(obj);
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

static json_t *qmp_vsend(QTestState *s, int timeout_ms, const char *fmt,
                         va_list ap)
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
    if (s->backend != QT_BACKEND_VM) {
        const char *ex = json_string_value(json_object_get(cmd, "execute"));

        if (!ex) {
            ex = json_string_value(json_object_get(cmd, "exec-oob"));
        }
        if (ex && strncmp(ex, "x-mfcolo-", 9) == 0) {
            qt_fail("%s: '%s' is a command of the simulator (mfcolo-vm); "
                    "%s is a real QEMU (%s)",
                    s->name, ex, s->name, s->binary);
        }
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
    reply = qmp_receive(s, timeout_ms);
    if (!reply && s->qmp_fd >= 0) {
        s->qmp_stale++;
    }
    return reply;
}

json_t *qtest_qmp(QTestState *s, const char *fmt, ...)
{
    va_list ap;
    json_t *r;

    va_start(ap, fmt);
    r = qmp_vsend(s, s->timeout_ms, fmt, ap);
    va_end(ap);
    return r;
}

json_t *qtest_qmp_timeout(QTestState *s, int timeout_ms, const char *fmt, ...)
{
    va_list ap;
    json_t *r;

    va_start(ap, fmt);
    r = qmp_vsend(s, timeout_ms, fmt, ap);
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
    r = qmp_vsend(s, s->timeout_ms, fmt, ap);
    if (!r) {
        qt_fail("%s: no reply to %s within %d ms", s->name, cmd, s->timeout_ms);
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
                /* a stray reply (after a timeout) */
                json_decref(obj);
                if (s->qmp_stale > 0) {
                    s->qmp_stale--;
                }
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
    json_t *ev = qtest_qmp_eventwait_ref(s, name, s->timeout_ms);

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
            if (s->qmp_stale > 0) {
                s->qmp_stale--;
            }
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
    int64_t end = now_ms() + s->timeout_ms;
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

/*
 * Send @line and wait up to @timeout_ms for the reply line.  NULL with
 * the reason in @why when none came (nothing fails here).
 */
static char *qtest_raw_try(QTestState *s, const char *line, int timeout_ms,
                           char *why, size_t why_size)
{
    size_t n = strlen(line);
    size_t off = 0;
    int64_t end = now_ms() + timeout_ms;

    if (s->qtest_fd < 0) {
        snprintf(why, why_size, "qtest connection closed");
        return NULL;
    }
    while (off <= n) {
        /* the line, then its newline */
        const char *p = off < n ? line + off : "\n";
        size_t len = off < n ? n - off : 1;
        ssize_t r = send(s->qtest_fd, p, len, MSG_NOSIGNAL);

        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            snprintf(why, why_size, "qtest write: %s", strerror(errno));
            return NULL;
        }
        off += (size_t)r;
    }
    for (;;) {
        char *nl = s->qbuf ? memchr(s->qbuf, '\n', s->qlen) : NULL;
        struct pollfd p = { .fd = s->qtest_fd, .events = POLLIN };
        ssize_t r;

        if (nl) {
            size_t len = (size_t)(nl - s->qbuf);
            char *out = malloc(len + 1);

            if (!out) {
                qt_fail("out of memory");
            }
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
            snprintf(why, why_size, "no qtest reply within %d ms", timeout_ms);
            return NULL;
        }
        r = read(s->qtest_fd, s->qbuf + s->qlen, s->qcap - s->qlen);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            snprintf(why, why_size, "qtest connection closed");
            return NULL;
        }
        s->qlen += (size_t)r;
    }
}

char *qtest_raw(QTestState *s, const char *line)
{
    char why[128];
    char *r = qtest_raw_try(s, line, s->timeout_ms, why, sizeof(why));

    if (!r) {
        qt_fail("%s: '%.40s': %s", s->name, line, why);
    }
    return r;
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

static const char b64_chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Standard base64 with padding; @out has room for 4 * ((n + 2) / 3) + 1. */
static void b64_encode(const uint8_t *in, size_t n, char *out)
{
    size_t i;

    for (i = 0; i + 2 < n; i += 3) {
        uint32_t v =
            (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        *out++ = b64_chars[v >> 18];
        *out++ = b64_chars[(v >> 12) & 63];
        *out++ = b64_chars[(v >> 6) & 63];
        *out++ = b64_chars[v & 63];
    }
    if (i < n) {
        uint32_t v = (uint32_t)in[i] << 16;

        if (i + 1 < n) {
            v |= (uint32_t)in[i + 1] << 8;
        }
        *out++ = b64_chars[v >> 18];
        *out++ = b64_chars[(v >> 12) & 63];
        *out++ = i + 1 < n ? b64_chars[(v >> 6) & 63] : '=';
        *out++ = '=';
    }
    *out = '\0';
}

/* Decode exactly @n bytes from @in; false if @in is not that. */
static bool b64_decode(const char *in, uint8_t *out, size_t n)
{
    size_t len = strlen(in);
    size_t got = 0;
    size_t i;

    if (len != 4 * ((n + 2) / 3)) {
        return false;
    }
    for (i = 0; i < len; i += 4) {
        uint32_t v = 0;
        int k;

        for (k = 0; k < 4; k++) {
            const char *c = strchr(b64_chars, in[i + k]);

            if (in[i + k] == '=' && i + 4 == len && k >= 2) {
                v <<= 6;
            } else if (!c || !in[i + k]) {
                return false;
            } else {
                v = v << 6 | (uint32_t)(c - b64_chars);
            }
        }
        for (k = 2; k >= 0 && got < n; k--) {
            out[got++] = (uint8_t)(v >> (8 * k));
        }
    }
    return got == n;
}

static int hexv(char c)
{
    return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
}

/* One chunk of at most 64 KiB; false with @why on any problem. */
static bool mem_read_chunk(QTestState *s, uint64_t addr, uint8_t *out, size_t n,
                           int timeout_ms, char *why, size_t why_size)
{
    bool b64 = s->backend == QT_BACKEND_QEMU;
    char line[80];
    char *r;
    size_t i;
    bool ok;

    snprintf(line, sizeof(line), "%s 0x%" PRIx64 " %zu",
             b64 ? "b64read" : "read", addr, n);
    r = qtest_raw_try(s, line, timeout_ms, why, why_size);
    if (!r) {
        return false;
    }
    if (b64) {
        ok = strncmp(r, "OK ", 3) == 0 && b64_decode(r + 3, out, n);
    } else {
        ok = strncmp(r, "OK 0x", 5) == 0 && strlen(r) == 5 + 2 * n;
        for (i = 0; ok && i < n; i++) {
            out[i] = (uint8_t)(hexv(r[5 + 2 * i]) << 4 | hexv(r[6 + 2 * i]));
        }
    }
    if (!ok) {
        snprintf(why, why_size, "'%s' answered '%.60s'", line, r);
    }
    free(r);
    return ok;
}

bool qtest_memread_try(QTestState *s, uint64_t addr, void *buf, size_t len,
                       int timeout_ms)
{
    uint8_t *out = buf;
    char why[200];

    while (len > 0) {
        size_t n = len > 65536 ? 65536 : len;

        if (!mem_read_chunk(s, addr, out, n, timeout_ms, why, sizeof(why))) {
            return false;
        }
        out += n;
        addr += n;
        len -= n;
    }
    return true;
}

void qtest_memread(QTestState *s, uint64_t addr, void *buf, size_t len)
{
    uint8_t *out = buf;
    char why[200];

    while (len > 0) {
        size_t n = len > 65536 ? 65536 : len;

        if (!mem_read_chunk(s, addr, out, n, s->timeout_ms, why, sizeof(why))) {
            qt_fail("%s: %s", s->name, why);
        }
        out += n;
        addr += n;
        len -= n;
    }
}

void qtest_memwrite(QTestState *s, uint64_t addr, const void *buf, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    const uint8_t *in = buf;

    while (len > 0) {
        size_t n = len > 65536 ? 65536 : len;
        char *line = malloc(n * 2 + 96);
        int off;
        size_t i;
        char *r;

        if (!line) {
            qt_fail("out of memory");
        }
        if (s->backend == QT_BACKEND_QEMU) {
            off = sprintf(line, "b64write 0x%" PRIx64 " %zu ", addr, n);
            b64_encode(in, n, line + off);
        } else {
            off = sprintf(line, "write 0x%" PRIx64 " %zu 0x", addr, n);
            for (i = 0; i < n; i++) {
                line[off + 2 * i] = hex[in[i] >> 4];
                line[off + 2 * i + 1] = hex[in[i] & 15];
            }
            line[off + 2 * n] = '\0';
        }
        r = qtest_raw(s, line);
        if (strcmp(r, "OK") != 0) {
            qt_fail("%s: %.30s... answered '%s'", s->name, line, r);
        }
        free(r);
        free(line);
        in += n;
        addr += n;
        len -= n;
    }
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

bool qtest_kill_wait(QTestState *s, int *status)
{
    s->may_die = true;
    if (!s->reaped && s->pid > 0) {
        kill(s->pid, SIGKILL);
    }
    return qtest_wait_exit(s, s->timeout_ms, status);
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
        if (!qtest_wait_exit(s, s->timeout_ms, NULL)) {
            qt_log("%s did not quit: SIGKILL", s->name);
            kill(s->pid, SIGKILL);
            qtest_wait_exit(s, s->timeout_ms, NULL);
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
        if (s->ram_path[0]) {
            unlink(s->ram_path);
        }
    }
    for (i = 0; i < QT_MAX_VMS; i++) {
        if (qt_vms[i] == s) {
            qt_vms[i] = NULL;
        }
    }
    free(s->qbuf);
    free(s);
}
