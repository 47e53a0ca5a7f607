/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Internals of the fake primary, shared by primary*.c only. */
#ifndef MFCOLO_SUPPORT_PRIMARY_INT_H
#define MFCOLO_SUPPORT_PRIMARY_INT_H

#include "primary.h"
#include "qemu-compress.h"
#include "rng.h"

#define PRIMARY_MAIN_CONN 0

/* Sender state of one multifd channel. */
typedef struct PrimaryChan {
    size_t conn;          /* index in Primary.conns */
    uint64_t npackets;    /* packets written (fault index) */
    QemuCompressor *comp; /* NULL for none */
    /* QEMU 7.2: bytes QEMU leaves in its reused packet buffer. */
    char stale_block[WIRE_RAMBLOCK_NAME_SIZE];
    uint32_t stale_next_size;
    uint64_t *stale_offsets; /* page_count entries */
    /* QEMU 7.2: a data packet handed to the channel, not yet written. */
    bool held;
    size_t held_block;
    uint32_t held_normal;
    uint64_t held_num;
    uint64_t *held_offsets;
} PrimaryChan;

/* Pages queued for the next packet (one block). */
typedef struct PrimaryQueue {
    bool active;
    size_t block;
    uint32_t limit; /* pages in this packet at most */
    uint32_t normal;
    uint32_t zero;
    uint64_t *normal_off; /* page_count entries */
    uint64_t *zero_off;
} PrimaryQueue;

typedef struct PrimaryFaultSlot {
    PrimaryFault f;
    char name[WIRE_RAMBLOCK_NAME_SIZE];
    bool used;
} PrimaryFaultSlot;

struct PmfScratch;

struct Primary {
    PrimaryConfig cfg;
    char machine[128];
    uint8_t *device_tail; /* copy of cfg.device_tail */
    uint32_t page_count;
    size_t pkt_size;
    PrimaryZeroPages zero_mode; /* resolved */
    MemImage *mem;
    PageSet *dirty;
    SupRng rng;
    SupRng fault_rng;

    PrimaryConn *conns;
    size_t nconns;
    SupBuf replies;

    PrimaryChan *chans; /* cfg.channels */
    PrimaryQueue queue;
    uint8_t *pkt_buf;       /* pkt_size scratch */
    struct PmfScratch *pmf; /* primary-multifd.c scratch */
    uint64_t packet_num;

    long last_block;      /* main channel's current block, -1 */
    uint64_t ram_records; /* PAGE/ZERO records written on main */

    bool begun;
    bool precopy_done;
    uint32_t stage; /* stage being generated */
    bool in_stage;
    uint64_t stage_pages;
    uint64_t stage_zero;

    PrimaryStage *stages;
    size_t nstages;
    PrimaryMark *marks;
    size_t nmarks;
    size_t marks_cap;
    PrimaryFaultSlot *faults;
    size_t nfaults;
};

/* primary.c */
void primary_mark_add(Primary *p, PrimaryMarkKind kind, size_t conn);
PrimaryFaultSlot *primary_fault_find(Primary *p, PrimaryFaultKind kind,
                                     uint32_t chan, uint64_t nth);
SupBuf *primary_main_buf(Primary *p);
bool primary_page_is_zero(const Primary *p, size_t block, uint64_t page);

/* primary-main.c: main-channel pieces. */
void pm_put_header(Primary *p);
void pm_put_configuration(Primary *p);
void pm_put_enable_colo(Primary *p);
void pm_put_section_start(Primary *p);
void pm_put_section_part(Primary *p, uint8_t type);
void pm_put_footer(Primary *p, uint32_t section_id);
void pm_put_mem_size(Primary *p);
void pm_put_ram_page(Primary *p, size_t block, uint64_t page, bool zero);
void pm_put_flag(Primary *p, uint32_t flag);
void pm_put_device_section(Primary *p);
void pm_put_eof(Primary *p);
void pm_put_vmdesc(Primary *p);
void pm_put_colo_message(Primary *p, uint32_t msg);
void pm_put_vmstate(Primary *p);

/* primary-multifd.c: handshakes, packets, sync. */
void pmf_init(Primary *p);
void pmf_cleanup(Primary *p);
void pmf_handshakes(Primary *p);
void pmf_queue_page(Primary *p, size_t block, uint64_t page, bool zero);
/* Flush the queue and send a SYNC on every channel (style rules). */
void pmf_sync(Primary *p);

#endif /* MFCOLO_SUPPORT_PRIMARY_INT_H */
