/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Internals shared by the .c files of core/incoming.  Not a contract.
 */
#ifndef MFCOLO_INCOMING_INT_H
#define MFCOLO_INCOMING_INT_H

#include <pthread.h>

#include "base/mutex.h"
#include "incoming/incoming.h"
#include "wire/stream.h"

/* MIG_RP_MSG_PONG (QEMU migration.h, return-path message type). */
#define INCOMING_RP_MSG_PONG 2u

/* Where a RAM section is being loaded. */
typedef enum InRamContext {
    IN_RAM_SECTION_START, /* precopy SECTION_START: MEM_SIZE allowed */
    IN_RAM_PRECOPY,       /* precopy SECTION_PART/END */
    IN_RAM_CHECKPOINT,    /* COLO checkpoint RAM state */
} InRamContext;

struct Incoming {
    IncomingConfig cfg;
    uint32_t page_size;

    pthread_mutex_t lock; /* protects the two flags below */
    bool failover_requested;
    bool loading; /* inside flush + device load */
    int stage;    /* IncomingStage, atomic */

    bool ran;
    bool colo_enabled; /* ENABLE_COLO received */
    bool return_path;  /* OPEN_RETURN_PATH received */
    bool ram_started;  /* "ram" SECTION_START seen */
    bool ram_ended;    /* "ram" SECTION_END seen in precopy */
    bool mem_size_seen;
    uint32_t ram_sid;
    RamBlock *cur_block; /* RAM_SAVE_FLAG_CONTINUE target */
    IncomingSyncMode sync_mode;
    bool sync_decided;  /* AUTO resolved (first EOS seen) */
    bool flush_seen;    /* a MULTIFD_FLUSH before the first EOS */
    bool guest_stopped; /* by us, at CHECKPOINT_REQUEST */
    bool in_checkpoint;

    uint8_t *page; /* one page of PAGE record data */
    uint8_t *dev;  /* device state bytes */
    size_t dev_len;
    size_t dev_cap;

    IncomingStats stats;
    IncomingCheckpoint cp; /* the checkpoint being received */
};

/* Stream reading: INCOMING_ERR_TRUNCATED when the stream ends inside. */
bool in_read(Incoming *in, void *buf, size_t len, const char *what,
             uint64_t start, MfError *err);
bool in_read_u8(Incoming *in, uint8_t *v, const char *what, uint64_t start,
                MfError *err);
bool in_read_be32(Incoming *in, uint32_t *v, const char *what, uint64_t start,
                  MfError *err);
bool in_read_be64(Incoming *in, uint64_t *v, const char *what, uint64_t start,
                  MfError *err);
/* Consume @len bytes without keeping them. */
bool in_skip(Incoming *in, uint64_t len, const char *what, uint64_t start,
             MfError *err);
/* Locate an error from a lower layer at main-stream offset @at. */
bool in_fail_at(Incoming *in, MfError *err, uint64_t at);
uint64_t in_offset(const Incoming *in);

/* Replies on the reply channel. */
bool in_send(Incoming *in, const uint8_t *buf, size_t len, MfError *err);
bool in_send_colo(Incoming *in, uint32_t msg, MfError *err);

void in_set_stage(Incoming *in, IncomingStage stage);
/* Grow the device-state buffer to hold @need bytes. */
bool in_dev_reserve(Incoming *in, size_t need, MfError *err);

/* precopy.c: everything up to and including the VM description. */
bool in_precopy(Incoming *in, MfError *err);
/* ram-load.c */
/* Read a section header whose type byte was read; raw bytes in @raw
 * (WIRE_VM_SECTION_HDR_MAX), their count in *@rawlen. */
bool in_section_header(Incoming *in, uint8_t type, uint64_t start,
                       WireVmSectionHdr *hdr, uint8_t *raw, size_t *rawlen,
                       MfError *err);
bool in_ram_section(Incoming *in, InRamContext ctx, uint32_t sid, MfError *err);
/* checkpoint.c: the COLO phase; true with *@outcome FAILED_OVER. */
bool in_colo(Incoming *in, MfError *err);
/* Fail over (engine stopped, colo_failover, guest restarted). */
void in_failover(Incoming *in, bool finish_channels, MfError *err);
bool in_failover_requested(Incoming *in);

#endif /* MFCOLO_INCOMING_INT_H */
