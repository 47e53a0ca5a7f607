/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A small libqtest: start simulated VM processes (mfcolo-vm, path from
 * $MFCOLO_VM_BINARY) or real QEMUs (qemu-backend.h), talk QMP (jansson)
 * and the qtest line protocol to them, wait for events with timeouts,
 * and always clean up: every child is killed and reaped and the private
 * temporary directory removed at exit, on a failed assertion and on
 * SIGTERM/SIGINT/SIGHUP/SIGALRM (children also get PR_SET_PDEATHSIG, so
 * even SIGKILL of the test leaves none).
 *
 * Failures go through qt_fail(): message, the scenario's seed and how to
 * replay it, the tail of each VM's log, then exit(1) via the cleanup.
 */
#ifndef MFCOLO_QTEST_LIBQTEST_H
#define MFCOLO_QTEST_LIBQTEST_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct QTestState QTestState;

/* Default wait for replies and events, ms ($MFCOLO_QTEST_TIMEOUT_MS). */
int qt_timeout_ms(void);

/* The private temporary directory of this test process (created once). */
const char *qt_tmpdir(void);

/* Seed of the running scenario, printed by qt_fail(). */
void qt_set_seed(uint64_t seed, const char *scenario);
uint64_t qt_seed(void);

/* Print, clean up everything and exit(1). */
void qt_fail(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));
#define qt_assert(cond) \
    do { \
        if (!(cond)) { \
            qt_fail("%s:%d: assertion '%s' failed", __FILE__, __LINE__, \
                    #cond); \
        } \
    } while (0)
#define qt_check(cond, ...) \
    do { \
        if (!(cond)) { \
            qt_fail(__VA_ARGS__); \
        } \
    } while (0)

/* Log a line to stderr ("# ..."), as TAP-style diagnostics. */
void qt_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * The backend seam: the same scenario code drives the simulator
 * (mfcolo-vm) or a real qemu-system-x86_64 (qemu-backend.h has the
 * command line and the real-QEMU helpers).
 */
typedef enum QTestBackend {
    QT_BACKEND_VM = 0, /* mfcolo-vm, $MFCOLO_VM_BINARY */
    QT_BACKEND_QEMU,   /* real QEMU, qt_qemu_binary() */
} QTestBackend;

typedef struct QTestOpts {
    QTestBackend backend;
    const char *binary; /* NULL: $MFCOLO_VM_BINARY resp. qt_qemu_binary() */
    const char *args;   /* extra arguments, space separated, appended */
    bool incoming;      /* QT_BACKEND_QEMU: add -incoming defer */
    int timeout_ms;     /* bound of every wait on this VM (0: qt_timeout_ms) */
} QTestOpts;

/*
 * Start a VM named @name (unique among running VMs: it names the
 * sockets, the log and pc.ram's file).  Connects QMP (greeting read,
 * qmp_capabilities done) and qtest; for QT_BACKEND_QEMU also probes the
 * version (qtest_version).  Fails the test on error, with the reason
 * (a missing binary is named with the variable that chose it).
 */
QTestState *qtest_start_opts(const char *name, const QTestOpts *opts);
/* qtest_start_opts with only backend and args set. */
QTestState *qtest_start_backend(QTestBackend backend, const char *name,
                                const char *args);
/* The simulator: qtest_start_backend(QT_BACKEND_VM, name, args). */
QTestState *qtest_start(const char *name, const char *args);
const char *qtest_name(const QTestState *s);
pid_t qtest_pid(const QTestState *s);
QTestBackend qtest_backend(const QTestState *s);
/* The binary that runs (argv[0] given to exec). */
const char *qtest_binary(const QTestState *s);
/* The bound of every wait on @s, ms; settable at any time. */
int qtest_timeout(const QTestState *s);
void qtest_set_timeout(QTestState *s, int timeout_ms);
/* Path of the VM's stderr log (valid until qtest_quit). */
const char *qtest_log_path(const QTestState *s);
/* Last non-empty line of that log (no newline); false if none. */
bool qtest_log_last_line(QTestState *s, char *buf, size_t size);

/*
 * Send a QMP command written in QEMU's test style (printf format; single
 * quotes stand for double quotes) and return the reply (new reference);
 * events that arrive first are queued.  NULL if the VM went away.
 * The simulator's own commands (x-mfcolo-*) fail the test on a real
 * QEMU (qt_fail names the command and the backend).
 */
json_t *qtest_qmp(QTestState *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* As qtest_qmp, fails unless the reply is a "return"; returns it. */
json_t *qtest_qmp_ok(QTestState *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Same, dropping the reply. */
void qtest_qmp_assert_success(QTestState *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * As qtest_qmp but never fails the test: NULL when no reply came within
 * @timeout_ms or the VM went away (a hung QEMU).  A reply that arrives
 * later is dropped, never taken as the answer to a later command.
 */
json_t *qtest_qmp_timeout(QTestState *s, int timeout_ms, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Wait for event @name (queued or new); its "data" or an empty object
 * (new reference).  NULL on timeout or when the VM went away. */
json_t *qtest_qmp_eventwait_ref(QTestState *s, const char *name,
                                int timeout_ms);
/* Fails the test on timeout. */
void qtest_qmp_eventwait(QTestState *s, const char *name);
/* Drop queued events named @name (all if NULL); returns how many. */
int qtest_qmp_drain(QTestState *s, const char *name);

/* query-migrate's status ("" if none); poll until it equals @want. */
void qtest_migrate_status(QTestState *s, char *buf, size_t size);
void qtest_wait_migration_status(QTestState *s, const char *want);

/*
 * qtest protocol.  Every read and write waits at most qtest_timeout(s)
 * for the reply and fails the test otherwise.  Bulk memory goes over
 * b64read/b64write on a real QEMU, read/write (hex) on mfcolo-vm; both
 * address guest-physical memory.
 */
uint8_t qtest_readb(QTestState *s, uint64_t addr);
uint16_t qtest_readw(QTestState *s, uint64_t addr);
uint32_t qtest_readl(QTestState *s, uint64_t addr);
uint64_t qtest_readq(QTestState *s, uint64_t addr);
void qtest_writeb(QTestState *s, uint64_t addr, uint8_t v);
void qtest_writew(QTestState *s, uint64_t addr, uint16_t v);
void qtest_writel(QTestState *s, uint64_t addr, uint32_t v);
void qtest_writeq(QTestState *s, uint64_t addr, uint64_t v);
void qtest_memread(QTestState *s, uint64_t addr, void *buf, size_t len);
void qtest_memwrite(QTestState *s, uint64_t addr, const void *buf, size_t len);
void qtest_memset(QTestState *s, uint64_t addr, uint8_t v, size_t len);
/* Raw line exchange: send @line (no newline), return the reply line
 * (malloc'd, no newline). */
char *qtest_raw(QTestState *s, const char *line);
/*
 * As qtest_memread but never fails the test: false when a reply is
 * missing within @timeout_ms, malformed, or the VM went away.
 */
bool qtest_memread_try(QTestState *s, uint64_t addr, void *buf, size_t len,
                       int timeout_ms);

/* The VM may end by a signal (a kill hook): qtest_quit() accepts it. */
void qtest_expect_death(QTestState *s);
/* Send @sig to the VM (and accept its death). */
void qtest_kill(QTestState *s, int sig);
/*
 * Wait up to @timeout_ms for the VM to exit; true with its wait status.
 * Reaped VMs stay in the state list until qtest_quit().
 */
bool qtest_wait_exit(QTestState *s, int timeout_ms, int *status);
bool qtest_alive(QTestState *s);
/*
 * SIGKILL by pid and reap, bounded by qtest_timeout(s): true with the
 * wait status when it was reaped (a process SIGSTOPped or stuck in the
 * kernel still dies of SIGKILL).  The death is expected.
 */
bool qtest_kill_wait(QTestState *s, int *status);
/*
 * "quit" (if alive), wait, SIGKILL if it lingers, free.  Fails the test
 * if the VM ended with a signal or a non-zero status it was not expected
 * to (a crash or sanitizer report in the VM is a failure).
 */
void qtest_quit(QTestState *s);

/* Tail of the VM's stderr log to our stderr. */
void qtest_dump_log(QTestState *s);

#endif /* MFCOLO_QTEST_LIBQTEST_H */
