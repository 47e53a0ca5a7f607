/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mfcolo-vm: command line, guest memory, run state and the main loop
 * (QMP and qtest sockets).  Options (docs/qtest.md):
 *   -name NAME              label in logs
 *   -m SIZE                 guest memory (one block "pc.ram") [4M]
 *   -block NAME=SIZE        a named RAM block (repeatable; replaces -m)
 *   -qmp unix:PATH          connect the QMP monitor to PATH (required)
 *   -qtest unix:PATH        connect the qtest protocol to PATH
 *   -incoming URI|defer     run as the secondary (tcp:127.0.0.1:PORT)
 *   -workload SPEC          see vcpu.c [increment]
 *   -seed N                 workload and stream seed [1]
 *   -uuid HEX32             uuid in multifd handshakes [all zero]
 *   -ckpt-dir DIR           primary: write ckpt-<n>.img per checkpoint
 *   -S                      do not start the vCPU
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "base/bitmap.h"
#include "mig.h"
#include "qmp.h"
#include "qtest-proto.h"

void vm_log(Vm *vm, const char *fmt, ...)
{
    struct timespec ts;
    char line[512];
    va_list ap;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    fprintf(stderr, "[%ld.%03ld %s] %s\n", (long)ts.tv_sec,
            ts.tv_nsec / 1000000, vm->name, line);
}

const VmBlock *vm_block_at(const Vm *vm, uint64_t addr)
{
    size_t i;

    for (i = 0; i < vm->nblocks; i++) {
        const VmBlock *b = &vm->blocks[i];
        if (addr >= b->base && addr - b->base < b->size) {
            return b;
        }
    }
    return NULL;
}

const VmBlock *vm_block_by_name(const Vm *vm, const char *name)
{
    size_t i;

    for (i = 0; i < vm->nblocks; i++) {
        if (strcmp(vm->blocks[i].name, name) == 0) {
            return &vm->blocks[i];
        }
    }
    return NULL;
}

/* Walk [addr, addr + len) block by block. */
static bool vm_mem_access(Vm *vm, uint64_t addr, uint8_t *buf, uint64_t len,
                          bool write)
{
    if (addr >= vm->ram_size || len > vm->ram_size - addr) {
        return false;
    }
    while (len > 0) {
        const VmBlock *b = vm_block_at(vm, addr);
        uint64_t off = addr - b->base;
        uint64_t n = b->size - off < len ? b->size - off : len;

        if (write) {
            uint64_t a;
            for (a = addr & ~(uint64_t)(VM_PAGE_SIZE - 1); a < addr + n;
                 a += VM_PAGE_SIZE) {
                vm_mark_dirty(vm, a);
            }
            memcpy(b->host + off, buf, n);
        } else {
            memcpy(buf, b->host + off, n);
        }
        addr += n;
        buf += n;
        len -= n;
    }
    return true;
}

bool vm_mem_read(Vm *vm, uint64_t addr, void *buf, uint64_t len)
{
    return vm_mem_access(vm, addr, buf, len, false);
}

bool vm_mem_write(Vm *vm, uint64_t addr, const void *buf, uint64_t len)
{
    return vm_mem_access(vm, addr, (uint8_t *)buf, len, true);
}

void vm_mark_dirty(Vm *vm, uint64_t addr)
{
    uint64_t page = addr / VM_PAGE_SIZE;
    VmDirtyHook hook = vm->dirty_hook;

    mf_bitmap_set_atomic(vm->dirty, page);
    mf_bitmap_set_atomic(vm->own_dirty, page);
    if (hook) {
        const VmBlock *b = vm_block_at(vm, addr);
        hook(vm->dirty_opaque, b,
             (addr - b->base) & ~(uint64_t)(VM_PAGE_SIZE - 1));
    }
}

void vm_set_runstate(Vm *vm, const char *state)
{
    pthread_mutex_lock(&vm->lock);
    snprintf(vm->runstate, sizeof(vm->runstate), "%s", state);
    pthread_mutex_unlock(&vm->lock);
}

void vm_get_runstate(Vm *vm, char *buf, size_t size)
{
    pthread_mutex_lock(&vm->lock);
    snprintf(buf, size, "%s", vm->runstate);
    pthread_mutex_unlock(&vm->lock);
}

void vm_set_mig_status(Vm *vm, const char *status)
{
    bool changed;

    pthread_mutex_lock(&vm->lock);
    changed = strcmp(vm->mig_status, status) != 0;
    snprintf(vm->mig_status, sizeof(vm->mig_status), "%s", status);
    pthread_mutex_unlock(&vm->lock);
    if (changed) {
        vm_log(vm, "migration status %s", status);
        qmp_event(vm->qmp, "MIGRATION", json_pack("{s:s}", "status", status));
    }
}

void vm_get_mig_status(Vm *vm, char *buf, size_t size)
{
    pthread_mutex_lock(&vm->lock);
    snprintf(buf, size, "%s", vm->mig_status);
    pthread_mutex_unlock(&vm->lock);
}

void vm_stop(Vm *vm, const char *state)
{
    bool was_running;

    pthread_mutex_lock(&vm->lock);
    was_running = strcmp(vm->runstate, "running") == 0;
    snprintf(vm->runstate, sizeof(vm->runstate), "%s", state);
    pthread_mutex_unlock(&vm->lock);
    vcpu_pause(vm);
    if (was_running) {
        qmp_event(vm->qmp, "STOP", NULL);
    }
}

void vm_start(Vm *vm)
{
    bool was_running;

    pthread_mutex_lock(&vm->lock);
    was_running = strcmp(vm->runstate, "running") == 0;
    snprintf(vm->runstate, sizeof(vm->runstate), "running");
    pthread_mutex_unlock(&vm->lock);
    vcpu_resume(vm);
    if (!was_running) {
        qmp_event(vm->qmp, "RESUME", NULL);
    }
}

void vm_request_quit(Vm *vm)
{
    ssize_t r;

    vm->quit = true;
    do {
        r = write(vm->wake_fd[1], "q", 1);
    } while (r < 0 && errno == EINTR);
}

static bool parse_size(const char *s, uint64_t *out)
{
    char *end;
    uint64_t v;

    errno = 0;
    v = strtoull(s, &end, 0);
    if (errno || end == s) {
        return false;
    }
    switch (*end) {
    case 'G':
    case 'g':
        v <<= 30;
        end++;
        break;
    case 'M':
    case 'm':
        v <<= 20;
        end++;
        break;
    case 'K':
    case 'k':
        v <<= 10;
        end++;
        break;
    default:
        break;
    }
    *out = v;
    return *end == '\0';
}

static int unix_connect(const char *spec)
{
    struct sockaddr_un sa;
    int fd;

    if (strncmp(spec, "unix:", 5) != 0 ||
        strlen(spec + 5) >= sizeof(sa.sun_path)) {
        return -1;
    }
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    strcpy(sa.sun_path, spec + 5);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return -1;
    }
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static bool add_block(Vm *vm, const char *name, uint64_t size)
{
    VmBlock *b;

    if (vm->nblocks == VM_MAX_BLOCKS || !*name || strlen(name) > 255 ||
        size == 0 || size % VM_PAGE_SIZE || vm_block_by_name(vm, name)) {
        return false;
    }
    b = &vm->blocks[vm->nblocks++];
    snprintf(b->name, sizeof(b->name), "%s", name);
    b->base = vm->ram_size;
    b->size = size;
    vm->ram_size += size;
    return true;
}

static void usage(void)
{
    fprintf(stderr, "usage: mfcolo-vm -qmp unix:PATH [-qtest unix:PATH] "
                    "[-name N] [-m SIZE | -block NAME=SIZE ...] "
                    "[-incoming URI|defer] [-workload SPEC] [-seed N] "
                    "[-uuid HEX] [-ckpt-dir DIR] [-S]\n");
    exit(2);
}

static bool parse_uuid(const char *s, uint8_t out[WIRE_UUID_SIZE])
{
    int i = 0;

    while (*s && i < 2 * WIRE_UUID_SIZE) {
        unsigned v;
        if (*s == '-') {
            s++;
            continue;
        }
        if (sscanf(s, "%1x", &v) != 1) {
            return false;
        }
        out[i / 2] |= (uint8_t)(i % 2 ? v : v << 4);
        i++;
        s++;
    }
    return i == 2 * WIRE_UUID_SIZE && !*s;
}

int main(int argc, char **argv)
{
    static Vm vm;
    const char *qmp_spec = NULL;
    const char *qtest_spec = NULL;
    const char *workload = "increment";
    uint64_t msize = 4u << 20;
    bool start_stopped = false;
    QtestConn *qt = NULL;
    int qmp_sock;
    int i;
    size_t bi;

    signal(SIGPIPE, SIG_IGN);
    vm.name = "vm";
    vm.seed = 1;
    vm.channels = 2;
    vm.checkpoint_delay_ms = 200;
    snprintf(vm.mig_status, sizeof(vm.mig_status), "none");
    pthread_mutex_init(&vm.lock, NULL);
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;

        if (strcmp(a, "-S") == 0) {
            start_stopped = true;
            continue;
        }
        if (!v) {
            usage();
        }
        i++;
        if (strcmp(a, "-name") == 0) {
            vm.name = v;
        } else if (strcmp(a, "-m") == 0) {
            if (!parse_size(v, &msize)) {
                usage();
            }
        } else if (strcmp(a, "-block") == 0) {
            char name[256];
            const char *eq = strchr(v, '=');
            uint64_t sz;
            if (!eq || (size_t)(eq - v) >= sizeof(name)) {
                usage();
            }
            memcpy(name, v, (size_t)(eq - v));
            name[eq - v] = '\0';
            if (!parse_size(eq + 1, &sz) || !add_block(&vm, name, sz)) {
                fprintf(stderr, "bad block %s\n", v);
                return 2;
            }
        } else if (strcmp(a, "-qmp") == 0) {
            qmp_spec = v;
        } else if (strcmp(a, "-qtest") == 0) {
            qtest_spec = v;
        } else if (strcmp(a, "-incoming") == 0) {
            vm.incoming = v;
        } else if (strcmp(a, "-workload") == 0) {
            workload = v;
        } else if (strcmp(a, "-seed") == 0) {
            vm.seed = strtoull(v, NULL, 0);
        } else if (strcmp(a, "-uuid") == 0) {
            if (!parse_uuid(v, vm.uuid)) {
                usage();
            }
        } else if (strcmp(a, "-ckpt-dir") == 0) {
            vm.ckpt_dir = v;
        } else {
            usage();
        }
    }
    if (!qmp_spec) {
        usage();
    }
    if (vm.nblocks == 0 && !add_block(&vm, "pc.ram", msize)) {
        fprintf(stderr, "bad memory size\n");
        return 2;
    }
    vm.npages = vm.ram_size / VM_PAGE_SIZE;
    vm.mem = calloc(1, vm.ram_size);
    vm.dirty = mf_bitmap_new("qtest/vm-dirty", vm.npages);
    vm.own_dirty = mf_bitmap_new("qtest/vm-own-dirty", vm.npages);
    if (!vm.mem || !vm.dirty || !vm.own_dirty || pipe(vm.wake_fd) < 0) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    for (bi = 0; bi < vm.nblocks; bi++) {
        vm.blocks[bi].host = vm.mem + vm.blocks[bi].base;
    }
    if (!vcpu_init(&vm, workload)) {
        fprintf(stderr, "bad workload %s\n", workload);
        return 2;
    }

    qmp_sock = unix_connect(qmp_spec);
    if (qmp_sock < 0) {
        fprintf(stderr, "cannot connect QMP to %s: %s\n", qmp_spec,
                strerror(errno));
        return 1;
    }
    vm.qmp = qmp_new(&vm, qmp_sock);
    if (qtest_spec) {
        int fd = unix_connect(qtest_spec);
        if (fd < 0) {
            fprintf(stderr, "cannot connect qtest to %s\n", qtest_spec);
            return 1;
        }
        qt = qtest_conn_new(&vm, fd);
    }

    if (vm.incoming) {
        snprintf(vm.runstate, sizeof(vm.runstate), "inmigrate");
        if (strcmp(vm.incoming, "defer") != 0) {
            MigErr e = { "" };
            if (!dst_incoming(&vm, vm.incoming, &e)) {
                fprintf(stderr, "-incoming %s: %s\n", vm.incoming, e.desc);
                return 1;
            }
        }
    } else if (start_stopped) {
        snprintf(vm.runstate, sizeof(vm.runstate), "prelaunch");
    } else {
        snprintf(vm.runstate, sizeof(vm.runstate), "running");
        vcpu_resume(&vm);
    }
    vm_log(&vm, "up: %" PRIu64 " bytes in %zu blocks, %s, seed %" PRIu64,
           vm.ram_size, vm.nblocks, vm.incoming ? "secondary" : "primary",
           vm.seed);

    while (!vm.quit) {
        struct pollfd pfd[3];
        int n = 0;

        pfd[n].fd = vm.wake_fd[0];
        pfd[n++].events = POLLIN;
        pfd[n].fd = qmp_fd(vm.qmp);
        pfd[n++].events = POLLIN;
        if (qt) {
            pfd[n].fd = qtest_conn_fd(qt);
            pfd[n++].events = POLLIN;
        }
        if (poll(pfd, (nfds_t)n, -1) < 0) {
            if (errno == EINTR) {
                continue;
            }
            break;
        }
        if (pfd[1].revents && !qmp_handle_input(vm.qmp)) {
            vm_log(&vm, "QMP closed: quitting");
            break;
        }
        if (qt && pfd[2].revents && !qtest_conn_handle_input(qt)) {
            vm_log(&vm, "qtest closed: quitting");
            break;
        }
    }
    vm_log(&vm, "quit");
    /* Stop the migration threads first, then the vCPU, then QMP. */
    if (vm.incoming) {
        dst_free(&vm);
    } else {
        src_free(&vm);
    }
    vcpu_destroy(&vm);
    qtest_conn_free(qt);
    qmp_free(vm.qmp);
    close(vm.wake_fd[0]);
    close(vm.wake_fd[1]);
    mf_bitmap_free(vm.dirty);
    mf_bitmap_free(vm.own_dirty);
    free(vm.mem);
    return 0;
}
