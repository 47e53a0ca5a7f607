/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The real-QEMU side of the backend seam (docs/qemu-tier.md).
 *
 * qtest_start_opts() (libqtest.h) with backend QT_BACKEND_QEMU starts a
 * real qemu-system-x86_64 the way QEMU's migration tests start one, on
 * the machine of the recordings in tests/data/qemu-7.2 (their
 * cmdlines.txt), so that a stream recorded there loads into it:
 *
 *   BIN -name NAME -qmp unix:TMP/NAME.qmp -qtest unix:TMP/NAME.qtest
 *       -qtest-log /dev/null
 *       -machine pc-i440fx-7.2,memory-backend=pc.ram -accel tcg -m 32
 *       -smp 1 -nodefaults -display none -device VGA -uuid QT_QEMU_UUID -S
 *       -object memory-backend-file,id=pc.ram,size=32M,
 *               mem-path=TMP/NAME.pc.ram,share=on
 *       [-incoming defer] [opts->args...]
 *
 * The test listens on both unix sockets and QEMU connects to them (as
 * QEMU's own libqtest does).  pc.ram is file-backed so that the block
 * itself can be read exactly (qtest_ram_read): guest-physical reads see
 * the VGA window and the BIOS shadow at 0xa0000-0xfffff instead.
 *
 * Everything here is bounded by the state's timeout (qtest_timeout()),
 * and a QEMU is only ever ended by its pid (SIGKILL) and reaped.
 */
#ifndef MFCOLO_QTEST_QEMU_BACKEND_H
#define MFCOLO_QTEST_QEMU_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "libqtest.h"

/* The binary used when neither variable below is set (Debian 12: 7.2). */
#define QT_QEMU_DEFAULT_BINARY "/usr/bin/qemu-system-x86_64"
/* -uuid of the recordings (multifd's handshake carries it). */
#define QT_QEMU_UUID "6d756c74-6966-6463-6170-747572652121"
#define QT_QEMU_MACHINE "pc-i440fx-7.2"
/* -m 32: the size of pc.ram. */
#define QT_QEMU_RAM_SIZE (32u << 20)

/*
 * The QEMU under test: $QTEST_QEMU_BINARY, else $MFCOLO_QEMU, else
 * QT_QEMU_DEFAULT_BINARY.  @source (optional) gets the variable's name
 * or "default".
 */
const char *qt_qemu_binary(const char **source);

/*
 * Can @bin be run?  false with the exact reason in @why ("... does not
 * exist", "... is not executable", "... -version exited with status 1:
 * LINE", "... -version printed nothing within N ms") otherwise.  On
 * success @line gets the first line of `BIN -version`
 * ("QEMU emulator version 7.2.22 (Debian ...)").  Bounded by @timeout_ms;
 * the child is killed by pid and reaped.
 */
bool qt_qemu_probe(const char *bin, int timeout_ms, char *line,
                   size_t line_size, char *why, size_t why_size);

/*
 * The version of a started VM.  For QT_BACKEND_QEMU: @line from
 * `BIN -version`, the numbers and package from QMP query-version, both
 * taken by qtest_start_opts().  For QT_BACKEND_VM: major = 0 and @line
 * "mfcolo-vm".
 */
typedef struct QTestVersion {
    char line[160];
    int major;
    int minor;
    int micro;
    char package[128];
} QTestVersion;

const QTestVersion *qtest_version(const QTestState *s);
/*
 * Two lines on @f:
 *   qemu-binary: PATH
 *   qemu-version: LINE (QMP query-version MAJOR.MINOR.MICRO PACKAGE)
 */
void qtest_version_print(const QTestState *s, FILE *f);

/* One line of HMP `info ramblock`. */
typedef struct QTestRamBlock {
    char name[128];  /* "pc.ram", "0000:00:02.0/vga.vram", ... */
    uint64_t offset; /* ram_addr_t offset ("Offset") */
    uint64_t used;   /* used_length ("Used") */
    uint64_t total;  /* max_length ("Total") */
} QTestRamBlock;

#define QT_MAX_RAMBLOCKS 32

/*
 * The destination's RAM blocks, over QMP human-monitor-command
 * `info ramblock`, in QEMU's order.  Returns how many (at most @max);
 * fails the test when the reply cannot be parsed.
 */
int qtest_ramblocks(QTestState *s, QTestRamBlock *out, int max);
/* The block named @name among @n, or NULL. */
const QTestRamBlock *qtest_ramblock_find(const QTestRamBlock *b, int n,
                                         const char *name);

/*
 * Start mfcolo-vm (the simulator backend) named @name as the incoming
 * side of a migration from the real QEMU @src: `-incoming defer
 * -workload none`, the uuid of the tier, and one `-block NAME=SIZE` per
 * RAM block of @src (its `info ramblock`, in order).  Fails the test when
 * @src has no pc.ram first or too many blocks.
 */
QTestState *qtest_start_vm_for(QTestState *src, const char *name);

/*
 * The file that backs pc.ram (QT_BACKEND_QEMU; NULL for the simulator).
 * It stays readable after the QEMU died or hangs, until qtest_quit().
 */
const char *qtest_ram_path(const QTestState *s);
/*
 * Read @len bytes of pc.ram at block offset @off from that file: the
 * block's exact content.  false (errno set) when it cannot be read.
 */
bool qtest_ram_read(QTestState *s, uint64_t off, void *buf, size_t len);

/*
 * migrate-incoming on a fresh port: QEMU listens on tcp:127.0.0.1:0 and
 * the port it picked is read back from query-migrate's socket-address
 * (no race with other tests for a port).  Returns the port; fails the
 * test if QEMU refuses or reports no port.
 */
int qtest_migrate_incoming_port(QTestState *s);

/*
 * A TCP connection to 127.0.0.1:@port with TCP_NODELAY set (the peer's
 * listener, e.g. a destination's incoming port).  Fails the test with
 * the errno text when it cannot connect.
 */
int qtest_connect_port(int port);

/*
 * Connect the main channel of a migration to a destination listening on
 * 127.0.0.1:@port, so that it is taken as the main channel before any
 * multifd channel connects, on every QEMU version:
 * - 7.2 takes the first connection it accepts as the main channel: one
 *   QMP round trip after connect() lets its main loop accept it;
 * - 8.0 and later peek at each connection's first 4 bytes in the main
 *   loop thread and poll until they arrive, answering no QMP meanwhile
 *   (docs/qemu-findings.md F2, chan-silent): the be32 file magic is sent
 *   with the connection, so the round trip returns at once.
 * Connected by qtest_connect_port().  On return *@sent = 4: the caller's main stream
 * continues at byte 4, and the first 4 bytes it holds must be the magic.
 * Fails the test when QMP does not answer within @timeout_ms.
 */
int qtest_connect_main_channel(QTestState *s, int port, int timeout_ms,
                               uint64_t *sent);

#endif /* MFCOLO_QTEST_QEMU_BACKEND_H */
