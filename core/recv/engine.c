/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The multifd receive engine: life cycle, the main thread's sync, end of
 * migration, error propagation.  The handshake is in handshake.c, the
 * drivers in driver-threaded.c and driver-det.c.
 */
#include "recv/engine-int.h"

#include <inttypes.h>
#include <string.h>

#include "base/alloc.h"
#include "codec/codec.h"
#include "recv/errors.h"

RecvEngine *recv_engine_new(const RecvConfig *cfg, RamTable *ram,
                            ColoState *colo, MfError *err)
{
    RecvEngine *e;
    uint32_t i;

    if (!cfg || !ram || cfg->channels < 1 || cfg->channels > 256 ||
        wire_page_count(cfg->page_size) == 0 ||
        ram->page_size != cfg->page_size || (colo && colo->ram != ram) ||
        (cfg->driver != RECV_DRIVER_THREADED &&
         cfg->driver != RECV_DRIVER_DETERMINISTIC)) {
        mf_error_set(err, MF_ERR_INVALID_ARG, 0,
                     "multifd receive: unusable configuration (channels "
                     "%" PRIu32 ", page size %" PRIu32 ")",
                     cfg ? cfg->channels : 0, cfg ? cfg->page_size : 0);
        return NULL;
    }
    if (!codec_supported(cfg->compression)) {
        mf_error_set(err, MF_ERR_INVALID_ARG, 0,
                     "multifd receive: compression 0x%x is not built in",
                     (unsigned)cfg->compression);
        return NULL;
    }
    e = mf_alloc_in(cfg->allocator, "mfcolo/recv/alloc-engine", 1, sizeof(*e));
    if (!e) {
        mf_error_set(err, MF_ERR_NOMEM, 0,
                     "multifd receive: cannot allocate the engine");
        return NULL;
    }
    e->slots = mf_alloc_in(cfg->allocator, "mfcolo/recv/alloc-slots",
                           cfg->channels, sizeof(*e->slots));
    if (!e->slots) {
        mf_free_in(cfg->allocator, e);
        mf_error_set(err, MF_ERR_NOMEM, 0,
                     "multifd receive: cannot allocate %" PRIu32
                     " channel slots",
                     cfg->channels);
        return NULL;
    }
    if (mf_mutex_init(&e->lock) != 0) {
        goto fail_slots;
    }
    if (pthread_cond_init(&e->cond, NULL) != 0) {
        mf_mutex_destroy(&e->lock);
        goto fail_slots;
    }
    e->cfg = *cfg;
    e->ram = ram;
    e->colo = colo;
    e->ops = cfg->driver == RECV_DRIVER_THREADED ? &recv_driver_threaded
                                                 : &recv_driver_det;
    e->rng = cfg->seed;
    for (i = 0; i < cfg->channels; i++) {
        e->slots[i].engine = e;
        e->slots[i].id = i;
    }
    return e;

fail_slots:
    mf_free_in(cfg->allocator, e->slots);
    mf_free_in(cfg->allocator, e);
    mf_error_set(err, RECV_ERR_THREAD, 0,
                 "multifd receive: cannot initialise the engine lock");
    return NULL;
}

void recv_engine_fail_locked(RecvEngine *e, const MfError *why)
{
    uint32_t i;

    if (e->failed) {
        return;
    }
    mf_error_propagate(&e->err, why);
    if (!mf_error_is_set(&e->err)) {
        mf_error_set(&e->err, RECV_ERR_CANCELLED, 0,
                     "multifd receive cancelled");
    }
    e->failed = true;
    for (i = 0; i < e->cfg.channels; i++) {
        if (e->slots[i].chan) {
            chan_shutdown(e->slots[i].chan);
        }
        if (e->slots[i].hs_chan) {
            chan_shutdown(e->slots[i].hs_chan); /* wakes its reader */
        }
    }
    pthread_cond_broadcast(&e->cond);
}

void recv_engine_fail(RecvEngine *e, const MfError *why)
{
    mf_mutex_lock(&e->lock);
    recv_engine_fail_locked(e, why);
    mf_mutex_unlock(&e->lock);
}

void recv_engine_cancel(RecvEngine *e, const MfError *why)
{
    MfError c = { 0 };

    if (why && mf_error_is_set(why)) {
        c = *why;
    } else {
        mf_error_set(&c, RECV_ERR_CANCELLED, 0, "multifd receive cancelled");
    }
    recv_engine_fail(e, &c);
}

static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void recv_engine_event(RecvEngine *e, RecvEventKind kind, uint32_t channel,
                       uint64_t bytes, uint64_t offset)
{
    RecvEvent ev = { kind, channel, bytes, offset };

    e->events++;
    e->trace_hash = mix64(e->trace_hash ^ ((uint64_t)kind << 56) ^
                          ((uint64_t)channel << 40) ^ bytes);
    e->trace_hash = mix64(e->trace_hash ^ offset);
    if (e->trace) {
        e->trace(e->trace_opaque, &ev);
    }
}

bool recv_slot_step(RecvEngine *e, uint32_t id, ssize_t n, const MfError *rerr)
{
    RecvSlot *slot = &e->slots[id];
    MfError l = { 0 };
    bool ok;

    if (n < 0) {
        mf_error_propagate(&l, rerr);
        if (!mf_error_is_set(&l)) {
            mf_error_set(&l, RECV_ERR_STATE, 0, "read failed");
        }
        if (!l.located) {
            l.offset = 0;
            mf_error_locate(&l, recv_channel_label(slot->ch),
                            recv_channel_offset(slot->ch));
        }
        recv_channel_fail(slot->ch, &l);
        ok = false;
    } else if (n == 0) {
        ok = recv_channel_eof(slot->ch, &l);
    } else {
        ok = recv_channel_advance(slot->ch, (size_t)n, &l);
    }
    mf_mutex_lock(&e->lock);
    if (!ok) {
        slot->failed = true;
        recv_engine_event(e, RECV_EV_ERROR, id, (uint64_t)l.code,
                          recv_channel_offset(slot->ch));
        recv_engine_fail_locked(e, &l);
    } else if (n == 0) {
        slot->done = true;
        recv_engine_event(e, RECV_EV_EOF, id, 0, recv_channel_offset(slot->ch));
        pthread_cond_broadcast(&e->cond);
    } else {
        recv_engine_event(e, RECV_EV_DATA, id, (uint64_t)n,
                          recv_channel_offset(slot->ch));
        if (recv_channel_status(slot->ch) == RECV_CH_SYNC) {
            slot->parked = true;
            recv_engine_event(e, RECV_EV_SYNC, id, 0,
                              recv_channel_offset(slot->ch));
            pthread_cond_broadcast(&e->cond);
        }
    }
    mf_mutex_unlock(&e->lock);
    return ok && n != 0;
}

bool recv_engine_ready(const RecvEngine *e)
{
    RecvEngine *m = (RecvEngine *)e;
    bool ready;

    mf_mutex_lock(&m->lock);
    ready = m->added == m->cfg.channels;
    mf_mutex_unlock(&m->lock);
    return ready;
}

/* Every channel is parked at its SYNC, or the engine failed. */
static bool sync_reached(RecvEngine *e)
{
    uint32_t i;

    if (e->failed) {
        return true;
    }
    for (i = 0; i < e->cfg.channels; i++) {
        RecvSlot *s = &e->slots[i];

        if (s->done) {
            MfError l = { 0 };

            mf_error_set(&l, RECV_ERR_SYNC_EOF, 0,
                         "end of stream where the main channel expects a "
                         "SYNC packet");
            mf_error_locate(&l, recv_channel_label(s->ch),
                            recv_channel_offset(s->ch));
            recv_engine_fail_locked(e, &l);
            return true;
        }
        if (!s->parked) {
            return false;
        }
    }
    return true;
}

/* Every channel ended cleanly, or the engine failed. */
static bool end_reached(RecvEngine *e)
{
    uint32_t i;

    if (e->failed) {
        return true;
    }
    for (i = 0; i < e->cfg.channels; i++) {
        RecvSlot *s = &e->slots[i];

        if (s->parked) {
            MfError l = { 0 };

            mf_error_set(&l, RECV_ERR_SYNC_PENDING, 0,
                         "SYNC packet never released by the main channel");
            mf_error_locate(&l, recv_channel_label(s->ch),
                            recv_channel_offset(s->ch));
            recv_engine_fail_locked(e, &l);
            return true;
        }
        if (!s->done) {
            return false;
        }
    }
    return true;
}

static bool not_ready_locked(RecvEngine *e, const char *what, MfError *err)
{
    MfError l = { 0 };

    if (e->failed || e->added == e->cfg.channels) {
        return false;
    }
    mf_error_set(&l, RECV_ERR_NOT_READY, 0,
                 "%s with %" PRIu32 " of %" PRIu32 " multifd channels", what,
                 e->added, e->cfg.channels);
    mf_error_propagate(err, &l);
    return true;
}

bool recv_engine_sync(RecvEngine *e, MfError *err)
{
    uint32_t i;

    mf_mutex_lock(&e->lock);
    if (not_ready_locked(e, "sync", err)) {
        mf_mutex_unlock(&e->lock);
        return false;
    }
    e->ops->wait(e, sync_reached);
    if (e->failed) {
        mf_error_propagate(err, &e->err);
        mf_mutex_unlock(&e->lock);
        return false;
    }
    for (i = 0; i < e->cfg.channels; i++) {
        recv_channel_release(e->slots[i].ch);
        e->slots[i].parked = false;
    }
    recv_engine_event(e, RECV_EV_RELEASE, 0, 0, 0);
    pthread_cond_broadcast(&e->cond);
    mf_mutex_unlock(&e->lock);
    return true;
}

bool recv_engine_finish(RecvEngine *e, MfError *err)
{
    MfError l = { 0 };
    bool ok;

    mf_mutex_lock(&e->lock);
    if (not_ready_locked(e, "finish", &l)) {
        recv_engine_fail_locked(e, &l);
    }
    e->ops->wait(e, end_reached);
    ok = !e->failed;
    mf_error_propagate(err, &e->err);
    mf_mutex_unlock(&e->lock);
    e->ops->join(e);
    return ok;
}

void recv_engine_error(RecvEngine *e, MfError *out)
{
    mf_error_clear(out);
    mf_mutex_lock(&e->lock);
    mf_error_propagate(out, &e->err);
    mf_mutex_unlock(&e->lock);
}

void recv_engine_set_devstate_handler(RecvEngine *e, RecvDevStateFn fn,
                                      void *opaque)
{
    mf_mutex_lock(&e->lock);
    e->devstate = fn;
    e->devstate_opaque = opaque;
    mf_mutex_unlock(&e->lock);
}

void recv_engine_set_trace(RecvEngine *e, RecvTraceFn fn, void *opaque)
{
    mf_mutex_lock(&e->lock);
    e->trace = fn;
    e->trace_opaque = opaque;
    mf_mutex_unlock(&e->lock);
}

uint64_t recv_engine_trace_hash(const RecvEngine *e)
{
    RecvEngine *m = (RecvEngine *)e;
    uint64_t h;

    mf_mutex_lock(&m->lock);
    h = m->trace_hash;
    mf_mutex_unlock(&m->lock);
    return h;
}

uint64_t recv_engine_events(const RecvEngine *e)
{
    RecvEngine *m = (RecvEngine *)e;
    uint64_t n;

    mf_mutex_lock(&m->lock);
    n = m->events;
    mf_mutex_unlock(&m->lock);
    return n;
}

bool recv_engine_channel_stats(RecvEngine *e, uint32_t id,
                               RecvChannelStats *out)
{
    bool ok;

    memset(out, 0, sizeof(*out));
    mf_mutex_lock(&e->lock);
    ok = id < e->cfg.channels && e->slots[id].ch;
    if (ok) {
        recv_channel_stats(e->slots[id].ch, out);
    }
    mf_mutex_unlock(&e->lock);
    return ok;
}

void recv_engine_free(RecvEngine *e)
{
    uint32_t i;

    if (!e) {
        return;
    }
    recv_engine_cancel(e, NULL);
    e->ops->join(e);
    for (i = 0; i < e->cfg.channels; i++) {
        recv_channel_free(e->slots[i].ch);
        chan_free(e->slots[i].chan);
    }
    pthread_cond_destroy(&e->cond);
    mf_mutex_destroy(&e->lock);
    mf_free_in(e->cfg.allocator, e->slots);
    mf_free_in(e->cfg.allocator, e);
}
