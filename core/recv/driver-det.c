/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Deterministic driver: no threads.  recv_engine_sync() and
 * recv_engine_finish() run a seeded scheduler in the caller's thread
 * until their condition holds: each step picks one runnable channel and
 * a delivery size of 1..max_chunk bytes (1..what the machine can take
 * when max_chunk is 0) with splitmix64, reads that much into the
 * machine's buffers and advances it.  Same seed and same streams: same
 * steps, same memory.  Meant for in-memory channels (a read on a socket
 * with nothing pending would block the scheduler).
 */
#include "recv/engine-int.h"

#include "recv/errors.h"

#define DET_IOV_MAX 128

static uint64_t det_next(RecvEngine *e)
{
    uint64_t z = (e->rng += 0x9e3779b97f4a7c15ull);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static bool det_start(RecvEngine *e, uint32_t id, MfError *err)
{
    (void)e;
    (void)id;
    (void)err;
    return true;
}

/* Deliver one chunk to channel @id (lock not held). */
static void det_step(RecvEngine *e, uint32_t id, uint64_t draw)
{
    RecvSlot *slot = &e->slots[id];
    struct iovec iov[DET_IOV_MAX];
    MfError l = { 0 };
    size_t total = 0, limit, chunk, left;
    ssize_t r;
    int i, n;

    n = recv_channel_next_iov(slot->ch, iov, DET_IOV_MAX);
    for (i = 0; i < n; i++) {
        total += iov[i].iov_len;
    }
    if (n == 0 || total == 0) {
        mf_error_set(&l, RECV_ERR_STATE, 0,
                     "scheduler picked a channel that takes no bytes");
        recv_slot_step(e, id, -1, &l);
        return;
    }
    limit =
        e->cfg.max_chunk && e->cfg.max_chunk < total ? e->cfg.max_chunk : total;
    chunk = 1 + (size_t)(draw % limit);
    left = chunk;
    for (i = 0; i < n && left; i++) {
        if (iov[i].iov_len >= left) {
            iov[i].iov_len = left;
            left = 0;
        } else {
            left -= iov[i].iov_len;
        }
    }
    r = chan_readv(slot->chan, iov, i, &l);
    recv_slot_step(e, id, r, &l);
}

static void det_wait(RecvEngine *e, bool (*pred)(RecvEngine *e))
{
    uint32_t run[256];

    while (!pred(e)) {
        uint32_t i, n = 0, id;
        uint64_t pick, draw;

        for (i = 0; i < e->cfg.channels; i++) {
            RecvSlot *s = &e->slots[i];

            if (s->ch && !s->parked && !s->done && !s->failed) {
                run[n++] = i;
            }
        }
        if (n == 0) {
            MfError l = { 0 };

            mf_error_set(&l, RECV_ERR_STATE, 0, "no channel can advance");
            recv_engine_fail_locked(e, &l);
            continue;
        }
        pick = det_next(e);
        draw = det_next(e);
        id = run[pick % n];
        mf_mutex_unlock(&e->lock);
        det_step(e, id, draw);
        mf_mutex_lock(&e->lock);
    }
}

static void det_join(RecvEngine *e)
{
    (void)e;
}

const RecvDriverOps recv_driver_det = {
    .start = det_start,
    .wait = det_wait,
    .join = det_join,
};
