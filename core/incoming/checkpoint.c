/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The COLO phase of the secondary (QEMU colo.c colo_incoming_thread and
 * colo_incoming_process_checkpoint; docs/qemu-reference.md#checkpoint):
 *
 *   S: CHECKPOINT_READY (once)
 *   P: CHECKPOINT_REQUEST   S: stop guest, CHECKPOINT_REPLY
 *   P: VMSTATE_SEND, RAM state (ram PART/END sections) ... QEMU_VM_EOF
 *   P: VMSTATE_SIZE be64 n, n bytes of device state
 *   S: VMSTATE_RECEIVED, flush, load device state, VMSTATE_LOADED, start
 *
 * Anything that stops the loop fails over (in_failover): a checkpoint not
 * flushed yet is discarded, so guest memory is the last flushed one (I4).
 */
#include <string.h>

#include "base/be.h"
#include "chan/errors.h"
#include "incoming/incoming-int.h"
#include "recv/errors.h"
#include "wire/errors.h"

static const char *msg_name(uint32_t v)
{
    const char *n = wire_colo_message_name(v);

    return n ? n : "?";
}

/*
 * Read one COLO message and require @expect.  *@clean_end (if non-NULL)
 * is set when the stream ended cleanly before its first byte.
 */
static bool in_colo_expect(Incoming *in, uint32_t expect, bool *clean_end,
                           MfError *err)
{
    uint8_t b[WIRE_COLO_MESSAGE_SIZE];
    uint64_t start = in_offset(in);
    uint32_t v;
    int r;

    if (clean_end) {
        MfError tmp;

        mf_error_clear(&tmp);
        r = chan_read_full(in->cfg.main, b, sizeof(b), "COLO message", &tmp);
        if (r == 0) {
            *clean_end = true;
            return false;
        }
        if (r < 0 && tmp.code != CHAN_ERR_EOF) {
            mf_error_propagate(err, &tmp);
            return false;
        }
        if (r < 0) {
            mf_error_set(err, INCOMING_ERR_TRUNCATED, in_offset(in),
                         "stream ends inside the COLO message that starts "
                         "at offset %llu (4 bytes expected)",
                         (unsigned long long)start);
            return in_fail_at(in, err, 0);
        }
    } else if (!in_read(in, b, sizeof(b), "COLO message", start, err)) {
        return false;
    }
    if (!wire_colo_message_decode(b, &v, err)) {
        return in_fail_at(in, err, start);
    }
    if (v != expect) {
        mf_error_set(err, INCOMING_ERR_COLO_UNEXPECTED, start,
                     "COLO message %s (%u) where %s (%u) was expected",
                     msg_name(v), v, msg_name(expect), expect);
        return in_fail_at(in, err, 0);
    }
    return true;
}

/* The RAM state of a checkpoint: ram PART/END sections up to EOF. */
static bool in_cp_ram(Incoming *in, MfError *err)
{
    WireVmSectionHdr hdr;
    uint8_t raw[WIRE_VM_SECTION_HDR_MAX];
    size_t rawlen;
    uint64_t start;
    uint8_t type;

    for (;;) {
        start = in_offset(in);
        if (!in_read_u8(in, &type, "section type", start, err)) {
            return false;
        }
        if (type == WIRE_VM_EOF) {
            return true;
        }
        if (type != WIRE_VM_SECTION_PART && type != WIRE_VM_SECTION_END) {
            if (!wire_vm_section_type_check(type, err)) {
                return in_fail_at(in, err, start);
            }
            mf_error_set(err, INCOMING_ERR_UNEXPECTED_SECTION, start,
                         "%s (0x%02x) in a checkpoint's RAM state (only "
                         "\"ram\" SECTION_PART/END and QEMU_VM_EOF)",
                         wire_vm_section_name(type), type);
            return in_fail_at(in, err, 0);
        }
        if (!in_section_header(in, type, start, &hdr, raw, &rawlen, err)) {
            return false;
        }
        if (!in->ram_started || hdr.section_id != in->ram_sid) {
            mf_error_set(err, INCOMING_ERR_UNKNOWN_SECTION, start + 1,
                         "%s of section id %u in a checkpoint, not the "
                         "\"ram\" section",
                         wire_vm_section_name(type), hdr.section_id);
            return in_fail_at(in, err, 0);
        }
        if (!in_ram_section(in, IN_RAM_CHECKPOINT, hdr.section_id, err)) {
            return false;
        }
    }
}

/* VMSTATE_SIZE + be64 n + n bytes into in->dev. */
static bool in_cp_device_state(Incoming *in, MfError *err)
{
    uint64_t start, n;
    MfError tmp;
    int r;

    if (!in_colo_expect(in, WIRE_COLO_VMSTATE_SIZE, NULL, err)) {
        return false;
    }
    start = in_offset(in);
    if (!in_read_be64(in, &n, "VMSTATE_SIZE value", start, err)) {
        return false;
    }
    if (n > in->cfg.max_device_state) {
        mf_error_set(err, INCOMING_ERR_DEVICE_STATE_SIZE, start,
                     "VMSTATE_SIZE %llu above the bound %llu",
                     (unsigned long long)n,
                     (unsigned long long)in->cfg.max_device_state);
        return in_fail_at(in, err, 0);
    }
    in_set_stage(in, INCOMING_STAGE_CP_DEVICE);
    in->dev_len = 0;
    if (!in_dev_reserve(in, n ? (size_t)n : 1, err)) {
        return false;
    }
    mf_error_clear(&tmp);
    r = n ? chan_read_full(in->cfg.main, in->dev, (size_t)n, "device state",
                           &tmp)
          : 1;
    if (r == 0 || (r < 0 && tmp.code == CHAN_ERR_EOF)) {
        mf_error_set(err, INCOMING_ERR_VMSTATE_SHORT, in_offset(in),
                     "device state: %llu bytes, less than the %llu that "
                     "VMSTATE_SIZE at offset %llu announced",
                     (unsigned long long)(in_offset(in) - start - 8),
                     (unsigned long long)n, (unsigned long long)start);
        return in_fail_at(in, err, 0);
    }
    if (r < 0) {
        mf_error_propagate(err, &tmp);
        return false;
    }
    in->dev_len = (size_t)n;
    in->cp.device_state_len = n;
    return true;
}

/*
 * Flush and load (QEMU: vmstate_loading).  *@relaunch is set when a
 * failover was requested meanwhile: the checkpoint is applied, LOADED is
 * not sent.  Returns false with @err on a flush or hook failure.
 */
static bool in_cp_apply(Incoming *in, bool *relaunch, MfError *err)
{
    const IncomingHooks *h = &in->cfg.hooks;

    in_set_stage(in, INCOMING_STAGE_CP_LOADING);
    if (!colo_flush(in->cfg.colo, &in->cp.flush, err)) {
        return in_fail_at(in, err, in_offset(in));
    }
    if (h->load_device_state &&
        !h->load_device_state(h->opaque, INCOMING_DEVSTATE_CHECKPOINT, in->dev,
                              in->dev_len, err)) {
        if (!mf_error_is_set(err)) {
            mf_error_set(err, INCOMING_ERR_HOOK, in_offset(in),
                         "load_device_state refused checkpoint %llu",
                         (unsigned long long)in->cp.index);
        }
        return in_fail_at(in, err, 0);
    }
    in->cp.end_offset = in_offset(in);
    in->stats.checkpoints++;
    if (h->checkpoint_done) {
        h->checkpoint_done(h->opaque, &in->cp);
    }
    mf_mutex_lock(&in->lock);
    in->loading = false;
    *relaunch = in->failover_requested;
    mf_mutex_unlock(&in->lock);
    return true;
}

/* One checkpoint after its CHECKPOINT_REQUEST was read. */
static bool in_checkpoint(Incoming *in, bool *failover, MfError *err)
{
    const IncomingHooks *h = &in->cfg.hooks;
    bool relaunch = false;

    if (h->stop_guest) {
        if (!h->stop_guest(h->opaque, err)) {
            if (!mf_error_is_set(err)) {
                mf_error_set(err, INCOMING_ERR_HOOK, in->cp.request_offset,
                             "stop_guest failed at checkpoint %llu",
                             (unsigned long long)in->cp.index);
            }
            return in_fail_at(in, err, 0);
        }
    }
    in->guest_stopped = true;
    in_set_stage(in, INCOMING_STAGE_CP_REQUESTED);
    if (!in_send_colo(in, WIRE_COLO_CHECKPOINT_REPLY, err) ||
        !in_colo_expect(in, WIRE_COLO_VMSTATE_SEND, NULL, err)) {
        return false;
    }
    in_set_stage(in, INCOMING_STAGE_CP_RAM);
    if (!in_cp_ram(in, err)) {
        return false;
    }
    if (in->cfg.multifd && in->cp.syncs == 0) {
        /*
         * Never flush before every channel synced (I5,
         * docs/qemu-reference.md#gap-sync-before-flush).
         */
        mf_error_set(err, INCOMING_ERR_NO_SYNC, in_offset(in) - 1,
                     "QEMU_VM_EOF of checkpoint %llu: %llu multifd syncs "
                     "in its RAM state, at least 1 required (MULTIFD_FLUSH, "
                     "or EOS in per-section mode)",
                     (unsigned long long)in->cp.index,
                     (unsigned long long)in->cp.syncs);
        return in_fail_at(in, err, 0);
    }
    if (!in_cp_device_state(in, err) ||
        !in_send_colo(in, WIRE_COLO_VMSTATE_RECEIVED, err)) {
        return false;
    }
    mf_mutex_lock(&in->lock);
    if (in->failover_requested) {
        mf_mutex_unlock(&in->lock);
        *failover = true;
        return true;
    }
    in->loading = true;
    mf_mutex_unlock(&in->lock);
    if (!in_cp_apply(in, &relaunch, err)) {
        mf_mutex_lock(&in->lock);
        in->loading = false;
        mf_mutex_unlock(&in->lock);
        return false;
    }
    if (relaunch) {
        /* The request skipped the shutdown while we were loading. */
        chan_shutdown(in->cfg.main);
        *failover = true;
        return true;
    }
    if (!in_send_colo(in, WIRE_COLO_VMSTATE_LOADED, err)) {
        return false;
    }
    in->guest_stopped = false;
    if (h->start_guest) {
        h->start_guest(h->opaque);
    }
    return true;
}

bool in_colo(Incoming *in, MfError *err)
{
    const IncomingHooks *h = &in->cfg.hooks;
    bool clean_end = false;
    bool failover = false;
    bool ok = true;
    MfError tmp;

    if (!colo_enter(in->cfg.colo, err)) {
        return in_fail_at(in, err, in_offset(in));
    }
    in_set_stage(in, INCOMING_STAGE_COLO_IDLE);
    if (h->start_guest) {
        h->start_guest(h->opaque);
    }
    ok = in_send_colo(in, WIRE_COLO_CHECKPOINT_READY, err);
    while (ok && !failover) {
        in_set_stage(in, INCOMING_STAGE_COLO_IDLE);
        memset(&in->cp, 0, sizeof(in->cp));
        in->cp.index = in->stats.checkpoints;
        in->cp.request_offset = in_offset(in);
        ok = in_colo_expect(in, WIRE_COLO_CHECKPOINT_REQUEST, &clean_end, err);
        if (!ok) {
            break;
        }
        ok = in_checkpoint(in, &failover, err);
    }
    if (!ok && in_failover_requested(in)) {
        /* The shutdown a failover request causes ends the stream with
         * some error; the outcome is the failover asked for. */
        mf_error_clear(err);
        failover = true;
        ok = true;
    }
    if (clean_end) {
        ok = true;
    }
    mf_error_clear(&tmp);
    in_failover(in, ok && clean_end && in->cfg.expect_end, &tmp);
    if (ok && mf_error_is_set(&tmp)) {
        mf_error_propagate(err, &tmp);
        ok = false;
    }
    return ok;
}
