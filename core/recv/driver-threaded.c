/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Threaded driver: one thread per channel (QEMU multifd_recv_thread),
 * reading with chan_readv straight into the buffers the state machine
 * names (page slots for raw pages: no copy).  A thread parks at a SYNC
 * until the main thread releases it or the engine fails; a failure shuts
 * every channel down, so a thread blocked in a read returns promptly.
 */
#include "recv/engine-int.h"

#include <errno.h>
#include <string.h>

#include "base/fault.h"
#include "recv/errors.h"

/* Enough iovecs for a whole packet of 4 KiB pages in one readv. */
#define THREAD_IOV_MAX 128

static void *channel_thread(void *arg)
{
    RecvSlot *slot = arg;
    RecvEngine *e = slot->engine;
    struct iovec iov[THREAD_IOV_MAX];

    for (;;) {
        MfError l = { 0 };
        ssize_t r;
        int n;
        bool stop;

        mf_mutex_lock(&e->lock);
        while (slot->parked && !e->failed) {
            mf_cond_wait(&e->cond, &e->lock);
        }
        stop = e->failed;
        mf_mutex_unlock(&e->lock);
        if (stop) {
            break;
        }
        n = recv_channel_next_iov(slot->ch, iov, THREAD_IOV_MAX);
        if (n == 0) {
            mf_error_set(&l, RECV_ERR_STATE, 0,
                         "channel thread running on a stopped channel");
            r = -1;
        } else {
            r = chan_readv(slot->chan, iov, n, &l);
        }
        if (!recv_slot_step(e, slot->id, r, &l)) {
            break;
        }
    }
    return NULL;
}

static bool threaded_start(RecvEngine *e, uint32_t id, MfError *err)
{
    RecvSlot *slot = &e->slots[id];
    int rc;

    if (mf_fault("mfcolo/recv/thread-create")) {
        rc = mf_fault_errno(EAGAIN);
    } else {
        rc = pthread_create(&slot->thread, NULL, channel_thread, slot);
    }
    if (rc != 0) {
        mf_error_set(err, RECV_ERR_THREAD, 0,
                     "cannot start the receive thread: %s", strerror(rc));
        return false;
    }
    mf_mutex_lock(&e->lock);
    slot->thread_started = true;
    mf_mutex_unlock(&e->lock);
    return true;
}

static void threaded_wait(RecvEngine *e, bool (*pred)(RecvEngine *e))
{
    while (!pred(e)) {
        mf_cond_wait(&e->cond, &e->lock);
    }
}

static void threaded_join(RecvEngine *e)
{
    uint32_t i;

    for (i = 0; i < e->cfg.channels; i++) {
        RecvSlot *slot = &e->slots[i];
        bool started;

        mf_mutex_lock(&e->lock);
        started = slot->thread_started;
        slot->thread_started = false;
        mf_mutex_unlock(&e->lock);
        if (started) {
            pthread_join(slot->thread, NULL);
        }
    }
}

const RecvDriverOps recv_driver_threaded = {
    .start = threaded_start,
    .wait = threaded_wait,
    .join = threaded_join,
};
