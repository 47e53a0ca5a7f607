/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The secondary side: listens on TCP, classifies each connection by its
 * first four bytes (main or multifd), hands multifd connections to the
 * core receive engine and the main channel to core/incoming, and plays
 * QEMU's secondary around it: STOP/RESUME at checkpoints, COLO_EXIT on
 * errors, failover on x-colo-lost-heartbeat.  Everything received goes
 * through core/; this file only owns sockets, events and the vCPU.
 */
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/bitmap.h"
#include "chan/chan.h"
#include "colo-check.h"
#include "colo/colo.h"
#include "incoming/incoming.h"
#include "mig.h"
#include "qmp.h"
#include "ram/ram.h"
#include "recv/recv.h"
#include "secondary.h"

#define DST_MAX_CONNS 300

struct MigDst {
    Vm *vm;
    pthread_t thread;
    bool started;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int listen_fd;
    int port;
    int conns[DST_MAX_CONNS]; /* open accepted fds, for yank */
    int nconns;
    int main_fd;
    bool yanked;
    bool failover;
    bool quit;
    bool running; /* incoming_run in progress */
    bool done;    /* thread finished its work */
    /* The receiver (tests/support/secondary.h): RAM table over the VM's
     * blocks and COLO state at migrate-incoming, the engine and the
     * parser once the connections came. */
    Secondary *sec;
    RamBlock *rb[VM_MAX_BLOCKS];
    Chan *main; /* accepted main channel, until attached to sec */
    Chan *reply;
    /* what the oracle asks */
    bool have_vcpu;
    uint64_t checkpoint;  /* id of the last applied device state */
    uint64_t checkpoints; /* completed checkpoints */
    uint64_t flushed_pages;
    char stage[32];
    char error[320];
    bool colo_exit;
    /* test-side pause hook */
    int pause_stage; /* IncomingStage, -1: none */
    uint64_t pause_cp;
    uint64_t stage_count[INCOMING_STAGE_DONE + 1];
    bool continue_req;
};

static void dst_dirty_hook(void *opaque, const VmBlock *b, uint64_t off)
{
    MigDst *d = opaque;
    RamBlock *rb = d->rb[b - d->vm->blocks];

    colo_guest_dirty(rb, off);
}

/* ---- incoming hooks ---- */

static bool h_stop_guest(void *opaque, MfError *err)
{
    MigDst *d = opaque;

    (void)err;
    vm_stop(d->vm, "colo");
    return true;
}

static void h_start_guest(void *opaque)
{
    MigDst *d = opaque;
    Vm *vm = d->vm;

    if (d->sec->colo_on && !vm->dirty_hook &&
        colo_phase(&d->sec->colo) == COLO_PHASE_COLO) {
        /* Entering COLO: the vCPU is stopped, install the dirty log. */
        vm->dirty_opaque = d;
        vm->dirty_hook = dst_dirty_hook;
        if (getenv("MFCOLO_VM_SABOTAGE") &&
            !strcmp(getenv("MFCOLO_VM_SABOTAGE"), "no-guest-dirty")) {
            /* Oracle self-test: the receiver never hears of our writes. */
            vm_log(vm, "SABOTAGE: guest writes not reported to COLO");
            vm->dirty_hook = NULL;
        }
        vm_set_mig_status(vm, "colo");
    }
    if (d->have_vcpu) {
        vm_start(vm);
    } else {
        vm_log(vm, "no vCPU state received: guest stays stopped");
    }
}

static bool h_load_device_state(void *opaque, IncomingDeviceStateKind kind,
                                const uint8_t *data, size_t len, MfError *err)
{
    MigDst *d = opaque;
    VcpuState st;
    uint64_t cp;
    bool ok;

    (void)err;
    if (kind == INCOMING_DEVSTATE_CHECKPOINT && d->sec->colo_on) {
        MfError chk = { 0 };

        /*
         * The checkpoint's RAM is flushed before its device state is
         * loaded, so the devices see the checkpoint's memory: I3 holds
         * here already (docs/verification.md, Second guards).  Refused
         * as INCOMING_ERR_HOOK, located by the parser.
         */
        if (!colo_check_i3(&d->sec->colo, &chk)) {
            vm_log(d->vm, "device state loaded onto RAM not flushed: %s",
                   chk.msg);
            return false;
        }
    }
    if (kind == INCOMING_DEVSTATE_PRECOPY) {
        /* type, be32 id, u8 len, idstr, be32 instance, be32 version */
        size_t hdr = len > 6 ? (size_t)6 + data[5] + 8 : len;
        ok = len >= hdr + VM_DEVSTATE_SIZE &&
             guest_state_decode(data + hdr, VM_DEVSTATE_SIZE, &st, &cp);
    } else {
        ok = guest_state_decode(
            data, len < VM_DEVSTATE_SIZE ? len : VM_DEVSTATE_SIZE, &st, &cp);
    }
    if (!ok) {
        vm_log(d->vm, "device state (%zu bytes) without vCPU state", len);
        return true; /* opaque to the receiver; not an error of it */
    }
    vcpu_set_state(d->vm, &st);
    pthread_mutex_lock(&d->lock);
    d->have_vcpu = true;
    d->checkpoint = cp;
    pthread_mutex_unlock(&d->lock);
    return true;
}

static void h_precopy_done(void *opaque)
{
    MigDst *d = opaque;

    mf_bitmap_zero(d->vm->own_dirty, d->vm->npages);
}

static void h_checkpoint_done(void *opaque, const IncomingCheckpoint *cp)
{
    MigDst *d = opaque;

    /* Guest stopped: what it wrote before was restored by the flush. */
    mf_bitmap_zero(d->vm->own_dirty, d->vm->npages);
    vm_log(d->vm,
           "checkpoint %" PRIu64 ": main %" PRIu64 " pages %" PRIu64
           " zero, %" PRIu64 " syncs, flushed %" PRIu64 " pages (%" PRIu64
           " own) in %" PRIu64 " runs",
           cp->index + 1, cp->pages, cp->zero_pages, cp->syncs, cp->flush.pages,
           cp->flush.guest_pages, cp->flush.runs);
    pthread_mutex_lock(&d->lock);
    d->checkpoints = cp->index + 1;
    d->flushed_pages += cp->flush.pages;
    pthread_mutex_unlock(&d->lock);
}

static void h_stage(void *opaque, IncomingStage stage)
{
    MigDst *d = opaque;
    uint64_t n;

    pthread_mutex_lock(&d->lock);
    snprintf(d->stage, sizeof(d->stage), "%s", incoming_stage_name(stage));
    n = ++d->stage_count[stage];
    if (d->pause_stage == (int)stage &&
        (d->pause_cp == 0 || d->pause_cp == n)) {
        d->pause_stage = -1;
        pthread_mutex_unlock(&d->lock);
        vm_log(d->vm, "hook: paused at %s #%" PRIu64,
               incoming_stage_name(stage), n);
        qmp_event(d->vm->qmp, "X_MFCOLO_HOOK",
                  json_pack("{s:s,s:I}", "stage", incoming_stage_name(stage),
                            "checkpoint", (json_int_t)n));
        pthread_mutex_lock(&d->lock);
        while (!d->continue_req && !d->quit) {
            pthread_cond_wait(&d->cond, &d->lock);
        }
        d->continue_req = false;
    }
    pthread_mutex_unlock(&d->lock);
}

bool dst_set_pause(Vm *vm, const char *stage, uint64_t checkpoint, MigErr *e)
{
    MigDst *d = vm->dst;
    int i;

    if (!d) {
        snprintf(e->desc, sizeof(e->desc),
                 "set hooks after "
                 "'migrate-incoming'");
        return false;
    }
    for (i = 0; i <= INCOMING_STAGE_DONE; i++) {
        if (!strcmp(incoming_stage_name((IncomingStage)i), stage)) {
            pthread_mutex_lock(&d->lock);
            d->pause_stage = i;
            d->pause_cp = checkpoint;
            pthread_mutex_unlock(&d->lock);
            return true;
        }
    }
    snprintf(e->desc, sizeof(e->desc),
             "Parameter 'stage' does not accept "
             "value '%s'",
             stage);
    return false;
}

void dst_continue(Vm *vm)
{
    MigDst *d = vm->dst;

    if (d) {
        pthread_mutex_lock(&d->lock);
        d->continue_req = true;
        pthread_cond_broadcast(&d->cond);
        pthread_mutex_unlock(&d->lock);
    }
}

/* ---- connections ---- */

static bool dst_set_error(MigDst *d, const MfError *err, const char *what)
{
    char buf[288];

    mf_error_format(err, buf, sizeof(buf));
    pthread_mutex_lock(&d->lock);
    if (!d->error[0]) {
        snprintf(d->error, sizeof(d->error), "%s: %s", what, buf);
    }
    pthread_mutex_unlock(&d->lock);
    vm_log(d->vm, "%s: %s", what, buf);
    return false;
}

/* Close the last accepted fd and forget it (never shut a reused fd). */
static void dst_drop_last(MigDst *d, int fd)
{
    pthread_mutex_lock(&d->lock);
    if (d->nconns > 0 && d->conns[d->nconns - 1] == fd) {
        d->nconns--;
    }
    pthread_mutex_unlock(&d->lock);
    close(fd);
}

static bool dst_accept_all(MigDst *d)
{
    Vm *vm = d->vm;
    uint32_t want = vm->cap_multifd ? vm->channels : 0;
    uint32_t got = 0;
    MfError err;

    mf_error_clear(&err);
    if (want) {
        SecondaryMultifd m;

        memset(&m, 0, sizeof(m));
        m.channels = want;
        m.compression = vm->compression;
        m.expect_uuid = true;
        memcpy(m.uuid, vm->uuid, sizeof(m.uuid));
        m.driver = RECV_DRIVER_THREADED;
        m.seed = vm->seed;
        if (!secondary_start_multifd(d->sec, &m, &err)) {
            return dst_set_error(d, &err, "multifd setup");
        }
    }
    while (!d->main || got < want) {
        uint8_t first4[4];
        WireChannelKind kind;
        int fd;
        ssize_t r;
        char label[32];
        Chan *c;

        fd = accept4(d->listen_fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR) {
                continue;
            }
            snprintf(d->error, sizeof(d->error), "accept: %s", strerror(errno));
            return false;
        }
        pthread_mutex_lock(&d->lock);
        if (d->nconns < DST_MAX_CONNS) {
            d->conns[d->nconns++] = fd;
        }
        if (d->yanked || d->quit) {
            shutdown(fd, SHUT_RDWR);
        }
        pthread_mutex_unlock(&d->lock);
        do {
            r = recv(fd, first4, 4, MSG_PEEK | MSG_WAITALL);
        } while (r < 0 && errno == EINTR);
        if (r != 4) {
            snprintf(d->error, sizeof(d->error),
                     "connection closed before "
                     "its magic");
            dst_drop_last(d, fd);
            return false;
        }
        if (!wire_classify_channel(first4, &kind, &err)) {
            dst_drop_last(d, fd);
            return dst_set_error(d, &err, "incoming connection");
        }
        if (kind == WIRE_CHANNEL_MAIN) {
            if (d->main) {
                dst_drop_last(d, fd);
                snprintf(d->error, sizeof(d->error), "second main channel");
                return false;
            }
            d->main_fd = fd;
            d->main = chan_fd_new(fd, true, "main", &err);
            d->reply =
                d->main ? chan_fd_new(fd, false, "main-reply", &err) : NULL;
            if (!d->main || !d->reply) {
                return dst_set_error(d, &err, "main channel");
            }
            vm_set_mig_status(vm, "active");
            continue;
        }
        if (!d->sec->engine) {
            dst_drop_last(d, fd);
            snprintf(d->error, sizeof(d->error),
                     "multifd connection "
                     "without the multifd capability");
            return false;
        }
        snprintf(label, sizeof(label), "connection %u", got + 1);
        c = chan_fd_new(fd, true, label, &err);
        if (!c) {
            dst_drop_last(d, fd);
            return dst_set_error(d, &err, "multifd channel");
        }
        if (!secondary_add_channel(d->sec, c, &err)) {
            return dst_set_error(d, &err, "multifd channel");
        }
        got++;
    }
    return true;
}

static void *dst_thread(void *opaque)
{
    MigDst *d = opaque;
    Vm *vm = d->vm;
    IncomingOutcome outcome = INCOMING_COMPLETED;
    MfError err;
    Chan *main_chan;
    bool ok;
    bool requested;

    mf_error_clear(&err);
    ok = dst_accept_all(d);
    if (ok) {
        pthread_mutex_lock(&d->lock);
        /* The secondary takes both channels, even on failure. */
        secondary_attach_main(d->sec, d->main, d->reply, &err);
        d->main = NULL;
        d->reply = NULL;
        d->running = d->sec->in != NULL && !d->yanked && !d->quit;
        pthread_mutex_unlock(&d->lock);
        if (!d->sec->in) {
            ok = dst_set_error(d, &err, "incoming");
        } else if (!d->running) {
            ok = false;
        } else {
            IncomingStats stats;

            ok = incoming_run(d->sec->in, &outcome, &err);
            if (!ok) {
                dst_set_error(d, &err, "incoming");
            }
            incoming_get_stats(d->sec->in, &stats);
            vm_log(vm,
                   "incoming ended: sync mode %s, %" PRIu64
                   " checkpoints, %" PRIu64 " syncs, %" PRIu64 " main "
                   "bytes",
                   incoming_sync_mode_name(stats.sync_mode), stats.checkpoints,
                   stats.syncs, stats.main_bytes);
            pthread_mutex_lock(&d->lock);
            d->running = false;
            pthread_mutex_unlock(&d->lock);
        }
    }
    /* The receiver is done with the guest: stop logging its writes. */
    if (vm->dirty_hook) {
        bool was = vcpu_is_running(vm);
        vcpu_pause(vm);
        vm->dirty_hook = NULL;
        if (was) {
            vcpu_resume(vm);
        }
    }
    main_chan = d->sec->main ? d->sec->main : d->main;
    if (d->sec->engine) {
        secondary_stop_multifd(d->sec);
        /* The multifd fds are closed: only main may be shut down now. */
        pthread_mutex_lock(&d->lock);
        d->nconns = 0;
        if (main_chan) {
            d->conns[d->nconns++] = d->main_fd;
        }
        pthread_mutex_unlock(&d->lock);
    }
    if (main_chan) {
        chan_shutdown(main_chan);
    }

    if (!d->sec->colo_on || colo_phase(&d->sec->colo) == COLO_PHASE_PRECOPY) {
        /* Plain migration, or COLO never started. */
        if (ok && outcome == INCOMING_COMPLETED) {
            vm_set_mig_status(vm, "completed");
            vm_start(vm);
        } else {
            vm_set_mig_status(vm, "failed");
        }
        pthread_mutex_lock(&d->lock);
        d->done = true;
        pthread_mutex_unlock(&d->lock);
        return NULL;
    }

    pthread_mutex_lock(&d->lock);
    requested = d->failover;
    pthread_mutex_unlock(&d->lock);
    if (!requested) {
        /* QEMU: COLO_EXIT(error), stay in colo until lost-heartbeat. */
        d->colo_exit = true;
        qmp_event(
            vm->qmp, "COLO_EXIT",
            json_pack("{s:s,s:s}", "mode", "secondary", "reason", "error"));
    }
    pthread_mutex_lock(&d->lock);
    while (!d->failover && !d->quit) {
        pthread_cond_wait(&d->cond, &d->lock);
    }
    requested = d->failover;
    pthread_mutex_unlock(&d->lock);
    if (requested) {
        if (!d->colo_exit) {
            d->colo_exit = true;
            qmp_event(vm->qmp, "COLO_EXIT",
                      json_pack("{s:s,s:s}", "mode", "secondary", "reason",
                                "request"));
        }
        vm_set_mig_status(vm, "completed");
        vm_start(vm);
    }
    pthread_mutex_lock(&d->lock);
    d->done = true;
    pthread_mutex_unlock(&d->lock);
    return NULL;
}

bool dst_incoming(Vm *vm, const char *uri, MigErr *e)
{
    MigDst *d;
    struct sockaddr_in sa;
    socklen_t slen = sizeof(sa);
    const char *colon;
    SecondaryBlock blocks[VM_MAX_BLOCKS];
    SecondaryOptions so = { 0 };
    MfError err;
    size_t i;
    int one = 1;

    if (vm->dst) {
        snprintf(e->desc, sizeof(e->desc), "incoming already started");
        return false;
    }
    if (strncmp(uri, "tcp:", 4) != 0 || !(colon = strrchr(uri + 4, ':'))) {
        snprintf(e->desc, sizeof(e->desc), "unsupported URI '%s'", uri);
        return false;
    }
    d = calloc(1, sizeof(*d));
    if (!d) {
        snprintf(e->desc, sizeof(e->desc), "out of memory");
        return false;
    }
    d->vm = vm;
    pthread_mutex_init(&d->lock, NULL);
    pthread_cond_init(&d->cond, NULL);
    snprintf(d->stage, sizeof(d->stage), "listening");
    d->pause_stage = -1;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = htons((uint16_t)atoi(colon + 1));
    d->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    setsockopt(d->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (d->listen_fd < 0 ||
        bind(d->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
        listen(d->listen_fd, 16) < 0 ||
        getsockname(d->listen_fd, (struct sockaddr *)&sa, &slen) < 0) {
        snprintf(e->desc, sizeof(e->desc), "Failed to listen on '%s': %s", uri,
                 strerror(errno));
        if (d->listen_fd >= 0) {
            close(d->listen_fd);
        }
        free(d);
        return false;
    }
    d->port = ntohs(sa.sin_port);

    mf_error_clear(&err);
    for (i = 0; i < vm->nblocks; i++) {
        blocks[i].name = vm->blocks[i].name;
        blocks[i].size = vm->blocks[i].size;
        blocks[i].host = vm->blocks[i].host;
    }
    so.page_size = VM_PAGE_SIZE;
    so.blocks = blocks;
    so.nblocks = vm->nblocks;
    so.colo = vm->cap_colo;
    /* Per round for current senders, per section for <= 8.0 ones:
     * decided at the first EOS, as a receiver must for both. */
    so.sync = INCOMING_SYNC_AUTO;
    so.hooks.opaque = d;
    so.hooks.stop_guest = h_stop_guest;
    so.hooks.start_guest = h_start_guest;
    so.hooks.load_device_state = h_load_device_state;
    so.hooks.precopy_done = h_precopy_done;
    so.hooks.checkpoint_done = h_checkpoint_done;
    so.hooks.stage = h_stage;
    /* The multifd engine comes in dst_thread, with the settings of then. */
    d->sec = secondary_build(&so, &err);
    if (!d->sec) {
        goto fail_core;
    }
    for (i = 0; i < vm->nblocks; i++) {
        d->rb[i] = ram_table_find(&d->sec->ram, vm->blocks[i].name);
    }
    vm->dst = d;
    vm_set_mig_status(vm, "setup");
    d->started = pthread_create(&d->thread, NULL, dst_thread, d) == 0;
    return true;

fail_core:
    mf_error_format(&err, e->desc, sizeof(e->desc));
    close(d->listen_fd);
    free(d);
    return false;
}

static void dst_shutdown_all(MigDst *d)
{
    int i;

    shutdown(d->listen_fd, SHUT_RDWR);
    for (i = 0; i < d->nconns; i++) {
        shutdown(d->conns[i], SHUT_RDWR);
    }
}

void dst_yank(Vm *vm)
{
    MigDst *d = vm->dst;

    if (!d) {
        return;
    }
    pthread_mutex_lock(&d->lock);
    d->yanked = true;
    dst_shutdown_all(d);
    pthread_mutex_unlock(&d->lock);
}

bool dst_failover(Vm *vm, MigErr *e)
{
    MigDst *d = vm->dst;
    char st[32];

    vm_get_mig_status(vm, st, sizeof(st));
    if (!d || strcmp(st, "colo") != 0) {
        snprintf(e->desc, sizeof(e->desc), "VM is not in COLO mode");
        return false;
    }
    pthread_mutex_lock(&d->lock);
    d->failover = true;
    if (d->running) {
        incoming_request_failover(d->sec->in);
    }
    pthread_cond_broadcast(&d->cond);
    pthread_mutex_unlock(&d->lock);
    return true;
}

void dst_query(Vm *vm, json_t *ret)
{
    MigDst *d = vm->dst;

    if (!d) {
        return;
    }
    json_object_set_new(ret, "socket-address",
                        json_pack("[{s:s,s:s,s:o}]", "type", "inet", "host",
                                  "127.0.0.1", "port",
                                  json_sprintf("%d", d->port)));
}

void dst_query_colo(Vm *vm, json_t *ret)
{
    MigDst *d = vm->dst;
    json_t *own = json_array();
    uint64_t p = 0;

    json_object_set_new(ret, "mode", json_string("secondary"));
    if (!d) {
        json_decref(own);
        return;
    }
    while ((p = mf_bitmap_find_next(vm->own_dirty, vm->npages, p)) <
           vm->npages) {
        json_array_append_new(own, json_integer((json_int_t)p));
        p++;
    }
    pthread_mutex_lock(&d->lock);
    json_object_set_new(
        ret, "phase",
        json_string(d->sec->colo_on ? colo_phase_name(colo_phase(&d->sec->colo))
                                    : "none"));
    json_object_set_new(ret, "checkpoint", json_integer(d->checkpoint));
    json_object_set_new(ret, "checkpoints", json_integer(d->checkpoints));
    json_object_set_new(
        ret, "flushes",
        json_integer(d->sec->colo_on ? (json_int_t)d->sec->colo.flushes : 0));
    json_object_set_new(ret, "flushed-pages",
                        json_integer((json_int_t)d->flushed_pages));
    json_object_set_new(ret, "stage", json_string(d->stage));
    json_object_set_new(ret, "error", json_string(d->error));
    json_object_set_new(ret, "done", json_boolean(d->done));
    pthread_mutex_unlock(&d->lock);
    json_object_set_new(ret, "own-dirty", own);
}

void dst_free(Vm *vm)
{
    MigDst *d = vm->dst;

    if (!d) {
        return;
    }
    pthread_mutex_lock(&d->lock);
    d->quit = true;
    dst_shutdown_all(d);
    if (d->running) {
        incoming_request_failover(d->sec->in);
    }
    pthread_cond_broadcast(&d->cond);
    pthread_mutex_unlock(&d->lock);
    if (d->started) {
        pthread_join(d->thread, NULL);
    }
    vcpu_pause(vm);
    vm->dirty_hook = NULL;
    chan_free(d->reply); /* accepted but never attached */
    chan_free(d->main);
    secondary_free(d->sec);
    close(d->listen_fd);
    pthread_cond_destroy(&d->cond);
    pthread_mutex_destroy(&d->lock);
    free(d);
    vm->dst = NULL;
}
