/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The fake primary: generates, byte-exact to QEMU's formats, the streams
 * a COLO primary sends (one main channel, N multifd channels) and the
 * replies a correct secondary sends back, and records what a correct
 * secondary must hold after each stage (the oracle for I4).
 *
 * Model.  A Primary owns a memory image (its guest RAM) and a dirty set.
 * Workloads (workload.h) write primary_memory() and add the pages they
 * touched to primary_dirty().  Each stage sends the dirty pages as QEMU
 * would and clears the set; precopy begins with every page dirty.
 *
 *   primary_precopy_begin()  handshakes on every multifd channel; main:
 *                            QEVM header, CONFIGURATION, ENABLE_COLO (if
 *                            cfg.colo), "ram" SECTION_START with the
 *                            MEM_SIZE block list, the setup sync, EOS,
 *                            footer.
 *   primary_precopy_round()  one iteration (a full pass of the dirty
 *                            bitmap, so it ends with QEMU's round-wrap
 *                            sync): SECTION_PART with the dirty pages,
 *                            sync, EOS, footer.
 *   primary_precopy_end()    SECTION_END with the dirty pages, sync, EOS,
 *                            footer, an optional unmodelled device
 *                            section (SECTION_FULL), QEMU_VM_EOF, an
 *                            optional VMDESCRIPTION (or, with
 *                            cfg.device_tail, a real QEMU's recorded
 *                            device sections, EOF and VMDESCRIPTION as
 *                            they are).  Stage 0 ends here.
 *   primary_checkpoint()     (cfg.colo) one COLO checkpoint: be32
 *                            CHECKPOINT_REQUEST, VMSTATE_SEND, the RAM
 *                            state as one SECTION_END (first record may be
 *                            CONTINUE: the current block persists across
 *                            stages, as in QEMU), sync, EOS, footer,
 *                            QEMU_VM_EOF, VMSTATE_SIZE + be64 N + N opaque
 *                            bytes.  Stage k + 1 for checkpoint k.
 *
 * Page placement.  Pages are queued per block in (block, page) order into
 * packets of up to cfg.max_packet_pages (default: page_count, 128 at
 * 4 KiB); a packet is closed when full, when the block changes and at a
 * sync; each packet goes to a channel chosen by the seed.  All-zero pages
 * are zero pages (unless cfg.zero_pages is PRIMARY_ZERO_NONE): in the
 * packet's zero list (QEMU >= 9, "multifd" detection) or as ZERO records
 * on the main channel (QEMU 7.2, "legacy" detection).  With channels == 0
 * every page is a PAGE/ZERO record on the main channel (plain migration).
 *
 * Styles.
 *   PRIMARY_QEMU_9: memset packets (no stale bytes), pages_alloc =
 *     page_count in data packets, compression value in the flags of every
 *     packet with pages (also zero-only ones, next_packet_size 0), pure
 *     SYNC packets (flags 0x01, everything else 0 but packet_num), per
 *     round sync: SYNC on every channel + RAM_SAVE_FLAG_MULTIFD_FLUSH on
 *     main before each EOS; packet_num is a global counter in send order.
 *   PRIMARY_QEMU_7_2: as the recordings in tests/data/qemu-7.2:
 *     pages_alloc = page_count in every packet, even pure SYNC; the first
 *     packet on each channel is a pure SYNC with packet_num == id; a sync
 *     is sent per section (at every EOS, no MULTIFD_FLUSH); at a sync a
 *     channel's last data packet may carry the SYNC (seeded,
 *     cfg.sync_ride_percent) and is then followed by an empty non-SYNC
 *     packet with its packet_num and stale ramblock, next_packet_size and
 *     offsets; other pure SYNC packets carry the previous packet's stale
 *     fields; offset slots past the count are stale in every packet; the
 *     compression value is set only on packets with pages; with
 *     cfg.duplicate_pages the last page of a full packet is repeated as
 *     the first page of the next packet of the same block.
 *
 * Compression: zstd / zlib with ONE stream per channel continued across
 * packets (zstd: ZSTD_e_flush at the end of each packet; zlib: Z_SYNC_FLUSH
 * at the end of each packet), level cfg.level (QEMU default 1).
 *
 * Misbehaviour: primary_add_fault() before the stage that must misbehave
 * (PF_EXTRA_CONN before primary_precopy_begin()); see PrimaryFaultKind.
 * Faults patch the bytes QEMU would have sent; routing, numbering and
 * compression state are those of the clean run, so the same seed with and
 * without a fault differs only where the fault is.  Expected images of
 * stages after a fault mean "what a correct primary would have produced";
 * a test of a fault asserts the error and I4 against the last stage
 * completed before it.  Truncation at byte N of any connection needs no
 * fault: hand a prefix of primary_conn()->buf to the receiver, or use
 * SenderConn.stop_at (sender.h); marks and stage offsets say where.
 *
 * A 7.2 style with PRIMARY_ZERO_MULTIFD is treated as LEGACY (QEMU 7.2
 * cannot put zero pages in packets).
 *
 * Connections: connection 0 is the main channel, connection 1 + i is the
 * multifd channel with id i; faults may add extra connections after them.
 * Output is in memory (primary_conn()); sender.h writes it to sockets.
 *
 * Allocation failure aborts (test support).  Not thread-safe; a Primary
 * is used by one thread, its finished buffers may be read by many.
 */
#ifndef MFCOLO_SUPPORT_PRIMARY_H
#define MFCOLO_SUPPORT_PRIMARY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire/multifd.h"
#include "wire/stream.h"

#include "buf.h"
#include "image.h"

typedef enum PrimaryStyle {
    PRIMARY_QEMU_9,   /* current QEMU (9.2+ shapes) */
    PRIMARY_QEMU_7_2, /* QEMU 7.2 (per-section sync, legacy zero pages) */
} PrimaryStyle;

typedef enum PrimaryZeroPages {
    PRIMARY_ZERO_DEFAULT, /* QEMU_9: MULTIFD, QEMU_7_2: LEGACY */
    PRIMARY_ZERO_MULTIFD, /* zero pages inside multifd packets (>= 9.0) */
    PRIMARY_ZERO_LEGACY,  /* zero pages as ZERO records on main */
    PRIMARY_ZERO_NONE,    /* no detection: every page is sent as data */
} PrimaryZeroPages;

typedef struct PrimaryConfig {
    PrimaryStyle style;
    uint32_t channels;           /* multifd channels; 0: plain migration */
    uint32_t page_size;          /* target page size (4096) */
    WireCompression compression; /* NONE, ZLIB or ZSTD */
    int level;                   /* compression level; 0: 1 (QEMU's) */
    PrimaryZeroPages zero_pages;
    uint8_t uuid[WIRE_UUID_SIZE]; /* sent in every handshake */
    bool colo;                    /* ENABLE_COLO + checkpoints allowed */
    uint64_t seed;                /* channel choice, splits, 7.2 details */
    uint32_t ram_section_id;      /* "ram" section id (QEMU: 2) */
    const char *machine;          /* CONFIGURATION name */
    bool device_section;          /* unmodelled SECTION_FULL in precopy */
    bool vmdesc;                  /* VMDESCRIPTION after precopy EOF */
    uint32_t max_packet_pages;    /* 0: page_count */
    bool random_split;            /* seeded packet sizes 1..max */
    unsigned sync_ride_percent;   /* 7.2: SYNC rides on data (0..100) */
    bool duplicate_pages;         /* 7.2: repeat last page of a full packet */
    uint32_t device_state_size;   /* COLO blob bytes (QEMU/KVM: 13429) */
    bool keep_images;             /* keep a full image copy per stage */
    /*
     * Recorded device tail (recording.h, copied by primary_new): when
     * set, precopy_end sends these bytes after the RAM section in place
     * of device_section, QEMU_VM_EOF and vmdesc; @device_tail_eof is
     * the offset of QEMU_VM_EOF in them (marked PM_VM_EOF).
     */
    const uint8_t *device_tail;
    size_t device_tail_len;
    size_t device_tail_eof;
} PrimaryConfig;

/*
 * Defaults: @style, @channels, @comp; page 4096, level 1, zero pages
 * per style, uuid of the captures (6d756c74-6966-6463-6170-747572652121),
 * colo on, seed 1, ram section id 2, machine "pc-i440fx-7.2", no device
 * section, no vmdesc, full packets, ride 50%, no duplicates, device state
 * 4096 bytes, keep_images on.
 */
void primary_config_init(PrimaryConfig *cfg, PrimaryStyle style,
                         uint32_t channels, WireCompression comp);

/*
 * Misbehaviour knobs.  Packet faults pick the @nth RAM packet (0-based,
 * counted from the first packet after the handshake, SYNC and empty
 * packets included, inserted device-state packets not) written on multifd
 * channel @chan; main-channel faults pick by stage (@stage: 0 precopy,
 * k + 1 checkpoint k) or by the @nth PAGE/ZERO record of the whole main
 * stream (MEM_SIZE, EOS and MULTIFD_FLUSH are not counted).
 */
typedef enum PrimaryFaultKind {
    PF_HS_MAGIC = 1,           /* handshake of @chan: magic = @value */
    PF_HS_VERSION,             /* handshake of @chan: version = @value */
    PF_HS_ID,                  /* handshake of @chan: id = @value (== channels,
                             * or another channel's id: duplicate) */
    PF_HS_UUID,                /* handshake of @chan: uuid[0] ^= 0xff */
    PF_EXTRA_CONN,             /* one more multifd connection: handshake with
                             * id @value, then a pure SYNC packet */
    PF_PKT_MAGIC,              /* packet magic = @value */
    PF_PKT_VERSION,            /* packet version = @value */
    PF_PKT_FLAGS,              /* packet flags = @value (payload unchanged) */
    PF_PKT_PAGES_ALLOC,        /* pages_alloc = @value */
    PF_PKT_NORMAL_PAGES,       /* normal_pages = @value (payload unchanged) */
    PF_PKT_ZERO_PAGES,         /* zero_pages = @value */
    PF_PKT_BLOCK_UNTERMINATED, /* idstr: 256 bytes 'A', no NUL */
    PF_PKT_BLOCK_NAME,         /* idstr = @name (unknown block) */
    PF_PKT_OFFSET,             /* offsets[@index] = @value (range/alignment) */
    PF_PKT_NEXT_SIZE,          /* next_packet_size = @value, payload as is */
    PF_PKT_PAYLOAD_TRUNCATE,   /* compressed payload cut to @value bytes and
                             * next_packet_size = @value */
    PF_PKT_PAYLOAD_GARBAGE,    /* payload bytes replaced by seeded garbage */
    PF_DEVSTATE_PACKET,        /* before the @nth packet: a device-state packet
                             * (idstr @name or "vfio", @value payload bytes) */
    PF_COLO_MESSAGE,           /* stage @stage: the COLO message @index
                             * (1 REQUEST, 3 SEND, 4 SIZE) is sent as @value
                             * (>= 7: unknown, else out of order) */
    PF_VMSTATE_SIZE_LIE,       /* stage @stage: VMSTATE_SIZE announces
                             * N + @value bytes, N follow */
    PF_RAM_RECORD_FLAGS,       /* the @nth RAM PAGE/ZERO record on main: its
                             * flag bits = @value (e.g. ZERO|PAGE, 0x40);
                             * the body stays that of the real record */
    PF_RAM_RECORD_NAME,        /* the @nth RAM record names block @name */
    PF_RAM_RECORD_OFFSET,      /* the @nth RAM record has offset @value */
} PrimaryFaultKind;

typedef struct PrimaryFault {
    PrimaryFaultKind kind;
    uint32_t chan;  /* multifd channel id (packet/handshake faults) */
    uint64_t nth;   /* packet index on @chan, or RAM record index */
    uint32_t stage; /* PF_COLO_MESSAGE, PF_VMSTATE_SIZE_LIE */
    uint32_t index; /* PF_PKT_OFFSET slot, PF_COLO_MESSAGE message */
    uint64_t value;
    const char *name; /* copied */
} PrimaryFault;

typedef enum PrimaryConnKind {
    PRIMARY_CONN_MAIN,
    PRIMARY_CONN_MULTIFD,
} PrimaryConnKind;

typedef struct PrimaryConn {
    PrimaryConnKind kind;
    uint32_t id; /* multifd: id as sent in the handshake */
    SupBuf buf;  /* every byte generated so far */
} PrimaryConn;

/* Places in the streams, recorded as they are generated. */
typedef enum PrimaryMarkKind {
    PM_STAGE_START,        /* first byte of a stage, on every connection */
    PM_STAGE_END,          /* byte after a stage, on every connection */
    PM_HANDSHAKE,          /* multifd: after the 64-byte handshake */
    PM_ENABLE_COLO,        /* main: at the ENABLE_COLO command */
    PM_RAM_SECTION,        /* main: at a "ram" section header */
    PM_SYNC,               /* multifd: at a packet with SYNC; main: at a
                         * MULTIFD_FLUSH or, 7.2, at the EOS that syncs */
    PM_EOS,                /* main: at a RAM_SAVE_FLAG_EOS */
    PM_DEVICE_SECTION,     /* main: at the unmodelled SECTION_FULL */
    PM_VM_EOF,             /* main: at QEMU_VM_EOF */
    PM_CHECKPOINT_REQUEST, /* main: at the be32 message */
    PM_VMSTATE_SEND,
    PM_VMSTATE_SIZE,
    PM_DEVICE_STATE, /* main: first byte of the opaque blob */
    PM_PACKET,       /* multifd: at every packet header (also an
                         * inserted device-state packet) */
} PrimaryMarkKind;

typedef struct PrimaryMark {
    PrimaryMarkKind kind;
    uint32_t stage;
    size_t conn;
    uint64_t offset;
} PrimaryMark;

/* What a correct secondary holds after a stage. */
typedef struct PrimaryStage {
    uint32_t index;        /* 0 precopy, k + 1 checkpoint k */
    uint64_t *start;       /* per connection: first byte of the stage */
    uint64_t *end;         /* per connection: byte after the stage */
    uint64_t replies_end;  /* expected reply bytes through this stage */
    uint64_t pages;        /* pages sent in this stage (normal + zero) */
    uint64_t zero_pages;   /* of which zero pages */
    uint8_t (*digest)[32]; /* per block: SHA-256 of the expected memory */
    MemImage *image;       /* cfg.keep_images: the expected memory */
} PrimaryStage;

typedef struct Primary Primary;

/* A primary whose memory starts as a copy of @initial. */
Primary *primary_new(const PrimaryConfig *cfg, const MemImage *initial);
void primary_free(Primary *p);
const PrimaryConfig *primary_config(const Primary *p);

/* The primary's live memory; workloads write it. */
MemImage *primary_memory(Primary *p);
/* Pages dirtied since the last stage; workloads add to it. */
PageSet *primary_dirty(Primary *p);

/* Arm a fault for what is generated from now on (copied). */
void primary_add_fault(Primary *p, const PrimaryFault *f);

void primary_precopy_begin(Primary *p);
void primary_precopy_round(Primary *p);
void primary_precopy_end(Primary *p);
/* begin + one round + end. */
void primary_precopy(Primary *p);
/* One COLO checkpoint of the dirty set (abort unless cfg.colo). */
void primary_checkpoint(Primary *p);

/* Connections: 0 main, 1 + id multifd, then extras (PF_EXTRA_CONN). */
size_t primary_nconns(const Primary *p);
const PrimaryConn *primary_conn(const Primary *p, size_t i);
/* The bytes a correct secondary sends back on main (COLO messages). */
const SupBuf *primary_replies(const Primary *p);

size_t primary_nstages(const Primary *p);
const PrimaryStage *primary_stage(const Primary *p, size_t i);

size_t primary_nmarks(const Primary *p);
const PrimaryMark *primary_mark(const Primary *p, size_t i);
/* First mark of @kind in @stage on @conn; NULL if none. */
const PrimaryMark *primary_find_mark(const Primary *p, PrimaryMarkKind kind,
                                     uint32_t stage, size_t conn);

/* Per-block SHA-256 digests of @img, as PrimaryStage.digest. */
void primary_digest_image(const MemImage *img, uint8_t (*digest)[32]);

#endif /* MFCOLO_SUPPORT_PRIMARY_H */
