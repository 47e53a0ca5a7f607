/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Internals shared by the engine, the handshake and the two drivers.
 * Not a contract: only the .c files of core/recv include it.
 *
 * Locking: e->lock protects every field of RecvEngine and the flags of
 * every RecvSlot.  It is an error-checking mutex taken and released only
 * through base/mutex.h: a lock or unlock missing on any path aborts.  A slot's RecvChannel is driven by exactly one party at
 * a time: its thread (threaded) or the scheduler (deterministic) while
 * the slot is not parked; the main thread (release) while it is parked.
 */
#ifndef MFCOLO_RECV_ENGINE_INT_H
#define MFCOLO_RECV_ENGINE_INT_H

#include <pthread.h>

#include "base/mutex.h"
#include "recv/recv.h"

typedef struct RecvSlot {
    RecvEngine *engine;
    uint32_t id;
    Chan *chan; /* NULL until a channel with this id was added */
    RecvChannel *ch;
    pthread_t thread;
    bool thread_started;
    bool parked;   /* processed a SYNC, waits for the main thread */
    bool done;     /* clean end of stream */
    bool failed;   /* its machine failed */
    Chan *hs_chan; /* a connection inside its handshake read (any slot) */
} RecvSlot;

typedef struct RecvDriverOps {
    /* A slot was just placed (lock not held). */
    bool (*start)(RecvEngine *e, uint32_t id, MfError *err);
    /* Run until the predicate holds; called and returns with lock held. */
    void (*wait)(RecvEngine *e, bool (*pred)(RecvEngine *e));
    /* Join what start() created (lock not held). */
    void (*join)(RecvEngine *e);
} RecvDriverOps;

struct RecvEngine {
    RecvConfig cfg;
    RamTable *ram;
    ColoState *colo;
    const RecvDriverOps *ops;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    RecvSlot *slots;      /* cfg.channels entries, by id */
    uint32_t connections; /* connections offered so far */
    uint32_t added;       /* channels placed */
    uint32_t handshaking; /* connections inside their handshake read */
    bool have_uuid;       /* uuid below is the reference */
    uint8_t uuid[WIRE_UUID_SIZE];
    bool failed; /* err holds the first error */
    MfError err;
    RecvDevStateFn devstate;
    void *devstate_opaque;
    RecvTraceFn trace;
    void *trace_opaque;
    uint64_t trace_hash;
    uint64_t events;
    uint64_t rng; /* deterministic scheduler state */
};

extern const RecvDriverOps recv_driver_threaded;
extern const RecvDriverOps recv_driver_det;

/*
 * Record @why as the engine's error if it has none, mark it failed, shut
 * every channel down and wake every waiter.  Lock held.
 */
void recv_engine_fail_locked(RecvEngine *e, const MfError *why);
/* Same, taking the lock. */
void recv_engine_fail(RecvEngine *e, const MfError *why);

/* A deterministic-driver event (lock held). */
void recv_engine_event(RecvEngine *e, RecvEventKind kind, uint32_t channel,
                       uint64_t bytes, uint64_t offset);

/*
 * One step of a channel after @n bytes arrived (n > 0), an end of stream
 * (n == 0) or a read error (n < 0, @rerr set): drives the machine and
 * updates the slot.  Lock NOT held; takes it to publish the outcome.
 * Returns false when the channel stopped (done or failed).
 */
bool recv_slot_step(RecvEngine *e, uint32_t id, ssize_t n, const MfError *rerr);

#endif /* MFCOLO_RECV_ENGINE_INT_H */
