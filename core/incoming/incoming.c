/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The incoming parser object: life cycle, stream helpers, the run, and
 * failover.  The stream itself is read by precopy.c, ram-load.c and
 * checkpoint.c.
 */
#include <string.h>

#include "base/alloc.h"
#include "base/be.h"
#include "chan/errors.h"
#include "incoming/incoming-int.h"
#include "wire/multifd.h"

Incoming *incoming_new(const IncomingConfig *cfg, MfError *err)
{
    Incoming *in;

    if (!cfg || !cfg->main || !cfg->ram) {
        mf_error_set(err, MF_ERR_INVALID_ARG, 0,
                     "incoming: a main channel and a RAM table are needed");
        return NULL;
    }
    if (wire_page_count(cfg->ram->page_size) == 0 ||
        cfg->ram->page_size < 1024) {
        mf_error_set(err, MF_ERR_INVALID_ARG, 0,
                     "incoming: page size %u unusable", cfg->ram->page_size);
        return NULL;
    }
    if (cfg->sync > INCOMING_SYNC_AUTO) {
        mf_error_set(err, MF_ERR_INVALID_ARG, 0,
                     "incoming: sync mode %d unknown", (int)cfg->sync);
        return NULL;
    }
    in = mf_alloc("mfcolo/incoming/alloc", 1, sizeof(*in));
    if (!in) {
        mf_error_set(err, MF_ERR_NOMEM, 0, "incoming: out of memory");
        return NULL;
    }
    in->page = mf_alloc("mfcolo/incoming/alloc-page", 1, cfg->ram->page_size);
    if (!in->page) {
        mf_free(in);
        mf_error_set(err, MF_ERR_NOMEM, 0, "incoming: out of memory");
        return NULL;
    }
    in->cfg = *cfg;
    if (!in->cfg.max_ram) {
        in->cfg.max_ram = INCOMING_MAX_RAM_DEFAULT;
    }
    if (!in->cfg.max_device_state) {
        in->cfg.max_device_state = INCOMING_DEVSTATE_MAX_DEFAULT;
    }
    in->page_size = cfg->ram->page_size;
    in->sync_mode = cfg->sync;
    in->stats.sync_mode = cfg->sync;
    if (mf_mutex_init(&in->lock) != 0) {
        mf_free(in->page);
        mf_free(in);
        mf_error_set(err, MF_ERR_NOMEM, 0, "incoming: cannot create its lock");
        return NULL;
    }
    return in;
}

void incoming_free(Incoming *in)
{
    if (!in) {
        return;
    }
    mf_mutex_destroy(&in->lock);
    mf_free_in(in->cfg.allocator, in->dev);
    mf_free(in->page);
    mf_free(in);
}

const char *incoming_sync_mode_name(IncomingSyncMode mode)
{
    switch (mode) {
    case INCOMING_SYNC_SECTION:
        return "section";
    case INCOMING_SYNC_ROUND:
        return "round";
    case INCOMING_SYNC_AUTO:
        return "auto";
    }
    return "?";
}

const char *incoming_stage_name(IncomingStage stage)
{
    static const char *const names[] = {
        [INCOMING_STAGE_PRECOPY] = "precopy",
        [INCOMING_STAGE_DEVICES] = "devices",
        [INCOMING_STAGE_COLO_IDLE] = "colo-idle",
        [INCOMING_STAGE_CP_REQUESTED] = "checkpoint-requested",
        [INCOMING_STAGE_CP_RAM] = "checkpoint-ram",
        [INCOMING_STAGE_CP_DEVICE] = "checkpoint-device",
        [INCOMING_STAGE_CP_LOADING] = "checkpoint-loading",
        [INCOMING_STAGE_DONE] = "done",
    };

    if ((unsigned)stage < sizeof(names) / sizeof(names[0])) {
        return names[stage];
    }
    return "?";
}

IncomingStage incoming_stage(Incoming *in)
{
    return (IncomingStage)__atomic_load_n(&in->stage, __ATOMIC_ACQUIRE);
}

void in_set_stage(Incoming *in, IncomingStage stage)
{
    __atomic_store_n(&in->stage, (int)stage, __ATOMIC_RELEASE);
    if (in->cfg.hooks.stage) {
        in->cfg.hooks.stage(in->cfg.hooks.opaque, stage);
    }
}

void incoming_get_stats(Incoming *in, IncomingStats *out)
{
    *out = in->stats;
    out->main_bytes = chan_offset(in->cfg.main);
}

uint64_t in_offset(const Incoming *in)
{
    return chan_offset(in->cfg.main);
}

bool in_fail_at(Incoming *in, MfError *err, uint64_t at)
{
    mf_error_locate(err, chan_label(in->cfg.main), at);
    return false;
}

bool in_read(Incoming *in, void *buf, size_t len, const char *what,
             uint64_t start, MfError *err)
{
    MfError tmp;
    int r;

    mf_error_clear(&tmp);
    r = chan_read_full(in->cfg.main, buf, len, what, &tmp);
    if (r == 1) {
        return true;
    }
    if (r == 0 || tmp.code == CHAN_ERR_EOF) {
        mf_error_set(err, INCOMING_ERR_TRUNCATED, in_offset(in),
                     "stream ends inside %s that starts at offset %llu "
                     "(%zu bytes expected)",
                     what, (unsigned long long)start, len);
        return in_fail_at(in, err, 0);
    }
    mf_error_propagate(err, &tmp);
    return false;
}

bool in_read_u8(Incoming *in, uint8_t *v, const char *what, uint64_t start,
                MfError *err)
{
    return in_read(in, v, 1, what, start, err);
}

bool in_read_be32(Incoming *in, uint32_t *v, const char *what, uint64_t start,
                  MfError *err)
{
    uint8_t b[4];

    if (!in_read(in, b, sizeof(b), what, start, err)) {
        return false;
    }
    *v = mf_be32_load(b);
    return true;
}

bool in_read_be64(Incoming *in, uint64_t *v, const char *what, uint64_t start,
                  MfError *err)
{
    uint8_t b[8];

    if (!in_read(in, b, sizeof(b), what, start, err)) {
        return false;
    }
    *v = mf_be64_load(b);
    return true;
}

bool in_skip(Incoming *in, uint64_t len, const char *what, uint64_t start,
             MfError *err)
{
    uint8_t buf[4096];

    while (len > 0) {
        size_t n = len < sizeof(buf) ? (size_t)len : sizeof(buf);

        if (!in_read(in, buf, n, what, start, err)) {
            return false;
        }
        len -= n;
    }
    return true;
}

bool in_send(Incoming *in, const uint8_t *buf, size_t len, MfError *err)
{
    if (!in->cfg.reply) {
        return true;
    }
    if (!chan_write_full(in->cfg.reply, buf, len, err)) {
        return false;
    }
    in->stats.replies += len;
    return true;
}

bool in_send_colo(Incoming *in, uint32_t msg, MfError *err)
{
    uint8_t b[WIRE_COLO_MESSAGE_SIZE];

    wire_colo_message_encode(msg, b);
    return in_send(in, b, sizeof(b), err);
}

bool in_dev_reserve(Incoming *in, size_t need, MfError *err)
{
    size_t cap;
    uint8_t *p;

    if (need <= in->dev_cap) {
        return true;
    }
    cap = in->dev_cap ? in->dev_cap : 16384;
    while (cap < need) {
        cap *= 2;
    }
    p = mf_alloc_raw(in->cfg.allocator, "mfcolo/incoming/alloc-devstate", cap);
    if (!p) {
        mf_error_set(err, MF_ERR_NOMEM, in_offset(in),
                     "incoming: out of memory for %zu bytes of device state",
                     cap);
        return in_fail_at(in, err, 0);
    }
    if (in->dev_len) {
        memcpy(p, in->dev, in->dev_len);
    }
    mf_free_in(in->cfg.allocator, in->dev);
    in->dev = p;
    in->dev_cap = cap;
    return true;
}

bool in_failover_requested(Incoming *in)
{
    bool r;

    mf_mutex_lock(&in->lock);
    r = in->failover_requested;
    mf_mutex_unlock(&in->lock);
    return r;
}

void incoming_request_failover(Incoming *in)
{
    bool shut;

    mf_mutex_lock(&in->lock);
    in->failover_requested = true;
    shut = !in->loading;
    mf_mutex_unlock(&in->lock);
    if (shut) {
        chan_shutdown(in->cfg.main);
        if (in->cfg.multifd) {
            recv_engine_cancel(in->cfg.multifd, NULL);
        }
    }
}

/*
 * Stop the multifd channels (finish them when the stream ended cleanly
 * and the caller wants them checked, else cancel), then colo_failover and
 * restart the guest if we had stopped it.  A channel error found while
 * finishing is reported in @err (the failover happens anyway).
 */
void in_failover(Incoming *in, bool finish_channels, MfError *err)
{
    MfError tmp;

    if (in->cfg.multifd) {
        mf_error_clear(&tmp);
        if (finish_channels) {
            if (!recv_engine_finish(in->cfg.multifd, &tmp)) {
                mf_error_propagate(err, &tmp);
            }
        } else {
            recv_engine_cancel(in->cfg.multifd, NULL);
            recv_engine_finish(in->cfg.multifd, &tmp);
        }
    }
    if (in->cfg.colo) {
        colo_failover(in->cfg.colo);
    }
    if (in->guest_stopped) {
        in->guest_stopped = false;
        if (in->cfg.hooks.start_guest) {
            in->cfg.hooks.start_guest(in->cfg.hooks.opaque);
        }
    }
}

bool incoming_run(Incoming *in, IncomingOutcome *outcome, MfError *err)
{
    MfError e;
    bool ok;

    if (in->ran) {
        return mf_error_set(err, MF_ERR_INVALID_ARG, 0,
                            "incoming: the stream was already run");
    }
    in->ran = true;
    mf_error_clear(&e);
    in_set_stage(in, INCOMING_STAGE_PRECOPY);
    ok = in_precopy(in, &e);
    if (ok && in->colo_enabled) {
        ok = in_colo(in, &e);
        if (ok) {
            *outcome = INCOMING_FAILED_OVER;
        }
    } else if (ok) {
        *outcome = INCOMING_COMPLETED;
        if (in->cfg.expect_end && in->cfg.multifd) {
            ok = recv_engine_finish(in->cfg.multifd, &e);
        }
    }
    if (!ok && !mf_error_is_set(&e)) {
        mf_error_set(&e, MF_ERR_INVALID_ARG, in_offset(in),
                     "incoming: failed without an error (bug)");
        in_fail_at(in, &e, 0);
    }
    if (!ok && in->cfg.multifd) {
        MfError tmp;

        /*
         * Whatever failed, no channel thread outlives the run: cancel
         * (a no-op when a failover already stopped them) and join.
         */
        mf_error_clear(&tmp);
        recv_engine_cancel(in->cfg.multifd, &e);
        recv_engine_finish(in->cfg.multifd, &tmp);
    }
    mf_error_propagate(err, &e);
    in->stats.main_bytes = in_offset(in);
    in_set_stage(in, INCOMING_STAGE_DONE);
    return ok;
}
